"""Layer functions without state: the computations behind the layer modules.

``linear`` and ``batch_norm`` call the fused primitives of ``glassnet.ops.nn``;
``dropout`` and ``stochastic_depth`` are composites (a product with a constant mask).
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
from glassnet.ops.nn import BatchNormFn, LinearFn, LinearReluFn, _channel_axes
from glassnet.random import get_generator
from glassnet.tensor import Tensor

__all__ = [
    "batch_norm",
    "dropout",
    "dropout_mask",
    "leaky_relu",
    "linear",
    "linear_relu",
    "log_softmax",
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
