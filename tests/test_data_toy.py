"""Toy datasets: shapes, dtypes, determinism, class balance and geometric properties."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.data import (
    TOY_DATASETS,
    gaussian_blobs,
    lecture_points,
    noisy_curve,
    smooth_curve,
    spirals,
    two_circles,
    two_moons,
    xor,
)

CLASSIFIERS = {
    "circles": two_circles,
    "moons": two_moons,
    "xor": xor,
    "spirals": spirals,
    "blobs": gaussian_blobs,
}


def linear_accuracy(X: np.ndarray, y: np.ndarray) -> float:
    """Training accuracy of the least-squares linear classifier on +-1 targets."""
    A = np.hstack([X.astype(np.float64), np.ones((len(X), 1))])
    w, *_ = np.linalg.lstsq(A, np.where(y == 1, 1.0, -1.0), rcond=None)
    return float(((A @ w > 0) == (y == 1)).mean())


def nearest_neighbour_accuracy(X: np.ndarray, y: np.ndarray) -> float:
    """Leave-one-out 1-NN accuracy (brute force)."""
    d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float((y[d.argmin(1)] == y).mean())


# ---------------------------------------------------------------- the lecture's points


def test_lecture_points_values_and_optimum():
    X, y = lecture_points()
    assert X.shape == (4, 1) and y.shape == (4,)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert X[:, 0].tolist() == [2, 4, 6, 8] and y.tolist() == [3, 4, 5, 6]
    A = np.hstack([X, np.ones((4, 1))]).astype(np.float64)
    (w, b), *_ = np.linalg.lstsq(A, y.astype(np.float64), rcond=None)
    assert w == pytest.approx(0.5) and b == pytest.approx(2.0)  # the lecture's optimum


# ---------------------------------------------------------------- noisy curve


def test_noisy_curve_shapes_and_order():
    X, y = noisy_curve(15, rng=0)
    assert X.shape == (15, 1) and y.shape == (15,)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert np.all(np.diff(X[:, 0]) >= 0) and X.min() >= 0 and X.max() <= 1


def test_noisy_curve_without_noise_is_the_curve():
    X, y = noisy_curve(50, noise=0.0, rng=1)
    np.testing.assert_allclose(y, np.sin(2 * np.pi * X[:, 0].astype(np.float64)), atol=1e-6)


def test_noisy_curve_noise_level():
    X, y = noisy_curve(20000, noise=0.2, rng=2)
    residual = y - smooth_curve(X[:, 0].astype(np.float64))
    assert abs(residual.mean()) < 0.01
    assert residual.std() == pytest.approx(0.2, rel=0.03)


def test_noisy_curve_custom_curve_and_range():
    X, y = noisy_curve(30, noise=0.0, rng=3, curve=lambda x: x**2, low=-2.0, high=2.0)
    assert X.min() >= -2 and X.max() <= 2
    np.testing.assert_allclose(y, X[:, 0] ** 2, rtol=1e-6)


def test_noisy_curve_train_and_test_samples_differ():
    rng = np.random.default_rng(4)
    (X1, _), (X2, _) = noisy_curve(10, rng=rng), noisy_curve(10, rng=rng)
    assert not np.array_equal(X1, X2)


@pytest.mark.parametrize(
    "kwargs, error",
    [({"n": 0}, ValueError), ({"n": 2.5}, TypeError), ({"noise": -0.1}, ValueError),
     ({"noise": float("nan")}, ValueError), ({"low": 1.0, "high": 1.0}, ValueError),
     ({"curve": lambda x: x[:2]}, ValueError), ({"rng": "seed"}, TypeError)],
)
def test_noisy_curve_validation(kwargs, error):
    with pytest.raises(error):
        noisy_curve(**{"n": 10, **kwargs})


# ---------------------------------------------------------------- classification sets


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("n", [2, 7, 101])
def test_shapes_dtypes_balance(name, n):
    extra = {"centers": 2} if name == "blobs" else {}
    X, y = CLASSIFIERS[name](n, rng=0, **extra)
    classes = 2
    assert X.shape == (n, 2) and y.shape == (n,)
    assert X.dtype == np.float32 and y.dtype == np.int64
    counts = np.bincount(y, minlength=classes)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n
    assert np.isfinite(X).all()


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_same_seed_same_data_other_seed_other_data(name):
    make = CLASSIFIERS[name]
    X1, y1 = make(50, rng=7)
    X2, y2 = make(50, rng=np.random.default_rng(7))
    X3, _ = make(50, rng=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_shuffle_false_groups_by_class(name):
    _, y = CLASSIFIERS[name](31, rng=0, shuffle=False)
    assert np.all(np.diff(y) >= 0)
    _, y = CLASSIFIERS[name](31, rng=0)
    assert np.any(np.diff(y) < 0)


def test_toy_registry_names():
    assert set(TOY_DATASETS) == set(CLASSIFIERS)
    assert all(TOY_DATASETS[k] is CLASSIFIERS[k] for k in CLASSIFIERS)


def test_two_circles_radii_and_feature_space_separability():
    X, y = two_circles(400, noise=0.0, factor=0.3, rng=1)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, rtol=1e-6)
    assert linear_accuracy(X, y) < 0.75  # no line separates concentric circles
    squared = np.hstack([X, X**2])  # ... but squared features do (the lecture's point)
    assert linear_accuracy(squared, y) == 1.0


def test_two_circles_noise_level():
    X, y = two_circles(4000, noise=0.05, rng=2)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert abs(radius[y == 0].mean() - 1.0) < 0.01 and radius[y == 0].std() == pytest.approx(
        0.05, rel=0.1)


def test_two_moons_geometry():
    X, y = two_moons(300, noise=0.0, rng=3)
    upper, lower = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, rtol=1e-6)
    assert upper[:, 1].min() >= -1e-6 and lower[:, 1].max() <= 0.5 + 1e-6
    assert nearest_neighbour_accuracy(X, y) == 1.0
    assert linear_accuracy(X, y) < 0.95


def test_xor_labels_and_nonlinearity():
    X, y = xor(400, noise=0.0, rng=4)
    assert np.all(np.abs(X) <= 1)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    assert linear_accuracy(X, y) < 0.7
    counts = np.histogram2d(X[:, 0], X[:, 1], bins=2)[0]
    assert counts.min() > 60  # all four quadrants are populated


def test_xor_noise_moves_points_but_not_labels():
    X0, y0 = xor(2000, noise=0.0, rng=5, shuffle=False)
    X1, y1 = xor(2000, noise=0.3, rng=5, shuffle=False)
    np.testing.assert_array_equal(y0, y1)
    assert (X1 - X0).std() == pytest.approx(0.3, rel=0.05)


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_spirals_arms(classes):
    X, y = spirals(200 * classes, classes=classes, noise=0.0, rng=6, shuffle=False)
    assert set(np.unique(y)) == set(range(classes))
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() > 0.1 - 1e-6 and radius.max() == pytest.approx(1.0, rel=1e-6)
    assert nearest_neighbour_accuracy(X, y) == 1.0
    for k in range(classes):  # every arm winds outward
        assert np.all(np.diff(radius[y == k]) > 0)


def test_two_spirals_are_not_linearly_separable():
    X, y = spirals(400, noise=0.0, rng=7)
    assert linear_accuracy(X, y) < 0.75


def test_spirals_validation():
    with pytest.raises(ValueError, match="classes"):
        spirals(10, classes=1)
    with pytest.raises(ValueError, match="turns"):
        spirals(10, turns=0.0)
    with pytest.raises(ValueError, match="at least"):
        spirals(3, classes=4)


def test_gaussian_blobs_given_centers():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    X, y, out_centers = gaussian_blobs(3000, centers=centers, std=0.5, rng=8,
                                       return_centers=True)
    assert X.shape == (3000, 3)
    np.testing.assert_allclose(out_centers, centers)
    for k in range(3):
        np.testing.assert_allclose(X[y == k].mean(0), centers[k], atol=0.06)
        assert X[y == k].std(0) == pytest.approx([0.5] * 3, rel=0.1)
    nearest = ((X[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(nearest, y)


def test_gaussian_blobs_random_centers_in_box():
    X, y, centers = gaussian_blobs(100, centers=4, dim=5, box=(-3.0, 3.0), std=0.0, rng=9,
                                   return_centers=True)
    assert centers.shape == (4, 5) and np.all(np.abs(centers) <= 3)
    np.testing.assert_allclose(X, centers[y])


def test_gaussian_blobs_per_cluster_std():
    X, y = gaussian_blobs(200, centers=[[0.0, 0.0], [5.0, 5.0]], std=[0.0, 1.0], rng=10)
    assert np.all(X[y == 0] == 0) and X[y == 1].std() > 0.5


@pytest.mark.parametrize(
    "kwargs",
    [{"centers": 0}, {"centers": [[1.0, np.nan]]}, {"centers": [1.0, 2.0]}, {"std": -1.0},
     {"std": [1.0, 2.0]}, {"box": (1.0, -1.0)}, {"n": 2, "centers": 3}],
)
def test_gaussian_blobs_validation(kwargs):
    with pytest.raises((ValueError, TypeError)):
        gaussian_blobs(**{"n": 30, **kwargs})


@pytest.mark.parametrize("make", [two_circles, two_moons, xor])
@pytest.mark.parametrize("bad", [{"n": 1}, {"n": True}, {"noise": -1.0}, {"rng": 1.5}])
def test_common_validation(make, bad):
    with pytest.raises((ValueError, TypeError)):
        make(**{"n": 10, **bad})


@pytest.mark.parametrize("factor", [0.0, 1.0, 1.5])
def test_two_circles_factor_validation(factor):
    with pytest.raises(ValueError, match="factor"):
        two_circles(10, factor=factor)
