"""Reductions along axes: sum, mean, max, min, logsumexp; softmax and log-softmax."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.autograd.function import Function, call
from glassnet.ops.elementwise import Exp
from glassnet.ops.shape import BroadcastTo


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Normalize ``axis`` (None, int or sequence) to a sorted tuple of non-negative axes."""
    if axis is None or ndim == 0:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {tuple(axis)}")
    return tuple(sorted(out))


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """Sum over ``axis`` (None: all axes).

    Forward: out = sum_{axis} x, shape (D without the reduced axes, or 1s with keepdims).
    Gradient: dx = dout broadcast back over the reduced axes.
    Equivalent: ``torch.sum(x, dim, keepdim)``.
    """

    array_backward = True

    def forward(self, x, axis, keepdims):
        self.axes = _axes(axis, x.ndim)
        self.shape = x.shape
        self.keepdims = keepdims
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, dout):
        if not self.keepdims and self.axes:
            dout = dout.reshape(_kept_shape(self.shape, self.axes))
        return (call(BroadcastTo, dout, shape=self.shape),)


class Mean(Function):
    """Mean over ``axis`` (None: all axes).

    Forward: out = sum_{axis} x / n, n the number of reduced entries.
    Gradient: dx = dout / n broadcast back over the reduced axes.
    Equivalent: ``torch.mean(x, dim, keepdim)``.
    """

    array_backward = True

    def forward(self, x, axis, keepdims):
        self.axes = _axes(axis, x.ndim)
        self.shape = x.shape
        self.keepdims = keepdims
        self.n = int(np.prod([x.shape[a] for a in self.axes])) if self.axes else 1
        return x.mean(axis=self.axes, keepdims=keepdims)

    def backward(self, dout):
        if not self.keepdims and self.axes:
            dout = dout.reshape(_kept_shape(self.shape, self.axes))
        return (call(BroadcastTo, dout / self.n, shape=self.shape),)


class Max(Function):
    """Maximum over ``axis`` (None: all axes).

    Forward: out = max_{axis} x.
    Gradient: dx = dout * [x = max] / (number of maxima), broadcast over the axes.
    Conventions: ties share the gradient equally (as ``torch.amax``).
    Equivalent: ``torch.amax(x, dim, keepdim)``.
    """

    array_backward = True

    _reduce = staticmethod(np.max)

    def forward(self, x, axis, keepdims):
        if x.size == 0:
            raise ValueError("max/min of an empty tensor")
        self.axes = _axes(axis, x.ndim)
        self.keepdims = keepdims
        m = self._reduce(x, axis=self.axes, keepdims=True)
        mask = x == m
        self.weight = (mask / mask.sum(axis=self.axes, keepdims=True)).astype(x.dtype)
        return m if keepdims else m.reshape([n for i, n in enumerate(x.shape)
                                             if i not in self.axes])

    def backward(self, dout):
        if not self.keepdims and self.axes:
            dout = dout.reshape(_kept_shape(self.weight.shape, self.axes))
        return (dout * self.weight,)


class Min(Max):
    """Minimum over ``axis`` (None: all axes).

    Forward: out = min_{axis} x.
    Gradient: dx = dout * [x = min] / (number of minima).
    Conventions: ties share the gradient equally (as ``torch.amin``).
    Equivalent: ``torch.amin(x, dim, keepdim)``.
    """

    array_backward = True

    _reduce = staticmethod(np.min)


class LogSumExp(Function):
    """log(sum(exp(x))) over ``axis``, stable for any finite input.

    Forward: m = max x; out = m + log(sum exp(x - m)) (no exp of a large number).
    Gradient: dx = dout * exp(x - out) = dout * softmax(x) (reuses the forward's result).
    Conventions: x - out loses the digits of a large ``out`` (in float32, 1e4 + log 2 is
    off by 2e-4), so its value is replaced by the forward's precise (x - m) - log(sum),
    keeping the graph of x - out for higher derivatives.
    Equivalent: ``torch.logsumexp(x, dim, keepdim)``.
    """

    array_backward = True

    saves_output = True

    def forward(self, x, axis, keepdims):
        self.axes = _axes(axis, x.ndim)
        self.keepdims = keepdims
        m = x.max(axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(under="ignore", invalid="ignore"):  # e^(x - m) -> 0 is harmless
            log_sum = np.log(np.exp(x - m).sum(axis=self.axes, keepdims=True))
            self.log_p = (x - m) - log_sum
        out = log_sum + m
        self.kept = out.shape
        return out if keepdims else out.reshape(
            [n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, dout):
        out = self.out()
        if not self.keepdims and self.axes:
            dout = dout.reshape(self.kept)
            out = out.reshape(self.kept)
        x = self.inputs[0]
        if isinstance(x, np.ndarray):  # no graph to keep: use the precise value directly
            z = self.log_p
        else:
            z = x - out
            with np.errstate(invalid="ignore"):
                fix = self.log_p - z.data  # nan where x = -inf: e^z is 0 there anyway
            z = z + np.where(np.isnan(fix), 0.0, fix)  # the precise value, same graph
        with np.errstate(under="ignore"):
            return (dout * call(Exp, z),)


def _from_the_end(axis: Any, ndim: int) -> tuple[Any, bool]:
    """``axis`` counted from the end (-1 for the last), and whether the backward can take
    cotangents stacked on extra leading axes (a single int axis: it still points at the
    same axis of them)."""
    if isinstance(axis, (int, np.integer)) and -ndim <= axis < ndim:
        return int(axis) - ndim if axis >= 0 else int(axis), True
    return axis, False


class Softmax(Function):
    """Softmax along ``axis``: p_k = exp(s_k) / sum_j exp(s_j).

    Forward: p = exp(s - max s) / sum exp(s - max s) (stable for any finite input).
    Gradient: ds = p * (dout - sum_k dout_k p_k), i.e. the Jacobian diag(p) - p p^T
    applied to dout (reuses the forward's result).
    Equivalent: ``torch.softmax(s, dim)``.
    """

    array_backward = True

    saves_output = True

    def forward(self, x, axis):
        self.axis, self.batchable = _from_the_end(axis, x.ndim)
        with np.errstate(under="ignore"):  # e^(x - max) rounding to 0 is harmless
            e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    def backward(self, dout):
        p = self.out()
        return (p * (dout - (dout * p).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """Log-softmax along ``axis``: log p_k = s_k - logsumexp(s).

    Forward: out = (s - max s) - log sum exp(s - max s) (stable for any finite input).
    Gradient: ds = dout - exp(out) * sum_k dout_k (reuses the forward's result).
    Equivalent: ``torch.log_softmax(s, dim)``.
    """

    array_backward = True

    saves_output = True

    def forward(self, x, axis):
        self.axis, self.batchable = _from_the_end(axis, x.ndim)
        z = x - x.max(axis=axis, keepdims=True)
        with np.errstate(under="ignore"):  # e^z rounding to 0 is harmless
            return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))

    def backward(self, dout):
        return (dout - call(Exp, self.out()) * dout.sum(axis=self.axis, keepdims=True),)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Any:
    """Variance sum((x - mean)^2) / (n - ddof), a composite of primitives.

    ddof=0 as NumPy; ``torch.var`` defaults to the unbiased ddof=1 (``correction=1``).
    """
    axes = _axes(axis, x.ndim)
    n = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    if n - ddof <= 0:
        raise ValueError(f"var: {n} entries with ddof={ddof} leave no degrees of freedom")
    d = x - x.mean(axis=axes, keepdims=True)
    return (d * d).sum(axis=axes, keepdims=keepdims) / (n - ddof)
