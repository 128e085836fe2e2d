"""Feature-space transformation (LECTURE.md section 1): points on two circles are not
linearly separable, but become separable once every square and pairwise product is
added as a feature (``QuadraticFeatures``).

Run: python examples/feature_space.py
"""

from __future__ import annotations

import numpy as np

import glassnet as gn


def train_accuracy(model: gn.nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    opt = gn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    h = gn.fit(model, gn.losses.softmax_log_likelihood, opt, (X, y), epochs=100,
               batch_size=len(X), rng=0, verbose=0)
    return h.train_accuracy[-1]


def main() -> tuple[float, float]:
    gn.manual_seed(0)
    X, y = gn.data.two_circles(400, noise=0.05, rng=0)
    linear = train_accuracy(gn.models.LinearClassifier(2, 2), X, y)
    quadratic = train_accuracy(
        gn.nn.Sequential(gn.models.QuadraticFeatures(2), gn.nn.Linear(5, 2)), X, y
    )
    print(f"linear classifier on (x1, x2):              {linear:.1%} training accuracy")
    print(f"linear classifier on quadratic features:    {quadratic:.1%} training accuracy")
    return linear, quadratic


if __name__ == "__main__":
    main()
