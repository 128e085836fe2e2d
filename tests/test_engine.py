"""The autograd engine: accumulation, graph shapes, grad mode, freeing, higher order."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.autograd.engine import sum_to_shape
from glassnet.ops import elementwise as E
from op_specs import SPECS, OpSpec


def leaf(values: Any, dtype: Any = np.float64) -> gn.Tensor:
    return gn.tensor(values, dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------------------- reuse
def test_x_times_x(rng: np.random.Generator) -> None:
    v = rng.standard_normal(4)
    x = leaf(v)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * v, rtol=1e-15)


def test_x_plus_x() -> None:
    x = leaf([1.0, -2.0, 3.0])
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_x_used_three_times_in_one_op_chain() -> None:
    x = leaf(3.0)
    (x * x * x).backward()  # d/dx x^3 = 3 x^2
    assert x.grad.item() == 27.0


def test_diamond_graph(rng: np.random.Generator) -> None:
    """x -> a, x -> b, (a, b) -> y: both paths' gradients reach x."""
    v = rng.standard_normal(3)
    x = leaf(v)
    a = x * 2.0
    b = x * 3.0
    (a * b).sum().backward()  # y = 6 x^2
    np.testing.assert_allclose(x.grad.data, 12 * v, rtol=1e-14)


def test_diamond_with_a_shared_intermediate(rng: np.random.Generator) -> None:
    """h = sin(x) is used by two branches that join again: y = h^2 + exp(h)."""
    v = rng.standard_normal(3)
    x = leaf(v)
    h = x.sin()
    (h * h + h.exp()).sum().backward()
    expected = (2 * np.sin(v) + np.exp(np.sin(v))) * np.cos(v)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-13)


def test_two_backward_calls_accumulate(rng: np.random.Generator) -> None:
    v = rng.standard_normal(3)
    x = leaf(v)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 4 * v, rtol=1e-15)
    x.grad = None  # the reset used between steps
    (x * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0, 5.0])


def test_retain_graph_allows_a_second_backward() -> None:
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_second_backward_through_a_freed_graph_raises() -> None:
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_freed_graph_releases_saved_values() -> None:
    x = leaf([1.0, 2.0])
    h = x * x
    h.sum().backward()
    assert h.grad_fn.inputs is None  # nothing kept alive after a backward


def test_broadcast_gradient_is_reduced_to_each_shape(rng: np.random.Generator) -> None:
    a = leaf(rng.standard_normal((2, 3)))
    b = leaf(rng.standard_normal(3))
    c = leaf(rng.standard_normal((2, 1)))
    s = leaf(1.5)
    (a * b + c * s).sum().backward()
    np.testing.assert_allclose(b.grad.data, a.data.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(c.grad.data, np.full((2, 1), 3 * 1.5), rtol=1e-14)
    assert s.grad.shape == ()
    np.testing.assert_allclose(s.grad.data, 3 * c.data.sum(), rtol=1e-14)


@pytest.mark.parametrize(
    ("gshape", "shape"),
    [((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((4, 2, 3), (1, 2, 1)),
     ((2, 3), ()), ((), ()), ((2, 3), (1, 1)), ((5, 1, 2), (1, 2))],
)
def test_sum_to_shape_inverts_broadcasting(
    gshape: tuple, shape: tuple, rng: np.random.Generator
) -> None:
    g = rng.standard_normal(gshape)
    out = sum_to_shape(gn.Tensor(g), shape)
    assert out.shape == shape
    # the adjoint of broadcast_to: <sum_to_shape(g), v> = <g, broadcast(v)>
    v = rng.standard_normal(shape)
    np.testing.assert_allclose(
        np.sum(out.data * v), np.sum(g * np.broadcast_to(v, gshape)), rtol=1e-12
    )


def test_sum_to_shape_rejects_a_larger_target() -> None:
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        sum_to_shape(gn.Tensor(np.ones(3)), (2, 3))


# ---------------------------------------------------------------------------- leaf .grad
def test_leaf_gradients_are_private_and_writable() -> None:
    """Two leaves fed the same dout (Add) and the caller's grad never share an array."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = gn.tensor([1.0, 1.0], dtype=np.float64)
    (a + b).backward(g)
    assert a.grad is not b.grad and a.grad is not g
    a.grad.data *= 10.0  # an in-place step (e.g. gradient clipping) touches a.grad only
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(g.data, [1.0, 1.0])
    x = leaf([1.0, 2.0, 3.0])
    x.sum().backward()  # dout broadcast: a read-only view unless copied
    x.grad.data += 1.0
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_retain_grad_keeps_a_non_leaf_gradient() -> None:
    x = leaf([1.0, 2.0])
    h = x * 3.0
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.data, [6.0, 12.0])
    assert x.is_leaf and not h.is_leaf


def test_gradient_dtype_follows_the_leaf() -> None:
    x32 = leaf([1.0, 2.0], np.float32)
    w64 = leaf([3.0, 4.0], np.float64)
    (x32 * w64).sum().backward()
    assert x32.grad.dtype == np.float32 and w64.grad.dtype == np.float64
    np.testing.assert_array_equal(x32.grad.data, [3.0, 4.0])


# ---------------------------------------------------------------------------- deep graphs
def test_chain_of_100000_ops_does_not_recurse() -> None:
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    limit = sys.getrecursionlimit()
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad.item() == pytest.approx(1.0001**100_000, rel=1e-9)


def test_deep_retained_graph_can_be_dropped() -> None:
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward(retain_graph=True)
    del y  # freeing a 100,000-deep chain of nodes must not overflow the C stack
    assert x.grad.item() == 1.0


# ---------------------------------------------------------------------------- errors
def test_backward_needs_a_tensor_that_requires_grad() -> None:
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        gn.tensor([1.0, 2.0]).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        with gn.no_grad():
            y = (leaf([1.0]) * 2.0).sum()
        y.backward()


def test_non_scalar_backward_needs_grad() -> None:
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*grad="):
        (x * 2.0).backward()
    (x * 2.0).backward(np.array([1.0, 10.0]))  # with grad it works
    np.testing.assert_array_equal(x.grad.data, [2.0, 20.0])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_and_bool_tensors_cannot_require_grad(dtype: Any) -> None:
    with pytest.raises(RuntimeError, match=np.dtype(dtype).name):
        gn.tensor(np.array([1, 0]), dtype=dtype, requires_grad=True)
    t = gn.tensor(np.array([1, 0]), dtype=dtype)
    with pytest.raises(RuntimeError, match="float"):
        t.requires_grad = True
    with pytest.raises(RuntimeError, match="float"):
        t.requires_grad_()


def test_integer_operand_gets_no_gradient() -> None:
    x = leaf([1.0, 2.0])
    k = gn.tensor(np.array([3, 4]))
    (x * k).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    assert k.grad is None and not k.requires_grad


def test_switching_off_requires_grad_on_a_non_leaf_raises() -> None:
    h = leaf([1.0]) * 2.0
    with pytest.raises(RuntimeError, match="detach"):
        h.requires_grad = False


# ---------------------------------------------------------------------------- needs_input_grad
class _SpyMul(E.Mul):
    """Mul that records what its backward was asked for and what it returned."""

    calls: list[dict[str, Any]] = []

    def backward(self, dout: gn.Tensor) -> Any:
        grads = super().backward(dout)
        _SpyMul.calls.append(
            {"needs": self.needs_input_grad, "grads": grads, "recording": gn.is_grad_enabled()}
        )
        return grads


@pytest.fixture
def spy() -> type[_SpyMul]:
    _SpyMul.calls = []
    return _SpyMul


@pytest.mark.parametrize("constant", ["tensor", "ndarray", "number"])
def test_constant_operand_gets_no_gradient(spy: type[_SpyMul], constant: str) -> None:
    x = leaf([1.0, 2.0])
    c = {"tensor": gn.tensor([3.0, 4.0]), "ndarray": np.array([3.0, 4.0]), "number": 3.0}[
        constant
    ]
    spy.apply(x, c).sum().backward()
    (call,) = spy.calls
    assert call["needs"] == (True, False)
    assert call["grads"][1] is None  # the op was not asked for it and did not compute it
    if isinstance(c, gn.Tensor):
        assert c.grad is None


def test_no_gradient_flows_into_a_branch_that_needs_none(spy: type[_SpyMul]) -> None:
    x = leaf([1.0, 2.0])
    c = gn.tensor([3.0, 4.0])
    frozen = spy.apply(c, c)  # needs no grad: records no node
    assert frozen.grad_fn is None
    (x * frozen).sum().backward()
    assert spy.calls == []


def _n_float_inputs(spec: OpSpec) -> int:
    return max(
        sum(x.dtype.kind == "f" for x in c.inputs) for c in spec.cases(np.random.default_rng(0))
    )


_MULTI_INPUT = [s for s in SPECS if _n_float_inputs(s) >= 2]


@pytest.mark.parametrize("which", [0, -1], ids=["first", "last"])
@pytest.mark.parametrize("spec", _MULTI_INPUT, ids=lambda s: s.id)
def test_ops_skip_gradients_nobody_needs(
    spec: OpSpec, which: int, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only one input requiring grad, every other gradient the op returns is None
    (or ``dout`` itself, which costs nothing)."""
    case = max(spec.cases(rng), key=lambda c: sum(x.dtype.kind == "f" for x in c.inputs))
    floats = [k for k, x in enumerate(case.inputs) if x.dtype.kind == "f"]
    seen: list[Any] = []
    original = spec.op.backward

    def spying(self: Any, dout: gn.Tensor) -> Any:
        grads = original(self, dout)
        seen.append((self.needs_input_grad, grads, dout))
        return grads

    monkeypatch.setattr(spec.op, "backward", spying)
    ts = [gn.tensor(x, requires_grad=(k == floats[which])) for k, x in enumerate(case.inputs)]
    y = spec.fn(*ts, **case.kwargs)
    y.backward(np.ones(y.shape))
    assert seen, "the op's backward never ran"
    for needs, grads, dout in seen:
        for need, g in zip(needs, grads):
            assert need or g is None or g is dout


# ---------------------------------------------------------------------------- grad mode
def test_no_grad_records_nothing() -> None:
    x = leaf([1.0, 2.0])
    with gn.no_grad():
        y = x * 2.0
        assert not gn.is_grad_enabled()
    assert gn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_detach_cuts_the_graph() -> None:
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.data, x.data)
    (d * x).sum().backward()  # only the second factor is differentiated
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0])


# ---------------------------------------------------------------------------- higher order
def test_backward_without_create_graph_builds_no_nodes(spy: type[_SpyMul]) -> None:
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    spy.apply(x, w).exp().sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    assert w.grad.grad_fn is None and not w.grad.requires_grad
    (call,) = spy.calls
    assert call["recording"] is False  # the backward formulas ran without recording
    # Mul's backward runs on the plain arrays: no Tensor, so no node, is made.
    assert all(isinstance(g, np.ndarray) for g in call["grads"])


def test_backward_without_create_graph_makes_no_node_anywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from glassnet.autograd.function import Function

    x = leaf(np.linspace(0.5, 1.5, 6).reshape(2, 3))
    y = ((x.tanh() * x).exp().log_softmax(axis=1) @ x.T).sum()
    recorded: list[str] = []
    original = Function.apply.__func__

    def counting(cls, *args, **kwargs):
        out = original(cls, *args, **kwargs)
        if out.grad_fn is not None:
            recorded.append(cls.__name__)
        return out

    monkeypatch.setattr(Function, "apply", classmethod(counting))
    y.backward()
    assert recorded == []
    assert x.grad is not None and x.grad.grad_fn is None


def test_backward_with_create_graph_builds_a_differentiable_gradient(
    spy: type[_SpyMul],
) -> None:
    x = leaf([1.0, 2.0])
    (spy.apply(x, x) * x).sum().backward(create_graph=True)  # x^3
    (call,) = spy.calls
    assert call["recording"] is True
    assert x.grad.grad_fn is not None and x.grad.requires_grad
    np.testing.assert_array_equal(x.grad.data, [3.0, 12.0])
    g = x.grad
    x.grad = None
    g.sum().backward()  # d/dx sum(3 x^2) = 6 x
    np.testing.assert_array_equal(x.grad.data, [6.0, 12.0])


def test_third_derivative_of_x4(rng: np.random.Generator) -> None:
    v = rng.standard_normal(3)
    x = leaf(v)
    y = (x**4).sum()
    (g1,) = gn.gradients(y, [x], create_graph=True)
    (g2,) = gn.gradients(g1.sum(), [x], create_graph=True)
    (g3,) = gn.gradients(g2.sum(), [x])
    np.testing.assert_allclose(g1.data, 4 * v**3, rtol=1e-13)
    np.testing.assert_allclose(g2.data, 12 * v**2, rtol=1e-13)
    np.testing.assert_allclose(g3.data, 24 * v, rtol=1e-13)
    assert x.grad is None  # gradients() leaves .grad alone


def test_fourth_order_matches_torch(rng: np.random.Generator) -> None:
    v = rng.uniform(0.5, 1.5, 3)
    x, tx = leaf(v), torch.tensor(v, requires_grad=True)
    g, tg = (x.sin() * x.exp()).sum(), (tx.sin() * tx.exp()).sum()
    for _ in range(4):
        (g,) = gn.gradients(g, [x], create_graph=True)
        (tg,) = torch.autograd.grad(tg, tx, create_graph=True)
        np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12)
        g, tg = g.sum(), tg.sum()


def test_gradients_is_like_torch_autograd_grad() -> None:
    x, y = leaf([1.0, 2.0]), leaf([5.0])
    h = x * 3.0
    z = (h * h).sum()
    gx, gy, gh = gn.gradients(z, [x, y, h])
    np.testing.assert_array_equal(gx.data, [18.0, 36.0])
    assert gy is None  # z does not depend on y
    np.testing.assert_array_equal(gh.data, [6.0, 12.0])  # a non-leaf input
    assert x.grad is None and y.grad is None


def test_grad_mode_is_restored_when_a_backward_fails() -> None:
    class _Failing(E.Exp):
        def backward(self, dout: gn.Tensor) -> Any:
            raise ArithmeticError("boom")

    x = leaf([1.0])
    y = _Failing.apply(x).sum()
    with pytest.raises(ArithmeticError):
        y.backward()
    assert gn.is_grad_enabled()


def test_hessian_vector_product_via_create_graph(rng: np.random.Generator) -> None:
    """grad of (grad f . v) is H v; here f = sum(x^2 y) with an exact Hessian."""
    xv, yv, v = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)
    x, y = leaf(xv), leaf(yv)
    f = (x * x * y).sum()
    (gx,) = gn.gradients(f, [x], create_graph=True)
    hvx, hvy = gn.gradients((gx * v).sum(), [x, y])
    np.testing.assert_allclose(hvx.data, 2 * yv * v, rtol=1e-14)
    np.testing.assert_allclose(hvy.data, 2 * xv * v, rtol=1e-14)
    assert math.isfinite(float(hvx.data.sum()))
