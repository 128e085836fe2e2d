"""Weight initialisers, each drawing from an explicit ``numpy.random.Generator``.

Every function fills its argument in place (a Parameter, Tensor or ndarray), keeps its
dtype, and returns it. ``generator=None`` uses glassnet's default generator
(``glassnet.manual_seed`` seeds it); an int is a seed.

Fan-in and fan-out of a weight of shape (out, in, *kernel) are in * prod(kernel) and
out * prod(kernel), as in PyTorch. The formulas (bound b of U(-b, b), standard
deviation s of N(0, s^2)):

=====================  ==============================================
``xavier_uniform_``    b = gain * sqrt(6 / (fan_in + fan_out))
``xavier_normal_``     s = gain * sqrt(2 / (fan_in + fan_out))
``kaiming_uniform_``   b = gain(nonlinearity, a) * sqrt(3 / fan)
``kaiming_normal_``    s = gain(nonlinearity, a) / sqrt(fan)
=====================  ==============================================

with fan = fan_in (``mode="fan_in"``) or fan_out. ``calculate_gain("relu") = sqrt(2)``,
``calculate_gain("leaky_relu", a) = sqrt(2 / (1 + a^2))``. PyTorch's default for
``Linear`` is ``kaiming_uniform_(W, a=sqrt(5))``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

Equivalent: ``torch.nn.init`` (same names, arguments and formulas; the random numbers
differ since the generators differ).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet.random import get_generator
from glassnet.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "fan_in_and_fan_out",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _array(t: Any) -> np.ndarray:
    arr = t.data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"an initialiser needs a Tensor or ndarray, got {type(t).__name__}")
    if arr.dtype.kind != "f":
        raise TypeError(f"an initialiser needs a float array, got dtype {arr.dtype}")
    return arr


def _fill(t: Any, values: np.ndarray) -> Any:
    arr = _array(t)
    arr[...] = values.astype(arr.dtype, copy=False)
    return t


def fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel); needs >= 2 axes."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a weight with at least 2 axes, got shape {shape}"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (as ``torch.nn.init.calculate_gain``).

    linear/identity/sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with slope a
    (default 0.01): sqrt(2 / (1 + a^2)); selu: 3/4.
    """
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise ValueError(f"leaky_relu gain: negative slope must be a number, got {a!r}")
        return math.sqrt(2.0 / (1.0 + a * a))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(
        f"unknown nonlinearity {nonlinearity!r}; expected one of linear, identity, sigmoid, "
        "tanh, relu, leaky_relu, selu"
    )


def uniform_(t: Any, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Any:
    """Fill with U(a, b)."""
    if not a <= b:
        raise ValueError(f"uniform_: need a <= b, got a={a}, b={b}")
    arr = _array(t)
    return _fill(t, get_generator(generator).uniform(a, b, size=arr.shape))


def normal_(t: Any, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Any:
    """Fill with N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    arr = _array(t)
    return _fill(t, get_generator(generator).normal(mean, std, size=arr.shape))


def constant_(t: Any, value: float) -> Any:
    """Fill with ``value``."""
    _array(t)[...] = value
    return t


def zeros_(t: Any) -> Any:
    """Fill with zeros."""
    return constant_(t, 0.0)


def ones_(t: Any) -> Any:
    """Fill with ones."""
    return constant_(t, 1.0)


def xavier_uniform_(t: Any, gain: float = 1.0, generator: Any = None) -> Any:
    """Glorot/Xavier uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(_array(t).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return uniform_(t, -bound, bound, generator)


def xavier_normal_(t: Any, gain: float = 1.0, generator: Any = None) -> Any:
    """Glorot/Xavier normal: N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(_array(t).shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(t, 0.0, std, generator)


def _kaiming_std(shape: tuple[int, ...], a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    t: Any,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Any:
    """He/Kaiming uniform: U(-b, b), b = gain * sqrt(3 / fan) (sqrt(6 / fan_in) for relu)."""
    bound = math.sqrt(3.0) * _kaiming_std(_array(t).shape, a, mode, nonlinearity)
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(
    t: Any,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Any:
    """He/Kaiming normal: N(0, s^2), s = gain / sqrt(fan) (sqrt(2 / fan_in) for relu)."""
    std = _kaiming_std(_array(t).shape, a, mode, nonlinearity)
    return normal_(t, 0.0, std, generator)
