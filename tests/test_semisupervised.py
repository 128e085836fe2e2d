"""glassnet.semisupervised: self-training's rounds, its bookkeeping and its bad input."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import models, nn, optim
from glassnet.semisupervised import Round, SelfTraining, self_training


def _sgd(params):
    return optim.SGD(params, lr=0.5)


def _blobs(rng, n=40, gap=3.0):
    X = np.concatenate([rng.normal(-gap, 0.6, (n, 2)), rng.normal(gap, 0.6, (n, 2)),
                        rng.normal([gap, -gap], 0.6, (n, 2))])
    return X.astype(np.float32), np.repeat(np.arange(3), n)


class _Proba:
    """An estimator whose probabilities are fixed by hand: it tells exactly which rows
    cross the threshold, so the rounds can be checked against a hand count."""

    def __init__(self, table):
        self.table = table  # row of X (its first feature) -> probabilities
        self.fits = []

    def fit(self, X, y):
        self.fits.append((X.copy(), np.asarray(y).copy()))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        return np.array([self.table[int(x[0])] for x in X])


def test_rounds_follow_the_threshold_by_hand():
    # rows 10..13 unlabelled: 10 and 11 confident at once, 12 never, 13 at 0.9 exactly
    table = {0: [1.0, 0.0], 1: [0.0, 1.0], 10: [0.95, 0.05], 11: [0.02, 0.98],
             12: [0.6, 0.4], 13: [0.1, 0.9]}
    est = _Proba(table)
    XL = np.array([[0.0], [1.0]])
    XU = np.array([[10.0], [11.0], [12.0], [13.0]])
    st = SelfTraining(est, threshold=0.9, max_rounds=5).fit(XL, [0, 1], XU,
                                                            y_unlabelled=[0, 0, 0, 1])
    h = st.history_
    assert [r.added for r in h] == [0, 3]  # round 2 finds nothing above 0.9 and stops
    assert [r.labelled for r in h] == [2, 5]
    assert [r.remaining for r in h] == [4, 1]
    assert h[1].accuracy == pytest.approx(2 / 3)  # row 11's pseudo-label 1 is wrong
    assert h[1].confidence == pytest.approx((0.95 + 0.98 + 0.9) / 3)
    assert st.pseudo_index_.tolist() == [0, 1, 3]
    assert st.y_labelled_.tolist() == [0, 1, 0, 1, 1]
    assert len(est.fits) == 2 and est.fits[1][1].tolist() == [0, 1, 0, 1, 1]


def test_k_best_and_per_class_cap_each_round():
    table = {0: [1.0, 0.0], 1: [0.0, 1.0], 10: [0.95, 0.05], 11: [0.99, 0.01],
             12: [0.97, 0.03], 13: [0.08, 0.92]}
    XL, XU = np.array([[0.0], [1.0]]), np.array([[10.0], [11.0], [12.0], [13.0]])
    st = SelfTraining(_Proba(table), 0.9, max_rounds=1, per_class=2).fit(XL, [0, 1], XU)
    assert sorted(st.pseudo_index_.tolist()) == [1, 2, 3]  # class 0 keeps its 2 best
    st = SelfTraining(_Proba(table), 0.9, max_rounds=1, k_best=1).fit(XL, [0, 1], XU)
    assert st.pseudo_index_.tolist() == [1]  # the single most confident row
    st = SelfTraining(_Proba(table), 0.9, max_rounds=0).fit(XL, [0, 1], XU)
    assert [r.added for r in st.history_] == [0] and len(st.pseudo_index_) == 0


@pytest.mark.parametrize("make", [lambda: nn.MLP(2, [], 3, generator=0),
                                  lambda: nn.MLP(2, [8], 3, generator=0),
                                  lambda: models.LinearClassifier(2, 3, generator=0)])
def test_self_training_a_glassnet_module_labels_separable_blobs(rng, make):
    X, y = _blobs(rng)
    lab = np.array([0, 40, 80])
    unl = np.setdiff1d(np.arange(len(y)), lab)
    model = make()
    seen = []
    st = SelfTraining(model, threshold=0.8, max_rounds=5, epochs=40, rng=0,
                      optimizer=_sgd, callback=lambda r, s: seen.append(r.round))
    st.fit(X[lab], y[lab], X[unl], y_unlabelled=y[unl])
    assert seen == [r.round for r in st.history_]
    assert st.history_[-1].remaining == 0
    assert all(r.accuracy == 1.0 for r in st.history_[1:])
    assert st.score(X, y) == 1.0
    assert st.model is model
    probs = st.predict_proba(X)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


def test_each_round_restarts_from_the_initial_weights(rng):
    X, y = _blobs(rng, n=10)
    model = nn.MLP(2, [], 3, generator=0)
    start = {k: v.copy() for k, v in model.state_dict().items()}
    firsts = []

    def grab(entry, st):
        firsts.append(st.model.state_dict()["0.weight"].copy())

    SelfTraining(model, 0.5, max_rounds=0, epochs=1, batch_size=100, rng=0,
                 optimizer=_sgd, callback=grab).fit(X[:3], y[:3], X[3:])
    # retrained from scratch, the same data and seed give bit-identical weights
    model.load_state_dict(start)
    SelfTraining(model, 0.5, max_rounds=0, epochs=1, batch_size=100, rng=0,
                 optimizer=_sgd, callback=grab).fit(X[:3], y[:3], X[3:])
    np.testing.assert_array_equal(firsts[0], firsts[1])
    assert not np.array_equal(firsts[0], start["0.weight"])


def test_functional_form_returns_model_and_history(rng):
    X, y = _blobs(rng, n=15)
    model, history = self_training(nn.MLP(2, [], 3, generator=1), X[[0, 15, 30]], [0, 1, 2],
                                   X[1:15], threshold=0.7, max_rounds=3, epochs=30, rng=0,
                                   optimizer=_sgd)
    assert isinstance(model, nn.MLP)
    assert all(isinstance(h, Round) for h in history) and history[0].round == 0
    assert history[0].to_dict()["labelled"] == 3


def test_works_with_the_sklearn_style_glassnet_classifier(rng):
    pytest.importorskip("sklearn")
    from glassnet.sklearn import LogisticRegression

    X, y = _blobs(rng, n=20)
    lab = np.array([0, 1, 20, 21, 40, 41])
    unl = np.setdiff1d(np.arange(len(y)), lab)
    st = SelfTraining(LogisticRegression(lr=0.1, seed=0), threshold=0.5, max_rounds=3)
    st.fit(X[lab], y[lab], X[unl], y_unlabelled=y[unl])
    assert st.history_[1].added > 0
    assert st.score(X, y) > 0.9


@pytest.mark.parametrize("kwargs, match", [
    ({"threshold": 0.0}, "threshold must be in"),
    ({"threshold": 1.5}, "threshold must be in"),
    ({"threshold": float("nan")}, "threshold must be in"),
    ({"max_rounds": -1}, "max_rounds"),
    ({"k_best": 0}, "k_best"),
    ({"per_class": 0}, "per_class"),
    ({"epochs": 0}, "epochs"),
    ({"steps": 0}, "steps"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SelfTraining(nn.MLP(2, [], 2), **kwargs)


def test_a_model_without_fit_or_scores_is_refused():
    with pytest.raises(TypeError, match="glassnet Module"):
        SelfTraining(object())


@pytest.mark.parametrize("XL, yL, XU, match", [
    (np.zeros((0, 2)), [], np.zeros((3, 2)), "X_labelled is empty"),
    (np.zeros(4), [0, 1, 0, 1], np.zeros((3, 2)), "2-D"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), [0, 1], np.zeros((3, 2)), "NaN or infinite"),
    (np.zeros((2, 2)), [0, 1], np.array([[np.inf, 0.0]]), "X_unlabelled holds NaN"),
    (np.zeros((2, 2)), [0, 1, 1], np.zeros((3, 2)), "2 samples but y_labelled has 3"),
    (np.zeros((2, 2)), [0, 5], np.zeros((3, 2)), "label 5 in y_labelled is out of range"),
    (np.zeros((2, 2)), [0, 1], np.zeros((3, 3)), "shape"),
])
def test_bad_data_raises_a_clear_error(XL, yL, XU, match):
    st = SelfTraining(nn.MLP(2, [], 2, generator=0), epochs=1)
    with pytest.raises(ValueError, match=match):
        st.fit(XL, yL, XU)


def test_true_labels_of_the_wrong_length_are_refused():
    st = SelfTraining(nn.MLP(2, [], 2, generator=0), epochs=1)
    with pytest.raises(ValueError, match="X_unlabelled has 3 samples but y_unlabelled"):
        st.fit(np.zeros((2, 2)), [0, 1], np.zeros((3, 2)), y_unlabelled=[0, 1])
