"""The manifold assumption, measured: real images fill a tiny part of pixel space
(section 2).

Real images (Fashion-MNIST, digits in quick mode) and as many uniform random images of
the same size go through the same principal component analysis (the singular values of
the centred data matrix, by NumPy's SVD): how many components hold 90% and 95% of the
variance. Real images need a few dozen of their hundreds of dimensions; random images
need almost all of them, because their variance is spread evenly over every pixel.

Two more measurements show what "tiny" means. A held-out real image projected onto the
real data's 90% subspace keeps most of itself, a random image loses most of itself. And
the straight line between two real images of different classes (a pixel cross-fade)
leaves the data: its midpoint is further from every training image than either end
point, though still far closer than a random image is. The data lie on a curved
surface, not in a convex region: a straight line between two real images is not a path
through real images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "manifold"
TITLE = "Real images fill a tiny part of pixel space; random images fill all of it"
SECTION = "2"
ORDER = 1
OPTIONS: dict[str, Any] = {"n_train": 10000, "n_test": 1000, "dataset": "auto",
                           "steps": 9, "n_random": 1000, "pairs": 300}
QUICK: dict[str, Any] = {"n_train": 2000, "n_test": 450, "n_random": 450, "pairs": 200}


class _PCA:
    """Principal components of the rows of X (N, D): the right singular vectors of the
    centred matrix, the variance each holds and the cumulative explained variance."""

    def __init__(self, X: np.ndarray) -> None:
        X = np.asarray(X, dtype=np.float64)
        self.mean = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - self.mean, full_matrices=False)
        self.components = vt                                  # (K, D), K = min(N, D)
        self.variance = s ** 2 / (X.shape[0] - 1)
        self.cumulative = np.cumsum(self.variance) / self.variance.sum()

    def needed(self, fraction: float) -> int:
        """The fewest components whose variance adds up to ``fraction`` of the total."""
        return int(np.searchsorted(self.cumulative, fraction - 1e-12) + 1)

    def reconstruct(self, X: np.ndarray, k: int) -> np.ndarray:
        V = self.components[:k]
        return self.mean + (np.asarray(X, np.float64) - self.mean) @ V.T @ V

    def residual_fraction(self, X: np.ndarray, k: int) -> np.ndarray:
        """Per row: the share of its squared distance from the mean that lies outside
        the top-k subspace (0: inside it, 1: orthogonal to it)."""
        centred = np.asarray(X, np.float64) - self.mean
        kept = centred @ self.components[:k].T
        total = (centred ** 2).sum(axis=1)
        return 1.0 - (kept ** 2).sum(axis=1) / total


def _nearest_distance(Q: np.ndarray, X: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Euclidean distance from each row of Q to its nearest row of X."""
    Q, X = np.asarray(Q, np.float64), np.asarray(X, np.float64)
    x2 = (X ** 2).sum(axis=1)
    out = np.empty(len(Q))
    for i in range(0, len(Q), chunk):
        q = Q[i:i + chunk]
        d2 = (q ** 2).sum(axis=1)[:, None] - 2.0 * q @ X.T + x2[None, :]
        out[i:i + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def _pairs(y: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` pairs (rows [a, b]) of test images of two different classes."""
    a = rng.integers(0, len(y), size=4 * count)
    b = rng.integers(0, len(y), size=4 * count)
    keep = y[a] != y[b]
    return np.stack([a[keep], b[keep]], axis=1)[:count]


def compute(ctx: Any) -> dict[str, Any]:
    if ctx["steps"] < 3:
        raise ValueError(f"manifold: steps must be >= 3 (two end points and a middle), "
                         f"got {ctx['steps']}")
    if ctx["pairs"] < 1 or ctx["n_random"] < 1:
        raise ValueError(f"manifold: pairs and n_random must be >= 1, got "
                         f"{ctx['pairs']} and {ctx['n_random']}")
    data = ctx.image_data(ctx["n_train"], ctx["n_test"], dataset=ctx["dataset"])
    X, X_test = data.X_train, data.X_test
    n, dim = X.shape
    R = ctx.rng.uniform(0.0, 1.0, size=(n, dim)).astype(np.float32)
    R_test = ctx.rng.uniform(0.0, 1.0, size=(ctx["n_random"], dim)).astype(np.float32)
    real, rand = _PCA(X), _PCA(R)
    k90, k95 = real.needed(0.90), real.needed(0.95)
    r90, r95 = rand.needed(0.90), rand.needed(0.95)

    real_residual = real.residual_fraction(X_test, k90)
    random_residual = real.residual_fraction(R_test, k90)
    pairs = _pairs(data.y_test, ctx["pairs"], ctx.rng)
    ends_nn = _nearest_distance(X_test[pairs.ravel()], X).reshape(-1, 2)
    mid_nn = _nearest_distance(0.5 * (X_test[pairs[:, 0]] + X_test[pairs[:, 1]]), X)
    ratio = mid_nn / ends_nn.mean(axis=1)
    a, b = pairs[np.argsort(ratio)[len(ratio) // 2]]  # the pair drawn: a typical one
    t = np.linspace(0.0, 1.0, ctx["steps"])
    path = (1.0 - t)[:, None] * X_test[a][None, :] + t[:, None] * X_test[b][None, :]
    path_nn = _nearest_distance(path, X)
    path_residual = real.residual_fraction(path, k90)
    real_nn = _nearest_distance(X_test, X)
    random_nn = _nearest_distance(R_test, X)

    numbers = {
        "dataset": data.name, "dimensions": dim, "n_images": n,
        "components_90": k90, "components_95": k95,
        "random_components_90": r90, "random_components_95": r95,
        "fraction_of_dimensions_90": k90 / dim,
        "test_residual_fraction": float(real_residual.mean()),
        "random_residual_fraction": float(random_residual.mean()),
        "interpolation_t": t,
        "interpolation_classes": [data.classes[data.y_test[a]], data.classes[data.y_test[b]]],
        "interpolation_nn_distance": path_nn,
        "interpolation_residual_fraction": path_residual,
        "midpoint_distance_ratio": float(np.median(ratio)),
        "midpoint_further_fraction": float(np.mean(ratio > 1.0)),
        "midpoint_nn_distance": float(np.median(mid_nn)),
        "pairs": len(pairs),
        "real_nn_distance": float(np.median(real_nn)),
        "random_nn_distance": float(np.median(random_nn)),
    }
    ctx.note(
        f"PCA of {n:,} {data.name} images of {dim} pixels against {n:,} uniform random "
        f"images of the same size: {k90} components ({k90 / dim:.1%} of the dimensions) "
        f"hold 90% of the real images' variance and {k95} hold 95%; random images need "
        f"{r90} and {r95}. A held-out real image keeps all but "
        f"{numbers['test_residual_fraction']:.1%} of its variance (about the mean image) "
        f"in the real data's {k90}-dimensional subspace, a random image loses "
        f"{numbers['random_residual_fraction']:.1%} of its variance there."
    )
    ctx.note(
        f"Straight lines between two test images of different classes (pixel "
        f"cross-fades), {len(pairs)} pairs: the midpoint is on median "
        f"{numbers['midpoint_distance_ratio']:.2f} x as far from its nearest training "
        f"image as the two ends are, and further than the ends in "
        f"{numbers['midpoint_further_fraction']:.0%} of the pairs. Yet the midpoints stay "
        f"far closer to the data than random images: the median distance to the nearest "
        f"training image is {numbers['midpoint_nn_distance']:.2f} for the midpoints, "
        f"{numbers['real_nn_distance']:.2f} for real test images and "
        f"{numbers['random_nn_distance']:.2f} for random images "
        f"(Euclidean, pixel values in [0, 1]). The figure draws the pair with the median "
        f"ratio, a {numbers['interpolation_classes'][0]} to a "
        f"{numbers['interpolation_classes'][1]}: distance {path_nn[0]:.2f} and "
        f"{path_nn[-1]:.2f} at the ends, {path_nn.max():.2f} at most on the way. This is "
        f"what data on a thin, curved surface look like: a straight line passes near it "
        f"but not along it."
    )
    if ctx.drawing:
        _draw_spectrum(ctx, data, real, rand, numbers, X_test[a], R_test[0])
        _draw_interpolation(ctx, data, path, R_test[:len(t)], numbers)
    return numbers


def _image(ax: Any, x: np.ndarray, shape: tuple[int, ...], title: str | None = None,
           cmap: str = "gray_r", symmetric: bool = False) -> None:
    img = np.asarray(x).reshape(shape)
    if symmetric:
        lim = float(np.abs(img).max()) or 1.0
        ax.imshow(img, cmap=cmap, vmin=-lim, vmax=lim)
    else:
        ax.imshow(img, cmap=cmap, vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)


def _draw_spectrum(ctx: Any, data: Any, real: _PCA, rand: _PCA, numbers: dict[str, Any],
                   x_real: np.ndarray, x_rand: np.ndarray) -> None:
    from matplotlib.ticker import ScalarFormatter

    from glassnet.experiments._plot import BLACK, BLUE, DIVERGING, VERMILION

    fig = ctx.subplots(figsize=(15, 6))[0]
    fig.clf()
    grid = fig.add_gridspec(2, 6, width_ratios=[3.2, 3.2, 1, 1, 1, 1])
    ax = fig.add_subplot(grid[:, :2])
    k = np.arange(1, len(real.cumulative) + 1)
    ax.semilogx(k, 100 * real.cumulative, color=BLUE, label=f"real images ({data.name})")
    ax.semilogx(np.arange(1, len(rand.cumulative) + 1), 100 * rand.cumulative,
                color=VERMILION, label="uniform random images")
    for frac, ls in ((90, "--"), (95, ":")):
        ax.axhline(frac, color=BLACK, lw=1, ls=ls, label=f"{frac}% of the variance")
    for key, color in (("components_90", BLUE), ("random_components_90", VERMILION)):
        ax.axvline(numbers[key], color=color, lw=1, ls="--")
        ax.annotate(f"{numbers[key]}", (numbers[key], 50), color=color, fontsize=11,
                    xytext=(4, 0), textcoords="offset points", fontweight="bold")
    ax.set(xlabel="number of principal components (log scale)",
           ylabel="cumulative explained variance (%)", ylim=(0, 101),
           title=f"90% of the variance: {numbers['components_90']} of "
                 f"{numbers['dimensions']} components (real) vs "
                 f"{numbers['random_components_90']} (random)")
    ax.title.set_fontsize(11)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.legend(loc="lower right")
    for i in range(8):  # the top principal components, as images
        sub = fig.add_subplot(grid[i // 4, 2 + i % 4])
        _image(sub, real.components[i], data.image_shape, f"component {i + 1}",
               cmap=DIVERGING, symmetric=True)
    fig.suptitle("The manifold assumption (lecture section 2): a few directions hold "
                 "almost all the variation of real images (right: the top 8, red + / "
                 "blue -)")
    ctx.save(fig, "manifold-spectrum")

    k90 = numbers["components_90"]
    fig, axes = ctx.subplots(2, 2, figsize=(6.4, 6.6))
    for row, (x, name) in enumerate(((x_real, "real"), (x_rand, "random"))):
        back = np.clip(real.reconstruct(x[None], k90)[0], 0.0, 1.0)
        kept = 1.0 - real.residual_fraction(x[None], k90)[0]
        _image(axes[row, 0], x, data.image_shape, f"{name} image")
        _image(axes[row, 1], back, data.image_shape,
               f"from {k90} components (keeps\n{kept:.0%} of its squared distance\n"
               f"from the mean image)")
    fig.suptitle(f"Projected onto the real images'\n{k90}-dimensional subspace")
    ctx.save(fig, "manifold-projection")


def _draw_interpolation(ctx: Any, data: Any, path: np.ndarray, randoms: np.ndarray,
                        numbers: dict[str, Any]) -> None:
    from glassnet.experiments._plot import BLUE, SKY, VERMILION

    t, dist = numbers["interpolation_t"], numbers["interpolation_nn_distance"]
    steps = len(t)
    fig = ctx.subplots(figsize=(max(10.0, 1.35 * steps), 7.6))[0]
    fig.clf()
    grid = fig.add_gridspec(3, steps, height_ratios=[1, 1, 1.8])
    for i in range(steps):
        _image(fig.add_subplot(grid[0, i]), path[i], data.image_shape,
               f"t = {t[i]:.2f}\nnearest {dist[i]:.2f}")
        _image(fig.add_subplot(grid[1, i]), randoms[i], data.image_shape,
               "random" if i else "random images")
    ax = fig.add_subplot(grid[2, :])
    ax.plot(t, dist, "o-", color=BLUE,
            label=f"on the line {numbers['interpolation_classes'][0]} -> "
                  f"{numbers['interpolation_classes'][1]}")
    ax.axhline(numbers["real_nn_distance"], color=SKY, ls="--",
               label=f"real test images (median {numbers['real_nn_distance']:.2f})")
    ax.axhline(numbers["random_nn_distance"], color=VERMILION, ls="--",
               label=f"random images (median {numbers['random_nn_distance']:.2f})")
    ax.set(xlabel="t (image = (1 - t) x start + t x end)",
           ylabel="distance to the nearest\ntraining image (pixels in [0, 1])",
           ylim=(0, 1.08 * numbers["random_nn_distance"]),
           title=f"The line stays near the data, but its middle is further from it "
                 f"(median over {numbers['pairs']} pairs: "
                 f"{numbers['midpoint_distance_ratio']:.2f} x the ends)")
    ax.legend(loc="center right")
    fig.suptitle("Interpolating between two real images (top) vs uniform random images "
                 "of the same size (middle)")
    ctx.save(fig, "manifold-interpolation")
