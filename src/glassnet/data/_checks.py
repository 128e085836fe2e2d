"""Argument checks shared by the data modules (messages name the value)."""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np


def as_generator(rng: np.random.Generator | int | None, name: str = "rng") -> np.random.Generator:
    """A ``Generator`` from a Generator (used as is), a seed, or None (fresh OS entropy)."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name} must be a non-negative seed, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator, an int seed or None, "
        f"got {type(rng).__name__}"
    )


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """An integer >= minimum (bool and floats rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_float(value: object, name: str, minimum: float = 0.0) -> float:
    """A finite real number >= minimum (bool rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum}, got {value}")
    return value


def check_split(split: object) -> str:
    """'train' or 'test'."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return str(split)


def as_path(path: object, name: str = "path") -> Path:
    """A ``Path`` from a str or os.PathLike."""
    if isinstance(path, (str, os.PathLike)):
        return Path(os.fspath(path))
    raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
