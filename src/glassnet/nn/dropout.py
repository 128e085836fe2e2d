"""``Dropout`` and ``Dropout2d``: inverted dropout, identity in evaluation mode."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.nn.functional import _check_p, dropout, dropout2d, dropout_mask
from glassnet.nn.module import Module
from glassnet.random import get_generator
from glassnet.tensor import Tensor

__all__ = ["Dropout", "Dropout2d"]


class Dropout(Module):
    """Zero each input entry with probability p in training, scale the rest by 1/(1-p).

    Parameters
    ----------
    p : float
        Drop probability, in [0, 1).
    generator : numpy.random.Generator or int, optional
        Source of the masks (glassnet's default generator if None). Not part of the
        config.

    The boolean keep-mask of the last training forward is kept in ``last_mask`` (None
    in evaluation mode), so a test can apply the same mask elsewhere. Evaluation mode
    returns the input unchanged: the scaling in training keeps the expectation equal.

    Equivalent: ``torch.nn.Dropout(p)``; given the mask, ``x * mask / (1 - p)``.
    """

    def __init__(self, p: float = 0.5, generator: Any = None) -> None:
        super().__init__()
        self.p = _check_p(p, "Dropout", allow_one=False)
        # An int seed becomes one generator now, so that successive masks differ; None
        # keeps following glassnet's default generator (``manual_seed``).
        self.generator = None if generator is None else get_generator(generator)
        self.last_mask: np.ndarray | None = None

    def forward(self, x: Any) -> Tensor:
        if not self.training or self.p == 0.0:
            self.last_mask = None
            return dropout(x, self.p, training=False)
        self.last_mask = dropout_mask(np.shape(getattr(x, "data", x)), self.p, self.generator)
        return dropout(x, self.p, training=True, mask=self.last_mask)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def get_config(self) -> dict[str, Any]:
        return self._config(p=self.p)


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) input with probability p, scale the rest.

    One keep-decision per (sample, channel), shape (N, C, 1, 1), kept in ``last_mask``:
    neighbouring pixels of a feature map are strongly correlated, so dropping single
    pixels would hardly regularise a convolutional layer.

    Equivalent: ``torch.nn.Dropout2d(p)`` on 4-D input.
    """

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(getattr(x, "data", x))
        if len(shape) != 4:
            raise ValueError(f"Dropout2d expects input of shape (N, C, H, W), got {shape}")
        if not self.training or self.p == 0.0:
            self.last_mask = None
            return dropout2d(x, self.p, training=False)
        self.last_mask = dropout_mask(shape[:2] + (1, 1), self.p, self.generator)
        return dropout2d(x, self.p, training=True, mask=self.last_mask)
