"""Fused kernels for a compiled training step (the optional extra ``fast``: numba).

Each kernel does in one pass over memory what the eager step does in several NumPy
passes, with the same float32 (or float64) operations in the same order, so that it
gives the same numbers: numba compiles them with ``fastmath`` off (no reassociation, no
fused multiply-add contraction) and ``cache=True`` (the compilation happens once per
machine, then loads from ``__pycache__``). The NumPy code they replace is the fallback
and the oracle: ``glassnet.compile(step, kernels="numpy")``, or no numba installed.

* ``bias_relu``: ``out = max(out + b, 0)`` (``LinearReluFn``'s forward after the product);
* ``relu_backward``: ``dout * (y > 0)`` (its backward mask);
* ``softmax_mean_grad``: ``e * (w / total)``, minus w at each label (the gradient of the
  mean softmax log-likelihood);
* ``sgd_momentum``: ``b <- m b + g; p <- p + (-lr) b`` (SGD with plain momentum);
* ``adam``: Adam's and AdamW's update (``adam_update`` without amsgrad and maximize).

numba is imported only when ``load`` is first called (by ``glassnet.compile``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_loaded: dict[str, Any] = {}


def available() -> bool:
    """Is numba installed (without importing it)?"""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def load() -> Any:
    """The kernels (a namespace of functions), compiled or loaded from numba's cache."""
    if "kernels" in _loaded:
        return _loaded["kernels"]
    try:
        import numba
    except ImportError:
        raise ImportError(
            'glassnet\'s fused kernels need numba: pip install "glassnet[fast]" (or compile '
            'with kernels="numpy", the same numbers without them)'
        ) from None
    _loaded["kernels"] = _build(numba)
    return _loaded["kernels"]


def _build(numba: Any) -> Any:
    jit = numba.njit(cache=True, fastmath=False, nogil=True)

    @jit
    def bias_relu(out: np.ndarray, b: np.ndarray) -> None:
        n, h = out.shape
        zero = out.dtype.type(0)
        for i in range(n):
            for j in range(h):
                v = out[i, j] + b[j]
                # np.maximum(v, 0): NaN stays NaN, -0.0 becomes +0.0
                out[i, j] = v if (v > zero or v != v) else zero

    @jit
    def relu_backward(dout: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
        one = dout.dtype.type(1)
        zero = dout.dtype.type(0)
        n, h = dout.shape
        for i in range(n):
            for j in range(h):
                out[i, j] = dout[i, j] * (one if y[i, j] > 0 else zero)

    @jit
    def softmax_mean_grad(e: np.ndarray, total: np.ndarray, y: np.ndarray, w: Any,
                          out: np.ndarray) -> None:
        n, c = e.shape
        for i in range(n):
            q = w / total[i, 0]
            for j in range(c):
                out[i, j] = e[i, j] * q
            out[i, y[i]] = out[i, y[i]] - w

    @jit
    def sgd_momentum(p: np.ndarray, g: np.ndarray, b: np.ndarray, neg_lr: Any,
                     m: Any) -> None:
        for i in range(p.size):
            v = b[i] * m
            v = v + g[i]
            b[i] = v
            p[i] = p[i] + v * neg_lr

    @jit
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

    return _Kernels(bias_relu, relu_backward, softmax_mean_grad, sgd_momentum, adam)


class _Kernels:
    def __init__(self, bias_relu: Any, relu_backward: Any, softmax_mean_grad: Any,
                 sgd_momentum: Any, adam: Any) -> None:
        self.bias_relu = bias_relu
        self.relu_backward = relu_backward
        self.softmax_mean_grad = softmax_mean_grad
        self.sgd_momentum = sgd_momentum
        self.adam = adam


def flat(*arrays: np.ndarray) -> list[np.ndarray] | None:
    """Flat views of same-shaped arrays in their common memory order (all row-major or
    all column-major), or None (then the NumPy path runs)."""
    if all(a.flags.c_contiguous for a in arrays):
        return [a.reshape(-1) for a in arrays]
    if all(a.flags.f_contiguous for a in arrays):
        return [a.reshape(-1, order="F") for a in arrays]
    return None
