"""Reinforcement learning (LECTURE.md section 4): a turn-based game, opponents, and a
policy that learns from a delayed reward.

- ``TicTacToe``: the environment (``reset``, ``step``, ``legal_actions``, ``winner``);
- ``RandomPlayer``, ``HeuristicPlayer``, ``MinimaxPlayer`` (perfect, memoised), and
  ``play_game`` / ``evaluate`` between any two players;
- ``Reinforce``: REINFORCE with a learned baseline on a glassnet MLP policy with the
  illegal moves masked, learning from the end-of-game reward alone (``reinforce_loss``,
  ``discounted_returns``).
"""

from glassnet.rl.players import (
    HeuristicPlayer,
    MinimaxPlayer,
    Player,
    RandomPlayer,
    evaluate,
    minimax_value,
    optimal_moves,
    play_game,
)
from glassnet.rl.reinforce import (
    MASKED_SCORE,
    Episode,
    PolicyNetwork,
    PolicyPlayer,
    Reinforce,
    TrainingLog,
    discounted_returns,
    reinforce_loss,
)
from glassnet.rl.tictactoe import LINES, TicTacToe, encode, player_to_move, winner_of

__all__ = [
    "LINES", "MASKED_SCORE", "Episode", "HeuristicPlayer", "MinimaxPlayer", "Player",
    "PolicyNetwork", "PolicyPlayer", "RandomPlayer", "Reinforce", "TicTacToe", "TrainingLog",
    "discounted_returns", "encode", "evaluate", "minimax_value", "optimal_moves",
    "play_game", "player_to_move", "reinforce_loss", "winner_of",
]
