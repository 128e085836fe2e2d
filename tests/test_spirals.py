"""End to end: an MLP built from glassnet.nn fits two interleaved spirals.

Only Tensor primitives, the layers and a plain gradient-descent loop are used (the loss
and optimizer modules are tested on their own): the loss is the softmax log-likelihood
written out, -log softmax(s)_y averaged over the samples.
"""

from __future__ import annotations

import numpy as np

import glassnet as gn
from glassnet import nn


def two_spirals(
    n: int, rng: np.random.Generator, turns: float = 1.5, noise: float = 0.02
) -> tuple[np.ndarray, np.ndarray]:
    """n points on each of two interleaved spiral arms (class 0 and 1), radius <= 1.

    Arm k at angle t + k*pi and radius t / (2 pi turns); t is drawn so that the points
    are evenly spread along the arms.
    """
    t_max = 2 * np.pi * turns
    t = np.sqrt(rng.uniform(0, 1, n)) * t_max
    arms = []
    for k in (0, 1):
        angle = t + k * np.pi
        arms.append(np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / t_max)
    X = np.concatenate(arms) + noise * rng.standard_normal((2 * n, 2))
    return X.astype(np.float32), np.repeat([0, 1], n)


def test_two_spirals_generator_interleaves(rng: np.random.Generator) -> None:
    X, y = two_spirals(100, rng, noise=0.0)
    assert X.shape == (200, 2) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [100, 100]
    assert np.abs(X).max() <= 1.0
    # the arms are point reflections of each other: no linear separation
    centroid = [X[y == k].mean(0) for k in (0, 1)]
    assert np.linalg.norm(centroid[0] - centroid[1]) < 0.3


def test_mlp_fits_two_spirals(rng: np.random.Generator) -> None:
    X, y = two_spirals(200, rng)
    n = len(y)
    net = nn.MLP(2, [64, 64], 2, activation="relu", generator=rng)
    x = gn.tensor(X)
    rows = np.arange(n)
    lr = 0.5
    first = None
    for _ in range(1000):
        loss = (-net(x).log_softmax(1)[rows, y]).mean()
        first = loss.item() if first is None else first
        net.zero_grad()
        loss.backward()
        with gn.no_grad():
            for p in net.parameters():
                p.data -= lr * p.grad.data
    net.eval()
    accuracy = (net(x).data.argmax(axis=1) == y).mean()
    assert loss.item() < 0.25 * first
    assert accuracy >= 0.95, f"training accuracy {accuracy:.3f}"
