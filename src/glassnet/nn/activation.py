"""Activation modules: each wraps one elementwise primitive of the core.

The formulas, gradients and kink conventions live in the primitives' docstrings
(``glassnet.ops.elementwise`` and ``glassnet.ops.reduce``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.nn.module import Module
from glassnet.tensor import Tensor

__all__ = [
    "ACTIVATIONS",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "activation",
]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class ReLU(Module):
    """max(0, x), with relu'(0) = 0.  Equivalent: ``torch.nn.ReLU``."""

    def forward(self, x: Any) -> Tensor:
        return _tensor(x).relu()

    def get_config(self) -> dict[str, Any]:
        return self._config()


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise.  Equivalent: ``torch.nn.LeakyReLU``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(
            negative_slope, (int, float, np.floating)
        ):
            raise TypeError(f"LeakyReLU: negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return _tensor(x).leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

    def get_config(self) -> dict[str, Any]:
        return self._config(negative_slope=self.negative_slope)


class Sigmoid(Module):
    """1 / (1 + e^-x), overflow-free.  Equivalent: ``torch.nn.Sigmoid``."""

    def forward(self, x: Any) -> Tensor:
        return _tensor(x).sigmoid()

    def get_config(self) -> dict[str, Any]:
        return self._config()


class Tanh(Module):
    """Hyperbolic tangent.  Equivalent: ``torch.nn.Tanh``."""

    def forward(self, x: Any) -> Tensor:
        return _tensor(x).tanh()

    def get_config(self) -> dict[str, Any]:
        return self._config()


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, a smooth ReLU.

    Equivalent: ``torch.nn.Softplus(beta, threshold=inf)`` (PyTorch's default threshold
    20 switches to x above it, a difference below e^-20).
    """

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating)) or beta <= 0:
            raise ValueError(f"Softplus: beta must be a positive number, got {beta!r}")
        self.beta = float(beta)

    def forward(self, x: Any) -> Tensor:
        return _tensor(x).softplus(self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"

    def get_config(self) -> dict[str, Any]:
        return self._config(beta=self.beta)


def _dim(dim: Any, axis: Any, name: str) -> int:
    if axis is not None:
        if dim != -1 and dim != axis:
            raise ValueError(f"{name}: give dim or axis, not both (dim={dim}, axis={axis})")
        dim = axis
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    return int(dim)


class Softmax(Module):
    """Softmax along ``dim`` (alias ``axis``), default the last axis.

    Equivalent: ``torch.nn.Softmax(dim)``.
    """

    def __init__(self, dim: int = -1, axis: int | None = None) -> None:
        super().__init__()
        self.dim = _dim(dim, axis, type(self).__name__)

    def forward(self, x: Any) -> Tensor:
        return _tensor(x).softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def get_config(self) -> dict[str, Any]:
        return self._config(dim=self.dim)


class LogSoftmax(Softmax):
    """Log-softmax along ``dim`` (alias ``axis``), computed stably.

    Equivalent: ``torch.nn.LogSoftmax(dim)``.
    """

    def forward(self, x: Any) -> Tensor:
        return _tensor(x).log_softmax(self.dim)


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softplus": Softplus,
}


def activation(name: str) -> Module:
    """A new activation module by name: relu, leaky_relu, sigmoid, tanh, softplus, identity."""
    from glassnet.nn.linear import Identity

    if name == "identity":
        return Identity()
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; expected one of "
            f"{', '.join([*ACTIVATIONS, 'identity'])}"
        )
    return ACTIVATIONS[name]()
