"""The lecture's models: sizes, shapes, closed-form fits, capacity, feature spaces, configs."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import data, losses, models, nn, optim
from glassnet.nn import from_config
from glassnet.training import fit


# ---------------------------------------------------------------------- sizes and shapes
@pytest.mark.parametrize("d", [1, 3, 784])
def test_linear_regression_has_d_plus_1_parameters(d: int) -> None:
    m = models.LinearRegression(d)
    assert m.num_parameters() == d + 1
    assert m.weight.shape == (1, d) and m.bias.shape == (1,)
    assert models.LinearRegression(d, 4).num_parameters() == 4 * (d + 1)


@pytest.mark.parametrize("order", [1, 2, 3, 4, 12])
def test_polynomial_regression_has_order_plus_1_parameters(order: int) -> None:
    assert models.PolynomialRegression(order).num_parameters() == order + 1


@pytest.mark.parametrize(("d", "count"), [(1, 3), (2, 6), (3, 10), (784, 308_505)])
def test_quadratic_model_has_the_lectures_parameter_count(d: int, count: int) -> None:
    assert (d + 1) * (d + 2) // 2 == count
    assert models.QuadraticModel(d).num_parameters() == count


def test_linear_classifier_for_cifar_sized_inputs(rng: np.random.Generator) -> None:
    m = models.LinearClassifier(3072, 10, generator=rng)
    assert m.weight.shape == (10, 3072) and m.bias.shape == (10,)
    assert m.num_parameters() == 30_730
    images = rng.random((4, 32, 32, 3)).astype(np.float32)
    out = m(images)
    assert out.shape == (4, 10)
    expected = images.reshape(4, -1) @ m.weight.data.T + m.bias.data
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("make", "x_shape", "out_shape"),
    [
        (lambda: models.LinearRegression(1), (5,), (5, 1)),
        (lambda: models.LinearRegression(3, 2), (5, 3), (5, 2)),
        (lambda: models.PolynomialRegression(3), (5,), (5, 1)),
        (lambda: models.PolynomialRegression(3), (5, 1), (5, 1)),
        (lambda: models.PolynomialFeatures(4), (5, 1), (5, 4)),
        (lambda: models.QuadraticFeatures(3), (5, 3), (5, 9)),
        (lambda: models.QuadraticModel(4, 3), (5, 2, 2), (5, 3)),
        (lambda: models.LinearClassifier(6, 4), (5, 2, 3), (5, 4)),
        (lambda: models.LogisticRegression(3), (5, 3), (5,)),
        (lambda: models.LogisticRegression(3, 4), (5, 3), (5, 4)),
        (lambda: models.MLP(3, [8, 8], 4), (5, 3), (5, 4)),
    ],
)
def test_forward_shapes(
    rng: np.random.Generator, make: object, x_shape: tuple, out_shape: tuple
) -> None:
    m = make()  # type: ignore[operator]
    assert m(rng.normal(size=x_shape).astype(np.float32)).shape == out_shape


def test_feature_maps_compute_the_right_columns(rng: np.random.Generator) -> None:
    x = rng.normal(size=(6, 3))
    q = models.QuadraticFeatures(3)(x).data
    i, j = np.triu_indices(3)
    expected = np.concatenate([x, np.stack([x[:, a] * x[:, b] for a, b in zip(i, j)], 1)], 1)
    np.testing.assert_allclose(q, expected, rtol=1e-12)
    t = rng.normal(size=7)
    p = models.PolynomialFeatures(3)(t).data
    np.testing.assert_allclose(p, np.stack([t, t**2, t**3], axis=1), rtol=1e-12)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: models.PolynomialFeatures(0), "order"),
        (lambda: models.PolynomialRegression(2.5), "2.5"),
        (lambda: models.QuadraticFeatures(0), "in_features"),
        (lambda: models.LogisticRegression(3, 1), "num_classes"),
        (lambda: models.QuadraticFeatures(2)(np.zeros((4, 3))), r"\(N, 2\)"),
        (lambda: models.PolynomialFeatures(2)(np.zeros((4, 2))), r"\(4, 2\)"),
    ],
)
def test_bad_arguments(make: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()  # type: ignore[operator]


# ---------------------------------------------------------------------- closed-form fits
def test_lecture_points_least_squares() -> None:
    x, y = data.lecture_points()
    m = models.LinearRegression(1).fit_least_squares(x, y)
    np.testing.assert_allclose(m.weight.data, [[0.5]], atol=1e-6)
    np.testing.assert_allclose(m.bias.data, [2.0], atol=1e-6)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_polynomial_least_squares_matches_polyfit(rng: np.random.Generator, order: int) -> None:
    x = rng.uniform(-1, 1, size=30)
    y = np.cos(3 * x) + 0.1 * rng.normal(size=30)
    m = models.PolynomialRegression(order, dtype=np.float64).fit_least_squares(x, y)
    np.testing.assert_allclose(m.coefficients(), np.polyfit(x, y, order)[::-1], atol=1e-8)
    np.testing.assert_allclose(m(x).data[:, 0], np.polyval(np.polyfit(x, y, order), x),
                               atol=1e-8)


def test_linear_least_squares_matches_lstsq(rng: np.random.Generator) -> None:
    X = rng.normal(size=(40, 4))
    Y = rng.normal(size=(40, 2))
    m = models.LinearRegression(4, 2, dtype=np.float64).fit_least_squares(X, Y)
    A = np.concatenate([X, np.ones((40, 1))], axis=1)
    theta = np.linalg.lstsq(A, Y, rcond=None)[0]
    np.testing.assert_allclose(m.weight.data, theta[:4].T, atol=1e-10)
    np.testing.assert_allclose(m.bias.data, theta[4], atol=1e-10)


def test_least_squares_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="5 samples.*4"):
        models.LinearRegression(1).fit_least_squares(np.zeros(5), np.zeros(4))


def test_lecture_points_by_gradient_descent() -> None:
    """The lecture's first example: GD on the L2 loss finds the line y = 0.5 x + 2."""
    x, y = data.lecture_points()
    x = x.astype(np.float64).reshape(-1, 1)
    y = y.astype(np.float64).reshape(-1, 1)
    m = models.LinearRegression(1, dtype=np.float64)
    m.weight.data[...] = 0.0
    m.bias.data[...] = 0.0
    opt = optim.GD(m.parameters(), lr=0.02)
    for _ in range(3000):
        opt.zero_grad()
        losses.l2(m(x), y).backward()
        opt.step()
    assert m.weight.data[0, 0] == pytest.approx(0.5, abs=1e-4)
    assert m.bias.data[0] == pytest.approx(2.0, abs=1e-4)


def test_capacity_experiment() -> None:
    """Orders 1, 2, 3, 4, 12 on noisy sin(2 pi x): 12 over-fits, 1-2 under-fit.

    Medians over ten fixed seeds, so that no single unlucky sample decides. Test points are
    drawn over the training points' range (interpolation, the lecture's setting).
    """
    orders = (1, 2, 3, 4, 12)
    train_err: dict[int, list[float]] = {k: [] for k in orders}
    test_err: dict[int, list[float]] = {k: [] for k in orders}
    for seed in range(10):
        gen = np.random.default_rng(seed)
        x, y = data.noisy_curve(15, rng=gen, noise=0.2)
        xt, yt = data.noisy_curve(200, rng=gen, noise=0.2, low=float(x.min()),
                                  high=float(x.max()))
        for k in orders:
            m = models.PolynomialRegression(k, dtype=np.float64).fit_least_squares(x, y)
            train_err[k].append(float(np.mean((m(x.astype(np.float64)).data[:, 0] - y) ** 2)))
            test_err[k].append(float(np.mean((m(xt.astype(np.float64)).data[:, 0] - yt) ** 2)))
            if k == 12:  # more capacity never fits the training points worse
                assert train_err[12][-1] <= min(train_err[j][-1] for j in orders) + 1e-9
    tr = {k: float(np.median(v)) for k, v in train_err.items()}
    te = {k: float(np.median(v)) for k, v in test_err.items()}
    assert tr[12] < min(tr[k] for k in (1, 2, 3, 4)), tr
    assert te[12] > min(te[3], te[4]), te
    assert min(tr[1], tr[2]) > max(tr[3], tr[4]), tr
    assert min(te[1], te[2]) > max(te[3], te[4]), te


# ---------------------------------------------------------------------- feature spaces
def test_quadratic_features_make_two_circles_linearly_separable(
    rng: np.random.Generator,
) -> None:
    X, y = data.two_circles(400, rng=rng)
    accuracy = {}
    for name, F in (("raw", X), ("quadratic", models.QuadraticFeatures(2)(X).data)):
        clf = models.LinearClassifier(F.shape[1], 2, generator=rng)
        opt = optim.Adam(clf.parameters(), lr=0.05)
        h = fit(clf, losses.softmax_log_likelihood, opt, (F, y), epochs=30, batch_size=32,
                rng=rng, verbose=0)
        accuracy[name] = h.train_accuracy[-1]
    assert accuracy["quadratic"] >= 0.99, accuracy
    assert 0.3 <= accuracy["raw"] <= 0.7, accuracy


# ---------------------------------------------------------------------- logistic regression
def test_predict_proba_rows_sum_to_one(rng: np.random.Generator) -> None:
    x = rng.normal(size=(10, 3)).astype(np.float32)
    for c in (2, 5):
        m = models.LogisticRegression(3, c, generator=rng)
        p = m.predict_proba(x)
        assert p.shape == (10, c)
        assert (p >= 0).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    binary = models.LogisticRegression(3, 2, generator=rng)  # p1 = sigmoid(w x + b)
    s = binary(x).data
    np.testing.assert_allclose(binary.predict_proba(x)[:, 1], 1 / (1 + np.exp(-s)), rtol=1e-5)


def test_logistic_regression_matches_sklearn(rng: np.random.Generator) -> None:
    sk = pytest.importorskip("sklearn.linear_model")
    X = rng.normal(size=(200, 3))
    p = 1 / (1 + np.exp(-(X @ np.array([1.5, -2.0, 0.5]) + 0.3)))
    y = (rng.random(200) < p).astype(np.int64)  # overlapping classes: a finite optimum
    m = models.LogisticRegression(3, 2, dtype=np.float64)
    opt = optim.GD(m.parameters(), lr=1.0)
    for _ in range(500):
        opt.zero_grad()
        losses.sigmoid_binary_cross_entropy(m(X), y.astype(np.float64)).backward()
        opt.step()
    ref = sk.LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(m.linear.weight.data, ref.coef_, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(m.linear.bias.data, ref.intercept_, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(m.predict_proba(X), ref.predict_proba(X), atol=1e-4)


# ---------------------------------------------------------------------- configs
@pytest.mark.parametrize(
    "make",
    [
        lambda: models.LinearRegression(3, 2),
        lambda: models.LinearRegression(2, dtype=np.float64),
        lambda: models.PolynomialFeatures(3),
        lambda: models.PolynomialRegression(4, dtype=np.float64),
        lambda: models.QuadraticFeatures(3),
        lambda: models.QuadraticModel(3, 2),
        lambda: models.LinearClassifier(4, 3),
        lambda: models.LogisticRegression(4),
        lambda: models.LogisticRegression(4, 3, dtype=np.float64),
        lambda: models.MLP(4, [6, 5], 3, activation="tanh", dropout=0.1, batch_norm=True),
        lambda: models.LeNet(3, image_size=12, dtype=np.float64),
        lambda: models.ConvNet((2, 3), 4, in_channels=3, image_size=4, hidden=5,
                               batch_norm=True, dropout=0.1, channels_last=True),
    ],
)
def test_config_round_trip(rng: np.random.Generator, make: object) -> None:
    m = make()  # type: ignore[operator]
    cfg = m.get_config()
    m2 = from_config(cfg)
    assert type(m2) is type(m)
    assert m2.get_config() == cfg
    m2.load_state_dict(m.state_dict())
    for a, b in zip(m.parameters(), m2.parameters()):
        assert a.dtype == b.dtype
    n_in = 1 if isinstance(m, (models.PolynomialFeatures, models.PolynomialRegression)) else (
        m.in_features)
    dtype = next(iter(m.parameters())).dtype if m.num_parameters() else np.float64
    x = rng.normal(size=(5, n_in)).astype(dtype)
    m.eval()
    m2.eval()
    np.testing.assert_array_equal(m(x).data, m2(x).data)


def test_every_model_has_a_config_test() -> None:
    tested = {"LinearRegression", "PolynomialFeatures", "PolynomialRegression",
              "QuadraticFeatures", "QuadraticModel", "LinearClassifier", "LogisticRegression",
              "MLP", "LeNet", "ConvNet"}
    assert set(models.__all__) == tested
    assert models.MLP is nn.MLP
