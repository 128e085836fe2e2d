"""The op registry: one spec per differentiable primitive; it drives tests/test_ops.py.

Every subclass of ``glassnet.autograd.function.Function`` defined in a module under
``glassnet.ops`` (found automatically, including modules added later such as
``glassnet/ops/losses.py`` and ``glassnet/ops/nn.py``) must be covered by a spec here, or
``test_every_primitive_has_a_spec`` fails. Classes whose name starts with ``_`` are taken
to be private helper bases and are not required to have one. The generic tests then
run, on every case of every spec: gradcheck in float64, gradgradcheck, and PyTorch as the
oracle for the value, the vector-Jacobian product and the second derivative.

How to add a spec
-----------------
Either append an ``OpSpec`` to ``SPECS`` in this file, or (cleaner when you own another
family of ops) create ``tests/op_specs_<family>.py`` that defines a module-level list
``SPECS = [OpSpec(...), ...]``; every ``tests/op_specs_*.py`` is imported and merged here.
Import the helpers from this module (``from op_specs import Case, OpSpec, cycle, ...``).

An ``OpSpec`` gives:

``op``
    The primitive class it covers (several specs may cover one class).
``fn(*tensors, **kwargs)``
    The glassnet call, returning a Tensor (call the class's ``apply`` or the public
    function that does).
``torch_fn(*torch_tensors, **kwargs)``
    The same computation in PyTorch (float64), the oracle.
``make_cases(rng)``
    Returns a list of at least 20 ``Case(inputs, kwargs)``; its length must not depend
    on the random draws. ``inputs`` are ndarrays: float64 ones are differentiated,
    integer or boolean ones (labels, masks) are passed as constant tensors. ``kwargs``
    go to both ``fn`` and ``torch_fn``. Include 0-d inputs, size-1 axes and, for ops of
    several inputs, broadcasting pairs (the tests check that the cases do). Keep inputs
    a few entries small (the checks cost one pass per entry), away from kinks
    (``away_from_zero``, ``distinct``) and inside the domain (``positive`` for log/sqrt).
``gradcheck_kwargs``
    Overrides of ``eps``/``atol``/``rtol`` for gradcheck, only where the math demands it
    (say why in a comment).
``second_order``
    False only for an op whose gradient is deliberately not differentiable (say why).
``scalar_inputs``
    False only for an op that rejects 0-d inputs (matmul, concatenate); otherwise some
    case must have a 0-d input.

A subclass that a test module defines (a spy, a deliberately broken op) is not a
primitive of glassnet and needs no spec.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import glassnet as gn
import glassnet.ops
from glassnet.autograd.function import Function
from glassnet.ops import elementwise as E
from glassnet.ops import linalg as L
from glassnet.ops import reduce as R
from glassnet.ops import shape as S

N_CASES = 20  # the minimum number of cases per spec


@dataclass(frozen=True)
class Case:
    """One input of a spec: arrays (float64 ones are differentiated) and keyword constants."""

    inputs: tuple[np.ndarray, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        shapes = ", ".join(str(np.shape(x)) for x in self.inputs)
        return f"Case({shapes}; {self.kwargs})"


@dataclass(frozen=True)
class OpSpec:
    """How to test one primitive: glassnet and torch calls and an input maker."""

    op: type
    fn: Callable[..., Any]
    torch_fn: Callable[..., Any]
    make_cases: Callable[[np.random.Generator], list[Case]]
    name: str = ""
    gradcheck_kwargs: dict[str, float] = field(default_factory=dict)
    second_order: bool = True
    scalar_inputs: bool = True

    @property
    def id(self) -> str:
        return self.name or self.op.__name__

    def cases(self, rng: np.random.Generator) -> list[Case]:
        return self.make_cases(rng)


# ---------------------------------------------------------------------------- inputs
def normal(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return rng.standard_normal(shape) * scale


def positive(
    rng: np.random.Generator, shape: tuple[int, ...], lo: float = 0.5, hi: float = 2.0
) -> np.ndarray:
    """Values in [lo, hi]: the domain of log, sqrt, a fractional power."""
    return rng.uniform(lo, hi, shape)


def away_from_zero(
    rng: np.random.Generator, shape: tuple[int, ...], lo: float = 0.1, hi: float = 2.0
) -> np.ndarray:
    """Values with lo <= |x| <= hi and random signs (away from the kink of relu, abs)."""
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return sign * rng.uniform(lo, hi, shape)


def distinct(rng: np.random.Generator, shape: tuple[int, ...], gap: float = 0.2) -> np.ndarray:
    """Values that differ pairwise by more than ``gap`` (no ties for max/min)."""
    n = int(np.prod(shape, dtype=int))
    values = (rng.permutation(n) - n / 2) * (gap + 0.1) + rng.uniform(0, 0.1, n)
    return values.reshape(shape)


def distinct_pair(
    rng: np.random.Generator, sa: tuple[int, ...], sb: tuple[int, ...], gap: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays whose broadcast entries differ by more than ``gap`` (no ties)."""
    while True:
        a, b = normal(rng, sa), normal(rng, sb)
        if np.all(np.abs(a - b) > gap):  # broadcasts
            return a, b


def cycle(templates: Sequence[Any], n: int = N_CASES) -> list[Any]:
    """Repeat ``templates`` to at least ``n`` entries (fresh random values each time)."""
    reps = -(-n // len(templates))
    return (list(templates) * reps)[: max(n, len(templates))]


UNARY_SHAPES = [(), (1,), (4,), (1, 1), (2, 3), (3, 1), (1, 3), (2, 1, 3), (2, 2, 2), (5,)]

BINARY_SHAPES = [
    ((), ()), ((3,), ()), ((), (3,)), ((3,), (3,)), ((1,), (3,)), ((3,), (1,)),
    ((2, 3), (3,)), ((3,), (2, 3)), ((2, 3), (2, 1)), ((2, 1), (2, 3)), ((2, 1), (1, 3)),
    ((1, 3), (2, 1)), ((2, 3), (1, 1)), ((1, 1), (2, 3)), ((2, 1, 3), (4, 1)),
    ((2, 2, 1), (1, 3)), ((2, 3), ()), ((), (2, 3)), ((2, 3), (2, 3)), ((1,), ()),
]


def unary(draw: Callable[..., np.ndarray], **kwargs: Any) -> Callable[..., list[Case]]:
    """A maker of one-input cases over UNARY_SHAPES (twice), values from ``draw``."""

    def make(rng: np.random.Generator) -> list[Case]:
        return [Case((draw(rng, s),), dict(kwargs)) for s in cycle(UNARY_SHAPES)]

    return make


def binary(
    draw_a: Callable[..., np.ndarray], draw_b: Callable[..., np.ndarray]
) -> Callable[..., list[Case]]:
    """A maker of two-input cases over the broadcasting pairs of BINARY_SHAPES."""

    def make(rng: np.random.Generator) -> list[Case]:
        return [Case((draw_a(rng, sa), draw_b(rng, sb))) for sa, sb in BINARY_SHAPES]

    return make


def _torch_dims(axis: Any, ndim: int) -> Any:
    """glassnet's axis=None (all axes) as a torch ``dim``."""
    return tuple(range(ndim)) if axis is None else axis


# ---------------------------------------------------------------------------- elementwise
def _binary_distinct(rng: np.random.Generator) -> list[Case]:
    return [Case(distinct_pair(rng, sa, sb)) for sa, sb in BINARY_SHAPES]


def _pow_const_cases(rng: np.random.Generator) -> list[Case]:
    exponents = [2, 3, 0.5, -1, 1, 0, 2.5, -0.5, 4, -2]
    cases = []
    for k, (s, p) in enumerate(zip(cycle(UNARY_SHAPES), cycle(exponents))):
        # integer powers also on negative bases; fractional ones on the domain x > 0
        x = away_from_zero(rng, s, 0.5, 2.0) if float(p).is_integer() and k % 2 else positive(
            rng, s)
        cases.append(Case((x,), {"p": p}))
    return cases


def _pow_const_grad_cases(rng: np.random.Generator) -> list[Case]:
    """(dout, x) pairs (broadcasting both ways) with PowConst's exponents."""
    cases = []
    for k, (c, (sa, sb)) in enumerate(zip(_pow_const_cases(rng), cycle(BINARY_SHAPES))):
        p = c.kwargs["p"]
        x = away_from_zero(rng, sb, 0.5, 2.0) if float(p).is_integer() and k % 2 else positive(
            rng, sb)
        cases.append(Case((normal(rng, sa), x), {"p": p}))
    return cases


def _where_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for k, (sa, sb) in enumerate(BINARY_SHAPES):
        full = np.broadcast_shapes(sa, sb)
        cond_shape = full if k % 2 == 0 else full[-1:]
        cond = rng.random(cond_shape) < 0.5
        cases.append(Case((cond, normal(rng, sa), normal(rng, sb))))
    return cases


def _clip_cases(rng: np.random.Generator) -> list[Case]:
    bounds = [(-0.5, 0.5), (None, 0.3), (-0.3, None), (0.0, 1.0), (-1.0, 0.2)]
    cases = []
    for s, (lo, hi) in zip(cycle(UNARY_SHAPES), cycle(bounds)):
        x = normal(rng, s)
        for b in (lo, hi):  # keep every entry 0.05 away from a bound (the kink)
            if b is not None:
                x = np.where(np.abs(x - b) < 0.05, x + 0.1, x)
        cases.append(Case((x,), {"lo": lo, "hi": hi}))
    return cases


def _cast_cases(rng: np.random.Generator) -> list[Case]:
    # Multiples of 1/8 and the step eps = 2^-10 are exact in float32, so the numerical
    # derivative of a float64 -> float32 cast is exact.
    return [
        Case((rng.integers(-16, 17, s) / 8.0,), {"dtype": dt})
        for s, dt in zip(cycle(UNARY_SHAPES), cycle([np.float32, np.float64]))
    ]


def _torch_cast(x: torch.Tensor, dtype: Any) -> torch.Tensor:
    return x.to(torch.float32 if np.dtype(dtype) == np.float32 else torch.float64)


def _softplus_torch(x: torch.Tensor, beta: float) -> torch.Tensor:
    return torch.nn.functional.softplus(x, beta=beta, threshold=1e9)


SPECS: list[OpSpec] = [
    OpSpec(E.Add, lambda a, b: a + b, torch.add, binary(normal, normal)),
    OpSpec(E.Sub, lambda a, b: a - b, torch.sub, binary(normal, normal)),
    OpSpec(E.Mul, lambda a, b: a * b, torch.mul, binary(normal, normal)),
    OpSpec(E.Div, lambda a, b: a / b, torch.div, binary(normal, away_from_zero)),
    OpSpec(E.Neg, lambda x: -x, torch.neg, unary(normal)),
    OpSpec(E.PowConst, lambda x, p: x**p, lambda x, p: x**p, _pow_const_cases),
    OpSpec(
        E.PowConstGrad,
        lambda d, x, p: E.PowConstGrad.apply(d, x, p=p),
        lambda d, x, p: d * p * x ** (p - 1),
        _pow_const_grad_cases,
    ),
    OpSpec(E.Pow, lambda a, b: a**b, torch.pow, binary(positive, normal)),
    OpSpec(E.Abs, lambda x: abs(x), torch.abs, unary(away_from_zero)),
    OpSpec(E.Exp, gn.exp, torch.exp, unary(normal)),
    OpSpec(E.Log, gn.log, torch.log, unary(positive)),
    OpSpec(E.Sqrt, gn.sqrt, torch.sqrt, unary(positive)),
    OpSpec(E.Sin, gn.sin, torch.sin, unary(lambda rng, s: normal(rng, s, 2.0))),
    OpSpec(E.Cos, gn.cos, torch.cos, unary(lambda rng, s: normal(rng, s, 2.0))),
    OpSpec(E.Tanh, gn.tanh, torch.tanh, unary(lambda rng, s: normal(rng, s, 2.0))),
    OpSpec(E.Sigmoid, gn.sigmoid, torch.sigmoid, unary(lambda rng, s: normal(rng, s, 3.0))),
    OpSpec(E.Relu, gn.relu, torch.relu, unary(away_from_zero)),
    OpSpec(
        E.LeakyRelu,
        lambda x, negative_slope: gn.leaky_relu(x, negative_slope),
        lambda x, negative_slope: torch.nn.functional.leaky_relu(x, negative_slope),
        unary(away_from_zero, negative_slope=0.1),
    ),
    OpSpec(
        E.Softplus,
        lambda x, beta: gn.softplus(x, beta),
        _softplus_torch,
        lambda rng: [
            Case((normal(rng, s, 2.0),), {"beta": beta})
            for s, beta in zip(cycle(UNARY_SHAPES), cycle([1.0, 2.0, 0.5]))
        ],
    ),
    OpSpec(E.Maximum, gn.maximum, torch.maximum, _binary_distinct),
    OpSpec(E.Minimum, gn.minimum, torch.minimum, _binary_distinct),
    OpSpec(E.Where, gn.where, torch.where, _where_cases),
    OpSpec(
        E.Clip,
        lambda x, lo, hi: gn.clip(x, lo, hi),
        lambda x, lo, hi: torch.clamp(x, lo, hi),
        _clip_cases,
    ),
    OpSpec(
        E.Cast,
        lambda x, dtype: E.Cast.apply(x, dtype=dtype),
        _torch_cast,
        _cast_cases,
        gradcheck_kwargs={"eps": 2.0**-10},
    ),
]


# ---------------------------------------------------------------------------- reductions
REDUCE_CASES = [
    ((), None, False), ((4,), None, False), ((4,), 0, True), ((2, 3), 0, False),
    ((2, 3), 1, True), ((2, 3), -1, False), ((2, 3), (0, 1), False), ((2, 3), None, True),
    ((1, 3), 0, False), ((3, 1), 1, False), ((2, 1, 3), (0, 2), False),
    ((2, 1, 3), 1, True), ((2, 2, 2), (-1, 0), True), ((1,), 0, False), ((1, 1), None, False),
    ((2, 3, 2), 1, False), ((3,), -1, True), ((2, 3), (1,), False), ((), (), True),
    ((2, 2), (), False),
]


def reduction(draw: Callable[..., np.ndarray]) -> Callable[..., list[Case]]:
    """A maker over REDUCE_CASES: shapes with axis None/int/tuple and keepdims."""

    def make(rng: np.random.Generator) -> list[Case]:
        return [
            Case((draw(rng, s),), {"axis": axis, "keepdims": keep})
            for s, axis, keep in REDUCE_CASES
        ]

    return make


def _torch_reduce(name: str) -> Callable[..., torch.Tensor]:
    def f(x: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
        dims = _torch_dims(axis, x.ndim)
        if dims == () and x.ndim > 0:  # NumPy: an empty axis tuple reduces nothing
            return x.clone()
        return getattr(torch, name)(x, dim=dims, keepdim=keepdims)

    return f


SOFTMAX_CASES = [
    ((4,), -1), ((4,), 0), ((2, 3), -1), ((2, 3), 0), ((2, 3), 1), ((1, 3), 0), ((1, 3), 1),
    ((3, 1), 1), ((2, 1, 3), -1), ((2, 2, 2), 1), ((1,), 0), ((5,), -1), ((), -1), ((), 0),
    ((2, 3, 2), 0), ((3, 3), -2), ((1, 1), -1), ((2, 2), 1), ((2, 4), 1), ((4, 2), 0),
]


def _softmax_cases(rng: np.random.Generator) -> list[Case]:
    return [Case((normal(rng, s, 2.0),), {"axis": axis}) for s, axis in SOFTMAX_CASES]


SPECS += [
    OpSpec(
        R.Sum,
        lambda x, axis, keepdims: x.sum(axis, keepdims),
        _torch_reduce("sum"),
        reduction(normal),
    ),
    OpSpec(
        R.Mean,
        lambda x, axis, keepdims: x.mean(axis, keepdims),
        _torch_reduce("mean"),
        reduction(normal),
    ),
    OpSpec(
        R.Max,
        lambda x, axis, keepdims: x.max(axis, keepdims),
        _torch_reduce("amax"),
        reduction(distinct),
    ),
    OpSpec(
        R.Min,
        lambda x, axis, keepdims: x.min(axis, keepdims),
        _torch_reduce("amin"),
        reduction(distinct),
    ),
    OpSpec(
        R.LogSumExp,
        lambda x, axis, keepdims: x.logsumexp(axis, keepdims),
        _torch_reduce("logsumexp"),
        reduction(lambda rng, s: normal(rng, s, 2.0)),
    ),
    OpSpec(
        R.Softmax,
        lambda x, axis: gn.softmax(x, axis),
        lambda x, axis: torch.softmax(x, dim=axis),
        _softmax_cases,
    ),
    OpSpec(
        R.LogSoftmax,
        lambda x, axis: gn.log_softmax(x, axis),
        lambda x, axis: torch.log_softmax(x, dim=axis),
        _softmax_cases,
    ),
]


# ---------------------------------------------------------------------------- shape
RESHAPE_CASES = [
    ((6,), (2, 3)), ((2, 3), (3, 2)), ((), (1,)), ((1,), ()), ((2, 3), (-1,)),
    ((2, 1, 3), (3, 2)), ((4,), (2, 2)), ((2, 2), (4, 1)), ((1, 1), ()), ((3,), (1, 3)),
    ((3,), (3, 1)), ((2, 3), (1, 6)), ((2, 2, 2), (4, -1)), ((5,), (5,)), ((1, 4), (2, 2)),
    ((6,), (3, 1, 2)), ((2, 3), (6, 1)), ((), (1, 1)), ((4, 1), (-1,)), ((2, 3), (3, -1)),
]

TRANSPOSE_CASES = [
    ((2, 3), None), ((2, 3), (1, 0)), ((2, 3), (0, 1)), ((), None), ((), ()), ((4,), None),
    ((4,), (0,)), ((1, 3), None), ((3, 1), (1, 0)), ((2, 1, 3), (2, 0, 1)),
    ((2, 1, 3), None), ((2, 3, 2), (1, 2, 0)), ((2, 3, 2), (0, 2, 1)), ((1, 1), None),
    ((2, 2, 2), (-1, 0, 1)), ((1,), None), ((3, 2), (-1, -2)), ((2, 3, 1), (2, 1, 0)),
    ((1, 2, 3), (0, 2, 1)), ((2, 2), (1, 0)),
]

BROADCAST_CASES = [
    ((), (3,)), ((), ()), ((1,), (4,)), ((3,), (2, 3)), ((1, 3), (2, 3)), ((2, 1), (2, 3)),
    ((1, 1), (2, 3)), ((3,), (3,)), ((2, 3), (2, 2, 3)), ((2, 1, 3), (2, 4, 3)),
    ((1,), (1,)), ((), (2, 2)), ((1, 3), (1, 3)), ((3, 1), (3, 2)), ((1,), (2, 1, 3)),
    ((2, 1), (3, 2, 2)), ((4,), (1, 4)), ((1, 2, 1), (2, 2, 2)), ((1, 1, 1), (1, 1, 2)),
    ((2,), (2, 2)),
]


def _getitem_cases(rng: np.random.Generator) -> list[Case]:
    # (shape, index): ints, negative ints, slices, None/Ellipsis, integer arrays with
    # repeated entries (their gradients accumulate) and boolean masks.
    table = [
        ((4,), (1,)), ((4,), (-1,)), ((4,), (slice(1, 3),)), ((), (None,)),
        ((2, 3), (1,)), ((2, 3), (1, 2)), ((2, 3), (slice(None), 0)),
        ((2, 3), (Ellipsis, slice(0, 2))), ((2, 3), (None, slice(None))),
        ((4,), (np.array([0, 0, 2]),)), ((4,), (np.array([3, 1, 3, 3]),)),
        ((2, 3), (np.array([1, 1, 0]),)), ((2, 3), (slice(None), np.array([2, 0, 2]))),
        ((2, 3), (np.array([0, 1, 1]), np.array([2, 2, 0]))),
        ((4,), (np.array([True, False, True, True]),)),
        ((2, 3), (np.array([[True, False, True], [False, False, True]]),)),
        ((2, 3), (np.array([False, True]),)), ((3, 1), (np.array([2, 2]), 0)),
        ((2, 2, 2), (1, np.array([1, 1]), slice(None))), ((), (Ellipsis,)),
    ]
    return [Case((normal(rng, s),), {"index": index}) for s, index in table]


def _torch_index(index: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(torch.as_tensor(i) if isinstance(i, np.ndarray) else i for i in index)


def _torch_getitem(x: torch.Tensor, index: tuple[Any, ...]) -> torch.Tensor:
    return x[_torch_index(index)]


def _scatter_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for case in _getitem_cases(rng):
        (x,) = case.inputs
        index = case.kwargs["index"]
        cases.append(Case((normal(rng, x[index].shape),), {"index": index, "shape": x.shape}))
    return cases


def _torch_scatter_add(src: torch.Tensor, index: Any, shape: tuple[int, ...]) -> torch.Tensor:
    # ScatterAdd is the adjoint of indexing: the vector-Jacobian product of x -> x[index]
    # with cotangent src, which torch computes (differentiably in src) as a gradient.
    zeros = torch.zeros(shape, dtype=src.dtype, requires_grad=True)
    (out,) = torch.autograd.grad(
        zeros[_torch_index(index)], zeros, src, create_graph=True
    )
    return out


CONCAT_CASES = [
    ([(2,), (3,)], 0), ([(1,), (1,)], 0), ([(2, 3), (1, 3)], 0), ([(2, 3), (2, 1)], 1),
    ([(2, 3), (2, 2)], -1), ([(1, 2), (1, 2), (1, 2)], 0), ([(2, 1), (2, 1), (2, 2)], 1),
    ([(2, 1, 3), (2, 2, 3)], 1), ([(1, 1), (3, 1)], 0), ([(3,), (3,), (1,)], -1),
    ([(2, 2)], 0), ([(2, 2, 1), (2, 2, 2)], 2), ([(1, 3), (1, 3)], 1), ([(4,)], 0),
    ([(2, 1), (2, 3)], -1), ([(1, 2, 2), (1, 2, 2)], 0), ([(2,), (1,), (2,)], 0),
    ([(3, 2), (1, 2)], -2), ([(1, 1), (1, 1)], 1), ([(2, 3), (2, 3)], 0),
]


def _concat_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(tuple(normal(rng, s) for s in shapes), {"axis": axis})
        for shapes, axis in CONCAT_CASES
    ]


SPECS += [
    OpSpec(
        S.Reshape,
        lambda x, shape: x.reshape(shape),
        lambda x, shape: x.reshape(shape),
        lambda rng: [Case((normal(rng, s),), {"shape": t}) for s, t in RESHAPE_CASES],
    ),
    OpSpec(
        S.Transpose,
        lambda x, axes: S.Transpose.apply(x, axes=axes),
        lambda x, axes: x.permute(tuple(range(x.ndim))[::-1] if axes is None else axes),
        lambda rng: [Case((normal(rng, s),), {"axes": a}) for s, a in TRANSPOSE_CASES],
    ),
    OpSpec(
        S.BroadcastTo,
        lambda x, shape: x.broadcast_to(shape),
        lambda x, shape: x.broadcast_to(shape),
        lambda rng: [Case((normal(rng, s),), {"shape": t}) for s, t in BROADCAST_CASES],
    ),
    OpSpec(S.GetItem, lambda x, index: x[index], _torch_getitem, _getitem_cases),
    OpSpec(
        S.ScatterAdd,
        lambda src, index, shape: S.ScatterAdd.apply(src, index=index, shape=shape),
        _torch_scatter_add,
        _scatter_cases,
    ),
    OpSpec(
        S.Concatenate,
        lambda *xs, axis: gn.concatenate(xs, axis=axis),
        lambda *xs, axis: torch.cat(xs, dim=axis),
        _concat_cases,
        scalar_inputs=False,  # joining along an axis needs one
    ),
]


# ---------------------------------------------------------------------------- linalg
MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((1, 3), (3, 1)),
    ((3, 1), (1, 3)), ((1,), (1,)), ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)),
    ((2, 2, 3), (2, 3, 2)), ((2, 1, 2, 3), (3, 3, 2)), ((1, 2, 3), (2, 3, 1)),
    ((2, 2, 3), (3,)), ((3,), (2, 3, 2)), ((1, 1), (1, 1)), ((2, 1), (1, 2)),
    ((1, 2, 2), (2, 2, 2)), ((4,), (4, 1)), ((1, 4), (4,)), ((2, 2), (2, 2)),
]

SPECS += [
    OpSpec(
        L.MatMul,
        lambda a, b: a @ b,
        torch.matmul,
        lambda rng: [Case((normal(rng, sa), normal(rng, sb))) for sa, sb in MATMUL_SHAPES],
        scalar_inputs=False,  # 0-d operands are an error, as in NumPy and PyTorch
    ),
]


# ---------------------------------------------------------------------------- registry
def _load_extra_specs() -> list[OpSpec]:
    """The ``SPECS`` of every ``tests/op_specs_*.py`` (specs owned by other families)."""
    extra: list[OpSpec] = []
    for path in sorted(Path(__file__).parent.glob("op_specs_*.py")):
        module = importlib.import_module(path.stem)
        extra.extend(module.SPECS)
    return extra


SPECS += _load_extra_specs()
SPECS_BY_ID: dict[str, OpSpec] = {spec.id: spec for spec in SPECS}


def primitive_classes() -> list[type]:
    """Every public Function subclass defined in a module under ``glassnet.ops``.

    All modules of the package are imported first (so that a new module is found), then
    ``Function.__subclasses__`` is walked recursively.
    """
    for info in pkgutil.walk_packages(glassnet.ops.__path__, "glassnet.ops."):
        importlib.import_module(info.name)
    found: list[type] = []
    todo = list(Function.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if (
            cls.__module__.startswith("glassnet.ops.")
            and not cls.__name__.startswith("_")
            and inspect.isclass(cls)
            and cls not in found
        ):
            found.append(cls)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def n_cases(spec: OpSpec) -> int:
    """The number of cases of a spec (it does not depend on the random draws)."""
    return len(spec.cases(np.random.default_rng(0)))


SPEC_CASES = [(spec.id, k) for spec in SPECS for k in range(n_cases(spec))]
