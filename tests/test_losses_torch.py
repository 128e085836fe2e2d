"""PyTorch (float64) and scikit-learn as oracles for glassnet.losses.

Every loss against torch's own loss function, with the conversion factor that
docs/losses.md states, for every reduction: values, gradients with respect to the
prediction and (for regression losses) the targets, the kink conventions, the Module
forms, and extreme scores. Then scikit-learn's metrics where one computes the same
thing, and where it deliberately does not (multiclass hinge_loss is Crammer-Singer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn import metrics

import glassnet as gn
import glassnet.losses as losses

REDUCTIONS = ["mean", "sum", "none"]
ORACLE = {"rtol": 1e-10, "atol": 1e-12}
N, C, D = 5, 4, 3


def _torch_reduce(per: torch.Tensor, reduction: str) -> torch.Tensor:
    return per.mean() if reduction == "mean" else per.sum() if reduction == "sum" else per


def _compare(
    gn_fn: Callable[..., gn.Tensor],
    torch_fn: Callable[..., torch.Tensor],
    x: np.ndarray,
    target: np.ndarray,
    u: np.ndarray,
    target_grad: bool = False,
    tol: dict[str, float] = ORACLE,
) -> None:
    """Values and vector-Jacobian products (cotangent u) of glassnet and torch agree."""
    xg = gn.tensor(x, requires_grad=True)
    tg = gn.tensor(target, requires_grad=target_grad) if target_grad else target
    out = gn_fn(xg, tg)
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(target, requires_grad=target_grad)
    ref = torch_fn(xt, tt)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **tol)
    inputs = [xg, tg] if target_grad else [xg]
    grads = gn.gradients(out, inputs, u)
    tgrads = torch.autograd.grad(ref, [xt, tt] if target_grad else [xt],
                                 torch.tensor(u, dtype=ref.dtype))
    for g, tgr in zip(grads, tgrads):
        np.testing.assert_allclose(g.data, tgr.numpy(), **tol)


def _u(rng: np.random.Generator, reduction: str, n: int = N) -> np.ndarray:
    return rng.standard_normal(n) if reduction == "none" else np.array(rng.standard_normal())


def _hinge_scores(rng: np.random.Generator, y: np.ndarray, margin: float) -> np.ndarray:
    while True:  # keep every hinge term away from its kink
        s = rng.standard_normal((N, C)) * 2
        m = s - s[np.arange(N), y][:, None] + margin
        m[np.arange(N), y] = 1
        if np.all(np.abs(m) > 0.05):
            return s


# ---------------------------------------------------------------------------- classification
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.5])
@pytest.mark.parametrize("p", [1, 2])
def test_hinge_is_c_times_multi_margin_loss(
    p: int, margin: float, reduction: str, rng: np.random.Generator
) -> None:
    y = rng.integers(0, C, N)
    s = _hinge_scores(rng, y, margin)
    fn = losses.hinge if p == 1 else losses.squared_hinge
    _compare(
        lambda a, t: fn(a, t, margin=margin, reduction=reduction),
        lambda a, t: C * F.multi_margin_loss(a, t, p=p, margin=margin, reduction=reduction),
        s, y, _u(rng, reduction),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_module_is_c_times_multi_margin_loss_module(
    reduction: str, rng: np.random.Generator
) -> None:
    y = rng.integers(0, C, N)
    s = _hinge_scores(rng, y, 1.0)
    ours = losses.HingeLoss(reduction=reduction)(s, y)
    theirs = C * torch.nn.MultiMarginLoss(reduction=reduction)(torch.tensor(s), torch.tensor(y))
    np.testing.assert_allclose(ours.data, theirs.numpy(), **ORACLE)


def test_hinge_kink_convention_matches_torch() -> None:
    """At exactly the margin a term contributes 0 and gradient 0, in both libraries."""
    s = np.array([[0.0, -1.0, 0.5], [2.0, 1.0, 0.0]])  # class 1 sits at the margin
    y = np.array([0, 0])
    _compare(lambda a, t: losses.hinge(a, t, reduction="sum"),
             lambda a, t: 3 * F.multi_margin_loss(a, t, reduction="sum"), s, y, np.array(1.0))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_hinge_matches_relu_of_the_margin(reduction: str,
                                                 rng: np.random.Generator) -> None:
    """PyTorch has no binary hinge loss; relu(1 - y s) is its per-sample form (relu, not
    clamp: torch.clamp passes the gradient at the kink, relu and glassnet do not)."""
    y = np.where(rng.random(N) < 0.5, -1, 1)
    s = np.array([1.0, -1.0, 0.3, 2.5, -0.7]) * y  # the first two sit at the kink
    _compare(lambda a, t: losses.binary_hinge(a, t, reduction=reduction),
             lambda a, t: _torch_reduce(F.relu(1 - t * a), reduction),
             s, y, _u(rng, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_log_likelihood_is_nll_loss_of_log(reduction: str, rng: np.random.Generator) -> None:
    p = rng.uniform(0.05, 1.0, (N, C))
    y = rng.integers(0, C, N)
    _compare(lambda a, t: losses.log_likelihood(a, t, reduction=reduction),
             lambda a, t: F.nll_loss(torch.log(a), t, reduction=reduction),
             p, y, _u(rng, reduction))
    module = torch.nn.NLLLoss(reduction=reduction)(torch.log(torch.tensor(p)), torch.tensor(y))
    np.testing.assert_allclose(losses.LogLikelihoodLoss(reduction=reduction)(p, y).data,
                               module.numpy(), **ORACLE)


def test_log_likelihood_clamp_matches_torch_clamped_log() -> None:
    p = np.array([[0.0, 1.0], [1e-50, 1.0], [0.5, 0.5], [1.0, 0.0]])
    y = np.array([0, 0, 1, 0])
    ours = losses.log_likelihood(p, y, reduction="none")
    ref = F.nll_loss(torch.log(torch.tensor(p)).clamp(min=-100), torch.tensor(y),
                     reduction="none")
    np.testing.assert_allclose(ours.data, ref.numpy(), **ORACLE)
    np.testing.assert_allclose(ours.data, [100.0, 100.0, np.log(2), 0.0], **ORACLE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_is_c_times_bce_on_one_hot(reduction: str,
                                                 rng: np.random.Generator) -> None:
    p = rng.uniform(0.05, 0.95, (N, C))
    y = rng.integers(0, C, N)

    def torch_fn(a: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        z = F.one_hot(t, C).double()
        if reduction == "mean":
            return C * F.binary_cross_entropy(a, z)  # torch averages over N*C entries
        if reduction == "sum":
            return F.binary_cross_entropy(a, z, reduction="sum")
        return F.binary_cross_entropy(a, z, reduction="none").sum(1)

    _compare(lambda a, t: losses.cross_entropy(a, t, reduction=reduction), torch_fn,
             p, y, _u(rng, reduction))


def test_cross_entropy_at_zero_and_one_matches_bce_clamp() -> None:
    p = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    y = np.array([0, 0, 2])
    z = F.one_hot(torch.tensor(y), 3).double()
    ref = F.binary_cross_entropy(torch.tensor(p), z, reduction="none").sum(1)
    ours = losses.cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(ours.data, ref.numpy(), **ORACLE)
    np.testing.assert_allclose(ours.data, [200 + np.log(2), 0.0, 300.0], **ORACLE)
    module = 3 * torch.nn.BCELoss()(torch.tensor(p), z)
    np.testing.assert_allclose(losses.CrossEntropyLoss()(p, y).item(), module.item(), **ORACLE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_softmax_log_likelihood_is_torch_cross_entropy(
    reduction: str, rng: np.random.Generator
) -> None:
    s = rng.standard_normal((N, C)) * 3
    y = rng.integers(0, C, N)
    _compare(lambda a, t: losses.softmax_log_likelihood(a, t, reduction=reduction),
             lambda a, t: F.cross_entropy(a, t, reduction=reduction),
             s, y, _u(rng, reduction))
    module = torch.nn.CrossEntropyLoss(reduction=reduction)(torch.tensor(s), torch.tensor(y))
    np.testing.assert_allclose(
        losses.SoftmaxLogLikelihoodLoss(reduction=reduction)(s, y).data, module.numpy(),
        **ORACLE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_softmax_cross_entropy_matches_torch_composite(
    reduction: str, rng: np.random.Generator
) -> None:
    s = rng.standard_normal((N, C)) * 3
    y = rng.integers(0, C, N)

    def torch_fn(a: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        wrong = 1.0 - F.one_hot(t, C).double()
        per = F.cross_entropy(a, t, reduction="none") - (
            wrong * torch.log1p(-torch.softmax(a, 1))).sum(1)
        return _torch_reduce(per, reduction)

    _compare(lambda a, t: losses.softmax_cross_entropy(a, t, reduction=reduction), torch_fn,
             s, y, _u(rng, reduction))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("big", [1e4, 1e30])
def test_softmax_log_likelihood_extremes_match_torch(big: float, dtype: Any) -> None:
    s = np.array([[big, -big, 0.0], [-big, big, big], [0.0, 0.0, big]], dtype=dtype)
    y = np.array([1, 0, 2])
    xg = gn.tensor(s, requires_grad=True)
    out = losses.softmax_log_likelihood(xg, y)
    out.backward()
    xt = torch.tensor(s, requires_grad=True)
    ref = F.cross_entropy(xt, torch.tensor(y))
    ref.backward()
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-6)
    np.testing.assert_allclose(xg.grad.data, xt.grad.numpy(), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- elementwise
ELEMENTWISE = [
    ("l1", {}, F.l1_loss, {}),
    ("l2", {}, F.mse_loss, {}),
    ("huber", {"delta": 1.0}, F.huber_loss, {"delta": 1.0}),
    ("huber", {"delta": 0.4}, F.huber_loss, {"delta": 0.4}),
    ("sigmoid_binary_cross_entropy", {}, F.binary_cross_entropy_with_logits, {}),
]


def _elementwise_inputs(name: str, kw: dict, rng: np.random.Generator, shape: tuple):
    while True:
        s = rng.standard_normal(shape) * 2
        if name == "sigmoid_binary_cross_entropy":
            return s, rng.uniform(0, 1, shape)
        t = rng.standard_normal(shape) * 2
        d = np.abs(s - t)
        if np.all(d > 0.05) and np.all(np.abs(d - kw.get("delta", -1.0)) > 0.05):
            return s, t


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "kw", "torch_loss", "torch_kw"), ELEMENTWISE,
                         ids=[f"{e[0]}{e[1].get('delta', '')}" for e in ELEMENTWISE])
def test_elementwise_loss_is_d_times_torch(
    name: str, kw: dict, torch_loss: Callable, torch_kw: dict, reduction: str,
    rng: np.random.Generator,
) -> None:
    """(N, D) outputs: glassnet sums over D per sample; torch averages over N*D."""
    s, t = _elementwise_inputs(name, kw, rng, (N, D))

    def torch_fn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if reduction == "mean":
            return D * torch_loss(a, b, **torch_kw)
        if reduction == "sum":
            return torch_loss(a, b, reduction="sum", **torch_kw)
        return torch_loss(a, b, reduction="none", **torch_kw).sum(1)

    _compare(lambda a, b: getattr(losses, name)(a, b, reduction=reduction, **kw), torch_fn,
             s, t, _u(rng, reduction), target_grad=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "kw", "torch_loss", "torch_kw"), ELEMENTWISE,
                         ids=[f"{e[0]}{e[1].get('delta', '')}" for e in ELEMENTWISE])
def test_elementwise_loss_on_vectors_equals_torch_without_factor(
    name: str, kw: dict, torch_loss: Callable, torch_kw: dict, reduction: str,
    rng: np.random.Generator,
) -> None:
    """(N,) outputs: one component per sample, so no conversion factor at all."""
    s, t = _elementwise_inputs(name, kw, rng, (N,))
    _compare(lambda a, b: getattr(losses, name)(a, b, reduction=reduction, **kw),
             lambda a, b: torch_loss(a, b, reduction=reduction, **torch_kw),
             s, t, _u(rng, reduction), target_grad=True)


TORCH_MODULES = [
    (losses.L1Loss, {}, torch.nn.L1Loss, {}),
    (losses.L2Loss, {}, torch.nn.MSELoss, {}),
    (losses.HuberLoss, {"delta": 0.7}, torch.nn.HuberLoss, {"delta": 0.7}),
    (losses.SigmoidBinaryCrossEntropyLoss, {}, torch.nn.BCEWithLogitsLoss, {}),
]


@pytest.mark.parametrize(("cls", "kw", "torch_cls", "torch_kw"), TORCH_MODULES,
                         ids=[m[0].__name__ for m in TORCH_MODULES])
def test_elementwise_modules_are_d_times_torch_modules(
    cls: type, kw: dict, torch_cls: type, torch_kw: dict, rng: np.random.Generator
) -> None:
    s, t = rng.standard_normal((N, D)), rng.uniform(0, 1, (N, D))
    ours = cls(**kw)(s, t)
    theirs = D * torch_cls(**torch_kw)(torch.tensor(s), torch.tensor(t))
    np.testing.assert_allclose(ours.item(), theirs.item(), **ORACLE)


def test_huber_with_delta_one_is_smooth_l1(rng: np.random.Generator) -> None:
    s, t = rng.standard_normal((N, D)), rng.standard_normal((N, D))
    ref = D * F.smooth_l1_loss(torch.tensor(s), torch.tensor(t), beta=1.0)
    np.testing.assert_allclose(losses.huber(s, t).item(), ref.item(), **ORACLE)


def test_elementwise_kinks_match_torch() -> None:
    """|x|'(0) = 0 for l1; the Huber slope at |r| = delta is +-delta: as in PyTorch."""
    s = np.array([[1.0, 2.0, -1.0]])
    t = np.array([[1.0, 1.0, 0.0]])  # l1 kink at entry 0; huber (delta 1) kinks at 1, 2
    for name, torch_loss in [("l1", F.l1_loss), ("huber", F.huber_loss)]:
        _compare(lambda a, b, n=name: getattr(losses, n)(a, b, reduction="sum"),
                 lambda a, b, f=torch_loss: f(a, b, reduction="sum"),
                 s, t, np.array(1.0), target_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_bce_extremes_match_torch(dtype: Any) -> None:
    s = np.array([1e30, -1e30, 1e4, -1e4, 0.0], dtype=dtype)
    t = np.array([1.0, 1.0, 0.0, 0.5, 1.0], dtype=dtype)
    xg = gn.tensor(s, requires_grad=True)
    out = losses.sigmoid_binary_cross_entropy(xg, t, reduction="sum")
    out.backward()
    xt = torch.tensor(s, requires_grad=True)
    ref = F.binary_cross_entropy_with_logits(xt, torch.tensor(t), reduction="sum")
    ref.backward()
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-6)
    np.testing.assert_allclose(xg.grad.data, xt.grad.numpy(), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- scikit-learn
def test_binary_hinge_mean_is_sklearn_hinge_loss(rng: np.random.Generator) -> None:
    s = rng.standard_normal(20) * 2
    y = np.where(rng.random(20) < 0.5, -1, 1)
    np.testing.assert_allclose(losses.binary_hinge(s, y).item(), metrics.hinge_loss(y, s),
                               **ORACLE)


def test_sklearn_multiclass_hinge_is_crammer_singer_not_the_lecture_sum() -> None:
    """scikit-learn: mean_i max(0, 1 + max_{j != y} s_j - s_y); glassnet (the lecture):
    mean_i sum_{j != y} max(0, 1 + s_j - s_y). On the lecture's example the frog image
    costs 6.6 (its worst class) in scikit-learn and 12.9 (both classes) in glassnet."""
    s = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    sk = metrics.hinge_loss(y, s, labels=[0, 1, 2])
    np.testing.assert_allclose(sk, (2.9 + 0.0 + 6.6) / 3, rtol=1e-12)
    np.testing.assert_allclose(losses.hinge(s, y).item(), (2.9 + 0.0 + 12.9) / 3, rtol=1e-12)


def test_sklearn_hinge_agrees_when_at_most_one_class_violates() -> None:
    s = np.array([[3.0, 2.5, -4.0], [0.0, 4.0, 0.2], [-5.0, 1.0, 0.5], [2.0, -1.0, 0.0]])
    y = np.array([0, 1, 2, 0])  # each sample has at most one wrong class inside the margin
    np.testing.assert_allclose(losses.hinge(s, y).item(),
                               metrics.hinge_loss(y, s, labels=[0, 1, 2]), **ORACLE)


def test_log_likelihood_is_sklearn_log_loss(rng: np.random.Generator) -> None:
    p = rng.uniform(0.05, 1.0, (8, C))
    p /= p.sum(axis=1, keepdims=True)  # scikit-learn warns about unnormalized rows
    y = rng.integers(0, C, 8)
    np.testing.assert_allclose(losses.log_likelihood(p, y).item(),
                               metrics.log_loss(y, p, labels=list(range(C))), **ORACLE)
    s = rng.standard_normal((8, C)) * 2
    softmax = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(losses.softmax_log_likelihood(s, y).item(),
                               metrics.log_loss(y, softmax, labels=list(range(C))),
                               rtol=1e-10)


def test_sigmoid_bce_with_binary_targets_is_sklearn_log_loss(rng: np.random.Generator) -> None:
    s = rng.standard_normal(12) * 2
    t = (rng.random(12) < 0.5).astype(np.int64)
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(s, t).item(),
                               metrics.log_loss(t, 1 / (1 + np.exp(-s))), rtol=1e-10)


def test_regression_losses_are_d_times_sklearn_errors(rng: np.random.Generator) -> None:
    s, t = rng.standard_normal((N, D)), rng.standard_normal((N, D))
    np.testing.assert_allclose(losses.l2(s, t).item(), D * metrics.mean_squared_error(t, s),
                               **ORACLE)
    np.testing.assert_allclose(losses.l1(s, t).item(), D * metrics.mean_absolute_error(t, s),
                               **ORACLE)
