"""Seeing backpropagation: every node of a backward pass, with its numbers, checked.

``glassnet.trace(loss)`` (or ``loss.trace()``) walks the graph that produced a scalar
``loss`` and runs the backward pass node by node, newest first, exactly as
``loss.backward()`` does, but keeping what each step received and gave::

    >>> import glassnet as gn
    >>> w = gn.tensor([0.5, -1.0], requires_grad=True)
    >>> x = gn.tensor([2.0, 1.0])
    >>> t = ((w * x).sum().sigmoid() - 1.0).abs().trace()
    >>> t.ok, [r.op for r in t.rows]
    (True, ['Abs', 'Sub', 'Sigmoid', 'Sum', 'Mul'])

Each :class:`TraceRow` holds the op, the shapes, the upstream gradient dL/d(out), the
local Jacobian d(out)/d(input) as a matrix when it is small, and the downstream gradient
dL/d(input) of each input, the vector-Jacobian product. Every row is checked against
float64 central differences of the node's own forward (all entries of small inputs, a
sample of large ones), so a wrong backward formula shows up on the row where it is.
The leaves' ``.grad`` are not touched and the graph stays usable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.tensor import Tensor

#: a local Jacobian is kept as a matrix when it has at most this many entries
JACOBIAN_LIMIT = 144
#: entries of an input checked by central differences (all of them when fewer)
CHECK_ENTRIES = 24
#: an array with at most this many entries is printed whole
PRINT_LIMIT = 12
EPS = 1e-6
TOLERANCE = 1e-5


@dataclass
class TraceRow:
    """One node of the backward pass.

    Attributes
    ----------
    index : int
        Position in backward order (0 is the node that produced the loss).
    op : str
        The primitive's name (``MatMul``, ``Sigmoid``, ``MulticlassHinge``, ...).
    input_shapes, output_shape : shapes
    value : ndarray
        The node's output.
    upstream : ndarray
        dL/d(output), what the node received.
    jacobians : list
        Per input: d(output)/d(input) as an (output size, input size) matrix when it has
        at most ``JACOBIAN_LIMIT`` entries and the input needs a gradient, else None.
    downstream : list
        Per input: dL/d(input), what the node passed on (None for constants).
    error : float
        The worst relative disagreement of ``downstream`` with central differences.
    checked : int
        How many entries were compared (all of a small input, a sample of a large one).
    """

    index: int
    op: str
    input_shapes: list[tuple[int, ...]]
    output_shape: tuple[int, ...]
    value: np.ndarray
    upstream: np.ndarray
    jacobians: list[np.ndarray | None]
    downstream: list[np.ndarray | None]
    error: float
    checked: int
    needs: list[bool] = field(default_factory=list)
    name: str | None = None
    input_names: list[str | None] = field(default_factory=list)

    def _input(self, k: int) -> str:
        names = self.input_names
        return (names[k] if k < len(names) else None) or f"in{k}"

    @property
    def ok(self) -> bool:
        return bool(self.error <= TOLERANCE)


@dataclass
class Trace:
    """The backward pass of a scalar, one :class:`TraceRow` per node in backward order."""

    rows: list[TraceRow]
    loss: float
    _edges: list[tuple[int, int, int]] = field(default_factory=list, repr=False)
    _leaves: dict[int, tuple[str, np.ndarray, np.ndarray | None]] = field(
        default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """Every row agrees with central differences."""
        return all(r.ok for r in self.rows)

    @property
    def worst_error(self) -> float:
        return max((r.error for r in self.rows), default=0.0)

    def __iter__(self) -> Iterator[TraceRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> TraceRow:
        return self.rows[i]

    def __str__(self) -> str:
        head = (f"backward pass of L = {self.loss:.6g}: {len(self.rows)} nodes, newest "
                f"first; {'all' if self.ok else 'NOT all'} rows agree with central "
                f"differences (worst error {self.worst_error:.1e})")
        lines = [head]
        for r in self.rows:
            shapes = ", ".join(_shape(s) for s in r.input_shapes)
            mark = "ok" if r.ok else "WRONG"
            out = r.name or "out"
            named = f"{r.name} = " if r.name else ""
            lines.append(f"[{r.index}] {named}{r.op}({shapes}) -> {_shape(r.output_shape)}   "
                         f"check: {mark} (error {r.error:.1e}, {r.checked} entries)")
            lines.append(f"    upstream dL/d{out}: {summarize(r.upstream)}")
            for k, (need, jac, down) in enumerate(zip(r.needs, r.jacobians, r.downstream)):
                if not need:
                    continue
                if jac is not None:
                    lines.append(f"    local Jacobian d{out}/d{r._input(k)} "
                                 f"({jac.shape[0]}x{jac.shape[1]}):")
                    lines.extend("      " + row for row in _matrix(jac))
                lines.append(f"    downstream dL/d{r._input(k)}: {summarize(down)}")
        return "\n".join(lines)

    def to_dot(self) -> str:
        """Graphviz DOT of the graph: an op node per row (its value and upstream
        gradient), a leaf node per input Tensor (value and gradient), edges input -> op."""
        out = ["digraph backward {", '  rankdir="LR";',
               '  node [fontname="Helvetica", fontsize=10];']
        for r in self.rows:
            value = _dot(r.name or "out")
            head = f"{r.name} = {r.op}" if r.name else r.op
            shape = f" (shape {_shape(r.output_shape)})" if r.output_shape else ""
            label = (f"{_dot(head)}\\n{value} = {_dot(summarize(r.value, 4))}{shape}"
                     f"\\ndL/d{value}: {_dot(summarize(r.upstream, 4))}")
            colour = "#D55E00" if not r.ok else "#0072B2"
            out.append(f'  n{r.index} [shape=box, style="rounded", color="{colour}", '
                       f'label="{label}"];')
        for key, (name, value, grad) in self._leaves.items():
            text = f"{name}: {_dot(summarize(value, 4))}"
            if grad is not None:
                text += f"\\ndL/d{name}: {_dot(summarize(grad, 4))}"
            out.append(f'  l{key} [shape=ellipse, color="#009E73", label="{text}"];')
        for src, dst, slot in self._edges:
            tail = f"l{-src - 1}" if src < 0 else f"n{src}"
            label = self.rows[dst]._input(slot)
            out.append(f'  {tail} -> n{dst} [label="{_dot(label)}", fontsize=8];')
        out.append("}")
        return "\n".join(out) + "\n"

    def render(self, path: str | Path, format: str = "png") -> Path:
        """Draw the DOT graph into ``path`` (PNG or SVG) with Graphviz, atomically."""
        if format not in ("png", "svg"):
            raise ValueError(f"format must be 'png' or 'svg', got {format!r}")
        try:
            import graphviz
        except ImportError:
            raise ImportError('drawing a trace needs graphviz: pip install "glassnet[graph]" '
                              "(and the dot program, e.g. apt-get install graphviz)") from None
        from glassnet._fileio import atomic_write_bytes

        data = graphviz.Source(self.to_dot()).pipe(format=format)
        path = Path(path)
        atomic_write_bytes(path, data)
        return path


# ---------------------------------------------------------------------- formatting
def _shape(s: tuple[int, ...]) -> str:
    return "scalar" if s == () else "x".join(str(n) for n in s)


def summarize(a: np.ndarray | None, limit: int = PRINT_LIMIT) -> str:
    """The values of a small array; shape, range and norm of a large one."""
    if a is None:
        return "-"
    a = np.asarray(a)
    if a.size <= limit:
        if a.ndim == 0:
            return f"{float(a):.4g}"
        return np.array2string(a, precision=4, suppress_small=True, separator=", ",
                               max_line_width=10_000).replace("\n", "")
    return (f"array {_shape(a.shape)}, min {a.min():.3g}, max {a.max():.3g}, "
            f"norm {np.linalg.norm(a.astype(np.float64)):.3g}")


def _matrix(m: np.ndarray) -> list[str]:
    return np.array2string(m, precision=4, suppress_small=True,
                           max_line_width=160).splitlines()


def _dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


# ---------------------------------------------------------------------- the pass
def _nodes(loss: Tensor) -> list[Tensor]:
    """The Tensors of the graph that carry a node, newest first (backward order)."""
    seen: dict[int, Tensor] = {}
    stack = [loss]
    while stack:
        t = stack.pop()
        if id(t) in seen or t._ctx is None:
            continue
        if t._ctx.inputs is None:
            raise RuntimeError("trace: this graph was freed by a backward pass; call trace "
                               "before backward, or backward(retain_graph=True)")
        seen[id(t)] = t
        stack.extend(a for a in t._ctx.inputs if isinstance(a, Tensor))
    return sorted(seen.values(), key=lambda t: -t._ctx.seq)


def _node_backward(fn: Any, g: np.ndarray, out: np.ndarray) -> list[np.ndarray | None]:
    """One node's backward formula on arrays, as the engine runs it."""
    from glassnet.autograd.engine import _wrap, sum_to_shape

    with no_grad():
        if fn.array_backward:
            saved = fn.inputs
            fn.inputs = fn.arrays
            try:
                grads = list(fn.backward(g))
            finally:
                fn.inputs = saved
        else:
            grads = [None if x is None else (x.data if isinstance(x, Tensor) else x)
                     for x in fn.backward(_wrap(g))]
    result: list[np.ndarray | None] = []
    for inp, x, need in zip(fn.inputs, grads, fn.needs_input_grad):
        if not need or x is None:
            result.append(None)
            continue
        x = np.asarray(x)
        shape = inp.data.shape
        if x.shape != shape:
            x = np.asarray(sum_to_shape(x, shape))
        result.append(x)
    return result


def _forward(fn: Any, arrays: list[Any]) -> np.ndarray:
    fresh = object.__new__(type(fn))
    return np.asarray(fresh.forward(*arrays, **(getattr(fn, "kwargs", None) or {})))


def _check(fn: Any, g: np.ndarray, downstream: list[np.ndarray | None],
           rng: np.random.Generator) -> tuple[float, int]:
    """Compare each downstream gradient with central differences of sum(g * forward)."""
    arrays = [np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray)
              and a.dtype.kind == "f" else a for a in fn.arrays]
    g64 = np.asarray(g, dtype=np.float64)
    worst, checked = 0.0, 0
    for k, down in enumerate(downstream):
        if down is None or not isinstance(arrays[k], np.ndarray):
            continue
        base = arrays[k]
        flat = base.reshape(-1)
        idx = (np.arange(flat.size) if flat.size <= CHECK_ENTRIES
               else rng.choice(flat.size, CHECK_ENTRIES, replace=False))
        for i in idx:
            vals = []
            for step in (EPS, -EPS):
                bumped = flat.copy()
                bumped[i] += step
                trial = list(arrays)
                trial[k] = bumped.reshape(base.shape)
                vals.append(float(np.sum(g64 * _forward(fn, trial))))
            numeric = (vals[0] - vals[1]) / (2 * EPS)
            analytic = float(np.asarray(down, dtype=np.float64).reshape(-1)[i])
            err = abs(numeric - analytic) / max(1.0, abs(numeric), abs(analytic))
            worst = max(worst, err)
            checked += 1
    return worst, checked


def _jacobian(fn: Any, out: np.ndarray, k: int, size: int) -> np.ndarray:
    """d(out)/d(input k), row by row: the backward of each unit upstream vector."""
    rows = []
    for j in range(out.size):
        e = np.zeros(out.size, dtype=out.dtype)
        e[j] = 1
        rows.append(np.asarray(_node_backward(fn, e.reshape(out.shape), out)[k]).reshape(-1))
    return np.stack(rows).reshape(out.size, size)


def trace(loss: Tensor, seed: int = 0, names: Mapping[str, Tensor] | None = None) -> Trace:
    """The backward pass of the scalar ``loss``, node by node, each row checked.

    Parameters
    ----------
    loss : Tensor
        A scalar (one element) at the end of a recorded graph.
    seed : int
        Chooses the entries sampled for the central-difference check of large inputs.
    names : mapping, optional
        Labels for tensors of the graph, ``{"w": w, "s": s, ...}``: the table and the DOT
        graph then speak of dL/dw and ds/dw instead of dL/din1 and dout/din1.
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"trace needs a Tensor, got {type(loss).__name__}")
    if loss.data.size != 1:
        raise ValueError(f"trace needs a scalar loss, got shape {loss.shape}")
    if loss._ctx is None:
        raise ValueError("trace: the loss has no graph (no input requires a gradient, or it "
                         "was computed under no_grad)")
    label = {id(v): str(k) for k, v in (names or {}).items()}
    rng = np.random.default_rng(seed)
    tensors = _nodes(loss)
    position = {id(t): i for i, t in enumerate(tensors)}
    grads: dict[int, np.ndarray] = {id(loss): np.ones_like(loss.data)}
    leaves: dict[int, tuple[str, np.ndarray, np.ndarray | None]] = {}
    leaf_ids: dict[int, int] = {}
    edges: list[tuple[int, int, int]] = []
    rows: list[TraceRow] = []
    for i, t in enumerate(tensors):
        fn = t._ctx
        g = grads.pop(id(t), np.zeros_like(t.data))
        down = _node_backward(fn, g, t.data)
        jacobians: list[np.ndarray | None] = []
        for k, inp in enumerate(fn.inputs):
            size = int(np.size(fn.arrays[k]))
            small = down[k] is not None and size * t.data.size <= JACOBIAN_LIMIT
            jacobians.append(_jacobian(fn, t.data, k, size) if small else None)
            if not isinstance(inp, Tensor):
                continue
            if inp._ctx is not None:
                edges.append((position[id(inp)], i, k))
                if down[k] is not None:
                    prior = grads.get(id(inp))
                    grads[id(inp)] = down[k] if prior is None else prior + down[k]
            else:
                key = leaf_ids.setdefault(id(inp), len(leaf_ids))
                name, value, prior = leaves.get(key, (label.get(id(inp), f"x{key}"),
                                                      inp.data, None))
                if down[k] is not None:
                    prior = down[k] if prior is None else prior + down[k]
                leaves[key] = (name, value, prior)
                edges.append((-key - 1, i, k))
        error, checked = _check(fn, g, down, rng)
        rows.append(TraceRow(
            index=i, op=fn.name, input_shapes=[tuple(np.shape(a)) for a in fn.arrays],
            output_shape=tuple(t.data.shape), value=t.data, upstream=g,
            jacobians=jacobians, downstream=down, error=error, checked=checked,
            needs=list(fn.needs_input_grad), name=label.get(id(t)),
            input_names=[label.get(id(a)) for a in fn.inputs]))
    return Trace(rows=rows, loss=float(loss.data.reshape(-1)[0]), _edges=edges,
                 _leaves=leaves)
