"""Reverse-mode differentiation: topological order, accumulation, broadcast reduction.

The engine, not the ops, owns all bookkeeping:

* the order: nodes are numbered as they are recorded, and a heap hands them out newest
  first (no recursion, so a chain of 100,000 operations is fine);
* accumulation: a tensor used several times receives the sum of its gradients, and a
  leaf's ``.grad`` accumulates across ``backward`` calls (always out of place, so no
  gradient array is ever shared and then mutated);
* broadcasting: an op returns its input gradient in the broadcast shape and
  ``sum_to_shape`` reduces it to the input's shape here, in one place.

Without ``create_graph`` the backward formulas run in ``no_grad`` mode and record
nothing; with it they record a graph, so the gradients can be differentiated again.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.autograd import function as _function
from glassnet.autograd import tape as _tape
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


_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Call .backward(retain_graph=True) the first time "
    "if you need to backward twice."
)


def run_backward(
    root: Tensor,
    grad: Tensor,
    retain_graph: bool,
    create_graph: bool,
    inputs: list[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Propagate ``grad`` (dL/droot) back through the graph of ``root``.

    The order: every recorded node carries its creation number, and creation order is a
    topological order (an op's inputs exist before it). A node enters a heap when it first
    receives a gradient and leaves it newest first, so each node is processed after all
    of its consumers, without a separate search of the graph and without recursion.

    Without ``inputs`` every leaf that requires a gradient accumulates it in ``.grad``.
    With ``inputs`` nothing is written to ``.grad``: the gradients of those tensors are
    returned instead (None for a tensor the output does not depend on).

    With ``create_graph`` the gradients flowing backwards are Tensors and every backward
    formula records its own graph. Without it they are plain ndarrays: a primitive whose
    ``array_backward`` is set runs its formula directly on the arrays (no wrappers, no
    nodes); any other primitive gets them wrapped as Tensors, in ``no_grad`` mode.
    """
    if _tape.active[0] is not None:  # glassnet.compile: note the loss, refuse a graph
        if create_graph:
            raise _tape.TraceError("glassnet.compile records backward passes without "
                                   "create_graph only")
        _tape.active[0].roots.append(root.data)
    capture: dict[int, Any] | None = None
    if inputs is not None:
        capture = {id(t): None for t in inputs}
    arrays = not create_graph
    g_root: Any = grad.data if arrays else grad
    handed: set[int] = {id(g_root)}  # arrays a leaf may not keep without copying
    if capture is not None and id(root) in capture:
        capture[id(root)] = g_root
    if root._ctx is None:  # a leaf: its gradient is ``grad`` itself
        if capture is None:
            _accumulate_leaf(root, g_root, handed)
            return None
        return _captured(capture, inputs)  # type: ignore[arg-type]
    if root._ctx.inputs is None:
        raise RuntimeError(_FREED)
    grads: dict[int, Any] = {id(root): g_root}
    heap: list[tuple[int, Tensor]] = [(-root._ctx.seq, root)]
    prev = _enabled[0]
    _enabled[0] = create_graph
    try:
        if arrays:
            _backward_arrays(heap, grads, handed, retain_graph, capture)
        else:
            _backward_general(heap, grads, handed, retain_graph, arrays, capture)
    finally:
        _enabled[0] = prev
    if capture is None:
        return None
    return _captured(capture, inputs)  # type: ignore[arg-type]


class _Unbatchable(Exception):
    """A node met by a batched pass cannot take stacked cotangents (see batched_vjp)."""


def _sum_to_batched(g: Any, batch: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """``sum_to_shape`` for a gradient with the batch axes ``batch`` in front."""
    b = len(batch)
    lead = g.ndim - b - len(shape)
    if lead < 0 or g.shape[:b] != batch:
        raise _Unbatchable
    axes = tuple(range(b, b + lead)) + tuple(
        b + lead + i for i, n in enumerate(shape) if n == 1 and g.shape[b + lead + i] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(batch + shape)


def batched_vjp(root: Tensor, seeds: np.ndarray, x: Tensor) -> Any:
    """The vector-Jacobian products of ``root`` with every row of ``seeds`` (shape
    (k,) + root.shape) with respect to ``x``, in one pass: an array (k,) + x.shape, or
    None when ``root`` does not depend on ``x``.

    Each formula gets the k cotangents stacked on a leading axis, which elementwise
    formulas broadcast over; the graph is retained and nothing is written to ``.grad``.
    Raises ``_Unbatchable`` (before any side effect that matters: the graph is kept)
    when a node's formula does not take stacked cotangents; the caller then goes row by
    row (``run_backward``, the plain version and the tests' oracle).
    """
    fn = root._ctx
    if fn is None or fn.inputs is None:
        raise _Unbatchable
    capture: dict[int, Any] = {id(x): None}
    handed: set[int] = {id(seeds)}
    heap: list[tuple[int, Tensor]] = [(-fn.seq, root)]
    prev = _enabled[0]
    _enabled[0] = False
    try:
        _backward_arrays(heap, {id(root): seeds}, handed, True, capture, seeds.shape[:1])
    finally:
        _enabled[0] = prev
    return capture[id(x)]


def _backward_arrays(
    heap: list[tuple[int, Tensor]],
    grads: dict[int, Any],
    handed: set[int],
    retain_graph: bool,
    capture: dict[int, Any] | None,
    batch: tuple[int, ...] = (),
) -> None:
    """The loop of ``_backward_general`` without ``create_graph`` (``loss.backward()``, and
    the passes of ``jacobian``/``hessian``): gradients are arrays; they go to the leaves'
    ``.grad``, or to ``capture`` when it is given. The same steps, with the Tensor
    branches taken out and a chain of nodes walked without the heap. With ``batch`` the
    gradients carry that many stacked cotangents on leading axes (``batched_vjp``)."""
    T = _function.Tensor
    capturing = capture is not None
    pop, get = grads.pop, grads.get
    push, take = heapq.heappush, heapq.heappop
    tape = _tape.active[0]  # glassnet.compile records this pass (see autograd.tape)
    # ``nxt``: a node that could go on the heap but is the only one waiting (a chain), so
    # it is simply the next one; a second waiting node sends it to the heap after all.
    nxt: Tensor | None = take(heap)[1]
    while True:
        if nxt is not None:
            t = nxt
            nxt = None
        elif heap:
            t = take(heap)[1]
        else:
            break
        fn = t._ctx
        fn_inputs = fn.inputs
        if fn_inputs is None:
            raise RuntimeError(_FREED)
        g = pop(id(t))
        if t._retain and not capturing:
            _accumulate_leaf(t, g, handed)
        if batch and not (fn.batchable and fn.array_backward):
            raise _Unbatchable
        if tape is not None:
            in_grads = tape.backward(fn, g)
            fn.inputs = fn_inputs
        elif fn.array_backward:
            fn.inputs = fn.arrays
            in_grads = fn.backward(g)
            fn.inputs = fn_inputs
        else:
            in_grads = [
                None if ig is None else (ig.data if isinstance(ig, T) else ig)
                for ig in fn.backward(_wrap(g))
            ]
        for inp, ig, need in zip(fn_inputs, in_grads, fn.needs_input_grad):
            if need and ig is not None:
                if batch:
                    if ig.shape != batch + inp.data.shape:
                        ig = _sum_to_batched(ig, batch, inp.data.shape)
                elif ig.shape != inp.data.shape:
                    ig = (sum_to_shape(ig, inp.data.shape) if tape is None
                          else tape.call(sum_to_shape, ig, inp.data.shape))
                key = id(inp)
                if capturing and key in capture:  # type: ignore[operator]
                    prior = capture[key]  # type: ignore[index]
                    capture[key] = ig if prior is None else prior + ig  # type: ignore[index]
                node = inp._ctx
                if node is None:
                    if not capturing:
                        _accumulate_leaf(inp, ig, handed)
                else:
                    prior = get(key)
                    if prior is None:
                        grads[key] = ig
                        if nxt is None and not heap:
                            nxt = inp
                        else:
                            if nxt is not None:
                                push(heap, (-nxt._ctx.seq, nxt))
                                nxt = None
                            push(heap, (-node.seq, inp))
                    else:
                        grads[key] = prior + ig if tape is None else tape.call(np.add, prior, ig)
        if not retain_graph:  # fn.release(), inlined
            if fn._has_dict:
                fn.__dict__.clear()
            fn.inputs = fn.arrays = fn._out = None


def _backward_general(
    heap: list[tuple[int, Tensor]],
    grads: dict[int, Any],
    handed: set[int],
    retain_graph: bool,
    arrays: bool,
    capture: dict[int, Any] | None,
) -> None:
    """Hand out the nodes newest first and run their backward formulas (see run_backward)."""
    T = _function.Tensor
    pop, get = grads.pop, grads.get
    push, take = heapq.heappush, heapq.heappop
    capturing = capture is not None
    while heap:
        t = take(heap)[1]
        fn = t._ctx
        fn_inputs = fn.inputs
        if fn_inputs is None:
            raise RuntimeError(_FREED)
        g = pop(id(t))
        if t._retain and not capturing:
            _accumulate_leaf(t, g, handed)
        if arrays and fn.array_backward:
            fn.inputs = fn.arrays
            in_grads = fn.backward(g)
            fn.inputs = fn_inputs
        elif arrays:
            in_grads = [
                None if ig is None else (ig.data if isinstance(ig, T) else ig)
                for ig in fn.backward(_wrap(g))
            ]
        else:  # recording: the formula may ask for this node's output Tensor (``out``)
            fn._out_tensor = t
            in_grads = fn.backward(g)
            fn._out_tensor = None
        for inp, ig, need in zip(fn_inputs, in_grads, fn.needs_input_grad):
            if ig is None or not need:
                continue
            shape = inp.data.shape
            if ig.shape != shape:
                ig = sum_to_shape(ig, shape)
            key = id(inp)
            if capturing and key in capture:  # type: ignore[operator]
                prior = capture[key]  # type: ignore[index]
                capture[key] = ig if prior is None else prior + ig  # type: ignore[index]
            node = inp._ctx
            if node is not None:
                prior = get(key)
                if prior is None:
                    grads[key] = ig
                    push(heap, (-node.seq, inp))
                else:
                    grads[key] = prior + ig
            elif not capturing:
                _accumulate_leaf(inp, ig, handed)
        if not retain_graph:  # fn.release(), inlined
            if fn._has_dict:
                fn.__dict__.clear()
            fn.inputs = fn.arrays = fn._out = None


def _wrap(a: Any) -> Tensor:
    """An ndarray as a Tensor that is not part of any graph."""
    T = _function.Tensor
    if isinstance(a, T):
        return a
    if type(a) is not np.ndarray:  # NumPy returns scalars for 0-d arithmetic
        a = np.asarray(a)
    t = object.__new__(T)
    t.data = a
    t.grad = None
    t._rg = False
    t._ctx = None
    t._retain = False
    return t


def _captured(capture: dict[int, Any], inputs: list[Tensor]) -> list[Tensor | None]:
    out: list[Tensor | None] = []
    for t in inputs:
        g = capture[id(t)]
        if g is not None:
            g = _wrap(g)
            if g.data.dtype != t.data.dtype:
                g = g.astype(t.data.dtype)
        out.append(g)
    return out


def _accumulate_leaf(t: Tensor, g: Any, handed: set[int]) -> None:
    """Add gradient ``g`` (an ndarray, or a Tensor under create_graph) to ``t.grad``.

    A leaf owns its ``.grad``: an array that another leaf, the caller's ``grad`` argument
    or a node's saved state may also hold, or a read-only broadcast view, is copied
    first; a fresh array produced by a backward formula is kept as it is.
    """
    T = _function.Tensor
    if isinstance(g, T):  # create_graph: accumulate differentiably
        if g.data.dtype != t.data.dtype:
            g = g.astype(t.data.dtype)
        t.grad = g if t.grad is None else t.grad + g
        return
    tape = _tape.active[0]
    if tape is not None:  # glassnet.compile: the same steps, recorded
        _accumulate_leaf_recorded(tape, t, g, handed)
        return
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    if t.grad is not None:
        t.grad = _wrap(t.grad.data + g)
        return
    if g.base is not None or not g.flags.writeable or id(g) in handed:
        g = np.array(g)
    handed.add(id(g))
    t.grad = _wrap(g)


def _accumulate_leaf_recorded(tape: Any, t: Tensor, g: Any, handed: set[int]) -> None:
    """``_accumulate_leaf`` for arrays while a ``glassnet.compile`` tape records."""
    if g.dtype != t.data.dtype:
        g = tape.call(np.ndarray.astype, g, t.data.dtype)
    if t.grad is not None:
        if not tape.knows(t.grad.data):
            raise _tape.TraceError(
                "glassnet.compile: the step adds to a gradient left from before it (call "
                "optimizer.zero_grad() in the step, before backward, with set_to_none=True)"
            )
        t.grad = _wrap(tape.call(np.add, t.grad.data, g))
        return
    if g.base is not None or not g.flags.writeable or id(g) in handed:
        g = tape.call(np.array, g)
    handed.add(id(g))
    t.grad = _wrap(g)
