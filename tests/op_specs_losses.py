"""Registry specs for the fused loss primitives of ``glassnet.ops.losses``.

Merged into ``tests/op_specs.py``'s registry, so ``tests/test_ops.py`` runs on every case:
gradcheck, gradgradcheck, and PyTorch (float64) for the value, the vector-Jacobian
product and the second derivative. Inputs stay a few entries small and away from the
kinks (hinge margins, |s - t| = 0 for l1, |s - t| = delta for huber).

The PyTorch side is the loss written with torch operations where torch's own loss
function has no double backward (``multi_margin_loss``) or does not exist
(``softmax_cross_entropy``); ``tests/test_losses_torch.py`` checks every loss against
torch's own loss functions with the conversion factors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import glassnet.losses as losses
from glassnet.ops import losses as OL
from op_specs import BINARY_SHAPES, Case, OpSpec, cycle, distinct_pair

REDUCTIONS = ["mean", "sum", "none"]
# (N, C): single samples, single classes, and a few small batches.
CLASS_SHAPES = [(1, 1), (1, 3), (2, 1), (2, 2), (3, 4), (1, 2), (4, 3), (2, 4), (3, 2), (2, 3)]
GAP = 0.05  # the distance every case keeps from a kink


def _reduce_torch(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


def _per_sample_torch(elementwise: torch.Tensor) -> torch.Tensor:
    if elementwise.ndim <= 1:
        return elementwise
    return elementwise.reshape(elementwise.shape[0], -1).sum(1)


def _wrong_class_mask(y: torch.Tensor, c: int, dtype: torch.dtype) -> torch.Tensor:
    return 1.0 - F.one_hot(y.long(), c).to(dtype)


# ---------------------------------------------------------------------------- classification
def _hinge_scores(rng: np.random.Generator, n: int, c: int, y: np.ndarray, margin: float):
    """Scores whose hinge terms s_j - s_y + margin all stay GAP away from 0."""
    while True:
        s = rng.standard_normal((n, c)) * 1.5
        m = s - s[np.arange(n), y][:, None] + margin
        m[np.arange(n), y] = 1.0
        if np.all(np.abs(m) > GAP):
            return s


def _hinge_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for (n, c), red, margin in zip(
        cycle(CLASS_SHAPES), cycle(REDUCTIONS), cycle([1.0, 0.5, 2.0, 1.0])
    ):
        y = rng.integers(0, c, n)
        s = _hinge_scores(rng, n, c, y, margin)
        cases.append(Case((s, y), {"reduction": red, "margin": margin}))
    return cases


def _torch_hinge(power: int) -> Callable[..., torch.Tensor]:
    def f(s: torch.Tensor, y: torch.Tensor, reduction: str, margin: float) -> torch.Tensor:
        m = s - s.gather(1, y.long()[:, None]) + margin
        h = torch.relu(m) * _wrong_class_mask(y, s.shape[1], s.dtype)
        return _reduce_torch((h**power).sum(1), reduction)

    return f


BINARY_HINGE_SHAPES = [(3,), (1,), (), (4, 1), (2,), (1, 1), (5,), (3, 1), (), (2, 1)]


def _binary_hinge_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, red in zip(cycle(BINARY_HINGE_SHAPES), cycle(REDUCTIONS)):
        y = np.where(rng.random(shape[:1]) < 0.5, -1, 1)
        while True:
            s = rng.standard_normal(shape) * 2
            if np.all(np.abs(1 - y.reshape(np.shape(s)) * s) > GAP):
                break
        cases.append(Case((s, y), {"reduction": red}))
    return cases


def _torch_binary_hinge(s: torch.Tensor, y: torch.Tensor, reduction: str) -> torch.Tensor:
    flat = s.reshape(s.shape[:1])
    return _reduce_torch(torch.clamp(1 - y.reshape(flat.shape) * flat, min=0), reduction)


def _prob_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for (n, c), red in zip(cycle(CLASS_SHAPES), cycle(REDUCTIONS)):
        p = rng.uniform(0.05, 0.95, (n, c))
        cases.append(Case((p, rng.integers(0, c, n)), {"reduction": red}))
    return cases


def _score_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for (n, c), red in zip(cycle(CLASS_SHAPES), cycle(REDUCTIONS)):
        s = rng.standard_normal((n, c)) * 2
        cases.append(Case((s, rng.integers(0, c, n)), {"reduction": red}))
    return cases


def _torch_log_likelihood(p: torch.Tensor, y: torch.Tensor, reduction: str) -> torch.Tensor:
    return F.nll_loss(torch.log(p), y.long(), reduction=reduction)


def _torch_cross_entropy(p: torch.Tensor, y: torch.Tensor, reduction: str) -> torch.Tensor:
    z = F.one_hot(y.long(), p.shape[1]).to(p.dtype)
    return _reduce_torch(F.binary_cross_entropy(p, z, reduction="none").sum(1), reduction)


def _torch_softmax_ll(s: torch.Tensor, y: torch.Tensor, reduction: str) -> torch.Tensor:
    return F.cross_entropy(s, y.long(), reduction=reduction)


def _torch_softmax_ce(s: torch.Tensor, y: torch.Tensor, reduction: str) -> torch.Tensor:
    mask = _wrong_class_mask(y, s.shape[1], s.dtype)
    q = torch.where(mask > 0, torch.softmax(s, dim=1), 0.0)  # q_y = 1 when C = 1
    wrong = (mask * torch.log1p(-q)).sum(1)
    return _reduce_torch(F.cross_entropy(s, y.long(), reduction="none") - wrong, reduction)


# ---------------------------------------------------------------------------- regression
def _pair_cases(
    draw: Callable[[np.random.Generator, tuple, tuple, dict], tuple[np.ndarray, np.ndarray]],
    extra: list[dict[str, Any]] | None = None,
) -> Callable[[np.random.Generator], list[Case]]:
    """Broadcasting (outputs, targets) pairs; the samples run along the broadcast axis 0."""

    def make(rng: np.random.Generator) -> list[Case]:
        cases = []
        for (sa, sb), red, kw in zip(BINARY_SHAPES, cycle(REDUCTIONS), cycle(extra or [{}])):
            kwargs = {"reduction": red, **kw}
            cases.append(Case(draw(rng, sa, sb, kwargs), kwargs))
        return cases

    return make


def _normal_pair(rng, sa, sb, kwargs):
    return rng.standard_normal(sa), rng.standard_normal(sb)


def _l1_pair(rng, sa, sb, kwargs):
    return distinct_pair(rng, sa, sb, gap=GAP)


def _huber_pair(rng, sa, sb, kwargs):
    while True:
        s, t = rng.standard_normal(sa) * 2, rng.standard_normal(sb) * 2
        if np.all(np.abs(np.abs(s - t) - kwargs["delta"]) > GAP):
            return s, t


def _logistic_pair(rng, sa, sb, kwargs):
    return rng.standard_normal(sa) * 2, rng.uniform(0, 1, sb)


def _torch_regression(elementwise: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def f(s: torch.Tensor, t: torch.Tensor, reduction: str, **kw: Any) -> torch.Tensor:
        sb, tb = torch.broadcast_tensors(s, t)
        per = _per_sample_torch(elementwise(sb, tb, reduction="none", **kw))
        return _reduce_torch(per, reduction)

    return f


SPECS = [
    OpSpec(
        OL.MulticlassHinge,
        lambda s, y, reduction, margin: losses.hinge(s, y, margin, reduction),
        _torch_hinge(1),  # torch's multi_margin_loss has no double backward
        _hinge_cases,
        scalar_inputs=False,  # scores are (N, C)
    ),
    OpSpec(
        OL.SquaredHinge,
        lambda s, y, reduction, margin: losses.squared_hinge(s, y, margin, reduction),
        _torch_hinge(2),
        _hinge_cases,
        scalar_inputs=False,
    ),
    OpSpec(
        OL.BinaryHinge,
        lambda s, y, reduction: losses.binary_hinge(s, y, reduction),
        _torch_binary_hinge,
        _binary_hinge_cases,
    ),
    OpSpec(
        OL.LogLikelihood,
        lambda p, y, reduction: losses.log_likelihood(p, y, reduction),
        _torch_log_likelihood,
        _prob_cases,
        scalar_inputs=False,
    ),
    OpSpec(
        OL.CrossEntropy,
        lambda p, y, reduction: losses.cross_entropy(p, y, reduction),
        _torch_cross_entropy,
        _prob_cases,
        scalar_inputs=False,
    ),
    OpSpec(
        OL.SoftmaxLogLikelihood,
        lambda s, y, reduction: losses.softmax_log_likelihood(s, y, reduction),
        _torch_softmax_ll,
        _score_cases,
        scalar_inputs=False,
    ),
    OpSpec(
        OL.SoftmaxCrossEntropy,
        lambda s, y, reduction: losses.softmax_cross_entropy(s, y, reduction),
        _torch_softmax_ce,
        _score_cases,
        scalar_inputs=False,
    ),
    # The primitives broadcast outputs against targets (the public functions insist on
    # equal shapes), so they are called directly here, on broadcasting pairs.
    OpSpec(
        OL.L1,
        lambda s, t, reduction: OL.L1.apply(s, t, reduction=reduction),
        _torch_regression(F.l1_loss),
        _pair_cases(_l1_pair),
    ),
    OpSpec(
        OL.L2,
        lambda s, t, reduction: OL.L2.apply(s, t, reduction=reduction),
        _torch_regression(F.mse_loss),
        _pair_cases(_normal_pair),
    ),
    OpSpec(
        OL.Huber,
        lambda s, t, reduction, delta: OL.Huber.apply(s, t, reduction=reduction, delta=delta),
        _torch_regression(F.huber_loss),
        _pair_cases(_huber_pair, [{"delta": 1.0}, {"delta": 0.5}, {"delta": 2.0}]),
    ),
    OpSpec(
        OL.SigmoidBinaryCrossEntropy,
        lambda s, t, reduction: OL.SigmoidBinaryCrossEntropy.apply(s, t, reduction=reduction),
        _torch_regression(F.binary_cross_entropy_with_logits),
        _pair_cases(_logistic_pair),
    ),
]
