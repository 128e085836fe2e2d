"""``MLP``: the lecture's deep network, layers of linear classifiers and activations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from glassnet.nn.activation import ReLU
from glassnet.nn.activation import activation as _activation
from glassnet.nn.container import Sequential
from glassnet.nn.dropout import Dropout
from glassnet.nn.functional import linear_relu
from glassnet.nn.linear import INITS, Linear, _check_features
from glassnet.nn.module import Module
from glassnet.nn.normalization import BatchNorm1d
from glassnet.random import get_generator

__all__ = ["MLP"]


class MLP(Sequential):
    """Multilayer perceptron: [Linear, (BatchNorm1d), activation, (Dropout)] per hidden
    layer, then a final Linear producing the scores.

    Parameters
    ----------
    in_features : int
        D, the input size.
    hidden_sizes : sequence of int
        The width of each hidden layer (may be empty: a linear classifier).
    out_features : int
        C, the number of outputs (class scores).
    activation : str
        relu, leaky_relu, sigmoid, tanh, softplus or identity.
    dropout : float
        Drop probability after each hidden activation (no Dropout layer when 0).
    batch_norm : bool
        Put a BatchNorm1d between each hidden Linear and its activation.
    bias, init, dtype
        Passed to every Linear (see ``Linear``).
    generator : numpy.random.Generator or int, optional
        Draws every initial weight, layer after layer, and the dropout masks
        (glassnet's default generator if None).

    The layers are this Sequential's children ``0``, ``1``, ... as in PyTorch, e.g.
    ``MLP(2, [16], 3)`` has parameters ``0.weight``, ``0.bias``, ``2.weight``, ``2.bias``.

    Equivalent: ``torch.nn.Sequential(Linear, ReLU, ..., Linear)``, or
    ``torchvision.ops.MLP`` without its final activation.

    >>> from glassnet import nn
    >>> nn.MLP(2, [16], 3)
    MLP(
      (0): Linear(in_features=2, out_features=16, bias=True)
      (1): ReLU()
      (2): Linear(in_features=16, out_features=3, bias=True)
    )
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: Sequence[int],
        out_features: int,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        bias: bool = True,
        init: str = "default",
        generator: Any = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(hidden_sizes, (int, np.integer)) or not isinstance(hidden_sizes, Sequence):
            raise TypeError(
                f"MLP: hidden_sizes must be a sequence of ints (e.g. [64, 64]), "
                f"got {hidden_sizes!r}"
            )
        sizes = [_check_features(in_features, "in_features")]
        sizes += [_check_features(h, "hidden size") for h in hidden_sizes]
        out = _check_features(out_features, "out_features")
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}; got {init!r}")
        _activation(activation)  # validates the name
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not (
            0.0 <= dropout < 1.0
        ):
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout!r}")
        gen = get_generator(generator)
        layers: list[Module] = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            layers.append(Linear(d_in, d_out, bias, init, gen, dtype))
            if batch_norm:
                layers.append(BatchNorm1d(d_out, dtype=dtype))
            layers.append(_activation(activation))
            if dropout > 0:
                layers.append(Dropout(dropout, generator=None if generator is None else gen))
        layers.append(Linear(sizes[-1], out, bias, init, gen, dtype))
        super().__init__(*layers)
        self.in_features = sizes[0]
        self.hidden_sizes = sizes[1:]
        self.out_features = out
        self.activation = activation
        self.dropout = float(dropout)
        self.batch_norm = bool(batch_norm)
        self.bias = bias
        self.init = init

    def forward(self, x: Any) -> Any:
        """The layers in order, each Linear directly followed by a ReLU run as one fused
        node (``functional.linear_relu``: the same values and gradients, one array and one
        node less per hidden layer)."""
        layers = list(self._items.values())
        i, n = 0, len(layers)
        while i < n:
            m = layers[i]
            if i + 1 < n and type(m) is Linear and type(layers[i + 1]) is ReLU:
                x = linear_relu(x, m.weight, m.bias)
                i += 2
            else:
                x = m(x)
                i += 1
        return x

    def get_config(self) -> dict[str, Any]:
        return self._config(
            in_features=self.in_features,
            hidden_sizes=list(self.hidden_sizes),
            out_features=self.out_features,
            activation=self.activation,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            bias=self.bias,
            init=self.init,
            dtype=self[0].weight.dtype,
        )

    @classmethod
    def _from_kwargs(cls, kwargs: dict[str, Any]) -> Module:
        return cls(**kwargs)
