"""Numerical stability: softmax, log_softmax, logsumexp (and sigmoid, softplus) stay finite
and correct on huge inputs, in float32 and float64, with every NumPy floating-point
warning (overflow, underflow, invalid, divide) turned into an error.

The expected values are worked out by hand with the ``math`` module in pure Python
(independently of glassnet), using log-sum-exp's identity lse(x) = m + log sum e^(x - m).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import glassnet as gn

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-6, np.float64: 1e-13}
ROWS = [
    [1000.0, 1.0],
    [-1e4, 0.0, 1e4],
    [-1000.0, -1001.0],
    [1e4, 1e4],
    [0.0, -1e4, 50.0, 3.0],
    [88.0, 89.0, 90.0],  # e^90 overflows float32
    [-745.0, -746.0],  # e^-745 underflows float64
]


@pytest.fixture(autouse=True)
def raise_on_floating_point_warnings() -> Iterator[None]:
    with np.errstate(all="raise"):
        yield


def lse(row: list[float]) -> float:
    m = max(row)
    return m + math.log(math.fsum(math.exp(v - m) for v in row))


def log_softmax(row: list[float]) -> list[float]:
    """(v - m) - log sum e^(u - m): no large number is ever subtracted from another."""
    m = max(row)
    log_s = math.log(math.fsum(math.exp(u - m) for u in row))
    return [(v - m) - log_s for v in row]


def softmax(row: list[float]) -> list[float]:
    return [math.exp(v) for v in log_softmax(row)]


def leaf(values: Any, dtype: Any) -> gn.Tensor:
    return gn.tensor(np.array(values, dtype=dtype), requires_grad=True)


def check(got: gn.Tensor, expected: Any, dtype: Any) -> None:
    assert got.dtype == dtype
    assert np.all(np.isfinite(got.data))
    np.testing.assert_allclose(got.data, np.array(expected), rtol=RTOL[dtype], atol=1e-30)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_logsumexp(row: list[float], dtype: Any) -> None:
    x = leaf(row, dtype)
    y = x.logsumexp()
    check(y, lse(row), dtype)
    y.backward()  # d lse / dx = softmax(x)
    check(x.grad, softmax(row), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_softmax(row: list[float], dtype: Any, rng: np.random.Generator) -> None:
    x = leaf(row, dtype)
    y = x.softmax()
    p = softmax(row)
    check(y, p, dtype)
    w = rng.standard_normal(len(row)).tolist()
    (y * np.array(w, dtype=dtype)).sum().backward()  # (diag(p) - p p^T) w
    pw = math.fsum(pk * wk for pk, wk in zip(p, w))
    check(x.grad, [pk * (wk - pw) for pk, wk in zip(p, w)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_log_softmax(row: list[float], dtype: Any, rng: np.random.Generator) -> None:
    x = leaf(row, dtype)
    y = x.log_softmax()
    check(y, log_softmax(row), dtype)
    w = rng.standard_normal(len(row)).tolist()
    (y * np.array(w, dtype=dtype)).sum().backward()  # w - p sum(w)
    sw = math.fsum(w)
    check(x.grad, [wk - pk * sw for pk, wk in zip(softmax(row), w)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_batches_along_an_axis(axis: int, dtype: Any) -> None:
    rows = [[1000.0, 1.0, -5.0], [-1e4, 0.0, 1e4]]
    x = leaf(rows, dtype)
    cols = [list(c) for c in zip(*rows)]
    lines = rows if axis in (1, -1) else cols

    def arrange(per_line: list[list[float]]) -> np.ndarray:
        a = np.array(per_line)
        return a if axis in (1, -1) else a.T

    check(x.softmax(axis=axis), arrange([softmax(r) for r in lines]), dtype)
    check(x.log_softmax(axis=axis), arrange([log_softmax(r) for r in lines]), dtype)
    y = x.logsumexp(axis=axis, keepdims=True)
    assert y.shape == ((2, 1) if axis in (1, -1) else (1, 3))
    check(y.reshape(-1), [lse(r) for r in lines], dtype)
    y.sum().backward()
    check(x.grad, arrange([softmax(r) for r in lines]), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_second_derivative_of_logsumexp_stays_finite(dtype: Any) -> None:
    """The Hessian of lse is diag(p) - p p^T; on [1000, 1] that is numerically 0."""
    x = leaf([1000.0, 1.0], dtype)
    (g,) = gn.gradients(x.logsumexp(), [x], create_graph=True)
    (h0,) = gn.gradients(g[0], [x])
    p = softmax([1000.0, 1.0])
    check(h0, [p[0] - p[0] * p[0], -p[0] * p[1]], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_softplus_at_extremes(dtype: Any) -> None:
    row = [-1e4, -100.0, 0.0, 100.0, 1e4]
    x = leaf(row, dtype)
    s = x.sigmoid()
    expected = [1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
                for v in row]
    check(s, expected, dtype)
    s.sum().backward()
    check(x.grad, [e * (1 - e) for e in expected], dtype)
    x = leaf(row, dtype)
    y = x.softplus()
    check(y, [max(v, 0.0) + math.log1p(math.exp(-abs(v))) for v in row], dtype)
    y.sum().backward()
    check(x.grad, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_entries_minus_infinity(dtype: Any) -> None:
    """-inf entries (a mask) get probability 0 and gradient 0; the rest is unaffected."""
    row = [-math.inf, 0.0, 1.0, -math.inf]
    finite = [0.0, 1.0]
    x = leaf(row, dtype)
    y = x.logsumexp()
    check(y, lse(finite), dtype)
    y.backward()
    check(x.grad, [0.0, *softmax(finite), 0.0], dtype)
    x = leaf(row, dtype)
    p = x.softmax()
    check(p, [0.0, *softmax(finite), 0.0], dtype)
    (p * np.arange(4, dtype=dtype)).sum().backward()
    assert np.all(np.isfinite(x.grad.data)) and x.grad.data[0] == 0.0 == x.grad.data[3]
    x = leaf(row, dtype)
    logp = x.log_softmax()
    assert logp.data[0] == -np.inf == logp.data[3]
    np.testing.assert_allclose(logp.data[1:3], log_softmax(finite), rtol=RTOL[dtype])
    logp[1:3].sum().backward()
    check(x.grad, [0.0, *[1 - 2 * q for q in softmax(finite)], 0.0], dtype)
