"""REINFORCE with a learned baseline: a glassnet MLP policy that learns tic-tac-toe from
the end-of-game reward alone (LECTURE.md section 4: a delayed reward, +1 for a won game and
-1 for a lost one, whose credit must be distributed over the moves).

The credit assignment::

    a game of the agent: states s_0 .. s_{T-1} (its own moves a_0 .. a_{T-1}), then the
    reward r = +1 (won), 0 (draw) or -1 (lost)
    credit of move t:  G_t = gamma^(T-1-t) r      (gamma = 1: every move gets r)
    baseline:          V(s_t), a second MLP fitted to G_t (L2 loss)
    policy loss:       L = (1/N) sum_t (G_t - V(s_t)) * (-log pi(a_t | s_t))

summed over the moves of a batch of games (N moves in all). Its gradient is the
REINFORCE estimate of minus the gradient of the expected reward: moves of won games become
more likely, moves of lost games less, each by how much better the game went than the
baseline expected from that position. The policy never plays an illegal move: the scores
of the taken cells are replaced by ``MASKED_SCORE`` before the softmax.

>>> from glassnet.rl import RandomPlayer, Reinforce, evaluate
>>> agent = Reinforce(seed=0)
>>> log = agent.train(300, "random")
>>> sorted(evaluate(agent.player(), RandomPlayer(rng=1), games=10))
['draw', 'loss', 'win']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.functional import where
from glassnet.losses import l2, softmax_log_likelihood
from glassnet.nn import Module
from glassnet.nn.mlp import MLP
from glassnet.rl.players import HeuristicPlayer, MinimaxPlayer, Player, RandomPlayer, evaluate
from glassnet.rl.tictactoe import TicTacToe, encode
from glassnet.tensor import Tensor

__all__ = ["MASKED_SCORE", "Episode", "PolicyNetwork", "PolicyPlayer", "Reinforce",
           "TrainingLog", "discounted_returns", "reinforce_loss"]

#: the score an illegal cell gets before the softmax: exp(-1e9 - max) is exactly 0, so
#: its probability and its gradient are 0
MASKED_SCORE = -1e9
FEATURES, CELLS = 27, 9
PLAY_AS = ("first", "second", "both")


class PolicyNetwork(Module):
    """pi(a | s): an MLP from the encoded board (27 features, see ``encode``) to 9 cell
    scores, the taken cells masked.

    ``forward(features (N, 27), legal (N, 9) bool)`` returns the masked scores (N, 9);
    ``softmax`` of a row is the policy's distribution over the legal cells.
    """

    def __init__(self, hidden: Sequence[int] = (64,), generator: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.net = MLP(FEATURES, list(hidden), CELLS, generator=generator, dtype=dtype)

    def forward(self, features: Any, legal: Any) -> Tensor:
        x = features if isinstance(features, Tensor) else Tensor(np.asarray(features))
        mask = np.asarray(legal, dtype=bool)
        if mask.shape != x.shape[:-1] + (CELLS,):
            raise ValueError(f"PolicyNetwork: legal must have shape {x.shape[:-1] + (CELLS,)}, "
                             f"got {mask.shape}")
        if not mask.any(axis=-1).all():
            raise ValueError("PolicyNetwork: a position without a legal move (a full board)")
        return where(mask, self.net(x), MASKED_SCORE)

    def probabilities(self, board: np.ndarray, mark: int,
                      features: np.ndarray | None = None) -> np.ndarray:
        """pi(. | board) for the player ``mark`` (float64 (9,), 0 on taken cells);
        ``features``: ``encode(board, mark)`` when the caller has it already."""
        x = encode(board, mark) if features is None else features
        with no_grad():
            s = self(x[None].astype(self._dtype(), copy=False), board[None] == 0).data[0]
        p = np.exp(s.astype(np.float64) - s.max())
        return p / p.sum()

    def _dtype(self) -> np.dtype:
        return self.net[0].weight.data.dtype


def discounted_returns(reward: float, moves: int, gamma: float = 1.0) -> np.ndarray:
    """The credit of each of a game's ``moves`` moves: G_t = gamma^(T-1-t) * reward.

    With gamma = 1 (the default) every move of the game gets the whole end-of-game reward;
    gamma < 1 gives the late moves, those closest to the result, more of it.

    >>> discounted_returns(1.0, 3, gamma=0.5).tolist()
    [0.25, 0.5, 1.0]
    """
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"discounted_returns: gamma must be in (0, 1], got {gamma!r}")
    return reward * gamma ** np.arange(moves - 1, -1, -1, dtype=np.float64)


def reinforce_loss(scores: Any, actions: Any, advantages: Any) -> Tensor:
    """The REINFORCE surrogate loss: the advantage-weighted negative log-probability of
    the moves taken.

    Parameters
    ----------
    scores : Tensor (N, C)
        The policy's (masked) scores of the N positions.
    actions : int array (N,)
        The move taken in each position.
    advantages : array (N,)
        G_t - V(s_t), a constant (no gradient flows into it).

    Forward
    -------
    L = (1/N) sum_t A_t * (-log softmax(s_t)_{a_t}).

    Gradient
    --------
    dL/ds_t = A_t (softmax(s_t) - onehot(a_t)) / N.

    Conventions
    -----------
    Descending L ascends the expected reward: its gradient is the REINFORCE estimate of
    -grad E[G] (minus a baseline term whose expectation is 0). The log-softmax is the
    stable fused one of ``softmax_log_likelihood``.

    Equivalent
    ----------
    ``(A * torch.nn.functional.cross_entropy(scores, actions, reduction="none")).mean()``.

    >>> round(reinforce_loss(Tensor([[0.0, 0.0]]), [1], [2.0]).item(), 4)   # 2 log 2
    1.3863
    """
    adv = np.asarray(getattr(advantages, "data", advantages), dtype=np.float64)
    s = scores if isinstance(scores, Tensor) else Tensor(np.asarray(scores))
    if adv.ndim != 1 or adv.shape[0] != s.shape[0]:
        raise ValueError(f"reinforce_loss: advantages must have shape ({s.shape[0]},), got "
                         f"{adv.shape}")
    if not np.isfinite(adv).all():
        raise ValueError("reinforce_loss: advantages hold NaN or infinite values")
    nll = softmax_log_likelihood(s, actions, reduction="none")
    return (nll * Tensor(adv.astype(s.dtype))).mean()


class PolicyPlayer:
    """A trained policy as a player: the most probable legal move (``greedy=True``) or a
    move drawn from pi (``rng``: a Generator or a seed)."""

    def __init__(self, policy: PolicyNetwork, greedy: bool = True, rng: Any = None) -> None:
        self.policy, self.greedy = policy, bool(greedy)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def act(self, board: np.ndarray, mark: int) -> int:
        p = self.policy.probabilities(board, mark)
        if self.greedy:
            return int(p.argmax())
        return int(self.rng.choice(CELLS, p=p))


@dataclass
class Episode:
    """One training game seen by the agent: its positions (encoded), their legal cells, its
    moves and the end-of-game reward."""

    features: np.ndarray
    legal: np.ndarray
    actions: np.ndarray
    reward: float


@dataclass
class TrainingLog:
    """What ``Reinforce.train`` recorded: at each evaluation point the number of training
    games played and the greedy policy's win / draw / loss rates against each evaluation
    opponent; after every update the batch's mean reward and losses."""

    games: list[int] = field(default_factory=list)
    rates: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    mean_reward: list[float] = field(default_factory=list)
    policy_loss: list[float] = field(default_factory=list)
    baseline_loss: list[float] = field(default_factory=list)


def _opponent(spec: Any, rng: np.random.Generator) -> Player:
    if isinstance(spec, str):
        kinds = {"random": RandomPlayer, "heuristic": HeuristicPlayer, "minimax": MinimaxPlayer}
        if spec not in kinds:
            raise ValueError(f"unknown opponent {spec!r}; choose random, heuristic or minimax")
        return kinds[spec](rng=rng)
    if not callable(getattr(spec, "act", None)):
        raise ValueError(f"an opponent needs an act(board, mark) method, got {spec!r}")
    return spec


class Reinforce:
    """REINFORCE with a learned baseline for tic-tac-toe (see the module docstring).

    Parameters
    ----------
    hidden : sequence of int
        Hidden layer widths of the policy MLP and of the baseline MLP.
    lr : float
        Adam's learning rate for the policy.
    baseline : bool
        Learn V(s) and use G_t - V(s_t) as the advantage; False uses G_t itself.
    baseline_lr : float, optional
        Adam's learning rate for the baseline (``lr`` if None).
    gamma : float in (0, 1]
        Discount of the credit per move back from the end of the game (1: none).
    batch_games : int
        Games played with the current policy before each update.
    play_as : {"first", "second", "both"}
        The agent plays X, O, or X and O in alternate games.
    seed : int
        Draws the initial weights, the agent's moves and the named opponents' moves: the
        same seed gives the same training, bit for bit.

    Attributes
    ----------
    policy : PolicyNetwork
    value : MLP or None
        The baseline V(s) (27 features -> 1).
    games_played : int
    """

    def __init__(self, hidden: Sequence[int] = (64,), lr: float = 0.01, *,
                 baseline: bool = True, baseline_lr: float | None = None, gamma: float = 1.0,
                 batch_games: int = 32, play_as: str = "first", seed: int = 0) -> None:
        from glassnet import optim

        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"Reinforce: gamma must be in (0, 1], got {gamma!r}")
        if isinstance(batch_games, bool) or not isinstance(batch_games, int) or batch_games < 1:
            raise ValueError(f"Reinforce: batch_games must be a positive integer, got "
                             f"{batch_games!r}")
        if play_as not in PLAY_AS:
            raise ValueError(f"Reinforce: play_as must be one of {', '.join(PLAY_AS)}, got "
                             f"{play_as!r}")
        seeds = np.random.SeedSequence(seed).spawn(3)
        self.rng = np.random.default_rng(seeds[0])
        self.opponent_rng = np.random.default_rng(seeds[1])
        init = np.random.default_rng(seeds[2])
        self.policy = PolicyNetwork(hidden, generator=init)
        self.optimizer = optim.Adam(self.policy.parameters(), lr=lr)
        self.value = MLP(FEATURES, list(hidden), 1, generator=init) if baseline else None
        self.value_optimizer = (None if self.value is None else optim.Adam(
            self.value.parameters(), lr=lr if baseline_lr is None else baseline_lr))
        self.gamma, self.batch_games, self.play_as = float(gamma), batch_games, play_as
        self.games_played = 0

    def player(self, greedy: bool = True, rng: Any = None) -> PolicyPlayer:
        """The current policy as a player (see ``PolicyPlayer``)."""
        return PolicyPlayer(self.policy, greedy, rng)

    def play(self, opponent: Player, first: bool = True) -> Episode:
        """One game against ``opponent``, the agent drawing its moves from pi."""
        env = TicTacToe()
        board = env.reset()
        mark = 1 if first else -1
        feats, legal, actions = [], [], []
        while not env.done:
            if env.current_player == mark:
                x = encode(board, mark)
                p = self.policy.probabilities(board, mark, x)
                cell = int(self.rng.choice(CELLS, p=p))
                feats.append(x)
                legal.append(board == 0)
                actions.append(cell)
            else:
                cell = opponent.act(board, -mark)
            board, _, _ = env.step(cell)
        return Episode(np.array(feats), np.array(legal), np.array(actions, dtype=np.int64),
                       float(env.winner() * mark))

    def update(self, episodes: Sequence[Episode]) -> tuple[float, float]:
        """One gradient step of the policy (and of the baseline) on a batch of games;
        returns (policy loss, baseline loss)."""
        dtype = self.policy._dtype()
        X = Tensor(np.concatenate([e.features for e in episodes]).astype(dtype))
        legal = np.concatenate([e.legal for e in episodes])
        actions = np.concatenate([e.actions for e in episodes])
        G = np.concatenate([discounted_returns(e.reward, len(e.actions), self.gamma)
                            for e in episodes])
        base_loss = 0.0
        adv = G
        if self.value is not None:
            v = self.value(X)
            adv = G - v.data[:, 0].astype(np.float64)
            vloss = l2(v, G[:, None].astype(dtype))
            self.value_optimizer.zero_grad()
            vloss.backward()
            self.value_optimizer.step()
            base_loss = float(vloss.item())
        loss = reinforce_loss(self.policy(X, legal), actions, adv)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.item()), base_loss

    def train(self, games: int, opponent: Any = "random", *, eval_every: int = 0,
              eval_games: int = 200, eval_against: Sequence[str] = ("random", "heuristic"),
              callback: Callable[[Reinforce], Any] | None = None) -> TrainingLog:
        """Play ``games`` training games against ``opponent`` (a player, the name random /
        heuristic / minimax, or a list of them, one drawn per game), updating the policy
        after every ``batch_games`` games.

        Every ``eval_every`` games (0: only at the start and the end), the greedy policy's
        rates over ``eval_games`` games against each opponent in ``eval_against`` are
        recorded (moving first, or as it trains when it plays one side only).
        """
        if isinstance(games, bool) or not isinstance(games, int) or games < 0:
            raise ValueError(f"Reinforce.train: games must be a non-negative integer, got "
                             f"{games!r}")
        pool = [_opponent(o, self.opponent_rng) for o in (
            opponent if isinstance(opponent, (list, tuple)) else [opponent])]
        judges = {name: _opponent(name, np.random.default_rng(1000 + i))
                  for i, name in enumerate(eval_against)}
        log = TrainingLog(rates={name: [] for name in judges})

        def record() -> None:
            log.games.append(self.games_played)
            first = self.play_as != "second"
            for name, judge in judges.items():
                log.rates[name].append(evaluate(self.player(), judge, eval_games, first))

        record()
        batch: list[Episode] = []
        for _ in range(games):
            opp = pool[int(self.rng.integers(len(pool)))] if len(pool) > 1 else pool[0]
            first = (self.play_as == "first" or
                     (self.play_as == "both" and self.games_played % 2 == 0))
            batch.append(self.play(opp, first))
            self.games_played += 1
            if len(batch) == self.batch_games:
                log.mean_reward.append(float(np.mean([e.reward for e in batch])))
                pl, bl = self.update(batch)
                log.policy_loss.append(pl)
                log.baseline_loss.append(bl)
                batch = []
                if callback is not None:
                    callback(self)
            if eval_every and self.games_played % eval_every == 0 and self.games_played < games:
                record()
        if batch:
            self.update(batch)
        if not log.games or log.games[-1] != self.games_played:
            record()
        return log
