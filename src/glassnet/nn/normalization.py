"""``BatchNorm1d`` and ``BatchNorm2d``: batch normalisation per channel (axis 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.nn.functional import batch_norm
from glassnet.nn.linear import _check_features, _param_dtype
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class BatchNorm1d(Module):
    """Normalise each channel with batch statistics in training, running ones in eval.

    Parameters
    ----------
    num_features : int
        C, the channel axis (axis 1) of input (N, C) or (N, C, L).
    eps : float
        Added to the variance before the square root.
    momentum : float or None
        Weight of the new batch statistic in the running averages; None: cumulative
        average over all batches seen.
    affine : bool
        Learn a per-channel scale ``weight`` (init 1) and shift ``bias`` (init 0).
    track_running_stats : bool
        Keep ``running_mean`` (init 0), ``running_var`` (init 1) and
        ``num_batches_tracked`` as buffers. Without them the batch statistics are used
        in evaluation mode too.
    dtype : optional
        Dtype of the parameters and running statistics (default dtype if None).

    Training: out = (x - mean) / sqrt(var + eps) * weight + bias with the batch mean and
    the *biased* batch variance (one fused node, ``glassnet.ops.nn.BatchNormFn``); the
    running variance is updated with the *unbiased* one, var * m / (m - 1), m = entries
    per channel. Evaluation: the same formula with the running statistics.

    Equivalent: ``torch.nn.BatchNorm1d`` (same conventions and state-dict keys).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_features = _check_features(num_features, "num_features")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
            raise ValueError(f"BatchNorm1d: eps must be a positive number, got {eps!r}")
        if momentum is not None and (
            isinstance(momentum, bool) or not isinstance(momentum, (int, float))
            or not 0.0 <= momentum <= 1.0
        ):
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum!r}")
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        d = _param_dtype(dtype)
        C = self.num_features
        self.weight = Parameter(np.ones(C, dtype=d)) if affine else None
        self.bias = Parameter(np.zeros(C, dtype=d)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(C, dtype=d))
            self.register_buffer("running_var", np.ones(C, dtype=d))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean[...] = 0.0
            self.running_var[...] = 1.0
            self.num_batches_tracked[...] = 0

    def _check_input(self, x: Tensor) -> None:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) expects input of shape (N, "
                f"{self.num_features}) or (N, {self.num_features}, L), got {x.shape}"
            )

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        self._check_input(x)
        return batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
            num_batches_tracked=self.num_batches_tracked,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )

    def get_config(self) -> dict[str, Any]:
        dtype = (self.weight.dtype if self.weight is not None
                 else self.running_mean.dtype if self.running_mean is not None else None)
        return self._config(
            num_features=self.num_features,
            eps=self.eps,
            momentum=self.momentum,
            affine=self.affine,
            track_running_stats=self.track_running_stats,
            dtype=dtype,
        )


class BatchNorm2d(BatchNorm1d):
    """Batch normalisation of images (N, C, H, W): statistics per channel over N, H, W.

    Same parameters, buffers and conventions as ``BatchNorm1d`` (biased variance to
    normalise, unbiased, m = N H W, for the running variance).

    Equivalent: ``torch.nn.BatchNorm2d`` (same conventions and state-dict keys).
    """

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm2d({self.num_features}) expects input of shape (N, "
                f"{self.num_features}, H, W), got {x.shape}"
            )
