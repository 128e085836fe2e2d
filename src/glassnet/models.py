"""The lecture's models, from a line to a deep network.

=====================  ==========================================  ====================
model                  function                                    parameters
=====================  ==========================================  ====================
LinearRegression       y = W x + b                                 (d + 1) per output
PolynomialRegression   y = b + w_1 x + ... + w_k x^k               k + 1
QuadraticModel         y = b + sum_i w_i x_i + sum_{i<=j} v_ij x_i x_j   (d+1)(d+2)/2
LinearClassifier       s = W x + b (scores for C classes)          C (d + 1)
LogisticRegression     p = sigma(w x + b), or softmax(W x + b)     (d + 1) or C (d + 1)
MLP                    layers of linear maps and activations       see ``glassnet.nn.MLP``
LeNet, ConvNet         convolutions and pooling, then an MLP       see ``glassnet.convnets``
=====================  ==========================================  ====================

Each is a ``glassnet.nn.Module`` with a JSON config, so it can be checkpointed; the
regression models also solve their least-squares problem in closed form
(``fit_least_squares``), the reference a gradient-descent fit should reach.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.convnets import ConvNet, LeNet
from glassnet.nn import Module
from glassnet.nn.linear import Linear
from glassnet.nn.mlp import MLP
from glassnet.ops.shape import concatenate
from glassnet.tensor import Tensor

__all__ = [
    "ConvNet",
    "LeNet",
    "LinearClassifier",
    "LinearRegression",
    "LogisticRegression",
    "MLP",
    "PolynomialFeatures",
    "PolynomialRegression",
    "QuadraticFeatures",
    "QuadraticModel",
]


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _flat(x: Tensor) -> Tensor:
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...); 1-D and 2-D inputs unchanged."""
    return x.reshape(x.shape[0], -1) if x.ndim > 2 else x


def _least_squares(features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ||[F 1] theta - y||^2; return (weights (out, k), bias (out,))."""
    F = np.asarray(features, dtype=np.float64)
    Y = np.asarray(y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if F.shape[0] != Y.shape[0]:
        raise ValueError(f"X has {F.shape[0]} samples but y has {Y.shape[0]}")
    A = np.concatenate([F, np.ones((F.shape[0], 1))], axis=1)
    theta, *_ = np.linalg.lstsq(A, Y, rcond=None)
    return theta[:-1].T, theta[-1]


class _LinearModel(Module):
    """A model whose parameters are one ``Linear`` layer, ``self.linear``: its W and b are
    also reachable as ``model.weight`` and ``model.bias``."""

    linear: Linear

    @property
    def weight(self) -> Any:
        return self.linear.weight

    @property
    def bias(self) -> Any:
        return self.linear.bias


class LinearRegression(_LinearModel):
    """Linear regression y = W x + b: the lecture's first model (d + 1 parameters per output).

    Input (N, D) (or (N,) when D = 1), output (N, out_features). Train it with
    ``glassnet.losses.l2`` by gradient descent, or solve it with ``fit_least_squares``.

    >>> import glassnet as gn
    >>> m = gn.models.LinearRegression(1)
    >>> m.fit_least_squares([2.0, 4.0, 6.0, 8.0], [3.0, 4.0, 5.0, 6.0])
    LinearRegression(in_features=1, out_features=1)
    >>> m.weight.data.round(6).tolist(), m.bias.data.round(6).tolist()
    ([[0.5]], [2.0])
    """

    def __init__(self, in_features: int = 1, out_features: int = 1, **linear: Any) -> None:
        super().__init__()
        self.linear = Linear(in_features, out_features, **linear)
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        return self.linear(x)

    def fit_least_squares(self, X: Any, y: Any) -> LinearRegression:
        """Set W, b to the closed-form least-squares solution (normal equations)."""
        X = np.asarray(getattr(X, "data", X), dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        W, b = _least_squares(X, np.asarray(getattr(y, "data", y)))
        self.linear.weight.data[...] = W
        self.linear.bias.data[...] = b
        return self

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"

    def __repr__(self) -> str:
        return f"LinearRegression({self.extra_repr()})"

    def get_config(self) -> dict[str, Any]:
        return self._config(
            in_features=self.in_features, out_features=self.out_features,
            dtype=self.linear.weight.dtype,
        )


class PolynomialFeatures(Module):
    """x -> (x, x^2, ..., x^order): the powers of a scalar input (N,) or (N, 1); no parameters.

    With ``in_features=D > 1`` the input is (N, D) and each feature gets its own powers,
    ``[x, x^2, ..., x^order]`` side by side: (N, D * order) features, no cross products
    (an additive polynomial; ``QuadraticFeatures`` has the products).
    """

    def __init__(self, order: int, in_features: int = 1) -> None:
        super().__init__()
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
            raise ValueError(f"order must be an integer >= 1, got {order!r}")
        if isinstance(in_features, bool) or not isinstance(in_features, (int, np.integer)) \
                or in_features < 1:
            raise ValueError(f"in_features must be an integer >= 1, got {in_features!r}")
        self.order = int(order)
        self.in_features = int(in_features)
        self.out_features = self.order * self.in_features

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        D = self.in_features
        if x.ndim == 1 and D == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[1] != D:
            expected = "(N,) or (N, 1)" if D == 1 else f"(N, {D})"
            raise ValueError(f"PolynomialFeatures needs x of shape {expected}, got {x.shape}")
        powers = [x]
        for _ in range(self.order - 1):
            powers.append(powers[-1] * x)
        return concatenate(powers, axis=1) if len(powers) > 1 else x

    def extra_repr(self) -> str:
        return f"order={self.order}" + (f", in_features={self.in_features}"
                                         if self.in_features != 1 else "")

    def get_config(self) -> dict[str, Any]:
        return self._config(order=self.order, in_features=self.in_features)


class PolynomialRegression(Module):
    """y = b + w_1 x + ... + w_k x^k: polynomial regression of order k (k + 1 parameters).

    The lecture's capacity experiment fits orders 1, 2, 3, 4 and 12 to the same noisy
    sample: low orders under-fit, order 12 over-fits. High orders are badly conditioned
    for gradient descent; ``fit_least_squares`` solves them exactly.

    ``in_features=D`` and ``out_features`` generalise it to D inputs (each with its own
    powers, see ``PolynomialFeatures``) and several outputs: D * k + 1 parameters per
    output.
    """

    def __init__(
        self, order: int, dtype: Any = None, in_features: int = 1, out_features: int = 1
    ) -> None:
        super().__init__()
        self.features = PolynomialFeatures(order, in_features)
        self.linear = Linear(self.features.out_features, out_features, dtype=dtype)
        self.order = self.features.order
        self.in_features, self.out_features = self.features.in_features, out_features

    def forward(self, x: Any) -> Tensor:
        return self.linear(self.features(x))

    def fit_least_squares(self, x: Any, y: Any) -> PolynomialRegression:
        """Set the coefficients to the least-squares fit of (x, y)."""
        x = np.asarray(getattr(x, "data", x), dtype=np.float64).reshape(-1, self.in_features)
        F = np.concatenate([x**k for k in range(1, self.order + 1)], axis=1)
        y = np.asarray(getattr(y, "data", y))
        W, b = _least_squares(F, y.reshape(-1) if self.out_features == 1 else y)
        self.linear.weight.data[...] = W
        self.linear.bias.data[...] = b
        return self

    def coefficients(self) -> np.ndarray:
        """(b, w_1, ..., w_k): the polynomial's coefficients, lowest order first (one input,
        one output)."""
        if self.in_features != 1 or self.out_features != 1:
            raise ValueError("coefficients() is defined for one input and one output; read "
                             "linear.weight and linear.bias")
        return np.concatenate([self.linear.bias.data, self.linear.weight.data[0]])

    def get_config(self) -> dict[str, Any]:
        return self._config(order=self.order, dtype=self.linear.weight.dtype,
                            in_features=self.in_features, out_features=self.out_features)


class QuadraticFeatures(Module):
    """x -> (x_1, ..., x_d, x_i x_j for i <= j): every linear term, square and pairwise
    product; d + d(d+1)/2 features, so a linear model on them (with its bias) has
    (d+1)(d+2)/2 parameters, the lecture's second-order model.

    Feature-space transformation: points on two circles become linearly separable once
    the squares are added.

    >>> import glassnet as gn
    >>> gn.models.QuadraticFeatures(2)(gn.tensor([[2.0, 3.0]]))
    tensor([[2., 3., 4., 6., 9.]])
    """

    def __init__(self, in_features: int) -> None:
        super().__init__()
        if isinstance(in_features, bool) or not isinstance(in_features, (int, np.integer)) \
                or in_features < 1:
            raise ValueError(f"in_features must be an integer >= 1, got {in_features!r}")
        self.in_features = int(in_features)
        i, j = np.triu_indices(self.in_features)
        self._i, self._j = i, j
        self.out_features = self.in_features + len(i)

    def forward(self, x: Any) -> Tensor:
        x = _flat(_as_tensor(x))
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"QuadraticFeatures expects (N, {self.in_features}) inputs, got {x.shape}"
            )
        return concatenate([x, x[:, self._i] * x[:, self._j]], axis=1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"

    def get_config(self) -> dict[str, Any]:
        return self._config(in_features=self.in_features)


class QuadraticModel(Module):
    """The second-order model: a linear map on ``QuadraticFeatures``.

    With one output it has exactly (d+1)(d+2)/2 parameters (LECTURE.md section 1).

    >>> import glassnet as gn
    >>> gn.models.QuadraticModel(784).num_parameters() == 785 * 786 // 2
    True
    """

    def __init__(self, in_features: int, out_features: int = 1, dtype: Any = None) -> None:
        super().__init__()
        self.features = QuadraticFeatures(in_features)
        self.linear = Linear(self.features.out_features, out_features, dtype=dtype)
        self.in_features, self.out_features = self.features.in_features, out_features

    def forward(self, x: Any) -> Tensor:
        return self.linear(self.features(x))

    def get_config(self) -> dict[str, Any]:
        return self._config(
            in_features=self.in_features, out_features=self.out_features,
            dtype=self.linear.weight.dtype,
        )


class LinearClassifier(_LinearModel):
    """The lecture's linear classifier f(x, W) = W x + b: C class scores.

    Images are flattened first: a 32x32x3 image becomes 3072 numbers and, for 10 classes,
    W is 10 x 3072 and b has 10 entries. Train it with any classification loss of
    ``glassnet.losses`` (hinge: a multiclass SVM; softmax_log_likelihood: softmax
    regression).
    """

    def __init__(self, in_features: int, num_classes: int, **linear: Any) -> None:
        super().__init__()
        self.linear = Linear(in_features, num_classes, **linear)
        self.in_features, self.num_classes = in_features, num_classes

    def forward(self, x: Any) -> Tensor:
        return self.linear(_flat(_as_tensor(x)))

    def get_config(self) -> dict[str, Any]:
        return self._config(
            in_features=self.in_features, num_classes=self.num_classes,
            dtype=self.linear.weight.dtype,
        )


class LogisticRegression(Module):
    """Logistic regression: one score s = w x + b with p(y=1|x) = sigma(s) for two
    classes, or softmax regression (C scores) for more.

    Train the binary model with ``glassnet.losses.sigmoid_binary_cross_entropy`` and the
    multiclass one with ``softmax_log_likelihood``. ``predict_proba`` returns class
    probabilities (N, C) in both cases.

    Equivalent: ``sklearn.linear_model.LogisticRegression`` without its L2 penalty
    (``penalty=None``), fitted by gradient descent.
    """

    def __init__(self, in_features: int, num_classes: int = 2, **linear: Any) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.in_features, self.num_classes = in_features, num_classes
        self.linear = Linear(in_features, 1 if num_classes == 2 else num_classes, **linear)

    @property
    def binary(self) -> bool:
        return self.num_classes == 2

    def forward(self, x: Any) -> Tensor:
        s = self.linear(_flat(_as_tensor(x)))
        return s.reshape(-1) if self.binary else s

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities (N, C)."""
        from glassnet.autograd.grad_mode import no_grad

        with no_grad():
            s = self.forward(x)
            if self.binary:
                p1 = s.sigmoid().data
                return np.stack([1 - p1, p1], axis=1)
            return s.softmax(axis=1).data

    def get_config(self) -> dict[str, Any]:
        return self._config(
            in_features=self.in_features, num_classes=self.num_classes,
            dtype=self.linear.weight.dtype,
        )
