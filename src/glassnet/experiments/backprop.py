"""Backpropagation through the lecture's single-layer perceptron, node by node (section 10).

One example x (2 features), one output neuron with weights W (1 x 2) and bias b, the
lecture's f(x, W) = W x + b followed by the sigmoid, and the L2 loss against the target
y: s = W x + b, p = sigmoid(s), L = (y - p)^2. Section 10 gives the chain
dL/dp = -2 (y - p), dL/ds = (dp/ds) dL/dp = p (1 - p) dL/dp,
dL/dw_j = (ds/dw_j) dL/ds = x_j dL/ds and dL/db = dL/ds. (The lecture names the steps
but not the activation or the loss; the sigmoid and L2 are the two it derives.) It gives
no numbers; the default example makes every step easy by hand: x = (1, 2),
W = (0.75, -0.5), b = 0.25, y = 1, hence s = 0, p = 1/2, L = 1/4, dL/dp = -1,
dL/ds = -1/4, dL/dW = (-1/4, -1/2), dL/db = -1/4.

``glassnet.trace`` runs the autograd engine's backward pass node by node and checks each
node against float64 central differences. The figure is the traced graph (its Graphviz
DOT, rendered by ``dot``; a matplotlib drawing of the same graph where ``dot`` is not
installed); the summary holds the table of every node: value, upstream gradient, local
Jacobian, downstream gradient.
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np

NAME = "backprop"
TITLE = "Backpropagation through a single-layer perceptron, node by node"
SECTION = "10"
ORDER = 1
OPTIONS: dict[str, Any] = {"x1": 1.0, "x2": 2.0, "w1": 0.75, "w2": -0.5, "b": 0.25, "y": 1.0}
QUICK: dict[str, Any] = {}

_FIGURE_TITLE = ("Backward pass of L = (y - sigmoid(W x + b))^2: each node's value and "
                 "gradient dL/d(node), each checked against central differences")


def _perceptron(ctx: Any) -> tuple[Any, dict[str, Any]]:
    """The forward pass, float64, every intermediate kept under its lecture name."""
    from glassnet import losses
    from glassnet.tensor import Tensor

    x = Tensor(np.array([ctx["x1"], ctx["x2"]]))
    W = Tensor(np.array([[ctx["w1"], ctx["w2"]]]), requires_grad=True)
    b = Tensor(np.array([ctx["b"]]), requires_grad=True)
    y = Tensor(np.array([ctx["y"]]))
    Wx = W @ x
    s = Wx + b
    p = s.sigmoid()
    L = losses.l2(p, y)
    return L, {"x": x, "W": W, "b": b, "y": y, "Wx": Wx, "s": s, "p": p, "L": L}


def _cell(a: Any) -> str:
    from glassnet.tracing import summarize

    if a is None:
        return "-"
    if np.size(a) == 1:
        return f"{float(np.asarray(a).item()):.4g}"
    return summarize(a, 6).replace("|", "/")


def _table(t: Any) -> str:
    """One Markdown row per (node, input) of the backward pass."""
    lines = ["| step | node | value | upstream dL/d(node) | input | local Jacobian | "
             "downstream dL/d(input) | check |", "|---|---|---|---|---|---|---|---|"]
    for r in t.rows:
        first = True
        for k, need in enumerate(r.needs):
            if not need:
                continue
            name = r.name or "out"
            head = (f"| {r.index} | {name} = {r.op} | {_cell(r.value)} | {_cell(r.upstream)} "
                    if first else "| | | | ")
            check = f"ok ({r.error:.0e})" if r.ok else f"WRONG ({r.error:.0e})"
            lines.append(f"{head}| {r._input(k)} | d{name}/d{r._input(k)} = "
                         f"{_cell(r.jacobians[k])} | {_cell(r.downstream[k])} | "
                         f"{check if first else ''} |")
            first = False
    return "\n".join(lines)


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.tracing import trace

    L, named = _perceptron(ctx)
    t = trace(L, names=named)
    grads = {r.input_names[k]: r.downstream[k] for r in t.rows
             for k in range(len(r.needs)) if r.needs[k]}
    s, p = float(named["s"].item()), float(named["p"].item())
    numbers = {
        "loss": float(L.item()),
        "grad_W": np.asarray(grads["W"]).ravel().tolist(),
        "grad_b": float(np.asarray(grads["b"]).item()),
        "trace_ok": bool(t.ok),
        "trace_worst_error": float(t.worst_error),
        "s": s,
        "p": p,
        "dL_dp": float(np.asarray(grads["p"]).item()),
        "dL_ds": float(np.asarray(grads["s"]).item()),
        "trace_ops": [r.op for r in t.rows],
    }
    ctx.note(f"Forward: s = W x + b = {s:.4g}, p = sigmoid(s) = {p:.4g}, "
             f"L = (y - p)^2 = {numbers['loss']:.4g}.")
    ctx.note(f"Backward (the lecture's chain): dL/dp = -2 (y - p) = {numbers['dL_dp']:.4g}; "
             f"dL/ds = p (1 - p) dL/dp = {numbers['dL_ds']:.4g}; dL/dw_j = x_j dL/ds = "
             f"({', '.join(f'{v:.4g}' for v in numbers['grad_W'])}); dL/db = dL/ds = "
             f"{numbers['grad_b']:.4g}.")
    verdict = "agrees" if t.ok else "DOES NOT agree"
    ctx.note(f"Every node of the backward pass ({len(t.rows)} nodes, newest first) {verdict} "
             f"with float64 central differences (worst error {t.worst_error:.1e}):\n\n"
             + _table(t) + "\n\nThe trace as `glassnet.trace(L)` prints it:\n\n```text\n"
             + str(t).rstrip() + "\n```")
    if ctx.drawing:
        _figure(ctx, t)
    return numbers


def _figure(ctx: Any, t: Any) -> None:
    """The traced graph: Graphviz's rendering of ``t.to_dot()`` when ``dot`` is on the
    PATH, a matplotlib drawing of the same nodes otherwise."""
    if shutil.which("dot") is not None:
        try:
            import graphviz
        except ImportError:
            graphviz = None
        if graphviz is not None:
            from glassnet._fileio import atomic_write_bytes

            png = graphviz.Source(_slide_dot(t.to_dot())).pipe(format="png")
            path = ctx.out / "backprop.png"
            atomic_write_bytes(path, png)
            ctx.figures.append(path)
            return
    _matplotlib_figure(ctx, t)


def _slide_dot(dot: str) -> str:
    """The trace's DOT with a title, larger type and a resolution for a slide: the
    defaults are restated after the trace's own (the later statement wins)."""
    lines = dot.splitlines()
    if not lines or not lines[0].startswith("digraph"):
        raise ValueError("the trace's DOT does not start with a digraph header")
    at = next((i + 1 for i, line in enumerate(lines) if line.strip().startswith("node [")), 1)
    title = _FIGURE_TITLE.replace(": ", ":\\n", 1)
    lines[at:at] = [
        f'  label="{title}"; labelloc="t"; fontname="Helvetica"; fontsize=20;',
        '  dpi=100; pad=0.3; nodesep=0.3; ranksep=0.45;',
        '  node [fontname="Helvetica", fontsize=16, penwidth=2, margin="0.12,0.06"];',
        '  edge [fontname="Helvetica", fontsize=15, penwidth=1.5];',
    ]
    return "\n".join(lines).replace(", fontsize=8]", "]") + "\n"


def _matplotlib_figure(ctx: Any, t: Any) -> None:
    """The same graph drawn with matplotlib: ops left to right in forward order, each
    op's leaf inputs above it."""
    from glassnet.experiments._plot import BLUE, GREEN, VERMILION
    from glassnet.tracing import summarize

    ops = list(reversed(t.rows))  # forward order
    fig, ax = ctx.subplots(figsize=(2.9 * len(ops) + 0.6, 4.4))
    ax.set_axis_off()
    ax.set_xlim(-0.6, len(ops) - 0.4)
    ax.set_ylim(-0.7, 1.6)
    leaves = dict(t._leaves)
    box = {"boxstyle": "round,pad=0.4", "facecolor": "white", "linewidth": 1.6}
    for i, r in enumerate(ops):
        name = r.name or "out"
        text = (f"{name} = {r.op}\n{name}: {summarize(r.value, 4)}\n"
                f"dL/d{name}: {summarize(r.upstream, 4)}")
        ax.text(i, 0, text, ha="center", va="center", fontsize=12,
                bbox={**box, "edgecolor": BLUE if r.ok else VERMILION})
        if i:
            ax.annotate("", (i - 0.36, 0), (i - 0.64, 0),
                        arrowprops={"arrowstyle": "->", "lw": 1.5})
    for src, dst, _ in t._edges:
        if src >= 0:
            continue
        name, value, grad = leaves[-src - 1]
        i = len(ops) - 1 - dst
        text = f"{name}: {summarize(value, 4)}"
        if grad is not None:
            text += f"\ndL/d{name}: {summarize(grad, 4)}"
        slot = sum(1 for s2, d2, _ in t._edges if d2 == dst and s2 < 0 and s2 > src)
        x = i - 0.28 + 0.56 * slot
        ax.text(x, 1.05, text, ha="center", va="center", fontsize=12,
                bbox={**box, "edgecolor": GREEN})
        ax.annotate("", (i, 0.3), (x, 0.8), arrowprops={"arrowstyle": "->", "lw": 1.2})
    ax.set_title(_FIGURE_TITLE.replace(": ", ":\n", 1), fontsize=13)
    ctx.save(fig, "backprop")
