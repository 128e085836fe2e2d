"""The backprop experiment: the lecture's perceptron, every node of the backward pass,
against the chain rule written out by hand and against PyTorch; and trace's names."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

import glassnet as gn
from glassnet import experiments, losses
from glassnet.experiments import backprop


def chain_rule_by_hand(x1, x2, w1, w2, b, y):
    """Section 10's chain for s = w . x + b, p = sigma(s), L = (y - p)^2."""
    s = w1 * x1 + w2 * x2 + b
    p = 1 / (1 + math.exp(-s))
    dL_dp = -2 * (y - p)
    dL_ds = p * (1 - p) * dL_dp
    return {"loss": (y - p) ** 2, "s": s, "p": p, "dL_dp": dL_dp, "dL_ds": dL_ds,
            "grad_W": [x1 * dL_ds, x2 * dL_ds], "grad_b": dL_ds}


def test_default_example_matches_the_numbers_worked_by_hand(tmp_path) -> None:
    res = experiments.run("backprop", out=tmp_path, quick=True)
    n = res.numbers
    # x = (1, 2), W = (0.75, -0.5), b = 0.25, y = 1: s = 0, p = 1/2 (done on paper).
    assert n["s"] == 0.0 and n["p"] == 0.5 and n["loss"] == 0.25
    assert n["dL_dp"] == -1.0 and n["dL_ds"] == -0.25
    assert n["grad_W"] == [-0.25, -0.5] and n["grad_b"] == -0.25
    assert n["trace_ok"] is True and n["trace_worst_error"] < 1e-8
    assert n["trace_ops"] == ["L2", "Sigmoid", "Add", "MatMul"]


@pytest.mark.parametrize("opts", [
    {"y": 0.0},
    {"x1": -1.5, "x2": 0.4, "w1": 2.0, "w2": 1.25, "b": -0.7, "y": 1.0},
    {"x1": 3.0, "x2": -2.0, "w1": -0.4, "w2": 0.9, "b": 1.5, "y": 0.3},
])
def test_gradients_follow_the_chain_rule_by_hand(opts) -> None:
    full = {**backprop.OPTIONS, **opts}
    want = chain_rule_by_hand(*(full[k] for k in ("x1", "x2", "w1", "w2", "b", "y")))
    n = experiments.run("backprop", **opts).numbers
    for key in ("loss", "s", "p", "dL_dp", "dL_ds", "grad_b"):
        assert n[key] == pytest.approx(want[key], rel=1e-12, abs=1e-15), key
    np.testing.assert_allclose(n["grad_W"], want["grad_W"], rtol=1e-12, atol=1e-15)
    assert n["trace_ok"] is True


@pytest.mark.parametrize("opts", [{}, {"x1": -1.5, "x2": 0.4, "w1": 2.0, "w2": 1.25,
                                       "b": -0.7, "y": 0.2}])
def test_gradients_match_torch(opts) -> None:
    torch = pytest.importorskip("torch")
    full = {**backprop.OPTIONS, **opts}
    x = torch.tensor([full["x1"], full["x2"]], dtype=torch.float64)
    W = torch.tensor([[full["w1"], full["w2"]]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([full["b"]], dtype=torch.float64, requires_grad=True)
    L = ((full["y"] - torch.sigmoid(W @ x + b)) ** 2).sum()
    L.backward()
    n = experiments.run("backprop", **opts).numbers
    assert n["loss"] == pytest.approx(L.item(), rel=1e-12)
    np.testing.assert_allclose(n["grad_W"], W.grad.numpy().ravel(), rtol=1e-12, atol=1e-15)
    assert n["grad_b"] == pytest.approx(b.grad.item(), rel=1e-12, abs=1e-15)


def test_summary_holds_the_table_of_every_node() -> None:
    summary = experiments.run("backprop").summary
    assert "| step | node | value | upstream dL/d(node) | input | local Jacobian |" in summary
    for row in ("| 0 | L = L2 | 0.25 | 1 | p | dL/dp = -1 | -1 |",
                "| 1 | p = Sigmoid | 0.5 | -1 | s | dp/ds = 0.25 | -0.25 |",
                "| b | ds/db = 1 | -0.25 |",
                "| W | dWx/dW = [[1., 2.]] | [[-0.25, -0.5 ]] |"):
        assert row in summary, row
    assert "```text" in summary and "local Jacobian dp/ds (1x1):" in summary


def test_a_wrong_backward_formula_shows_in_the_trace(monkeypatch) -> None:
    from glassnet.ops.elementwise import Sigmoid

    monkeypatch.setattr(Sigmoid, "backward", lambda self, dout: (dout * self.out(),))
    res = experiments.run("backprop")
    assert res.numbers["trace_ok"] is False
    assert "DOES NOT agree" in res.summary and "WRONG" in res.summary


def _assert_png_not_blank(path) -> None:
    from matplotlib.image import imread

    img = imread(path)
    assert path.name == "backprop.png" and img.shape[0] > 200 and img.shape[1] > 600
    assert img[..., :3].std() > 0.05


def test_figure_is_the_rendered_dot(tmp_path) -> None:
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    res = experiments.run("backprop", out=tmp_path)
    assert res.figures == [tmp_path / "backprop.png"]
    _assert_png_not_blank(res.figures[0])
    assert (tmp_path / "numbers.json").exists() and (tmp_path / "summary.md").exists()


def test_figure_without_dot_is_drawn_by_matplotlib(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(backprop.shutil, "which", lambda name: None)
    res = experiments.run("backprop", out=tmp_path)
    assert res.figures == [tmp_path / "backprop.png"]
    _assert_png_not_blank(res.figures[0])


def test_slide_dot_keeps_the_trace_graph_and_adds_a_title() -> None:
    L, named = backprop._perceptron({**backprop.OPTIONS})
    dot = gn.trace(L, names=named).to_dot()
    slide = backprop._slide_dot(dot)
    assert slide.count("->") == dot.count("->") == 7
    assert 'labelloc="t"' in slide and "Backward pass of L" in slide
    with pytest.raises(ValueError, match="digraph"):
        backprop._slide_dot("graph {}")


# ---------------------------------------------------------------------- trace's names
def test_trace_names_label_the_rows_and_the_graph() -> None:
    w = gn.tensor([0.5, -1.0], requires_grad=True)
    x = gn.tensor([2.0, 1.0])
    s = (w * x).sum()
    L = losses.l2(s.sigmoid().reshape(1), np.array([1.0]))
    plain = gn.trace(L)
    named = gn.trace(L, names={"w": w, "x": x, "s": s, "L": L})
    assert [r.op for r in plain] == [r.op for r in named]
    assert all(np.array_equal(a.downstream[k], b.downstream[k]) for a, b in zip(plain, named)
               for k in range(len(a.needs)) if a.needs[k])
    text = str(named)
    assert "downstream dL/dw:" in text and "] s = Sum(" in text and "[0] L = L2(" in text
    assert "dL/din0" in str(plain) and "dL/dw" not in str(plain)
    dot = named.to_dot()
    assert 'label="w: ' in dot and "dL/dw: " in dot and 'label="x0: ' not in dot
    assert 'label="x0: ' in plain.to_dot() or 'label="x1: ' in plain.to_dot()
