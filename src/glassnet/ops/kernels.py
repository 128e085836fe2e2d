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

_loaded: dict[str, Any] = {}  # the module of numba kernels, once imported


def available() -> bool:
    """Is numba installed (without importing it)?"""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def load() -> Any:
    """The kernels (``glassnet.ops._numba_kernels``); each compiles, or loads from numba's
    cache, on its first call with a given argument type."""
    if "kernels" in _loaded:
        return _loaded["kernels"]
    try:
        from glassnet.ops import _numba_kernels
    except ImportError:
        raise ImportError(
            'glassnet\'s fused kernels need numba: pip install "glassnet[fast]" (or compile '
            'with kernels="numpy", the same numbers without them)'
        ) from None
    _loaded["kernels"] = _numba_kernels
    return _numba_kernels


def flat(*arrays: np.ndarray) -> list[np.ndarray] | None:
    """Flat views of same-shaped arrays in their common memory order (all row-major or
    all column-major), or None (then the NumPy path runs)."""
    if all(a.flags.c_contiguous for a in arrays):
        return [a.reshape(-1) for a in arrays]
    if all(a.flags.f_contiguous for a in arrays):
        return [a.reshape(-1, order="F") for a in arrays]
    return None
