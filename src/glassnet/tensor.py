"""``Tensor``: a NumPy array that remembers how it was computed.

This module holds no mathematics: every method below is one line that calls a primitive
from ``glassnet.ops`` (where the forward and backward formulas live) or reads the array.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from glassnet.autograd import engine as _engine
from glassnet.autograd import function as _function
from glassnet.autograd.function import binary, unary
from glassnet.dtypes import _default
from glassnet.ops import elementwise as E
from glassnet.ops import linalg as L
from glassnet.ops import reduce as R
from glassnet.ops import shape as S

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _as_array(data: Any, dtype: Any = None, copy: bool = False) -> np.ndarray:
    """Convert ``data`` to an ndarray following glassnet's dtype rules.

    Python numbers and (nested) lists become the default float dtype (float32 unless
    ``set_default_dtype`` changed it); booleans stay bool. An ndarray or NumPy scalar
    keeps its dtype (float16 is widened to float32). ``dtype`` overrides all of this.
    """
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
        if arr.dtype == np.float16 and dtype is None:
            arr = arr.astype(np.float32)
    else:
        try:
            arr = np.asarray(data)
        except (ValueError, TypeError) as e:
            raise TypeError(
                f"cannot make a tensor from {_short(data)}: {e}"
            ) from None
        if arr.dtype.kind in "iuf" and dtype is None:
            arr = arr.astype(_default[0])
    if dtype is not None:
        target = np.dtype(dtype)
        if target.kind not in "iufb":
            raise TypeError(f"unsupported tensor dtype {target}; use a float, int or bool dtype")
        if arr.dtype != target:
            return arr.astype(target)
    if arr.dtype.kind not in "iufb":
        raise TypeError(
            f"cannot make a tensor from {_short(data)}: dtype {arr.dtype} is not numeric"
        )
    return arr.copy() if copy else arr


def _short(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


class Tensor:
    """A NumPy array with reverse-mode automatic differentiation.

    Parameters
    ----------
    data : array_like
        The values. The array is used as it is (no copy); ``glassnet.tensor`` copies.
    requires_grad : bool
        Record operations on this tensor so that ``backward`` can compute its gradient.
        Only float tensors can require a gradient.
    dtype : optional
        Convert to this dtype.

    Examples
    --------
    >>> import glassnet as gn
    >>> x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "_rg", "_ctx", "_retain", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to the Tensor's reflected method

    data: np.ndarray
    grad: Tensor | None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._retain = False
        self._rg = False
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------------ attributes
    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded for ``backward``."""
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype not in _FLOATS:
            raise RuntimeError(
                f"only float32/float64 tensors can require gradients, not {self.data.dtype}"
            )
        if not value and self._ctx is not None:
            raise RuntimeError(
                "requires_grad can only be switched off on a leaf tensor; use .detach()"
            )
        self._rg = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by a recorded operation."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Any:
        """The primitive that produced this tensor (None for leaves)."""
        return self._ctx

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed (a matrix's transpose)."""
        return S.Transpose.apply(self, axes=None)

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing the same data, cut from the graph."""
        return Tensor(self.data)

    def astype(self, dtype: Any) -> Tensor:
        """Convert to ``dtype`` (differentiable between float dtypes)."""
        d = np.dtype(dtype)
        if d == self.data.dtype:
            return self
        if d not in _FLOATS:
            return Tensor(self.data.astype(d))
        return E.Cast.apply(self, dtype=d)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def trace(self, seed: int = 0) -> Any:
        """The backward pass of this scalar node by node, each step checked against
        central differences: ``glassnet.trace(self)`` (see ``glassnet.tracing``)."""
        from glassnet.tracing import trace

        return trace(self, seed=seed)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after ``backward``."""
        if not self._rg:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retain = True

    def zero_grad(self) -> None:
        self.grad = None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.data.shape[0]):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != _default[0] and self.data.dtype.kind == "f":
            extras.append(f"dtype={self.data.dtype}")
        elif self.data.dtype.kind != "f":
            extras.append(f"dtype={self.data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self._rg:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ------------------------------------------------------------------ autograd
    def backward(
        self, grad: Any = None, retain_graph: bool = False, create_graph: bool = False
    ) -> None:
        """Compute the gradient of this tensor with respect to every leaf of its graph.

        Parameters
        ----------
        grad : array_like, optional
            dL/dself. May be omitted for a one-element tensor (it is then 1).
        retain_graph : bool
            Keep the graph so that ``backward`` can run through it again.
        create_graph : bool
            Record the backward pass itself, so that the gradients can be
            differentiated again (Jacobians of gradients, Hessians). Implies
            ``retain_graph``.
        """
        if not self._rg:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: create the inputs with "
                "requires_grad=True (and not inside no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without grad needs a one-element output, this one has shape "
                    f"{self.shape}; pass grad= of that shape (e.g. ones) or reduce with .sum()"
                )
            grad = _engine._wrap(np.ones(self.data.shape, dtype=self.data.dtype))
        else:
            grad = grad if isinstance(grad, Tensor) else Tensor(_as_array(grad, self.dtype))
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward: grad has shape {grad.shape} but the tensor has shape {self.shape}"
                )
        _engine.run_backward(self, grad, retain_graph or create_graph, create_graph)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return binary(E.Add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return binary(E.Add, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return binary(E.Sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return binary(E.Sub, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return binary(E.Mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return binary(E.Mul, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return binary(E.Div, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return binary(E.Div, other, self)

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            return binary(E.Pow, self, other)
        if isinstance(other, np.floating):  # a number, as in PyTorch: keeps self's dtype
            other = float(other)
        if not isinstance(other, (int, float)) and np.ndim(other) > 0:
            # an array of exponents (PowConst takes one number)
            return E.Pow.apply(self, np.asarray(other))
        return E.PowConst.apply(self, exponent=other)

    def __rpow__(self, other: Any) -> Tensor:
        return binary(E.Pow, other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return binary(L.MatMul, self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return binary(L.MatMul, other, self)

    def __neg__(self) -> Tensor:
        return unary(E.Neg, self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return unary(E.Abs, self)

    # comparisons: plain boolean tensors, never part of a graph
    def __lt__(self, other: Any) -> Tensor:
        return Tensor(self.data < _raw(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor(self.data <= _raw(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor(self.data > _raw(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor(self.data >= _raw(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data == _raw(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data != _raw(other))

    # ------------------------------------------------------------------ elementwise
    def abs(self) -> Tensor:
        return unary(E.Abs, self)

    def exp(self) -> Tensor:
        return unary(E.Exp, self)

    def log(self) -> Tensor:
        return unary(E.Log, self)

    def sqrt(self) -> Tensor:
        return unary(E.Sqrt, self)

    def sin(self) -> Tensor:
        return unary(E.Sin, self)

    def cos(self) -> Tensor:
        return unary(E.Cos, self)

    def tanh(self) -> Tensor:
        return unary(E.Tanh, self)

    def sigmoid(self) -> Tensor:
        return unary(E.Sigmoid, self)

    def relu(self) -> Tensor:
        return unary(E.Relu, self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return E.LeakyRelu.apply(self, negative_slope=negative_slope)

    def softplus(self, beta: float = 1.0) -> Tensor:
        return E.Softplus.apply(self, beta=beta)

    def maximum(self, other: Any) -> Tensor:
        return binary(E.Maximum, self, other)

    def minimum(self, other: Any) -> Tensor:
        return binary(E.Minimum, self, other)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return E.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def sign(self) -> Tensor:
        """The sign of each entry (not differentiable)."""
        return Tensor(np.sign(self.data))

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return R.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return R.Mean.apply(self, axis=axis, keepdims=keepdims)

    def var(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, ddof: int = 0
    ) -> Tensor:
        """Variance, sum((x - mean)^2) / (n - ddof); ddof=0 as NumPy (PyTorch uses 1)."""
        return R.var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, ddof: int = 0
    ) -> Tensor:
        return R.var(self, axis=axis, keepdims=keepdims, ddof=ddof).sqrt()

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return R.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return R.Min.apply(self, axis=axis, keepdims=keepdims)

    def logsumexp(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False
    ) -> Tensor:
        return R.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return R.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return R.LogSoftmax.apply(self, axis=axis)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return Tensor(np.argmax(self.data, axis=axis, keepdims=keepdims))

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return Tensor(np.argmin(self.data, axis=axis, keepdims=keepdims))

    def any(self) -> bool:
        return bool(self.data.any())

    def all(self) -> bool:
        return bool(self.data.all())

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return S.Reshape.apply(self, shape=shape)

    view = reshape

    def transpose(self, *axes: Any) -> Tensor:
        """Permute the axes (all of them reversed when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return S.Transpose.apply(self, axes=axes or None)

    def permute(self, *axes: Any) -> Tensor:
        return self.transpose(*axes)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return S.Transpose.apply(self, axes=tuple(axes))

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return S.BroadcastTo.apply(self, shape=tuple(shape))

    expand = broadcast_to

    def squeeze(self, axis: int | Sequence[int] | None = None) -> Tensor:
        return S.Reshape.apply(self, shape=np.squeeze(self.data, axis=axis).shape)

    def unsqueeze(self, axis: int) -> Tensor:
        return S.Reshape.apply(self, shape=np.expand_dims(self.data, axis).shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shp = self.data.shape
        if not shp:
            return S.Reshape.apply(self, shape=(1,))
        start = start_dim % len(shp)
        end = end_dim % len(shp)
        new = shp[:start] + (int(np.prod(shp[start : end + 1])),) + shp[end + 1 :]
        return S.Reshape.apply(self, shape=new)

    def __getitem__(self, index: Any) -> Tensor:
        if type(index) is int or type(index) is slice:  # the common case, already normal
            return S.GetItem.apply(self, index=(index,))
        return S.GetItem.apply(self, index=S.normalize_index(index))


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


_function.Tensor = Tensor


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Make a new leaf Tensor holding a copy of ``data``.

    Python numbers and lists become the default float dtype (float32 unless changed by
    ``glassnet.set_default_dtype``); an ndarray or NumPy scalar keeps its dtype.

    >>> import glassnet as gn
    >>> gn.tensor([1, 2]).dtype
    dtype('float32')
    """
    t = Tensor.__new__(Tensor)
    t.data = _as_array(data, dtype, copy=True)
    t.grad = None
    t._ctx = None
    t._retain = False
    t._rg = False
    if requires_grad:
        t.requires_grad = True
    return t
