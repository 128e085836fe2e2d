"""Gradient descent: ``GD`` (the lecture's full-batch update) and ``SGD`` (with momentum)."""

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
)
from glassnet.tensor import Tensor

__all__ = ["GD", "SGD", "sgd_update"]


def sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    momentum_buffer: np.ndarray | None,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    maximize: bool = False,
    scratch: Sequence[np.ndarray] | None = None,
) -> np.ndarray | None:
    """One SGD step on arrays, in place: ``param`` (and the momentum buffer) change.

    Update, with g the gradient::

        g <- -g                            if maximize
        g <- g + weight_decay * param      (L2 decay, PyTorch's convention)
        if momentum != 0:
            b <- g                                  on the first step (b is None)
            b <- momentum * b + (1 - dampening) * g on later steps
            g <- g + momentum * b    if nesterov,   else g <- b
        param <- param - lr * g

    Parameters
    ----------
    param : ndarray
        Updated in place.
    grad : ndarray
        The gradient dL/dparam, same shape; read only (never written).
    momentum_buffer : ndarray or None
        The velocity b from the previous step, updated in place; None on the first step.
    scratch : sequence of 2 ndarrays, optional
        Work arrays shaped like ``param`` (overwritten); allocated when None.

    Returns
    -------
    ndarray or None
        The momentum buffer to pass next time (a new array on the first step), or None
        when ``momentum == 0``.

    Equivalent: ``torch.optim.SGD`` (same arguments, same order of operations).
    """
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(
            f"Nesterov momentum needs momentum > 0 and dampening = 0, got momentum={momentum!r}, "
            f"dampening={dampening!r}"
        )
    tmp, tmp2 = scratch if scratch is not None else (np.empty_like(param), np.empty_like(param))
    g = decayed_grad(param, grad, weight_decay, maximize, tmp)
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = g.copy(order="K")  # in the parameter's memory layout
        else:
            momentum_buffer *= momentum
            if dampening == 0:
                momentum_buffer += g
            else:  # nesterov is off here, so g may be overwritten
                momentum_buffer += np.multiply(g, 1.0 - dampening, out=tmp)
        if nesterov:
            free = tmp2 if g is tmp else tmp
            np.multiply(momentum_buffer, momentum, out=free)
            free += g
            g = free
        else:
            g = momentum_buffer
    step = g if (g is tmp or g is tmp2) else tmp
    np.multiply(g, -lr, out=step)
    param += step
    return momentum_buffer


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

    The update is ``sgd_update``'s; each parameter's state is its ``momentum_buffer``
    (only when momentum != 0). On a minibatch gradient this is the lecture's minibatch
    SGD; on a full-batch gradient with ``momentum=0`` it is plain gradient descent (``GD``).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters or parameter groups (see ``Optimizer``).
    lr : float
        Learning rate (step size) alpha >= 0. Default 1e-3, as PyTorch.
    momentum : float
        Momentum factor >= 0.
    dampening : float
        Dampening for momentum: the new gradient enters the buffer times (1 - dampening).
    weight_decay : float
        Adds ``weight_decay * param`` to the gradient (PyTorch's convention; the
        lecture's ``L2(lam)`` penalty equals ``weight_decay = 2 * lam``).
    nesterov : bool
        Nesterov momentum (needs momentum > 0 and dampening = 0).
    maximize : bool
        Ascend the objective instead of descending.
    constraints : sequence of Constraint, optional
        Applied after every step (e.g. ``MaxNorm``).

    Equivalent: ``torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov,
    maximize=maximize)``.

    Examples
    --------
    >>> import numpy as np
    >>> from glassnet.nn.parameter import Parameter
    >>> from glassnet.optim import SGD
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.data
    array([ 0.8, -1.6])
    """

    _scratch_slots = 2

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        constraints: Sequence[Constraint] | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults, constraints=constraints)

    def _validate_group(self, group: dict[str, Any], where: str) -> None:
        super()._validate_group(group, where)
        group["momentum"] = check_number("momentum", group["momentum"], low=0.0, where=where)
        group["dampening"] = check_number("dampening", group["dampening"], where=where)
        group["weight_decay"] = check_number(
            "weight_decay", group["weight_decay"], low=0.0, where=where
        )
        group["nesterov"] = check_bool("nesterov", group["nesterov"], where)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"Nesterov momentum needs momentum > 0 and dampening = 0{where}, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update_group(
        self, group: dict[str, Any], items: list[tuple[Tensor, np.ndarray, np.ndarray]]
    ) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov, wd, maximize = group["nesterov"], group["weight_decay"], group["maximize"]
        state = self.state
        plain_momentum = momentum != 0 and dampening == 0 and not (nesterov or wd or maximize)
        for p, pd, gd in items:
            st = state.get(p)
            buf = st.get("momentum_buffer") if st is not None else None
            if momentum != 0 and buf is None:  # first step: the buffer starts as g
                buf = sgd_update(
                    pd, gd, None, lr=lr, momentum=momentum, dampening=dampening,
                    nesterov=nesterov, weight_decay=wd, maximize=maximize,
                )
                if st is None:
                    state[p] = {"momentum_buffer": buf}
                else:
                    st["momentum_buffer"] = buf
                continue
            if plain_momentum:
                # sgd_update's steps for momentum alone (b <- m b + g; p <- p - lr b),
                # written out for the common case; the tests hold it to sgd_update.
                views = None if self._kernels is None else flat(pd, gd, buf)
                if views is not None:  # the same steps fused into one pass (numba)
                    t = pd.dtype.type
                    self._kernels.sgd_momentum(*views, t(-lr), t(momentum))
                    continue
                for bp, bg, bb in self._blocks(pd, gd, buf):
                    tmp = self._scratch(bp)[0]
                    bb *= momentum
                    bb += bg
                    np.multiply(bb, -lr, out=tmp)
                    bp += tmp
                continue
            for bp, bg, bb in self._blocks(pd, gd, buf):
                sgd_update(
                    bp, bg, bb, lr=lr, momentum=momentum, dampening=dampening,
                    nesterov=nesterov, weight_decay=wd, maximize=maximize,
                    scratch=self._scratch(bp),
                )


class GD(Optimizer):
    """Gradient descent, the lecture's update ``W <- W - alpha * dL/dW``.

    This is SGD without momentum; it is *full-batch* gradient descent when the loss
    whose gradient is in ``.grad`` averages over the whole training set (the lecture's
    (1/N) sum over all N examples), and minibatch SGD when it averages over a minibatch.
    It keeps no state.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters or parameter groups.
    lr : float
        The step size alpha >= 0 (required).
    weight_decay : float
        Adds ``weight_decay * W`` to the gradient (PyTorch's convention).
    maximize : bool
        Gradient ascent.
    constraints : sequence of Constraint, optional
        Applied after every step.

    Equivalent: ``torch.optim.SGD(params, lr)`` applied to a full-batch loss.

    Examples
    --------
    The lecture's f(x) = x^2 - 4x + 3 has its minimum at x = 2:

    >>> import numpy as np
    >>> from glassnet.nn.parameter import Parameter
    >>> from glassnet.optim import GD
    >>> x = Parameter(np.array(0.0))
    >>> opt = GD([x], lr=0.1)
    >>> for _ in range(100):
    ...     opt.zero_grad()
    ...     (x * x - 4 * x + 3).backward()
    ...     opt.step()
    >>> round(float(x.data), 6)
    2.0
    """

    _scratch_slots = 1

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        *,
        weight_decay: float = 0.0,
        maximize: bool = False,
        constraints: Sequence[Constraint] | None = None,
    ) -> None:
        defaults = {"lr": lr, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults, constraints=constraints)

    def _validate_group(self, group: dict[str, Any], where: str) -> None:
        super()._validate_group(group, where)
        group["weight_decay"] = check_number(
            "weight_decay", group["weight_decay"], low=0.0, where=where
        )
        if group.get("momentum", 0) != 0:
            raise ValueError(
                f"GD has no momentum{where}, got momentum={group['momentum']!r}; use SGD"
            )

    def _update_group(
        self, group: dict[str, Any], items: list[tuple[Tensor, np.ndarray, np.ndarray]]
    ) -> None:
        lr, wd, maximize = group["lr"], group["weight_decay"], group["maximize"]
        for _, pd, gd in items:
            for bp, bg in self._blocks(pd, gd):
                tmp = self._scratch(bp)[0]
                sgd_update(bp, bg, None, lr=lr, weight_decay=wd, maximize=maximize,
                           scratch=(tmp, tmp))
