"""Tests of glassnet.losses: the lecture's numbers, kink tables, three independent
references (a composite built from primitives, a naive looped version, central
differences), second derivatives, extreme scores, validation and the Module wrappers.

PyTorch and scikit-learn as oracles are in tests/test_losses_torch.py; the generic
registry checks of the fused primitives come from tests/op_specs_losses.py.
"""

from __future__ import annotations

import doctest
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import glassnet as gn
import glassnet.losses as losses
import glassnet.ops.losses as ops_losses
from glassnet.nn.module import Module

REDUCTIONS = ["mean", "sum", "none"]
TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def _t(x: Any, requires_grad: bool = False, dtype: Any = np.float64) -> gn.Tensor:
    return gn.tensor(np.asarray(x, dtype=dtype), requires_grad=requires_grad)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """CS231n's report: max |a - b| / max(1e-8, |a| + |b|)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# ---------------------------------------------------------------------------- the lecture
CAT, CAR, FROG = 0, 1, 2
# one row per image (the lecture's columns): scores for cat, car, frog
LECTURE_SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]
LECTURE_LABELS = [CAT, CAR, FROG]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lecture_hinge_example(dtype: Any) -> None:
    scores = _t(LECTURE_SCORES, dtype=dtype)
    per_image = losses.hinge(scores, LECTURE_LABELS, reduction="none")
    # cat: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9; car: 0;
    # frog: max(0, 2.2 + 3.1 + 1) + max(0, 2.5 + 3.1 + 1) = 6.3 + 6.6 = 12.9
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(per_image.data, [2.9, 0.0, 12.9], rtol=tol, atol=tol)
    mean = losses.hinge(scores, LECTURE_LABELS)
    assert mean.dtype == dtype
    np.testing.assert_allclose(mean.item(), 15.8 / 3, rtol=tol)
    assert round(mean.item(), 2) == 5.27
    np.testing.assert_allclose(losses.hinge(scores, LECTURE_LABELS, reduction="sum").item(),
                               15.8, rtol=tol)


def test_lecture_hinge_gradient() -> None:
    scores = _t(LECTURE_SCORES, requires_grad=True)
    losses.hinge(scores, LECTURE_LABELS, reduction="sum").backward()
    # cat image: only car violates; frog image: cat and car violate; car image: none
    expected = [[-1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, -2.0]]
    np.testing.assert_array_equal(scores.grad.data, expected)


def test_doubling_a_zero_loss_w_keeps_zero_loss() -> None:
    """The lecture's argument for regularization: W with zero loss is not unique."""
    x = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0],
                  [2.0, 0.5, 0.0, 1.0]])  # last column: the bias feature
    y = [0, 1, 2, 0]
    w = np.array([[3.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]])
    assert losses.hinge(_t(x @ w.T), y).item() == 0.0
    assert losses.hinge(_t(x @ (2 * w).T), y).item() == 0.0
    assert losses.hinge(_t(x @ (10 * w).T), y).item() == 0.0
    # shrinking W instead brings scores inside the margin: the loss becomes positive
    assert losses.hinge(_t(x @ (0.25 * w).T), y).item() > 0.0
    # and the lecture's car image, already at zero loss, stays there when doubled
    car = np.array([LECTURE_SCORES[1]])
    assert losses.hinge(_t(2 * car), [CAR]).item() == 0.0


# ---------------------------------------------------------------------------- kink tables
LOG2, LOG3 = math.log(2.0), math.log(3.0)

# (loss name, kwargs, input, target, loss, gradient w.r.t. the input) for ONE sample,
# reduction "sum"; rows marked "kink" sit exactly at the margin / non-differentiable point.
KINK_TABLE = [
    ("hinge", {}, [0.0, -1.0, 0.5], 0, 1.5, [-1.0, 0.0, 1.0]),  # kink: j=1 at the margin
    ("hinge", {}, [2.0, 1.0, 0.0], 0, 0.0, [0.0, 0.0, 0.0]),  # kink: j=1 at the margin
    ("hinge", {}, [1.0, 1.0], 1, 1.0, [1.0, -1.0]),
    ("hinge", {}, [1.0, 3.0, 2.0], 0, 5.0, [-2.0, 1.0, 1.0]),
    ("hinge", {"margin": 0.0}, [1.0, 1.0], 0, 0.0, [0.0, 0.0]),  # kink: a tie, margin 0
    ("hinge", {"margin": 2.0}, [1.0, 0.0], 0, 1.0, [-1.0, 1.0]),
    ("hinge", {}, [5.0], 0, 0.0, [0.0]),  # one class: nothing to violate
    ("squared_hinge", {}, [0.0, -1.0, 0.5], 0, 2.25, [-3.0, 0.0, 3.0]),  # kink at j=1
    ("squared_hinge", {}, [2.0, 1.0, 0.0], 0, 0.0, [0.0, 0.0, 0.0]),  # kink
    ("squared_hinge", {}, [1.0, 3.0, 2.0], 0, 13.0, [-10.0, 6.0, 4.0]),
    ("binary_hinge", {}, 1.0, 1, 0.0, 0.0),  # kink: y s = 1
    ("binary_hinge", {}, -1.0, -1, 0.0, 0.0),  # kink
    ("binary_hinge", {}, 0.5, 1, 0.5, -1.0),
    ("binary_hinge", {}, 0.5, -1, 1.5, 1.0),
    ("binary_hinge", {}, 2.0, 1, 0.0, 0.0),
    ("binary_hinge", {}, 0.0, -1, 1.0, 1.0),
    ("log_likelihood", {}, [0.25, 0.75], 1, -math.log(0.75), [0.0, -1 / 0.75]),
    ("log_likelihood", {}, [1.0, 0.0], 0, 0.0, [-1.0, 0.0]),
    ("log_likelihood", {}, [0.0, 1.0], 0, 100.0, [0.0, 0.0]),  # clamped: -log 0 -> 100
    ("cross_entropy", {}, [0.5, 0.5], 0, 2 * LOG2, [-2.0, 2.0]),
    ("cross_entropy", {}, [1.0, 0.0], 0, 0.0, [-1.0, 1.0]),
    ("cross_entropy", {}, [0.0, 1.0], 0, 200.0, [0.0, 0.0]),  # both logs clamped
    # -log 0.25 - log(1 - 0.5) - log(1 - 0.25) = 2 log 2 + log 2 + log(4/3)
    ("cross_entropy", {}, [0.5, 0.25, 0.25], 1, 3 * LOG2 + math.log(4 / 3),
     [2.0, -4.0, 4 / 3]),
    ("softmax_log_likelihood", {}, [0.0, 0.0], 0, LOG2, [-0.5, 0.5]),
    ("softmax_log_likelihood", {}, [0.0, 0.0, 0.0, 0.0], 2, math.log(4.0),
     [0.25, 0.25, -0.75, 0.25]),
    ("softmax_log_likelihood", {}, [0.0, 1e4], 0, 1e4, [-1.0, 1.0]),
    ("softmax_log_likelihood", {}, [1e4, 0.0], 0, 0.0, [0.0, 0.0]),
    ("softmax_log_likelihood", {}, [7.0], 0, 0.0, [0.0]),
    ("softmax_cross_entropy", {}, [0.0, 0.0], 1, 2 * LOG2, [1.0, -1.0]),
    ("softmax_cross_entropy", {}, [0.0, 0.0, 0.0], 0, LOG3 + 2 * math.log(1.5),
     [-1.0, 0.5, 0.5]),
    ("softmax_cross_entropy", {}, [0.0, 1e4], 0, 2e4, [-2.0, 2.0]),
    ("softmax_cross_entropy", {}, [7.0], 0, 0.0, [0.0]),
    ("l1", {}, [1.0, 2.0, 0.0], [1.0, 1.0, 1.0], 2.0, [0.0, 1.0, -1.0]),  # kink: |0|
    ("l2", {}, [3.0, 1.0, 0.0], [1.0, 1.0, 2.0], 8.0, [4.0, 0.0, -4.0]),
    ("huber", {}, [0.5, 1.0, 3.0, -3.0, 0.0], [0.0] * 5, 0.125 + 0.5 + 2.5 + 2.5,
     [0.5, 1.0, 1.0, -1.0, 0.0]),  # |r| = delta is the kink
    ("huber", {"delta": 2.0}, [1.0, 4.0], [0.0, 0.0], 0.5 + 6.0, [1.0, 2.0]),
    ("sigmoid_binary_cross_entropy", {}, [0.0, 0.0, 0.0], [1.0, 0.0, 0.5], 3 * LOG2,
     [-0.5, 0.5, 0.0]),
    ("sigmoid_binary_cross_entropy", {}, [1e4, -1e4], [1.0, 1.0], 1e4, [0.0, -1.0]),
]


def _one_sample(name: str, x: Any, target: Any) -> tuple[np.ndarray, Any]:
    """Batch a table row: (1, C) scores and (1,) labels, or (1, D) outputs and targets."""
    if name == "binary_hinge":
        return np.array([x], dtype=np.float64), np.array([target])
    if isinstance(target, list):
        return np.array([x], dtype=np.float64), np.array([target], dtype=np.float64)
    return np.array([x], dtype=np.float64), np.array([target])


@pytest.mark.parametrize(
    ("name", "kwargs", "x", "target", "loss", "grad"),
    KINK_TABLE,
    ids=[f"{row[0]}-{k}" for k, row in enumerate(KINK_TABLE)],
)
def test_kink_table(name: str, kwargs: dict, x: Any, target: Any, loss: float,
                    grad: Any) -> None:
    xs, ts = _one_sample(name, x, target)
    xt = _t(xs, requires_grad=True)
    out = getattr(losses, name)(xt, ts, reduction="sum", **kwargs)
    np.testing.assert_allclose(out.item(), loss, rtol=1e-12, atol=1e-12)
    out.backward()
    np.testing.assert_allclose(xt.grad.data, np.array([grad]), rtol=1e-12, atol=1e-12)


def test_float32_log_clamp_keeps_gradients_finite() -> None:
    """In float32 log p is clamped at log(1.2e-38) = -87.34, where 1/p is still finite."""
    floor = ops_losses.log_floor(np.float32)
    assert floor == pytest.approx(math.log(np.finfo(np.float32).tiny))
    assert ops_losses.log_floor(np.float64) == -100.0
    p = gn.tensor(np.array([[0.0, 1.0], [2e-38, 1.0], [1e-40, 1.0]], dtype=np.float32),
                  requires_grad=True)
    with np.errstate(all="raise"):
        out = losses.log_likelihood(p, [0, 0, 0], reduction="none")
        out.sum().backward()
    np.testing.assert_allclose(out.data, [-floor, -math.log(2e-38), -floor], rtol=1e-6)
    assert np.all(np.isfinite(p.grad.data))
    np.testing.assert_allclose(p.grad.data[1, 0], -1 / 2e-38, rtol=1e-6)
    assert p.grad.data[0, 0] == 0 and p.grad.data[2, 0] == 0  # the clamp is flat


# ---------------------------------------------------------------------------- references
# Composites: the same losses built from primitives (no fused gradient).
def _reduce(per: gn.Tensor, reduction: str) -> gn.Tensor:
    return per.mean() if reduction == "mean" else per.sum() if reduction == "sum" else per


def _rows(x: gn.Tensor) -> gn.Tensor:
    return x.reshape(x.shape[0], -1).sum(axis=1) if x.ndim > 1 else x


def _onehot(y: np.ndarray, c: int) -> np.ndarray:
    return np.eye(c)[y]


def composite_hinge(s, y, reduction, margin=1.0, power=1):
    sy = s[np.arange(s.shape[0]), y].reshape(-1, 1)
    h = (s - sy + margin).relu() * (1 - _onehot(y, s.shape[1]))
    return _reduce((h**power).sum(axis=1), reduction)


def composite_squared_hinge(s, y, reduction, margin=1.0):
    return composite_hinge(s, y, reduction, margin, power=2)


def composite_binary_hinge(s, y, reduction):
    return _reduce((1 - s * y.astype(np.float64)).relu(), reduction)


def composite_log_likelihood(p, y, reduction):
    return _reduce(-p[np.arange(p.shape[0]), y].log(), reduction)


def composite_cross_entropy(p, y, reduction):
    z = _onehot(y, p.shape[1])
    return _reduce(-(p.log() * z + (1 - p).log() * (1 - z)).sum(axis=1), reduction)


def composite_softmax_log_likelihood(s, y, reduction):
    return _reduce(-(s.log_softmax(axis=1) * _onehot(y, s.shape[1])).sum(axis=1), reduction)


def composite_softmax_cross_entropy(s, y, reduction):
    z = _onehot(y, s.shape[1])
    p = s.softmax(axis=1)
    per = -(s.log_softmax(axis=1) * z).sum(axis=1) - ((1 - p).log() * (1 - z)).sum(axis=1)
    return _reduce(per, reduction)


def composite_l1(s, t, reduction):
    return _reduce(_rows((s - t).abs()), reduction)


def composite_l2(s, t, reduction):
    return _reduce(_rows((t - s) ** 2), reduction)


def composite_huber(s, t, reduction, delta=1.0):
    d = s - t
    a = d.abs()
    h = gn.where(a.data <= delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    return _reduce(_rows(h), reduction)


def composite_sigmoid_binary_cross_entropy(s, t, reduction):
    sig = s.sigmoid()
    return _reduce(_rows(-(t * sig.log() + (1 - t) * (1 - sig).log())), reduction)


# Naive references: plain Python loops over samples and classes (CS231n style), each
# returning the per-sample losses L (N,) and dL_i/dx_i stacked as G (the input's shape).
def naive_hinge(s, y, margin=1.0, power=1):
    n, c = s.shape
    loss, grad = np.zeros(n), np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            if j == y[i]:
                continue
            m = s[i, j] - s[i, y[i]] + margin
            if m > 0:
                loss[i] += m**power
                slope = 1.0 if power == 1 else 2.0 * m
                grad[i, j] += slope
                grad[i, y[i]] -= slope
    return loss, grad


def naive_squared_hinge(s, y, margin=1.0):
    return naive_hinge(s, y, margin, power=2)


def naive_binary_hinge(s, y):
    loss, grad = np.zeros(len(s)), np.zeros(len(s))
    for i in range(len(s)):
        if 1 - y[i] * s[i] > 0:
            loss[i] = 1 - y[i] * s[i]
            grad[i] = -y[i]
    return loss, grad


def naive_log_likelihood(p, y):
    n, c = p.shape
    loss, grad = np.zeros(n), np.zeros((n, c))
    for i in range(n):
        loss[i] = -math.log(p[i, y[i]])
        grad[i, y[i]] = -1 / p[i, y[i]]
    return loss, grad


def naive_cross_entropy(p, y):
    n, c = p.shape
    loss, grad = np.zeros(n), np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            if j == y[i]:
                loss[i] -= math.log(p[i, j])
                grad[i, j] = -1 / p[i, j]
            else:
                loss[i] -= math.log(1 - p[i, j])
                grad[i, j] = 1 / (1 - p[i, j])
    return loss, grad


def _naive_softmax(row):
    top = max(row)
    e = [math.exp(v - top) for v in row]
    total = sum(e)
    return [v / total for v in e]


def naive_softmax_log_likelihood(s, y):
    n, c = s.shape
    loss, grad = np.zeros(n), np.zeros((n, c))
    for i in range(n):
        p = _naive_softmax(s[i])
        loss[i] = -math.log(p[y[i]])
        for j in range(c):
            grad[i, j] = p[j] - (1.0 if j == y[i] else 0.0)
    return loss, grad


def naive_softmax_cross_entropy(s, y):
    """Chain rule through the softmax Jacobian dp_k/ds_j = p_k ([k = j] - p_j)."""
    n, c = s.shape
    loss, grad = np.zeros(n), np.zeros((n, c))
    for i in range(n):
        p = _naive_softmax(s[i])
        dl_dp = [0.0] * c
        for k in range(c):
            if k == y[i]:
                loss[i] -= math.log(p[k])
                dl_dp[k] = -1 / p[k]
            else:
                loss[i] -= math.log(1 - p[k])
                dl_dp[k] = 1 / (1 - p[k])
        for j in range(c):
            for k in range(c):
                grad[i, j] += dl_dp[k] * p[k] * ((1.0 if k == j else 0.0) - p[j])
    return loss, grad


def _naive_elementwise(f, df):
    def naive(s, t, **kw):
        n = s.shape[0]
        loss, grad = np.zeros(n), np.zeros(s.shape)
        for i in range(n):
            for j in range(s.shape[1]):
                loss[i] += f(s[i, j], t[i, j], **kw)
                grad[i, j] = df(s[i, j], t[i, j], **kw)
        return loss, grad

    return naive


def _huber_value(s, t, delta=1.0):
    r = abs(s - t)
    return 0.5 * r * r if r <= delta else delta * (r - 0.5 * delta)


def _huber_slope(s, t, delta=1.0):
    return min(max(s - t, -delta), delta)


def _logistic_value(s, t):
    sig = 1 / (1 + math.exp(-s))
    return -(t * math.log(sig) + (1 - t) * math.log(1 - sig))


naive_l1 = _naive_elementwise(lambda s, t: abs(s - t),
                              lambda s, t: float(s > t) - float(s < t))
naive_l2 = _naive_elementwise(lambda s, t: (t - s) ** 2, lambda s, t: -2 * (t - s))
naive_huber = _naive_elementwise(_huber_value, _huber_slope)
naive_sigmoid_binary_cross_entropy = _naive_elementwise(
    _logistic_value, lambda s, t: 1 / (1 + math.exp(-s)) - t)


# Inputs (float64, away from every kink), one maker per kind of loss.
def _away_hinge_scores(rng, n, c, margin, power=1):
    while True:
        s = rng.standard_normal((n, c)) * 2
        y = rng.integers(0, c, n)
        m = s - s[np.arange(n), y][:, None] + margin
        m[np.arange(n), y] = 1
        if np.all(np.abs(m) > 0.05):
            return s, y


def _binary_inputs(rng):
    while True:
        s = rng.standard_normal(6) * 2
        y = np.where(rng.random(6) < 0.5, -1, 1)
        if np.all(np.abs(1 - y * s) > 0.05):
            return s, y


def _pair(rng, shape=(4, 3), gap=None, delta=None):
    while True:
        s, t = rng.standard_normal(shape) * 2, rng.standard_normal(shape) * 2
        d = np.abs(s - t)
        if gap is not None and np.any(d < gap):
            continue
        if delta is not None and np.any(np.abs(d - delta) < 0.05):
            continue
        return s, t


@dataclass(frozen=True)
class LossCase:
    name: str
    composite: Callable[..., gn.Tensor]
    naive: Callable[..., tuple[np.ndarray, np.ndarray]]
    make: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    kwargs: dict[str, float] | None = None
    twice_differentiable: bool = True


CASES = [
    LossCase("hinge", composite_hinge, naive_hinge,
             lambda rng: _away_hinge_scores(rng, 5, 4, 1.0), twice_differentiable=False),
    LossCase("hinge", composite_hinge, naive_hinge,
             lambda rng: _away_hinge_scores(rng, 5, 4, 0.5), {"margin": 0.5},
             twice_differentiable=False),
    LossCase("squared_hinge", composite_squared_hinge, naive_squared_hinge,
             lambda rng: _away_hinge_scores(rng, 5, 4, 1.0)),
    LossCase("binary_hinge", composite_binary_hinge, naive_binary_hinge, _binary_inputs,
             twice_differentiable=False),
    LossCase("log_likelihood", composite_log_likelihood, naive_log_likelihood,
             lambda rng: (rng.uniform(0.05, 1.0, (5, 4)), rng.integers(0, 4, 5))),
    LossCase("cross_entropy", composite_cross_entropy, naive_cross_entropy,
             lambda rng: (rng.uniform(0.05, 0.95, (5, 4)), rng.integers(0, 4, 5))),
    LossCase("softmax_log_likelihood", composite_softmax_log_likelihood,
             naive_softmax_log_likelihood,
             lambda rng: (rng.standard_normal((5, 4)) * 2, rng.integers(0, 4, 5))),
    LossCase("softmax_cross_entropy", composite_softmax_cross_entropy,
             naive_softmax_cross_entropy,
             lambda rng: (rng.standard_normal((5, 4)) * 2, rng.integers(0, 4, 5))),
    LossCase("l1", composite_l1, naive_l1, lambda rng: _pair(rng, gap=0.05),
             twice_differentiable=False),
    LossCase("l2", composite_l2, naive_l2, _pair),
    LossCase("huber", composite_huber, naive_huber, lambda rng: _pair(rng, delta=1.0)),
    LossCase("huber", composite_huber, naive_huber, lambda rng: _pair(rng, delta=0.7),
             {"delta": 0.7}),
    LossCase("sigmoid_binary_cross_entropy", composite_sigmoid_binary_cross_entropy,
             naive_sigmoid_binary_cross_entropy,
             lambda rng: (rng.standard_normal((4, 3)) * 3, rng.uniform(0, 1, (4, 3)))),
]
CASE_IDS = [c.name + ("-" + "-".join(f"{k}{v}" for k, v in c.kwargs.items())
                      if c.kwargs else "") for c in CASES]
SECOND_ORDER = [c for c in CASES if c.twice_differentiable]
REGRESSION = {"l1", "l2", "huber", "sigmoid_binary_cross_entropy"}


def _fused(case: LossCase) -> Callable[..., gn.Tensor]:
    return getattr(losses, case.name)


def _cotangent(rng: np.random.Generator, n: int, reduction: str) -> np.ndarray:
    return rng.standard_normal(n) if reduction == "none" else np.array(1.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fused_matches_composite_and_naive_loop(
    case: LossCase, reduction: str, rng: np.random.Generator
) -> None:
    x, target = case.make(rng)
    kw = case.kwargs or {}
    n = x.shape[0]
    u = _cotangent(rng, n, reduction)

    xt = _t(x, requires_grad=True)
    fused = _fused(case)(xt, target, reduction=reduction, **kw)
    (g_fused,) = gn.gradients(fused, [xt], u)

    xc = _t(x, requires_grad=True)
    comp = case.composite(xc, target, reduction, **kw)
    (g_comp,) = gn.gradients(comp, [xc], u)

    per, per_grad = case.naive(x, target, **kw)
    weight = {"mean": np.full(n, 1 / n), "sum": np.ones(n), "none": u}[reduction]
    naive_value = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    naive_grad = per_grad * weight.reshape((n,) + (1,) * (x.ndim - 1))

    assert fused.shape == ((n,) if reduction == "none" else ())
    np.testing.assert_allclose(fused.data, comp.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fused.data, naive_value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g_fused.data, g_comp.data, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g_fused.data, naive_grad, rtol=1e-10, atol=1e-12)
    assert rel_error(g_fused.data, naive_grad) < 1e-9


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradcheck(case: LossCase, reduction: str, rng: np.random.Generator) -> None:
    x, target = case.make(rng)
    kw = case.kwargs or {}
    fn = _fused(case)
    if case.name in REGRESSION:  # both outputs and targets are differentiable
        report = gn.gradcheck(lambda a, b: fn(a, b, reduction=reduction, **kw), x, target)
    else:
        report = gn.gradcheck(lambda a: fn(a, target, reduction=reduction, **kw), x)
    assert report.ok, str(report)


@pytest.mark.parametrize("case", SECOND_ORDER, ids=lambda c: c.name)
def test_gradgradcheck(case: LossCase, rng: np.random.Generator) -> None:
    x, target = case.make(rng)
    kw = case.kwargs or {}
    fn = _fused(case)
    report = gn.gradgradcheck(lambda a: fn(a, target, **kw), x, atol=1e-6, rtol=1e-5)
    assert report.ok, str(report)
    if case.name in REGRESSION:
        report = gn.gradgradcheck(lambda a, b: fn(a, b, reduction="none", **kw), x, target,
                                  atol=1e-6, rtol=1e-5)
        assert report.ok, str(report)


@pytest.mark.parametrize("case", SECOND_ORDER, ids=lambda c: c.name)
def test_hessian_matches_the_composite(case: LossCase, rng: np.random.Generator) -> None:
    x, target = case.make(rng)
    kw = case.kwargs or {}
    h_fused = gn.hessian(lambda a: _fused(case)(a, target, **kw), x)
    h_comp = gn.hessian(lambda a: case.composite(a, target, "mean", **kw), x)
    np.testing.assert_allclose(h_fused, h_comp, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_create_graph_path_equals_the_training_path(
    case: LossCase, reduction: str, rng: np.random.Generator
) -> None:
    """The backward without create_graph (saved arrays) and with it (Tensor ops) agree."""
    x, target = case.make(rng)
    kw = case.kwargs or {}
    u = _cotangent(rng, x.shape[0], reduction)
    grads = []
    for create_graph in (False, True):
        xt = _t(x, requires_grad=True)
        out = _fused(case)(xt, target, reduction=reduction, **kw)
        (g,) = gn.gradients(out, [xt], u, create_graph=create_graph)
        grads.append(g.data)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_backward_twice_accumulates_exactly(case: LossCase, rng: np.random.Generator) -> None:
    """No saved array is modified in place: a second backward adds the same gradient."""
    x, target = case.make(rng)
    xt = _t(x, requires_grad=True)
    out = _fused(case)(xt, target, **(case.kwargs or {}))
    out.backward(retain_graph=True)
    first = xt.grad.data.copy()
    out.backward()
    np.testing.assert_array_equal(xt.grad.data, 2 * first)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float32_in_float32_out(case: LossCase, rng: np.random.Generator) -> None:
    x, target = case.make(rng)
    xt = _t(x, requires_grad=True, dtype=np.float32)
    out = _fused(case)(xt, target, **(case.kwargs or {}))
    assert out.dtype == np.float32
    out.backward()
    assert xt.grad.dtype == np.float32
    ref = _fused(case)(_t(x), target, **(case.kwargs or {}))
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-5)


def test_slide_shortcut_p_minus_z_is_not_the_softmax_cross_entropy_gradient(
    rng: np.random.Generator,
) -> None:
    """Negative control: the gradient p - z (right for softmax_log_likelihood) fails the
    finite-difference check on the lecture's softmax + cross-entropy."""

    class _ShortcutGradient(ops_losses.SoftmaxCrossEntropy):
        def backward(self, dout):
            s = self.inputs[0]
            z = np.eye(s.shape[1])[self.y]
            return (s.softmax(axis=1) - z) * (dout / s.shape[0]), None

    s, y = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    wrong = gn.gradcheck(lambda a: _ShortcutGradient.apply(a, y, reduction="mean"), s)
    right = gn.gradcheck(lambda a: ops_losses.SoftmaxCrossEntropy.apply(
        a, y, reduction="mean"), s)
    assert not wrong.ok
    assert right.ok


# ---------------------------------------------------------------------------- extremes
# Rows: (big, -big, 0) y=1; (-big, big, big) y=0 (a tie at the top); (big, big, big) y=2;
# (0, 0, big) y=2 (a confident right answer).
def _extreme_scores(big: float, dtype: Any) -> np.ndarray:
    return np.array([[big, -big, 0.0], [-big, big, big], [big, big, big], [0.0, 0.0, big]],
                    dtype=dtype)


EXTREME_LABELS = np.array([1, 0, 2, 2])


def _expected_softmax_ll(big: float) -> tuple[list[float], list[list[float]]]:
    values = [2 * big, 2 * big + LOG2, LOG3, 0.0]
    grads = [[1, -1, 0], [-1, 0.5, 0.5], [1 / 3, 1 / 3, -2 / 3], [0, 0, 0]]
    return values, grads


def _expected_softmax_ce(big: float) -> tuple[list[float], list[list[float]]]:
    values = [3 * big, 2 * big + 3 * LOG2, LOG3 + 2 * math.log(1.5), 0.0]
    grads = [[2, -1, -1], [-1, 0.5, 0.5], [0.5, 0.5, -1], [0, 0, 0]]
    return values, grads


@pytest.mark.parametrize("big", [1e4, 1e30])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("name", "expected"),
    [("softmax_log_likelihood", _expected_softmax_ll),
     ("softmax_cross_entropy", _expected_softmax_ce)],
)
def test_extreme_scores_softmax_losses(
    name: str, expected: Callable, dtype: Any, big: float
) -> None:
    values, grads = expected(big)
    fn = getattr(losses, name)
    tol = {"rtol": 1e-6, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12,
                                                                      "atol": 1e-12}
    with np.errstate(all="raise"):
        for reduction in REDUCTIONS:
            x = gn.tensor(_extreme_scores(big, dtype), requires_grad=True)
            out = fn(x, EXTREME_LABELS, reduction=reduction)
            out.backward(np.ones(out.shape, dtype=dtype))
            assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad.data))
            assert out.dtype == dtype and x.grad.dtype == dtype
            scale = 1 / 4 if reduction == "mean" else 1.0
            np.testing.assert_allclose(x.grad.data, np.array(grads) * scale, **tol)
            if reduction == "none":
                np.testing.assert_allclose(out.data, values, **tol)
        # the create_graph path (Tensor operations) is just as finite
        x = gn.tensor(_extreme_scores(big, dtype), requires_grad=True)
        (g,) = gn.gradients(fn(x, EXTREME_LABELS, reduction="sum"), [x], create_graph=True)
        np.testing.assert_allclose(g.data, grads, **tol)


@pytest.mark.parametrize("big", [1e4, 1e30])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_scores_sigmoid_binary_cross_entropy(dtype: Any, big: float) -> None:
    s = np.array([big, -big, big, -big, 0.0], dtype=dtype)
    t = np.array([1.0, 1.0, 0.0, 0.5, 1.0], dtype=dtype)
    with np.errstate(all="raise"):
        x = gn.tensor(s, requires_grad=True)
        out = losses.sigmoid_binary_cross_entropy(x, t, reduction="none")
        out.sum().backward()
        (g,) = gn.gradients(losses.sigmoid_binary_cross_entropy(
            x, t, reduction="sum"), [x], create_graph=True)
    np.testing.assert_allclose(out.data, [0, big, big, big / 2, LOG2], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [0, -1, 1, -0.5, -0.5], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g.data, x.grad.data, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["hinge", "squared_hinge", "binary_hinge"])
def test_extreme_scores_hinge_losses_are_finite(name: str, dtype: Any) -> None:
    if name == "binary_hinge":
        s, y = np.array([1e4, -1e4, 0.0], dtype=dtype), np.array([-1, 1, 1])
    else:
        s, y = _extreme_scores(1e4, dtype), EXTREME_LABELS
    with np.errstate(all="raise"):
        x = gn.tensor(s, requires_grad=True)
        out = getattr(losses, name)(x, y)
        out.backward()
    assert np.isfinite(out.item()) and np.all(np.isfinite(x.grad.data))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_where_a_probability_rounds_to_one(dtype: Any) -> None:
    """s = (50, 0, 0): p_0 = 1 in floating point; the exact loss for y = 1 is
    3 lse - log 2 - log(e^50 + 1) = 100 - log 2 (to 1e-21)."""
    s = gn.tensor(np.array([[50.0, 0.0, 0.0]], dtype=dtype), requires_grad=True)
    with np.errstate(all="raise"):
        out = losses.softmax_cross_entropy(s, [1])
        out.backward()
    np.testing.assert_allclose(out.item(), 100 - LOG2, rtol=1e-6)
    # gradient C p_j - [j = y] - sum_{k not in {y, j}} p_j / (1 - p_k), with e = e^-50:
    # p = (1, e, e) / (1 + 2e), 1 - p_0 = 2e / (1 + 2e), so p_1 / (1 - p_0) = 1/2 exactly:
    # j=0: 3 - p_0/(1 - p_2) = 2; j=1: -1 - 1/2 - 0 = -1.5; j=2: -p_2/(1 - p_0) = -0.5
    np.testing.assert_allclose(s.grad.data, [[2.0, -1.5, -0.5]], atol=1e-6)
    # the naive composite log(1 - p) is not finite here: the test above is meaningful
    with np.errstate(all="ignore"):
        naive = composite_softmax_cross_entropy(gn.tensor(s.data), np.array([1]), "mean")
    assert not np.isfinite(naive.item())


# ---------------------------------------------------------------------------- inputs
LABEL_FORMS = [
    ("list", lambda y: list(map(int, y))),
    ("int64 ndarray", lambda y: np.asarray(y, dtype=np.int64)),
    ("int32 ndarray", lambda y: np.asarray(y, dtype=np.int32)),
    ("uint8 ndarray", lambda y: np.asarray(y, dtype=np.uint8)),
    ("integer Tensor", lambda y: gn.tensor(np.asarray(y, dtype=np.int64))),
]
CLASS_LOSSES = ["hinge", "squared_hinge", "log_likelihood", "cross_entropy",
                "softmax_log_likelihood", "softmax_cross_entropy"]


@pytest.mark.parametrize("form", LABEL_FORMS, ids=[f[0] for f in LABEL_FORMS])
@pytest.mark.parametrize("name", CLASS_LOSSES)
def test_labels_as_list_ndarray_or_tensor(name: str, form: Any,
                                          rng: np.random.Generator) -> None:
    p = rng.uniform(0.1, 0.9, (4, 3))
    y = np.array([0, 2, 1, 2])
    fn = getattr(losses, name)
    ref = fn(p, y, reduction="none").data
    np.testing.assert_array_equal(fn(p, form[1](y), reduction="none").data, ref)


@pytest.mark.parametrize("name", CLASS_LOSSES)
def test_one_sample_of_shape_c(name: str, rng: np.random.Generator) -> None:
    p = rng.uniform(0.1, 0.9, 4)
    fn = getattr(losses, name)
    single = fn(_t(p), 3, reduction="none")
    assert single.shape == ()
    np.testing.assert_array_equal(single.data, fn(_t(p[None]), [3], reduction="none").data[0])
    x = _t(p, requires_grad=True)
    fn(x, np.int64(3)).backward()
    xb = _t(p[None], requires_grad=True)
    fn(xb, [3]).backward()
    np.testing.assert_array_equal(x.grad.data, xb.grad.data[0])


def test_binary_hinge_accepts_column_scores_and_float_labels() -> None:
    col = losses.binary_hinge(_t([[0.5], [2.0]]), np.array([[1.0], [-1.0]]), reduction="none")
    flat = losses.binary_hinge(_t([0.5, 2.0]), [1, -1], reduction="none")
    assert col.shape == (2,)
    np.testing.assert_array_equal(col.data, flat.data)
    np.testing.assert_array_equal(flat.data, [0.5, 3.0])


@pytest.mark.parametrize("name", ["l1", "l2", "huber", "sigmoid_binary_cross_entropy"])
def test_elementwise_losses_sum_over_components(name: str, rng: np.random.Generator) -> None:
    """(N, D) outputs: per-sample sums over D; (N, H, W) images: sums over H*W; 0-d: one
    sample; int or bool targets are converted to the outputs' dtype."""
    fn = getattr(losses, name)
    s = rng.standard_normal((3, 2, 2))
    t = (rng.random((3, 2, 2)) < 0.5).astype(np.int64)
    per = fn(s, t, reduction="none")
    flat = fn(s.reshape(3, 4), t.reshape(3, 4).astype(np.float64), reduction="none")
    assert per.shape == (3,)
    np.testing.assert_allclose(per.data, flat.data, rtol=1e-15)
    np.testing.assert_allclose(fn(s, t.astype(bool)).data, per.data.mean(), rtol=1e-15)
    scalar = fn(_t(0.5), _t(1.0), reduction="none")
    assert scalar.shape == ()
    np.testing.assert_allclose(scalar.data, fn(np.array([0.5]), np.array([1.0])).data,
                               rtol=1e-15)


def test_regression_targets_receive_gradients(rng: np.random.Generator) -> None:
    s, t = _pair(rng, gap=0.05)
    for name in ["l1", "l2", "huber", "sigmoid_binary_cross_entropy"]:
        tt = _t(np.clip(t, 0, 1) if name.startswith("sigmoid") else t, requires_grad=True)
        st = _t(s, requires_grad=True)
        getattr(losses, name)(st, tt).backward()
        assert tt.grad is not None and tt.grad.shape == t.shape
        if name != "sigmoid_binary_cross_entropy":
            np.testing.assert_allclose(tt.grad.data, -st.grad.data, rtol=1e-15)
        else:
            np.testing.assert_allclose(tt.grad.data, -s / s.shape[0], rtol=1e-15)


def test_empty_batch_sums_to_zero() -> None:
    out = losses.softmax_log_likelihood(np.zeros((0, 3)), [], reduction="sum")
    assert out.item() == 0.0
    assert losses.hinge(np.zeros((0, 3)), [], reduction="none").shape == (0,)


BAD_INPUTS = [
    (lambda: losses.hinge([[1.0, 2.0]], [2]), ValueError,
     r"label 2 at index 0 is out of range for 2 classes \(expected 0 to 1\)"),
    (lambda: losses.hinge([[1.0, 2.0], [0.0, 0.0]], [0, -1]), ValueError,
     r"label -1 at index 1 is out of range"),
    (lambda: losses.softmax_log_likelihood([[1.0, 2.0]], [0.0]), ValueError,
     r"labels must be integer class indices, got dtype float64"),
    (lambda: losses.softmax_log_likelihood([[1.0, 2.0]], [True]), ValueError,
     r"integer class indices, got dtype bool"),
    (lambda: losses.softmax_cross_entropy([[1.0, 2.0]], ["cat"]), ValueError,
     r"integer class indices, got dtype <U3"),
    (lambda: losses.hinge([[1.0, 2.0]], [0, 1]), ValueError,
     r"labels of shape \(2,\) do not match the scores: expected shape \(1,\) for 1 sample"),
    (lambda: losses.hinge([[1.0, 2.0]], [[0]]), ValueError, r"labels of shape \(1, 1\)"),
    (lambda: losses.hinge(np.zeros((2, 3, 4)), [0, 1]), ValueError,
     r"scores must have shape \(N, C\).*got \(2, 3, 4\)"),
    (lambda: losses.hinge(np.zeros((2, 0)), [0, 1]), ValueError, r"no classes"),
    (lambda: losses.hinge([[1.0, 2.0]], [0], "sum"), TypeError,
     r"margin must be a number, got 'sum' \(did you mean reduction='sum'\?\)"),
    (lambda: losses.hinge([[1.0, 2.0]], [0], margin=float("nan")), ValueError,
     r"margin must be a finite number, got nan"),
    (lambda: losses.l1([1.0], [1.0], reduction="avg"), ValueError,
     r"reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: losses.l2([1.0], [1.0], reduction=None), ValueError, r"got None"),
    (lambda: losses.log_likelihood([[1.2, 0.0]], [0]), ValueError,
     r"probabilities must lie in \[0, 1\], got 1.2 at index \(0, 0\)"),
    (lambda: losses.cross_entropy([[0.5, -0.1]], [0]), ValueError,
     r"got -0.1 at index \(0, 1\)"),
    (lambda: losses.cross_entropy([[0.5, float("nan")]], [0]), ValueError,
     r"got nan at index \(0, 1\)"),
    (lambda: losses.binary_hinge([1.0, 2.0], [0, 1]), ValueError,
     r"labels must be -1 or \+1, got 0 at index 0 \(for 0/1 labels pass 2 \* y - 1\)"),
    (lambda: losses.binary_hinge([1.0, 2.0], [1]), ValueError, r"labels of shape \(1,\)"),
    (lambda: losses.binary_hinge(np.zeros((2, 2)), [1, 1]), ValueError,
     r"scores must have shape \(N,\) or \(N, 1\), got \(2, 2\)"),
    (lambda: losses.l2([[1.0, 2.0]], [1.0, 2.0]), ValueError,
     r"targets of shape \(2,\) do not match outputs of shape \(1, 2\)"),
    (lambda: losses.l1([1.0], ["a"]), TypeError, r"targets must be numeric"),
    (lambda: losses.l1(["a"], [1.0]), TypeError, r"outputs must be numeric"),
    (lambda: losses.huber([1.0], [1.0], delta=0), ValueError,
     r"delta must be a finite number > 0, got 0"),
    (lambda: losses.sigmoid_binary_cross_entropy([1.0, 2.0], [0.5, 2.0]), ValueError,
     r"targets must lie in \[0, 1\], got 2.0 at index 1"),
    (lambda: losses.softmax_log_likelihood(np.zeros((0, 3)), []), ValueError,
     r"mean over an empty batch \(N = 0\) is undefined"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUTS,
                         ids=[f"bad-{k}" for k in range(len(BAD_INPUTS))])
def test_bad_input_raises_a_clear_error(call: Callable, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_errors_name_the_loss() -> None:
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: label 9"):
        losses.softmax_cross_entropy([[0.0, 1.0]], [9])


# ---------------------------------------------------------------------------- modules
MODULES = [
    (losses.HingeLoss, losses.hinge, {"margin": 0.5}),
    (losses.SquaredHingeLoss, losses.squared_hinge, {"margin": 2.0}),
    (losses.LogLikelihoodLoss, losses.log_likelihood, {}),
    (losses.CrossEntropyLoss, losses.cross_entropy, {}),
    (losses.SoftmaxLogLikelihoodLoss, losses.softmax_log_likelihood, {}),
    (losses.SoftmaxCrossEntropyLoss, losses.softmax_cross_entropy, {}),
]
ELEMENTWISE_MODULES = [
    (losses.L1Loss, losses.l1, {}),
    (losses.L2Loss, losses.l2, {}),
    (losses.HuberLoss, losses.huber, {"delta": 0.5}),
    (losses.SigmoidBinaryCrossEntropyLoss, losses.sigmoid_binary_cross_entropy, {}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("cls", "fn", "kw"), MODULES + ELEMENTWISE_MODULES,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_module_calls_its_function(cls: type, fn: Callable, kw: dict, reduction: str,
                                   rng: np.random.Generator) -> None:
    p = rng.uniform(0.05, 0.95, (4, 3))
    target = rng.integers(0, 3, 4) if (cls, fn, kw) in MODULES else rng.uniform(0, 1, (4, 3))
    module = cls(reduction=reduction, **kw)
    assert isinstance(module, Module)
    assert list(module.parameters()) == []
    np.testing.assert_array_equal(module(p, target).data,
                                  fn(p, target, reduction=reduction, **kw).data)
    config = module.get_config()
    assert config == {"class": cls.__name__, "kwargs": {**kw, "reduction": reduction}}
    rebuilt = gn.nn.from_config(config)
    assert type(rebuilt) is cls and repr(rebuilt) == repr(module)
    for key, value in {**kw, "reduction": reduction}.items():
        assert f"{key}={value!r}" in repr(module)


def test_binary_hinge_module() -> None:
    module = losses.BinaryHingeLoss(reduction="none")
    np.testing.assert_array_equal(module([0.5, -2.0], [1, -1]).data, [0.5, 0.0])
    assert repr(module) == "BinaryHingeLoss(reduction='none')"


@pytest.mark.parametrize(
    ("make", "message"),
    [(lambda: losses.HingeLoss(reduction="avg"), r"HingeLoss: reduction must be"),
     (lambda: losses.HuberLoss(delta=-1.0), r"HuberLoss: delta must be a finite number > 0"),
     (lambda: losses.SquaredHingeLoss(margin="x"), r"SquaredHingeLoss: margin must be a"),
     (lambda: losses.L2Loss("max"), r"L2Loss: reduction must be")],
)
def test_module_options_are_validated_at_construction(make: Callable, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_module_trains_a_linear_classifier_one_step(rng: np.random.Generator) -> None:
    """The module is usable in a training step: the loss drops after a gradient step."""
    x = rng.standard_normal((20, 2))
    y = (x[:, 0] > 0).astype(np.int64)
    w = gn.nn.Parameter(np.zeros((2, 2)))
    criterion = losses.SoftmaxLogLikelihoodLoss()
    before = criterion(_t(x) @ w.T, y)
    before.backward()
    w.data -= 1.0 * w.grad.data
    after = criterion(_t(x) @ w.T, y)
    assert before.item() == pytest.approx(math.log(2))
    assert after.item() < before.item()


# ---------------------------------------------------------------------------- docstrings
@pytest.mark.parametrize("module", [losses, ops_losses], ids=lambda m: m.__name__)
def test_doctests(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10
    assert result.failed == 0


PUBLIC_LOSSES = ["hinge", "squared_hinge", "binary_hinge", "log_likelihood", "cross_entropy",
                 "softmax_log_likelihood", "softmax_cross_entropy", "l1", "l2", "huber",
                 "sigmoid_binary_cross_entropy"]


@pytest.mark.parametrize("name", PUBLIC_LOSSES)
def test_docstring_has_the_style_sections(name: str) -> None:
    doc = getattr(losses, name).__doc__
    for section in ["Forward\n", "Gradient\n", "Conventions\n", "Equivalent\n", ">>> "]:
        assert section in doc, f"{name}: no {section.strip()} section"
