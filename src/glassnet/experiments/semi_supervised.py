"""Semi-supervised learning: self-training with 1% of the digits labelled (section 4).

scikit-learn's 8x8 digits (1,347 training images): a stratified 1% of the training split
keeps its labels (13 images, at least one per class) and the rest are unlabelled. Three
runs of the same classifier (a softmax classifier, ``nn.MLP(64, [], 10)``, trained by
``glassnet.fit`` with Adam for a fixed number of steps from the same initial weights) are
compared on the test split:

- **labelled only**: trained on the 13 labelled images;
- **self-training** (``glassnet.semisupervised.SelfTraining``): each round, the unlabelled
  images predicted with probability >= ``threshold`` (at most ``per_class`` of each
  predicted class) join the labelled set with their predicted class, and the classifier is
  trained again;
- **fully supervised**: trained on every training label (the ceiling).

The split is drawn ``splits`` times (different labelled images, different initial
weights) and the accuracies are averaged. The hidden labels of the unlabelled images score
the pseudo-labels; they are never used for training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "semi-supervised"
TITLE = "Self-training with 1% of the digits labelled vs the labelled 1% alone"
SECTION = "4"
ORDER = 3
OPTIONS: dict[str, Any] = {"fraction": 0.01, "threshold": 0.9, "max_rounds": 10,
                           "per_class": 20, "steps": 300, "lr": 0.05, "splits": 10}
QUICK: dict[str, Any] = {"splits": 2, "max_rounds": 6}


def labelled_split(y: np.ndarray, fraction: float, rng: np.random.Generator,
                   classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(labelled rows, unlabelled rows): ``round(fraction * N)`` rows (at least one per
    class) drawn without replacement, one of each class first."""
    n = max(classes, int(round(fraction * len(y))))
    perm = rng.permutation(len(y))
    first = [perm[y[perm] == c][0] for c in range(classes)]
    rest = perm[~np.isin(perm, first)][: n - classes]
    chosen = np.sort(np.concatenate([first, rest]).astype(np.int64))
    return chosen, np.setdiff1d(np.arange(len(y)), chosen)


def _check(ctx: Any) -> None:
    from glassnet.experiments._framework import ExperimentError

    if not 0.0 < ctx["fraction"] < 1.0:
        raise ExperimentError(f"fraction must be in (0, 1), got {ctx['fraction']}")
    for key in ("splits", "steps", "per_class"):
        if ctx[key] < 1:
            raise ExperimentError(f"{key} must be >= 1, got {ctx[key]}")


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet import nn, optim
    from glassnet.semisupervised import SelfTraining

    _check(ctx)
    data = ctx.image_data(dataset="digits")
    Xtr, ytr, Xte, yte = data.X_train, data.y_train, data.X_test, data.y_test
    C = data.num_classes

    def trainer(seed: int, max_rounds: int, curve: list[float] | None = None) -> SelfTraining:
        def score(entry: Any, st: SelfTraining) -> None:
            if curve is not None:
                curve.append(st.score(Xte, yte))

        return SelfTraining(
            nn.MLP(Xtr.shape[1], [], C, generator=seed), ctx["threshold"], max_rounds,
            per_class=ctx["per_class"], steps=ctx["steps"], batch_size=32, rng=seed,
            optimizer=lambda params: optim.Adam(params, lr=ctx["lr"]), callback=score)

    rows: dict[str, list[float]] = {"labelled_only": [], "self_training": [],
                                    "fully_supervised": []}
    curves, added, pseudo_acc = [], [], []
    for k in range(ctx["splits"]):
        seed = ctx.seed * 1000 + k
        lab, unl = labelled_split(ytr, ctx["fraction"], ctx.rng, C)
        base = trainer(seed, 0).fit(Xtr[lab], ytr[lab], Xtr[unl])
        rows["labelled_only"].append(base.score(Xte, yte))
        curve: list[float] = []
        st = trainer(seed, ctx["max_rounds"], curve).fit(Xtr[lab], ytr[lab], Xtr[unl],
                                                         y_unlabelled=ytr[unl])
        rows["self_training"].append(st.score(Xte, yte))
        full = trainer(seed, 0).fit(Xtr, ytr, Xtr[:0])
        rows["fully_supervised"].append(full.score(Xte, yte))
        curves.append(curve)
        added.append([h.added for h in st.history_[1:]])
        pseudo_acc.append([h.accuracy for h in st.history_[1:]])
        n_labelled = len(lab)
    means = {k: float(np.mean(v)) for k, v in rows.items()}
    gain = means["self_training"] - means["labelled_only"]
    wins = int(sum(s > b for s, b in zip(rows["self_training"], rows["labelled_only"])))
    final_pseudo = float(np.mean(_pseudo_truth(added, pseudo_acc)))
    ctx.note(f"With {n_labelled} labelled digits ({100 * n_labelled / len(ytr):.1f}% of "
             f"{len(ytr)}), the softmax classifier reaches {means['labelled_only']:.3f} test "
             f"accuracy; self-training raises it to {means['self_training']:.3f} "
             f"(+{100 * gain:.1f} points, better on {wins} of {ctx['splits']} splits), while "
             f"every training label gives {means['fully_supervised']:.3f}. The "
             f"pseudo-labels are right {100 * final_pseudo:.1f}% of the time (hidden labels).")
    if ctx.drawing:
        _draw(ctx, curves, added, pseudo_acc, means)
    return {**means, "gain_points": 100 * gain, "splits_improved": wins,
            "n_labelled": n_labelled, "n_unlabelled": len(ytr) - n_labelled,
            "pseudo_label_accuracy": final_pseudo,
            "per_split": rows, "added_per_round": added}


def _pseudo_truth(added: list[list[int]], acc: list[list[float | None]]) -> list[float]:
    """Per split, the accuracy of all its pseudo-labels together (weighted by round size)."""
    out = []
    for n, a in zip(added, acc):
        total = sum(n)
        out.append(sum(k * (x or 0.0) for k, x in zip(n, a)) / total if total else 0.0)
    return out


def _draw(ctx: Any, curves: list[list[float]], added: list[list[int]],
          pseudo_acc: list[list[float | None]], means: dict[str, float]) -> None:
    from glassnet.experiments._plot import BLACK, BLUE, GREEN, ORANGE, VERMILION

    fig, (ax, bx) = ctx.subplots(1, 2, figsize=(12, 4.6))
    for i, c in enumerate(curves):
        ax.plot(range(len(c)), c, color=BLUE, alpha=0.25, lw=1,
                label="self-training, one split" if i == 0 else None)
    width = max(len(c) for c in curves)
    mean_curve = [np.mean([c[min(r, len(c) - 1)] for c in curves]) for r in range(width)]
    ax.plot(range(width), mean_curve, "o-", color=BLUE, label="self-training, mean")
    ax.axhline(means["labelled_only"], color=VERMILION, ls="--",
               label=f"labelled 1% only ({means['labelled_only']:.3f})")
    ax.axhline(means["fully_supervised"], color=GREEN, ls=":",
               label=f"all labels ({means['fully_supervised']:.3f})")
    ax.set(xlabel="self-training round (0 = labelled set alone)", ylabel="test accuracy",
           title="Test accuracy round by round", ylim=(0.5, 1.0))
    ax.legend(loc="lower right", fontsize=9)
    rounds = np.arange(1, max(len(a) for a in added) + 1)
    tot = [np.mean([a[r - 1] if r <= len(a) else 0 for a in added]) for r in rounds]
    bx.bar(rounds, tot, color=ORANGE, label="pseudo-labels added (mean)")
    bx.set(xlabel="self-training round", ylabel="images added per round",
           title="Pseudo-labels: how many, how often right")
    cx = bx.twinx()
    acc = [np.mean([a[r - 1] for a in pseudo_acc if r <= len(a) and a[r - 1] is not None])
           for r in rounds]
    cx.plot(rounds, acc, "s-", color=BLACK, label="their accuracy (hidden labels)")
    cx.set_ylim(0.0, 1.05)
    cx.set_ylabel("fraction of pseudo-labels correct")
    cx.grid(False)
    cx.spines["right"].set_visible(True)
    h1, l1 = bx.get_legend_handles_labels()
    h2, l2 = cx.get_legend_handles_labels()
    bx.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=9)
    fig.suptitle("Self-training on 8x8 digits with 1% of the training labels "
                 "(lecture section 4)")
    ctx.save(fig, "semi_supervised")
