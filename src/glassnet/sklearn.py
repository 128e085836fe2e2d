"""scikit-learn estimators that train glassnet models.

``GlassnetClassifier`` and ``GlassnetRegressor`` wrap the lecture's models (an MLP by
default) in scikit-learn's estimator API, so a glassnet network works wherever a
scikit-learn estimator does: ``Pipeline``, ``GridSearchCV``, ``cross_val_score``,
``validation_curve``, ``pickle``. The presets fix the model and pick its natural loss:

========================  ===============================================  =============
estimator                 model (``glassnet.models``)                      default loss
========================  ===============================================  =============
``MLPClassifier``         ``MLP(D, hidden, C)``                            softmax
``LinearClassifier``      ``LinearClassifier(D, C)``: s = W x + b          hinge (SVM)
``LogisticRegression``    ``LogisticRegression(D, C)``                     logistic/softmax
``PolynomialRegression``  ``PolynomialRegression(order, in_features=D)``   l2
========================  ===============================================  =============

The hyper-parameters carry glassnet's own names (``hidden``, ``lr``, ``epochs``,
``batch_size``, ``optimizer``, ``loss``, ``regularizer``, ``seed``). Training is
``glassnet.fit`` with a ``glassnet.optim`` optimizer; it stops early when the training loss
has not improved by ``tol`` for ``n_iter_no_change`` epochs (as scikit-learn's
``MLPClassifier``). ``seed=0`` by default, so two fits of the same data give the same
model; ``seed=None`` draws a fresh one.

The fitted network is ``model_`` (a ``glassnet.nn.Module``: save it with
``glassnet.save``, export it with ``glassnet.onnx.export``); ``loss_curve_`` holds the
training loss of every epoch. Inputs are validated with scikit-learn's own
``validate_data`` and trained in float32; as for any gradient-trained network,
standardize the features first (``make_pipeline(StandardScaler(), MLPClassifier())``).

Needs scikit-learn: ``pip install "glassnet[sklearn]"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as e:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError(
        'glassnet.sklearn needs scikit-learn >= 1.6: pip install "glassnet[sklearn]"'
    ) from e

__all__ = [
    "GlassnetClassifier",
    "GlassnetRegressor",
    "LinearClassifier",
    "LogisticRegression",
    "MLPClassifier",
    "PolynomialRegression",
]

CLASSIFIER_MODELS = ("mlp", "linear", "logistic", "quadratic")
REGRESSOR_MODELS = ("mlp", "linear", "poly", "quadratic")
CLASSIFICATION_LOSSES = ("softmax", "softmax-ce", "hinge", "squared-hinge", "logistic")
REGRESSION_LOSSES = ("l2", "l1", "huber")
PROBABILISTIC_LOSSES = ("softmax", "softmax-ce", "logistic")
_PREDICT_BATCH = 8192


def _store(estimator: BaseEstimator, params: dict[str, Any]) -> None:
    """Keep the constructor arguments unchanged as attributes (scikit-learn's rule)."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_float(value: Any, name: str, positive: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if not ok or not np.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")
    return str(value)


class _GlassnetEstimator(BaseEstimator):
    """What the classifier and the regressor share: building, training, predicting.

    Subclasses define the hyper-parameters in ``__init__`` (scikit-learn reads them from
    its signature); the presets leave some out and fix them with ``_fixed``.
    """

    _fixed: dict[str, Any] = {}
    _model_choices: tuple[str, ...] = ()

    def _param(self, name: str, default: Any = None) -> Any:
        if name in self._fixed:
            return self._fixed[name]
        return getattr(self, name, default)

    # ------------------------------------------------------------------ building
    def _check_hyperparameters(self) -> None:
        model = self._param("model")
        if not callable(model):
            _check_choice(model, "model", self._model_choices)
        hidden = self._param("hidden", ())
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, Sequence) or isinstance(hidden, str):
            raise ValueError(f"hidden must be a sequence of layer sizes, got {hidden!r}")
        self._hidden = [_check_int(h, "hidden size", 1) for h in hidden]
        _check_float(self._param("lr"), "lr", positive=True)
        _check_int(self._param("epochs"), "epochs", 1)
        _check_int(self._param("batch_size"), "batch_size", 1)
        _check_float(self._param("momentum", 0.0), "momentum")
        _check_float(self._param("tol", 0.0), "tol")
        n_iter = self._param("n_iter_no_change")
        if n_iter is not None:
            _check_int(n_iter, "n_iter_no_change", 1)
        dropout = _check_float(self._param("dropout", 0.0), "dropout")
        if dropout >= 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        _check_int(self._param("order", 1), "order", 1)
        seed = self._param("seed")
        if seed is not None:
            _check_int(seed, "seed", 0)

    def _generators(self) -> tuple[np.random.Generator, np.random.Generator]:
        """(weights and dropout, batch order): two independent streams of ``seed``."""
        init, order = np.random.SeedSequence(self._param("seed")).spawn(2)
        return np.random.default_rng(init), np.random.default_rng(order)

    def _build_model(self, n_features: int, n_outputs: int, gen: np.random.Generator) -> Any:
        from glassnet import models
        from glassnet.nn import Linear

        kind = self._param("model")
        if callable(kind):
            model = kind(n_features, n_outputs)
            if not hasattr(model, "parameters") or not callable(model):
                raise TypeError(
                    f"model(n_features, n_outputs) must return a glassnet Module, got "
                    f"{type(model).__name__}"
                )
            return model
        if kind == "mlp":
            return models.MLP(
                n_features, self._hidden, n_outputs, activation=self._param("activation"),
                dropout=float(self._param("dropout", 0.0)),
                batch_norm=bool(self._param("batch_norm", False)), generator=gen,
            )
        if kind == "linear":
            model = (models.LinearRegression(n_features, n_outputs)
                     if self._regression else models.LinearClassifier(n_features, n_outputs))
        elif kind == "logistic":
            model = models.LogisticRegression(n_features, max(n_outputs, 2))
        elif kind == "poly":
            model = models.PolynomialRegression(
                int(self._param("order")), in_features=n_features, out_features=n_outputs
            )
        else:
            model = models.QuadraticModel(n_features, n_outputs)
        for layer in model.modules():  # the lecture's models draw from the default generator
            if isinstance(layer, Linear):
                layer.reset_parameters(gen)
        return model

    def _build_training(self, model: Any) -> None:
        """The optimizer, the penalty and the early-stopping rule for ``model``."""
        from glassnet.pipeline import build_optimizer, parse_regularizer

        reg = self._param("regularizer")
        if reg is None or isinstance(reg, str):
            penalty, constraints = parse_regularizer(reg)
        elif callable(reg):
            penalty, constraints = reg, []
        else:
            raise ValueError(
                f"regularizer must be a spec like 'l2:1e-4' or a glassnet penalty, got {reg!r}"
            )
        self._penalty = penalty
        self.optimizer_ = build_optimizer(
            self._param("optimizer"), model.parameters(), lr=float(self._param("lr")),
            momentum=float(self._param("momentum", 0.9)), constraints=constraints,
        )

    # ------------------------------------------------------------------ training
    def _train(self, X: np.ndarray, y: np.ndarray, epochs: int, early_stop: bool) -> None:
        from glassnet.training import EarlyStopping, fit

        callbacks = []
        n_iter = self._param("n_iter_no_change")
        if early_stop and n_iter is not None:
            callbacks.append(EarlyStopping("train_loss", patience=int(n_iter) - 1,
                                           min_delta=float(self._param("tol")),
                                           restore_best=False))
        from glassnet.pipeline import build_loss

        classes = getattr(self, "classes_", None)
        loss = build_loss(self.loss_, self.model_, None if classes is None else len(classes))[1]
        history = fit(
            self.model_, loss, self.optimizer_, (X, y), epochs=epochs,
            batch_size=int(self._param("batch_size")), regularizer=self._penalty,
            callbacks=callbacks, rng=self._order_rng, verbose=int(self._param("verbose", 0)),
        )
        self.loss_curve_ = [*getattr(self, "loss_curve_", []), *history.train_loss]
        self.n_iter_ = getattr(self, "n_iter_", 0) + history.epochs

    def _scores(self, X: Any) -> np.ndarray:
        """The network's outputs for X (eval mode, no graph).

        Computed in float64 (the float32 weights promoted), so that a sample's output does
        not depend on the batch it comes in: float32 matrix products round differently
        for different numbers of rows.
        """
        from glassnet.autograd.grad_mode import no_grad
        from glassnet.tensor import Tensor

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        self.model_.eval()
        with no_grad():
            parts = [np.asarray(self.model_(Tensor(X[i:i + _PREDICT_BATCH])).data)
                     for i in range(0, X.shape[0], _PREDICT_BATCH)]
        return np.concatenate(parts).astype(np.float64)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags


class GlassnetClassifier(ClassifierMixin, _GlassnetEstimator):
    """A glassnet network as a scikit-learn classifier.

    Parameters
    ----------
    model : {"mlp", "linear", "logistic", "quadratic"} or callable
        The lecture's model to train (``glassnet.models``), or a function
        ``model(n_features, n_outputs) -> Module`` that builds your own.
    hidden : tuple of int
        Hidden layer widths of the MLP.
    activation : str
        relu, leaky_relu, sigmoid, tanh, softplus or identity (MLP).
    dropout : float
        Drop probability after each hidden activation (MLP).
    batch_norm : bool
        BatchNorm1d before each hidden activation (MLP).
    loss : str or None
        softmax (the softmax classifier), softmax-ce, hinge (multiclass SVM),
        squared-hinge, or logistic (two classes, one score). None: logistic for the
        two-class logistic model, softmax otherwise. ``predict_proba`` exists for
        softmax, softmax-ce and logistic.
    optimizer : str
        sgd, gd, adam, adamw, rmsprop or adagrad (``glassnet.optim``).
    lr : float
        Learning rate.
    momentum : float
        SGD momentum.
    epochs : int
        The most epochs ``fit`` runs.
    batch_size : int
        Minibatch size (the last batch of an epoch may be smaller).
    regularizer : str, glassnet penalty or None
        "l2:1e-4", "l1:1e-5", "elastic:1e-4:0.5", "maxnorm:3" (comma-separated), or a
        ``glassnet.regularizers`` penalty.
    tol, n_iter_no_change : float, int or None
        ``fit`` stops when the training loss has not gone down by ``tol`` for
        ``n_iter_no_change`` epochs (None: always run ``epochs``).
    seed : int or None
        Seeds the initial weights, dropout and batch order; None draws a fresh seed.
    verbose : int
        1 prints a line per epoch.

    Attributes
    ----------
    classes_ : ndarray
        The class labels, sorted; outputs are in this order.
    n_features_in_, feature_names_in_
        Set by ``fit`` (``feature_names_in_`` only for inputs with string column names).
    model_ : glassnet.nn.Module
        The trained network; its outputs are class scores.
    optimizer_ : glassnet.optim.Optimizer
        Its state carries over between ``partial_fit`` calls.
    loss_curve_ : list of float
        The mean training loss of every epoch (``partial_fit`` appends).
    n_iter_ : int
        Epochs run.

    Equivalent: ``sklearn.neural_network.MLPClassifier(hidden_layer_sizes=hidden,
    learning_rate_init=lr, max_iter=epochs, batch_size=batch_size)`` (without its L2
    penalty ``alpha``: give ``regularizer="l2:..."``).

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), GlassnetClassifier(hidden=(16,), lr=1e-2))
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _model_choices = CLASSIFIER_MODELS
    _regression = False

    def __init__(
        self,
        model: str | Callable[[int, int], Any] = "mlp",
        hidden: Sequence[int] = (100,),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        loss: str | None = None,
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        epochs: int = 200,
        batch_size: int = 200,
        regularizer: Any = None,
        tol: float = 1e-4,
        n_iter_no_change: int | None = 10,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        _store(self, locals())

    # ------------------------------------------------------------------ fitting
    def _loss_name(self) -> str:
        loss = self._param("loss")
        binary = len(self.classes_) == 2
        if loss is None:
            return "logistic" if binary and self._param("model") == "logistic" else "softmax"
        _check_choice(loss, "loss", CLASSIFICATION_LOSSES)
        if loss == "logistic" and not binary:
            raise ValueError(f"loss='logistic' needs two classes, got {len(self.classes_)}; "
                             "use loss='softmax'")
        if binary and self._param("model") == "logistic" and loss != "logistic":
            raise ValueError("the two-class logistic model has one score: use loss='logistic'")
        return str(loss)

    def _start(self, X: np.ndarray, classes: np.ndarray) -> None:
        """A new network, optimizer and loss for ``classes``."""
        self._check_hyperparameters()
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes to train; "
                f"got one class: {classes.tolist()}"
            )
        self.classes_ = classes
        name = self._loss_name()
        gen, self._order_rng = self._generators()
        n_out = 1 if name == "logistic" else len(classes)
        self.model_ = self._build_model(X.shape[1], n_out, gen)
        self.loss_ = name
        self._build_training(self.model_)
        self.loss_curve_, self.n_iter_ = [], 0

    def _targets(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        return np.ascontiguousarray(X, dtype=np.float32), y

    def _encode(self, y: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unknown = self.classes_[idx] != y
        if unknown.any():
            raise ValueError(
                f"y contains labels not in classes_ {self.classes_.tolist()}: "
                f"{np.unique(y[unknown]).tolist()[:10]}"
            )
        return idx.astype(np.int64)

    def fit(self, X: Any, y: Any) -> GlassnetClassifier:
        """Train a new network on (X, y) for up to ``epochs`` epochs; return self."""
        X, y = self._targets(X, y, reset=True)
        self._start(X, np.unique(y))
        self._train(X, self._encode(y), int(self._param("epochs")), early_stop=True)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> GlassnetClassifier:
        """One epoch over (X, y), continuing the network and optimizer of earlier calls.

        ``classes`` (every label that will ever occur) is required on the first call.
        """
        first = not hasattr(self, "model_")
        X, y = self._targets(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit")
            self._start(X, np.unique(np.asarray(classes)))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.unique(classes).tolist()} differs from classes_ "
                f"{self.classes_.tolist()} of the first partial_fit call"
            )
        self._train(X, self._encode(y), 1, early_stop=False)
        return self

    # ------------------------------------------------------------------ predicting
    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores: (N, C), or (N,) for two classes (positive: ``classes_[1]``)."""
        s = self._scores(X)
        if s.ndim == 1:
            return s
        if s.shape[1] == 1:
            return s[:, 0]
        if s.shape[1] == 2:
            return s[:, 1] - s[:, 0]
        return s

    def predict(self, X: Any) -> np.ndarray:
        """The class of highest score for each sample."""
        d = self.decision_function(X)
        idx = (d > 0).astype(np.intp) if d.ndim == 1 else d.argmax(axis=1)
        return self.classes_[idx]

    def _has_proba(self) -> bool:
        loss = getattr(self, "loss_", None) or self._param("loss")
        return loss is None or loss in PROBABILISTIC_LOSSES

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (N, C): softmax of the scores (sigmoid for one score)."""
        from scipy.special import expit, softmax

        s = self._scores(X)
        if s.ndim == 1 or s.shape[1] == 1:
            p1 = expit(s.reshape(-1))
            return np.stack([1.0 - p1, p1], axis=1)
        return softmax(s, axis=1)

    @available_if(_has_proba)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class GlassnetRegressor(RegressorMixin, _GlassnetEstimator):
    """A glassnet network as a scikit-learn regressor (one or several outputs).

    Parameters
    ----------
    model : {"mlp", "linear", "poly", "quadratic"} or callable
        MLP, ``LinearRegression``, ``PolynomialRegression`` (each feature's powers up to
        ``order``), ``QuadraticModel``, or ``model(n_features, n_outputs) -> Module``.
    order : int
        The polynomial order of ``model="poly"``.
    loss : {"l2", "l1", "huber"}
        Regression loss, summed over outputs, mean over samples.

    The other parameters and the attributes are those of ``GlassnetClassifier``
    (without ``classes_``). ``predict`` returns (N,) for a 1-D target, (N, K) otherwise.
    Scale the target too when its values are far from 1
    (``TransformedTargetRegressor``).

    Equivalent: ``sklearn.neural_network.MLPRegressor`` (loss="l2" is twice its
    squared error).
    """

    _model_choices = REGRESSOR_MODELS
    _regression = True

    def __init__(
        self,
        model: str | Callable[[int, int], Any] = "mlp",
        hidden: Sequence[int] = (100,),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        order: int = 3,
        loss: str = "l2",
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        epochs: int = 200,
        batch_size: int = 200,
        regularizer: Any = None,
        tol: float = 1e-4,
        n_iter_no_change: int | None = 10,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        _store(self, locals())

    def _targets(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float32)
        if reset:
            self._y_1d = y.ndim == 1
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if not reset and y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} outputs but the model was fitted with {self.n_outputs_}"
            )
        return np.ascontiguousarray(X, dtype=np.float32), np.ascontiguousarray(y2)

    def _start(self, X: np.ndarray, y: np.ndarray) -> None:
        self._check_hyperparameters()
        name = _check_choice(self._param("loss"), "loss", REGRESSION_LOSSES)
        gen, self._order_rng = self._generators()
        self.n_outputs_ = y.shape[1]
        self.model_ = self._build_model(X.shape[1], self.n_outputs_, gen)
        self.loss_ = name
        self._build_training(self.model_)
        self.loss_curve_, self.n_iter_ = [], 0

    def fit(self, X: Any, y: Any) -> GlassnetRegressor:
        """Train a new network on (X, y) for up to ``epochs`` epochs; return self."""
        X, y = self._targets(X, y, reset=True)
        self._start(X, y)
        self._train(X, y, int(self._param("epochs")), early_stop=True)
        return self

    def partial_fit(self, X: Any, y: Any) -> GlassnetRegressor:
        """One epoch over (X, y), continuing the network and optimizer of earlier calls."""
        first = not hasattr(self, "model_")
        X, y = self._targets(X, y, reset=first)
        if first:
            self._start(X, y)
        self._train(X, y, 1, early_stop=False)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one network output per target column
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """The network's outputs: (N,) for a 1-D training target, (N, K) otherwise."""
        s = self._scores(X)
        s = s.reshape(s.shape[0], -1)
        return s[:, 0] if self._y_1d else s


# ---------------------------------------------------------------------- presets
class MLPClassifier(GlassnetClassifier):
    """The lecture's deep network: ``GlassnetClassifier`` with ``model="mlp"``.

    Parameters as ``GlassnetClassifier`` (without ``model``).
    """

    _fixed = {"model": "mlp"}

    def __init__(
        self,
        hidden: Sequence[int] = (100,),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        loss: str | None = None,
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        epochs: int = 200,
        batch_size: int = 200,
        regularizer: Any = None,
        tol: float = 1e-4,
        n_iter_no_change: int | None = 10,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        _store(self, locals())


class LinearClassifier(GlassnetClassifier):
    """The lecture's linear classifier s = W x + b, trained with the multiclass hinge loss
    by default (a linear SVM); ``loss="softmax"`` makes it softmax regression.

    No ``predict_proba`` with a hinge loss (its scores are not probabilities).

    Equivalent: ``sklearn.svm.LinearSVC(loss="hinge", multi_class="crammer_singer")``
    without its penalty (give ``regularizer="l2:..."``).
    """

    _fixed = {"model": "linear", "hidden": ()}

    def __init__(
        self,
        loss: str = "hinge",
        optimizer: str = "adam",
        lr: float = 1e-2,
        momentum: float = 0.9,
        epochs: int = 200,
        batch_size: int = 200,
        regularizer: Any = None,
        tol: float = 1e-4,
        n_iter_no_change: int | None = 10,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        _store(self, locals())


class LogisticRegression(GlassnetClassifier):
    """Logistic regression p = sigma(w x + b) for two classes, softmax regression for more
    (``glassnet.models.LogisticRegression``), trained by gradient descent.

    Equivalent: ``sklearn.linear_model.LogisticRegression(penalty=None)``; with
    ``regularizer="l2:lam"`` its ``C = 1 / (2 N lam)``.
    """

    _fixed = {"model": "logistic", "hidden": (), "loss": None}

    def __init__(
        self,
        optimizer: str = "adam",
        lr: float = 1e-2,
        momentum: float = 0.9,
        epochs: int = 200,
        batch_size: int = 200,
        regularizer: Any = None,
        tol: float = 1e-4,
        n_iter_no_change: int | None = 10,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        _store(self, locals())


class PolynomialRegression(GlassnetRegressor):
    """Polynomial regression y = b + sum_i sum_k w_ik x_i^k of order ``order``
    (``glassnet.models.PolynomialRegression``; the lecture's for one feature).

    Standardize the features first: their powers grow fast. For an exact fit, call
    ``model_.fit_least_squares(X, y)`` afterwards.

    Equivalent: ``make_pipeline(SplineTransformer or PolynomialFeatures without
    interaction terms, LinearRegression())``.
    """

    _fixed = {"model": "poly", "hidden": ()}

    def __init__(
        self,
        order: int = 3,
        loss: str = "l2",
        optimizer: str = "adam",
        lr: float = 1e-2,
        momentum: float = 0.9,
        epochs: int = 200,
        batch_size: int = 200,
        regularizer: Any = None,
        tol: float = 1e-4,
        n_iter_no_change: int | None = 10,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        _store(self, locals())
