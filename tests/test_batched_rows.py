"""All rows of a Jacobian in one backward pass (``batched_vjp``), held to the row-by-row
passes (``gradients`` once per output entry) for every batchable primitive in the op
registry, and to the per-row ``jacobian``/``hessian`` results."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.autograd.functional as functional
from glassnet.autograd.engine import _Unbatchable, batched_vjp
from glassnet.ops.reduce import LogSoftmax, Softmax
from glassnet.ops.shape import GetItem, ScatterAdd
from op_specs import SPEC_CASES, SPECS_BY_ID

BATCHABLE_CASES = [
    (spec_id, k) for spec_id, k in SPEC_CASES
    if getattr(SPECS_BY_ID[spec_id].op, "batchable", False)
    or SPECS_BY_ID[spec_id].op in (GetItem, ScatterAdd, Softmax, LogSoftmax)
]


def test_the_registry_has_batchable_primitives():
    ops = {SPECS_BY_ID[s].op.__name__ for s, _ in BATCHABLE_CASES}
    assert {"Add", "Mul", "Div", "PowConst", "Tanh", "GetItem", "ScatterAdd", "Softmax",
            "LogSoftmax"} <= ops


@pytest.mark.parametrize(("spec_id", "k"), BATCHABLE_CASES)
def test_batched_rows_equal_row_by_row(spec_id, k, rng):
    spec = SPECS_BY_ID[spec_id]
    case = spec.cases(rng)[k]
    floats = [i for i, a in enumerate(case.inputs) if np.asarray(a).dtype.kind == "f"]
    for i in floats:
        ts = [gn.tensor(a, dtype=np.float64, requires_grad=(j == i))
              if np.asarray(a).dtype.kind == "f" else gn.tensor(a)
              for j, a in enumerate(case.inputs)]
        y = spec.fn(*ts, **case.kwargs)
        if y._ctx is None or y.data.size == 0:
            continue
        m = y.data.size
        seeds = np.eye(m).reshape((m,) + y.shape)
        try:
            got = batched_vjp(y, seeds, ts[i])
        except _Unbatchable:
            # only a node that says so may refuse (indexing with arrays, axis=None)
            assert not y._ctx.batchable
            continue
        rows = []
        for r in range(m):
            (g,) = gn.gradients(y, [ts[i]], seeds[r], retain_graph=True)
            rows.append(np.zeros(ts[i].shape) if g is None else g.data)
        want = np.stack(rows)
        assert got is not None
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


def _six_hump(x):
    x1, x2 = x[0], x[1]
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


@pytest.mark.parametrize(
    ("f", "x"),
    [
        (_six_hump, [0.3, -0.7]),
        (lambda x: (x.tanh() * x[::-1] + x.exp() / (1 + x * x)).sum(), [0.1, 0.5, -1.2]),
        (lambda x: (x @ x) * x.sum(), [0.4, -0.2, 0.9]),  # matmul, sum: row by row
        (lambda x: (x.reshape(2, 2) ** 3).sum() * x[1:3].sum(), [0.5, 1.5, -0.5, 2.0]),
    ],
)
def test_hessian_and_jacobian_are_the_same_both_ways(f, x):
    results = []
    for batched in (True, False):
        functional._BATCHED_ROWS[0] = batched
        try:
            h = gn.hessian(f, np.array(x))
            j = gn.jacobian(lambda v: v.tanh() * v.sum() + v**2, np.array(x))
        finally:
            functional._BATCHED_ROWS[0] = True
        results.append((h, j))
    (h1, j1), (h2, j2) = results
    np.testing.assert_allclose(h1, h2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(j1, j2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h1, gn.numerical_jacobian(lambda v: gn.grad(f, v), np.array(x)),
                               rtol=1e-5, atol=1e-6)


def test_six_hump_hessian_at_the_lecture_point_is_exact_in_one_pass():
    h = gn.hessian(_six_hump, np.array([0.0, 1.0]))
    np.testing.assert_array_equal(h, [[8.0, 1.0], [1.0, 40.0]])


def test_large_jacobians_go_through_in_chunks(monkeypatch):
    """Rows are stacked only up to a size limit: a Jacobian larger than one chunk is
    assembled from several batched passes and equals the row-by-row one."""
    import glassnet.autograd.engine as engine

    passes = []

    def counting(root, seeds, x):
        passes.append(seeds.shape[0])
        return engine.batched_vjp(root, seeds, x)

    monkeypatch.setattr(functional, "batched_vjp", counting)
    monkeypatch.setattr(functional, "_BATCH_ENTRIES", 2 * 25)  # 2 rows of 25 per pass
    x = np.linspace(-1.0, 1.0, 5)

    def f(v):
        return (v[:, None] * v - v).tanh()  # basic indexing and elementwise: batchable

    got = gn.jacobian(f, x)
    assert passes == [2] * 12 + [1]
    functional._BATCHED_ROWS[0] = False
    try:
        want = gn.jacobian(f, x)
    finally:
        functional._BATCHED_ROWS[0] = True
    assert got.shape == (5, 5, 5)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
