"""Semi-supervised learning by self-training (LECTURE.md section 4: some samples labelled,
most not).

Self-training turns a classifier's own confident predictions into labels::

    fit the classifier on the labelled set L
    repeat for at most max_rounds rounds:
        p = the classifier's class probabilities on the unlabelled set U
        S = the samples of U whose largest probability is >= threshold
        if S is empty: stop
        move S from U to L, each labelled with its most probable class (a pseudo-label)
        fit the classifier again on L

``SelfTraining`` keeps the history of the rounds: how many samples each added, how many
are labelled after it and, when the unlabelled samples' true labels are given (an
experiment's hidden labels), the accuracy of the pseudo-labels it added.

The classifier is either

- a glassnet ``Module`` mapping (N, D) inputs to (N, C) class scores: every round trains it
  with ``glassnet.fit`` (the loss, optimizer and epochs given here), from the same initial
  weights unless ``reset=False``; its probabilities are ``softmax(scores)``; or
- an estimator with ``fit(X, y)`` and ``predict_proba(X)`` (``glassnet.sklearn``'s
  classifiers, or scikit-learn's), whose ``classes_`` name the probability columns.

Equivalent: ``sklearn.semi_supervised.SelfTrainingClassifier(estimator, threshold=...,
max_iter=max_rounds)`` (which marks unlabelled samples with y = -1 instead of taking them
as a separate array).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["Round", "SelfTraining", "self_training"]


@dataclass
class Round:
    """One round of self-training.

    Attributes
    ----------
    round : int
        0 for the fit on the labelled set alone, then 1, 2, ...
    added : int
        Pseudo-labelled samples this round moved into the labelled set.
    labelled : int
        Size of the labelled set the classifier was fitted on in this round.
    remaining : int
        Unlabelled samples left after this round.
    accuracy : float or None
        Fraction of this round's pseudo-labels equal to the true labels (None when the
        truth was not given or nothing was added).
    confidence : float or None
        Mean largest probability of the samples added this round.
    """

    round: int
    added: int
    labelled: int
    remaining: int
    accuracy: float | None = None
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_matrix(X: Any, name: str, allow_empty: bool = False) -> np.ndarray:
    arr = np.asarray(getattr(X, "data", X))
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"self_training: {name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ValueError(
            f"self_training: {name} must be a 2-D array (N, D) of samples, got shape "
            f"{arr.shape}"
        )
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"self_training: {name} is empty (shape {arr.shape})")
    if arr.size and not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"self_training: {name} holds NaN or infinite values (first at {bad})")
    return arr


def _check_labels(y: Any, n: int, name: str, xname: str) -> np.ndarray:
    arr = np.asarray(getattr(y, "data", y))
    if arr.ndim != 1:
        raise ValueError(f"self_training: {name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(
            f"self_training: {xname} has {n} samples but {name} has {arr.shape[0]} labels"
        )
    return arr


def _check_count(value: Any, name: str) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
    ):
        raise ValueError(f"SelfTraining: {name} must be None or an integer >= 1, got {value!r}")


def _check_options(threshold: Any, max_rounds: Any) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (
        0.0 < float(threshold) <= 1.0
    ):
        raise ValueError(f"SelfTraining: threshold must be in (0, 1], got {threshold!r}")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, (int, np.integer)) or (
        max_rounds < 0
    ):
        raise ValueError(
            f"SelfTraining: max_rounds must be a non-negative integer, got {max_rounds!r}"
        )


def _is_estimator(model: Any) -> bool:
    from glassnet.nn import Module

    if isinstance(model, Module):
        return False
    if callable(getattr(model, "fit", None)) and callable(getattr(model, "predict_proba", None)):
        return True
    raise TypeError(
        "SelfTraining: model must be a glassnet Module giving class scores, or an estimator "
        f"with fit(X, y) and predict_proba(X); got {type(model).__name__}"
    )


class SelfTraining:
    """Self-training: a classifier's confident predictions on unlabelled samples become
    labels, round by round (see the module docstring for the algorithm).

    Parameters
    ----------
    model : Module or estimator
        A glassnet ``Module`` mapping (N, D) to (N, C) class scores, trained here with
        ``glassnet.fit``; or an object with ``fit(X, y)`` and ``predict_proba(X)``.
    threshold : float in (0, 1]
        A pseudo-label joins the labelled set when its probability is at least this.
    max_rounds : int
        At most this many pseudo-labelling rounds after the first fit (0: the labelled set
        alone).
    k_best : int, optional
        Add at most this many samples per round (the most confident above the threshold).
    per_class : int, optional
        Add at most this many samples of each predicted class per round (the most
        confident): the pseudo-labels then do not flood the labelled set with the classes
        the classifier finds easiest, which would bias it towards them.
    loss : callable
        ``loss(scores, y)`` for a Module (default: the softmax classifier's loss,
        ``glassnet.losses.softmax_log_likelihood``).
    optimizer : callable
        ``optimizer(parameters)`` -> a glassnet optimizer, built afresh every round
        (default ``Adam(parameters, lr=1e-3)``).
    epochs, batch_size : int
        ``glassnet.fit``'s settings for a Module.
    steps : int, optional
        Train a Module for about this many minibatch steps every round instead (the epochs
        are ``ceil(steps / batches per epoch)``), so a small labelled set is not trained
        for fewer steps than a large one.
    reset : bool
        Start every round of a Module from the weights it had when ``fit`` was called (the
        same classifier, retrained); False continues from the previous round's weights.
    rng : Generator or int, optional
        Shuffles ``glassnet.fit``'s batches (glassnet's default generator if None).
    callback : callable, optional
        ``callback(round, self)`` after every round's fit (e.g. to score the classifier on a
        test set round by round).

    Attributes
    ----------
    history_ : list of Round
        The rounds, ``history_[0]`` being the fit on the labelled set alone.
    classes_ : ndarray
        The class labels (the probability columns).
    X_labelled_, y_labelled_ : ndarray
        The final labelled set, given labels first, then the pseudo-labels in the order of
        the rounds.
    pseudo_index_ : ndarray
        Row of ``X_unlabelled`` of each pseudo-labelled sample (in the same order).

    Examples
    --------
    >>> import numpy as np
    >>> from glassnet import nn, optim
    >>> from glassnet.semisupervised import SelfTraining
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-2, 0.5, (50, 2)), rng.normal(2, 0.5, (50, 2))])
    >>> y = np.repeat([0, 1], 50)
    >>> st = SelfTraining(nn.MLP(2, [], 2, generator=0), threshold=0.8, epochs=50, rng=0,
    ...                   optimizer=lambda params: optim.SGD(params, lr=0.5))
    >>> st = st.fit(X[[0, 50]], y[[0, 50]], np.delete(X, [0, 50], axis=0),
    ...             y_unlabelled=np.delete(y, [0, 50]))
    >>> st.history_[-1].remaining, float(np.mean(st.predict(X) == y))
    (0, 1.0)
    """

    def __init__(
        self,
        model: Any,
        threshold: float = 0.9,
        max_rounds: int = 10,
        *,
        k_best: int | None = None,
        per_class: int | None = None,
        loss: Callable[..., Any] | None = None,
        optimizer: Callable[..., Any] | None = None,
        epochs: int = 20,
        batch_size: int = 32,
        steps: int | None = None,
        reset: bool = True,
        rng: Any = None,
        callback: Callable[[Round, SelfTraining], Any] | None = None,
    ) -> None:
        _check_options(threshold, max_rounds)
        _check_count(k_best, "k_best")
        _check_count(per_class, "per_class")
        self._estimator = _is_estimator(model)
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SelfTraining: {name} must be a positive integer, got {value!r}")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                                  or steps < 1):
            raise ValueError(f"SelfTraining: steps must be None or a positive integer, "
                             f"got {steps!r}")
        self.model = model
        self.threshold = float(threshold)
        self.max_rounds = int(max_rounds)
        self.k_best = None if k_best is None else int(k_best)
        self.per_class = None if per_class is None else int(per_class)
        self.loss = loss
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.steps = steps
        self.reset = bool(reset)
        self.rng = rng
        self.callback = callback
        self.history_: list[Round] = []

    # ------------------------------------------------------------------ one classifier
    def _fit_module(self, X: np.ndarray, y: np.ndarray) -> None:
        from glassnet import losses, optim
        from glassnet.training import fit

        if self.reset:
            self.model.load_state_dict(self._initial)
        loss = self.loss if self.loss is not None else losses.softmax_log_likelihood
        make = self.optimizer or (lambda params: optim.Adam(params, lr=1e-3))
        epochs = self.epochs
        if self.steps is not None:
            per_epoch = math.ceil(len(y) / self.batch_size)
            epochs = max(1, math.ceil(self.steps / per_epoch))
        self.model.train()
        fit(self.model, loss, make(self.model.parameters()), (X, y), epochs=epochs,
            batch_size=self.batch_size, rng=self._gen, verbose=0, keep_best=None)

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        if self._estimator:
            self.model.fit(X, y)
            self.classes_ = np.asarray(getattr(self.model, "classes_", self.classes_))
        else:
            self._fit_module(X, self._codes(y))

    def _codes(self, y: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (N, C) of the current classifier, columns in ``classes_``
        order."""
        X = _check_matrix(X, "X", allow_empty=True)
        if self._estimator:
            return np.asarray(self.model.predict_proba(X), dtype=np.float64)
        from glassnet.autograd.grad_mode import no_grad
        from glassnet.tensor import Tensor

        if not hasattr(self, "classes_"):
            raise RuntimeError("SelfTraining: call fit before predict_proba")
        self.model.eval()
        with no_grad():
            scores = self.model(Tensor(X.astype(self._dtype, copy=False))).data
        if scores.ndim != 2 or scores.shape[1] != len(self.classes_):
            raise ValueError(
                f"SelfTraining: the model gives scores of shape {scores.shape}, expected "
                f"(N, {len(self.classes_)}) for the {len(self.classes_)} classes"
            )
        z = scores.astype(np.float64) - scores.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of ``predict(X)`` against ``y``."""
        pred = self.predict(X)
        return float(np.mean(pred == _check_labels(y, len(pred), "y", "X")))

    # ------------------------------------------------------------------ the rounds
    def fit(self, X_labelled: Any, y_labelled: Any, X_unlabelled: Any,
            y_unlabelled: Any = None) -> SelfTraining:
        """Self-train on a labelled set and an unlabelled one.

        Parameters
        ----------
        X_labelled : array (N_l, D), y_labelled : array (N_l,)
        X_unlabelled : array (N_u, D)
            May be empty (then only the first fit happens).
        y_unlabelled : array (N_u,), optional
            The unlabelled samples' true labels, used only to score the pseudo-labels in
            ``history_``; never for training.
        """
        from glassnet.random import get_generator

        XL = _check_matrix(X_labelled, "X_labelled")
        yL = _check_labels(y_labelled, XL.shape[0], "y_labelled", "X_labelled")
        XU = _check_matrix(X_unlabelled, "X_unlabelled", allow_empty=True)
        if XU.shape[1:] != XL.shape[1:]:
            raise ValueError(
                f"self_training: X_labelled has samples of shape {XL.shape[1:]} but "
                f"X_unlabelled has {XU.shape[1:]}"
            )
        truth = None if y_unlabelled is None else _check_labels(
            y_unlabelled, XU.shape[0], "y_unlabelled", "X_unlabelled")
        if self._estimator:
            self.classes_ = np.unique(yL)
        else:
            self._setup_module(XL, yL)
            self._gen = get_generator(self.rng)
        self.history_ = []
        labels_X, labels_y = [XL], [yL]
        pool = np.arange(XU.shape[0])
        taken: list[np.ndarray] = []
        self._fit(XL, yL)
        self._record(Round(0, 0, len(yL), len(pool)))
        for r in range(1, self.max_rounds + 1):
            if len(pool) == 0:
                break
            proba = self.predict_proba(XU[pool])
            conf = proba.max(axis=1)
            chosen = np.flatnonzero(conf >= self.threshold)
            chosen = self._limit(chosen, conf, proba.argmax(axis=1))
            if len(chosen) == 0:
                break
            pseudo = self.classes_[proba[chosen].argmax(axis=1)]
            rows = pool[chosen]
            labels_X.append(XU[rows])
            labels_y.append(pseudo.astype(yL.dtype, copy=False))
            taken.append(rows)
            pool = np.delete(pool, chosen)
            X_now, y_now = np.concatenate(labels_X), np.concatenate(labels_y)
            self._fit(X_now, y_now)
            acc = None if truth is None else float(np.mean(pseudo == truth[rows]))
            self._record(Round(r, len(rows), len(y_now), len(pool), acc,
                               float(conf[chosen].mean())))
        self.X_labelled_ = np.concatenate(labels_X)
        self.y_labelled_ = np.concatenate(labels_y)
        self.pseudo_index_ = np.concatenate(taken) if taken else np.zeros(0, dtype=np.int64)
        return self

    def _record(self, entry: Round) -> None:
        self.history_.append(entry)
        if self.callback is not None:
            self.callback(entry, self)

    def _limit(self, chosen: np.ndarray, conf: np.ndarray, best: np.ndarray) -> np.ndarray:
        """The most confident of ``chosen``: at most ``per_class`` of each predicted class,
        then at most ``k_best`` in all (ties keep the earlier row)."""
        order = chosen[np.argsort(-conf[chosen], kind="stable")]
        if self.per_class is not None:
            rank = np.zeros(len(order), dtype=np.int64)
            for c in np.unique(best[order]):
                rows = best[order] == c
                rank[rows] = np.arange(int(rows.sum()))
            order = order[rank < self.per_class]
        if self.k_best is not None:
            order = order[: self.k_best]
        return np.sort(order)

    def _setup_module(self, XL: np.ndarray, yL: np.ndarray) -> None:
        if yL.dtype.kind not in "iu":
            raise TypeError(
                f"self_training: y_labelled must hold integer class indices for a glassnet "
                f"Module, got dtype {yL.dtype}"
            )
        params = list(self.model.parameters())
        self._dtype = params[0].data.dtype if params else np.float32
        out = getattr(self.model, "out_features", None)
        if out is None:
            from glassnet.autograd.grad_mode import no_grad
            from glassnet.tensor import Tensor

            with no_grad():
                out = self.model(Tensor(XL[:1].astype(self._dtype))).shape[-1]
        if yL.min() < 0 or yL.max() >= out:
            bad = int(yL[(yL < 0) | (yL >= out)][0])
            raise ValueError(
                f"self_training: label {bad} in y_labelled is out of range for a model "
                f"with {out} class scores (labels must be in [0, {out}))"
            )
        self.classes_ = np.arange(out)
        self._initial = copy.deepcopy(self.model.state_dict())


def self_training(
    model: Any,
    X_labelled: Any,
    y_labelled: Any,
    X_unlabelled: Any,
    y_unlabelled: Any = None,
    *,
    threshold: float = 0.9,
    max_rounds: int = 10,
    **options: Any,
) -> tuple[Any, list[Round]]:
    """Self-train ``model`` (see :class:`SelfTraining`) and return ``(model, history)``.

    ``model`` ends trained on the labelled set and the pseudo-labels; ``history`` is the list
    of :class:`Round` records. ``options`` are :class:`SelfTraining`'s keyword settings.

    >>> import numpy as np
    >>> from glassnet import nn, optim
    >>> from glassnet.semisupervised import self_training
    >>> X = np.array([[-2.0], [-1.5], [-1.0], [1.0], [1.5], [2.0]])
    >>> model, history = self_training(nn.MLP(1, [], 2, generator=0), X[[0, 5]], [0, 1],
    ...                                X[1:5], threshold=0.6, epochs=100, rng=0,
    ...                                optimizer=lambda params: optim.SGD(params, lr=0.5))
    >>> [h.added for h in history]
    [0, 4]
    """
    st = SelfTraining(model, threshold, max_rounds, **options)
    st.fit(X_labelled, y_labelled, X_unlabelled, y_unlabelled)
    return st.model, st.history_
