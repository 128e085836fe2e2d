"""AdaGrad: per-coordinate step sizes from the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from glassnet.optim.optimizer import Constraint, Optimizer, check_number, decayed_grad
from glassnet.tensor import Tensor

__all__ = ["AdaGrad", "Adagrad", "adagrad_update"]


def adagrad_update(
    param: np.ndarray,
    grad: np.ndarray,
    state_sum: np.ndarray,
    *,
    step: int,
    lr: float,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
    scratch: Sequence[np.ndarray] | None = None,
) -> None:
    """One AdaGrad step on arrays, in place: ``param`` and ``state_sum`` change.

    Update at step t = 1, 2, ... (``step``), with g the gradient::

        g <- -g                              if maximize
        g <- g + weight_decay * param
        clr <- lr / (1 + (t - 1) * lr_decay)
        sum <- sum + g * g
        param <- param - clr * g / (sqrt(sum) + eps)

    ``grad`` is read only; ``scratch`` is 2 work arrays shaped like ``param``
    (allocated when None).

    Equivalent: ``torch.optim.Adagrad``.
    """
    tmp, tmp2 = scratch if scratch is not None else (np.empty_like(param), np.empty_like(param))
    g = decayed_grad(param, grad, weight_decay, maximize, tmp)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += np.multiply(g, g, out=tmp2)
    std = np.sqrt(state_sum, out=tmp2)
    std += eps
    upd = np.multiply(g, -clr, out=tmp)
    upd /= std
    param += upd


class AdaGrad(Optimizer):
    """AdaGrad: divide each coordinate's step by the root of its summed squared gradients.

    State per parameter: ``step`` (int) and ``sum`` (the accumulator, starting at
    ``initial_accumulator_value``). The update is ``adagrad_update``'s.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters or parameter groups.
    lr : float
        Learning rate >= 0.
    lr_decay : float
        The step size at step t is lr / (1 + (t - 1) * lr_decay).
    weight_decay : float
        Adds ``weight_decay * param`` to the gradient.
    initial_accumulator_value : float
        Starting value of ``sum`` (>= 0).
    eps : float
        Added to sqrt(sum) in the denominator.
    maximize : bool
        Ascend instead of descend.
    constraints : sequence of Constraint, optional
        Applied after every step.

    Equivalent: ``torch.optim.Adagrad`` (same arguments and defaults); ``Adagrad`` is an
    alias of this class.
    """

    _scratch_slots = 2

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        constraints: Sequence[Constraint] | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults, constraints=constraints)

    def _validate_group(self, group: dict[str, Any], where: str) -> None:
        super()._validate_group(group, where)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            group[name] = check_number(name, group[name], low=0.0, where=where)

    def _update_group(
        self, group: dict[str, Any], items: list[tuple[Tensor, np.ndarray, np.ndarray]]
    ) -> None:
        lr, lr_decay, wd = group["lr"], group["lr_decay"], group["weight_decay"]
        eps, maximize = group["eps"], group["maximize"]
        state = self.state
        for p, pd, gd in items:
            st = state.get(p)
            if not st:
                st = state[p] = {
                    "step": 0,
                    "sum": np.full_like(pd, group["initial_accumulator_value"]),
                }
            st["step"] += 1
            for bp, bg, bs in self._blocks(pd, gd, st["sum"]):
                adagrad_update(
                    bp, bg, bs, step=st["step"], lr=lr, lr_decay=lr_decay,
                    weight_decay=wd, eps=eps, maximize=maximize, scratch=self._scratch(bp),
                )


Adagrad = AdaGrad
