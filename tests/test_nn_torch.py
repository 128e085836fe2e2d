"""PyTorch (float64) as the oracle for glassnet.nn: Linear, activations, Dropout with the
same mask, BatchNorm1d (training, evaluation, running statistics, gradients), the
residual block, an MLP loaded from a torch state dict, and the init distributions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn

TOL = {"rtol": 1e-12, "atol": 1e-13}


def _pair(a: np.ndarray) -> tuple[gn.Tensor, torch.Tensor]:
    a = np.asarray(a, dtype=np.float64)
    return gn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _copy_params(src: torch.nn.Module, dst: nn.Module) -> None:
    """Load torch's state dict into glassnet: the keys are the same."""
    dst.load_state_dict({k: v.numpy() for k, v in src.state_dict().items()})


# ---------------------------------------------------------------------------- Linear
@pytest.mark.parametrize("x_shape", [(5, 4), (4,), (2, 3, 4), (1, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_values_and_gradients(
    x_shape: tuple[int, ...], bias: bool, rng: np.random.Generator
) -> None:
    tl = torch.nn.Linear(4, 3, bias=bias, dtype=torch.float64)
    gl = nn.Linear(4, 3, bias=bias, dtype=np.float64)
    _copy_params(tl, gl)
    x, tx = _pair(rng.standard_normal(x_shape))
    y, ty = gl(x), tl(tx)
    np.testing.assert_allclose(y.data, _np(ty), **TOL)
    u = rng.standard_normal(y.shape)
    y.backward(u)
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.data, _np(tx.grad), **TOL)
    np.testing.assert_allclose(gl.weight.grad.data, _np(tl.weight.grad), **TOL)
    if bias:
        np.testing.assert_allclose(gl.bias.grad.data, _np(tl.bias.grad), **TOL)


def test_linear_second_derivative(rng: np.random.Generator) -> None:
    """A Hessian-vector product through the fused Linear, against torch's double backward."""
    W0, x0 = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    v = rng.standard_normal((3, 4))
    x, tx = _pair(x0)
    W, tW = _pair(W0)
    (gW,) = gn.gradients((gn.nn.functional.linear(x, W).tanh() ** 2).sum(), [W],
                         create_graph=True)
    (hx,) = gn.gradients((gW * v).sum(), [x])
    (tgW,) = torch.autograd.grad((torch.nn.functional.linear(tx, tW).tanh() ** 2).sum(), [tW],
                                 create_graph=True)
    (thx,) = torch.autograd.grad((tgW * torch.tensor(v)).sum(), [tx])
    np.testing.assert_allclose(hx.data, _np(thx), **TOL)


# ---------------------------------------------------------------------------- init
@pytest.mark.parametrize(
    ("scheme", "torch_init"),
    [
        ("default", lambda w: torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5))),
        ("xavier_uniform", torch.nn.init.xavier_uniform_),
        ("xavier_normal", torch.nn.init.xavier_normal_),
        ("kaiming_uniform", lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")),
        ("kaiming_normal", lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu")),
    ],
)
def test_init_schemes_match_torch_statistics(scheme: str, torch_init) -> None:
    """Same distribution as torch's initialiser: spread, extremes and tails agree."""
    torch.manual_seed(0)
    tw = torch_init(torch.empty(300, 400, dtype=torch.float64)).numpy()
    gw = nn.Linear(400, 300, init=scheme, generator=0, dtype=np.float64).weight.data
    assert gw.std() == pytest.approx(tw.std(), rel=0.02)
    assert np.abs(gw).max() == pytest.approx(np.abs(tw).max(), rel=0.1)
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert np.quantile(gw, q) == pytest.approx(np.quantile(tw, q), abs=0.03 * tw.std())


def test_default_bias_matches_torch_bound() -> None:
    torch.manual_seed(0)
    tb = torch.nn.Linear(25, 20000).bias.detach().numpy()
    gb = nn.Linear(25, 20000, generator=0).bias.data
    assert np.abs(gb).max() <= 0.2 and np.abs(tb).max() <= 0.2
    assert gb.std() == pytest.approx(tb.std(), rel=0.02)


# ---------------------------------------------------------------------------- activations
ACTIVATIONS = [
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.Softplus(), torch.nn.Softplus(threshold=1e9)),
    (nn.Softplus(2.0), torch.nn.Softplus(beta=2.0, threshold=1e9)),
    (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
    (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)),
    (nn.Identity(), torch.nn.Identity()),
    (nn.Flatten(), torch.nn.Flatten()),
]


@pytest.mark.parametrize(("module", "torch_module"), ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_values_and_gradients(
    module: nn.Module, torch_module: torch.nn.Module, rng: np.random.Generator
) -> None:
    x0 = rng.standard_normal((4, 5)) * 3
    x0[np.abs(x0) < 0.05] = 0.5  # away from the relu kink
    x, tx = _pair(x0)
    y, ty = module(x), torch_module(tx)
    np.testing.assert_allclose(y.data, _np(ty), **TOL)
    u = rng.standard_normal(y.shape)
    y.backward(u)
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.data, _np(tx.grad), **TOL)


def test_relu_kink_matches_torch() -> None:
    x, tx = _pair(np.array([-1.0, 0.0, 2.0]))
    nn.ReLU()(x).sum().backward()
    torch.nn.ReLU()(tx).sum().backward()
    np.testing.assert_array_equal(x.grad.data, _np(tx.grad))  # relu'(0) = 0 in both


# ---------------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_same_mask_as_torch(p: float, rng: np.random.Generator) -> None:
    drop = nn.Dropout(p, generator=rng)
    x, tx = _pair(rng.standard_normal((6, 7)))
    y = drop(x)
    mask = torch.tensor(drop.last_mask, dtype=torch.float64)
    ty = tx * mask / (1 - p)
    np.testing.assert_allclose(y.data, _np(ty), **TOL)
    u = rng.standard_normal(y.shape)
    y.backward(u)
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.data, _np(tx.grad), **TOL)


def test_dropout_torch_statistics_agree() -> None:
    """torch.nn.Dropout and glassnet drop the same fraction and rescale alike."""
    torch.manual_seed(0)
    ty = torch.nn.Dropout(0.3)(torch.ones(300, 300, dtype=torch.float64)).numpy()
    y = nn.Dropout(0.3, generator=0)(gn.tensor(np.ones((300, 300)))).data
    assert set(np.unique(y)) == set(np.unique(ty))
    assert (y == 0).mean() == pytest.approx((ty == 0).mean(), abs=0.01)


def test_dropout_eval_matches_torch(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 4))
    y = nn.Dropout(0.5).eval()(gn.tensor(x)).data
    ty = torch.nn.Dropout(0.5).eval()(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(y, ty)


# ---------------------------------------------------------------------------- BatchNorm1d
BN_CONFIGS = [
    {},
    {"momentum": 0.3, "eps": 1e-3},
    {"momentum": None},
    {"affine": False},
    {"track_running_stats": False},
]


@pytest.mark.parametrize("shape", [(8, 3), (5, 3, 4), (2, 3, 1)])
@pytest.mark.parametrize("kwargs", BN_CONFIGS, ids=lambda k: str(k) or "default")
def test_batchnorm_training_steps_then_eval(
    shape: tuple[int, ...], kwargs: dict, rng: np.random.Generator
) -> None:
    tbn = torch.nn.BatchNorm1d(3, dtype=torch.float64, **kwargs)
    bn = nn.BatchNorm1d(3, dtype=np.float64, **kwargs)
    if bn.affine:  # non-trivial scale and shift, same in both
        with torch.no_grad():
            tbn.weight.copy_(torch.tensor(rng.standard_normal(3) + 1))
            tbn.bias.copy_(torch.tensor(rng.standard_normal(3)))
    _copy_params(tbn, bn)
    assert list(bn.state_dict()) == list(tbn.state_dict())
    for _ in range(3):  # training: batch statistics, running statistics move
        x, tx = _pair(rng.standard_normal(shape) * 2 + 0.5)
        y, ty = bn(x), tbn(tx)
        np.testing.assert_allclose(y.data, _np(ty), rtol=1e-11, atol=1e-12)
        u = rng.standard_normal(shape)
        y.backward(u)
        ty.backward(torch.tensor(u))
        np.testing.assert_allclose(x.grad.data, _np(tx.grad), rtol=1e-10, atol=1e-12)
        if bn.affine:
            np.testing.assert_allclose(bn.weight.grad.data, _np(tbn.weight.grad), rtol=1e-11,
                                       atol=1e-12)
            np.testing.assert_allclose(bn.bias.grad.data, _np(tbn.bias.grad), rtol=1e-11,
                                       atol=1e-12)
            bn.zero_grad()
            tbn.zero_grad()
    for k, v in tbn.state_dict().items():
        np.testing.assert_allclose(bn.state_dict()[k], v.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=k)
    bn.eval()
    tbn.eval()
    x, tx = _pair(rng.standard_normal(shape))
    y, ty = bn(x), tbn(tx)
    np.testing.assert_allclose(y.data, _np(ty), rtol=1e-11, atol=1e-12)
    u = rng.standard_normal(shape)
    y.backward(u)
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.data, _np(tx.grad), rtol=1e-11, atol=1e-12)
    if bn.affine:
        np.testing.assert_allclose(bn.weight.grad.data, _np(tbn.weight.grad), rtol=1e-11,
                                   atol=1e-12)


def test_batchnorm_second_derivative(rng: np.random.Generator) -> None:
    tbn = torch.nn.BatchNorm1d(2, dtype=torch.float64)
    bn = nn.BatchNorm1d(2, dtype=np.float64)
    x, tx = _pair(rng.standard_normal((5, 2)))
    v = rng.standard_normal((5, 2))
    (gx,) = gn.gradients((bn(x) ** 3).sum(), [x], create_graph=True)
    (hx,) = gn.gradients((gx * v).sum(), [x])
    (tgx,) = torch.autograd.grad((tbn(tx) ** 3).sum(), [tx], create_graph=True)
    (thx,) = torch.autograd.grad((tgx * torch.tensor(v)).sum(), [tx])
    np.testing.assert_allclose(hx.data, _np(thx), rtol=1e-9, atol=1e-11)


def test_batchnorm_float32_matches_torch(rng: np.random.Generator) -> None:
    x = rng.standard_normal((16, 4)).astype(np.float32)
    bn, tbn = nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    y = bn(gn.tensor(x))
    ty = tbn(torch.tensor(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, _np(ty), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.running_var, tbn.running_var.numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------- Residual
@pytest.mark.parametrize("mode", ["batch", "row"])
def test_residual_matches_torch_stochastic_depth(mode: str, rng: np.random.Generator) -> None:
    """torchvision's stochastic_depth, written out: x + branch(x) * keep / (1 - p)."""
    p = 0.4
    tbranch = torch.nn.Sequential(torch.nn.Linear(3, 3, dtype=torch.float64), torch.nn.Tanh())
    branch = nn.Sequential(nn.Linear(3, 3, dtype=np.float64), nn.Tanh())
    _copy_params(tbranch, branch)
    block = nn.Residual(branch, p, mode=mode, generator=np.random.default_rng(5))
    for _ in range(4):
        x, tx = _pair(rng.standard_normal((6, 3)))
        y = block(x)
        keep = torch.tensor(block.last_mask, dtype=torch.float64)
        ty = tx + tbranch(tx) * keep / (1 - p)
        np.testing.assert_allclose(y.data, _np(ty), **TOL)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(x.grad.data, _np(tx.grad), **TOL)
    block.eval()
    x, tx = _pair(rng.standard_normal((6, 3)))
    np.testing.assert_allclose(block(x).data, _np(tx + tbranch(tx)), **TOL)


# ---------------------------------------------------------------------------- MLP
def test_mlp_matches_a_torch_sequential(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
        torch.nn.Linear(8, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(),
        torch.nn.Linear(6, 3),
    ).double()
    net = nn.MLP(4, [8, 6], 3, batch_norm=True, dtype=np.float64)
    _copy_params(tnet, net)  # same keys, same shapes
    x, tx = _pair(rng.standard_normal((10, 4)))
    y, ty = net(x), tnet(tx)
    np.testing.assert_allclose(y.data, _np(ty), rtol=1e-10, atol=1e-12)
    y.log_softmax(1)[np.arange(10), np.arange(10) % 3].sum().backward()
    torch.log_softmax(ty, 1)[torch.arange(10), torch.arange(10) % 3].sum().backward()
    for (name, p), (tname, tp) in zip(net.named_parameters(), tnet.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.data, _np(tp.grad), rtol=1e-9, atol=1e-11,
                                   err_msg=name)
    net.eval()
    tnet.eval()
    np.testing.assert_allclose(net(x).data, _np(tnet(tx)), rtol=1e-10, atol=1e-12)
