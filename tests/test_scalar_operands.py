"""A Python number in an operation with a Tensor gives exactly NumPy's result.

glassnet turns such a number into a 0-d array of the Tensor's dtype (faster on small
arrays); these tests hold it to NumPy's own rule for Python scalars, bit for bit, and to
the same result dtype, including the cases where the conversion must not happen.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest

import glassnet as gn

VALUES = [1.0001, 2, -3, 0.5, 0.0, -0.0, 0, 1e-40, 1e39, -1e39, 2**70, float("inf"),
          float("-inf"), float("nan"), 3.0, 3]
OPS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    # bitwise, so that -0.0 vs 0.0 and NaN payloads count
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8)), (got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_float_tensor_and_python_number_match_numpy(dtype, op):
    a = np.array([[-2.5, -0.0, 0.0], [0.75, 3.0, 1e-3]], dtype=dtype)
    t = gn.tensor(a, requires_grad=True)
    for value in VALUES * 2:  # twice: the second time the number comes from the cache
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want_right, want_left = op(a, value), op(value, a)
            got_right, got_left = op(t, value).data, op(value, t).data
        _same(got_right, want_right)
        _same(got_left, want_left)


@pytest.mark.parametrize("op", [operator.add, operator.mul, operator.truediv],
                         ids=lambda f: f.__name__)
def test_integer_tensor_keeps_numpy_promotion(op):
    a = np.array([1, 2, 3], dtype=np.int64)
    t = gn.tensor(a)
    for value in (1, 1.0, 1, 2.5, 1):  # 1 and 1.0 are equal keys: must not share a result
        _same(op(t, value).data, op(a, value))
        _same(op(value, t).data, op(value, a))


def test_gradient_through_a_converted_number():
    x = gn.tensor(np.array([1.0, -2.0], dtype=np.float32), requires_grad=True)
    (x * 1.5 + 2.0 / x).sum().backward()
    want = np.float32(1.5) - np.float32(2.0) / (x.data * x.data)
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-6)
    assert x.grad.dtype == np.float32


def test_converted_numbers_are_read_only():
    x = gn.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x * 1.25
    const = y._ctx.arrays[1]
    assert isinstance(const, np.ndarray) and const.dtype == np.float32
    with pytest.raises(ValueError):
        const[...] = 2.0


@pytest.mark.parametrize("scalar_type", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_numpy_float_scalars_act_like_python_numbers_as_in_pytorch(scalar_type, dtype, op):
    """A NumPy float scalar does not change a float Tensor's dtype (PyTorch's rule; NumPy
    alone would promote float32 to float64): the result is the Python number's, bit for
    bit, and PyTorch's dtype and values."""
    import torch

    a = np.array([[0.5, 1.25, 2.0], [3.0, 0.75, 1e-3]], dtype=dtype)
    t, ta = gn.tensor(a), torch.from_numpy(a)
    for value in (1.5, -3.0, 0.0, 1e-4):
        s = scalar_type(value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pairs = [(op(t, s), op(a, float(s)), op(ta, s)),
                     (op(s, t), op(float(s), a), op(s, ta))]
        for got, want, theirs in pairs:
            _same(got.data, want)
            assert str(theirs.dtype) == f"torch.{np.dtype(dtype).name}"
            np.testing.assert_allclose(got.data, theirs.numpy(), rtol=1e-6, equal_nan=True)
