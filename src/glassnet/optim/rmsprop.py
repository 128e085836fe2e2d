"""RMSProp: per-coordinate step sizes from a moving average of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from glassnet.optim.optimizer import (
    Constraint,
    Optimizer,
    check_bool,
    check_number,
    decayed_grad,
    lerp_,
)
from glassnet.tensor import Tensor

__all__ = ["RMSProp", "RMSprop", "rmsprop_update"]


def rmsprop_update(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    grad_avg: np.ndarray | None = None,
    momentum_buffer: np.ndarray | None = None,
    *,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
    scratch: Sequence[np.ndarray] | None = None,
) -> None:
    """One RMSProp step on arrays, in place: ``param`` and the state arrays change.

    Update, with g the gradient (v = ``square_avg``, m = ``grad_avg``, b = buffer)::

        g <- -g                              if maximize
        g <- g + weight_decay * param
        v <- alpha * v + (1 - alpha) * g^2
        if centered:  m <- alpha * m + (1 - alpha) * g;   avg <- sqrt(v - m^2) + eps
        else:                                              avg <- sqrt(v) + eps
        if momentum > 0:  b <- momentum * b + g / avg;    param <- param - lr * b
        else:                                              param <- param - lr * g / avg

    ``grad_avg`` is needed when centered and ``momentum_buffer`` when momentum > 0
    (both start at zeros). ``grad`` is read only; ``scratch`` is 2 work arrays shaped
    like ``param`` (allocated when None).

    Equivalent: ``torch.optim.RMSprop`` (m is updated as ``torch.lerp``).
    """
    tmp, tmp2 = scratch if scratch is not None else (np.empty_like(param), np.empty_like(param))
    g = decayed_grad(param, grad, weight_decay, maximize, tmp)
    square_avg *= alpha
    sq = np.multiply(g, 1.0 - alpha, out=tmp2)
    sq *= g
    square_avg += sq
    if centered:
        if grad_avg is None:
            raise ValueError("rmsprop_update: centered=True needs a grad_avg array")
        lerp_(grad_avg, g, 1.0 - alpha, tmp2)
        avg = np.multiply(grad_avg, grad_avg, out=tmp2)
        np.subtract(square_avg, avg, out=avg)
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(square_avg, out=tmp2)
    avg += eps
    if momentum > 0:
        if momentum_buffer is None:
            raise ValueError("rmsprop_update: momentum > 0 needs a momentum_buffer array")
        momentum_buffer *= momentum
        momentum_buffer += np.divide(g, avg, out=avg)
        upd = np.multiply(momentum_buffer, -lr, out=tmp)
    else:
        upd = np.multiply(g, -lr, out=tmp)
        upd /= avg
    param += upd


class RMSProp(Optimizer):
    """RMSProp: divide each step by the root of a moving average of squared gradients.

    State per parameter: ``step`` (int), ``square_avg``, and ``momentum_buffer``
    (momentum > 0) and ``grad_avg`` (centered), all starting at zeros. The update is
    ``rmsprop_update``'s.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters or parameter groups.
    lr : float
        Learning rate >= 0.
    alpha : float
        Smoothing constant of the moving averages (>= 0).
    eps : float
        Added to the root in the denominator.
    weight_decay : float
        Adds ``weight_decay * param`` to the gradient.
    momentum : float
        Momentum factor >= 0 on the normalized step.
    centered : bool
        Normalize by the estimated variance (v - m^2) instead of the second moment.
    maximize : bool
        Ascend instead of descend.
    constraints : sequence of Constraint, optional
        Applied after every step.

    Equivalent: ``torch.optim.RMSprop`` (same arguments and defaults); ``RMSprop`` is an
    alias of this class.
    """

    _scratch_slots = 2

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
        constraints: Sequence[Constraint] | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults, constraints=constraints)

    def _validate_group(self, group: dict[str, Any], where: str) -> None:
        super()._validate_group(group, where)
        for name in ("alpha", "eps", "weight_decay", "momentum"):
            group[name] = check_number(name, group[name], low=0.0, where=where)
        group["centered"] = check_bool("centered", group["centered"], where)

    def _update_group(
        self, group: dict[str, Any], items: list[tuple[Tensor, np.ndarray, np.ndarray]]
    ) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        state = self.state
        for p, pd, gd in items:
            st = state.get(p)
            if not st:
                st = state[p] = {"step": 0, "square_avg": np.zeros_like(pd)}
            if momentum > 0 and "momentum_buffer" not in st:
                st["momentum_buffer"] = np.zeros_like(pd)
            if centered and "grad_avg" not in st:
                st["grad_avg"] = np.zeros_like(pd)
            st["step"] += 1
            blocks = self._blocks(
                pd, gd, st["square_avg"], st.get("grad_avg"), st.get("momentum_buffer")
            )
            for bp, bg, bv, bm, bb in blocks:
                rmsprop_update(
                    bp, bg, bv, bm, bb, lr=lr, alpha=alpha, eps=eps, weight_decay=wd,
                    momentum=momentum, centered=centered, maximize=maximize,
                    scratch=self._scratch(bp),
                )


RMSprop = RMSProp
