"""The lecture's capacity experiment: polynomials of order 1, 2, 3, 4 and 12 fitted to the
same small noisy sample of a smooth curve (LECTURE.md section 3).

Low orders under-fit (high error on both sets), order 12 over-fits (near-zero training
error, high test error), orders 3-4 generalize best. Each polynomial is fitted exactly by
least squares (``PolynomialRegression.fit_least_squares``); the errors are medians over
several independent samples so that one unlucky draw does not decide the picture.

Run: python examples/capacity.py [--out capacity.png]
"""

from __future__ import annotations

import argparse

import numpy as np

import glassnet as gn

ORDERS = (1, 2, 3, 4, 12)


def mse(model: gn.models.PolynomialRegression, x: np.ndarray, y: np.ndarray) -> float:
    with gn.no_grad():
        pred = model(gn.tensor(x, dtype=np.float64)).data.reshape(-1)
    return float(np.mean((pred - y) ** 2))


def capacity(n_train: int = 15, n_test: int = 200, repeats: int = 10) -> dict[int, tuple]:
    """Median train and test mean squared error per polynomial order."""
    errors: dict[int, list[tuple[float, float]]] = {k: [] for k in ORDERS}
    for seed in range(repeats):
        x_tr, y_tr = gn.data.noisy_curve(n_train, noise=0.2, rng=seed)
        x_te, y_te = gn.data.noisy_curve(n_test, noise=0.2, rng=1000 + seed)
        for k in ORDERS:
            m = gn.models.PolynomialRegression(k, dtype=np.float64)
            m.fit_least_squares(x_tr.astype(np.float64), y_tr.astype(np.float64))
            errors[k].append((mse(m, x_tr, y_tr), mse(m, x_te, y_te)))
    return {k: tuple(np.median(np.array(v), axis=0)) for k, v in errors.items()}


def main(out: str | None = None) -> dict[int, tuple]:
    result = capacity()
    print("order   train MSE    test MSE")
    for k, (tr, te) in result.items():
        print(f"{k:5d}   {tr:9.4f}   {te:9.4f}")
    if out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        x, y = gn.data.noisy_curve(15, noise=0.2, rng=0)
        grid = np.linspace(0, 1, 400)
        fig, axes = plt.subplots(1, len(ORDERS), figsize=(3 * len(ORDERS), 3), sharey=True)
        for ax, k in zip(axes, ORDERS):
            m = gn.models.PolynomialRegression(k, dtype=np.float64)
            m.fit_least_squares(x.astype(np.float64), y.astype(np.float64))
            with gn.no_grad():
                curve = m(gn.tensor(grid, dtype=np.float64)).data.reshape(-1)
            ax.plot(grid, np.sin(2 * np.pi * grid), "k:", lw=1)
            ax.plot(grid, curve, "C1")
            ax.plot(x, y, "o", ms=4)
            ax.set_ylim(-2, 2)
            ax.set_title(f"order {k}")
        fig.tight_layout()
        fig.savefig(out, dpi=100)
        print(f"wrote {out}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the figure to this PNG")
    main(parser.parse_args().out)
