"""Gaussian kernel density estimation for 1-D and 2-D pictures."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.unsupervised._checks import (
    as_generator,
    check_data,
    check_features,
    check_fitted,
    check_positive_float,
)


class KernelDensity:
    """A Gaussian bump of width ``bandwidth`` on every training sample, averaged.

    Forward: log p(x) = logsumexp_i(-||x - x_i||^2 / (2 h^2)) - log N - (D/2) log(2 pi h^2),
    by log-sum-exp on row chunks. For D = 1 or 2 (density pictures).

    Parameters
    ----------
    bandwidth : float or {"scott", "silverman"}
        h; the rules of thumb use the data's mean standard deviation,
        h = sigma * N^(-1/(D+4)) (Scott) or sigma * (N (D+2) / 4)^(-1/(D+4)) (Silverman).

    Equivalent: ``sklearn.neighbors.KernelDensity(bandwidth=h, kernel="gaussian")``.

    >>> import numpy as np
    >>> kde = KernelDensity(1.0).fit(np.zeros((1, 1)))
    >>> round(float(np.exp(kde.score_samples(np.zeros((1, 1))))[0]), 6)  # 1 / sqrt(2 pi)
    0.398942
    """

    def __init__(self, bandwidth: float | str = 1.0) -> None:
        if not (isinstance(bandwidth, str) and bandwidth in ("scott", "silverman")):
            check_positive_float(bandwidth, "bandwidth", "KernelDensity")
        self.bandwidth = bandwidth
        self.bandwidth_: float | None = None
        self.X_: np.ndarray | None = None

    def fit(self, X: Any) -> KernelDensity:
        """Store the samples X (N, D), D in {1, 2}, and settle the bandwidth."""
        X = check_data(X, "KernelDensity", dtype=np.float64)
        if X.shape[1] > 2:
            raise ValueError(f"KernelDensity: for 1-D or 2-D data, got {X.shape[1]} features")
        n, d = X.shape
        if isinstance(self.bandwidth, str):
            sigma = float(X.std(axis=0).mean())
            if sigma == 0:
                raise ValueError("KernelDensity: all samples coincide; give a bandwidth")
            factor = (n ** (-1 / (d + 4)) if self.bandwidth == "scott"
                      else (n * (d + 2) / 4) ** (-1 / (d + 4)))
            self.bandwidth_ = sigma * factor
        else:
            self.bandwidth_ = float(self.bandwidth)
        self.X_ = X
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        """Log density at each row of X (N,)."""
        check_fitted(self, "X_")
        X = check_data(X, "KernelDensity", dtype=np.float64)
        check_features(X, self.X_.shape[1], "KernelDensity")
        from glassnet.unsupervised.kmeans import squared_distances
        from glassnet.unsupervised.mixture import logsumexp

        h, (n, d) = self.bandwidth_, self.X_.shape
        out = np.empty(X.shape[0])
        step = max(1, 2**20 // n)
        for s in range(0, X.shape[0], step):
            d2 = squared_distances(X[s:s + step], self.X_)
            out[s:s + step] = logsumexp(-d2 / (2 * h * h), axis=1)
        return out - np.log(n) - 0.5 * d * np.log(2 * np.pi * h * h)

    def score(self, X: Any) -> float:
        """Total log-likelihood of X."""
        return float(self.score_samples(X).sum())

    def sample(self, n_samples: int = 1, rng: Any = None) -> np.ndarray:
        """``n_samples`` draws (n_samples, D): a random training point plus N(0, h^2 I)."""
        check_fitted(self, "X_")
        g = as_generator(rng, "KernelDensity.sample")
        idx = g.integers(self.X_.shape[0], size=int(n_samples))
        return self.X_[idx] + self.bandwidth_ * g.standard_normal((len(idx), self.X_.shape[1]))
