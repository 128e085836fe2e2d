"""Splitting, standardization (fitted on training data only) and one-hot encoding."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from glassnet.data._checks import as_generator, check_int


def train_test_split(
    *arrays: np.ndarray,
    test_size: float | int = 0.25,
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
    stratify: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Split arrays along their first axis into a training and a test part.

    Parameters
    ----------
    *arrays : array_like
        One or more arrays with the same length N (e.g. X and y).
    test_size : float or int
        A fraction in (0, 1) (the test part gets ``ceil(test_size * N)`` rows) or a count
        in [1, N - 1].
    rng : numpy.random.Generator, int or None
        Randomness of the shuffle; None draws fresh OS entropy.
    shuffle : bool
        False keeps the order: the first rows train, the last rows test.
    stratify : array_like, optional
        Class labels (length N): each class keeps its share in both parts (classes get
        ``round``ed test counts, largest remainders first, so the total is exact).
        Needs ``shuffle=True`` and at least 2 members per class.

    Returns
    -------
    list of numpy.ndarray
        ``[a_train, a_test, b_train, b_test, ...]``, the order of scikit-learn's
        ``train_test_split``. With shuffling, both parts are in random order.

    Examples
    --------
    >>> X, y = np.arange(20).reshape(10, 2), np.arange(10)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, shuffle=False)
    >>> y_te
    array([7, 8, 9])
    """
    if not arrays:
        raise TypeError("train_test_split needs at least one array")
    arrays = tuple(np.asarray(a) for a in arrays)
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(f"array {i} is 0-d; train_test_split splits along axis 0")
    n = len(arrays[0])
    lengths = [len(a) for a in arrays]
    if any(length != n for length in lengths):
        raise ValueError(f"arrays must have the same length, got lengths {lengths}")
    n_test = _test_count(test_size, n)
    if not shuffle:
        if stratify is not None:
            raise ValueError("stratify needs shuffle=True")
        order = np.arange(n)
        train_idx, test_idx = order[: n - n_test], order[n - n_test :]
    else:
        generator = as_generator(rng)
        if stratify is None:
            order = generator.permutation(n)
            train_idx, test_idx = order[n_test:], order[:n_test]
        else:
            train_idx, test_idx = _stratified(np.asarray(stratify), n, n_test, generator)
    out = []
    for a in arrays:
        out += [a.take(train_idx, axis=0), a.take(test_idx, axis=0)]
    return out


def _test_count(test_size: float | int, n: int) -> int:
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    else:
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size}")
        n_test = math.ceil(test_size * n)
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_size={test_size} with {n} samples gives {n_test} test and {n - n_test} "
            "training samples; both parts need at least one"
        )
    return n_test


def _stratified(
    labels: np.ndarray, n: int, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if labels.shape != (n,):
        raise ValueError(f"stratify must have shape ({n},), got {labels.shape}")
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        rare = classes[np.argmin(counts)]
        raise ValueError(f"stratify: class {rare!r} has only 1 member; each class needs 2")
    exact = counts * (n_test / n)
    per_class = np.floor(exact).astype(np.int64)
    leftover = n_test - int(per_class.sum())
    by_remainder = np.argsort(-(exact - per_class), kind="stable")
    per_class[by_remainder[:leftover]] += 1
    train, test = [], []
    for k in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inverse == k))
        test.append(members[: per_class[k]])
        train.append(members[per_class[k] :])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


class Standardizer:
    """Scale features to zero mean and unit variance, with statistics of training data only.

    ``fit(X_train)`` stores ``mean_`` and ``scale_`` (the population standard deviation,
    ddof=0); ``transform(X)`` returns ``(X - mean_) / scale_`` for any later data, so test
    data never leak into the statistics. A feature with (numerically) zero variance gets
    ``scale_ = 1``: it is centred, not divided by zero.

    Parameters
    ----------
    axis : int, tuple of int or None
        Axes the statistics are taken over; they must include 0 (the samples). 0 (the
        default) gives one mean per feature, as scikit-learn's ``StandardScaler``; for
        images (N, H, W, C) ``axis=(0, 1, 2)`` gives one per channel; None one in all.

    Attributes
    ----------
    mean_, scale_ : numpy.ndarray (float64)
        Shape ``X.shape[1:]`` with 1 on reduced axes, so they broadcast against X.
    n_samples_seen_ : int

    Notes
    -----
    The statistics are computed in float64; ``transform`` returns X's dtype when it is
    floating, float32 otherwise. The state is plain arrays: ``state_dict()`` /
    ``load_state_dict()`` (or ``Standardizer.from_state``) store and restore it, e.g.
    with ``numpy.savez``.

    Examples
    --------
    >>> s = Standardizer().fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s.mean_, s.scale_
    (array([1., 5.]), array([1., 1.]))
    >>> s.transform(np.array([[4.0, 6.0]]))
    array([[3., 1.]])
    """

    def __init__(self, axis: int | tuple[int, ...] | None = 0) -> None:
        self.axis = axis
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.n_samples_seen_: int = 0

    def _axes(self, ndim: int) -> tuple[int, ...]:
        if self.axis is None:
            return tuple(range(ndim))
        axes = (self.axis,) if isinstance(self.axis, numbers.Integral) else tuple(self.axis)
        normalized = set()
        for a in axes:
            if isinstance(a, bool) or not isinstance(a, numbers.Integral) or not -ndim <= a < ndim:
                raise ValueError(f"axis={self.axis!r} is out of range for {ndim}-d data")
            normalized.add(int(a) % ndim)
        if 0 not in normalized:
            raise ValueError(f"axis={self.axis!r} must include 0, the sample axis")
        return tuple(sorted(normalized))

    def fit(self, X: np.ndarray) -> Standardizer:
        """Compute ``mean_`` and ``scale_`` from training data ``X`` (N >= 1 rows)."""
        X = np.asarray(X)
        if X.ndim == 0 or len(X) == 0:
            raise ValueError(f"Standardizer.fit needs at least one sample, got shape {X.shape}")
        if not (np.issubdtype(X.dtype, np.number) and not np.iscomplexobj(X)):
            raise TypeError(f"Standardizer.fit needs real numbers, got dtype {X.dtype}")
        axes = self._axes(X.ndim)
        X64 = X.astype(np.float64, copy=False)
        if not np.isfinite(X64).all():
            raise ValueError("Standardizer.fit got NaN or infinite values")
        mean = X64.mean(axis=axes, keepdims=True)
        std = np.sqrt(((X64 - mean) ** 2).mean(axis=axes, keepdims=True))
        # A constant feature can show a rounding-level std; treat it as exactly constant.
        tiny = 64 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
        self.mean_ = mean[0]
        self.scale_ = np.where(std <= tiny, 1.0, std)[0]
        self.n_samples_seen_ = int(np.prod([X.shape[a] for a in axes]))
        return self

    def _check(self, X: np.ndarray, name: str) -> tuple[np.ndarray, np.dtype]:
        if self.mean_ is None or self.scale_ is None:
            raise ValueError(
                f"this Standardizer is not fitted yet; call fit(X_train) before {name}"
            )
        X = np.asarray(X)
        feature_shape = X.shape[1:]
        ok = X.ndim == self.mean_.ndim + 1 and all(
            m in (1, x) for m, x in zip(self.mean_.shape, feature_shape)
        )
        if not ok:
            raise ValueError(
                f"{name}: X of shape {X.shape} does not match the fitted statistics of shape "
                f"{self.mean_.shape} (per-sample shape must be {self.mean_.shape})"
            )
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float32)
        return X, dtype

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X - mean_) / scale_`` in X's floating dtype (float32 for integer X)."""
        X, dtype = self._check(X, "transform")
        return (X.astype(dtype, copy=False) - self.mean_.astype(dtype)) / self.scale_.astype(dtype)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``; only ever call it on training data."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """``Z * scale_ + mean_``: back to the original units."""
        Z, dtype = self._check(Z, "inverse_transform")
        return Z.astype(dtype, copy=False) * self.scale_.astype(dtype) + self.mean_.astype(dtype)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted state as arrays: ``mean``, ``scale`` (float64), ``n_samples_seen``."""
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("this Standardizer is not fitted yet; nothing to save")
        return {
            "mean": self.mean_.copy(),
            "scale": self.scale_.copy(),
            "n_samples_seen": np.array(self.n_samples_seen_, dtype=np.int64),
        }

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> Standardizer:
        """Restore ``state_dict()`` output; validates shapes and that scales are positive."""
        missing = {"mean", "scale"} - set(state)
        if missing:
            raise ValueError(f"Standardizer state lacks {sorted(missing)}")
        mean = np.asarray(state["mean"], dtype=np.float64)
        scale = np.asarray(state["scale"], dtype=np.float64)
        if mean.shape != scale.shape:
            raise ValueError(f"state mean {mean.shape} and scale {scale.shape} differ in shape")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("state must have finite mean and finite, positive scale")
        self.mean_, self.scale_ = mean.copy(), scale.copy()
        self.n_samples_seen_ = int(state.get("n_samples_seen", 0))
        return self

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> Standardizer:
        """A fitted Standardizer from ``state_dict()`` output."""
        return cls().load_state_dict(state)

    def __repr__(self) -> str:
        fitted = "unfitted" if self.mean_ is None else f"fitted on {self.n_samples_seen_} samples"
        return f"Standardizer(axis={self.axis!r}, {fitted})"


def one_hot(
    labels: np.ndarray, num_classes: int | None = None, dtype: np.dtype | type = np.float32
) -> np.ndarray:
    """One-hot encode integer class labels: shape ``labels.shape + (num_classes,)``.

    Parameters
    ----------
    labels : array_like of int
        Class indices in 0..num_classes-1 (any shape).
    num_classes : int, optional
        Number of classes C; default ``labels.max() + 1`` (PyTorch's ``one_hot`` rule).
    dtype
        Output dtype (float32 by default, the training dtype).

    Raises
    ------
    TypeError
        Non-integer labels (floats and bools are refused, not rounded).
    ValueError
        A label below 0 or >= num_classes (the message names it and where it is).

    Examples
    --------
    >>> one_hot(np.array([0, 2]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"one_hot needs integer labels, got dtype {labels.dtype}")
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("one_hot of empty labels needs num_classes")
        num_classes = int(labels.max()) + 1
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    flat = labels.reshape(-1)
    if flat.size:
        bad = np.flatnonzero((flat < 0) | (flat >= num_classes))
        if bad.size:
            where = np.unravel_index(bad[0], labels.shape)
            raise ValueError(
                f"one_hot: label {flat[bad[0]]} at index {tuple(int(i) for i in where)} is "
                f"outside 0..{num_classes - 1} (num_classes={num_classes})"
            )
    out = np.zeros((flat.size, num_classes), dtype=dtype)
    out[np.arange(flat.size), flat] = 1
    return out.reshape(labels.shape + (num_classes,))
