"""Accuracy, top-k accuracy and the confusion matrix, with scikit-learn as the oracle."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.metrics import accuracy, confusion_matrix, predictions, top_k_accuracy

sk_metrics = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize(("n", "c"), [(1, 3), (50, 2), (200, 10)])
def test_accuracy_matches_sklearn(rng: np.random.Generator, n: int, c: int) -> None:
    scores = rng.normal(size=(n, c))
    y = rng.integers(0, c, size=n)
    expected = sk_metrics.accuracy_score(y, scores.argmax(axis=1))
    assert accuracy(scores, y) == pytest.approx(expected, abs=1e-12)
    assert accuracy(gn.tensor(scores), list(y)) == pytest.approx(expected, abs=1e-12)


def test_accuracy_of_binary_scores(rng: np.random.Generator) -> None:
    """(N,) or (N, 1) scores of a binary classifier: class 1 where the score is > 0."""
    s = rng.normal(size=40)
    y = rng.integers(0, 2, size=40)
    expected = sk_metrics.accuracy_score(y, (s > 0).astype(int))
    assert accuracy(s, y) == pytest.approx(expected)
    assert accuracy(s[:, None], y) == pytest.approx(expected)
    assert predictions(np.array([-1.0, 0.0, 2.0])).tolist() == [0, 0, 1]


@pytest.mark.parametrize(("c", "k"), [(3, 1), (5, 2), (10, 3), (10, 5), (10, 9)])
def test_top_k_accuracy_matches_sklearn(rng: np.random.Generator, c: int, k: int) -> None:
    scores = rng.normal(size=(300, c))
    y = rng.integers(0, c, size=300)
    y[:c] = np.arange(c)  # every class present, as scikit-learn requires
    expected = sk_metrics.top_k_accuracy_score(y, scores, k=k, labels=np.arange(c))
    assert top_k_accuracy(scores, y, k=k) == pytest.approx(expected, abs=1e-12)


def test_top_1_is_accuracy_and_top_c_is_one(rng: np.random.Generator) -> None:
    scores = rng.normal(size=(100, 6))
    y = rng.integers(0, 6, size=100)
    assert top_k_accuracy(scores, y, k=1) == accuracy(scores, y)
    assert top_k_accuracy(scores, y, k=6) == 1.0


@pytest.mark.parametrize("c", [2, 3, 10])
def test_confusion_matrix_matches_sklearn(rng: np.random.Generator, c: int) -> None:
    t = rng.integers(0, c, size=500)
    p = np.where(rng.random(500) < 0.6, t, rng.integers(0, c, size=500))
    cm = confusion_matrix(t, p, num_classes=c)
    np.testing.assert_array_equal(cm, sk_metrics.confusion_matrix(t, p, labels=np.arange(c)))
    assert cm.sum() == 500


def test_confusion_matrix_infers_the_classes_and_pads() -> None:
    assert confusion_matrix([0, 2], [2, 2]).tolist() == [[0, 0, 1], [0, 0, 0], [0, 0, 1]]
    assert confusion_matrix([1], [1], num_classes=4).shape == (4, 4)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: accuracy(np.zeros((3, 2)), np.zeros(3)), TypeError, "integer class labels"),
        (lambda: accuracy(np.zeros((3, 2)), np.zeros((3, 1), int)), ValueError, "1-D"),
        (lambda: accuracy(np.zeros((3, 2)), np.zeros(4, int)), ValueError, "3 rows.*4 labels"),
        (lambda: accuracy(np.zeros((0, 2)), np.zeros(0, int)), ValueError, "empty"),
        (lambda: accuracy(np.zeros((2, 3)), np.array([0, 3])), ValueError, r"\[0, 3\).*0\.\.3"),
        (lambda: accuracy(np.zeros(2), np.array([0, -1])), ValueError, r"\[0, 2\)"),
        (lambda: accuracy(np.zeros((2, 2, 2)), np.zeros(2, int)), ValueError, r"\(2, 2, 2\)"),
        (lambda: top_k_accuracy(np.zeros((3, 4)), np.zeros(3, int), k=0), ValueError, "k must"),
        (lambda: top_k_accuracy(np.zeros((3, 4)), np.zeros(3, int), k=5), ValueError, "got 5"),
        (lambda: top_k_accuracy(np.zeros(3), np.zeros(3, int), k=1), ValueError, r"\(N, C\)"),
        (lambda: top_k_accuracy(np.zeros((3, 4)), np.zeros(2, int), k=1), ValueError, "N = 2"),
        (lambda: top_k_accuracy(np.zeros((2, 4)), np.array([0, 4]), k=2), ValueError, "0..4"),
        (lambda: confusion_matrix([0, 1], [0]), ValueError, "2 labels.*1"),
        (lambda: confusion_matrix([0, 5], [0, 1], num_classes=3), ValueError, "y_true.*0..5"),
        (lambda: confusion_matrix([0, 1], [0, -1]), ValueError, "y_pred"),
        (lambda: confusion_matrix([0.5], [0]), TypeError, "y_true"),
    ],
)
def test_bad_input(call: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]
