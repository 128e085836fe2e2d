"""The default floating-point dtype for new tensors and layer parameters."""

from __future__ import annotations

import numpy as np

_default = [np.dtype(np.float32)]


def set_default_dtype(dtype: object) -> None:
    """Set the dtype of tensors made from Python numbers/lists and of new parameters.

    Only ``np.float32`` (the default, for training) and ``np.float64`` (for checking
    gradients) are accepted.
    """
    d = np.dtype(dtype)  # type: ignore[call-overload]
    if d not in (np.float32, np.float64):
        raise TypeError(f"default dtype must be float32 or float64, got {d}")
    _default[0] = d


def get_default_dtype() -> np.dtype:
    """Return the current default floating-point dtype."""
    return _default[0]
