"""glassnet.rl: the tic-tac-toe environment, the opponents (minimax checked exhaustively
against every opposing strategy), the REINFORCE gradient (float64 central differences and
PyTorch) and training."""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import numpy as np
import pytest

import glassnet as gn
from glassnet.rl import (
    MASKED_SCORE,
    HeuristicPlayer,
    MinimaxPlayer,
    PolicyNetwork,
    RandomPlayer,
    Reinforce,
    TicTacToe,
    discounted_returns,
    encode,
    evaluate,
    minimax_value,
    optimal_moves,
    play_game,
    reinforce_loss,
    winner_of,
)
from glassnet.tensor import Tensor

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8),
         (2, 4, 6)]


def _board(text):
    """'XO. ...' (9 symbols, spaces ignored) -> board."""
    cells = [c for c in text if c in "XO."]
    assert len(cells) == 9
    return np.array([{"X": 1, "O": -1, ".": 0}[c] for c in cells], dtype=np.int8)


# --------------------------------------------------------------- a naive oracle
def _naive_winner(cells):
    for a, b, c in LINES:
        if cells[a] != 0 and cells[a] == cells[b] == cells[c]:
            return cells[a]
    return 0 if all(cells) else None


def _naive_value(cells):
    """Plain recursive minimax, no memo, no pruning: the value for the player to move."""
    mover = 1 if cells.count(1) == cells.count(-1) else -1
    w = _naive_winner(cells)
    if w is not None:
        return w * mover
    return max(-_naive_value(cells[:i] + (mover,) + cells[i + 1:])
               for i in range(9) if cells[i] == 0)


# --------------------------------------------------------------- environment
def test_a_game_step_by_step():
    env = TicTacToe()
    assert env.reset().tolist() == [0] * 9 and env.current_player == 1
    assert env.legal_actions().tolist() == list(range(9))
    board, reward, done = env.step(4)
    assert board.tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0] and reward == 0.0 and not done
    assert env.current_player == -1 and env.winner() is None
    board[0] = 1  # a copy: the environment's board is untouched
    assert env.board[0] == 0
    for cell in (0, 2, 6):
        env.step(cell)
    assert env.legal_mask().tolist() == [False, True, False, True, False, True, False, True,
                                         True]
    env.step(8)
    _, reward, done = env.step(3)  # O: 0, 3, 6 is a column
    assert reward == 1.0 and done and env.winner() == -1
    assert env.legal_actions().size == 0 and not env.legal_mask().any()


def test_a_full_board_without_a_line_is_a_draw():
    env = TicTacToe()
    for cell in (0, 1, 2, 4, 3, 5, 7, 6, 8):
        _, reward, done = env.step(cell)
    assert done and reward == 0.0 and env.winner() == 0


@pytest.mark.parametrize("text, expected", [
    ("XXX OO. ...", 1), ("X.. OOO X.X", -1), ("O.X .OX ..X", 1), ("X.O .O. O.X", -1),
    ("XOX XOO OXX", 0), ("XO. ... ...", None), ("... ... ...", None),
])
def test_winner_of_hand_boards(text, expected):
    b = _board(text)
    assert winner_of(b) == expected == _naive_winner(tuple(int(v) for v in b))


@pytest.mark.parametrize("setup, move, match", [
    ((), 9, "numbered 0..8"), ((), -1, "numbered 0..8"), ((), 2.0, "an int"),
    ((), "4", "an int"), ((), True, "an int"), ((4,), 4, "taken by X"),
    ((4, 0), 0, "taken by O"), ((0, 3, 1, 4, 2), 5, "the game is over"),
])
def test_illegal_moves_raise_and_leave_the_board_alone(setup, move, match):
    env = TicTacToe()
    for cell in setup:
        env.step(cell)
    before = env.board
    with pytest.raises(ValueError, match=match):
        env.step(move)
    np.testing.assert_array_equal(env.board, before)


def test_render_and_encode():
    env = TicTacToe()
    for cell in (4, 0):
        env.step(cell)
    assert env.render() == "O . .\n. X .\n. . ."
    b = env.board
    enc = encode(b, 1).reshape(3, 9)
    assert enc[0].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]  # X's own stones
    assert enc[1].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]  # the opponent's
    assert enc.sum(axis=0).tolist() == [1] * 9
    # a player sees the same picture as its opponent does with the colours swapped
    np.testing.assert_array_equal(encode(b, -1), encode(-b, 1))
    batch = encode(np.stack([b, -b]), np.array([1, -1]))
    np.testing.assert_array_equal(batch[0], batch[1])


# --------------------------------------------------------------- minimax
def _reachable():
    """Every position reachable by legal play (breadth first, with the environment)."""
    seen, frontier = set(), [()]
    while frontier:
        nxt = []
        for moves in frontier:
            env = TicTacToe()
            for m in moves:
                env.step(m)
            key = tuple(env.board.tolist())
            if key in seen:
                continue
            seen.add(key)
            nxt.extend(moves + (int(a),) for a in env.legal_actions())
        frontier = nxt
    return seen


def test_there_are_5478_positions_and_the_game_is_a_draw():
    positions = _reachable()
    assert len(positions) == 5478  # the well-known count of legal tic-tac-toe positions
    assert minimax_value(np.zeros(9, dtype=np.int8)) == 0


def test_memoised_minimax_matches_a_naive_search(rng):
    positions = sorted(p for p in _reachable() if sum(v != 0 for v in p) >= 3)
    for i in rng.choice(len(positions), size=150, replace=False):
        p = positions[i]
        assert minimax_value(np.array(p)) == _naive_value(p), p


def _naive_optimal(cells):
    mover = 1 if cells.count(1) == cells.count(-1) else -1
    vals = {i: -_naive_value(cells[:i] + (mover,) + cells[i + 1:])
            for i in range(9) if cells[i] == 0}
    return [i for i, v in vals.items() if v == max(vals.values())]


@pytest.mark.parametrize("text, value, has", [
    ("XX. OO. ...", 1, 2),       # X wins at once
    ("XX. O.. O..", 1, 2),       # X wins at once, before O completes its column
    ("XO. ... ...", 1, 4),       # O's side reply to a corner loses; the centre forks
    ("X.. .O. ..X", 0, 1),       # O must take a side: a corner loses to a fork
    ("X.. ... ...", 0, 4),       # O's only safe reply to a corner is the centre
])
def test_known_positions(text, value, has):
    b = _board(text)
    assert minimax_value(b) == value
    moves = optimal_moves(b)
    assert has in moves
    assert moves == _naive_optimal(tuple(int(v) for v in b))


def test_the_only_answers_to_known_threats():
    assert optimal_moves(_board("X.. .O. ..X")) == [1, 3, 5, 7]
    assert optimal_moves(_board("X.. ... ...")) == [4]


def _never_loses(board, me, choices_all):
    """True when the minimax player ``me`` cannot lose from ``board`` whatever the
    opponent plays (every opponent move, and every optimal move of ours, explored)."""
    w = winner_of(board)
    if w is not None:
        return w != -me
    mover = 1 if (board == 1).sum() == (board == -1).sum() else -1
    cells = optimal_moves(board) if mover == me else np.flatnonzero(board == 0)
    for c in cells:
        child = board.copy()
        child[c] = mover
        if not _never_loses(child, me, choices_all):
            return False
    return True


@pytest.mark.parametrize("me", [1, -1])
def test_minimax_never_loses_against_any_strategy(me):
    assert _never_loses(np.zeros(9, dtype=np.int8), me, True)


def test_a_player_that_ignores_minimax_can_lose():
    # negative control for the search above: always taking the lowest cell loses
    class Lowest:
        def act(self, board, mark):
            return int(np.flatnonzero(board == 0)[0])

    winner, _ = play_game(Lowest(), MinimaxPlayer())
    assert winner == -1


def test_minimax_against_itself_always_draws():
    assert play_game(MinimaxPlayer(), MinimaxPlayer())[0] == 0
    a, b = MinimaxPlayer(rng=1), MinimaxPlayer(rng=2)
    assert all(play_game(a, b)[0] == 0 for _ in range(100))


@pytest.mark.parametrize("opponent", [RandomPlayer(rng=3), HeuristicPlayer(rng=4)])
@pytest.mark.parametrize("first", [True, False])
def test_minimax_never_loses_in_play(opponent, first):
    rates = evaluate(MinimaxPlayer(rng=5), opponent, games=150, first=first)
    assert rates["loss"] == 0.0
    if isinstance(opponent, RandomPlayer):
        assert rates["win"] > 0.7


def test_bad_boards_are_refused():
    with pytest.raises(ValueError, match="9 cells"):
        minimax_value(np.zeros(8))
    with pytest.raises(ValueError, match="9 cells"):
        minimax_value(np.full(9, 2))
    with pytest.raises(ValueError, match="game is over"):
        optimal_moves(_board("XXX OO. ..."))


# --------------------------------------------------------------- the other opponents
def test_heuristic_wins_blocks_and_takes_the_centre():
    h = HeuristicPlayer(rng=0)
    assert h.act(_board("XX. OO. ..."), 1) == 2   # win beats block
    assert h.act(_board("X.. OO. X.."), 1) == 5   # block O's middle row
    assert h.act(np.zeros(9, dtype=np.int8), 1) == 4
    assert h.act(_board("... .X. ..."), -1) in (0, 2, 6, 8)
    # but it does not see forks: minimax beats it
    assert evaluate(MinimaxPlayer(rng=0), HeuristicPlayer(rng=1), games=50)["win"] > 0


@cache
def _exact_random(cells):
    """P(X wins), P(draw), P(O wins) when both play uniformly at random (fractions)."""
    w = _naive_winner(cells)
    if w is not None:
        return (Fraction(int(w == 1)), Fraction(int(w == 0)), Fraction(int(w == -1)))
    mover = 1 if cells.count(1) == cells.count(-1) else -1
    free = [i for i in range(9) if cells[i] == 0]
    out = [Fraction(0)] * 3
    for i in free:
        sub = _exact_random(cells[:i] + (mover,) + cells[i + 1:])
        out = [o + s / len(free) for o, s in zip(out, sub)]
    return tuple(out)


def test_random_play_matches_the_exact_probabilities():
    win, draw, loss = (float(f) for f in _exact_random((0,) * 9))
    assert win == pytest.approx(0.5849, abs=1e-4)  # "about 59% as first player"
    rates = evaluate(RandomPlayer(rng=0), RandomPlayer(rng=1), games=3000)
    for key, p in (("win", win), ("draw", draw), ("loss", loss)):
        sigma = np.sqrt(p * (1 - p) / 3000)
        assert abs(rates[key] - p) < 4 * sigma, key


def test_evaluate_rejects_a_bad_count():
    with pytest.raises(ValueError, match="games must be a positive integer"):
        evaluate(RandomPlayer(), RandomPlayer(), games=0)


# --------------------------------------------------------------- credit assignment
def test_every_move_gets_the_end_of_game_reward():
    np.testing.assert_array_equal(discounted_returns(-1.0, 4), [-1.0] * 4)
    np.testing.assert_allclose(discounted_returns(1.0, 4, gamma=0.9),
                               [0.729, 0.81, 0.9, 1.0], rtol=1e-15)
    assert discounted_returns(0.0, 3, gamma=0.5).tolist() == [0.0] * 3
    for gamma in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="gamma must be in"):
            discounted_returns(1.0, 3, gamma=gamma)


# --------------------------------------------------------------- the REINFORCE gradient
def _case(rng, n=7):
    scores = rng.normal(size=(n, 9))
    legal = rng.random((n, 9)) < 0.6
    legal[np.arange(n), rng.integers(9, size=n)] = True
    actions = np.array([rng.choice(np.flatnonzero(row)) for row in legal])
    adv = rng.normal(size=n)
    return scores, legal, actions, adv


def test_reinforce_loss_gradient_central_differences(rng):
    scores, legal, actions, adv = _case(rng)
    f = lambda s: reinforce_loss(gn.where(legal, s, MASKED_SCORE), actions, adv)  # noqa: E731
    s = Tensor(scores, requires_grad=True)
    f(s).backward()
    num = gn.numerical_grad(f, scores)
    assert np.all(np.abs(num - s.grad.data) <= 1e-6 + 1e-5 * np.abs(s.grad.data))
    # the closed form: A_t (pi_t - onehot(a_t)) / N, zero on the taken cells
    z = np.where(legal, scores, -np.inf)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(9)[actions]
    np.testing.assert_allclose(s.grad.data, adv[:, None] * (p - onehot) / len(adv),
                               rtol=1e-10, atol=1e-14)
    assert np.all(s.grad.data[~legal] == 0.0)
    # negative control: the gradient with the advantages' sign flipped is far from it
    flipped = gn.numerical_grad(
        lambda t: reinforce_loss(gn.where(legal, t, MASKED_SCORE), actions, -adv), scores)
    assert np.abs(flipped - s.grad.data).max() > 1e-3


def test_reinforce_loss_matches_torch(rng):
    torch = pytest.importorskip("torch")
    scores, legal, actions, adv = _case(rng)
    s = Tensor(scores, requires_grad=True)
    loss = reinforce_loss(gn.where(legal, s, MASKED_SCORE), actions, adv)
    loss.backward()
    ts = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    masked = ts.masked_fill(~torch.tensor(legal), float("-inf"))
    logp = torch.log_softmax(masked, dim=1)[torch.arange(len(actions)), torch.tensor(actions)]
    ref = -(torch.tensor(adv) * logp).mean()
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(s.grad.data, ts.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_policy_parameters_gradient_central_differences(rng):
    policy = PolicyNetwork((5,), generator=0, dtype=np.float64)
    boards = np.stack([_board("X.. .O. ..."), _board("XO. .X. ..O"), np.zeros(9, np.int8)])
    marks = np.array([1, -1, 1])
    feats, legal = encode(boards, marks).astype(np.float64), boards == 0
    actions, adv = np.array([2, 3, 8]), np.array([1.0, -0.5, 0.25])
    W = policy.net[0].weight

    def loss_at(w):
        saved = W.data.copy()
        W.data[...] = w.data if isinstance(w, Tensor) else w
        try:
            return reinforce_loss(policy(feats, legal), actions, adv)
        finally:
            W.data[...] = saved

    policy.zero_grad()
    reinforce_loss(policy(feats, legal), actions, adv).backward()
    num = gn.numerical_grad(loss_at, W.data.copy())
    ana = W.grad.data
    assert np.abs(ana).max() > 1e-4
    assert np.all(np.abs(num - ana) <= 1e-6 + 1e-5 * np.abs(ana))


def test_the_policy_never_puts_probability_on_a_taken_cell(rng):
    policy = PolicyNetwork((8,), generator=1)
    for _ in range(20):
        board = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=9)
        board[rng.integers(9)] = 0
        p = policy.probabilities(board, 1)
        assert p.sum() == pytest.approx(1.0) and np.all(p[board != 0] == 0.0)
    assert np.all(p[board == 0] > 0)


@pytest.mark.parametrize("call, match", [
    (lambda: reinforce_loss(Tensor(np.zeros((3, 9))), [0, 1, 2], [1.0, 2.0]), "advantages"),
    (lambda: reinforce_loss(Tensor(np.zeros((2, 9))), [0, 1], [1.0, np.nan]), "NaN"),
    (lambda: PolicyNetwork((4,))(np.zeros((2, 27)), np.ones((2, 8), bool)), "legal"),
    (lambda: PolicyNetwork((4,))(np.zeros((1, 27)), np.zeros((1, 9), bool)),
     "without a legal move"),
    (lambda: Reinforce(gamma=0.0), "gamma"),
    (lambda: Reinforce(batch_games=0), "batch_games"),
    (lambda: Reinforce(play_as="middle"), "play_as"),
    (lambda: Reinforce().train(10, "grandmaster"), "unknown opponent"),
    (lambda: Reinforce().train(-1), "games"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------- training
def _weights(agent):
    return np.concatenate([p.data.ravel() for p in agent.policy.parameters()])


def test_training_is_reproducible_from_a_seed():
    a = Reinforce((16,), seed=3, batch_games=8)
    b = Reinforce((16,), seed=3, batch_games=8)
    la = a.train(64, ["random", "heuristic"], eval_games=20)
    lb = b.train(64, ["random", "heuristic"], eval_games=20)
    np.testing.assert_array_equal(_weights(a), _weights(b))
    assert la.policy_loss == lb.policy_loss and la.rates == lb.rates
    c = Reinforce((16,), seed=4, batch_games=8)
    c.train(64, ["random", "heuristic"], eval_games=20)
    assert not np.array_equal(_weights(a), _weights(c))


def test_the_baseline_learns_the_expected_reward():
    agent = Reinforce((32,), seed=0)
    log = agent.train(640, "random", eval_games=10)
    assert log.baseline_loss[-1] < log.baseline_loss[0]
    with gn.no_grad():
        v0 = agent.value(Tensor(encode(np.zeros(9, np.int8), 1)[None])).item()
    # a first player against a random opponent wins more often than it loses
    assert 0.1 < v0 < 1.0


def test_reinforce_learns_to_beat_the_random_opponent():
    agent = Reinforce(seed=0)
    log = agent.train(1500, "random", eval_every=750, eval_games=300)
    assert log.games == [0, 750, 1500]
    rates = evaluate(agent.player(), RandomPlayer(rng=11), games=500)
    assert rates["win"] > 0.75 > log.rates["random"][0]["win"]
    assert rates["win"] > 0.5849 + 0.1  # well above random play's exact rate
    # its moves are always legal, also when it samples from the policy
    evaluate(agent.player(greedy=False, rng=0), RandomPlayer(rng=12), games=100)


def test_without_a_baseline_and_as_second_player_it_still_runs():
    agent = Reinforce((16,), baseline=False, play_as="both", gamma=0.9, seed=1)
    log = agent.train(96, "random", eval_games=20)
    assert agent.value is None and log.baseline_loss == [0.0] * 3
    assert agent.games_played == 96


def test_the_quality_bar_after_20000_games():
    """The issue's bar at full size (about 20-35 s): >= 90% wins against the random
    opponent as X, and no loss against perfect minimax."""
    agent = Reinforce(seed=0)
    agent.train(20000, ["random", "random", "random", "minimax"], eval_games=1)
    assert evaluate(agent.player(), RandomPlayer(rng=21), games=2000)["win"] >= 0.90
    assert evaluate(agent.player(), MinimaxPlayer(rng=22), games=300)["loss"] == 0.0
