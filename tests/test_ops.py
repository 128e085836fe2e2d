"""Generic tests of every primitive, driven by the op registry in tests/op_specs.py.

For every case of every spec: gradcheck (float64 central differences, STYLE.md's
tolerance |num - ana| <= 1e-6 + 1e-5 |ana|), gradgradcheck, and PyTorch (float64) as the
oracle for the value, the vector-Jacobian product and the second derivative (the
gradient of v . (u^T J), a Hessian-vector product). Plus: the registry covers every
primitive, a deliberately wrong backward is caught, and the stated conventions at kinks.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.autograd.function import Function
from glassnet.ops import elementwise as E
from op_specs import (
    N_CASES,
    SPEC_CASES,
    SPECS,
    SPECS_BY_ID,
    Case,
    OpSpec,
    n_cases,
    primitive_classes,
)

# PyTorch and glassnet run the same float64 formulas, up to the order of operations.
ORACLE_TOL = {"rtol": 1e-10, "atol": 1e-12}


def _spec_case(spec_id: str, k: int, rng: np.random.Generator) -> tuple[OpSpec, Case]:
    spec = SPECS_BY_ID[spec_id]
    return spec, spec.cases(rng)[k]


def _is_float(x: np.ndarray) -> bool:
    return np.asarray(x).dtype.kind == "f"


def _gn_inputs(case: Case, dtype: Any = np.float64) -> list[gn.Tensor]:
    return [
        gn.tensor(x, dtype=dtype, requires_grad=True) if _is_float(x) else gn.tensor(x)
        for x in case.inputs
    ]


def _torch_inputs(case: Case, dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    return [
        torch.tensor(x, dtype=dtype, requires_grad=True) if _is_float(x) else torch.as_tensor(x)
        for x in case.inputs
    ]


def _diff(inputs: list[Any], case: Case) -> list[Any]:
    return [t for t, x in zip(inputs, case.inputs) if _is_float(x)]


def _np(g: Any, like: np.ndarray) -> np.ndarray:
    """A gradient as an ndarray; None (no dependence) is zero."""
    if g is None:
        return np.zeros(np.shape(like))
    if isinstance(g, torch.Tensor):
        return g.detach().numpy(force=True)  # force: torch may return a lazy ZeroTensor
    return np.asarray(g.data)


def _vjp_gn(spec: OpSpec, case: Case, u: np.ndarray, create_graph: bool = False) -> Any:
    ts = _gn_inputs(case)
    y = spec.fn(*ts, **case.kwargs)
    return ts, y, gn.gradients(y, _diff(ts, case), u, create_graph=create_graph)


def _vjp_torch(torch_fn: Callable[..., Any], case: Case, u: np.ndarray) -> Any:
    ts = _torch_inputs(case)
    y = torch_fn(*ts, **case.kwargs)
    diff = _diff(ts, case)
    gs = torch.autograd.grad(y, diff, torch.tensor(u), create_graph=True, allow_unused=True)
    return ts, y, gs


def assert_vjp_matches_torch(
    fn: Callable[..., Any], torch_fn: Callable[..., Any], case: Case, u: np.ndarray
) -> None:
    """glassnet's u^T J equals PyTorch's, for every differentiable input."""
    ts = _gn_inputs(case)
    y = fn(*ts, **case.kwargs)
    gs = gn.gradients(y, _diff(ts, case), u)
    _, _, tgs = _vjp_torch(torch_fn, case, u)
    for g, tg, x in zip(gs, tgs, [x for x in case.inputs if _is_float(x)]):
        np.testing.assert_allclose(_np(g, x), _np(tg, x), **ORACLE_TOL)


# ---------------------------------------------------------------------------- the registry
def test_every_primitive_has_a_spec() -> None:
    covered = {spec.op for spec in SPECS}
    missing = [f"{c.__module__}.{c.__name__}" for c in primitive_classes() if c not in covered]
    assert not missing, (
        f"primitives without a spec in tests/op_specs.py: {missing}; "
        "add one (see the instructions at the top of tests/op_specs.py)"
    )


def test_primitives_live_in_glassnet_ops() -> None:
    """A Function subclass anywhere else in the package would escape the registry."""
    for info in pkgutil.walk_packages(gn.__path__, "glassnet."):
        importlib.import_module(info.name)
    stray, todo = [], list(Function.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        module = cls.__module__
        if module.startswith("glassnet") and not module.startswith("glassnet.ops."):
            stray.append(f"{module}.{cls.__name__}")
    assert not stray, f"move these primitives into a module of glassnet/ops/: {stray}"


def test_discovery_finds_the_core_primitives() -> None:
    names = {c.__name__ for c in primitive_classes()}
    assert {"Add", "Exp", "Sum", "Softmax", "GetItem", "ScatterAdd", "MatMul"} <= names


def test_spec_ids_are_unique() -> None:
    ids = [spec.id for spec in SPECS]
    assert len(ids) == len(set(ids)), "two specs of one op need different names"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_spec_cases_cover_the_required_shapes(spec: OpSpec, rng: np.random.Generator) -> None:
    cases = spec.cases(rng)
    assert len(cases) >= N_CASES
    assert len(cases) == n_cases(spec), "the number of cases must not depend on the draws"
    floats = [[x for x in c.inputs if _is_float(x)] for c in cases]
    assert all(floats), "every case needs a differentiable (float64) input"
    assert all(x.dtype == np.float64 for xs in floats for x in xs)
    assert any(1 in x.shape for xs in floats for x in xs), "no size-1 axis in any case"
    if spec.scalar_inputs:
        assert any(x.ndim == 0 for xs in floats for x in xs), "no 0-d input in any case"
    if any(len(xs) > 1 for xs in floats):
        assert any(len({x.shape for x in xs}) > 1 for xs in floats), "no broadcasting pair"


def _graph_ops(y: gn.Tensor) -> set[type]:
    seen: set[type] = set()
    stack = [y]
    while stack:
        t = stack.pop()
        if t.grad_fn is not None:
            seen.add(type(t.grad_fn))
            stack.extend(i for i in t.grad_fn.inputs if isinstance(i, gn.Tensor))
    return seen


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_spec_exercises_its_primitive(spec: OpSpec, rng: np.random.Generator) -> None:
    case = spec.cases(rng)[0]
    y = spec.fn(*_gn_inputs(case), **case.kwargs)
    assert spec.op in _graph_ops(y)


# ---------------------------------------------------------------------------- per case
@pytest.mark.parametrize(("spec_id", "k"), SPEC_CASES)
def test_gradcheck(spec_id: str, k: int, rng: np.random.Generator) -> None:
    spec, case = _spec_case(spec_id, k, rng)
    report = gn.gradcheck(
        lambda *ts: spec.fn(*ts, **case.kwargs), *case.inputs, **spec.gradcheck_kwargs
    )
    assert report.ok, f"{case}: {report}"


@pytest.mark.parametrize(("spec_id", "k"), SPEC_CASES)
def test_gradgradcheck(spec_id: str, k: int, rng: np.random.Generator) -> None:
    spec, case = _spec_case(spec_id, k, rng)
    if not spec.second_order:
        pytest.skip(f"{spec.id} declares no second derivative")
    kwargs = {"atol": 1e-6, "rtol": 1e-5, **spec.gradcheck_kwargs}
    report = gn.gradgradcheck(lambda *ts: spec.fn(*ts, **case.kwargs), *case.inputs, **kwargs)
    assert report.ok, f"{case}: {report}"


@pytest.mark.parametrize(("spec_id", "k"), SPEC_CASES)
def test_value_matches_torch(spec_id: str, k: int, rng: np.random.Generator) -> None:
    spec, case = _spec_case(spec_id, k, rng)
    y = spec.fn(*_gn_inputs(case), **case.kwargs)
    ty = spec.torch_fn(*_torch_inputs(case), **case.kwargs)
    assert y.shape == tuple(ty.shape)
    assert y.dtype == np.dtype(str(ty.dtype).removeprefix("torch."))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **ORACLE_TOL)


@pytest.mark.parametrize(("spec_id", "k"), SPEC_CASES)
def test_vjp_matches_torch(spec_id: str, k: int, rng: np.random.Generator) -> None:
    spec, case = _spec_case(spec_id, k, rng)
    y = spec.fn(*_gn_inputs(case), **case.kwargs)
    assert_vjp_matches_torch(spec.fn, spec.torch_fn, case, rng.standard_normal(y.shape))


@pytest.mark.parametrize(("spec_id", "k"), SPEC_CASES)
def test_second_derivative_matches_torch(
    spec_id: str, k: int, rng: np.random.Generator
) -> None:
    """d/dx [v . (u^T J(x))], a Hessian-vector product, against torch's double backward."""
    spec, case = _spec_case(spec_id, k, rng)
    if not spec.second_order:
        pytest.skip(f"{spec.id} declares no second derivative")
    xs = [x for x in case.inputs if _is_float(x)]
    y0 = spec.fn(*_gn_inputs(case), **case.kwargs)
    u = rng.standard_normal(y0.shape)
    vs = [rng.standard_normal(x.shape) for x in xs]

    ts, _, gs = _vjp_gn(spec, case, u, create_graph=True)
    s = gn.tensor(0.0, dtype=np.float64)
    for g, v in zip(gs, vs):
        if g is not None:
            s = s + (g * v).sum()
    hv = gn.gradients(s, _diff(ts, case)) if s.requires_grad else [None] * len(xs)

    tts, _, tgs = _vjp_torch(spec.torch_fn, case, u)
    ts_ = torch.zeros((), dtype=torch.float64)
    for tg, v in zip(tgs, vs):
        if tg is not None:
            ts_ = ts_ + (tg * torch.tensor(v)).sum()
    thv = (
        torch.autograd.grad(ts_, _diff(tts, case), allow_unused=True)
        if ts_.requires_grad
        else [None] * len(xs)
    )
    for h, th, x in zip(hv, thv, xs):
        np.testing.assert_allclose(_np(h, x), _np(th, x), **ORACLE_TOL)


@pytest.mark.parametrize(("spec_id", "k"), SPEC_CASES)
def test_float32_in_float32_out(spec_id: str, k: int, rng: np.random.Generator) -> None:
    """Training runs in float32: the output and the gradients keep PyTorch's dtype."""
    spec, case = _spec_case(spec_id, k, rng)
    ts = _gn_inputs(case, np.float32)
    y = spec.fn(*ts, **case.kwargs)
    ty = spec.torch_fn(*_torch_inputs(case, torch.float32), **case.kwargs)
    assert y.dtype == np.dtype(str(ty.dtype).removeprefix("torch."))
    y.backward(np.ones(y.shape, dtype=y.dtype))
    for t in _diff(ts, case):
        assert t.grad is None or t.grad.dtype == np.float32


# ---------------------------------------------------------------------------- negative controls
class _WrongMul(E.Mul):
    """Mul with a wrong gradient for b (dout * b instead of dout * a)."""

    def backward(self, dout: gn.Tensor) -> tuple[gn.Tensor, gn.Tensor]:
        a, b = self.inputs
        return dout * b, dout * b


class _FrozenSin(E.Sin):
    """Sin whose gradient has the right value but is a constant: the second derivative is
    lost (-sin x becomes 0)."""

    def backward(self, dout: gn.Tensor) -> tuple[gn.Tensor]:
        return (dout * np.cos(self.inputs[0].data),)


def test_gradcheck_catches_a_wrong_backward(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    report = gn.gradcheck(_WrongMul.apply, a, b)
    assert not report.ok
    assert not bool(report)
    assert report.where.startswith("input 1")
    assert report.max_abs_error > 1e-3
    assert "FAILED" in str(report)
    with pytest.raises(gn.GradcheckError, match="FAILED"):
        gn.gradcheck(_WrongMul.apply, a, b, raise_on_failure=True)
    with pytest.raises(AssertionError):  # GradcheckError is an AssertionError
        gn.gradcheck(_WrongMul.apply, a, b, raise_on_failure=True)


def test_the_correct_op_passes_the_same_check(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    assert gn.gradcheck(E.Mul.apply, a, b, raise_on_failure=True).ok


def test_gradgradcheck_catches_a_lost_second_derivative(rng: np.random.Generator) -> None:
    x = rng.uniform(0.5, 1.5, 3)  # sin x is far from 0 here
    assert gn.gradcheck(_FrozenSin.apply, x).ok
    assert not gn.gradgradcheck(_FrozenSin.apply, x).ok
    with pytest.raises(gn.GradcheckError):
        gn.gradgradcheck(_FrozenSin.apply, x, raise_on_failure=True)
    assert gn.gradgradcheck(E.Sin.apply, x).ok


def test_torch_oracle_catches_a_wrong_backward(rng: np.random.Generator) -> None:
    case = Case((rng.standard_normal(3), rng.standard_normal(3)))
    u = rng.standard_normal(3)
    assert_vjp_matches_torch(E.Mul.apply, torch.mul, case, u)
    with pytest.raises(AssertionError):
        assert_vjp_matches_torch(_WrongMul.apply, torch.mul, case, u)


# ---------------------------------------------------------------------------- kinks
KINKS = [
    # (name, glassnet f, torch f, x, the stated convention: df/dx summed over outputs)
    ("relu at 0", gn.relu, torch.relu, [0.0, 1.0, -1.0], [0.0, 1.0, 0.0]),
    ("abs at 0", gn.abs, torch.abs, [0.0, 2.0, -2.0], [0.0, 1.0, -1.0]),
    (
        "leaky_relu at 0",
        lambda x: gn.leaky_relu(x, 0.1),
        lambda x: torch.nn.functional.leaky_relu(x, 0.1),
        [0.0, 1.0, -1.0],
        [0.1, 1.0, 0.1],
    ),
    ("max ties", lambda x: x.max(), torch.amax, [3.0, 1.0, 3.0], [0.5, 0.0, 0.5]),
    ("min ties", lambda x: x.min(), torch.amin, [1.0, 1.0, 1.0, 4.0], [1 / 3] * 3 + [0.0]),
    (
        "max ties along an axis",
        lambda x: x.reshape(2, 2).max(axis=1),
        lambda x: x.reshape(2, 2).amax(dim=1),
        [2.0, 2.0, 1.0, 5.0],
        [0.5, 0.5, 0.0, 1.0],
    ),
    (
        "maximum ties",
        lambda x: gn.maximum(x, np.array([1.0, 0.0, 5.0])),
        lambda x: torch.maximum(x, torch.tensor([1.0, 0.0, 5.0], dtype=torch.float64)),
        [1.0, 2.0, 3.0],
        [0.5, 1.0, 0.0],
    ),
    (
        "minimum ties",
        lambda x: gn.minimum(x, np.array([1.0, 0.0, 5.0])),
        lambda x: torch.minimum(x, torch.tensor([1.0, 0.0, 5.0], dtype=torch.float64)),
        [1.0, 2.0, 3.0],
        [0.5, 0.0, 1.0],
    ),
    (
        "clip at its bounds",
        lambda x: gn.clip(x, -1.0, 1.0),
        lambda x: torch.clamp(x, -1.0, 1.0),
        [-1.0, 1.0, 2.0, -3.0, 0.5],
        [1.0, 1.0, 0.0, 0.0, 1.0],
    ),
]


@pytest.mark.parametrize(
    ("f", "tf", "x", "expected"), [k[1:] for k in KINKS], ids=[k[0] for k in KINKS]
)
def test_gradient_at_kinks(f: Any, tf: Any, x: list, expected: list) -> None:
    g = gn.grad(lambda t: f(t).sum(), np.array(x))
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(tf(tx).sum(), tx)
    np.testing.assert_allclose(g, tg.numpy(), rtol=1e-12)


def test_pow_zero_base_convention() -> None:
    """d(a^b)/db at a = 0 is taken as 0, as in PyTorch."""
    a = gn.tensor([0.0, 2.0], dtype=np.float64)
    b = gn.tensor([2.0, 3.0], dtype=np.float64, requires_grad=True)
    (a**b).sum().backward()
    tb = torch.tensor([2.0, 3.0], dtype=torch.float64, requires_grad=True)
    (torch.tensor([0.0, 2.0], dtype=torch.float64) ** tb).sum().backward()
    np.testing.assert_allclose(b.grad.data, [0.0, 8 * np.log(2.0)], rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, tb.grad.numpy(), rtol=1e-12)
