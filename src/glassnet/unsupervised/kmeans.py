"""k-means clustering by Lloyd's algorithm, seeded by greedy k-means++.

Squared distances go through one matrix product, ||x||^2 - 2 x.c + ||c||^2 (clipped at
0 where rounding makes them negative), on row chunks of X so that memory stays bounded
(a chunk of ``_CHUNK`` rows at a time; 60,000 x 784 never forms an N x K x D array).
One Lloyd pass reads each chunk once: the distances (a gemm), the nearest centre, and the
chunk's contribution to the new centres' sums (a one-hot gemm) while the chunk is in cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.unsupervised._checks import (
    as_generator,
    check_data,
    check_features,
    check_fitted,
    check_positive_float,
    check_positive_int,
)

_CHUNK = 2048  # rows per chunk: 2048 x 784 float32 = 6.4 MB, one pass reads X once


def squared_distances(X: np.ndarray, C: np.ndarray, x_sq: np.ndarray | None = None,
                      chunk: int = _CHUNK) -> np.ndarray:
    """Squared Euclidean distances (N, K) between the rows of X (N, D) and C (K, D).

    Forward: ||x||^2 - 2 x.c + ||c||^2, clipped at 0; computed ``chunk`` rows at a time.
    Equivalent: ``sklearn.metrics.pairwise.euclidean_distances(X, C, squared=True)``.
    """
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", X, X)
    c_sq = np.einsum("ij,ij->i", C, C)
    out = np.empty((X.shape[0], C.shape[0]), dtype=np.result_type(X, C))
    for s in range(0, X.shape[0], chunk):
        block = out[s:s + chunk]
        np.matmul(X[s:s + chunk], C.T, out=block)
        block *= -2
        block += c_sq
        block += x_sq[s:s + chunk, None]
        np.maximum(block, 0, out=block)
    return out


def _mean_variance(X: np.ndarray, chunk: int = _CHUNK) -> float:
    """The mean over features of the per-feature variance of X, chunk by chunk (no copy
    of X; ``np.var`` would form X - mean whole)."""
    mean = X.mean(axis=0, dtype=np.float64)
    total = 0.0
    for s in range(0, X.shape[0], chunk):
        diff = X[s:s + chunk] - mean
        total += float(np.einsum("ij,ij->", diff, diff))
    return total / X.size


def _kmeans_plus_plus(X: np.ndarray, x_sq: np.ndarray, k: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007): each new centre is the best of
    2 + log(k) candidates drawn with probability proportional to the squared distance to
    the nearest centre chosen so far."""
    n = X.shape[0]
    trials = 2 + int(np.log(k))
    centers = np.empty((k, X.shape[1]), dtype=X.dtype)
    first = int(rng.integers(n))
    centers[0] = X[first]
    closest = squared_distances(X, X[first:first + 1], x_sq)[:, 0].astype(np.float64)
    potential = closest.sum()
    for c in range(1, k):
        if potential <= 0:  # every point coincides with a centre: take any points
            centers[c] = X[int(rng.integers(n))]
            continue
        cum = np.cumsum(closest)
        picks = np.searchsorted(cum, rng.random(trials) * cum[-1], side="right")
        picks = np.minimum(picks, n - 1)
        dist = squared_distances(X, X[picks], x_sq).astype(np.float64)
        np.minimum(dist, closest[:, None], out=dist)
        pots = dist.sum(axis=0)
        best = int(np.argmin(pots))
        centers[c] = X[picks[best]]
        closest, potential = dist[:, best].copy(), pots[best]
    return centers


def _assign(X: np.ndarray, x_sq: np.ndarray, centers: np.ndarray,
            sums: np.ndarray | None = None,
            nearest: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Nearest centre of every row and the inertia; with ``sums`` (K, D) also the sum of
    the rows assigned to each centre (accumulated in place, chunk by chunk), with
    ``nearest`` (N,) the squared distance of every row to its centre (written in place)."""
    n, k = X.shape[0], centers.shape[0]
    labels = np.empty(n, dtype=np.int64)
    c_sq = np.einsum("ij,ij->i", centers, centers)
    ct = np.ascontiguousarray(centers.T)
    inertia = 0.0
    eye = np.eye(k, dtype=X.dtype)
    for s in range(0, n, _CHUNK):
        xb = X[s:s + _CHUNK]
        d = xb @ ct
        d *= -2
        d += c_sq
        lab = d.argmin(axis=1)
        labels[s:s + _CHUNK] = lab
        best = np.take_along_axis(d, lab[:, None], axis=1)[:, 0].astype(np.float64)
        best = np.maximum(best + x_sq[s:s + _CHUNK], 0)
        inertia += float(best.sum())
        if nearest is not None:
            nearest[s:s + _CHUNK] = best
        if sums is not None:
            sums += eye[lab].T @ xb
    return labels, inertia


def _relocate_empty(X: np.ndarray, labels: np.ndarray, nearest: np.ndarray,
                    sums: np.ndarray, counts: np.ndarray) -> None:
    """Give each empty cluster the sample farthest from its own centre (taken from a
    cluster of two or more), updating ``labels``, ``sums`` and ``counts`` in place."""
    empty = np.flatnonzero(counts == 0)
    order = np.argsort(-nearest, kind="stable")
    j = 0
    for e in empty:
        while j < len(order) and counts[labels[order[j]]] < 2:
            j += 1
        if j == len(order):  # fewer distinct samples than clusters: nothing to move
            return
        i = order[j]
        j += 1
        sums[labels[i]] -= X[i]
        counts[labels[i]] -= 1
        sums[e], counts[e], labels[i] = X[i], 1, e


def _lloyd(X: np.ndarray, x_sq: np.ndarray, centers: np.ndarray, max_iter: int,
           tol: float) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Lloyd iterations from ``centers``; stops when the labels no longer change or the
    centres move by at most ``tol`` in total squared distance. A cluster left empty is
    restarted at the sample farthest from its centre (as scikit-learn does)."""
    k = centers.shape[0]
    labels = None
    nearest = np.empty(X.shape[0])
    it = 0
    while it < max_iter:
        it += 1
        sums = np.zeros_like(centers)
        new_labels, _ = _assign(X, x_sq, centers, sums, nearest)
        counts = np.bincount(new_labels, minlength=k)
        if not counts.all():
            _relocate_empty(X, new_labels, nearest, sums, counts)
        new_centers = centers.copy()  # a cluster still empty keeps its centre
        filled = counts > 0
        new_centers[filled] = sums[filled] / counts[filled, None].astype(X.dtype)
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if labels is not None and np.array_equal(labels, new_labels):
            break
        labels = new_labels
        if shift <= tol:
            break
    labels, inertia = _assign(X, x_sq, centers)
    return centers, labels, inertia, it


class KMeans:
    """k-means clustering: K centres minimising the inertia, the sum over samples of the
    squared distance to the nearest centre.

    Parameters
    ----------
    n_clusters : int
        K, the number of centres (at most the number of samples).
    n_init : int
        Runs from different seeds; the run with the lowest inertia is kept.
    max_iter : int
        Lloyd iterations per run.
    tol : float
        Convergence: the centres' total squared shift is at most ``tol`` times the mean
        per-feature variance of X (scikit-learn's rule), or the labels stop changing.
    init : {"k-means++", "random"}
        Greedy k-means++ seeding, or K distinct samples drawn uniformly.
    rng : None, int or numpy.random.Generator
        The randomness of the seeding: an int seeds a fresh generator at every ``fit``
        (the same result each time), a Generator is drawn from and advances, None draws
        from glassnet's default generator (``glassnet.manual_seed``).

    Attributes
    ----------
    cluster_centers_ : ndarray (K, D)
    labels_ : ndarray (N,) int64
    inertia_ : float
    n_iter_ : int
        Lloyd iterations of the kept run.

    Conventions: float32 data is clustered in float32 (as scikit-learn does), anything
    else in float64; the inertia is accumulated in float64.
    Equivalent: ``sklearn.cluster.KMeans(n_clusters, n_init=n_init, init=init,
    max_iter=max_iter, tol=tol, algorithm="lloyd")``.

    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> km = KMeans(2, rng=0).fit(X)
    >>> sorted(km.cluster_centers_[:, 0].tolist()), km.inertia_
    ([0.0, 10.0], 1.0)
    """

    def __init__(self, n_clusters: int, n_init: int = 10, max_iter: int = 300,
                 tol: float = 1e-4, init: str = "k-means++", rng: Any = None) -> None:
        self.n_clusters = check_positive_int(n_clusters, "n_clusters", "KMeans")
        self.n_init = check_positive_int(n_init, "n_init", "KMeans")
        self.max_iter = check_positive_int(max_iter, "max_iter", "KMeans")
        self.tol = check_positive_float(tol, "tol", "KMeans", allow_zero=True)
        if init not in ("k-means++", "random"):
            raise ValueError(f"KMeans: init must be 'k-means++' or 'random', got {init!r}")
        self.init = init
        as_generator(rng, "KMeans")  # a TypeError now for a bad rng, not at fit
        self.rng = rng
        self.cluster_centers_: np.ndarray | None = None
        self.labels_: np.ndarray | None = None
        self.inertia_: float | None = None
        self.n_iter_: int | None = None

    def _data(self, X: Any) -> np.ndarray:
        dtype = np.float32 if np.asarray(getattr(X, "data", X)).dtype == np.float32 else None
        return check_data(X, "KMeans", dtype=dtype or np.float64)

    def fit(self, X: Any) -> KMeans:
        """Cluster the rows of X (N, D); returns self."""
        X = self._data(X)
        n, k = X.shape[0], self.n_clusters
        if k > n:
            raise ValueError(f"KMeans: n_clusters={k} is larger than the number of "
                             f"samples ({n})")
        x_sq = np.einsum("ij,ij->i", X, X)
        tol = self.tol * _mean_variance(X)
        gen = as_generator(self.rng, "KMeans")
        best = None
        for _ in range(self.n_init):
            if self.init == "k-means++":
                start = _kmeans_plus_plus(X, x_sq, k, gen)
            else:
                start = X[gen.choice(n, size=k, replace=False)].copy()
            run = _lloyd(X, x_sq, start, self.max_iter, tol)
            if best is None or run[2] < best[2]:
                best = run
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre of each row of X (N,)."""
        check_fitted(self, "cluster_centers_")
        X = self._data(X)
        check_features(X, self.cluster_centers_.shape[1], "KMeans")
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        return _assign(X, np.einsum("ij,ij->i", X, X), centers)[0]

    def fit_predict(self, X: Any) -> np.ndarray:
        """``fit(X)`` and return ``labels_``."""
        return self.fit(X).labels_

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances (N, K) from each row of X to every centre."""
        check_fitted(self, "cluster_centers_")
        X = self._data(X)
        check_features(X, self.cluster_centers_.shape[1], "KMeans")
        return np.sqrt(squared_distances(X, self.cluster_centers_.astype(X.dtype, copy=False)))

    def score(self, X: Any) -> float:
        """Minus the inertia of X under the fitted centres (higher is better)."""
        check_fitted(self, "cluster_centers_")
        X = self._data(X)
        check_features(X, self.cluster_centers_.shape[1], "KMeans")
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        return -_assign(X, np.einsum("ij,ij->i", X, X), centers)[1]
