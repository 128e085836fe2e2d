"""Scores of a clustering against hidden labels, and PCA for reducing images first."""

from __future__ import annotations

from typing import Any

import numpy as np


def _pair(labels_true: Any, labels_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(labels_true), np.asarray(labels_pred)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"labels must be two non-empty 1-D arrays of one length, got "
                         f"shapes {a.shape} and {b.shape}")
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtypes {a.dtype} and {b.dtype}")
    return np.unique(a, return_inverse=True)[1], np.unique(b, return_inverse=True)[1]


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    table = np.zeros((a.max() + 1, b.max() + 1), dtype=np.int64)
    np.add.at(table, (a, b), 1)
    return table


def purity(labels_true: Any, labels_pred: Any) -> float:
    """Fraction of samples whose cluster's majority label is their own label.

    Forward: (1/N) sum over clusters of the count of the most frequent true label.
    """
    a, b = _pair(labels_true, labels_pred)
    return float(_contingency(a, b).max(axis=0).sum() / a.size)


def adjusted_rand_index(labels_true: Any, labels_pred: Any) -> float:
    """The Rand index of pair agreements, adjusted for chance (1 = identical partitions,
    about 0 = independent ones; Hubert & Arabie 1985).

    Equivalent: ``sklearn.metrics.adjusted_rand_score``.
    """
    a, b = _pair(labels_true, labels_pred)
    table = _contingency(a, b).astype(np.float64)

    def pairs(v: np.ndarray) -> float:
        return float((v * (v - 1) / 2).sum())

    index = pairs(table)
    rows, cols = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / (a.size * (a.size - 1) / 2) if a.size > 1 else 0.0
    top = (rows + cols) / 2
    if top == expected:
        return 1.0
    return float((index - expected) / (top - expected))


def pca(X: Any, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project X (N, D) on its first ``n_components`` principal axes.

    Returns the projections (N, n_components), the axes (n_components, D) and the mean
    (D,), so that new rows project as ``(Z - mean) @ axes.T``.

    Conventions: the axes are the leading eigenvectors of the D x D scatter matrix
    (X - mean)^T (X - mean) when N >= D (cheaper than an SVD of X for many samples), the
    leading right singular vectors of X - mean otherwise; each axis' largest entry in
    absolute value is made positive, so the result does not depend on the solver.
    Equivalent (up to each axis' sign): ``sklearn.decomposition.PCA(n_components)``.
    """
    from glassnet.unsupervised._checks import check_data, check_positive_int

    X = check_data(X, "pca", dtype=np.float64)
    k = check_positive_int(n_components, "n_components", "pca")
    if k > min(X.shape):
        raise ValueError(f"pca: n_components={k} exceeds min(N, D) = {min(X.shape)}")
    mean = X.mean(axis=0)
    centred = X - mean
    if X.shape[0] >= X.shape[1]:
        vecs = np.linalg.eigh(centred.T @ centred)[1]
        axes = vecs[:, ::-1][:, :k].T
    else:
        axes = np.linalg.svd(centred, full_matrices=False)[2][:k]
    sign = np.sign(axes[np.arange(k), np.abs(axes).argmax(axis=1)])
    axes = axes * sign[:, None]
    return centred @ axes.T, np.ascontiguousarray(axes), mean
