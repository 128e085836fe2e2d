"""Feature-space transformation: two circles become linearly separable once the squares
are features (section 1).

Points on two concentric circles (``glassnet.data.two_circles``) cannot be split by a
line: a linear classifier on (x1, x2) stays near chance. The same classifier (one logistic
output, trained by gradient descent on ``sigmoid_binary_cross_entropy``) on the quadratic
features (x1, x2, x1^2, x1 x2, x2^2) (``glassnet.models.QuadraticFeatures``) separates
them: the boundary w . phi(x) + b = 0 is a conic, here a circle. A linear model in d
dimensions has d + 1 parameters, the second-order model (d+1)(d+2)/2: 3 and 6 for d = 2,
785 and 308,505 for MNIST's d = 784.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "feature-transform"
TITLE = "Two circles: a linear classifier fails, quadratic features separate them"
SECTION = "1"
ORDER = 2
OPTIONS: dict[str, Any] = {"n": 600, "noise": 0.05, "epochs": 300, "lr": 0.5}
QUICK: dict[str, Any] = {"n": 300, "epochs": 150}


def _train(model: Any, X: np.ndarray, y: np.ndarray, epochs: int, lr: float) -> None:
    from glassnet import losses, optim
    from glassnet.tensor import Tensor

    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    Xt, target = Tensor(X), y.astype(X.dtype)
    for _ in range(epochs):  # full-batch gradient descent
        opt.zero_grad()
        losses.sigmoid_binary_cross_entropy(model(Xt).reshape(-1), target).backward()
        opt.step()


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.tensor import Tensor

    with no_grad():
        s = model(Tensor(X)).data.reshape(-1)
    return float(np.mean((s > 0).astype(np.int64) == y))


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.data import train_test_split, two_circles
    from glassnet.models import QuadraticFeatures, QuadraticModel
    from glassnet.nn import Linear, Sequential

    X, y = two_circles(ctx["n"], noise=ctx["noise"], rng=ctx.rng)
    X = X.astype(np.float64)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, rng=ctx.rng, stratify=y)
    linear = Linear(2, 1, dtype=np.float64)
    quadratic = Sequential(QuadraticFeatures(2), Linear(5, 1, dtype=np.float64))
    _train(linear, X_tr, y_tr, ctx["epochs"], ctx["lr"])
    _train(quadratic, X_tr, y_tr, ctx["epochs"], ctx["lr"])
    numbers = {
        "linear_accuracy": _accuracy(linear, X_te, y_te),
        "quadratic_accuracy": _accuracy(quadratic, X_te, y_te),
        "linear_train_accuracy": _accuracy(linear, X_tr, y_tr),
        "quadratic_train_accuracy": _accuracy(quadratic, X_tr, y_tr),
        "linear_parameters": linear.num_parameters(),
        "quadratic_parameters": QuadraticModel(2).num_parameters(),
        "linear_parameters_784": Linear(784, 1).num_parameters(),
        "quadratic_parameters_784": QuadraticModel(784).num_parameters(),
    }
    ctx.note(f"Test accuracy: {numbers['linear_accuracy']:.1%} for the linear classifier "
             f"(chance is 50%), {numbers['quadratic_accuracy']:.1%} on quadratic features. "
             f"Parameters: {numbers['linear_parameters']} vs "
             f"{numbers['quadratic_parameters']} for d = 2, "
             f"{numbers['linear_parameters_784']:,} vs "
             f"{numbers['quadratic_parameters_784']:,} for d = 784.")
    if ctx.drawing:
        _draw(ctx, X_te, y_te, linear, quadratic, numbers)
    return numbers


def _draw(ctx: Any, X: np.ndarray, y: np.ndarray, linear: Any, quadratic: Any,
          numbers: dict[str, Any]) -> None:
    from matplotlib.colors import ListedColormap

    from glassnet.autograd.grad_mode import no_grad
    from glassnet.experiments._plot import BLACK, BLUE, VERMILION
    from glassnet.tensor import Tensor

    fig, axes = ctx.subplots(1, 2, figsize=(11, 5))
    g1, g2 = np.meshgrid(np.linspace(-1.5, 1.5, 300), np.linspace(-1.5, 1.5, 300))
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1)
    for ax, model, key, name in ((axes[0], linear, "linear_accuracy", "Linear on (x1, x2)"),
                                 (axes[1], quadratic, "quadratic_accuracy",
                                  "Linear on (x1, x2, x1², x1·x2, x2²)")):
        with no_grad():
            s = model(Tensor(grid)).data.reshape(g1.shape)
        ax.contourf(g1, g2, (s > 0).astype(float), levels=[-0.5, 0.5, 1.5],
                    cmap=ListedColormap(["#cde4f2", "#f6d3bf"]))
        ax.contour(g1, g2, s, levels=[0], colors=BLACK, linewidths=2)
        for c, color, label in ((0, BLUE, "class 0 (outer)"), (1, VERMILION, "class 1 (inner)")):
            ax.plot(*X[y == c].T, "o", color=color, ms=4, label=label)
        ax.set(title=f"{name}: test accuracy {numbers[key]:.1%}", xlabel="x1", ylabel="x2",
               aspect="equal")
        ax.legend(loc="upper right", fontsize=9)
    fig.suptitle("Feature-space transformation (lecture section 1): the black line is the "
                 "decision boundary")
    ctx.save(fig, "feature-transform")
