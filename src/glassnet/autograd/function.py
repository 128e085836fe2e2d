"""``Function``: the base class of every differentiable primitive.

A primitive is one small class with ``forward`` (NumPy arrays in, an array out) and
``backward`` directly beneath it (``dout``, a Tensor, in; one gradient per input out,
written in Tensor operations so that it can be differentiated again).

``Function.apply`` is the only place that builds graph nodes. It runs ``forward`` on the
raw arrays and, only when grad mode is on and some input requires a gradient, records the
node on the output. Arguments that are not Tensors (Python numbers, ndarrays) are
constants: they reach ``forward`` unchanged and never receive a gradient.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.autograd.grad_mode import _enabled
from glassnet.autograd.tape import active as _tape

if TYPE_CHECKING:  # pragma: no cover
    from glassnet.tensor import Tensor

# Recorded nodes are numbered in creation order, which is a topological order: a node's
# inputs always exist before it. The engine sorts by this number instead of searching.
_sequence = itertools.count()

# Set by glassnet.tensor once the Tensor class exists (the two modules need each other).
Tensor: Any = None


class Function:
    """A differentiable primitive; subclasses define ``forward`` and ``backward``.

    Attributes available inside ``backward``:

    ``inputs``
        The arguments given to ``apply`` (Tensors and constants), in order.
    ``needs_input_grad``
        One bool per argument: does it require a gradient? ``backward`` returns None for
        the others and should not compute them.
    ``out()``
        The output Tensor, for subclasses that set ``saves_output = True`` (a derivative
        that reuses the forward's result, such as exp' = exp).

    Two carriers, one formula. A subclass that sets ``array_backward = True`` promises
    that its ``backward`` uses only operations that Tensors and NumPy arrays share
    (arithmetic, ``@``, ``reshape``, ``transpose``, ``sum(axis, keepdims)``, ``T``) and
    ``call(Primitive, ...)`` for anything else. The engine then runs it on Tensors when
    ``create_graph=True`` (so the result can be differentiated again) and directly on
    the arrays otherwise: ``dout``, ``self.inputs`` and ``self.out()`` are ndarrays and
    no wrapper or node is made. Without the flag, ``backward`` always gets Tensors.
    """

    # The attributes every recorded node sets live in slots (faster to create and set);
    # a primitive may keep anything else it needs for backward in the instance dict.
    # A primitive that keeps nothing else declares ``__slots__ = ()`` and has no instance
    # dict at all (``_has_dict`` False): cheaper to create and to release.
    __slots__ = ("inputs", "arrays", "needs_input_grad", "seq", "_out", "_out_tensor", "kwargs")
    _has_dict = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._has_dict = cls.__dictoffset__ != 0

    saves_output = False
    array_backward = False
    #: The array backward also works on a batch of cotangents stacked on extra leading
    #: axes of ``dout`` (elementwise formulas, by broadcasting): ``jacobian``/``hessian``
    #: then push all their rows through the graph in one pass (see engine).
    batchable = False
    inputs: tuple[Any, ...] | None
    needs_input_grad: tuple[bool, ...]

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def backward(self, dout: Tensor) -> tuple[Tensor | None, ...]:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run the primitive on Tensors or constants and return a Tensor."""
        if not kwargs:  # the hot paths, unpacked by hand: see ``unary`` and ``binary``
            if len(args) == 2:
                return binary(cls, args[0], args[1])
            if len(args) == 1:
                return unary(cls, args[0])
        fn = object.__new__(cls)
        T = Tensor
        arrays_l = []
        needs_l = []
        for a in args:  # a loop, not two comprehensions: each of those is a call
            if isinstance(a, T):
                arrays_l.append(a.data)
                needs_l.append(a._rg)
            else:
                arrays_l.append(a)
                needs_l.append(False)
        arrays, needs = tuple(arrays_l), tuple(needs_l)
        try:
            out = fn.forward(*arrays, **kwargs)
        except ValueError as e:
            raise ValueError(f"{cls.__name__}: {_describe(args)}: {e}") from None
        except TypeError as e:
            bad = _non_numeric(args)
            if bad is None:
                raise
            raise TypeError(f"{cls.__name__}: {bad}, not numeric data") from e
        result = _record(fn, cls, out, args, arrays, needs, True in needs)
        if _tape[0] is not None:  # glassnet.compile is recording this step
            _tape[0].forward(fn, arrays, kwargs, result.data)
        if kwargs and result._ctx is fn:  # the keyword arguments, for glassnet.trace's
            fn.kwargs = kwargs  # re-run of this node's forward
        return result

    def out(self) -> Any:
        """The output of this node, for formulas that reuse it (``saves_output = True``):
        the Tensor when the backward records a graph, its array otherwise.

        The node keeps the output array (no reference cycle: an array knows no Tensor);
        while a recording backward runs this node's formula the engine lends it the
        output Tensor itself."""
        if _enabled[0]:
            return getattr(self, "_out_tensor", None)
        return self._out

    def release(self) -> None:
        """Free what the node keeps for ``backward`` (after a backward without retain_graph)."""
        if self._has_dict:
            self.__dict__.clear()
        self.inputs = self.arrays = self._out = None

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


def _record(
    fn: Function, cls: type, out: Any, args: tuple, arrays: tuple, needs: tuple, any_need: bool
) -> Tensor:
    """Wrap ``out`` in a Tensor and, when a gradient is needed, record ``fn`` on it."""
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    result = object.__new__(Tensor)
    result.data = out
    result.grad = None
    result._retain = False
    if any_need and _enabled[0]:
        fn.inputs = args
        fn.arrays = arrays
        fn.needs_input_grad = needs
        fn.seq = next(_sequence)
        if cls.saves_output:  # the array; the engine supplies the Tensor (see ``out``)
            fn._out = out
        result._rg = True
        result._ctx = fn
    else:
        result._rg = False
        result._ctx = None
    return result


# ``unary`` and ``binary`` are ``Function.apply`` for one and two positional arguments,
# written out because every Tensor operator goes through them: the general version above
# (a loop over the arguments) is the plain reading of the same steps.


def unary(cls: type[Function], a: Any) -> Tensor:
    """``cls.apply(a)``: the steps of ``apply`` and ``_record`` for one argument."""
    fn = object.__new__(cls)
    if isinstance(a, Tensor):
        x = a.data
        need = a._rg
    else:
        x = a
        need = False
    try:
        out = fn.forward(x)
    except (ValueError, TypeError):
        return _failed(cls, (a,))
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if _tape[0] is not None:  # glassnet.compile is recording this step
        _tape[0].forward(fn, (x,), None, out)
    result = object.__new__(Tensor)
    result.data = out
    result.grad = None
    result._retain = False
    if need and _enabled[0]:
        fn.inputs = (a,)
        fn.arrays = (x,)
        fn.needs_input_grad = _NEED1
        fn.seq = next(_sequence)
        if cls.saves_output:  # the array; the engine supplies the Tensor (see ``out``)
            fn._out = out
        result._rg = True
        result._ctx = fn
    else:
        result._rg = False
        result._ctx = None
    return result


def binary(cls: type[Function], a: Any, b: Any) -> Tensor:
    """``cls.apply(a, b)``: the steps of ``apply`` and ``_record`` for two arguments, with
    a Python number meeting a floating-point array turned into a 0-d array of its dtype
    (see ``_constant``)."""
    fn = object.__new__(cls)
    T = Tensor
    if isinstance(a, T):
        x = a.data
        na = a._rg
    else:
        x = a
        na = False
    if isinstance(b, T):
        y = b.data
        nb = b._rg
        if not na and (type(a) is float or type(a) is int or type(a) in _NUMPY_FLOATS):
            x = _constants.get((a, y.dtype))
            if x is None:
                x = _constant(a, y)
    else:
        nb = False
        y = b
        if type(b) is float or type(b) is int or type(b) in _NUMPY_FLOATS:
            y = _constants.get((b, x.dtype)) if type(x) is np.ndarray else None
            if y is None:
                y = _constant(b, x)
    try:
        out = fn.forward(x, y)
    except (ValueError, TypeError):
        return _failed(cls, (a, b))
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if _tape[0] is not None:  # glassnet.compile is recording this step
        _tape[0].forward(fn, (x, y), None, out)
    result = object.__new__(T)
    result.data = out
    result.grad = None
    result._retain = False
    if (na or nb) and _enabled[0]:
        fn.inputs = (a, b)
        fn.arrays = (x, y)
        fn.needs_input_grad = _NEED2[na][nb]
        fn.seq = next(_sequence)
        if cls.saves_output:  # the array; the engine supplies the Tensor (see ``out``)
            fn._out = out
        result._rg = True
        result._ctx = fn
    else:
        result._rg = False
        result._ctx = None
    return result


_NEED1 = (True,)
_NEED2 = (((False, False), (False, True)), ((True, False), (True, True)))
_constants: dict[tuple[Any, Any], Any] = {}
# NumPy's float scalars count as Python numbers, as in PyTorch: ``x * np.sqrt(2)`` keeps
# a float32 Tensor float32 (NumPy alone would promote it to float64).
_NUMPY_FLOATS = frozenset({np.float16, np.float32, np.float64, np.longdouble})


def _constant(value: float | int, other: Any) -> Any:
    """A Python number that meets a floating-point array, as a read-only 0-d array of that
    array's dtype, made once per (value, dtype).

    NumPy gives the same result for both (a Python scalar is converted to the array's
    dtype first), but an operation between two arrays skips that conversion and costs half
    as much on small arrays. Anything else (integer arrays, values out of the dtype's
    range) is returned unchanged."""
    if type(value) in _NUMPY_FLOATS:
        value = float(value)
    if type(other) is not np.ndarray:
        return value
    dtype = other.dtype
    # Zeros stay Python numbers: 0.0 and -0.0 are equal keys but not the same factor.
    if dtype.kind != "f" or value == 0 or not abs(value) <= np.finfo(dtype).max:
        return value
    c = np.array(value, dtype=dtype)
    c.flags.writeable = False
    if len(_constants) >= 1024:
        _constants.clear()
    _constants[(value, dtype)] = c
    return c


def _failed(cls: type[Function], args: tuple) -> Any:
    """Re-raise the error of a failed forward with the op's name and its inputs."""
    import sys

    e = sys.exc_info()[1]
    if isinstance(e, ValueError):
        raise ValueError(f"{cls.__name__}: {_describe(args)}: {e}") from None
    bad = _non_numeric(args)
    if bad is None:
        raise e  # type: ignore[misc]
    raise TypeError(f"{cls.__name__}: {bad}, not numeric data") from e


def call(cls: type[Function], *args: Any, **kwargs: Any) -> Any:
    """Apply primitive ``cls`` to Tensors (a Tensor, recorded when needed) or, when no
    argument is a Tensor, straight to the arrays (an ndarray, no wrapper, no node).

    Backward formulas use it for the primitives they need (``call(Exp, x)``), so that the
    same formula runs on Tensors under ``create_graph=True`` and on plain arrays otherwise.
    """
    T = Tensor
    for a in args:
        if isinstance(a, T):
            return cls.apply(*args, **kwargs)
    return object.__new__(cls).forward(*args, **kwargs)


def _non_numeric(args: tuple[Any, ...]) -> str | None:
    """"input 1 is 'a' (str)" for the first argument that is not numeric, else None."""
    for k, a in enumerate(args):
        raw = a.data if isinstance(a, Tensor) else a
        try:
            kind = np.asarray(raw).dtype.kind
        except Exception:  # anything NumPy cannot read is not numeric
            kind = "O"
        if kind not in "iufb":
            text = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:37] + "..."
            return f"input {k} is {text} ({type(raw).__name__})"
    return None


def _describe(args: tuple[Any, ...]) -> str:
    """'shapes (2, 3) and (4,)' for the array-like arguments of a failed op."""
    shapes = [str(tuple(np.shape(a.data if isinstance(a, Tensor) else a))) for a in args]
    if len(shapes) == 1:
        return f"input of shape {shapes[0]}"
    return "shapes " + ", ".join(shapes[:-1]) + " and " + shapes[-1]
