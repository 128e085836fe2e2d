"""Classification metrics: accuracy, top-k accuracy and the confusion matrix.

Each accepts Tensors, ndarrays or lists. ``scores`` are (N, C) class scores (any monotone
transform: logits, probabilities); ``y`` are (N,) integer labels in [0, C).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _array(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "data", x))


def _labels(y: Any, name: str = "y") -> np.ndarray:
    y = _array(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y


def predictions(scores: Any) -> np.ndarray:
    """The predicted class of each row: argmax over scores (N, C); for (N,) or (N, 1)
    scores of a binary classifier, 1 where the score is > 0."""
    s = _array(scores)
    if s.ndim == 2 and s.shape[1] > 1:
        return s.argmax(axis=1)
    if s.ndim in (1, 2):
        return (s.reshape(-1) > 0).astype(np.int64)
    raise ValueError(f"scores must have shape (N, C) or (N,), got {s.shape}")


def accuracy(scores: Any, y: Any) -> float:
    """Fraction of rows whose predicted class equals the label.

    >>> accuracy([[0.1, 0.9], [0.8, 0.2]], [1, 1])
    0.5
    """
    y = _labels(y)
    pred = predictions(scores)
    if pred.shape[0] != y.shape[0]:
        raise ValueError(f"scores have {pred.shape[0]} rows but y has {y.shape[0]} labels")
    if y.size == 0:
        raise ValueError("accuracy of an empty set is undefined")
    s = _array(scores)
    num_classes = s.shape[1] if s.ndim == 2 and s.shape[1] > 1 else 2
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes}), got {y.min()}..{y.max()}")
    return float((pred == y).mean())


def top_k_accuracy(scores: Any, y: Any, k: int = 5) -> float:
    """Fraction of rows whose label is among the k highest scores (ties broken by index).

    >>> top_k_accuracy([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1]], [2, 2], k=2)
    0.5
    """
    s = _array(scores)
    y = _labels(y)
    if s.ndim != 2 or s.shape[0] != y.shape[0]:
        raise ValueError(f"scores must have shape (N, C) with N = {y.shape[0]}, got {s.shape}")
    if not 1 <= k <= s.shape[1]:
        raise ValueError(f"k must be in [1, {s.shape[1]}], got {k}")
    if (y < 0).any() or (y >= s.shape[1]).any():
        raise ValueError(f"labels must be in [0, {s.shape[1]}), got {y.min()}..{y.max()}")
    top = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < s.shape[1] else None
    if top is None:
        return 1.0
    return float((top == y[:, None]).any(axis=1).mean())


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """C x C counts: entry [i, j] is the number of samples of class i predicted as j.

    >>> confusion_matrix([0, 1, 1], [0, 1, 0])
    array([[1, 0],
           [1, 1]])
    """
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.shape[0]} labels but y_pred has {p.shape[0]}")
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    for name, v in (("y_true", t), ("y_pred", p)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(
                f"{name} has labels outside [0, {num_classes}): {v.min()}..{v.max()}"
            )
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )
