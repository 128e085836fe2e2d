"""Convolutional layers: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``.

Images are (N, C, H, W). The computations are the primitives of ``glassnet.ops.conv``
(through ``glassnet.nn.functional``); these classes hold the parameters and arguments,
with PyTorch's names, defaults and state-dict keys (``weight``, ``bias``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet.nn import functional as F
from glassnet.nn import init as _init
from glassnet.nn.linear import _check_features, _param_dtype
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.ops.conv import _pair
from glassnet.random import get_generator
from glassnet.tensor import Tensor

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "Conv2d", "MaxPool2d"]


class Conv2d(Module):
    """2-D convolution layer: out = conv2d(x, weight) + bias.

    Parameters
    ----------
    in_channels, out_channels : int
        C and O: ``weight`` has shape (O, C / groups, KH, KW), ``bias`` shape (O,).
    kernel_size, stride, padding, dilation : int or (int, int)
        The window, its step, the zeros added on each side, the spacing of its taps.
    groups : int
        Split the channels into this many independent convolutions (both channel counts
        must be divisible by it; ``groups = in_channels`` is a depthwise convolution).
    bias : bool
        Learn an additive per-channel bias.
    generator : numpy.random.Generator or int, optional
        Source of the random initial values.
    dtype : optional
        float32 or float64; the default dtype if None.

    Initialisation (PyTorch's default): weight ~ U(-b, b) with b = 1 / sqrt(fan_in),
    fan_in = C / groups * KH * KW (``kaiming_uniform_(W, a=sqrt(5))``); bias likewise.

    Shapes: (N, C, H, W) -> (N, O, OH, OW), OH = floor((H + 2 p - d (KH - 1) - 1) / s) + 1.
    Equivalent: ``torch.nn.Conv2d`` (same arguments and state-dict keys).

    >>> from glassnet import nn
    >>> nn.Conv2d(1, 6, 5)
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        generator: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_channels = _check_features(in_channels, "in_channels")
        self.out_channels = _check_features(out_channels, "out_channels")
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        self.dilation = _pair(dilation, "dilation", 1)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"Conv2d: groups must be a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels={in_channels} and out_channels={out_channels} must "
                f"both be divisible by groups={groups}"
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.groups = int(groups)
        d = _param_dtype(dtype)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=d))
        self.bias = Parameter(np.empty(self.out_channels, dtype=d)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Any = None) -> None:
        """Draw fresh weights and bias as PyTorch's default does."""
        gen = get_generator(generator)
        _init.kaiming_uniform_(self.weight, a=math.sqrt(5.0), generator=gen)
        if self.bias is not None:
            fan_in = self.weight.size // max(1, self.out_channels)
            bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
            _init.uniform_(self.bias, -bound, bound, generator=gen)

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text

    def get_config(self) -> dict[str, Any]:
        return self._config(
            in_channels=self.in_channels, out_channels=self.out_channels,
            kernel_size=list(self.kernel_size), stride=list(self.stride),
            padding=list(self.padding), dilation=list(self.dilation), groups=self.groups,
            bias=self.bias is not None, dtype=self.weight.dtype,
        )


class _Pool2d(Module):
    """Shared arguments of the pooling layers (stride None = the kernel size)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def get_config(self) -> dict[str, Any]:
        return self._config(kernel_size=list(self.kernel_size), stride=list(self.stride),
                            padding=list(self.padding))


class MaxPool2d(_Pool2d):
    """Max pooling: the largest entry of each window, per channel.

    Ties as PyTorch: the first maximum of a window (row-major) receives its gradient.
    Equivalent: ``torch.nn.MaxPool2d(kernel_size, stride, padding, dilation)``.
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1) -> None:
        super().__init__(kernel_size, stride, padding)
        self.dilation = _pair(dilation, "dilation", 1)

    def forward(self, x: Any) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", dilation={self.dilation}"

    def get_config(self) -> dict[str, Any]:
        return self._config(kernel_size=list(self.kernel_size), stride=list(self.stride),
                            padding=list(self.padding), dilation=list(self.dilation))


class AvgPool2d(_Pool2d):
    """Average pooling: the mean of each window (padded zeros count).

    Equivalent: ``torch.nn.AvgPool2d(kernel_size, stride, padding)``
    (``count_include_pad=True``, ``ceil_mode=False``).
    """

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (1: each channel's mean).

    ``output_size`` must divide the input's height and width (1 always does).
    Equivalent: ``torch.nn.AdaptiveAvgPool2d(output_size)`` for those sizes.
    """

    def __init__(self, output_size: Any = 1) -> None:
        super().__init__()
        self.output_size = _pair(output_size, "output_size", 1)

    def forward(self, x: Any) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def get_config(self) -> dict[str, Any]:
        return self._config(output_size=list(self.output_size))
