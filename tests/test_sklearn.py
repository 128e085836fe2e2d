"""glassnet.sklearn: scikit-learn's own estimator checks, the meta-estimators, pickling,
partial_fit, and defaults that train well."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.compose import TransformedTargetRegressor  # noqa: E402
from sklearn.datasets import load_digits, load_iris, make_friedman1  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    cross_val_score,
    train_test_split,
    validation_curve,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import sklearn as gs  # noqa: E402

ESTIMATORS = [
    gs.GlassnetClassifier(),
    gs.GlassnetRegressor(),
    gs.MLPClassifier(),
    gs.LinearClassifier(),
    gs.LogisticRegression(),
    gs.PolynomialRegression(),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    """Every check of scikit-learn's own suite, with the default hyper-parameters."""
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


# ---------------------------------------------------------------------- training well
@pytest.mark.parametrize(
    ("make", "least"),
    [
        (gs.MLPClassifier, 0.96),
        (gs.GlassnetClassifier, 0.96),
        (lambda: gs.GlassnetClassifier(model="quadratic"), 0.96),
        (gs.LogisticRegression, 0.94),
        (gs.LinearClassifier, 0.92),
    ],
)
def test_defaults_train_well_on_digits(digits, make, least):
    Xtr, Xte, ytr, yte = digits
    clf = make_pipeline(StandardScaler(), make()).fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= least


def test_regressor_defaults_train_well():
    X, y = make_friedman1(1000, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    for est, least in ((gs.GlassnetRegressor(), 0.93), (gs.PolynomialRegression(), 0.9)):
        reg = TransformedTargetRegressor(make_pipeline(StandardScaler(), est),
                                         transformer=StandardScaler())
        assert reg.fit(Xtr, ytr).score(Xte, yte) >= least


def test_logistic_regression_matches_scikit_learn(iris):
    """Unpenalised logistic regression has one optimum: both libraries find it."""
    from sklearn.linear_model import LogisticRegression as SkLR

    X, y = iris
    X = StandardScaler().fit_transform(X)
    binary = y != 0
    Xb, yb = X[binary][:, :2], y[binary]  # two species by their sepals: not separable
    ours = gs.LogisticRegression(lr=0.05, epochs=2000, n_iter_no_change=None).fit(Xb, yb)
    ref = SkLR(C=np.inf, tol=1e-10, max_iter=10_000).fit(Xb, yb)
    np.testing.assert_allclose(ours.predict_proba(Xb), ref.predict_proba(Xb), atol=2e-3)
    np.testing.assert_allclose(ours.model_.linear.weight.data[0], ref.coef_[0], rtol=2e-2)


def test_loss_curve_and_early_stopping(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    clf = gs.GlassnetClassifier(hidden=(16,), lr=1e-2, epochs=500).fit(X, y)
    assert len(clf.loss_curve_) == clf.n_iter_ < 500  # stopped before the last epoch
    assert clf.loss_curve_[-1] < 0.25 * clf.loss_curve_[0]
    full = gs.GlassnetClassifier(hidden=(16,), lr=1e-2, epochs=50, n_iter_no_change=None)
    assert full.fit(X, y).n_iter_ == 50


# ---------------------------------------------------------------------- the API
def test_fitted_attributes(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = gs.MLPClassifier(hidden=(8,), epochs=5).fit(X, names[y])
    assert clf.classes_.tolist() == names.tolist()
    assert clf.n_features_in_ == 4
    assert not hasattr(clf, "feature_names_in_")  # a plain array has no column names
    assert isinstance(clf.model_, gn.nn.Module)
    assert set(clf.predict(X)) <= set(names)
    p = clf.predict_proba(X)
    assert p.shape == (150, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(p))
    assert clf.decision_function(X).shape == (150, 3)


def test_feature_names_from_a_data_frame(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    clf = gs.LogisticRegression(epochs=5).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["sl", "sw", "pl", "pw"]


def test_binary_scores_and_probabilities_agree(iris):
    X, y = iris
    X, y = StandardScaler().fit_transform(X[y != 0]), y[y != 0]
    for clf in (gs.MLPClassifier(hidden=(8,)), gs.LogisticRegression(),
                gs.GlassnetClassifier(loss="logistic", hidden=(8,))):
        clf.fit(X, y)
        d = clf.decision_function(X)
        assert d.shape == (len(y),)
        assert (clf.predict(X) == np.where(d > 0, 2, 1)).all()
        p1 = clf.predict_proba(X)[:, 1]
        assert ((p1 > 0.5) == (d > 0)).all()


def test_hinge_loss_has_no_probabilities(iris):
    X, y = iris
    clf = gs.LinearClassifier(epochs=5)
    assert not hasattr(clf, "predict_proba")
    clf.fit(X, y)
    assert not hasattr(clf, "predict_proba")
    assert hasattr(gs.LinearClassifier(loss="softmax").fit(X, y), "predict_proba")


def test_model_output_is_the_decision_function(iris):
    X, y = iris
    clf = gs.MLPClassifier(hidden=(8,), epochs=5).fit(X, y)
    scores = clf.model_(gn.tensor(X.astype(np.float64))).data
    np.testing.assert_allclose(clf.decision_function(X), scores, rtol=1e-12)


def test_seed(iris):
    X, y = iris
    a = gs.MLPClassifier(hidden=(8,), epochs=3).fit(X, y).decision_function(X)
    b = gs.MLPClassifier(hidden=(8,), epochs=3).fit(X, y).decision_function(X)
    c = gs.MLPClassifier(hidden=(8,), epochs=3, seed=1).fit(X, y).decision_function(X)
    d = gs.MLPClassifier(hidden=(8,), epochs=3, seed=None).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, d)


def test_partial_fit_continues(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    clf = gs.MLPClassifier(hidden=(16,), lr=1e-2)
    with pytest.raises(ValueError, match="classes must be given"):
        clf.partial_fit(X, y)
    for _ in range(60):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 60 and len(clf.loss_curve_) == 60
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="differs from classes_"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels not in classes_.*\[7\]"):
        clf.partial_fit(X, np.where(y == 2, 7, y))
    # partial_fit in pieces is fit's training: the same first epoch as a one-epoch fit
    one = gs.MLPClassifier(hidden=(16,), lr=1e-2, epochs=1).fit(X, y)
    first = gs.MLPClassifier(hidden=(16,), lr=1e-2).partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(one.decision_function(X), first.decision_function(X))


def test_regressor_multi_output_and_partial_fit(rng):
    X = rng.normal(size=(200, 3))
    Y = np.stack([X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 2]], axis=1)
    reg = gs.GlassnetRegressor(model="linear", lr=0.05, epochs=500).fit(X, Y)
    assert reg.predict(X).shape == (200, 2)
    assert reg.score(X, Y) > 0.999
    np.testing.assert_allclose(reg.model_.weight.data, [[1, -2, 0.5], [1, 0, -1]], atol=2e-2)
    one = gs.GlassnetRegressor(hidden=(8,))
    for _ in range(3):
        one.partial_fit(X, Y[:, 0])
    assert one.predict(X).shape == (200,) and one.n_iter_ == 3
    with pytest.raises(ValueError, match="2 outputs but the model was fitted with 1"):
        one.partial_fit(X, Y)


def test_custom_model_and_regularizer(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)

    def tiny(n_in, n_out):
        return gn.nn.Sequential(gn.nn.Linear(n_in, 4), gn.nn.Tanh(), gn.nn.Linear(4, n_out))

    clf = gs.GlassnetClassifier(model=tiny, lr=1e-2).fit(X, y)
    assert isinstance(clf.model_[1], gn.nn.Tanh) and clf.score(X, y) > 0.9
    kw = {"lr": 0.05, "epochs": 200, "n_iter_no_change": None}
    plain = gs.LogisticRegression(**kw).fit(X, y)
    shrunk = gs.LogisticRegression(**kw, regularizer="l2:0.05").fit(X, y)
    w_plain = np.linalg.norm(plain.model_.linear.weight.data)
    assert np.linalg.norm(shrunk.model_.linear.weight.data) < 0.5 * w_plain
    pen = gs.LogisticRegression(**kw, regularizer=gn.regularizers.L2(0.05)).fit(X, y)
    np.testing.assert_array_equal(pen.model_.linear.weight.data,
                                  shrunk.model_.linear.weight.data)


@pytest.mark.parametrize(
    ("est", "message"),
    [
        (gs.GlassnetClassifier(model="cnn"), "model='cnn' is not one of"),
        (gs.GlassnetClassifier(lr=-1.0), "lr must be a finite number > 0, got -1.0"),
        (gs.GlassnetClassifier(hidden=(8, 0)), "hidden size must be an integer >= 1, got 0"),
        (gs.GlassnetClassifier(hidden="wide"), "hidden must be a sequence"),
        (gs.GlassnetClassifier(epochs=0), "epochs must be an integer >= 1, got 0"),
        (gs.GlassnetClassifier(dropout=1.0), r"dropout must be in \[0, 1\)"),
        (gs.GlassnetClassifier(loss="l2"), "loss='l2' is not one of"),
        (gs.GlassnetClassifier(loss="logistic"), "loss='logistic' needs two classes, got 3"),
        (gs.GlassnetClassifier(optimizer="lbfgs"), "unknown optimizer 'lbfgs'"),
        (gs.GlassnetClassifier(regularizer="l3:1"), "unknown regularizer 'l3'"),
        (gs.GlassnetClassifier(seed=-1), "seed must be an integer >= 0, got -1"),
        (gs.GlassnetRegressor(loss="hinge"), "loss='hinge' is not one of"),
        (gs.PolynomialRegression(order=0), "order must be an integer >= 1, got 0"),
    ],
)
def test_bad_hyperparameters_are_named(iris, est, message):
    X, y = iris
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)


def test_bad_input_messages(iris):
    X, y = iris
    clf = gs.MLPClassifier(epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.predict(X[:, :3])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gs.MLPClassifier().fit(bad, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        gs.MLPClassifier().fit(X, y + 0.5)
    with pytest.raises(ValueError, match="one class"):
        gs.MLPClassifier().fit(X, np.zeros(150))


# ---------------------------------------------------------------------- with scikit-learn
def test_pipeline_grid_search_cross_validation(digits):
    Xtr, Xte, ytr, yte = digits
    pipe = make_pipeline(StandardScaler(), gs.MLPClassifier(epochs=30))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden": [(16,), (64,)],
                               "mlpclassifier__lr": [1e-3, 1e-2]}, cv=3)
    grid.fit(Xtr, ytr)
    assert set(grid.best_params_) == {"mlpclassifier__hidden", "mlpclassifier__lr"}
    assert grid.score(Xte, yte) > 0.93
    scores = cross_val_score(make_pipeline(StandardScaler(), gs.LogisticRegression()),
                             Xtr, ytr, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9


def test_validation_curve_shows_capacity():
    """The lecture's capacity curve through scikit-learn: order 1 under-fits a cubic."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(120, 1))
    y = x[:, 0] ** 3 - 2 * x[:, 0] + rng.normal(scale=0.3, size=120)
    train, test = validation_curve(
        gs.PolynomialRegression(lr=0.05, epochs=400), x, y, param_name="order",
        param_range=[1, 3], cv=3,
    )
    assert train.mean(axis=1)[0] < 0.7 < train.mean(axis=1)[1]
    assert test.mean(axis=1)[1] > 0.9


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_pickle_round_trip(iris, est):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    target = y if isinstance(est, gs.GlassnetClassifier) else X[:, 0] * 2 - X[:, 1]
    fitted = clone(est).set_params(epochs=5).fit(X, target)
    copy = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(copy.predict(X), fitted.predict(X))
    if hasattr(fitted, "decision_function"):
        np.testing.assert_array_equal(copy.decision_function(X), fitted.decision_function(X))
    # the optimizer state travels too: one more epoch on each gives the same model
    kw = {"classes": np.unique(y)} if hasattr(fitted, "classes_") else {}
    np.testing.assert_array_equal(copy.partial_fit(X, target, **kw).predict(X),
                                  fitted.partial_fit(X, target, **kw).predict(X))


def test_model_saves_as_a_glassnet_checkpoint(iris, tmp_path):
    X, y = iris
    clf = gs.MLPClassifier(hidden=(8,), epochs=5).fit(X, y)
    gn.save(tmp_path / "clf.ckpt", clf.model_)
    back = gn.load(tmp_path / "clf.ckpt").model
    np.testing.assert_array_equal(back(gn.tensor(X.astype(np.float64))).data,
                                  clf.decision_function(X))


def test_missing_scikit_learn_names_the_extra():
    import subprocess
    import sys

    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import glassnet.sklearn\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert 'pip install "glassnet[sklearn]"' in out.stdout


def test_polynomial_regression_on_several_features_solves_least_squares(rng):
    """models.PolynomialRegression(in_features=D): each feature's own powers."""
    X = rng.uniform(-1, 1, size=(50, 2))
    y = 1.0 + X[:, 0] - 2 * X[:, 1] ** 2 + 0.5 * X[:, 0] ** 3
    m = gn.models.PolynomialRegression(3, dtype=np.float64, in_features=2)
    m.fit_least_squares(X, y)
    # the features are [x1, x2, x1^2, x2^2, x1^3, x2^3]
    np.testing.assert_allclose(m.linear.weight.data[0], [1, 0, 0, -2, 0.5, 0], atol=1e-10)
    np.testing.assert_allclose(m.linear.bias.data, [1.0], atol=1e-10)
    assert m.num_parameters() == 2 * 3 + 1
    with pytest.raises(ValueError, match=r"needs x of shape \(N, 2\), got \(50, 3\)"):
        m(gn.tensor(np.zeros((50, 3))))
    with pytest.raises(ValueError, match="coefficients"):
        m.coefficients()
