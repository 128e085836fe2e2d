"""Tensor: construction and dtypes, attributes, repr, grad mode, detach, arithmetic with
scalars and ndarrays, comparisons, indexing, concatenate/stack, matmul, the composites."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

import glassnet as gn


@pytest.fixture
def float64_default() -> Iterator[None]:
    gn.set_default_dtype(np.float64)
    try:
        yield
    finally:
        gn.set_default_dtype(np.float32)


def leaf(values: Any) -> gn.Tensor:
    return gn.tensor(values, dtype=np.float64, requires_grad=True)


def torch_grad(f: Callable[..., Any], *arrays: np.ndarray) -> list[np.ndarray]:
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    f(*ts).sum().backward()
    return [t.grad.numpy() for t in ts]


# ---------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize(
    "data", [[1.0, 2.0], [1, 2], 3.0, 3, [[1, 2.5]], np.float64(2.0).item()], ids=repr
)
def test_python_numbers_and_lists_default_to_float32(data: Any) -> None:
    assert gn.tensor(data).dtype == np.float32
    assert gn.Tensor(data).dtype == np.float32


@pytest.mark.usefixtures("float64_default")
def test_set_default_dtype_float64_changes_it() -> None:
    assert gn.get_default_dtype() == np.float64
    assert gn.tensor([1.0, 2.0]).dtype == np.float64
    assert gn.tensor(3).dtype == np.float64


def test_default_dtype_is_float32() -> None:
    assert gn.get_default_dtype() == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ndarrays_and_numpy_scalars_keep_their_float_dtype(dtype: Any) -> None:
    assert gn.tensor(np.array([1.0, 2.0], dtype=dtype)).dtype == dtype
    assert gn.tensor(dtype(2.0)).dtype == dtype


def test_other_dtype_rules() -> None:
    assert gn.tensor(np.array([1, 2])).dtype == np.int64  # integer arrays stay integer
    assert gn.tensor([True, False]).dtype == np.bool_
    assert gn.tensor(np.array([1.0], dtype=np.float16)).dtype == np.float32
    assert gn.tensor([1, 2], dtype=np.float64).dtype == np.float64  # dtype= overrides
    assert gn.tensor(np.array([1.5]), dtype=np.float32).dtype == np.float32


def test_tensor_copies_but_the_constructor_shares() -> None:
    a = np.array([1.0, 2.0])
    t, u = gn.tensor(a), gn.Tensor(a)
    a[0] = 9.0
    assert t.data[0] == 1.0 and u.data[0] == 9.0


# ---------------------------------------------------------------------------- attributes
def test_attributes() -> None:
    t = gn.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None
    assert len(t) == 2
    np.testing.assert_array_equal(t.T.data, np.arange(6.0).reshape(2, 3).T)
    assert t.T.grad_fn is not None  # .T is differentiable
    assert gn.tensor([1.0, 2.0]).T.shape == (2,)


def test_numpy_item_and_array_protocol() -> None:
    t = gn.tensor([[1.5, 2.0]])
    assert t.numpy() is t.data
    assert gn.tensor([[4.0]]).item() == 4.0 and isinstance(gn.tensor(4.0).item(), float)
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, [[1.5, 2.0]])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert float(gn.tensor(2.5)) == 2.5 and int(gn.tensor(3.0)) == 3
    assert [v.item() for v in gn.tensor([1.0, 2.0])] == [1.0, 2.0]
    assert gn.tensor([[1, 2]]).tolist() == [[1.0, 2.0]]


def test_grad_is_assignable_and_none_resets_it() -> None:
    x = leaf([1.0, 2.0])
    x.grad = gn.tensor([5.0, 5.0], dtype=np.float64)
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [8.0, 8.0])  # accumulated onto ours
    x.grad = None
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    x.zero_grad()
    assert x.grad is None


def test_repr() -> None:
    assert repr(gn.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(gn.tensor([1.0, 2.0], requires_grad=True)) == (
        "tensor([1., 2.], requires_grad=True)"
    )
    assert repr(gn.tensor([1.0], dtype=np.float64)) == "tensor([1.], dtype=float64)"
    assert repr(gn.tensor(np.array([1, 2]))) == "tensor([1, 2], dtype=int64)"
    y = gn.tensor([1.0], requires_grad=True) * 2.0
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward>)"
    assert repr(gn.tensor(3.0)) == "tensor(3.)"
    assert repr(gn.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"


# ---------------------------------------------------------------------------- grad mode
def test_no_grad_as_a_context_manager_nests_and_restores() -> None:
    x = leaf([1.0])
    with gn.no_grad():
        with gn.enable_grad():
            assert gn.is_grad_enabled()
            assert (x * 2.0).requires_grad
        assert not gn.is_grad_enabled()
        assert not (x * 2.0).requires_grad
    assert gn.is_grad_enabled()


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(KeyError):
        with gn.no_grad():
            raise KeyError("x")
    assert gn.is_grad_enabled()


@pytest.mark.parametrize("parentheses", [True, False])
def test_no_grad_and_enable_grad_as_decorators(parentheses: bool) -> None:
    x = leaf([1.0])

    def double(t: gn.Tensor) -> gn.Tensor:
        assert gn.is_grad_enabled() is False
        return t * 2.0

    def inner(t: gn.Tensor) -> gn.Tensor:
        return t * 2.0

    no_grad_double = gn.no_grad()(double) if parentheses else gn.no_grad(double)
    enabled_inner = gn.enable_grad()(inner) if parentheses else gn.enable_grad(inner)
    assert no_grad_double.__name__ == "double"  # functools.wraps
    assert not no_grad_double(x).requires_grad
    assert gn.is_grad_enabled()
    with gn.no_grad():
        assert enabled_inner(x).requires_grad
        assert not gn.is_grad_enabled()


def test_set_grad_enabled() -> None:
    try:
        gn.set_grad_enabled(False)
        assert not (leaf([1.0]) * 2.0).requires_grad
    finally:
        gn.set_grad_enabled(True)
    assert gn.is_grad_enabled()


def test_detach_shares_data_and_requires_no_grad() -> None:
    x = leaf([1.0, 2.0])
    d = (x * 2.0).detach()
    assert not d.requires_grad and d.is_leaf
    y = x * 2.0
    assert np.shares_memory(y.detach().data, y.data)


# ---------------------------------------------------------------------------- arithmetic
BINARY = [
    ("+", operator.add), ("-", operator.sub), ("*", operator.mul), ("/", operator.truediv),
    ("**", operator.pow),
]
OTHERS = {"python float": 1.5, "python int": 2, "ndarray": np.array([0.5, 1.5, 2.5])}


@pytest.mark.parametrize("left", [True, False], ids=["tensor op other", "other op tensor"])
@pytest.mark.parametrize("other_kind", OTHERS)
@pytest.mark.parametrize(("symbol", "op"), BINARY, ids=[b[0] for b in BINARY])
def test_arithmetic_in_both_orders(symbol: str, op: Any, other_kind: str, left: bool) -> None:
    v = np.array([1.0, 2.0, 3.0])
    other = OTHERS[other_kind]
    x = leaf(v)
    y = op(x, other) if left else op(other, x)
    assert isinstance(y, gn.Tensor), f"{symbol} returned {type(y).__name__}"
    expected = op(v, other) if left else op(other, v)
    np.testing.assert_allclose(y.data, expected, rtol=1e-15)
    y.sum().backward()
    (tg,) = torch_grad(
        (lambda t: op(t, torch.as_tensor(other))) if left
        else (lambda t: op(torch.as_tensor(other), t)),
        v,
    )
    np.testing.assert_allclose(x.grad.data, tg, rtol=1e-13)


def test_ndarray_plus_tensor_returns_a_tensor() -> None:
    y = np.ones(3) + gn.tensor([1.0, 2.0, 3.0])
    assert isinstance(y, gn.Tensor)
    assert isinstance(np.float64(2.0) * gn.tensor([1.0]), gn.Tensor)
    assert isinstance(np.eye(2) @ gn.tensor([1.0, 2.0]), gn.Tensor)


def test_scalars_keep_float32() -> None:
    x = gn.tensor([1.0, 2.0])
    for y in (x + 1, 2.0 * x, x / 3, x**2, 1 - x, 2.0**x, -x, abs(x)):
        assert y.dtype == np.float32


def test_unary_minus_and_abs() -> None:
    x = leaf([-2.0, 3.0])
    y = -x + abs(x) + x.abs()
    np.testing.assert_array_equal(y.data, [6.0, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-3.0, 1.0])


@pytest.mark.parametrize(
    "exponent", [np.array([1.0, 2.0, 3.0]), [1, 2, 3]], ids=["ndarray", "list"]
)
def test_pow_with_an_array_exponent(exponent: Any) -> None:
    x = leaf([1.0, 2.0, 3.0])
    (x**exponent).sum().backward()  # d/dx x^p = p x^(p-1)
    np.testing.assert_array_equal(x.grad.data, [1.0, 4.0, 27.0])
    assert gn.gradgradcheck(lambda t: t**exponent, x.data).ok


LIST_CONSTANT = [
    ("t + c", lambda t: t + [0.5, 1.5, 2.5]),
    ("c - t", lambda t: [0.5, 1.5, 2.5] - t),
    ("c / t", lambda t: [0.5, 1.5, 2.5] / t),
    ("c ** t", lambda t: [0.5, 1.5, 2.5] ** t),
    ("maximum", lambda t: gn.maximum([0.5, 2.5, 2.5], t)),
    ("where", lambda t: gn.where([True, False, True], t, [0.5, 1.5, 2.5])),
    ("concatenate", lambda t: gn.concatenate([t, [0.5, 1.5]])),
    ("stack", lambda t: gn.stack([t, [0.5, 1.5, 2.5]])),
    ("t @ c", lambda t: t @ [[1.0], [2.0], [3.0]]),
]


@pytest.mark.parametrize("f", [c[1] for c in LIST_CONSTANT], ids=[c[0] for c in LIST_CONSTANT])
def test_list_constants_as_operands(f: Callable[..., Any]) -> None:
    x = np.array([1.1, 2.2, 3.3])
    assert gn.gradcheck(f, x).ok
    assert gn.gradgradcheck(f, x).ok


def test_matmul_with_a_nested_list_constant() -> None:
    x = leaf([1.0, 2.0, 3.0])
    (x @ [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 7.0, 11.0])


# ---------------------------------------------------------------------------- comparisons
@pytest.mark.parametrize(
    "other",
    [2.0, np.array([3.0, 2.0, 1.0]), gn.tensor([3.0, 2.0, 1.0])],
    ids=["number", "ndarray", "tensor"],
)
@pytest.mark.parametrize(
    "op", [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]
)
def test_comparisons_are_not_differentiable(op: Any, other: Any) -> None:
    x = leaf([1.0, 2.0, 3.0])
    c = op(x, other)
    assert isinstance(c, gn.Tensor) and c.dtype == np.bool_
    assert not c.requires_grad and c.grad_fn is None
    np.testing.assert_array_equal(c.data, op(x.data, np.asarray(other)))


def test_tensor_is_hashable_and_truth_of_one_element() -> None:
    x = gn.tensor([1.0])
    assert {x: 1}[x] == 1
    assert bool(gn.tensor([2.0]) > 1.0)


# ---------------------------------------------------------------------------- indexing
INDEXES = [
    ("int", lambda: 1),
    ("negative int", lambda: -1),
    ("slice", lambda: slice(0, 2)),
    ("reversed slice", lambda: slice(None, None, -1)),
    ("strided slice", lambda: (slice(None), slice(0, 3, 2))),
    ("int array", lambda: np.array([1, 0])),
    ("repeated ints", lambda: np.array([0, 0, 0, 1])),
    ("list of ints", lambda: [1, 1]),
    ("int tensor", lambda: gn.tensor(np.array([1, 1, 0]))),
    ("bool mask", lambda: np.array([[True, False, True], [False, True, True]])),
    ("bool tensor row mask", lambda: gn.tensor([False, True])),
    ("pair of arrays", lambda: (np.array([0, 1, 1]), np.array([2, 2, 2]))),
    ("None and Ellipsis", lambda: (None, Ellipsis, 1)),
]


@pytest.mark.parametrize("make_index", [i[1] for i in INDEXES], ids=[i[0] for i in INDEXES])
def test_indexing_values_and_scatter_add_gradients(
    make_index: Callable[[], Any], rng: np.random.Generator
) -> None:
    v = rng.standard_normal((2, 3))
    x = leaf(v)
    index = make_index()
    np_index = index.data if isinstance(index, gn.Tensor) else index
    y = x[index]
    np.testing.assert_array_equal(y.data, v[np_index])
    w = rng.standard_normal(y.shape)
    (y * w).sum().backward()
    # the naive looped adjoint: every selected entry adds its own weight
    expected = np.zeros_like(v)
    flat_ids = np.arange(v.size).reshape(v.shape)[np_index]
    for pos, wk in zip(np.ravel(flat_ids), np.ravel(w)):
        expected.flat[pos] += wk
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-15)


def test_repeated_indices_accumulate() -> None:
    x = leaf([10.0, 20.0, 30.0])
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


# ---------------------------------------------------------------------------- joining
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack_match_torch(axis: int, rng: np.random.Generator) -> None:
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    w = rng.standard_normal((4, 3) if axis == 0 else (2, 6))
    ta, tb = leaf(a), leaf(b)
    y = gn.concatenate([ta, tb], axis=axis)
    np.testing.assert_array_equal(y.data, np.concatenate([a, b], axis=axis))
    (y * w).sum().backward()
    ga, gb = torch_grad(lambda p, q: torch.cat([p, q], dim=axis) * torch.tensor(w), a, b)
    np.testing.assert_array_equal(ta.grad.data, ga)
    np.testing.assert_array_equal(tb.grad.data, gb)

    ta, tb = leaf(a), leaf(b)
    s = gn.stack([ta, tb], axis=axis)
    np.testing.assert_array_equal(s.data, np.stack([a, b], axis=axis))
    w = rng.standard_normal(s.shape)
    (s * w).sum().backward()
    ga, gb = torch_grad(lambda p, q: torch.stack([p, q], dim=axis) * torch.tensor(w), a, b)
    np.testing.assert_array_equal(ta.grad.data, ga)
    np.testing.assert_array_equal(tb.grad.data, gb)


def test_stack_of_scalars_and_of_a_constant() -> None:
    x = leaf(2.0)
    s = gn.stack([x, x * x, gn.tensor(5.0, dtype=np.float64)])
    assert s.shape == (3,)
    s.sum().backward()
    assert x.grad.item() == 5.0  # 1 + 2x


# ---------------------------------------------------------------------------- matmul
MATMUL = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((5, 2, 3), (3,)),
]


@pytest.mark.parametrize(("sa", "sb"), MATMUL, ids=str)
def test_matmul_matches_numpy_and_torch(sa: tuple, sb: tuple, rng: np.random.Generator) -> None:
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    ta, tb = leaf(a), leaf(b)
    y = ta @ tb
    np.testing.assert_allclose(y.data, a @ b, rtol=1e-14)
    assert gn.matmul(ta, tb).shape == (a @ b).shape
    w = rng.standard_normal(y.shape)
    (y * w).sum().backward()
    ga, gb = torch_grad(lambda p, q: (p @ q) * torch.tensor(w), a, b)
    assert ta.grad.shape == sa and tb.grad.shape == sb
    np.testing.assert_allclose(ta.grad.data, ga, rtol=1e-12)
    np.testing.assert_allclose(tb.grad.data, gb, rtol=1e-12)


# ---------------------------------------------------------------------------- composites
COMPOSITES = [
    ("var", lambda t: t.var(), lambda t: t.var(correction=0)),
    ("var axis ddof=1", lambda t: t.var(axis=1, ddof=1), lambda t: t.var(dim=1)),
    ("var keepdims", lambda t: t.var(axis=0, keepdims=True),
     lambda t: t.var(dim=0, keepdim=True, correction=0)),
    ("gn.var", lambda t: gn.var(t, axis=(0, 1)), lambda t: t.var(dim=(0, 1), correction=0)),
    ("std", lambda t: t.std(axis=1), lambda t: t.std(dim=1, correction=0)),
    ("squeeze", lambda t: t[None].squeeze(0), lambda t: t[None].squeeze(0)),
    ("squeeze all", lambda t: t[:1, None].squeeze(), lambda t: t[:1, None].squeeze()),
    ("unsqueeze", lambda t: t.unsqueeze(1), lambda t: t.unsqueeze(1)),
    ("flatten", lambda t: t.flatten(), lambda t: t.flatten()),
    ("view", lambda t: t.view(3, 2), lambda t: t.view(3, 2)),
    ("reshape tuple", lambda t: t.reshape((6,)), lambda t: t.reshape((6,))),
    ("permute", lambda t: t[None].permute(2, 0, 1), lambda t: t[None].permute(2, 0, 1)),
    ("transpose", lambda t: t.transpose(), lambda t: t.permute(1, 0)),
    ("swapaxes", lambda t: t.swapaxes(0, 1), lambda t: t.swapaxes(0, 1)),
    ("expand", lambda t: t[:, None].expand((2, 4, 3)), lambda t: t[:, None].expand(2, 4, 3)),
    ("clamp", lambda t: t.clamp(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5)),
    ("where", lambda t: gn.where(t > 0, t, t * t), lambda t: torch.where(t > 0, t, t * t)),
    # float64 -> float32 -> float64 rounds the values (compared at float32 precision below)
    ("double", lambda t: t.float().double(), lambda t: t.float().double()),
    ("functional", lambda t: gn.mean(gn.exp(gn.reshape(gn.transpose(t), (6,)))),
     lambda t: t.T.reshape(6).exp().mean()),
]


@pytest.mark.parametrize(("name", "f", "tf"), COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composites_match_torch(name: str, f: Any, tf: Any, rng: np.random.Generator) -> None:
    v = rng.standard_normal((2, 3))
    x = leaf(v)
    y = f(x)
    ty = tf(torch.tensor(v, requires_grad=True))
    assert y.shape == tuple(ty.shape)
    rtol = 1e-6 if name == "double" else 1e-12
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=rtol)
    w = rng.standard_normal(y.shape)
    (y * w).sum().backward()
    (tg,) = torch_grad(lambda t: tf(t) * torch.tensor(w), v)
    np.testing.assert_allclose(x.grad.data, tg, rtol=rtol, atol=1e-15)


def test_argmax_argmin_sign_any_all_are_plain() -> None:
    x = leaf([[1.0, -3.0], [2.0, 0.5]])
    assert x.argmax().item() == 2 and x.argmin(axis=1).tolist() == [1, 1]
    assert not x.sign().requires_grad and x.sign().tolist() == [[1.0, -1.0], [1.0, 1.0]]
    assert (x > 0).any() and not (x > 0).all()
