"""``Tape``: the array program of one eager call, recorded for ``glassnet.compile``.

While a tape is active (``recording``), every array computation of a training step
reports itself here as one instruction ``(function, argument slots, output slots)``:

* a primitive's ``forward`` (from ``Function.apply``, ``unary`` and ``binary``);
* a primitive's ``backward``, the engine's ``sum_to_shape``, its accumulation of two
  gradients and its leaf-gradient copies (from the engine's array loop);
* ``effect``: array work outside the primitives that a replay must repeat, such as a
  dropout mask's draw from its generator or batch norm's running statistics, and the
  optimizer's update.

Each array is a *slot*: an input of the step, the output of an instruction, or a
constant captured by reference (a parameter's array, a buffer, a cached 0-d number). A
replay runs the instructions in order on new inputs, one Python loop, with no Tensor or
graph object; since it calls the very same functions on arrays of the same shapes in the
same order, its results are the eager step's bit for bit.

Nothing here is imported above the core: ``glassnet.compiling`` builds on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: The tape being recorded, or None (the eager step pays one list lookup per op).
active: list[Tape | None] = [None]


class TraceError(RuntimeError):
    """A training step cannot be recorded faithfully (the message says why)."""


class Tape:
    """The instructions of one traced call and the slots they read and write.

    ``env`` holds one value per slot: constants from the start, inputs and outputs filled
    in by a replay. ``program`` is a list of ``(function, argument slots, output)`` where
    output is a slot, a tuple of slots (-1 for an output that is not kept) or None.
    """

    def __init__(self) -> None:
        self.program: list[tuple[Callable[..., Any], tuple[int, ...], Any]] = []
        self.env: list[Any] = []
        self._slot_of: dict[int, int] = {}
        self._produced: set[int] = set()  # slots written by an instruction or an input
        self._keep: list[Any] = []  # every traced value stays alive: ids are not reused
        self.inputs: list[int] = []
        self.used: set[int] = set()
        #: the values ``backward`` started from (the losses), in order
        self.roots: list[np.ndarray] = []
        #: every Module called while recording (``Module.__call__``)
        self.modules: list[Any] = []
        #: ``guard(tape, func, args)`` runs before each ``effect`` (see glassnet.compiling)
        self.guard: Callable[[Tape, Callable[..., Any], tuple[Any, ...]], None] | None = None

    # ---------------------------------------------------------------- slots
    def _new(self, value: Any) -> int:
        k = len(self.env)
        self.env.append(value)
        self._keep.append(value)
        return k

    def add_input(self, array: np.ndarray) -> int:
        k = self._new(array)
        self._slot_of[id(array)] = k
        self._produced.add(k)
        self.inputs.append(k)
        return k

    def slot(self, value: Any) -> int:
        """The slot holding ``value`` (an ndarray by identity); anything not seen before
        becomes a constant slot. A Tensor stands for its array (a replay passes arrays)."""
        from glassnet.autograd import function as _function  # (the modules need each other)

        if isinstance(value, _function.Tensor):
            value = value.data
        k = self._slot_of.get(id(value)) if type(value) is np.ndarray else None
        if k is None:
            k = self._new(value)
            if type(value) is np.ndarray:
                self._slot_of[id(value)] = k
        self.used.add(k)
        return k

    def _out(self, value: Any) -> int:
        if value is None:
            return -1
        k = self._new(value)
        if type(value) is np.ndarray:
            self._slot_of[id(value)] = k
        self._produced.add(k)
        return k

    def knows(self, array: Any) -> bool:
        """Was ``array`` an input or made by a recorded instruction?"""
        k = self._slot_of.get(id(array))
        return k is not None and k in self._produced

    # ---------------------------------------------------------------- recording
    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)``, run and recorded (the engine's array steps)."""
        result = func(*args)
        self.record(func, args, result)
        return result

    def record(self, func: Callable[..., Any], args: tuple[Any, ...], result: Any,
               multi: bool = False) -> None:
        """Append ``result = func(*args)`` (already computed) to the program."""
        ins = tuple(self.slot(a) for a in args)
        if multi:
            out: Any = tuple(self._out(r) for r in result)
        else:
            out = self._out(result)
        self.program.append((func, ins, out))

    def forward(self, fn: Any, arrays: tuple[Any, ...], kwargs: dict[str, Any],
                out: np.ndarray) -> None:
        """A primitive's forward: replays call the same node object's ``forward``."""
        if not kwargs:
            self.record(fn.forward, arrays, out)
            return
        # keyword arguments may be arrays of this step too (batch norm's statistics)
        names = tuple(kwargs)
        self.record(_Bound(fn.forward, len(arrays), names),
                    tuple(arrays) + tuple(kwargs[k] for k in names), out)

    def backward(self, fn: Any, g: Any) -> tuple[Any, ...]:
        """Run and record a node's backward formula on arrays (``create_graph`` off)."""
        call = _BackwardCall(fn)
        out = fn._out if fn.saves_output else None
        arrays = fn.arrays
        active[0] = None  # what the formula computes inside is the instruction's business
        try:
            result = tuple(call(g, out, *arrays))
        finally:
            active[0] = self
        self.record(call, (g, out) + tuple(arrays), result, multi=True)
        return result


class _Bound:
    """``func(*positional, **dict(zip(names, rest)))``: a forward with keyword arguments
    called on slots only (the last ``len(names)`` arguments are the keywords' values)."""

    __slots__ = ("func", "n", "names")

    def __init__(self, func: Callable[..., Any], n: int, names: tuple[str, ...]) -> None:
        self.func, self.n, self.names = func, n, names

    def __call__(self, *args: Any) -> Any:
        n = self.n
        return self.func(*args[:n], **dict(zip(self.names, args[n:])))


class _BackwardCall:
    """A node's backward formula called on arrays: the node's inputs (and its output,
    for formulas that reuse it) set to the replay's arrays, then ``backward(dout)``.

    A primitive without ``array_backward`` gets its arrays wrapped as Tensors (not part
    of any graph), as the engine does; its array results are returned."""

    __slots__ = ("fn", "tensors", "arrays_ok")

    def __init__(self, fn: Any) -> None:
        from glassnet.autograd import function as _function

        self.fn = fn
        self.arrays_ok = fn.array_backward
        T = _function.Tensor
        self.tensors = tuple(isinstance(a, T) for a in fn.inputs)

    def __call__(self, g: Any, out: Any, *arrays: Any) -> tuple[Any, ...]:
        from glassnet.autograd.engine import _wrap

        fn = self.fn
        fn._out = out
        if self.arrays_ok:
            fn.arrays = fn.inputs = arrays
            return tuple(fn.backward(g))
        fn.arrays = arrays
        fn.inputs = tuple(_wrap(a) if t else a for a, t in zip(arrays, self.tensors))
        return tuple(None if r is None else getattr(r, "data", r) for r in fn.backward(_wrap(g)))


def effect(func: Callable[..., Any], *args: Any, multi: bool = False) -> Any:
    """``func(*args)``, recorded on the active tape (if any) so that a replay repeats it.

    For array work outside the primitives whose result a replay must recompute (a random
    draw) or whose side effect it must repeat (running statistics, an optimizer's update).
    ``multi``: ``func`` returns a tuple of values, each its own slot.
    """
    tape = active[0]
    if tape is None:
        return func(*args)
    if tape.guard is not None:  # e.g. the divergence check before an optimizer's update
        tape.guard(tape, func, args)
    active[0] = None  # whatever ``func`` does inside is part of this one instruction
    try:
        result = func(*args)
    finally:
        active[0] = tape
    tape.record(func, args, result, multi=multi)
    return result


def forbid_recording(reason: str) -> None:
    """Raise ``TraceError`` (naming ``reason``) when a tape is recording: for a step whose
    program depends on its data or its random draws, which one recording cannot hold."""
    if active[0] is not None:
        raise TraceError(f"glassnet.compile cannot record this step: {reason}")


