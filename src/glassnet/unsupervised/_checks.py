"""Input checks shared by the unsupervised estimators (a ValueError naming the problem)."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_generator(rng: Any, who: str) -> np.random.Generator:
    """``rng`` (None, an int seed or a Generator) as a ``numpy.random.Generator``."""
    if rng is None:
        from glassnet.random import get_generator

        return get_generator()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{who}: rng must be None, an int seed or a numpy Generator, got {rng!r}")


def check_data(X: Any, who: str, dtype: Any = None, min_samples: int = 1) -> np.ndarray:
    """``X`` as a C-contiguous float array of shape (N, D) with finite entries."""
    X = np.asarray(getattr(X, "data", X))
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{who}: X must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        hint = " (reshape a single feature with X.reshape(-1, 1))" if X.ndim == 1 else ""
        raise ValueError(f"{who}: X must be 2-D (N samples, D features), got shape "
                         f"{X.shape}{hint}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{who}: X is empty (shape {X.shape})")
    if X.shape[0] < min_samples:
        raise ValueError(f"{who}: needs at least {min_samples} samples, got {X.shape[0]}")
    if dtype is None:
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise ValueError(f"{who}: X contains {bad} NaN or infinite value(s)")
    return X


def check_positive_int(value: Any, name: str, who: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive_float(value: Any, name: str, who: str, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = np.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{who}: {name} must be a finite number {bound}, got {value!r}")
    return float(value)


def check_fitted(model: Any, attr: str) -> None:
    if getattr(model, attr, None) is None:
        raise RuntimeError(f"{type(model).__name__} is not fitted yet; call fit(X) first")


def check_features(X: np.ndarray, d: int, who: str) -> None:
    if X.shape[1] != d:
        raise ValueError(f"{who}: X has {X.shape[1]} features, the model was fitted on {d}")
