"""The numba versions of ``glassnet.ops.kernels`` (imported only by ``kernels.load``).

Compiled with ``fastmath`` off (the NumPy code's float operations, in its order) and
``cache=True`` (compiled once per machine and argument types, then loaded from
``__pycache__``). Scalars arrive as the arrays' dtype (``np.float32(x)``), so the
arithmetic stays in that precision as NumPy's does.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

_jit = numba.njit(cache=True, fastmath=False, nogil=True)


@_jit
def bias_relu(out: np.ndarray, b: np.ndarray) -> None:
    n, h = out.shape
    zero = out.dtype.type(0)
    for i in range(n):
        for j in range(h):
            v = out[i, j] + b[j]
            # np.maximum(v, 0): NaN stays NaN, -0.0 becomes +0.0
            out[i, j] = v if (v > zero or v != v) else zero


@_jit
def relu_backward(dout: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    one = dout.dtype.type(1)
    zero = dout.dtype.type(0)
    n, h = dout.shape
    for i in range(n):
        for j in range(h):
            out[i, j] = dout[i, j] * (one if y[i, j] > 0 else zero)


@_jit
def softmax_mean_grad(e: np.ndarray, total: np.ndarray, y: np.ndarray, w: Any,
                      out: np.ndarray) -> None:
    n, c = e.shape
    for i in range(n):
        q = w / total[i]
        for j in range(c):
            out[i, j] = e[i, j] * q
        out[i, y[i]] = out[i, y[i]] - w


@_jit
def sgd_momentum(p: np.ndarray, g: np.ndarray, b: np.ndarray, neg_lr: Any,
                 m: Any) -> None:
    for i in range(p.size):
        v = b[i] * m
        v = v + g[i]
        b[i] = v
        p[i] = p[i] + v * neg_lr


@_jit
def adam(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, shrink: Any,
         wd: Any, w1: Any, lerp_low: bool, beta2: Any, w2: Any, bc2_sqrt: Any,
         eps: Any, neg_step: Any) -> None:
    zero = p.dtype.type(0)
    one = p.dtype.type(1)
    for i in range(p.size):
        pi = p[i]
        if shrink != one:  # AdamW's decoupled decay
            pi = pi * shrink
        gi = g[i]
        if wd != zero:  # Adam's coupled decay: g + wd * p
            gi = pi * wd + gi
        mi = m[i]
        d = gi - mi
        if lerp_low:  # lerp_: m + w (g - m), or g - (g - m)(1 - w) for w >= 0.5
            mi = mi + d * w1
        else:
            mi = gi - d * w1
        m[i] = mi
        vi = v[i] * beta2
        vi = vi + gi * w2 * gi
        v[i] = vi
        denom = np.sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + (mi * neg_step) / denom
