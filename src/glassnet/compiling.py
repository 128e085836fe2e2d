"""``glassnet.compile``: a training step traced once and replayed on arrays.

    step = glassnet.compile(train_step)      # train_step(x, y): forward, loss, backward,
    for xb, yb in batches:                   #   optimizer.step(); returns the loss
        loss = step(xb, yb)

The first call with batches of a new shape runs ``train_step`` eagerly, as it is, while
``glassnet.autograd.tape`` records its array program: every primitive's forward, the
engine's backward steps (each node's formula, broadcast reductions, gradient sums), the
random draws of dropout, batch norm's running statistics and the optimizer's update.
Later calls with batches of the same shapes replay that program on the new arrays: one
Python loop over the instructions, no Tensor, no graph node, no heap. The replay calls
the very same functions in the same order on arrays of the same shapes, so its numbers
are the eager step's bit for bit; random ops draw from the same generators in the same
order.

Guards. A recording is kept per *key* and replayed only when the key matches:

* the shapes and dtypes of the batch arguments (a short last batch has its own);
* every module the step called (and their submodules): their train()/eval() mode,
  their attributes (a changed dropout p, a replaced layer or parameter) and the arrays
  of their parameters and buffers (``p.data`` replaced by ``.to(dtype)``);
* every optimizer the step stepped: its hyper-parameters (a scheduler's new lr), its
  parameters and their arrays.

Otherwise the step is traced again (an eager step, recorded). Up to ``max_recordings``
keys are kept, the oldest dropped first.

What is recorded. Only array work done by glassnet's primitives and the recorded effects
is replayed. Other NumPy code inside the step that depends on the batch (a mask
computed from ``x.data`` by hand, a Python ``if`` on a value) would be frozen at the
traced call's values; a step whose program depends on its data or its random draws
(``Residual`` in stochastic-depth batch mode) raises ``TraceError`` instead. Every batch
argument must reach a primitive unchanged (``TraceError`` otherwise), and the step must
return Tensors or arrays (or None), not Python numbers. A replay does not set the
parameters' ``.grad``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet.autograd import tape as _tape
from glassnet.autograd.engine import _wrap
from glassnet.autograd.grad_mode import _enabled
from glassnet.autograd.tape import Tape, TraceError, _BackwardCall
from glassnet.ops import kernels as _kernels
from glassnet.tensor import Tensor

__all__ = ["CompiledStep", "TraceError", "compile"]


def compile(
    step_fn: Callable[..., Any],
    *,
    check_finite: bool = False,
    max_recordings: int = 8,
    kernels: str = "numpy",
) -> CompiledStep:
    """Trace ``step_fn`` once per batch shape and replay its array program afterwards.

    Parameters
    ----------
    step_fn : callable
        ``step_fn(*batch)``: one training step on the batch arrays (forward, loss,
        ``optimizer.zero_grad()``, ``backward()``, ``optimizer.step()``, any regularizer
        or constraint). It returns Tensors or arrays (the loss, the scores, a tuple of
        them) or None.
    check_finite : bool
        Before every optimizer update, check that each loss ``backward`` started from and
        every gradient is finite, and raise ``TrainingDivergedError`` otherwise (the
        weights are those before the step, as in ``fit``'s eager loop).
    max_recordings : int
        How many recordings (batch shapes, modes, hyper-parameters) are kept.
    kernels : {"numpy", "numba", "auto"}
        "numpy": replay the recorded NumPy calls (the eager step's numbers, bit for bit).
        "numba": replace the hot passes with the fused kernels of ``glassnet.ops.kernels``
        (bias + ReLU, ReLU's backward mask, the softmax-loss gradient, the SGD-momentum
        and Adam updates; the extra ``fast``), which do the same float operations in
        one pass. "auto": numba when it is installed, else numpy.

    Returns
    -------
    CompiledStep
        Called like ``step_fn``; returns its result with every Tensor's values from the
        replay.

    Examples
    --------
    >>> import numpy as np
    >>> import glassnet as gn
    >>> net = gn.nn.Linear(3, 2)
    >>> opt = gn.optim.SGD(net.parameters(), lr=0.1)
    >>> def train_step(x, y):
    ...     loss = gn.losses.softmax_log_likelihood(net(gn.Tensor(x)), y)
    ...     opt.zero_grad()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> step = gn.compile(train_step)
    >>> x, y = np.ones((4, 3), dtype=np.float32), np.array([0, 1, 0, 1])
    >>> first, second = step(x, y), step(x, y)  # traced, then replayed
    >>> step.traces
    1
    """
    if not callable(step_fn):
        raise TypeError(f"compile: step_fn must be callable, got {type(step_fn).__name__}")
    if isinstance(max_recordings, bool) or not isinstance(max_recordings, int) or (
        max_recordings < 1
    ):
        raise ValueError(f"compile: max_recordings must be a positive int, got {max_recordings!r}")
    if kernels not in ("numpy", "numba", "auto"):
        raise ValueError(f"compile: kernels must be 'numpy', 'numba' or 'auto', got {kernels!r}")
    if kernels == "auto":
        kernels = "numba" if _kernels.available() else "numpy"
    kern = _kernels.load() if kernels == "numba" else None  # numba is imported here
    return CompiledStep(step_fn, check_finite=bool(check_finite),
                        max_recordings=max_recordings, kernels=kern)


class _Recording:
    """One traced call: its program, its slots, where the inputs go and the outputs come
    from, and what it was traced for (modules and optimizers)."""

    __slots__ = ("program", "env", "inputs", "outputs")

    def __init__(self, tape: Tape, outputs: Any, kernels: Any) -> None:
        # an output slot of -1 (a None result: an update) is not stored
        self.program = [(f if kernels is None else _fused(f, kernels), ins,
                         None if out == -1 else out) for f, ins, out in tape.program]
        self.env = tape.env
        self.inputs = tuple(tape.inputs)
        self.outputs = outputs

    def replay(self, arrays: tuple[np.ndarray, ...], times: list[float] | None = None) -> Any:
        """Run the program on ``arrays``; with ``times`` (one entry per instruction) add
        each instruction's seconds to its entry."""
        env = self.env
        for k, a in zip(self.inputs, arrays):
            env[k] = a
        prev = _enabled[0]
        _enabled[0] = False  # backward formulas take their array branch, as in the engine
        clock = time.perf_counter
        try:
            for n, (f, ins, out) in enumerate(self.program):
                if times is None:
                    r = f(*[env[i] for i in ins])
                else:
                    t0 = clock()
                    r = f(*[env[i] for i in ins])
                    times[n] += clock() - t0
                if out is None:
                    continue
                if type(out) is int:
                    env[out] = r
                else:
                    for o, v in zip(out, r):
                        if o >= 0:
                            env[o] = v
        finally:
            _enabled[0] = prev
        return _rebuild(self.outputs, env)


class CompiledStep:
    """A training step that replays its recorded array program (see ``compile``).

    Attributes
    ----------
    traces : int
        How many times the step has been traced (each one an eager call).
    replays : int
        How many calls were replays.
    """

    def __init__(self, step_fn: Callable[..., Any], *, check_finite: bool,
                 max_recordings: int, kernels: Any = None) -> None:
        self.step_fn = step_fn
        self.kernels = kernels
        self.check_finite = check_finite
        self.max_recordings = max_recordings
        self.traces = 0
        self.replays = 0
        self._recordings: OrderedDict[Any, _Recording] = OrderedDict()
        self._modules: list[Any] = []
        self._optimizers: list[Any] = []

    def __call__(self, *batch: Any) -> Any:
        arrays = tuple(_as_array(b, i) for i, b in enumerate(batch))
        key = self._key(arrays)
        rec = self._recordings.get(key)
        if rec is None:
            return self._trace(batch, arrays)
        self.replays += 1
        return rec.replay(arrays)

    def clear(self) -> None:
        """Drop every recording: the next call traces again."""
        self._recordings.clear()

    def profile(self, *batch: Any, repeat: int = 20) -> list[tuple[str, float]]:
        """Where a replay's time goes: (instruction, mean seconds) for the recording of
        these batch shapes, over ``repeat`` replays after one untimed replay (traced
        first if needed). Each replay is a real training step: it updates the
        parameters."""
        arrays = tuple(_as_array(b, i) for i, b in enumerate(batch))
        rec = self._recordings.get(self._key(arrays))
        if rec is None:
            self._trace(batch, arrays)
            rec = self._recordings[self._key(arrays)]
        rec.replay(arrays)  # one-time costs (numba's first call) are not counted
        times = [0.0] * len(rec.program)
        for _ in range(repeat):
            rec.replay(arrays, times)
        return [(_describe(f), t / repeat) for (f, _, _), t in zip(rec.program, times)]

    # ---------------------------------------------------------------- guards
    def _key(self, arrays: tuple[np.ndarray, ...]) -> tuple[Any, ...]:
        return (
            tuple((a.shape, a.dtype) for a in arrays),
            tuple(_module_signature(m) for m in self._modules),
            tuple(_optimizer_signature(o) for o in self._optimizers),
        )

    # ---------------------------------------------------------------- tracing
    def _trace(self, batch: tuple[Any, ...], arrays: tuple[np.ndarray, ...]) -> Any:
        if _tape.active[0] is not None:
            raise TraceError("glassnet.compile: a compiled step cannot be called while "
                             "another step is being traced")
        tape = Tape()
        for a in arrays:
            tape.add_input(a)
        if self.check_finite:
            tape.guard = _finite_guard
        _tape.active[0] = tape
        try:
            result = self.step_fn(*batch)
        finally:
            _tape.active[0] = None
        self.traces += 1
        for i, k in enumerate(tape.inputs):
            if k not in tape.used:
                raise TraceError(
                    f"glassnet.compile: batch argument {i} (shape {arrays[i].shape}, dtype "
                    f"{arrays[i].dtype}) never reached a glassnet operation unchanged, so a "
                    "replay could not use the new batch; pass it to the model or loss as it "
                    "is (convert it before calling the compiled step)"
                )
        outputs = _template(result, tape)
        self._watch(tape)
        rec = _Recording(tape, outputs, self.kernels)
        self._recordings[self._key(arrays)] = rec
        while len(self._recordings) > self.max_recordings:
            self._recordings.popitem(last=False)
        return result

    def _watch(self, tape: Tape) -> None:
        """Add the modules and optimizers the traced call used to the guarded ones."""
        from glassnet.optim.optimizer import Optimizer

        seen = {id(m) for m in self._modules}
        for top in tape.modules:
            for m in top.modules():
                if id(m) not in seen:
                    seen.add(id(m))
                    self._modules.append(m)
        known = {id(o) for o in self._optimizers}
        for f, _, _ in tape.program:
            owner = getattr(f, "__self__", None)
            if isinstance(owner, Optimizer) and id(owner) not in known:
                known.add(id(owner))
                self._optimizers.append(owner)


def _describe(f: Any) -> str:
    """'LinearFn.forward', 'SoftmaxLogLikelihood.backward (fused)', 'SGD.step', ..."""
    from glassnet.optim.optimizer import Optimizer

    fused = " (fused)" if type(f).__module__ == __name__ and not isinstance(
        f, _BackwardCall) else ""
    node = getattr(getattr(f, "call", f), "fn", None)
    if node is not None:
        return f"{type(node).__name__}.backward{fused}"
    owner = getattr(f, "__self__", None)
    if isinstance(owner, Optimizer):
        return f"{type(owner).__name__}.step{fused}"
    if owner is not None:
        return f"{type(owner).__name__}.{getattr(f, '__name__', 'forward')}"
    if isinstance(f, _LinearReluForward):
        return "LinearReluFn.forward (fused)"
    inner = getattr(f, "func", f)
    owner = getattr(inner, "__self__", None)
    if owner is not None:
        return f"{type(owner).__name__}.{inner.__name__}"
    return getattr(inner, "__qualname__", type(inner).__name__)


def _as_array(b: Any, i: int) -> np.ndarray:
    if isinstance(b, Tensor):
        return b.data
    if type(b) is np.ndarray:
        return b
    raise TypeError(
        f"a compiled step takes ndarrays or Tensors as its batch arguments; argument {i} "
        f"is {type(b).__name__}"
    )


def _template(result: Any, tape: Tape) -> Any:
    """The step's result with each Tensor or array replaced by ("slot", k)."""
    if result is None:
        return None
    if isinstance(result, Tensor):
        return ("tensor", tape.slot(result.data))
    if isinstance(result, np.ndarray):
        return ("array", tape.slot(result))
    if isinstance(result, (tuple, list)):
        return (type(result).__name__, [_template(r, tape) for r in result])
    if isinstance(result, dict):
        return ("dict", {k: _template(v, tape) for k, v in result.items()})
    raise TraceError(
        f"glassnet.compile: the step returned {type(result).__name__}; return Tensors or "
        "arrays (a replay cannot recompute a Python number: return the loss Tensor and "
        "call .item() on the result)"
    )


def _rebuild(template: Any, env: list[Any]) -> Any:
    if template is None:
        return None
    kind, body = template
    if kind == "tensor":
        return _wrap(env[body])
    if kind == "array":
        return env[body]
    if kind == "dict":
        return {k: _rebuild(v, env) for k, v in body.items()}
    items = [_rebuild(t, env) for t in body]
    return tuple(items) if kind == "tuple" else items


_SCALARS = (bool, int, float, str, type(None))


def _module_signature(m: Any) -> tuple[Any, ...]:
    """What a recording of ``m`` depends on: its attributes (plain values as they are,
    objects by identity, parameters with their arrays, registered buffers), not the
    arrays it keeps for inspection (``Dropout.last_mask``)."""
    from glassnet.nn.parameter import Parameter

    buffers = m._buffer_names
    sig = []
    for name, v in m.__dict__.items():
        if v is None:  # an attribute that goes from None to a value changes the entries
            continue
        if isinstance(v, _SCALARS):
            sig.append((name, v))
        elif isinstance(v, Parameter):
            sig.append((name, id(v), id(v.data)))
        elif isinstance(v, np.ndarray):
            if name in buffers:
                sig.append((name, id(v)))
        elif isinstance(v, (list, tuple)):
            sig.append((name, tuple(x if isinstance(x, _SCALARS) else id(x) for x in v)))
        elif isinstance(v, dict):  # Sequential's layers
            sig.append((name, tuple((k, x if isinstance(x, _SCALARS) else id(x))
                                    for k, x in v.items())))
        else:
            sig.append((name, id(v)))
    return tuple(sig)


def _plain(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_plain(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _plain(x)) for k, x in v.items()))
    return v if isinstance(v, (*_SCALARS, tuple)) else id(v)


def _optimizer_signature(opt: Any) -> tuple[Any, ...]:
    """The optimizer's hyper-parameters, parameters and their arrays, constraints."""
    groups = tuple(
        tuple((k, _plain(v)) for k, v in g.items() if k not in ("params", "param_names"))
        + tuple((id(p), id(p.data)) for p in g["params"])
        for g in opt.param_groups
    )
    return groups, tuple(id(c) for c in opt.constraints)


def _finite_guard(tape: Tape, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Before an optimizer's update (while tracing): check the losses and the gradients
    now, and record the same check in front of the update for every replay."""
    from glassnet.optim.optimizer import Optimizer

    if not isinstance(getattr(func, "__self__", None), Optimizer):
        return
    check = _FiniteCheck(len(tape.roots))
    values = (*tape.roots, *args)
    check(*values)
    tape.record(check, values, None)


class _FiniteCheck:
    """Raise ``TrainingDivergedError`` when a loss or a gradient is NaN or infinite."""

    __slots__ = ("n_losses",)

    def __init__(self, n_losses: int) -> None:
        self.n_losses = n_losses

    def __call__(self, *values: Any) -> None:
        from glassnet.training import TrainingDivergedError, _non_finite_array

        for v in values[: self.n_losses]:
            value = float(np.add.reduce(v, axis=None))
            if not math.isfinite(value):
                raise TrainingDivergedError(f"the loss is {value}")
        with np.errstate(over="ignore", invalid="ignore"):
            for g in values[self.n_losses :]:
                if g is not None and _non_finite_array(g):
                    raise TrainingDivergedError("a gradient is NaN or infinite")


# ------------------------------------------------------------------------------ fusion


def _fused(f: Callable[..., Any], kern: Any) -> Callable[..., Any]:
    """The instruction ``f`` with its hot passes in fused kernels, where one applies."""
    from glassnet.ops.losses import SoftmaxLogLikelihood
    from glassnet.ops.nn import LinearReluFn
    from glassnet.optim.optimizer import Optimizer

    owner = getattr(f, "__self__", None)
    if type(owner) is LinearReluFn and f.__name__ == "forward":
        return _LinearReluForward(kern)
    if isinstance(f, _BackwardCall) and f.arrays_ok:
        if type(f.fn) is LinearReluFn:
            return _LinearReluBackward(f, kern)
        if type(f.fn) is SoftmaxLogLikelihood:
            return _SoftmaxMeanBackward(f, kern)
    if isinstance(owner, Optimizer) and f.__name__ == "_step_arrays":
        return _KernelStep(owner, kern)
    return f


def _float_matrix(*arrays: Any) -> bool:
    return all(type(a) is np.ndarray and a.ndim == 2 and a.dtype.kind == "f"
               and a.flags.c_contiguous for a in arrays)


class _LinearReluForward:
    """``LinearReluFn.forward``: the product, then bias + ReLU in one pass."""

    __slots__ = ("kern",)

    def __init__(self, kern: Any) -> None:
        self.kern = kern

    def __call__(self, x: Any, W: Any, b: Any) -> np.ndarray:
        out = x @ W.T
        if b is None or not _float_matrix(out) or b.dtype != out.dtype:
            if b is not None:
                out += b
            return np.maximum(out, 0, out=out)
        self.kern.bias_relu(out, b)
        return out


class _LinearReluBackward:
    """``LinearReluFn.backward`` on arrays: the mask product in one pass, then LinearFn's."""

    __slots__ = ("call", "kern")

    def __init__(self, call: _BackwardCall, kern: Any) -> None:
        self.call, self.kern = call, kern

    def __call__(self, g: Any, out: Any, *arrays: Any) -> tuple[Any, ...]:
        from glassnet.ops.nn import LinearFn

        fn = self.call.fn
        if not (_float_matrix(g, out) and g.dtype == out.dtype):
            return self.call(g, out, *arrays)
        fn._out = out
        fn.arrays = fn.inputs = arrays
        d = np.empty_like(g)
        self.kern.relu_backward(g, out, d)
        return tuple(LinearFn.backward(fn, d))


class _SoftmaxMeanBackward:
    """``SoftmaxLogLikelihood.backward`` for the mean: e * (w / total) - w at the labels."""

    __slots__ = ("call", "kern")

    def __init__(self, call: _BackwardCall, kern: Any) -> None:
        self.call, self.kern = call, kern

    def __call__(self, g: Any, out: Any, *arrays: Any) -> tuple[Any, ...]:
        fn = self.call.fn
        e = getattr(fn, "e", None)
        if fn.reduction != "mean" or e is None or not _float_matrix(e) or np.ndim(g):
            return self.call(g, out, *arrays)
        w = g / e.shape[0]  # _weight's dout / N, as a 0-d array of e's dtype
        d = np.empty_like(e)
        self.kern.softmax_mean_grad(e, fn.total.reshape(-1), fn.y, e.dtype.type(w), d)
        return d, None


class _KernelStep:
    """An optimizer's update with the fused kernels lent to it (SGD momentum, Adam)."""

    __slots__ = ("opt", "kern", "__self__")

    def __init__(self, opt: Any, kern: Any) -> None:
        self.opt = self.__self__ = opt  # ``__self__``: still recognised as its update
        self.kern = kern

    def __call__(self, *grads: Any) -> None:
        opt = self.opt
        opt._kernels = self.kern
        try:
            opt._step_arrays(*grads)
        finally:
            opt._kernels = None
