"""Capacity: polynomials of order 1, 2, 3, 4 and 12 on one small noisy sample
(section 3).

The sample is ``glassnet.data.noisy_curve`` (a smooth curve plus Gaussian noise); each
polynomial is fitted exactly by least squares (``PolynomialRegression.fit_least_squares``)
and scored by its mean squared error on the training sample and on a large test sample of
the same curve. Orders 1-2 under-fit (high error on both), order 12 over-fits (the lowest
training error, a high test error), orders 3-4 generalize best.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "capacity"
TITLE = "Under- and over-fitting: polynomials of order 1, 2, 3, 4 and 12"
SECTION = "3"
ORDER = 1
OPTIONS: dict[str, Any] = {"n_train": 15, "n_test": 1000, "noise": 0.2}
QUICK: dict[str, Any] = {"n_test": 300}
ORDERS = (1, 2, 3, 4, 12)


def _mse(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.tensor import Tensor

    with no_grad():
        pred = model(Tensor(x.astype(np.float64))).data.reshape(-1)
    return float(np.mean((pred - y) ** 2))


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.data import noisy_curve
    from glassnet.models import PolynomialRegression

    x_tr, y_tr = noisy_curve(ctx["n_train"], noise=ctx["noise"], rng=ctx.rng)
    x_te, y_te = noisy_curve(ctx["n_test"], noise=ctx["noise"], rng=ctx.rng)
    x_tr, y_tr = x_tr.astype(np.float64).reshape(-1), y_tr.astype(np.float64).reshape(-1)
    x_te, y_te = x_te.astype(np.float64).reshape(-1), y_te.astype(np.float64).reshape(-1)
    models, train, test = {}, {}, {}
    for k in ORDERS:
        m = PolynomialRegression(k, dtype=np.float64).fit_least_squares(x_tr, y_tr)
        models[k] = m
        train[str(k)] = _mse(m, x_tr, y_tr)
        test[str(k)] = _mse(m, x_te, y_te)
    best = min(test, key=test.get)
    ctx.note(f"Training error falls with the order (order 12: {train['12']:.2e}) while the "
             f"test error is lowest at order {best} ({test[best]:.3f}) and order 12's is "
             f"{test['12']:.3g}: order 12 has {13} coefficients for {ctx['n_train']} "
             "points and fits the noise. The noise variance itself "
             f"({ctx['noise'] ** 2:.3f}) is the best test error any model can reach.")
    if ctx.drawing:
        _draw(ctx, x_tr, y_tr, x_te, y_te, models, train, test)
    return {"train_mse": train, "test_mse": test, "best_order": int(best),
            "noise_variance": ctx["noise"] ** 2}


def _draw(ctx: Any, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray,
          models: dict[int, Any], train: dict[str, float], test: dict[str, float]) -> None:
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.experiments._plot import BLACK, BLUE, VERMILION
    from glassnet.tensor import Tensor

    fig = ctx.subplots(figsize=(16, 6.4))[0]
    fig.clf()
    grid = fig.add_gridspec(2, len(ORDERS))
    xs = np.linspace(x_te.min(), x_te.max(), 400)
    lo, hi = y_te.min() - 0.5, y_te.max() + 0.5
    for i, k in enumerate(ORDERS):
        ax = fig.add_subplot(grid[0, i])
        with no_grad():
            curve = models[k](Tensor(xs)).data.reshape(-1)
        ax.plot(x_te, y_te, ".", color="#999999", ms=2, label="test sample")
        ax.plot(x_tr, y_tr, "o", color=BLACK, ms=5, label="training sample")
        ax.plot(xs, curve, color=VERMILION, label=f"order {k} fit")
        ax.set_ylim(lo, hi)
        ax.set(title=f"order {k}: train {train[str(k)]:.3f}, test {test[str(k)]:.3g}",
               xlabel="x", ylabel="y" if i == 0 else None)
        ax.title.set_fontsize(10)
        if i == 0:
            ax.legend(loc="lower left", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    orders = [str(k) for k in ORDERS]
    ax.semilogy(orders, [train[k] for k in orders], "o-", color=BLUE, label="training MSE")
    ax.semilogy(orders, [test[k] for k in orders], "s-", color=VERMILION, label="test MSE")
    ax.axhline(ctx["noise"] ** 2, color=BLACK, ls=":", lw=1, label="noise variance")
    ax.set(xlabel="polynomial order", ylabel="mean squared error (log scale)",
           title="Training error keeps falling; test error is lowest at orders 3-4")
    ax.legend()
    fig.suptitle("Model capacity on one small noisy sample (lecture section 3)")
    ctx.save(fig, "capacity")
