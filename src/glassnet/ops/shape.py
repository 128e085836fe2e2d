"""Shape primitives: reshape, transpose, broadcast, indexing, scatter-add, concatenate."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.autograd import function as _function
from glassnet.autograd.function import Function, call


class Reshape(Function):
    """Give the entries a new shape (row-major order, as NumPy).

    Forward: out = x.reshape(shape) (one entry may be -1).
    Gradient: dx = dout.reshape(x.shape).
    Equivalent: ``torch.reshape``.
    """

    array_backward = True

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, dout):
        return (dout.reshape(self.shape),)


class Transpose(Function):
    """Permute the axes (all reversed when ``axes`` is None).

    Forward: out = x.transpose(axes).
    Gradient: dx = dout.transpose(inverse permutation).
    Equivalent: ``torch.permute``.
    """

    array_backward = True

    def forward(self, x, axes):
        if axes is None:
            axes = tuple(range(x.ndim))[::-1]
        self.axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
        if sorted(self.axes) != list(range(x.ndim)):
            raise ValueError(f"axes {tuple(axes)} are not a permutation of {x.ndim} axes")
        return x.transpose(self.axes)

    def backward(self, dout):
        return (dout.transpose(tuple(np.argsort(self.axes))),)


class BroadcastTo(Function):
    """Repeat size-1 (or missing leading) axes to reach ``shape``, as NumPy broadcasting.

    Forward: out = broadcast_to(x, shape) (a read-only view).
    Gradient: dx = dout summed over the broadcast axes (done by the engine's
    ``sum_to_shape``: this backward returns dout as it is).
    Equivalent: ``torch.broadcast_to``.
    """

    __slots__ = ()  # keeps nothing beyond its inputs: no instance dict

    array_backward = True

    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, dout):
        return (dout,)


def _is_basic(index: tuple[Any, ...]) -> bool:
    """Basic indexing (ints, slices, None, Ellipsis) never selects an entry twice."""
    for i in index:
        if not (i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))):
            return False
    return True


def normalize_index(index: Any) -> tuple[Any, ...]:
    """Turn an index into a tuple of ints, slices, None, Ellipsis and ndarrays."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, _function.Tensor):
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind not in "iub":
            raise IndexError(
                f"tensors used as indices must be integer or boolean, got dtype {i.dtype}"
            )
        out.append(i)
    return tuple(out)


class GetItem(Function):
    """Select entries with ints, slices, integer arrays or boolean masks.

    Forward: out = x[index].
    Gradient: dx = zeros like x with dout scatter-added at ``index``; an entry selected
    several times (repeated integer indices) accumulates every contribution.
    Equivalent: ``x[index]`` on a torch.Tensor.
    """

    array_backward = True

    def forward(self, x, index):
        self.index = index
        self.shape = x.shape
        out = x[index]
        self.out_ndim = out.ndim
        self.batchable = _is_basic(index)  # a leading slice keeps basic indexing exact
        return out

    def backward(self, dout):
        index, shape = self.index, self.shape
        extra = dout.ndim - self.out_ndim
        if extra > 0:  # cotangents stacked on leading axes (batchable)
            index = (slice(None),) * extra + index
            shape = dout.shape[:extra] + shape
        return (call(ScatterAdd, dout, index=index, shape=shape),)


class ScatterAdd(Function):
    """Add ``src`` into a zero array of ``shape`` at ``index`` (GetItem's adjoint).

    Forward: out = zeros(shape); out[index] += src, accumulating repeated indices.
    Gradient: dsrc = dout[index].
    Equivalent: ``torch.Tensor.index_put_(index, src, accumulate=True)`` on zeros.
    """

    array_backward = True

    def forward(self, src, index, shape):
        self.index = index
        self.ndim = len(shape)
        self.batchable = _is_basic(index)
        out = np.zeros(shape, dtype=src.dtype)
        if _is_basic(index):
            out[index] = src
        else:
            np.add.at(out, index, src)
        return out

    def backward(self, dout):
        index = self.index
        extra = dout.ndim - self.ndim
        if extra > 0:  # cotangents stacked on leading axes (batchable)
            index = (slice(None),) * extra + index
        return (call(GetItem, dout, index=index),)


class Concatenate(Function):
    """Join tensors along an existing axis.

    Forward: out = concatenate([x_1, ..., x_k], axis).
    Gradient: dx_i = the slice of dout that x_i occupies.
    Equivalent: ``torch.cat``.
    """

    array_backward = True

    def forward(self, *xs, axis):
        self.axis = axis
        self.bounds = np.cumsum([0] + [np.shape(x)[axis] for x in xs])
        return np.concatenate(xs, axis=axis)

    def backward(self, dout):
        nd = dout.ndim
        axis = self.axis % nd
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            index = [slice(None)] * nd
            index[axis] = slice(int(self.bounds[k]), int(self.bounds[k + 1]))
            grads.append(call(GetItem, dout, index=tuple(index)))
        return tuple(grads)


def concatenate(tensors: Any, axis: int = 0) -> Any:
    """Join a sequence of tensors along ``axis`` (``torch.cat``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Any, axis: int = 0) -> Any:
    """Join tensors along a new axis (composite: unsqueeze each, then concatenate)."""
    tensors = [_function.Tensor(t) if not isinstance(t, _function.Tensor) else t
               for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(
            "stack: every tensor must have the same shape, got "
            + " and ".join(str(s) for s in sorted(shapes))
        )
    nd = tensors[0].ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"stack: axis {axis} is out of bounds for {nd} dimensions")
    return Concatenate.apply(*[t.unsqueeze(axis) for t in tensors], axis=axis)
