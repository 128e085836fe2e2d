"""Training helpers the data and optimization experiments share: an MLP trained by
``glassnet.fit`` and its accuracy and loss on a split. No maths of their own: the model,
loss, optimizer and training loop are glassnet's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def mlp(in_features: int, hidden: Sequence[int], classes: int, seed: int) -> Any:
    from glassnet import nn

    return nn.MLP(in_features, list(hidden), classes, generator=seed)


def train_mlp(X: np.ndarray, y: np.ndarray, classes: int, *, hidden: Sequence[int] = (128,),
              epochs: int = 5, batch_size: int = 64, lr: float = 1e-3, seed: int = 0) -> Any:
    """An MLP trained with Adam on the softmax loss (softmax + log-likelihood)."""
    from glassnet import losses, optim
    from glassnet.training import fit

    model = mlp(X.shape[1], hidden, classes, seed)
    fit(model, losses.softmax_log_likelihood, optim.Adam(model.parameters(), lr=lr), (X, y),
        epochs=epochs, batch_size=batch_size, rng=np.random.default_rng(seed), verbose=0)
    return model


def accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.metrics import accuracy as acc
    from glassnet.tensor import Tensor

    model.eval()
    with no_grad():
        return float(acc(model(Tensor(X)).data, y))


def mean_loss(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """The softmax loss over the whole split (the objective full-batch GD descends)."""
    from glassnet import losses
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.tensor import Tensor

    model.eval()
    with no_grad():
        return float(losses.softmax_log_likelihood(model(Tensor(X)), y).item())
