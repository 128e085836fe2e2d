"""Reverse-mode differentiation: topological order, accumulation, broadcast reduction.

The engine, not the ops, owns all bookkeeping:

* the order: an iterative depth-first post-order over the graph (no recursion, so a
  chain of 100,000 operations is fine);
* accumulation: a tensor used several times receives the sum of its gradients, and a
  leaf's ``.grad`` accumulates across ``backward`` calls (always out of place, so no
  gradient array is ever shared and then mutated);
* broadcasting: an op returns its input gradient in the broadcast shape and
  ``sum_to_shape`` reduces it to the input's shape here, in one place.

Without ``create_graph`` the backward formulas run in ``no_grad`` mode and record
nothing; with it they record a graph, so the gradients can be differentiated again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from glassnet.autograd.grad_mode import _enabled

if TYPE_CHECKING:  # pragma: no cover
    from glassnet.tensor import Tensor


def sum_to_shape(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum a broadcast gradient ``g`` down to ``shape`` (the inverse of broadcasting)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to_shape: gradient of shape {g.shape} cannot reduce to {shape}")
    gshape = g.shape
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if g.shape != shape else g


def _topological_order(root: Tensor) -> list[Tensor]:
    """Non-leaf tensors reachable from ``root`` that need a gradient, inputs first."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        fn = t._ctx
        if fn is None:
            continue
        if fn.inputs is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access "
                "saved tensors after they have already been freed). Call "
                ".backward(retain_graph=True) the first time if you need to backward twice."
            )
        stack.append((t, True))
        for inp, need in zip(fn.inputs, fn.needs_input_grad):
            if need and inp._ctx is not None and id(inp) not in visited:
                stack.append((inp, False))
    return order


def run_backward(
    root: Tensor,
    grad: Tensor,
    retain_graph: bool,
    create_graph: bool,
    inputs: list[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Propagate ``grad`` (dL/droot) back through the graph of ``root``.

    Without ``inputs`` every leaf that requires a gradient accumulates it in ``.grad``.
    With ``inputs`` nothing is written to ``.grad``: the gradients of those tensors are
    returned instead (None for a tensor the output does not depend on).
    """
    capture: dict[int, Tensor | None] | None = None
    if inputs is not None:
        capture = {id(t): None for t in inputs}
        if id(root) in capture:
            capture[id(root)] = grad
    if root._ctx is None:  # a leaf: its gradient is ``grad`` itself
        if capture is None:
            _accumulate_leaf(root, grad)
            return None
        return [capture[id(t)] for t in inputs]  # type: ignore[union-attr]
    order = _topological_order(root)
    grads: dict[int, Tensor] = {id(root): grad}
    prev = _enabled[0]
    _enabled[0] = create_graph
    try:
        for t in reversed(order):
            g = grads.pop(id(t), None)
            fn = t._ctx
            if g is None:
                if not retain_graph:
                    fn.release()
                continue
            if t._retain and capture is None:
                _accumulate_leaf(t, g)
            in_grads = fn.backward(g)
            for inp, ig, need in zip(fn.inputs, in_grads, fn.needs_input_grad):
                if not need or ig is None:
                    continue
                if ig.shape != inp.data.shape:
                    ig = sum_to_shape(ig, inp.data.shape)
                key = id(inp)
                if capture is not None and key in capture:
                    prior = capture[key]
                    capture[key] = ig if prior is None else prior + ig
                if inp._ctx is None:
                    if capture is None:
                        _accumulate_leaf(inp, ig)
                else:
                    prior = grads.get(key)
                    grads[key] = ig if prior is None else prior + ig
            if not retain_graph:
                fn.release()
    finally:
        _enabled[0] = prev
    if capture is None:
        return None
    out = []
    for t in inputs:  # type: ignore[union-attr]
        g = capture[id(t)]
        if g is not None and g.data.dtype != t.data.dtype:
            g = g.astype(t.data.dtype)
        out.append(g)
    return out


def _accumulate_leaf(t: Tensor, g: Tensor) -> None:
    if g.data.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    if not _enabled[0]:
        if t.grad is None:
            # A leaf owns its .grad: ``g`` may be another leaf's gradient, the caller's
            # ``grad`` argument or a read-only broadcast view, so store a private copy.
            g = g.detach()
            g.data = np.array(g.data)
        elif g._ctx is not None:
            g = g.detach()
    t.grad = g if t.grad is None else t.grad + g
