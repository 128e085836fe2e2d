"""``Linear``, ``Identity`` and ``Flatten``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet.dtypes import get_default_dtype
from glassnet.nn import init as _init
from glassnet.nn.functional import linear
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.random import get_generator
from glassnet.tensor import Tensor

__all__ = ["INITS", "Flatten", "Identity", "Linear"]

INITS = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")


def _check_features(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def _param_dtype(dtype: Any) -> np.dtype:
    d = get_default_dtype() if dtype is None else np.dtype(dtype)
    if d not in (np.float32, np.float64):
        raise TypeError(f"parameter dtype must be float32 or float64, got {d}")
    return d


class Linear(Module):
    """Fully connected layer: out = x W^T + b (the lecture's s = W x + b for each sample).

    Parameters
    ----------
    in_features, out_features : int
        D and H: ``weight`` has shape (H, D), ``bias`` shape (H,).
    bias : bool
        Learn an additive bias (``bias`` is None otherwise).
    init : str
        How to draw the weight:

        * ``"default"`` (PyTorch's): weight and bias ~ U(-1/sqrt(D), 1/sqrt(D)), i.e.
          ``kaiming_uniform_(W, a=sqrt(5))``;
        * ``"xavier_uniform"`` / ``"xavier_normal"`` (Glorot; gain 1);
        * ``"kaiming_uniform"`` / ``"kaiming_normal"`` (He, for ReLU: gain sqrt(2),
          fan_in).

        With any scheme other than ``"default"`` the bias starts at zero.
    generator : numpy.random.Generator or int, optional
        Source of the random numbers (glassnet's default generator if None).
    dtype : optional
        float32 or float64; ``glassnet.get_default_dtype()`` if None.

    Shapes: input (N, D), (D,) or (..., D); output (N, H), (H,) or (..., H).
    The forward is one fused node (``glassnet.ops.nn.LinearFn``).

    Equivalent: ``torch.nn.Linear(in_features, out_features, bias)``.

    >>> from glassnet import nn
    >>> nn.Linear(784, 10)
    Linear(in_features=784, out_features=10, bias=True)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "default",
        generator: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = _check_features(in_features, "in_features")
        self.out_features = _check_features(out_features, "out_features")
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}; got {init!r}")
        self.init = init
        d = _param_dtype(dtype)
        # PyTorch's shape (out, in), stored column-major: W.T is then a contiguous (in, out)
        # array, so x @ W.T and the weight gradient x^T @ dout run as BLAS's faster
        # layouts. Values, shape, state_dict and checkpoints are unaffected.
        self.weight = Parameter(
            np.empty((self.out_features, self.in_features), dtype=d, order="F")
        )
        self.bias = Parameter(np.empty(self.out_features, dtype=d)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Any = None) -> None:
        """Draw fresh weights (and bias) following ``self.init``."""
        gen = get_generator(generator)
        W = self.weight
        if self.init == "default":
            _init.kaiming_uniform_(W, a=math.sqrt(5.0), generator=gen)
        elif self.init == "xavier_uniform":
            _init.xavier_uniform_(W, generator=gen)
        elif self.init == "xavier_normal":
            _init.xavier_normal_(W, generator=gen)
        elif self.init == "kaiming_uniform":
            _init.kaiming_uniform_(W, nonlinearity="relu", generator=gen)
        else:
            _init.kaiming_normal_(W, nonlinearity="relu", generator=gen)
        if self.bias is not None:
            if self.init == "default":
                bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
                _init.uniform_(self.bias, -bound, bound, generator=gen)
            else:
                _init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def get_config(self) -> dict[str, Any]:
        return self._config(
            in_features=self.in_features,
            out_features=self.out_features,
            bias=self.bias is not None,
            init=self.init,
            dtype=self.weight.dtype,
        )


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored).

    Equivalent: ``torch.nn.Identity``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x

    def get_config(self) -> dict[str, Any]:
        return self._config()


class Flatten(Module):
    """Flatten axes ``start_dim`` .. ``end_dim`` into one: (N, C, H, W) -> (N, C*H*W).

    Equivalent: ``torch.nn.Flatten(start_dim=1, end_dim=-1)``.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"Flatten: {name} must be an int, got {v!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        n = x.ndim
        for name, v in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -max(n, 1) <= v < max(n, 1):
                raise ValueError(
                    f"Flatten: {name}={v} is out of range for input of shape {x.shape}"
                )
        if n and self.start_dim % n > self.end_dim % n:
            raise ValueError(
                f"Flatten: start_dim={self.start_dim} comes after end_dim={self.end_dim} "
                f"for input of shape {x.shape}"
            )
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def get_config(self) -> dict[str, Any]:
        return self._config(start_dim=self.start_dim, end_dim=self.end_dim)
