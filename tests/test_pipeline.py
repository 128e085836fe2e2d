"""What ``glassnet train`` runs: data preparation, models, losses, optimizers by name."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import data, losses, models, optim, regularizers
from glassnet import pipeline as P
from glassnet.training import History

pytest.importorskip("sklearn")  # the digits ship with scikit-learn


# ---------------------------------------------------------------------- prepare_data
@pytest.fixture(scope="module")
def digits() -> P.PreparedData:
    return P.prepare_data("digits", seed=3)


def test_digits_splits_and_sizes(digits: P.PreparedData) -> None:
    (xtr, ytr), (xva, yva), (xte, yte) = digits.train, digits.val, digits.test
    assert xtr.shape[0] + xva.shape[0] == 1347 and xte.shape == (450, 64) and yte.shape == (450,)
    assert xva.shape[0] == pytest.approx(0.1 * 1347, abs=1)
    assert xtr.dtype == xva.dtype == xte.dtype == np.float32
    assert ytr.dtype == np.int64 and set(np.unique(ytr)) == set(range(10))
    assert digits.num_classes == 10 and digits.in_features == 64
    assert digits.input_shape == (8, 8) and digits.classes == [str(i) for i in range(10)]
    # the validation split is stratified
    np.testing.assert_allclose(np.bincount(yva) / len(yva), np.bincount(ytr) / len(ytr),
                               atol=0.03)


def test_standardization_uses_training_statistics_only(digits: P.PreparedData) -> None:
    xtr = digits.train[0].astype(np.float64)
    raw_train = xtr * digits.scale + digits.mean  # undo the scaling
    np.testing.assert_allclose(raw_train.mean(axis=0), digits.mean, atol=1e-6)
    varying = digits.scale != 1.0
    np.testing.assert_allclose(xtr.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(xtr[:, varying].std(axis=0), 1, atol=1e-4)
    assert np.abs(digits.test[0].mean(axis=0)).max() > 1e-3  # not refitted on the test set


def test_preprocess_reproduces_the_prepared_test_features(digits: P.PreparedData) -> None:
    raw, labels = data.load_digits("test")
    np.testing.assert_array_equal(labels, digits.test[1])
    x = P.preprocess(raw, digits.meta())
    np.testing.assert_allclose(x, digits.test[0], rtol=1e-6, atol=1e-6)
    one = P.preprocess(raw[0], digits.meta())  # a single sample becomes a batch of one
    np.testing.assert_allclose(one, x[:1])


@pytest.mark.parametrize(
    ("raw", "error", "match"),
    [
        (np.zeros((3, 7, 8)), ValueError, r"\(8, 8\).*\(3, 7, 8\)"),
        (np.zeros(64), ValueError, r"\(64,\)"),
        (np.array([["a"] * 8] * 8), TypeError, "numeric"),
    ],
)
def test_preprocess_rejects_bad_inputs(
    digits: P.PreparedData, raw: np.ndarray, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        P.preprocess(raw, digits.meta())


@pytest.mark.parametrize("name", ["circles", "moons", "xor", "spirals", "blobs"])
def test_toy_sets_are_reproducible_per_seed(name: str) -> None:
    a = P.prepare_data(name, seed=1, n=200)
    b = P.prepare_data(name, seed=1, n=200)
    c = P.prepare_data(name, seed=2, n=200)
    np.testing.assert_array_equal(a.train[0], b.train[0])
    np.testing.assert_array_equal(a.test[1], b.test[1])
    assert not np.array_equal(a.train[0], c.train[0])
    n_train = a.train[0].shape[0] + a.val[0].shape[0]
    assert (n_train, a.test[0].shape[0]) == (150, 50)
    assert a.num_classes == int(max(a.train[1].max(), a.test[1].max())) + 1 >= 2
    assert a.source == "generated"


def test_regression_sets() -> None:
    curve = P.prepare_data("curve", seed=0, n=12, noise=0.0)
    assert curve.num_classes is None and curve.val is None
    assert curve.train[0].shape == (12, 1) and curve.train[1].shape == (12, 1)
    np.testing.assert_allclose(curve.train[1], np.sin(2 * np.pi * curve.train[0]), atol=1e-5)
    points = P.prepare_data("points")
    np.testing.assert_array_equal(points.train[0][:, 0], [2, 4, 6, 8])
    np.testing.assert_array_equal(points.train[1][:, 0], [3, 4, 5, 6])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"name": "imagenet"}, "'imagenet'.*digits"), ({"name": "digits", "val_fraction": 1.0},
                                                     "val_fraction.*1.0")],
)
def test_prepare_data_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        P.prepare_data(**kwargs)


def test_missing_data_without_download_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(data.DatasetNotFoundError, match="MNIST"):
        P.prepare_data("mnist", download=False)


def test_dataset_names() -> None:
    names = P.dataset_names()
    assert {"digits", "mnist", "fashion-mnist", "cifar10", "circles", "moons", "xor",
            "spirals", "blobs", "curve", "points"} == set(names)


# ---------------------------------------------------------------------- models, losses
@pytest.mark.parametrize(
    ("kind", "classes", "cls", "count"),
    [
        ("linear", 10, models.LinearClassifier, 10 * 65),
        ("logistic", 10, models.LogisticRegression, 10 * 65),
        ("logistic", 2, models.LogisticRegression, 65),
        ("mlp", 10, models.MLP, 64 * 32 + 32 + 32 * 10 + 10),
        ("quadratic", 3, models.QuadraticModel, 3 * 65 * 66 // 2),
        ("linreg", None, models.LinearRegression, 65),
    ],
)
def test_build_model(kind: str, classes: int | None, cls: type, count: int) -> None:
    m = P.build_model(kind, 64, classes, hidden=[32])
    assert type(m) is cls and m.num_parameters() == count


def test_build_poly_and_mlp_options() -> None:
    m = P.build_model("poly", 1, None, order=5)
    assert isinstance(m, models.PolynomialRegression) and m.order == 5
    mlp = P.build_model("mlp", 4, 3, hidden=[8, 8], dropout=0.2, batch_norm=True,
                        activation="tanh")
    assert mlp.get_config()["kwargs"]["hidden_sizes"] == [8, 8]
    assert mlp.dropout == 0.2 and mlp.batch_norm and mlp.activation == "tanh"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("poly", 1, 3), "regression model"),
        (("poly", 2, None), "one input feature"),
        (("mlp", 4, None), "classifier"),
        (("quadratic", 784, 10), "784 features.*3,085,050"),
        (("resnet", 4, 3), "'resnet'.*mlp"),
    ],
)
def test_build_model_rejects(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        P.build_model(*args)


def test_build_loss_defaults_and_names(rng: np.random.Generator) -> None:
    clf = models.LinearClassifier(3, 4)
    assert P.build_loss(None, clf, 4) == ("softmax", losses.softmax_log_likelihood)
    assert P.build_loss(None, models.LinearRegression(3), None) == ("l2", losses.l2)
    assert P.build_loss("hinge", clf, 4) == ("hinge", losses.hinge)
    name, fn = P.build_loss(None, models.LogisticRegression(3), 2)
    assert name == "logistic"
    s = rng.normal(size=6)
    y = np.array([0, 1, 1, 0, 1, 0])
    expected = np.mean(np.log1p(np.exp(-s)) * y + np.log1p(np.exp(s)) * (1 - y))
    assert fn(gn.tensor(s[:, None]), y).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("name", "classes", "match"),
    [("l2", 4, "classification"), ("hinge", None, "regression"), ("logistic", 3, "two"),
     ("cross", 4, "'cross'")],
)
def test_build_loss_rejects(name: str, classes: int | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        P.build_loss(name, models.LinearClassifier(3, 4), classes)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("sgd", optim.SGD), ("gd", optim.GD), ("adam", optim.Adam), ("adamw", optim.AdamW),
     ("rmsprop", optim.RMSProp), ("adagrad", optim.AdaGrad)],
)
def test_build_optimizer(name: str, cls: type) -> None:
    m = models.LinearClassifier(3, 2)
    opt = P.build_optimizer(name, m.parameters(), 0.25)
    assert type(opt) is cls and opt.param_groups[0]["lr"] == 0.25
    with pytest.raises(ValueError, match="'sgdd'"):
        P.build_optimizer("sgdd", m.parameters(), 0.1)


def test_parse_regularizer() -> None:
    assert P.parse_regularizer(None) == (None, [])
    pen, cons = P.parse_regularizer("l2:1e-4")
    assert isinstance(pen, regularizers.L2) and pen.lam == 1e-4 and cons == []
    pen, cons = P.parse_regularizer("elastic:1e-3:0.5, maxnorm:3")
    assert isinstance(pen, regularizers.ElasticNet) and (pen.lam, pen.beta) == (1e-3, 0.5)
    assert len(cons) == 1 and isinstance(cons[0], regularizers.MaxNorm) and cons[0].c == 3.0
    pen, _ = P.parse_regularizer("l1:0.5")
    assert isinstance(pen, regularizers.L1)


@pytest.mark.parametrize(
    ("spec", "match"),
    [("l3:1", "'l3'"), ("l2:x", "numbers"), ("l2", "1 value"), ("elastic:1", "2 value"),
     ("l2:1,l1:1", "only one penalty"), ("l2:-1", "-1")],
)
def test_parse_regularizer_rejects(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        P.parse_regularizer(spec)


# ---------------------------------------------------------------------- files
def test_check_writable(tmp_path: Path) -> None:
    out = P.check_writable(tmp_path / "a" / "b")
    assert out.is_dir() and list(out.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="file"):
        P.check_writable(tmp_path / "file")
    with pytest.raises(OSError, match=str(tmp_path / "file" / "sub")):
        P.check_writable(tmp_path / "file" / "sub")


def test_plot_history_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    h = History(train_loss=[1.0, 0.5], train_accuracy=[0.5, 0.8], val_loss=[1.1, None],
                val_accuracy=[0.4, 0.7], seconds=[0.1, 0.1], lr=[0.1, 0.1], test_accuracy=0.75)
    path = P.plot_history(h, tmp_path / "h.png", "title")
    assert path == tmp_path / "h.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reg = History(train_loss=[1.0], train_accuracy=[None], val_loss=[None],
                  val_accuracy=[None], seconds=[0.1], lr=[0.1])
    assert P.plot_history(reg, tmp_path / "r.png").stat().st_size > 1000
    assert sorted(os.listdir(tmp_path)) == ["h.png", "r.png"]
