"""The derivative toolkit (grad, jacobian, hessian, numerical derivatives, gradcheck) and
the derivatives that the lecture (LECTURE.md section 10) works out by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.autograd.function import Function


# ---------------------------------------------------------------------------- the six-hump function
def six_hump(x: gn.Tensor) -> gn.Tensor:
    """f(x1, x2) = (4 - 2.1 x1^2 + x1^4/3) x1^2 + x1 x2 + (-4 + 4 x2^2) x2^2."""
    x1, x2 = x[0], x[1]
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


def six_hump_grad(x1: float, x2: float) -> np.ndarray:
    """The lecture's gradient (2 x1^5 - 8.4 x1^3 + 8 x1 + x2, 16 x2^3 - 8 x2 + x1)."""
    return np.array([2 * x1**5 - 8.4 * x1**3 + 8 * x1 + x2, 16 * x2**3 - 8 * x2 + x1])


def six_hump_hessian(x1: float, x2: float) -> np.ndarray:
    """The lecture's Hessian [[10 x1^4 - 25.2 x1^2 + 8, 1], [1, 48 x2^2 - 8]]."""
    return np.array([[10 * x1**4 - 25.2 * x1**2 + 8, 1.0], [1.0, 48 * x2**2 - 8]])


@pytest.mark.parametrize("k", range(10))
def test_six_hump_gradient_formula(k: int, rng: np.random.Generator) -> None:
    x = rng.uniform(-2, 2, size=(10, 2))[k]
    np.testing.assert_allclose(gn.grad(six_hump, x), six_hump_grad(*x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", range(10))
def test_six_hump_hessian_formula(k: int, rng: np.random.Generator) -> None:
    x = rng.uniform(-2, 2, size=(10, 2))[k]
    np.testing.assert_allclose(
        gn.hessian(six_hump, x), six_hump_hessian(*x), rtol=1e-12, atol=1e-12
    )


def test_six_hump_hessian_at_0_1_is_exact() -> None:
    h = gn.hessian(six_hump, [0.0, 1.0])
    np.testing.assert_array_equal(h, [[8.0, 1.0], [1.0, 40.0]])
    assert h.dtype == np.float64


def test_six_hump_gradient_at_0_1() -> None:
    np.testing.assert_allclose(gn.grad(six_hump, [0.0, 1.0]), [1.0, 8.0], atol=1e-14)


# ---------------------------------------------------------------------------- lecture examples
def test_gradient_descent_on_a_parabola_reaches_2() -> None:
    """f(x) = x^2 - 4x + 3 has its minimum at x = 2 (f'(x) = 2x - 4)."""
    x = gn.tensor(-3.0, dtype=np.float64, requires_grad=True)
    for _ in range(200):
        x.grad = None
        (x**2 - 4 * x + 3).backward()
        with gn.no_grad():
            x.data = x.data - 0.1 * x.grad.data
    assert x.item() == pytest.approx(2.0, abs=1e-9)


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma(rng: np.random.Generator) -> None:
    x = rng.uniform(-6, 6, 7)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(gn.jacobian(gn.sigmoid, x), np.diag(s * (1 - s)), rtol=1e-12)
    np.testing.assert_allclose(
        gn.grad(lambda t: t.sigmoid().sum(), x), s * (1 - s), rtol=1e-12
    )


def test_softmax_jacobian_is_diag_p_minus_p_pT(rng: np.random.Generator) -> None:
    s = rng.standard_normal(5)
    p = np.exp(s) / np.exp(s).sum()
    np.testing.assert_allclose(
        gn.jacobian(gn.softmax, s), np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15
    )


def test_jacobian_of_a_map_from_r2_to_r3(rng: np.random.Generator) -> None:
    """f(x) = (x1 x2, sin x1, x1^2 + 3 x2) has J = [[x2, x1], [cos x1, 0], [2 x1, 3]]."""

    def f(x: gn.Tensor) -> gn.Tensor:
        return gn.stack([x[0] * x[1], x[0].sin(), x[0] ** 2 + 3 * x[1]])

    x1, x2 = rng.standard_normal(2)
    expected = np.array([[x2, x1], [math.cos(x1), 0.0], [2 * x1, 3.0]])
    jac = gn.jacobian(f, [x1, x2])
    assert jac.shape == (3, 2)  # m x d
    np.testing.assert_allclose(jac, expected, rtol=1e-13)


def test_chain_rule_through_three_levels(rng: np.random.Generator) -> None:
    """d/dx f(g(h(x))) = f'(g(h(x))) g'(h(x)) h'(x), h = x^2 + 1, g = sin, f = exp."""
    x = rng.standard_normal(4)
    h, dh = x**2 + 1, 2 * x
    g, dg = np.sin(h), np.cos(h)
    df = np.exp(g)
    got = gn.grad(lambda t: (t**2 + 1).sin().exp().sum(), x)
    np.testing.assert_allclose(got, df * dg * dh, rtol=1e-13)


def test_linear_map_derivatives(rng: np.random.Generator) -> None:
    """s = W x + b: ds/dx = W (so dL/dx = W^T dL/ds), dL/dW = dL/ds x^T, ds/db = I."""
    W, x, b = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    np.testing.assert_allclose(gn.jacobian(lambda t: gn.tensor(W) @ t + b, x), W, rtol=1e-15)
    np.testing.assert_allclose(
        gn.jacobian(lambda t: gn.tensor(W) @ x + t, b), np.eye(3), rtol=1e-15
    )
    u = rng.standard_normal(3)  # dL/ds
    np.testing.assert_allclose(
        gn.grad(lambda t: ((gn.tensor(W) @ t) * u).sum(), x), W.T @ u, rtol=1e-13
    )
    np.testing.assert_allclose(
        gn.grad(lambda t: ((t @ x) * u).sum(), W), np.outer(u, x), rtol=1e-13
    )


def test_l2_regression_gradient_is_minus_2_residual(rng: np.random.Generator) -> None:
    y, s = rng.standard_normal(5), rng.standard_normal(5)
    np.testing.assert_allclose(
        gn.grad(lambda t: ((y - t) ** 2).sum(), s), -2 * (y - s), rtol=1e-13
    )


# ---------------------------------------------------------------------------- shapes, conventions
JACOBIAN_SHAPES = [
    # (x shape, glassnet f, the same f in torch)
    ((3,), lambda t: t * 2.0, lambda t: t * 2.0),
    ((2, 3), lambda t: t.sum(axis=0), lambda t: t.sum(dim=0)),
    ((2, 2), lambda t: t @ t, lambda t: t @ t),
    ((3,), lambda t: t.sum(), lambda t: t.sum()),
    ((), lambda t: gn.stack([t, t * t, t.sin()]), lambda t: torch.stack([t, t * t, t.sin()])),
    ((2, 3), lambda t: t.reshape(3, 2).exp()[None], lambda t: t.reshape(3, 2).exp()[None]),
]


@pytest.mark.parametrize(("xshape", "f", "tf"), JACOBIAN_SHAPES)
def test_jacobian_shape_is_out_shape_plus_x_shape(
    xshape: tuple, f: Callable[..., Any], tf: Callable[..., Any], rng: np.random.Generator
) -> None:
    x = rng.standard_normal(xshape)
    jac = gn.jacobian(f, x)
    assert jac.shape == f(gn.tensor(x)).shape + xshape
    expected = torch.autograd.functional.jacobian(tf, torch.tensor(x))
    assert jac.shape == tuple(expected.shape)  # PyTorch's convention
    np.testing.assert_allclose(jac, expected.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("xshape", [(), (3,), (2, 2), (1, 3)])
def test_hessian_shape_is_x_shape_twice(xshape: tuple, rng: np.random.Generator) -> None:
    x = rng.standard_normal(xshape)
    h = gn.hessian(lambda t: (t.sin() * t * t).sum(), x)
    assert h.shape == xshape + xshape
    expected = torch.autograd.functional.hessian(
        lambda t: (t.sin() * t * t).sum(), torch.tensor(x)
    )
    np.testing.assert_allclose(h, expected.numpy(), rtol=1e-12, atol=1e-14)


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose(rng: np.random.Generator) -> None:
    A = rng.standard_normal((3, 3))
    x = rng.standard_normal(3)
    h = gn.hessian(lambda t: t @ (gn.tensor(A) @ t), x)
    np.testing.assert_allclose(h, A + A.T, rtol=1e-13)


def test_hessian_of_a_linear_function_is_zero(rng: np.random.Generator) -> None:
    c = rng.standard_normal(3)
    np.testing.assert_array_equal(gn.hessian(lambda t: (t * c).sum(), np.ones(3)), np.zeros((3, 3)))


def test_derivatives_of_a_constant_function_are_zero() -> None:
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(gn.grad(lambda t: gn.tensor(3.0), x), [0.0, 0.0])
    np.testing.assert_array_equal(gn.jacobian(lambda t: gn.tensor([1.0, 2.0, 3.0]), x),
                                  np.zeros((3, 2)))


POINTS = {
    "list": lambda v: list(v),
    "ndarray": lambda v: np.array(v),
    "Tensor": lambda v: gn.tensor(v, dtype=np.float64),
    "Tensor requiring grad": lambda v: gn.tensor(v, dtype=np.float64, requires_grad=True),
}


@pytest.mark.parametrize("kind", POINTS)
def test_toolkit_accepts_list_ndarray_and_tensor(kind: str) -> None:
    x = POINTS[kind]([0.5, -1.0])
    cube = lambda t: (t**3).sum()  # noqa: E731
    np.testing.assert_allclose(gn.grad(cube, x), [0.75, 3.0], rtol=1e-14)
    np.testing.assert_allclose(gn.numerical_grad(cube, x), [0.75, 3.0], rtol=1e-8)
    np.testing.assert_allclose(gn.jacobian(lambda t: t**3, x), np.diag([0.75, 3.0]), rtol=1e-14)
    np.testing.assert_allclose(
        gn.numerical_jacobian(lambda t: t**3, x), np.diag([0.75, 3.0]), rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(gn.hessian(cube, x), np.diag([3.0, -6.0]), rtol=1e-14)
    assert gn.gradcheck(lambda t: t**3, x).ok
    if isinstance(x, gn.Tensor):
        assert x.grad is None  # the toolkit does not touch the caller's tensor


def test_python_points_are_evaluated_in_float64() -> None:
    assert gn.grad(lambda t: (t * t).sum(), [1.0, 2.0]).dtype == np.float64
    assert gn.hessian(lambda t: (t * t).sum(), [1, 2]).dtype == np.float64


def test_numerical_grad_is_a_central_difference() -> None:
    """For a cubic the central difference has error eps^2 f'''/6 exactly (f''' = 6)."""
    eps = 1e-2
    g = gn.numerical_grad(lambda t: (t**3).sum(), [2.0], eps=eps)
    assert g[0] == pytest.approx(12.0 + eps**2, rel=1e-10)


def test_numerical_jacobian_shape(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3))
    assert gn.numerical_jacobian(lambda t: t.sum(axis=1), x).shape == (2, 2, 3)


# ---------------------------------------------------------------------------- gradcheck report
def test_gradcheck_report_fields_on_success(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    report = gn.gradcheck(lambda x, y: (x * y).exp(), a, b)
    assert report.ok is True and bool(report)
    assert 0.0 <= report.max_abs_error <= 1e-6
    assert 0.0 <= report.max_rel_error <= 1e-5
    assert isinstance(report.where, str) and report.where.startswith("input")
    assert (report.atol, report.rtol) == (1e-6, 1e-5)
    assert "passed" in str(report)
    assert [j.shape for j in report.analytic] == [(6, 6), (6, 3)]
    assert [j.shape for j in report.numerical] == [(6, 6), (6, 3)]


def test_gradcheck_report_locates_the_worst_error() -> None:
    """f = 2x + w x with w x hidden from autograd (detach): the analytic derivative misses
    w, which is nonzero at entry 2 only, so the report must point there."""
    w = np.array([0.0, 0.0, 0.5])

    def f(x: gn.Tensor) -> gn.Tensor:
        return x * 2.0 + x.detach() * w

    report = gn.gradcheck(f, [1.0, 2.0, 3.0])
    assert not report.ok
    assert report.where == "input 0, output index (2,), input index (2,)"
    assert report.max_abs_error == pytest.approx(0.5, rel=1e-6)
    assert report.max_rel_error == pytest.approx(0.25, rel=1e-6)  # 0.5 / |2|


def test_gradcheck_passes_integer_inputs_as_constants(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 4))
    labels = np.array([0, 3, 1])
    report = gn.gradcheck(lambda s, y: s.log_softmax(axis=1)[np.arange(3), y.data], x, labels)
    assert report.ok
    assert len(report.analytic) == 1  # only the float input was differentiated


def test_gradcheck_tolerance_is_respected() -> None:
    """A small relative error passes a loose check and fails the default one."""

    class _Off(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, dout):
            return (dout * 1.001,)

    assert not gn.gradcheck(_Off.apply, [1.0, 2.0]).ok
    assert gn.gradcheck(_Off.apply, [1.0, 2.0], atol=1e-2, rtol=1e-2).ok


def test_gradcheck_reports_a_non_finite_gradient_as_infinitely_wrong() -> None:
    class _NanGrad(Function):
        def forward(self, x):
            return x * 2.0

        def backward(self, dout):
            return (dout * np.nan,)

    report = gn.gradcheck(_NanGrad.apply, [1.0, 2.0])
    assert not report.ok
    assert report.max_abs_error == np.inf and report.max_rel_error == np.inf


def test_gradgradcheck_on_a_composite(rng: np.random.Generator) -> None:
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    assert gn.gradgradcheck(lambda a, b: (a @ b).tanh().sum(axis=0), x, w).ok
