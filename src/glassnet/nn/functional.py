"""Layer functions without state: the computations behind the layer modules.

``linear`` and ``batch_norm`` call the fused primitives of ``glassnet.ops.nn``; ``conv2d``,
the poolings and ``pad`` those of ``glassnet.ops.conv``; ``dropout``, ``dropout2d`` and
``stochastic_depth`` are composites (a product with a constant mask).
The activations are the Tensor operations of the core (``glassnet.relu`` etc.), repeated
here so that ``glassnet.nn.functional`` reads like ``torch.nn.functional``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.autograd.tape import effect
from glassnet.functional import (
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from glassnet.ops.conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d, Pad
from glassnet.ops.nn import BatchNormFn, LinearFn, LinearReluFn, _channel_axes
from glassnet.random import get_generator
from glassnet.tensor import Tensor

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "dropout",
    "dropout2d",
    "dropout_mask",
    "leaky_relu",
    "linear",
    "linear_relu",
    "log_softmax",
    "max_pool2d",
    "pad",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "stochastic_depth",
    "tanh",
]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x W^T + b, one fused node (``glassnet.ops.nn.LinearFn``).

    Shapes: x (..., D), weight (H, D), bias (H,) or None -> (..., H).
    Equivalent: ``torch.nn.functional.linear``.
    """
    return LinearFn.apply(x, weight, bias)


def linear_relu(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """relu(x W^T + b), one fused node (``glassnet.ops.nn.LinearReluFn``): the hidden
    layer ``MLP`` runs when a Linear is followed by a ReLU.

    Shapes: x (..., D), weight (H, D), bias (H,) or None -> (..., H).
    Equivalent: ``torch.relu(torch.nn.functional.linear(x, weight, bias))``.
    """
    return LinearReluFn.apply(x, weight, bias)


def conv2d(
    x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
    dilation: Any = 1, groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation), one node (``glassnet.ops.conv.Conv2d``).

    Shapes: x (N, C, H, W), weight (O, C / groups, KH, KW), bias (O,) or None ->
    (N, O, OH, OW). ``stride``, ``padding`` (zeros on each side), ``dilation``: an int or
    an (height, width) pair.
    Equivalent: ``torch.nn.functional.conv2d`` (same arguments).
    """
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)


def max_pool2d(
    x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1
) -> Tensor:
    """The largest entry of each window (``glassnet.ops.conv.MaxPool2d``); stride None
    means the kernel size. Equivalent: ``torch.nn.functional.max_pool2d``."""
    return MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           dilation=dilation)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """The mean of each window, padded zeros included (``glassnet.ops.conv.AvgPool2d``).
    Equivalent: ``torch.nn.functional.avg_pool2d``."""
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def adaptive_avg_pool2d(x: Any, output_size: Any) -> Tensor:
    """Average pooling to an (oh, ow) image whose sizes divide H and W.

    Output 1 (or (1, 1)) is the global average (``glassnet.ops.conv.AdaptiveAvgPool2d``);
    other sizes are ``avg_pool2d`` with kernel = stride = (H / oh, W / ow).
    Equivalent: ``torch.nn.functional.adaptive_avg_pool2d`` (for those sizes).
    """
    x = _tensor(x)
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d expects (N, C, H, W), got {x.shape}")
    if size == (1, 1):
        return AdaptiveAvgPool2d.apply(x)
    H, W = x.shape[2:]
    if len(size) != 2 or min(size) < 1 or H % size[0] or W % size[1]:
        raise ValueError(
            f"adaptive_avg_pool2d: output size {output_size!r} must divide the input's "
            f"(H, W) = {(H, W)}"
        )
    k = (H // size[0], W // size[1])
    return AvgPool2d.apply(x, kernel_size=k, stride=k)


def pad(x: Any, pad: Any, value: float = 0.0) -> Tensor:
    """Constant padding, widths in PyTorch's order: (left, right) for the last axis, then
    (top, bottom), ... (``glassnet.ops.conv.Pad``). Equivalent:
    ``torch.nn.functional.pad(x, pad, value=value)``."""
    return Pad.apply(x, pad=tuple(pad), value=value)


def batch_norm(
    x: Any,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    num_batches_tracked: np.ndarray | None = None,
) -> Tensor:
    """Batch normalisation over (N, C) or (N, C, L) input, per channel C.

    Training (or no running statistics): normalise with the batch mean and the *biased*
    batch variance (one fused node, ``glassnet.ops.nn.BatchNormFn``), and update the
    running statistics in place with the *unbiased* variance, as PyTorch does:
    running = (1 - momentum) * running + momentum * batch_statistic, where
    batch_statistic is the mean, or var * m / (m - 1) with m = entries per channel.
    ``momentum=None`` uses the cumulative average (factor 1 / num_batches_tracked, after
    ``num_batches_tracked`` has been incremented here).

    Evaluation: out = (x - running_mean) / sqrt(running_var + eps) * weight + bias, a
    composite (an affine map with constant statistics).

    Equivalent: ``torch.nn.functional.batch_norm`` (same argument order and updates).
    """
    x = _tensor(x)
    axes, tail = _channel_axes(x.ndim)
    C = x.shape[1]
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != (C,):
            raise ValueError(f"batch_norm: {name} must have shape ({C},), got {tuple(p.shape)}")
    use_batch = training or running_mean is None or running_var is None
    if not use_batch:
        cshape = (C,) + tail
        # array work on the running statistics: one instruction of a compiled step
        scale, shift = effect(_eval_affine, running_mean, running_var, eps, x.dtype, cshape,
                              multi=True)
        if weight is not None:
            w = weight.reshape(cshape)
            out = x * (w * scale) + w * shift
        else:
            out = x * scale + shift
        return out + bias.reshape(cshape) if bias is not None else out
    m = x.size // C
    if m <= 1:
        raise ValueError(
            f"batch_norm in training needs more than 1 value per channel, got input of "
            f"shape {x.shape}"
        )
    if training and running_mean is not None and running_var is not None:
        if momentum is None and num_batches_tracked is None:
            raise ValueError("batch_norm: momentum=None needs num_batches_tracked")
    else:
        running_mean = running_var = num_batches_tracked = None
    # array work outside the primitive (statistics, running updates): one instruction of
    # a compiled step, which a replay repeats
    mean, var = effect(_batch_statistics, x.data, axes, (C,) + tail, running_mean,
                       running_var, momentum, num_batches_tracked, multi=True)
    return BatchNormFn.apply(x, weight, bias, eps=eps, mean=mean, var=var)


def _eval_affine(running_mean: np.ndarray, running_var: np.ndarray, eps: float, dtype: Any,
                 cshape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) of evaluation-mode batch norm: 1 / sqrt(var + eps), -mean * scale."""
    inv = 1.0 / np.sqrt(running_var + eps)
    scale = inv.astype(dtype, copy=False).reshape(cshape)
    shift = (-running_mean * inv).astype(dtype, copy=False).reshape(cshape)
    return scale, shift


def _batch_statistics(
    data: np.ndarray, axes: tuple[int, ...], cshape: tuple[int, ...],
    running_mean: np.ndarray | None, running_var: np.ndarray | None,
    momentum: float | None, num_batches_tracked: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The batch mean and biased variance per channel; given running statistics, update
    them in place (with the unbiased variance; see ``batch_norm``)."""
    mean = data.mean(axis=axes)
    d = data - mean.reshape(cshape)
    var = (d * d).mean(axis=axes)
    if running_mean is not None and running_var is not None:
        m = data.size // cshape[0]
        if momentum is None:
            num_batches_tracked += 1
            factor = 1.0 / float(num_batches_tracked)
        else:
            if num_batches_tracked is not None:
                num_batches_tracked += 1
            factor = momentum
        running_mean *= 1.0 - factor
        running_mean += factor * mean
        running_var *= 1.0 - factor
        running_var += factor * var * (m / (m - 1))
    return mean, var


def _check_p(p: float, name: str, allow_one: bool) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}: p must be a number, got {p!r}")
    ok = 0.0 <= p <= 1.0 if allow_one else 0.0 <= p < 1.0
    if not ok:
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"{name}: drop probability p must be in {interval}, got {p}")
    return float(p)


def dropout_mask(shape: tuple[int, ...], p: float, generator: Any = None) -> np.ndarray:
    """A boolean keep-mask: each entry True with probability 1 - p, independently."""
    p = _check_p(p, "dropout_mask", allow_one=False)
    # a draw a compiled step repeats, from the generator the argument names at that time
    return effect(_draw_keep, tuple(shape), p, generator)


def _draw_keep(shape: tuple[int, ...], p: float, generator: Any) -> np.ndarray:
    """Each entry True with probability 1 - p, from ``get_generator(generator)``."""
    return get_generator(generator).random(shape) >= p


def dropout(
    x: Any,
    p: float = 0.5,
    training: bool = True,
    generator: Any = None,
    mask: np.ndarray | None = None,
) -> Tensor:
    """Inverted dropout: zero each entry with probability p, scale the rest by 1/(1-p).

    Forward: out = x * keep / (1 - p), keep ~ Bernoulli(1 - p) per entry (or the given
    boolean ``mask``, broadcastable to x); identity when not training or p = 0.
    Gradient: dx = dout * keep / (1 - p) (a composite: a product with a constant).
    Conventions: the expected output equals x, so evaluation needs no rescaling.
    Equivalent: ``torch.nn.functional.dropout(x, p, training)``; with glassnet's mask
    ``keep``, exactly ``x * keep / (1 - p)`` in PyTorch.
    """
    p = _check_p(p, "dropout", allow_one=False)
    x = _tensor(x)
    if not training or (p == 0.0 and mask is None):
        return x
    if mask is None:
        mask = dropout_mask(x.shape, p, generator)
    return x * effect(_keep_scale, mask, p, x.dtype)


def _keep_scale(mask: np.ndarray, p: float, dtype: Any) -> np.ndarray:
    """keep / (1 - p) in ``dtype``: the factor inverted dropout multiplies by."""
    return np.asarray(mask, dtype=dtype) * np.asarray(1.0 / (1.0 - p), dtype=dtype)


def dropout2d(
    x: Any, p: float = 0.5, training: bool = True, generator: Any = None,
    mask: np.ndarray | None = None,
) -> Tensor:
    """Channel dropout: zero whole feature maps (N, C, H, W) with probability p.

    Forward: out = x * keep / (1 - p), keep ~ Bernoulli(1 - p) of shape (N, C, 1, 1) (or
    the given boolean ``mask`` of that shape); identity when not training or p = 0.
    Gradient: dx = dout * keep / (1 - p) (a composite).
    Equivalent: ``torch.nn.functional.dropout2d(x, p, training)`` on 4-D input.
    """
    x = _tensor(x)
    if x.ndim != 4:
        raise ValueError(f"dropout2d expects input of shape (N, C, H, W), got {x.shape}")
    if mask is None and training:
        mask = dropout_mask(x.shape[:2] + (1, 1), p, generator)
    return dropout(x, p, training=training, mask=mask)


def stochastic_depth(
    x: Any,
    p: float,
    mode: str = "batch",
    training: bool = True,
    generator: Any = None,
    mask: np.ndarray | None = None,
) -> Tensor:
    """Drop a whole residual branch output with probability p (training only).

    Forward: out = x * keep / (1 - p) with keep ~ Bernoulli(1 - p) drawn once for the
    whole batch (``mode="batch"``, shape (1, ..., 1)) or once per sample
    (``mode="row"``, shape (N, 1, ..., 1)); p = 1 gives zeros (no division). Identity
    when not training or p = 0.
    Gradient: dx = dout * keep / (1 - p).
    Equivalent: ``torchvision.ops.stochastic_depth(x, p, mode, training)``.
    """
    p = _check_p(p, "stochastic_depth", allow_one=True)
    if mode not in ("batch", "row"):
        raise ValueError(f"stochastic_depth: mode must be 'batch' or 'row', got {mode!r}")
    x = _tensor(x)
    if not training or (p == 0.0 and mask is None):
        return x
    if mask is None:
        shape = (x.shape[0],) + (1,) * (x.ndim - 1) if mode == "row" else (1,) * x.ndim
        mask = effect(_draw_keep, shape, p, generator)
    if p < 1.0:
        return x * effect(_keep_scale, mask, p, x.dtype)
    return x * effect(np.asarray, mask, x.dtype)
