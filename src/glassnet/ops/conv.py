"""Convolution and pooling primitives on NCHW images: conv2d, its two adjoints, pooling, pad.

Layout: images are (N, C, H, W) (batch, channels, height, width), a convolution's weight
is (O, C / groups, KH, KW) and its bias (O,): PyTorch's conventions. Every spatial
argument (stride, padding, dilation, kernel) is an int or an (height, width) pair.

Implementation (im2col): the padded input is read through a
``numpy.lib.stride_tricks.as_strided`` view of shape (N, G, C/G, KH, KW, OH, OW) (no copy)
and copied once into a column buffer, so that the convolution of a chunk of samples is one
batched BLAS product ``W (G, O/G, K) @ cols (n, G, K, OH*OW)`` with K = C/G * KH * KW. The
buffer holds at most ``IM2COL_BYTES`` bytes (or one sample's columns if that is more): the
batch is processed in chunks, so a large batch never allocates columns for all of it.

Derivatives. ``Conv2d``'s gradients are two more primitives, each linear in each
argument: ``Conv2dInputGrad`` (dx, the transposed convolution: W^T @ dout, the columns
added back onto the image, col2im) and ``Conv2dWeightGrad`` (dW = dout @ cols^T). Their
own gradients are again ``Conv2d`` and each other, so the three together are
differentiable to any order. Max pooling's gradient is ``MaxUnpool2d`` (a scatter-add at
the winners), whose gradient is a gather; average pooling's is ``Conv2dInputGrad`` with a
constant depthwise kernel 1 / (KH KW).

The plain-loop versions (a sum over every output position) are the tests' oracle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from glassnet.autograd.function import Function, call
from glassnet.ops.shape import BroadcastTo, GetItem

#: Upper bound, in bytes, of the im2col column buffer of one chunk of the batch (a chunk
#: holds at least one sample, so one sample's columns may exceed it).
IM2COL_BYTES = 32 * 2**20


# ---------------------------------------------------------------------------- geometry
def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= ``minimum``, as a (height, width) pair."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if (
        len(pair) != 2
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair)
        or min(pair) < minimum
    ):
        kind = "positive" if minimum > 0 else "non-negative"
        raise ValueError(f"{name} must be a {kind} int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """Output length along one axis: floor((size + 2p - d (k - 1) - 1) / s) + 1."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _geometry(
    x_shape: tuple[int, ...], kernel: tuple[int, int], stride: Any, padding: Any,
    dilation: Any, what: str,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Checked (stride, padding, dilation, (OH, OW)) of a window of size ``kernel``."""
    if len(x_shape) != 4:
        raise ValueError(f"{what} expects input of shape (N, C, H, W), got {tuple(x_shape)}")
    s = _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    d = _pair(dilation, "dilation", 1)
    H, W = x_shape[2], x_shape[3]
    eff = (d[0] * (kernel[0] - 1) + 1, d[1] * (kernel[1] - 1) + 1)
    if eff[0] > H + 2 * p[0] or eff[1] > W + 2 * p[1]:
        raise ValueError(
            f"{what}: kernel {kernel} (dilated to {eff}) is larger than the padded input "
            f"{(H + 2 * p[0], W + 2 * p[1])} of input shape {tuple(x_shape)}"
        )
    out = (_out_size(H, kernel[0], s[0], p[0], d[0]), _out_size(W, kernel[1], s[1], p[1], d[1]))
    return s, p, d, out


def _conv_geometry(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Any, padding: Any,
    dilation: Any, groups: Any,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int], int]:
    """Checked (stride, padding, dilation, (OH, OW), groups) of a convolution."""
    if len(w_shape) != 4:
        raise ValueError(
            f"conv2d weight must have shape (out_channels, in_channels / groups, KH, KW), "
            f"got {tuple(w_shape)}"
        )
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    s, p, d, out = _geometry(x_shape, tuple(w_shape[2:]), stride, padding, dilation, "conv2d")
    C, O = x_shape[1], w_shape[0]
    if C != w_shape[1] * groups or O % groups:
        raise ValueError(
            f"conv2d: input of shape {tuple(x_shape)} has {C} channels but weight of shape "
            f"{tuple(w_shape)} with groups={groups} expects {w_shape[1] * groups} "
            f"(and out_channels divisible by groups)"
        )
    return s, p, d, out, int(groups)


def _padded(x: np.ndarray, p: tuple[int, int], value: float = 0.0) -> np.ndarray:
    """x with p[0] rows above and below and p[1] columns left and right of ``value``."""
    if p == (0, 0):
        return x
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * p[0], W + 2 * p[1]), value, dtype=x.dtype)
    xp[:, :, p[0]:p[0] + H, p[1]:p[1] + W] = x
    return xp


def _windows(
    xp: np.ndarray, kernel: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
    out: tuple[int, int], writeable: bool = False,
) -> np.ndarray:
    """A view (N, C, KH, KW, OH, OW) of padded input: [.., i, j, y, x] =
    xp[.., y s0 + i d0, x s1 + j d1] (read-only unless ``writeable``: for a fixed (i, j)
    the entries are distinct, so adding through one offset at a time is safe)."""
    sN, sC, sH, sW = xp.strides
    shape = xp.shape[:2] + tuple(kernel) + tuple(out)
    strides = (sN, sC, d[0] * sH, d[1] * sW, s[0] * sH, s[1] * sW)
    return as_strided(xp, shape, strides, writeable=writeable)


def _chunks(n: int, per_sample: int, itemsize: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) ranges of the batch whose columns fit IM2COL_BYTES."""
    step = max(1, IM2COL_BYTES // max(1, per_sample * itemsize))
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def _im2col(
    x: np.ndarray, kernel: tuple[int, int], s: tuple[int, int], p: tuple[int, int],
    d: tuple[int, int], out: tuple[int, int], groups: int, buf: np.ndarray,
) -> np.ndarray:
    """Columns (G, C/G * KH * KW, n * OH * OW) of a chunk x (n, C, H, W), written into
    ``buf``: row (c, i, j), column (sample, y, x) holds xpad[sample, c, y s0 + i d0,
    x s1 + j d1]. Samples sit in the columns so that a chunk is one product per group."""
    n, C = x.shape[:2]
    cols = buf[: C * kernel[0] * kernel[1] * n * out[0] * out[1]]
    cols = cols.reshape((C,) + tuple(kernel) + (n,) + tuple(out))
    np.copyto(cols, _windows(_padded(x, p), kernel, s, d, out).transpose(1, 2, 3, 0, 4, 5))
    return cols.reshape(groups, -1, n * out[0] * out[1])


def _col2im(
    cols: np.ndarray, n: int, x_shape: tuple[int, ...], kernel: tuple[int, int],
    s: tuple[int, int], p: tuple[int, int], d: tuple[int, int], out: tuple[int, int],
) -> np.ndarray:
    """The adjoint of ``_im2col``: columns (C, KH, KW, n, OH, OW) added onto a zero image;
    returns a view (n, C, H, W) (every window position receives its columns' sum)."""
    C, H, W = x_shape[1:]
    cols = cols.reshape((C,) + tuple(kernel) + (n,) + tuple(out))
    xp = np.zeros((C, n, H + 2 * p[0], W + 2 * p[1]), dtype=cols.dtype)
    OH, OW = out
    for i in range(kernel[0]):
        r = i * d[0]
        for j in range(kernel[1]):
            c = j * d[1]
            xp[:, :, r:r + s[0] * (OH - 1) + 1:s[0], c:c + s[1] * (OW - 1) + 1:s[1]] += (
                cols[:, i, j])
    return xp[:, :, p[0]:p[0] + H, p[1]:p[1] + W].transpose(1, 0, 2, 3)


def _dtype(*arrays: Any) -> np.dtype:
    return np.result_type(*[a for a in arrays if a is not None])


def _plan(N: int, C: int, O: int, kernel: tuple[int, int], out: tuple[int, int],
          dtype: np.dtype) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The chunks of the batch and one column buffer for the largest: a chunk's columns
    (C KH KW rows) and its output gradient (O rows) each fit IM2COL_BYTES."""
    per_sample = max(C * kernel[0] * kernel[1], O) * out[0] * out[1]
    chunks = _chunks(N, per_sample, dtype.itemsize)
    rows = C * kernel[0] * kernel[1] * out[0] * out[1]
    return chunks, np.empty((chunks[0][1] - chunks[0][0]) * rows, dtype=dtype)


def _by_channel(dout: np.ndarray, groups: int) -> np.ndarray:
    """A chunk of dout (n, O, OH, OW) as (G, O/G, n OH OW), the columns' layout (a copy)."""
    n, O = dout.shape[:2]
    return np.ascontiguousarray(dout.reshape(n, O, -1).transpose(1, 0, 2)).reshape(
        groups, O // groups, -1)


def _conv_forward(x, w, b, s, p, d, out, groups):
    """(out (N, O, OH, OW) = conv(x, w) + b, one product per group and chunk of the batch;
    the columns when the whole batch was one chunk (for the weight gradient), else None)."""
    N, C = x.shape[:2]
    O, Cg, KH, KW = w.shape
    dtype = _dtype(x, w, b)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    P = out[0] * out[1]
    w3 = w.reshape(groups, O // groups, Cg * KH * KW)
    y = np.empty((N, O, P), dtype=dtype)
    chunks, buf = _plan(N, C, O, (KH, KW), out, dtype)
    for a, e in chunks:
        cols = _im2col(x[a:e], (KH, KW), s, p, d, out, groups, buf)
        prod = np.stack([w3[k] @ cols[k] for k in range(groups)]) if groups > 1 else (
            w3[0] @ cols[0])
        prod = prod.reshape(O, e - a, P).transpose(1, 0, 2)
        if b is None:
            y[a:e] = prod
        else:  # the bias added while the product is moved into (n, O, P)
            np.add(prod, b.astype(dtype, copy=False).reshape(O, 1), out=y[a:e])
    return y.reshape(N, O, out[0], out[1]), (cols if len(chunks) == 1 else None)


def _input_grad(dout, w, x_shape, s, p, d, out, groups):
    """dx (N, C, H, W) = conv^T(dout): W^T @ dout per chunk, the columns added back."""
    N, C = x_shape[:2]
    O, Cg, KH, KW = w.shape
    dtype = _dtype(dout, w)
    wt = w.astype(dtype, copy=False).reshape(groups, O // groups, Cg * KH * KW)
    wt = wt.transpose(0, 2, 1)
    dout = dout.astype(dtype, copy=False)
    dx = np.empty(x_shape, dtype=dtype)
    chunks, buf = _plan(N, C, O, (KH, KW), out, dtype)
    for a, e in chunks:
        g = _by_channel(dout[a:e], groups)
        cols = buf[: C * KH * KW * (e - a) * out[0] * out[1]].reshape(groups, Cg * KH * KW, -1)
        for k in range(groups):
            np.matmul(wt[k], g[k], out=cols[k])
        dx[a:e] = _col2im(cols, e - a, x_shape, (KH, KW), s, p, d, out)
    return dx


def _weight_grad(x, dout, w_shape, s, p, d, out, groups, cols=None):
    """dW (O, C/G, KH, KW) = sum over samples and positions of dout @ cols^T (``cols``:
    the forward's columns of the whole batch, if it kept them)."""
    N, C = x.shape[:2]
    O, Cg, KH, KW = w_shape
    dtype = _dtype(x, dout)
    x, dout = x.astype(dtype, copy=False), dout.astype(dtype, copy=False)
    dw = np.zeros((groups, O // groups, Cg * KH * KW), dtype=dtype)
    chunks, buf = _plan(N, C, O, (KH, KW), out, dtype) if cols is None else ([(0, N)], None)
    Og = O // groups
    for a, e in chunks:
        if buf is not None:
            cols = _im2col(x[a:e], (KH, KW), s, p, d, out, groups, buf)
        # The reduction runs over n OH OW (long); OpenBLAS threads such a product well
        # when its result has at least as many rows as columns, and can be 100x slower
        # the other way round (measured: (9, 100352) @ (100352, 32) takes 3.5 s, its
        # transpose 16 ms), so the product is oriented to give the taller result.
        if Cg * KH * KW >= Og:  # dW^T (K, O/G) = cols @ dout^T, dout as (n OH OW, O)
            g = np.ascontiguousarray(dout[a:e].reshape(e - a, O, -1).transpose(0, 2, 1))
            g = g.reshape(-1, O)
            for k in range(groups):
                dw[k] += (cols[k] @ g[:, k * Og:(k + 1) * Og]).T
        else:  # dW (O/G, K) = dout @ cols^T, dout as (G, O/G, n OH OW)
            g = _by_channel(dout[a:e], groups)
            for k in range(groups):
                dw[k] += g[k] @ cols[k].T
    return dw.reshape(w_shape)


# ---------------------------------------------------------------------------- convolution
class Conv2d(Function):
    """2-D cross-correlation (a CNN's convolution), NCHW, with PyTorch's weight layout.

    Forward: out[n, o, y, x] = b[o] + sum over c in o's group, i, j of
    W[o, c, i, j] * xpad[n, g C/G + c, y s0 + i d0, x s1 + j d1], with xpad the input
    zero-padded by ``padding`` on each side; x (N, C, H, W), W (O, C/G, KH, KW), b (O,) or
    None -> out (N, O, OH, OW), OH = floor((H + 2 p0 - d0 (KH - 1) - 1) / s0) + 1 (OW
    likewise). ``groups`` G splits the channels into G independent convolutions.
    Gradient: dx = Conv2dInputGrad(dout, W) (the transposed convolution); dW =
    Conv2dWeightGrad(x, dout) (dout correlated with the input's windows); db = dout summed
    over N, OH, OW.
    Conventions: im2col through strided views, one batched BLAS product per chunk of the
    batch (column buffer <= ``IM2COL_BYTES``); rows or columns that the stride does not
    reach are ignored (as PyTorch). Differentiable to any order.
    Equivalent: ``torch.nn.functional.conv2d(x, W, b, stride, padding, dilation, groups)``.

    >>> import numpy as np
    >>> import glassnet as gn
    >>> x = gn.tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    >>> Conv2d.apply(x, gn.tensor(np.ones((1, 1, 2, 2))), None).tolist()
    [[[[8.0, 12.0], [20.0, 24.0]]]]
    """

    array_backward = True

    def forward(self, x, w, b, stride=1, padding=0, dilation=1, groups=1):
        s, p, d, out, g = _conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
        if b is not None and b.shape != (w.shape[0],):
            raise ValueError(
                f"conv2d bias must have shape ({w.shape[0]},) for weight of shape "
                f"{w.shape}, got {b.shape}"
            )
        self.geo = {"stride": s, "padding": p, "dilation": d, "groups": g}
        y, self.cols = _conv_forward(x, w, b, s, p, d, out, g)
        return y

    def backward(self, dout):
        x, w, b = self.inputs
        nx, nw, nb = self.needs_input_grad
        geo = self.geo
        dx = call(Conv2dInputGrad, dout, w, x_shape=tuple(x.shape), **geo) if nx else None
        dw = None
        if nw:  # the forward's columns spare the weight gradient a second im2col
            dw = call(Conv2dWeightGrad, x, dout, w_shape=tuple(w.shape), cols=self.cols, **geo)
        db = dout.sum(axis=(0, 2, 3)) if nb else None
        return dx, dw, db


def _adjoint_geometry(fn, x_shape, w_shape, dout_shape, stride, padding, dilation, groups):
    """The checked geometry of a convolution's adjoint, kept on ``fn`` for its backward;
    dout must have the convolution's output shape."""
    s, p, d, out, g = _conv_geometry(x_shape, w_shape, stride, padding, dilation, groups)
    want = (x_shape[0], w_shape[0]) + out
    if tuple(dout_shape) != want:
        raise ValueError(f"conv2d gradient must have shape {want}, got {tuple(dout_shape)}")
    fn.geo = {"stride": s, "padding": p, "dilation": d, "groups": g}
    return s, p, d, out, g


class Conv2dInputGrad(Function):
    """The transposed convolution: Conv2d's gradient with respect to its input.

    Forward: out = conv^T_W(dout), i.e. out[n, c, :, :] receives W[o, c, i, j] *
    dout[n, o, y, x] at (y s0 + i d0 - p0, x s1 + j d1 - p1); dout (N, O, OH, OW),
    W (O, C/G, KH, KW) -> out ``x_shape`` (N, C, H, W). Computed as W^T @ dout per chunk
    and col2im (the columns added back onto the image, KH * KW strided additions).
    Gradient: d(dout) = Conv2d(g, W) (no bias); dW = Conv2dWeightGrad(g, dout).
    Conventions: linear in each argument; ``x_shape`` fixes H and W where the stride
    leaves them ambiguous.
    Equivalent: ``torch.nn.grad.conv2d_input(x_shape, W, dout, stride, padding, dilation,
    groups)``.
    """

    array_backward = True

    def forward(self, dout, w, x_shape, stride=1, padding=0, dilation=1, groups=1):
        s, p, d, out, g = _adjoint_geometry(self, x_shape, w.shape, dout.shape, stride,
                                            padding, dilation, groups)
        return _input_grad(dout, w, tuple(x_shape), s, p, d, out, g)

    def backward(self, g):
        dout, w = self.inputs
        nd, nw = self.needs_input_grad
        ddout = call(Conv2d, g, w, None, **self.geo) if nd else None
        dw = call(Conv2dWeightGrad, g, dout, w_shape=tuple(w.shape), **self.geo) if nw else None
        return ddout, dw


class Conv2dWeightGrad(Function):
    """Conv2d's gradient with respect to its weight.

    Forward: out[o, c, i, j] = sum over n, y, x of dout[n, o, y, x] *
    xpad[n, g C/G + c, y s0 + i d0, x s1 + j d1]; x (N, C, H, W), dout (N, O, OH, OW) ->
    out ``w_shape`` (O, C/G, KH, KW). Computed as dout @ cols^T, one product per chunk.
    Gradient: dx = Conv2dInputGrad(dout, g); d(dout) = Conv2d(x, g) (no bias).
    Conventions: linear in each argument. ``cols`` (Conv2d's backward passes it) are the
    forward's im2col columns of x, reused instead of built again.
    Equivalent: ``torch.nn.grad.conv2d_weight(x, w_shape, dout, stride, padding, dilation,
    groups)``.
    """

    array_backward = True

    def forward(self, x, dout, w_shape, stride=1, padding=0, dilation=1, groups=1, cols=None):
        s, p, d, out, g = _adjoint_geometry(self, x.shape, w_shape, dout.shape, stride,
                                            padding, dilation, groups)
        return _weight_grad(x, dout, tuple(w_shape), s, p, d, out, g, cols)

    def backward(self, g):
        x, dout = self.inputs
        nx, nd = self.needs_input_grad
        dx = call(Conv2dInputGrad, dout, g, x_shape=tuple(x.shape), **self.geo) if nx else None
        ddout = call(Conv2d, x, g, None, **self.geo) if nd else None
        return dx, ddout


# ---------------------------------------------------------------------------- pooling
def _pool_args(x_shape, kernel_size, stride, padding, dilation, what):
    """Checked (kernel, stride, padding, dilation, (OH, OW)); stride None = kernel."""
    k = _pair(kernel_size, "kernel_size", 1)
    s, p, d, out = _geometry(x_shape, k, k if stride is None else stride, padding, dilation,
                             what)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{what}: padding {p} must be at most half the kernel {k}")
    return k, s, p, d, out


def _reduce_windows(ufunc: np.ufunc, view: np.ndarray) -> np.ndarray:
    """ufunc folded over the window offsets of a (N, C, KH, KW, OH, OW) view, one
    strided pass per offset (no copy of the windows)."""
    acc = view[:, :, 0, 0].copy()
    for i in range(view.shape[2]):
        for j in range(view.shape[3]):
            if i or j:
                ufunc(acc, view[:, :, i, j], out=acc)
    return acc


class MaxPool2d(Function):
    """Max pooling: the largest entry of each window, per channel.

    Forward: out[n, c, y, x] = max over i, j of xpad[n, c, y s0 + i d0, x s1 + j d1],
    xpad padded with -inf; x (N, C, H, W) -> (N, C, OH, OW) (OH as Conv2d's; ``stride``
    None means the kernel size).
    Gradient: dx = MaxUnpool2d(dout, winners): each window's dout goes to its winner, and
    windows that overlap add up at a shared winner.
    Conventions: ties as PyTorch: the winner is the first maximum of the window in
    row-major order, and it alone receives the gradient (not shared, unlike ``max``).
    The winners are constants, so the second derivative with respect to x is zero.
    Equivalent: ``torch.nn.functional.max_pool2d(x, kernel_size, stride, padding,
    dilation)``.

    >>> import numpy as np
    >>> import glassnet as gn
    >>> x = gn.tensor(np.array([[[[1.0, 3.0], [3.0, 2.0]]]]))
    >>> MaxPool2d.apply(x, kernel_size=2).tolist()
    [[[[3.0]]]]
    """

    array_backward = True

    saves_output = True

    def forward(self, x, kernel_size, stride=None, padding=0, dilation=1):
        k, s, p, d, out = _pool_args(x.shape, kernel_size, stride, padding, dilation,
                                     "max_pool2d")
        self.geo = (k, s, p, d, out)
        # the padded windows are kept for backward (a view; the padded copy only if p > 0)
        self.view = _windows(_padded(x, p, -np.inf), k, s, d, out)
        return _reduce_windows(np.maximum, self.view)

    def _first_winners(self, best: np.ndarray):
        """Masks (one per window offset, row-major) of the windows whose first maximum
        sits at that offset."""
        view, (k, _, _, _, _) = self.view, self.geo
        taken = np.zeros(best.shape, dtype=bool)
        for t in range(k[0] * k[1]):
            win = view[:, :, t // k[1], t % k[1]] == best
            win &= ~taken
            taken |= win
            yield t // k[1], t % k[1], win

    def backward(self, dout):
        x = self.inputs[0]
        best = self.out()
        k, s, p, d, out = self.geo
        if isinstance(dout, np.ndarray):
            # arrays (no graph to record): each offset's winners receive dout through a
            # strided view of the padded gradient, without integer indices
            H, W = x.shape[2], x.shape[3]
            dxp = np.zeros(x.shape[:2] + (H + 2 * p[0], W + 2 * p[1]), dtype=dout.dtype)
            grid = _windows(dxp, k, s, d, out, writeable=True)
            for i, j, win in self._first_winners(best):
                grid[:, :, i, j] += np.where(win, dout, 0)
            return (dxp[:, :, p[0]:p[0] + H, p[1]:p[1] + W],)
        # Tensors (create_graph): the winners' flat positions and the scatter primitive
        which = np.zeros(best.shape, dtype=np.intp)
        for i, j, win in self._first_winners(best.data):
            which[win] = i * k[1] + j
        W = x.shape[3]
        offsets = np.array([i * d[0] * W + j * d[1] for i in range(k[0]) for j in range(k[1])])
        rows = np.arange(out[0]) * s[0] - p[0]
        cols = np.arange(out[1]) * s[1] - p[1]
        winners = (rows[:, None] * W + cols[None, :]) + offsets[which]
        distinct = s[0] >= d[0] * (k[0] - 1) + 1 and s[1] >= d[1] * (k[1] - 1) + 1
        return (call(MaxUnpool2d, dout, winners, shape=tuple(x.shape), distinct=distinct),)


class MaxUnpool2d(Function):
    """Scatter-add: each entry of ``src`` added into a zero image at its flat position.

    Forward: out = zeros(shape) (N, C, H, W); out[n, c].flat[index[n, c, y, x]] +=
    src[n, c, y, x]; src and index (N, C, OH, OW), index an integer array of positions in
    [0, H W). Max pooling's gradient (index = the winners).
    Gradient: dsrc = g[n, c].flat[index[n, c, y, x]] (a gather).
    Conventions: repeated positions accumulate; ``distinct=True`` promises that they do not
    repeat within a plane (non-overlapping pooling windows), which allows a plain
    assignment.
    Equivalent: ``torch.zeros(N, C, H * W).scatter_add(2, index.flatten(2),
    src.flatten(2)).reshape(shape)``; ``torch.nn.functional.max_unpool2d`` when the
    positions are distinct.
    """

    array_backward = True

    def forward(self, src, index, shape, distinct=False):
        N, C, H, W = shape
        if src.shape[:2] != (N, C) or index.shape != src.shape or src.ndim != 4:
            raise ValueError(
                f"max_unpool2d: src {src.shape} and index {index.shape} must be (N, C, OH, OW) "
                f"with N, C of the output shape {tuple(shape)}"
            )
        self.shape = tuple(shape)
        plane = (np.arange(N * C) * (H * W)).reshape(N, C, 1, 1)
        self.flat = (index + plane).ravel()
        out = np.zeros(N * C * H * W, dtype=src.dtype)
        if distinct:
            out[self.flat] = src.ravel()
        else:
            np.add.at(out, self.flat, src.ravel())
        return out.reshape(shape)

    def backward(self, g):
        src = self.inputs[0]
        return (call(GetItem, g.reshape(-1), index=(self.flat,)).reshape(src.shape), None)


class AvgPool2d(Function):
    """Average pooling: the mean of each window, per channel.

    Forward: out[n, c, y, x] = 1 / (KH KW) * sum over i, j of
    xpad[n, c, y s0 + i, x s1 + j], xpad zero-padded; x (N, C, H, W) -> (N, C, OH, OW).
    Gradient: dx = Conv2dInputGrad(dout, K) with the constant depthwise kernel K of shape
    (C, 1, KH, KW) filled with 1 / (KH KW) (groups = C): each window spreads its dout
    evenly over its entries.
    Conventions: padded zeros count in the mean (PyTorch's ``count_include_pad=True``);
    ``stride`` None means the kernel size.
    Equivalent: ``torch.nn.functional.avg_pool2d(x, kernel_size, stride, padding)``.

    >>> import numpy as np
    >>> import glassnet as gn
    >>> AvgPool2d.apply(gn.tensor(np.arange(4.0).reshape(1, 1, 2, 2)), kernel_size=2).tolist()
    [[[[1.5]]]]
    """

    array_backward = True

    def forward(self, x, kernel_size, stride=None, padding=0):
        k, s, p, d, out = _pool_args(x.shape, kernel_size, stride, padding, 1, "avg_pool2d")
        self.geo = {"stride": s, "padding": p, "dilation": d, "groups": x.shape[1]}
        self.k = k
        total = _reduce_windows(np.add, _windows(_padded(x, p), k, s, d, out))
        total *= np.asarray(1.0 / (k[0] * k[1]), dtype=x.dtype)
        return total

    def backward(self, dout):
        x = self.inputs[0]
        kernel = np.full((x.shape[1], 1) + self.k, 1.0 / (self.k[0] * self.k[1]),
                         dtype=dout.dtype)
        return (call(Conv2dInputGrad, dout, kernel, x_shape=tuple(x.shape), **self.geo),)


class AdaptiveAvgPool2d(Function):
    """Global average pooling: each channel's mean, to a 1 x 1 image.

    Forward: out[n, c, 0, 0] = mean over y, x of x[n, c, y, x]; (N, C, H, W) ->
    (N, C, 1, 1).
    Gradient: dx = dout / (H W), repeated over the H x W positions.
    Conventions: output size 1 only (``glassnet.nn.functional.adaptive_avg_pool2d``
    serves sizes that divide H and W through ``AvgPool2d``).
    Equivalent: ``torch.nn.functional.adaptive_avg_pool2d(x, 1)``.
    """

    array_backward = True

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"adaptive_avg_pool2d expects (N, C, H, W), got {x.shape}")
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, dout):
        x = self.inputs[0]
        H, W = x.shape[2], x.shape[3]
        return (call(BroadcastTo, dout * (1.0 / (H * W)), shape=tuple(x.shape)),)


class Pad(Function):
    """Constant padding of the last axes, in ``torch.nn.functional.pad``'s order.

    Forward: ``pad`` = (left, right) for the last axis, then (top, bottom) for the one
    before, and so on; out has those many entries of ``value`` added on each side.
    Gradient: dx = dout with the padding cut off (a slice).
    Conventions: non-negative widths only.
    Equivalent: ``torch.nn.functional.pad(x, pad, value=value)``.

    >>> import glassnet as gn
    >>> Pad.apply(gn.tensor([[1.0, 2.0]]), pad=(1, 0)).tolist()
    [[0.0, 1.0, 2.0]]
    """

    array_backward = True

    def forward(self, x, pad, value=0.0):
        pad = tuple(pad)
        if (
            len(pad) % 2 or len(pad) // 2 > x.ndim
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0
                   for v in pad)
        ):
            raise ValueError(
                f"pad must be pairs of non-negative ints, at most one pair per axis of the "
                f"input of shape {x.shape}, got {pad!r}"
            )
        widths = [(0, 0)] * x.ndim
        for a in range(len(pad) // 2):
            widths[x.ndim - 1 - a] = (int(pad[2 * a]), int(pad[2 * a + 1]))
        self.index = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    def backward(self, dout):
        return (call(GetItem, dout, index=self.index),)
