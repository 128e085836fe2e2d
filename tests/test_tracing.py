"""glassnet.trace: each backward row checked against central differences and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses


def test_rows_follow_backward_order_and_agree_with_central_differences() -> None:
    rng = np.random.default_rng(0)
    W = gn.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b = gn.tensor(rng.normal(size=3), requires_grad=True)
    x = gn.tensor(rng.normal(size=4))
    s = (W @ x + b).sigmoid()
    L = losses.softmax_log_likelihood(s[None], np.array([2])) + (s * s).sum().tanh().exp()
    t = gn.trace(L)
    assert t.ok and t.worst_error < 1e-6
    # newest first: the row of the node that produced L leads, with upstream 1
    assert t.rows[0].op == "Add" and float(t.rows[0].upstream) == 1.0
    assert t.loss == float(L.data) and np.array_equal(t.rows[0].value, L.data)
    assert t.rows[-1].op in ("MatMul", "Add")  # the first ops of the forward pass come last
    assert {"Sigmoid", "MatMul", "Add", "SoftmaxLogLikelihood", "Tanh", "Exp"} <= {
        r.op for r in t.rows}
    assert W.grad is None  # tracing leaves .grad alone
    L.backward()  # the trace's leaf gradients equal autograd's
    leaf = next(g for _, v, g in t._leaves.values() if v is W.data)
    assert np.allclose(leaf, W.grad)


def test_local_jacobians_are_the_lectures_closed_forms() -> None:
    rng = np.random.default_rng(1)
    z = gn.tensor(rng.normal(size=3), requires_grad=True)
    s = z.sigmoid()
    row = next(r for r in gn.trace((s * gn.tensor([1.0, 2.0, 3.0])).sum()) if r.op == "Sigmoid")
    sig = 1 / (1 + np.exp(-z.data))
    assert np.allclose(row.jacobians[0], np.diag(sig * (1 - sig)))
    p = gn.softmax(z, axis=-1)
    row = next(r for r in gn.trace((p * gn.tensor([1.0, -2.0, 0.5])).sum()) if r.op == "Softmax")
    pv = np.exp(z.data) / np.exp(z.data).sum()
    assert np.allclose(row.jacobians[0], np.diag(pv) - np.outer(pv, pv))
    W = gn.tensor(rng.normal(size=(2, 3)))
    x = gn.tensor(rng.normal(size=3), requires_grad=True)
    row = gn.trace((W @ x).sum()).rows[-1]
    assert row.op == "MatMul" and np.allclose(row.jacobians[1], W.data)  # ds/dx = W
    assert np.allclose(row.downstream[1], W.data.T @ np.ones(2))  # W^T upstream


def test_a_wrong_backward_is_caught_on_its_row(monkeypatch) -> None:
    from glassnet.ops.elementwise import Sigmoid

    real = Sigmoid.backward

    def wrong(self, dout):  # s instead of s(1 - s)
        (g,) = real(self, dout)
        return (2 * g,)

    monkeypatch.setattr(Sigmoid, "backward", wrong)
    z = gn.tensor([0.3, -1.2], requires_grad=True)
    t = (z.sigmoid() * gn.tensor([1.0, 2.0])).sum().trace()
    bad = [r for r in t.rows if not r.ok]
    assert not t.ok and [r.op for r in bad] == ["Sigmoid"]
    assert "WRONG" in str(t)


def test_big_graphs_are_summarised_and_dot_is_produced(tmp_path) -> None:
    rng = np.random.default_rng(2)
    mlp = gn.nn.MLP(784, [256], 10, generator=0)
    X = gn.tensor(rng.random((32, 784)).astype(np.float32))
    t = losses.softmax_log_likelihood(mlp(X), rng.integers(0, 10, 32)).trace()
    text = str(t)
    assert t.ok and "array 256x784" in text and len(text) < 20_000
    assert all(r.checked <= 24 * 3 for r in t.rows)
    dot = t.to_dot()
    assert dot.startswith("digraph backward {") and dot.count("->") >= len(t.rows)
    png = t.render(tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="scalar"):
        gn.trace(gn.tensor([1.0, 2.0], requires_grad=True) * 2)
    with pytest.raises(ValueError, match="no graph"):
        gn.trace(gn.tensor(1.0) * 2)
    with pytest.raises(TypeError):
        gn.trace(3.0)


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _lecture_gradient(name: str, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The lecture's analytic gradient of each loss (mean over the N rows), by hand."""
    n, c = s.shape
    z = np.eye(c)[y]
    if name == "hinge":  # indicators of the violated margins; the true class gets -count
        viol = ((s - s[np.arange(n), y][:, None] + 1) > 0) & (z == 0)
        return (viol - z * viol.sum(axis=1, keepdims=True)) / n
    if name == "binary_hinge":  # labels -1/+1 from the class parity; scores column 0
        t = np.where(y % 2 == 0, 1.0, -1.0)
        g = np.zeros_like(s)
        g[:, 0] = -t * ((1 - t * s[:, 0]) > 0) / n
        return g
    p = _softmax(s)
    if name == "softmax_log_likelihood":
        return (p - z) / n
    if name in ("log_likelihood", "cross_entropy", "softmax_cross_entropy"):
        dp = -z / p if name == "log_likelihood" else -(z / p - (1 - z) / (1 - p))
        # through the softmax: its Jacobian diag(p) - p p^T is symmetric
        ds = np.stack([(np.diag(pi) - np.outer(pi, pi)) @ gi for pi, gi in zip(p, dp)])
        return ds / n
    if name == "l1":
        return np.sign(s - z) / n
    if name == "l2":
        return -2 * (z - s) / n
    raise AssertionError(name)


LECTURE_LOSSES = {
    "hinge": lambda s, y: losses.hinge(s, y),
    "binary_hinge": lambda s, y: losses.binary_hinge(s[:, 0], np.where(y % 2 == 0, 1, -1)),
    "log_likelihood": lambda s, y: losses.log_likelihood(gn.softmax(s, axis=-1), y),
    "cross_entropy": lambda s, y: losses.cross_entropy(gn.softmax(s, axis=-1), y),
    "softmax_log_likelihood": lambda s, y: losses.softmax_log_likelihood(s, y),
    "softmax_cross_entropy": lambda s, y: losses.softmax_cross_entropy(s, y),
    "l1": lambda s, y: losses.l1(s, np.eye(s.shape[1])[y]),
    "l2": lambda s, y: losses.l2(s, np.eye(s.shape[1])[y]),
}


@pytest.mark.parametrize("name", sorted(LECTURE_LOSSES))
def test_every_lecture_loss_traces_to_its_analytic_gradient(name: str) -> None:
    rng = np.random.default_rng(3)
    s_np = rng.normal(scale=1.5, size=(5, 4))
    y = rng.integers(0, 4, 5)
    s = gn.tensor(s_np, requires_grad=True)
    t = gn.trace(LECTURE_LOSSES[name](s, y))
    assert t.ok and t.worst_error < 1e-6, str(t)
    assert all(r.checked > 0 for r in t.rows)  # every row was compared, none skipped
    # the last row feeds the scores: its downstream gradient is the lecture's formula
    # (for the binary hinge that row is the GetItem that scatters column 0 back into s)
    got = t.rows[-1].downstream[0]
    np.testing.assert_allclose(got, _lecture_gradient(name, s_np, y), rtol=1e-10, atol=1e-12)
