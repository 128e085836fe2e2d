"""The lecture's regularization: penalties added to the loss and the max-norm constraint.

L = (1/N) sum_i L_i + lambda * R(W). The penalties are composites of primitives (no
gradient code): each takes an iterable of parameters, e.g. ``model.parameters()``, and
returns a differentiable scalar Tensor to add to the data loss.

=================  ======================================  ==============================
penalty            R                                       gradient
=================  ======================================  ==============================
``L2(lam)``        lam * sum W^2                           2 lam W
``L1(lam)``        lam * sum |W|                           lam sign(W), with |x|'(0) = 0
``ElasticNet``     lam * sum (beta W^2 + |W|)              lam (2 beta W + sign(W))
=================  ======================================  ==============================

Only parameters with two or more axes (weights) are penalised unless
``include_bias=True``: biases and normalization scales/shifts (1-D) are skipped, as the
lecture penalises W.

Equivalent: ``L2(lam)`` gives the same gradient as an optimizer's
``weight_decay = 2 * lam`` (PyTorch's weight decay adds weight_decay * W to the
gradient). With the mean-over-N-samples ``l2`` loss, ``L2(lam)`` is scikit-learn's
``Ridge(alpha=N * lam)`` (Ridge minimises ||y - X w||^2 + alpha ||w||^2, a sum).

``MaxNorm(c)`` is not a penalty but a constraint: after each optimizer step every
unit's incoming weight vector (a row of a 2-D ``weight``) is rescaled to norm <= c.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.tensor import Tensor

__all__ = ["L1", "L2", "ElasticNet", "MaxNorm", "Regularizer"]


def _check_nonneg(value: Any, name: str, cls: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{cls}: {name} must be a number, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{cls}: {name} must be a finite number >= 0, got {value}")
    return float(value)


def _params(params: Any, include_bias: bool, who: str) -> list[Tensor]:
    """The Tensors of ``params`` (a Module, a Tensor or an iterable) to penalise."""
    from glassnet.nn.module import Module

    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Tensor):
        params = [params]
    if not isinstance(params, Iterable):
        raise TypeError(
            f"{who} expects an iterable of parameters (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        )
    out = []
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: expected Tensors/Parameters, got {type(p).__name__}")
        if include_bias or p.ndim >= 2:
            out.append(p)
    return out


class Regularizer:
    """Base of the penalties: ``reg(params)`` returns lam * sum of ``penalty(W)``.

    Subclasses define ``penalty(W)`` (a Tensor expression, summed here) and list their
    hyperparameters in ``_fields`` for the repr.
    """

    _fields: tuple[str, ...] = ("lam",)

    def __init__(self, lam: float, include_bias: bool = False) -> None:
        self.lam = _check_nonneg(lam, "lam", type(self).__name__)
        self.include_bias = bool(include_bias)

    def penalty(self, W: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, params: Any) -> Tensor:
        """The penalty lam * sum_W R(W) over ``params`` (a 0-d Tensor; 0 if none)."""
        total: Tensor | None = None
        for W in _params(params, self.include_bias, type(self).__name__):
            term = self.penalty(W)
            total = term if total is None else total + term
        if total is None:
            from glassnet.dtypes import get_default_dtype

            return Tensor(np.zeros((), dtype=get_default_dtype()))
        return total * self.lam

    def __repr__(self) -> str:
        args = [f"{f}={getattr(self, f)}" for f in self._fields]
        if self.include_bias:
            args.append("include_bias=True")
        return f"{type(self).__name__}({', '.join(args)})"


class L2(Regularizer):
    """Squared L2 penalty lam * sum W^2 (gradient 2 lam W).

    >>> import glassnet as gn
    >>> W = gn.tensor([[1.0, -2.0]], requires_grad=True)
    >>> L2(0.5)([W]).item()
    2.5
    """

    def penalty(self, W: Tensor) -> Tensor:
        return (W * W).sum()


class L1(Regularizer):
    """L1 penalty lam * sum |W| (gradient lam sign(W), 0 at W = 0)."""

    def penalty(self, W: Tensor) -> Tensor:
        return W.abs().sum()


class ElasticNet(Regularizer):
    """Elastic net lam * sum (beta W^2 + |W|), the lecture's form.

    Gradient: lam (2 beta W + sign(W)), with |x|'(0) = 0.
    """

    _fields = ("lam", "beta")

    def __init__(self, lam: float, beta: float, include_bias: bool = False) -> None:
        super().__init__(lam, include_bias)
        self.beta = _check_nonneg(beta, "beta", type(self).__name__)

    def penalty(self, W: Tensor) -> Tensor:
        return (W * W).sum() * self.beta + W.abs().sum()


class MaxNorm:
    """Max-norm constraint: rescale each row of every 2-D weight to L2 norm <= c.

    Row i of ``weight`` (shape (out, in)) holds unit i's incoming weights; rows with
    norm > c become W_i * c / ||W_i||, the others are untouched. Applied in place under
    ``no_grad`` after an optimizer step (``optimizer(..., constraints=[MaxNorm(c)])``
    or by hand: ``MaxNorm(3.0)(model.parameters())``). Parameters with other than two
    axes are left alone.

    Equivalent: ``torch.renorm(W, p=2, dim=0, maxnorm=c)`` (which scales by
    c / (norm + 1e-7); here the scale is exactly c / norm).
    """

    def __init__(self, c: float) -> None:
        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
            raise TypeError(f"MaxNorm: c must be a number, got {c!r}")
        if not np.isfinite(c) or c <= 0:
            raise ValueError(f"MaxNorm: c must be a finite number > 0, got {c}")
        self.c = float(c)

    def apply(self, params: Any) -> None:
        """Project every 2-D parameter of ``params`` (iterable or Module) in place."""
        with no_grad():
            for W in _params(params, True, "MaxNorm"):
                if W.ndim != 2:
                    continue
                a = W.data
                norms = np.sqrt((a * a).sum(axis=1, keepdims=True))
                over = norms > self.c
                if over.any():
                    scale = np.where(over, self.c / np.where(over, norms, 1.0), 1.0)
                    a *= scale.astype(a.dtype, copy=False)

    def __call__(self, params: Any) -> None:
        self.apply(params)

    def __repr__(self) -> str:
        return f"MaxNorm(c={self.c})"
