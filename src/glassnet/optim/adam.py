"""Adam and AdamW: moving averages of the gradient and of its square, bias-corrected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from glassnet.ops.kernels import flat
from glassnet.optim.optimizer import (
    Constraint,
    Optimizer,
    check_bool,
    check_number,
    decayed_grad,
    lerp_,
)
from glassnet.tensor import Tensor

__all__ = ["Adam", "AdamW", "adam_update"]


def adam_update(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None = None,
    *,
    step: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
    scratch: Sequence[np.ndarray] | None = None,
) -> None:
    """One Adam (or AdamW) step on arrays, in place: ``param`` and the moments change.

    Update at step t = 1, 2, ... (``step``), with g the gradient::

        g <- -g                                   if maximize
        param <- param * (1 - lr * weight_decay)  if decoupled_weight_decay (AdamW)
        g <- g + weight_decay * param             otherwise (Adam's L2 decay)
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g^2
        v_max <- max(v_max, v);  v_hat <- v_max   if amsgrad,  else v_hat <- v
        param <- param - (lr / (1 - beta1^t)) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)

    (m = ``exp_avg``, v = ``exp_avg_sq``, v_max = ``max_exp_avg_sq``, all starting at
    zeros; m is updated as ``torch.lerp``.) ``grad`` is read only; ``scratch`` is 2 work
    arrays shaped like ``param`` (allocated when None).

    Equivalent: ``torch.optim.Adam`` (``decoupled_weight_decay=False``) and
    ``torch.optim.AdamW`` (True).
    """
    tmp, tmp2 = scratch if scratch is not None else (np.empty_like(param), np.empty_like(param))
    if decoupled_weight_decay:
        if weight_decay != 0:
            param *= 1.0 - lr * weight_decay
        g = decayed_grad(param, grad, 0.0, maximize, tmp)
    else:
        g = decayed_grad(param, grad, weight_decay, maximize, tmp)
    lerp_(exp_avg, g, 1.0 - beta1, tmp2)
    exp_avg_sq *= beta2
    sq = np.multiply(g, 1.0 - beta2, out=tmp2)
    sq *= g
    exp_avg_sq += sq
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2**0.5
    if amsgrad:
        if max_exp_avg_sq is None:
            raise ValueError("adam_update: amsgrad=True needs a max_exp_avg_sq array")
        v_hat = np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    else:
        v_hat = exp_avg_sq
    denom = np.sqrt(v_hat, out=tmp2)
    denom /= bias_correction2_sqrt
    denom += eps
    upd = np.multiply(exp_avg, -step_size, out=tmp)
    upd /= denom
    param += upd


class Adam(Optimizer):
    """Adam: bias-corrected moving averages of the gradient (m) and its square (v).

    State per parameter: ``step`` (int), ``exp_avg``, ``exp_avg_sq`` and, with amsgrad,
    ``max_exp_avg_sq``. The update is ``adam_update``'s.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters or parameter groups.
    lr : float
        Learning rate >= 0.
    betas : (float, float)
        Decay rates (beta1, beta2) of m and v, each in [0, 1).
    eps : float
        Added to the root of v in the denominator.
    weight_decay : float
        Adds ``weight_decay * param`` to the gradient (coupled L2 decay); with
        ``decoupled_weight_decay=True`` shrinks the parameter instead, as ``AdamW``.
    amsgrad : bool
        Normalize by the running maximum of v (AMSGrad).
    maximize : bool
        Ascend instead of descend.
    decoupled_weight_decay : bool
        Use AdamW's decoupled decay.
    constraints : sequence of Constraint, optional
        Applied after every step.

    Equivalent: ``torch.optim.Adam`` (same arguments and defaults).
    """

    _scratch_slots = 2
    _decoupled = False  # AdamW: always decoupled, whatever the group says

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        constraints: Sequence[Constraint] | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults, constraints=constraints)

    def _validate_group(self, group: dict[str, Any], where: str) -> None:
        super()._validate_group(group, where)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas{where} must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = (
            check_number("betas[0]", betas[0], low=0.0, high=1.0, high_open=True, where=where),
            check_number("betas[1]", betas[1], low=0.0, high=1.0, high_open=True, where=where),
        )
        group["eps"] = check_number("eps", group["eps"], low=0.0, where=where)
        group["weight_decay"] = check_number(
            "weight_decay", group["weight_decay"], low=0.0, where=where
        )
        group["amsgrad"] = check_bool("amsgrad", group["amsgrad"], where)
        if "decoupled_weight_decay" in self.defaults:
            group["decoupled_weight_decay"] = check_bool(
                "decoupled_weight_decay", group["decoupled_weight_decay"], where
            )

    def _update_group(
        self, group: dict[str, Any], items: list[tuple[Tensor, np.ndarray, np.ndarray]]
    ) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = self._decoupled or group["decoupled_weight_decay"]
        state = self.state
        for p, pd, gd in items:
            st = state.get(p)
            if not st:
                st = state[p] = {
                    "step": 0,
                    "exp_avg": np.zeros_like(pd),
                    "exp_avg_sq": np.zeros_like(pd),
                }
            if amsgrad and "max_exp_avg_sq" not in st:
                st["max_exp_avg_sq"] = np.zeros_like(pd)
            st["step"] += 1
            views = (None if self._kernels is None or amsgrad or maximize
                     else flat(pd, gd, st["exp_avg"], st["exp_avg_sq"]))
            if views is not None:  # adam_update's steps fused into one pass (numba)
                t = pd.dtype.type
                w1 = 1.0 - beta1
                step = st["step"]
                self._kernels.adam(
                    *views, t(1.0 - lr * wd if decoupled and wd != 0 else 1.0),
                    t(0.0 if decoupled else wd), t(w1 if abs(w1) < 0.5 else 1.0 - w1),
                    abs(w1) < 0.5, t(beta2), t(1.0 - beta2), t((1 - beta2**step) ** 0.5),
                    t(eps), t(-(lr / (1 - beta1**step))),
                )
                continue
            blocks = self._blocks(
                pd, gd, st["exp_avg"], st["exp_avg_sq"], st.get("max_exp_avg_sq")
            )
            for bp, bg, bm, bv, bvmax in blocks:
                adam_update(
                    bp, bg, bm, bv, bvmax, step=st["step"], lr=lr, beta1=beta1, beta2=beta2,
                    eps=eps, weight_decay=wd, amsgrad=amsgrad, maximize=maximize,
                    decoupled_weight_decay=decoupled, scratch=self._scratch(bp),
                )


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay.

    Before the Adam step every parameter shrinks, ``param <- param * (1 - lr *
    weight_decay)``; the decay never enters m or v (in Adam it is added to the gradient
    and then divided by sqrt(v), so weights with large gradients are barely decayed).

    Parameters are Adam's, with ``weight_decay`` defaulting to 1e-2 and no
    ``decoupled_weight_decay`` (it is always on; the groups do not carry the flag, so
    every group key is a constructor argument).

    Equivalent: ``torch.optim.AdamW`` (same arguments and defaults).
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        constraints: Sequence[Constraint] | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        Optimizer.__init__(self, params, defaults, constraints=constraints)
