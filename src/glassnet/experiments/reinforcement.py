"""Reinforcement learning: a policy that learns tic-tac-toe from the end-of-game reward
alone (section 4).

``glassnet.rl.Reinforce``: REINFORCE with a learned baseline on a glassnet MLP policy (27
board features -> 64 ReLU -> 9 cell scores, the taken cells masked). The agent plays X
(first) against the training opponents (by default the random opponent three games in
four and the perfect minimax player one in four, drawn per game). The only signal is
+1 / 0 / -1 at the end of each game; every move of the game gets that reward as its credit
(``gamma`` < 1 discounts it back from the end), minus the baseline's estimate V(s).

Every ``eval_every`` training games the greedy policy (its most probable move) plays
``eval_games`` games against the random opponent, a fixed heuristic (win, block, centre,
corner, side) and the minimax player (which picks among its equally good moves at random);
a uniformly random policy against the same opponents is the baseline. At the end the
trained policy plays ``final_games`` games against each (the random policy 4 x
``final_games``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

NAME = "reinforcement"
TITLE = "REINFORCE learns tic-tac-toe from the end-of-game reward"
SECTION = "4"
ORDER = 4
OPTIONS: dict[str, Any] = {"games": 20000, "opponents": "random,random,random,minimax",
                           "hidden": 64, "lr": 0.01, "batch_games": 32, "gamma": 1.0,
                           "baseline": True, "eval_every": 2000, "eval_games": 300,
                           "final_games": 1000}
QUICK: dict[str, Any] = {"games": 2000, "eval_every": 1000, "eval_games": 60,
                         "final_games": 200}
OPPONENTS = ("random", "heuristic", "minimax")


def _check(ctx: Any) -> list[str]:
    from glassnet.experiments._framework import ExperimentError

    for key in ("games", "hidden", "batch_games", "eval_every", "eval_games", "final_games"):
        if ctx[key] < 1:
            raise ExperimentError(f"{key} must be >= 1, got {ctx[key]}")
    if not 0.0 < ctx["gamma"] <= 1.0:
        raise ExperimentError(f"gamma must be in (0, 1], got {ctx['gamma']}")
    names = [n.strip() for n in ctx["opponents"].split(",") if n.strip()]
    bad = [n for n in names if n not in OPPONENTS]
    if not names or bad:
        raise ExperimentError(f"opponents must be a comma-separated list of "
                              f"{', '.join(OPPONENTS)}; got {ctx['opponents']!r}")
    return names


def _judges(ctx: Any) -> dict[str, Any]:
    from glassnet.rl import HeuristicPlayer, MinimaxPlayer, RandomPlayer

    seeds = ctx.rng.integers(2**31, size=3)
    return {"random": RandomPlayer(rng=int(seeds[0])),
            "heuristic": HeuristicPlayer(rng=int(seeds[1])),
            "minimax": MinimaxPlayer(rng=int(seeds[2]))}


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.rl import RandomPlayer, Reinforce, evaluate

    pool = _check(ctx)
    agent = Reinforce((ctx["hidden"],), ctx["lr"], baseline=ctx["baseline"],
                      gamma=ctx["gamma"], batch_games=ctx["batch_games"], seed=ctx.seed)
    t0 = time.perf_counter()
    log = agent.train(ctx["games"], pool, eval_every=ctx["eval_every"],
                      eval_games=ctx["eval_games"], eval_against=OPPONENTS)
    seconds = time.perf_counter() - t0
    judges = _judges(ctx)
    n = ctx["final_games"]
    trained = {k: evaluate(agent.player(), j, n) for k, j in judges.items()}
    # random play is cheap: its rates are measured on 4x as many games, more precisely
    baseline = {k: evaluate(RandomPlayer(rng=int(ctx.rng.integers(2**31))), j, 4 * n)
                for k, j in judges.items()}
    t, b = trained, baseline
    ctx.note(f"After {ctx['games']} training games ({seconds:.1f} s) the greedy policy wins "
             f"{100 * t['random']['win']:.1f}% of {n} games against the random opponent "
             f"(loses {100 * t['random']['loss']:.1f}%), where a random policy wins "
             f"{100 * b['random']['win']:.1f}% (exactly 58.5% in expectation). Against the "
             f"heuristic it wins {100 * t['heuristic']['win']:.1f}% and draws "
             f"{100 * t['heuristic']['draw']:.1f}% (random play: "
             f"{100 * b['heuristic']['win']:.1f}% wins); against perfect minimax, where a "
             f"draw is the best possible result, it draws {100 * t['minimax']['draw']:.1f}% "
             f"and loses {100 * t['minimax']['loss']:.1f}% (random play loses "
             f"{100 * b['minimax']['loss']:.1f}%). It learned from nothing but the "
             "end-of-game reward.")
    if ctx.drawing:
        _draw(ctx, log, trained, baseline)
    return {"win_rate_vs_random": t["random"]["win"],
            "random_policy_win_rate": b["random"]["win"],
            "loss_rate_vs_minimax": t["minimax"]["loss"],
            "draw_rate_vs_minimax": t["minimax"]["draw"],
            "win_rate_vs_heuristic": t["heuristic"]["win"],
            "loss_rate_vs_heuristic": t["heuristic"]["loss"],
            "trained": trained, "random_policy": baseline,
            "training_games": log.games,
            "curves": {k: [r["win"] for r in v] for k, v in log.rates.items()},
            "loss_curves": {k: [r["loss"] for r in v] for k, v in log.rates.items()},
            "training_seconds": seconds}


def _draw(ctx: Any, log: Any, trained: dict[str, dict[str, float]],
          baseline: dict[str, dict[str, float]]) -> None:
    from glassnet.experiments._plot import BLACK, GREEN, VERMILION

    shades = (("win", GREEN), ("draw", "#BBBBBB"), ("loss", VERMILION))
    fig = ctx.subplots(figsize=(13, 8.4))[0]
    fig.clf()
    grid = fig.add_gridspec(2, 3)
    games = np.array(log.games) / 1000.0
    for i, name in enumerate(OPPONENTS):
        ax = fig.add_subplot(grid[0, i])
        rows = log.rates[name]
        ax.stackplot(games, *[[r[k] for r in rows] for k, _ in shades],
                     colors=[c for _, c in shades], labels=[k for k, _ in shades], alpha=0.9)
        ax.axhline(baseline[name]["win"], color=BLACK, ls=":", lw=1.5,
                   label="random policy's wins")
        ax.set(xlabel="training games (thousands)", ylabel="fraction of evaluation games" if i == 0
               else None, title=f"Greedy policy (X) vs {name}", ylim=(0, 1),
               xlim=(games[0], games[-1]))
        if i == 0:
            ax.legend(fontsize=8, loc="lower right")
    bx = fig.add_subplot(grid[1, :])
    labels, rows = [], []
    for name in OPPONENTS:
        labels += [f"random policy vs {name}", f"trained vs {name}"]
        rows += [baseline[name], trained[name]]
    x = np.arange(len(rows)) + np.repeat(np.arange(len(OPPONENTS)) * 0.4, 2)
    bottom = np.zeros(len(rows))
    for key, colour in shades:
        vals = np.array([r[key] for r in rows])
        bx.bar(x, vals, bottom=bottom, color=colour, label=key, width=0.8)
        for xi, v, b0 in zip(x, vals, bottom):
            if v >= 0.05:
                bx.text(xi, b0 + v / 2, f"{100 * v:.0f}%", ha="center", va="center",
                        fontsize=9, color="black")
        bottom += vals
    bx.set_xticks(x, labels, fontsize=9)
    bx.set(ylabel="fraction of games", ylim=(0, 1.0),
           title=f"After {log.games[-1]} training games: win / draw / loss as X, against "
                 "the random-play baseline")
    bx.grid(axis="x", visible=False)
    bx.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    fig.suptitle("REINFORCE with a learned baseline on tic-tac-toe, from the end-of-game "
                 "reward alone (lecture section 4)")
    ctx.save(fig, "reinforcement")
