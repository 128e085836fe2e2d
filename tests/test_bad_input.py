"""Bad input gets a clear error: the exception type a NumPy/PyTorch user expects and a
message that names the op, the offending value or shape, and what to do."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import glassnet as gn


def t(shape: tuple[int, ...]) -> gn.Tensor:
    return gn.tensor(np.ones(shape), requires_grad=True)


# ---------------------------------------------------------------------------- shape mismatch
MISMATCHES = [
    ("Add", lambda a, b: a + b),
    ("Sub", lambda a, b: a - b),
    ("Mul", lambda a, b: a * b),
    ("Div", lambda a, b: a / b),
    ("Pow", lambda a, b: a**b),
    ("Maximum", gn.maximum),
    ("Minimum", gn.minimum),
    ("MatMul", lambda a, b: a @ b),
    ("Concatenate", lambda a, b: gn.concatenate([a, b], axis=0)),
]


@pytest.mark.parametrize(("name", "f"), MISMATCHES, ids=[m[0] for m in MISMATCHES])
def test_shape_mismatch_names_the_op_and_both_shapes(name: str, f: Callable) -> None:
    with pytest.raises(ValueError) as info:
        f(t((2, 3)), t((4,)))
    message = str(info.value)
    assert message.startswith(name)
    assert "(2, 3)" in message and "(4,)" in message


def test_shape_mismatch_with_an_ndarray_operand() -> None:
    with pytest.raises(ValueError, match=re.escape("Add: shapes (2, 3) and (4,)")):
        t((2, 3)) + np.ones(4)
    with pytest.raises(ValueError, match=re.escape("Mul: shapes (4,) and (2, 3)")):
        np.ones(4) * t((2, 3))


def test_where_mismatch_names_all_three_shapes() -> None:
    with pytest.raises(ValueError, match=re.escape("Where: shapes (2,), (2, 3) and (4,)")):
        gn.where(np.array([True, False]), t((2, 3)), t((4,)))


@pytest.mark.parametrize(
    ("f", "pattern"),
    [
        (lambda: t((2, 3)).reshape(4), r"Reshape: input of shape \(2, 3\).*\(4,\)"),
        (lambda: t((2, 3)).broadcast_to((4, 3)), r"BroadcastTo: input of shape \(2, 3\)"),
        (lambda: t((2, 3)).transpose(0, 0), r"not a permutation"),
        (lambda: t((2, 3)).sum(axis=2), r"axis 2 is out of bounds.*dimension 2"),
        (lambda: t((2, 3)).max(axis=(0, 0)), r"repeated axis"),
        (lambda: t((3,)).var(ddof=3), r"3 entries with ddof=3"),
        (lambda: t(()) @ t((3,)), r"MatMul.*0-d"),
        (lambda: gn.stack([t((2,)), t((3,))]), r"same shape.*\(2,\).*\(3,\)"),
        (lambda: gn.stack([t((2,))], axis=3), r"axis 3 is out of bounds"),
        (lambda: gn.concatenate([]), r"at least one"),
        (lambda: t((0,)).max(), r"empty"),
        (lambda: t((2,)).item(), r"one element.*\(2,\)"),
        (lambda: bool(t((2,))), r"ambiguous"),
        (lambda: t((2,)).backward(np.ones(3)), r"grad has shape \(3,\).*shape \(2,\)"),
    ],
)
def test_other_shape_errors_are_value_errors(f: Callable, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        f()


def test_index_errors() -> None:
    with pytest.raises(IndexError, match="float64"):
        t((3,))[np.array([0.5])]
    with pytest.raises(IndexError):
        t((3,))[5]


# ---------------------------------------------------------------------------- non-numeric
@pytest.mark.parametrize(
    "data", ["abc", [1, "a"], {"a": 1}, None, object(), [[1, 2], [3]]], ids=repr
)
def test_non_numeric_data_is_a_type_error(data: Any) -> None:
    with pytest.raises(TypeError, match="cannot make a tensor from"):
        gn.tensor(data)
    with pytest.raises(TypeError, match="cannot make a tensor from"):
        gn.Tensor(data)


@pytest.mark.parametrize("other", ["a", None, {"k": 1}], ids=repr)
def test_non_numeric_operand_is_a_type_error(other: Any) -> None:
    with pytest.raises(TypeError, match=r"Add: input 1 is .* not numeric"):
        t((2,)) + other
    with pytest.raises(TypeError, match=r"Mul: input 0 is .* not numeric"):
        other * t((2,))


@pytest.mark.parametrize("dtype", [str, object, np.complex128])
def test_unsupported_dtypes_are_type_errors(dtype: Any) -> None:
    with pytest.raises(TypeError, match="dtype"):
        gn.tensor([1.0], dtype=dtype)


def test_default_dtype_must_be_float32_or_float64() -> None:
    with pytest.raises(TypeError, match="int32"):
        gn.set_default_dtype(np.int32)
    assert gn.get_default_dtype() == np.float32


def test_toolkit_type_errors() -> None:
    with pytest.raises(TypeError, match="not numeric"):
        gn.gradcheck(lambda x: x, "abc")
    with pytest.raises(TypeError, match="must return a Tensor"):
        gn.grad(lambda x: 3.0, [1.0])
    with pytest.raises(TypeError, match="cannot differentiate"):
        gn.grad(lambda x: x.sum(), "abc")
    with pytest.raises(ValueError, match=r"scalar.*\(2,\)"):
        gn.grad(lambda x: x * 2.0, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"scalar.*\(2,\)"):
        gn.hessian(lambda x: x * 2.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="numerical_jacobian"):
        gn.numerical_grad(lambda x: x * 2.0, [1.0, 2.0])


# ---------------------------------------------------------------------------- backward misuse
def test_backward_on_a_tensor_that_needs_no_grad_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"does not require grad.*requires_grad=True"):
        gn.tensor([1.0, 2.0]).sum().backward()


def test_non_scalar_backward_without_grad_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*pass grad=.*\.sum\(\)"):
        (t((2, 3)) * 2.0).backward()


def test_second_backward_through_a_freed_graph_says_what_to_do() -> None:
    y = (t((2,)) * 2.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"second time.*backward\(retain_graph=True\)"):
        y.backward()


def test_gradients_of_a_non_scalar_need_grad_output() -> None:
    x = t((2,))
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*grad_output"):
        gn.gradients(x * 2.0, [x])


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_requires_grad_on_integers_names_the_dtype(dtype: Any) -> None:
    with pytest.raises(RuntimeError, match=rf"float32/float64.*{np.dtype(dtype).name}"):
        gn.tensor(np.zeros(2, dtype=dtype), requires_grad=True)


def test_retain_grad_on_a_tensor_that_needs_none() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        gn.tensor([1.0]).retain_grad()


def test_len_and_iteration_of_a_0d_tensor() -> None:
    with pytest.raises(TypeError, match="0-d"):
        len(gn.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(gn.tensor(1.0)).__next__()
