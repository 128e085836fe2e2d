"""Penalties against hand-written NumPy formulas and their gradients; MaxNorm projection."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.regularizers import L1, L2, ElasticNet, MaxNorm, Regularizer


def _params(rng: np.random.Generator) -> list[nn.Parameter]:
    """Two weights (2-D), a bias (1-D) and a 3-D kernel-like weight, in float64."""
    return [
        nn.Parameter(rng.standard_normal((3, 4))),
        nn.Parameter(rng.standard_normal(3)),
        nn.Parameter(rng.standard_normal((2, 3))),
        nn.Parameter(rng.standard_normal((2, 2, 2))),
    ]


# name: (make(include_bias), value of one array, gradient of one array)
PENALTIES: dict[str, tuple[Callable[[bool], Regularizer], Callable, Callable]] = {
    "L2": (lambda ib: L2(0.1, include_bias=ib),
           lambda W: 0.1 * (W**2).sum(), lambda W: 2 * 0.1 * W),
    "L1": (lambda ib: L1(0.3, include_bias=ib),
           lambda W: 0.3 * np.abs(W).sum(), lambda W: 0.3 * np.sign(W)),
    "ElasticNet": (lambda ib: ElasticNet(0.2, 0.5, include_bias=ib),
                   lambda W: 0.2 * (0.5 * W**2 + np.abs(W)).sum(),
                   lambda W: 0.2 * (2 * 0.5 * W + np.sign(W))),
    "ElasticNet_beta0": (lambda ib: ElasticNet(0.2, 0.0, include_bias=ib),
                         lambda W: 0.2 * np.abs(W).sum(), lambda W: 0.2 * np.sign(W)),
    "L2_zero": (lambda ib: L2(0.0, include_bias=ib), lambda W: 0.0, lambda W: 0.0 * W),
}


@pytest.mark.parametrize("name", list(PENALTIES))
@pytest.mark.parametrize("include_bias", [False, True])
def test_penalty_value_and_gradient(
    name: str, include_bias: bool, rng: np.random.Generator
) -> None:
    make, value, grad = PENALTIES[name]
    params = _params(rng)
    out = make(include_bias)(iter(params))  # any iterable, e.g. a generator
    assert out.shape == () and out.requires_grad
    used = [p for p in params if include_bias or p.ndim >= 2]
    np.testing.assert_allclose(out.item(), sum(value(p.data) for p in used), rtol=1e-13)
    out.backward()
    for p in params:
        if include_bias or p.ndim >= 2:
            np.testing.assert_allclose(p.grad.data, grad(p.data), rtol=1e-13, atol=1e-15)
        else:
            assert p.grad is None  # a skipped bias gets no gradient


@pytest.mark.parametrize("name", ["L1", "ElasticNet", "ElasticNet_beta0"])
def test_abs_subgradient_at_zero_is_zero(name: str) -> None:
    make, _, _ = PENALTIES[name]
    W = nn.Parameter(np.array([[0.0, 1.0], [-2.0, 0.0]]))
    make(False)([W]).backward()
    assert W.grad.data[0, 0] == 0.0 and W.grad.data[1, 1] == 0.0
    assert W.grad.data[0, 1] > 0 > W.grad.data[1, 0]


@pytest.mark.parametrize("name", list(PENALTIES))
def test_penalty_gradcheck(name: str, rng: np.random.Generator) -> None:
    make, _, _ = PENALTIES[name]
    W = rng.standard_normal((3, 2))
    W[np.abs(W) < 0.1] = 0.5  # away from the kink of |.|
    assert gn.gradcheck(lambda w: make(False)([w]), W).ok


def test_penalty_on_a_model_skips_biases_and_norm_scales() -> None:
    net = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.BatchNorm1d(4, dtype=np.float64),
                        nn.Linear(4, 2, dtype=np.float64))
    expected = 0.5 * sum((net[i].weight.data ** 2).sum() for i in (0, 2))
    np.testing.assert_allclose(L2(0.5)(net.parameters()).item(), expected, rtol=1e-13)
    np.testing.assert_allclose(L2(0.5)(net).item(), expected, rtol=1e-13)  # a Module works


def test_penalty_added_to_a_loss_matches_torch(rng: np.random.Generator) -> None:
    """L = data loss + lam * sum W^2 gives the same gradients as in PyTorch."""
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    lin = nn.Linear(3, 2, dtype=np.float64)
    tlin = torch.nn.Linear(3, 2, dtype=torch.float64)
    lin.load_state_dict({k: v.detach().numpy() for k, v in tlin.state_dict().items()})
    scores = lin(gn.tensor(x))
    loss = -scores.log_softmax(1)[np.arange(8), y].mean() + ElasticNet(0.1, 0.7)(lin)
    loss.backward()
    tw = tlin.weight
    tloss = torch.nn.functional.cross_entropy(tlin(torch.tensor(x)), torch.tensor(y)) + 0.1 * (
        0.7 * (tw**2).sum() + tw.abs().sum())
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-13)
    np.testing.assert_allclose(lin.weight.grad.data, tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.bias.grad.data, tlin.bias.grad.numpy(), rtol=1e-12)


def test_l2_gradient_equals_weight_decay_of_twice_lambda(rng: np.random.Generator) -> None:
    W = nn.Parameter(rng.standard_normal((2, 3)))
    L2(0.05)([W]).backward()
    np.testing.assert_allclose(W.grad.data, 0.1 * W.data, rtol=1e-15)


def test_penalty_of_nothing_is_zero() -> None:
    out = L2(1.0)([nn.Parameter(np.ones(3))])  # only a bias: skipped
    assert out.item() == 0.0 and out.shape == ()


@pytest.mark.parametrize(
    ("make", "error", "text"),
    [(lambda: L2(-0.1), ValueError, "lam must be a finite number >= 0, got -0.1"),
     (lambda: L1(float("nan")), ValueError, "got nan"),
     (lambda: L2("1"), TypeError, "lam must be a number, got '1'"),
     (lambda: ElasticNet(0.1, -1.0), ValueError, "beta must be a finite number >= 0, got -1.0"),
     (lambda: MaxNorm(0.0), ValueError, "c must be a finite number > 0, got 0.0"),
     (lambda: MaxNorm(-2), ValueError, "got -2"),
     (lambda: MaxNorm(None), TypeError, "c must be a number")],
)
def test_validation(make, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        make()


def test_bad_params_argument() -> None:
    with pytest.raises(TypeError, match="iterable of parameters"):
        L2(0.1)(3.0)
    with pytest.raises(TypeError, match="expected Tensors"):
        L2(0.1)([np.ones((2, 2))])


def test_reprs() -> None:
    assert repr(L2(0.1)) == "L2(lam=0.1)"
    assert repr(L1(0.5, include_bias=True)) == "L1(lam=0.5, include_bias=True)"
    assert repr(ElasticNet(0.1, 2.0)) == "ElasticNet(lam=0.1, beta=2.0)"
    assert repr(MaxNorm(3)) == "MaxNorm(c=3.0)"
    assert isinstance(L1(0.1), Regularizer)


# ---------------------------------------------------------------------------- MaxNorm
def test_maxnorm_projects_long_rows_only(rng: np.random.Generator) -> None:
    W0 = rng.standard_normal((6, 4)) * 2
    W0[0] = [0.1, 0.2, 0.0, 0.1]  # a short row stays as it is
    W = nn.Parameter(W0.copy())
    b = nn.Parameter(np.full(6, 10.0))
    data = W.data
    MaxNorm(1.5).apply([W, b])
    assert W.data is data  # in place
    norms0 = np.linalg.norm(W0, axis=1)
    expected = np.where(norms0[:, None] > 1.5, W0 * 1.5 / norms0[:, None], W0)
    np.testing.assert_allclose(W.data, expected, rtol=1e-14)
    assert np.all(np.linalg.norm(W.data, axis=1) <= 1.5 + 1e-12)
    np.testing.assert_array_equal(W.data[0], W0[0])
    np.testing.assert_array_equal(b.data, 10.0)  # 1-D parameters are left alone


def test_maxnorm_matches_torch_renorm(rng: np.random.Generator) -> None:
    W0 = rng.standard_normal((5, 3)) * 3
    W = nn.Parameter(W0.copy())
    MaxNorm(2.0)(W for W in [W])  # __call__ and a generator
    expected = torch.renorm(torch.tensor(W0), p=2, dim=0, maxnorm=2.0).numpy()
    np.testing.assert_allclose(W.data, expected, rtol=1e-6)  # torch divides by norm + 1e-7


def test_maxnorm_on_a_model_does_not_record_a_graph() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with gn.no_grad():
        for p in net.parameters():
            p.data[...] = 5.0
    MaxNorm(1.0).apply(net)
    for layer in (net[0], net[2]):
        np.testing.assert_allclose(np.linalg.norm(layer.weight.data, axis=1), 1.0, rtol=1e-6)
        assert layer.weight.grad_fn is None and layer.weight.is_leaf
        assert (layer.bias.data == 5.0).all()
    assert net[0].weight.dtype == np.float32
