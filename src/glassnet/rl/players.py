"""Tic-tac-toe opponents (random, a fixed heuristic, perfect minimax) and the games
between two players.

A player is any object with ``act(board, mark) -> cell``: given the board (9,) and its own
mark (+1 for X, -1 for O), it returns an empty cell.

>>> from glassnet.rl import MinimaxPlayer, RandomPlayer, evaluate
>>> rates = evaluate(MinimaxPlayer(), RandomPlayer(rng=0), games=200)
>>> rates["loss"]
0.0
"""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol

import numpy as np

from glassnet.rl.tictactoe import LINES, TicTacToe, player_to_move, winner_of

__all__ = ["HeuristicPlayer", "MinimaxPlayer", "Player", "RandomPlayer", "evaluate",
           "minimax_value", "optimal_moves", "play_game"]

_CENTRE, _CORNERS, _SIDES = (4,), (0, 2, 6, 8), (1, 3, 5, 7)


class Player(Protocol):
    def act(self, board: np.ndarray, mark: int) -> int: ...


def _generator(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class RandomPlayer:
    """Plays a uniformly random empty cell (``rng``: a Generator or a seed)."""

    def __init__(self, rng: Any = None) -> None:
        self.rng = _generator(rng)

    def act(self, board: np.ndarray, mark: int) -> int:
        return int(self.rng.choice(np.flatnonzero(board == 0)))

    def __repr__(self) -> str:
        return "RandomPlayer()"


def _completing(board: np.ndarray, mark: int) -> list[int]:
    """The empty cells that would complete a line of ``mark``."""
    cells = []
    for line in LINES:
        vals = board[line]
        if (vals == mark).sum() == 2 and (vals == 0).sum() == 1:
            cells.append(int(line[vals == 0][0]))
    return sorted(set(cells))


class HeuristicPlayer:
    """A fixed rule of thumb: win if it can, else block the opponent's line, else take the
    centre, else a corner, else a side; ties among equally good cells are broken by
    ``rng`` (a Generator or a seed). It does not see forks, so it can be beaten."""

    def __init__(self, rng: Any = None) -> None:
        self.rng = _generator(rng)

    def act(self, board: np.ndarray, mark: int) -> int:
        for options in (_completing(board, mark), _completing(board, -mark)):
            if options:
                return int(self.rng.choice(options))
        for group in (_CENTRE, _CORNERS, _SIDES):
            free = [c for c in group if board[c] == 0]
            if free:
                return int(self.rng.choice(free))
        raise ValueError("HeuristicPlayer: the board is full, there is no move")

    def __repr__(self) -> str:
        return "HeuristicPlayer()"


@cache
def _value(cells: tuple[int, ...]) -> int:
    """Game value for the player to move (+1 win, 0 draw, -1 loss) under perfect play by
    both, memoised over positions (5,478 reachable ones)."""
    board = np.array(cells, dtype=np.int8)
    done = winner_of(board)
    mover = player_to_move(board)
    if done is not None:
        return done * mover  # a finished game: only the previous mover can have won
    best = -1
    for cell in np.flatnonzero(board == 0):
        child = list(cells)
        child[cell] = mover
        best = max(best, -_value(tuple(child)))
        if best == 1:
            break
    return best


def _key(board: np.ndarray) -> tuple[int, ...]:
    b = np.asarray(board)
    if b.shape != (9,) or not np.isin(b, (-1, 0, 1)).all():
        raise ValueError(f"a board is 9 cells of -1, 0 or +1, got {b.tolist()!r}")
    return tuple(int(v) for v in b)


def minimax_value(board: np.ndarray) -> int:
    """The exact value of a position for the player to move: +1 (a forced win), 0 (a draw
    with best play) or -1 (a forced loss)."""
    return _value(_key(board))


def optimal_moves(board: np.ndarray) -> list[int]:
    """Every move of the player to move that keeps the position's minimax value."""
    return list(_optimal(_key(board)))


@cache
def _optimal(cells: tuple[int, ...]) -> tuple[int, ...]:
    b = np.array(cells, dtype=np.int8)
    if winner_of(b) is not None:
        raise ValueError("optimal_moves: the game is over, there is no move")
    mover = player_to_move(b)
    values = {}
    for cell in np.flatnonzero(b == 0):
        child = list(cells)
        child[cell] = mover
        values[int(cell)] = -_value(tuple(child))
    best = max(values.values())
    return tuple(c for c, v in values.items() if v == best)


class MinimaxPlayer:
    """Perfect play: a move of the best minimax value (exhaustive, memoised search); it
    never loses. With ``rng`` (a Generator or a seed) it picks among the equally good moves
    at random, without it the lowest-numbered one."""

    def __init__(self, rng: Any = None) -> None:
        self.rng = None if rng is None else _generator(rng)

    def act(self, board: np.ndarray, mark: int) -> int:
        moves = _optimal(_key(board))
        if self.rng is None:
            return moves[0]
        return int(self.rng.choice(moves))

    def __repr__(self) -> str:
        return "MinimaxPlayer()"


def play_game(first: Player, second: Player) -> tuple[int, list[tuple[np.ndarray, int]]]:
    """One game, ``first`` playing X. Returns ``(winner, moves)``: +1 (X won), -1 (O won)
    or 0 (draw), and the (board before the move, cell) of every move in order."""
    env = TicTacToe()
    board = env.reset()
    moves = []
    while not env.done:
        player = first if env.current_player == 1 else second
        cell = player.act(board, env.current_player)
        moves.append((board, int(cell)))
        board, _, _ = env.step(cell)
    return int(env.winner()), moves


def evaluate(player: Player, opponent: Player, games: int = 1000,
             first: bool = True) -> dict[str, float]:
    """Win, draw and loss rates of ``player`` over ``games`` games against ``opponent``,
    ``player`` moving first (X) when ``first`` is True, second otherwise."""
    if isinstance(games, bool) or not isinstance(games, (int, np.integer)) or games < 1:
        raise ValueError(f"evaluate: games must be a positive integer, got {games!r}")
    mark = 1 if first else -1
    counts = {1: 0, 0: 0, -1: 0}
    for _ in range(int(games)):
        x, o = (player, opponent) if first else (opponent, player)
        won, _ = play_game(x, o)
        counts[won * mark] += 1
    n = float(games)
    return {"win": counts[1] / n, "draw": counts[0] / n, "loss": counts[-1] / n}
