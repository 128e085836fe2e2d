"""``Residual``: x + branch(x), with stochastic depth."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.autograd.tape import effect, forbid_recording
from glassnet.nn.functional import _check_p, _draw_keep, stochastic_depth
from glassnet.nn.module import Module
from glassnet.tensor import Tensor

__all__ = ["Residual"]


class Residual(Module):
    """Residual block with stochastic depth: out = x + keep / (1 - p) * branch(x).

    Parameters
    ----------
    branch : Module
        The residual function F; its output must have x's shape.
    p_drop : float
        Probability, in [0, 1], that the branch is dropped in training.
    mode : {"batch", "row"}
        ``"batch"``: one draw per forward, the branch kept or dropped for the whole
        batch (as in the stochastic depth paper; a dropped branch is not computed at
        all). ``"row"``: one draw per sample (axis 0).
    generator : numpy.random.Generator or int, optional
        Source of the draws (glassnet's default generator if None). Not in the config.

    Training: keep ~ Bernoulli(1 - p_drop), and the kept branch is scaled by
    1 / (1 - p_drop) so that its expectation is unchanged (torchvision's convention);
    ``last_mask`` holds the last draw (shape (1, ..., 1) or (N, 1, ..., 1)).
    Evaluation: out = x + branch(x) (identity scaling).

    Equivalent: ``x + torchvision.ops.stochastic_depth(branch(x), p_drop, mode,
    training)``.
    """

    def __init__(
        self, branch: Module, p_drop: float = 0.0, mode: str = "batch", generator: Any = None
    ) -> None:
        super().__init__()
        if not isinstance(branch, Module):
            raise TypeError(f"Residual: branch must be a Module, got {type(branch).__name__}")
        if mode not in ("batch", "row"):
            raise ValueError(f"Residual: mode must be 'batch' or 'row', got {mode!r}")
        self.branch = branch
        self.p_drop = _check_p(p_drop, "Residual", allow_one=True)
        self.mode = mode
        self.generator = generator
        self.last_mask: np.ndarray | None = None

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.training or self.p_drop == 0.0:
            self.last_mask = None
            return x + self.branch(x)
        shape = (x.shape[0],) + (1,) * (x.ndim - 1) if self.mode == "row" else (1,) * x.ndim
        if self.mode == "batch":  # which program runs depends on the draw
            forbid_recording("Residual with stochastic depth in mode 'batch' skips its "
                             "branch at random; use mode='row'")
        mask = effect(_draw_keep, shape, self.p_drop, self.generator)
        self.last_mask = mask
        if self.mode == "batch" and not mask.any():
            return x
        return x + stochastic_depth(
            self.branch(x), self.p_drop, self.mode, training=True, mask=mask
        )

    def extra_repr(self) -> str:
        return f"p_drop={self.p_drop}, mode={self.mode!r}"

    def get_config(self) -> dict[str, Any]:
        return self._config(branch=self.branch, p_drop=self.p_drop, mode=self.mode)
