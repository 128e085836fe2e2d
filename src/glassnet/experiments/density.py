"""Density estimation (section 4, unsupervised): a Gaussian mixture's density on 2-D data,
the held-out log-likelihood per number of components, and BIC choosing that number.

The data are four elongated Gaussian clusters (``glassnet.data.gaussian_blobs`` sheared
by a fixed matrix), split into a training and a held-out half. A full-covariance
``glassnet.unsupervised.GaussianMixture`` is fitted for K = 1 .. ``max_components``; BIC
(-2 log L + p log N on the training half) picks K without looking at the held-out half,
and the held-out mean log-likelihood says whether that choice generalises. A Gaussian
``KernelDensity`` (bandwidth ``bandwidth``) is drawn beside the chosen mixture.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "density"
TITLE = "Density estimation: a Gaussian mixture on 2-D data, K chosen by BIC"
SECTION = "4"
ORDER = 2
OPTIONS: dict[str, Any] = {"n_train": 2000, "n_test": 2000, "max_components": 10,
                           "n_init": 4, "bandwidth": 0.7}
QUICK: dict[str, Any] = {"n_train": 400, "n_test": 400, "max_components": 6, "n_init": 1}
CENTRES = np.array([[-6.0, -3.0], [0.0, 4.0], [5.0, -2.0], [7.0, 6.0]])
SHEAR = np.array([[1.0, 0.0], [0.8, 0.6]])


def _data(n: int, rng: np.random.Generator) -> np.ndarray:
    from glassnet.data import gaussian_blobs

    X = gaussian_blobs(n, centers=CENTRES, std=np.array([1.0, 1.4, 0.8, 1.1]), rng=rng)[0]
    return X.astype(np.float64) @ SHEAR.T


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.unsupervised import GaussianMixture, KernelDensity

    for key, low in (("n_train", 20), ("n_test", 1), ("max_components", 2), ("n_init", 1)):
        if ctx[key] < low:
            raise ValueError(f"density: {key} must be >= {low}, got {ctx[key]}")
    X, X_te = _data(ctx["n_train"], ctx.rng), _data(ctx["n_test"], ctx.rng)
    models, heldout, train, bic = {}, {}, {}, {}
    for k in range(1, ctx["max_components"] + 1):
        gm = GaussianMixture(k, "full", n_init=ctx["n_init"], rng=ctx.rng).fit(X)
        models[k] = gm
        heldout[str(k)] = gm.score(X_te)
        train[str(k)] = gm.score(X)
        bic[str(k)] = gm.bic(X)
    best = int(min(bic, key=bic.get))
    best_heldout = int(max(heldout, key=heldout.get))
    kde = KernelDensity(ctx["bandwidth"]).fit(X)
    kde_heldout = kde.score(X_te) / len(X_te)
    rises = all(train[str(k + 1)] >= train[str(k)] for k in range(1, len(train)))
    ctx.note(f"BIC picks K = {best} (the data have {len(CENTRES)} clusters); the held-out "
             f"log-likelihood is highest at K = {best_heldout} "
             f"({heldout[str(best_heldout)]:.3f} nats per point; K = 1: {heldout['1']:.3f}). "
             "The training log-likelihood "
             + ("rises with every added component" if rises else
                "rises with K up to the true number and then stays about level, dipping "
                "slightly where EM stops in a local optimum")
             + f", to {train[str(len(train))]:.3f} at K = {len(train)}; BIC's penalty, 6 "
             "parameters per added component times log N, stops it where the held-out "
             f"score stops improving. The kernel density (bandwidth {kde.bandwidth_:.2f}) "
             f"scores {kde_heldout:.3f} per held-out point.")
    if ctx.drawing:
        _draw(ctx, X, models[best], kde, train, heldout, bic, best)
    return {"best_components": best, "heldout_loglik": heldout, "train_loglik": train,
            "bic": bic, "best_heldout_components": best_heldout,
            "kde_heldout_loglik": kde_heldout, "true_components": len(CENTRES)}


def _draw(ctx: Any, X: np.ndarray, gm: Any, kde: Any, train: dict[str, float],
          heldout: dict[str, float], bic: dict[str, float], best: int) -> None:
    from glassnet.experiments._plot import BLACK, BLUE, GREEN, VERMILION

    fig, axs = ctx.subplots(1, 3, figsize=(16, 5))
    lo, hi = X.min(axis=0) - 2, X.max(axis=0) + 2
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 160), np.linspace(lo[1], hi[1], 160))
    grid = np.c_[gx.ravel(), gy.ravel()]
    for ax, model, title in ((axs[0], gm, f"Gaussian mixture, K = {best} (BIC)"),
                             (axs[1], kde, f"kernel density, h = {kde.bandwidth_:.2f}")):
        logd = np.log10(np.exp(model.score_samples(grid))).reshape(gx.shape)
        cs = ax.contourf(gx, gy, np.maximum(logd, -5), levels=np.linspace(-5, -0.5, 10),
                         cmap="viridis", extend="both")
        ax.scatter(X[:, 0], X[:, 1], s=2, color="white", alpha=0.4)
        fig.colorbar(cs, ax=ax, label="log10 density p(x)")
        ax.set(title=title, xlabel="feature x1", ylabel="feature x2")
        ax.grid(False)
    axs[0].scatter(gm.means_[:, 0], gm.means_[:, 1], marker="x", s=80, color=VERMILION,
                   label="component means")
    axs[0].legend(loc="lower right", fontsize=8)
    ks = [int(k) for k in heldout]
    ax = axs[2]
    ax.plot(ks, [train[str(k)] for k in ks], "o-", color=BLUE, label="training")
    ax.plot(ks, [heldout[str(k)] for k in ks], "s-", color=VERMILION, label="held-out")
    ax.set(xlabel="number of components K", ylabel="mean log-likelihood per point (nats)",
           title="Log-likelihood and BIC per K")
    tw = ax.twinx()
    tw.plot(ks, [bic[str(k)] for k in ks], "^--", color=GREEN, label="BIC (right axis)")
    tw.axvline(best, color=BLACK, ls=":", lw=1.2, label=f"K = {best} chosen by BIC")
    tw.set_ylabel("BIC (lower is better)")
    tw.grid(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = tw.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center right")
    fig.suptitle("Density estimation on 2-D data (lecture section 4)")
    ctx.save(fig, "density")
