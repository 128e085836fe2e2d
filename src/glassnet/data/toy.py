"""Small synthetic datasets for the lecture's examples and for experiments.

Every generator returns ``(X, y)`` with X float32 of shape (N, D); classification sets
give int64 labels y of shape (N,), regression sets float32 targets of shape (N,).
Randomness comes only from ``rng`` (a ``numpy.random.Generator``, an int seed, or None
for fresh OS entropy): the same seed gives the same data on every platform. Arguments
after ``n`` are keyword-only. Classes get ``n // C`` points each, the first ``n % C``
classes one more; with ``shuffle=True`` (default) the rows are in random order,
otherwise grouped by class.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from glassnet.data._checks import as_generator, check_float, check_int


def lecture_points() -> tuple[np.ndarray, np.ndarray]:
    """The lecture's first regression example: x = (2, 4, 6, 8), y = (3, 4, 5, 6).

    The least-squares line through them is y = 0.5 x + 2 (it fits exactly).

    Returns
    -------
    X : numpy.ndarray
        (4, 1) float32.
    y : numpy.ndarray
        (4,) float32.
    """
    X = np.array([[2.0], [4.0], [6.0], [8.0]], dtype=np.float32)
    y = np.array([3.0, 4.0, 5.0, 6.0], dtype=np.float32)
    return X, y


def smooth_curve(x: np.ndarray) -> np.ndarray:
    """The default curve of :func:`noisy_curve`: ``sin(2 pi x)``."""
    return np.sin(2.0 * np.pi * np.asarray(x))


def noisy_curve(
    n: int = 10,
    *,
    noise: float = 0.2,
    rng: np.random.Generator | int | None = None,
    curve: Callable[[np.ndarray], np.ndarray] = smooth_curve,
    low: float = 0.0,
    high: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of a smooth curve, for the lecture's capacity experiment.

    x is drawn uniformly in [low, high] and sorted; ``y = curve(x) + noise * N(0, 1)``.
    Fit polynomials of order 1, 2, 3, 4 and 12 to a small training sample and compare on
    a second, independent sample (another ``rng``): low orders under-fit, order 12
    over-fits, orders 3-4 generalize best.

    Returns
    -------
    X : numpy.ndarray
        (n, 1) float32, ascending.
    y : numpy.ndarray
        (n,) float32.
    """
    n = check_int(n, "n")
    noise = check_float(noise, "noise")
    low, high = check_float(low, "low", -np.inf), check_float(high, "high", -np.inf)
    if not low < high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    gen = as_generator(rng)
    x = np.sort(gen.uniform(low, high, size=n))
    y = np.asarray(curve(x), dtype=np.float64)
    if y.shape != x.shape:
        raise ValueError(f"curve must map shape {x.shape} to the same shape, got {y.shape}")
    y = y + noise * gen.standard_normal(n)
    return x[:, None].astype(np.float32), y.astype(np.float32)


def two_circles(
    n: int = 200,
    *,
    noise: float = 0.05,
    factor: float = 0.5,
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 on radius 1, class 1 on radius ``factor``.

    Not linearly separable in (x1, x2); separable after adding squared features
    (x1^2 + x2^2 is the squared radius) -- the lecture's feature-space example.
    Angles are uniform; ``noise`` is the std of Gaussian noise added to each coordinate.
    """
    n = check_int(n, "n", minimum=2)
    noise = check_float(noise, "noise")
    factor = check_float(factor, "factor")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    gen = as_generator(rng)
    y = _labels(n, 2)
    radius = np.where(y == 0, 1.0, factor)
    angle = gen.uniform(0.0, 2.0 * np.pi, size=n)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(X, y, noise, gen, shuffle)


def two_moons(
    n: int = 200,
    *,
    noise: float = 0.1,
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles of radius 1.

    Class 0: (cos t, sin t), class 1: (1 - cos t, 1/2 - sin t), t uniform in [0, pi];
    ``noise`` is the std of Gaussian noise added to each coordinate.
    """
    n = check_int(n, "n", minimum=2)
    noise = check_float(noise, "noise")
    gen = as_generator(rng)
    y = _labels(n, 2)
    t = gen.uniform(0.0, np.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.where((y == 0)[:, None], upper, lower)
    return _finish(X, y, noise, gen, shuffle)


def xor(
    n: int = 200,
    *,
    noise: float = 0.0,
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: points uniform in [-1, 1]^2, label 1 where x1 and x2 differ in sign.

    Labels are assigned first (quadrants 1 and 3: class 0; 2 and 4: class 1), then
    Gaussian noise of std ``noise`` moves the points, so with ``noise=0`` the label is
    exactly ``x1 * x2 < 0``. No line separates the classes; the product feature x1 x2 does.
    """
    n = check_int(n, "n", minimum=2)
    noise = check_float(noise, "noise")
    gen = as_generator(rng)
    y = _labels(n, 2)
    # Each point gets a random quadrant of its class: class 0 (+,+) or (-,-); 1 (+,-), (-,+).
    sign1 = np.where(gen.random(n) < 0.5, 1.0, -1.0)
    sign2 = np.where(y == 0, sign1, -sign1)
    magnitude = gen.uniform(0.0, 1.0, size=(n, 2))
    X = magnitude * np.stack([sign1, sign2], axis=1)
    return _finish(X, y, noise, gen, shuffle)


def spirals(
    n: int = 300,
    *,
    classes: int = 2,
    turns: float = 1.5,
    noise: float = 0.02,
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (two arms: the classic "two spirals").

    Arm k: points evenly spaced in t in (0, 1], radius ``0.1 + 0.9 t``, angle
    ``2 pi (turns t + k / classes)``; then Gaussian noise of std ``noise`` per coordinate.
    """
    n = check_int(n, "n", minimum=2)
    classes = check_int(classes, "classes", minimum=2)
    if n < classes:
        raise ValueError(f"n={n} must be at least classes={classes}")
    turns = check_float(turns, "turns")
    if turns <= 0:
        raise ValueError(f"turns must be > 0, got {turns}")
    noise = check_float(noise, "noise")
    gen = as_generator(rng)
    y = _labels(n, classes)
    counts = np.bincount(y, minlength=classes)
    # Position of each point along its own arm, from near the centre (t > 0) to t = 1.
    t = np.concatenate([np.arange(1, c + 1) / c for c in counts])
    radius = 0.1 + 0.9 * t
    angle = 2.0 * np.pi * (turns * t + y / classes)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(X, y, noise, gen, shuffle)


def gaussian_blobs(
    n: int = 300,
    *,
    centers: int | np.ndarray = 3,
    std: float | np.ndarray = 1.0,
    dim: int = 2,
    box: tuple[float, float] = (-10.0, 10.0),
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
    return_centers: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, one class per cluster.

    Parameters
    ----------
    centers : int or array_like (C, dim)
        Number of clusters (centres drawn uniformly in ``box``), or the centres.
    std : float or array_like (C,)
        Standard deviation of each cluster (one for all, or one per cluster).
    dim : int
        Dimension D of the points when ``centers`` is a count.
    return_centers : bool
        Also return the (C, D) float32 centres.
    """
    n = check_int(n, "n")
    gen = as_generator(rng)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = check_int(centers, "centers")
        dim = check_int(dim, "dim")
        low, high = (check_float(b, "box", -np.inf) for b in box)
        if not low < high:
            raise ValueError(f"box must be (low, high) with low < high, got {box}")
        means = gen.uniform(low, high, size=(k, dim))
    else:
        means = np.asarray(centers, dtype=np.float64)
        if means.ndim != 2 or len(means) == 0 or not np.isfinite(means).all():
            raise ValueError(f"centers must be a count or a finite (C, D) array, got {centers!r}")
        k = len(means)
    if n < k:
        raise ValueError(f"n={n} must be at least the number of centers {k}")
    stds = np.broadcast_to(np.asarray(std, dtype=np.float64), (k,)) if np.ndim(std) <= 1 else None
    if stds is None or not (np.isfinite(stds).all() and (stds >= 0).all()):
        raise ValueError(f"std must be one non-negative number or one per center, got {std!r}")
    y = _labels(n, k)
    X = means[y] + stds[y, None] * gen.standard_normal((n, means.shape[1]))
    X, y = _finish(X, y, 0.0, gen, shuffle)
    return (X, y, means.astype(np.float32)) if return_centers else (X, y)


def _labels(n: int, classes: int) -> np.ndarray:
    """Class-grouped labels: n // classes each, the first n % classes one more."""
    counts = np.full(classes, n // classes)
    counts[: n % classes] += 1
    return np.repeat(np.arange(classes, dtype=np.int64), counts)


def _finish(
    X: np.ndarray, y: np.ndarray, noise: float, gen: np.random.Generator, shuffle: bool
) -> tuple[np.ndarray, np.ndarray]:
    if noise > 0:
        X = X + noise * gen.standard_normal(X.shape)
    if shuffle:
        order = gen.permutation(len(y))
        X, y = X[order], y[order]
    return X.astype(np.float32), y


TOY_DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "circles": two_circles,
    "moons": two_moons,
    "xor": xor,
    "spirals": spirals,
    "blobs": gaussian_blobs,
}
"""The toy classification sets by short name (e.g. for ``glassnet train --dataset``)."""
