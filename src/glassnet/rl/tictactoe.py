"""Tic-tac-toe: a two-player, turn-based game environment.

The board is a NumPy array of 9 cells, row by row (cell ``3 * row + col``), each 0 (empty),
+1 (X) or -1 (O). X moves first. A move is the index of an empty cell.

>>> from glassnet.rl import TicTacToe
>>> env = TicTacToe()
>>> _ = env.reset()
>>> for cell in (0, 4, 1, 5):
...     _ = env.step(cell)
>>> env.legal_actions().tolist()
[2, 3, 6, 7, 8]
>>> board, reward, done = env.step(2)       # X completes the top row
>>> reward, done, env.winner()
(1.0, True, 1)
>>> print(env.render())
X X X
. O O
. . .
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LINES", "X", "O", "TicTacToe", "encode", "player_to_move", "winner_of"]

X, O = 1, -1
#: the 8 lines of three cells: rows, columns, diagonals
LINES = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8],
                  [0, 4, 8], [2, 4, 6]])
_SYMBOL = {X: "X", O: "O", 0: "."}


def winner_of(board: np.ndarray) -> int | None:
    """+1 if X has three in a line, -1 if O has, 0 for a full board without a line (a
    draw), None while the game goes on."""
    sums = board[LINES].sum(axis=1)
    if (sums == 3).any():
        return X
    if (sums == -3).any():
        return O
    return 0 if (board != 0).all() else None


def player_to_move(board: np.ndarray) -> int:
    """+1 (X) when both have played equally often, else -1 (O)."""
    return X if int(np.count_nonzero(board == X)) == int(np.count_nonzero(board == O)) else O


def encode(boards: Any, marks: Any) -> np.ndarray:
    """The network's input: each board seen by the player ``mark`` who moves next.

    ``boards`` (9,) or (N, 9), ``marks`` a scalar or (N,) of +1/-1 -> float32 (27,) or
    (N, 27): the 9 cells of the mover's own stones, then the opponent's, then the empty
    cells (one-hot planes), so one network plays either side.

    >>> encode(np.array([1, 0, 0, 0, -1, 0, 0, 0, 0]), -1).reshape(3, 9).astype(int)
    array([[0, 0, 0, 0, 1, 0, 0, 0, 0],
           [1, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0, 1, 1, 1, 1]])
    """
    b = np.asarray(boards)
    single = b.ndim == 1
    b = np.atleast_2d(b)
    m = np.asarray(marks).reshape(-1, 1)
    own = b * m
    out = np.concatenate([own == 1, own == -1, own == 0], axis=1).astype(np.float32)
    return out[0] if single else out


class TicTacToe:
    """The game as an environment: ``reset``, ``step``, ``legal_actions``, ``winner``.

    Attributes
    ----------
    board : ndarray (9,) of int8
        A copy of the current position.
    current_player : int
        +1 (X) or -1 (O): who moves next.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> np.ndarray:
        """Empty the board (X to move) and return it."""
        self._board = np.zeros(9, dtype=np.int8)
        self.current_player = X
        self._winner: int | None = None
        return self.board

    @property
    def board(self) -> np.ndarray:
        return self._board.copy()

    @property
    def done(self) -> bool:
        """Whether the game is over (a line or a full board)."""
        return self._winner is not None

    def legal_actions(self) -> np.ndarray:
        """The empty cells (int64, increasing); none once the game is over."""
        if self.done:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self._board == 0)

    def legal_mask(self) -> np.ndarray:
        """(9,) bool: True where a move is legal."""
        mask = self._board == 0
        if self.done:
            mask[:] = False
        return mask

    def winner(self) -> int | None:
        """+1 (X won), -1 (O won), 0 (draw) or None (not over)."""
        return self._winner

    def step(self, action: Any) -> tuple[np.ndarray, float, bool]:
        """The player to move puts a stone on cell ``action``.

        Returns ``(board, reward, done)``: the reward is that of the player who just moved,
        +1.0 if the move won the game and 0.0 otherwise (a loss can only follow the
        opponent's move, so it is read from ``winner()``).

        Raises
        ------
        ValueError
            For a cell that is not an integer in 0..8, a taken cell, or a move after the
            end of the game.
        """
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            raise ValueError(f"illegal move {action!r}: a move is a cell index 0..8 (an int)")
        cell = int(action)
        if not 0 <= cell < 9:
            raise ValueError(f"illegal move {cell}: the cells are numbered 0..8")
        if self.done:
            raise ValueError(f"illegal move {cell}: the game is over (winner "
                             f"{_SYMBOL[self._winner] if self._winner else 'none, a draw'})")
        if self._board[cell] != 0:
            raise ValueError(f"illegal move {cell}: the cell is taken by "
                             f"{_SYMBOL[int(self._board[cell])]}")
        mover = self.current_player
        self._board[cell] = mover
        self._winner = winner_of(self._board)
        self.current_player = -mover
        reward = 1.0 if self._winner == mover else 0.0
        return self.board, reward, self.done

    def render(self) -> str:
        """The board as three lines of X, O and '.'."""
        cells = [_SYMBOL[int(v)] for v in self._board]
        return "\n".join(" ".join(cells[3 * r: 3 * r + 3]) for r in range(3))

    def __repr__(self) -> str:
        return f"TicTacToe(board={self._board.tolist()}, to_move={_SYMBOL[self.current_player]})"
