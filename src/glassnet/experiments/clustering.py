"""Clustering without labels (section 4, unsupervised): k-means and a Gaussian mixture on
the digits and on Fashion-MNIST, scored against the labels they never saw.

``glassnet.unsupervised.KMeans`` (k-means++, ``n_init`` restarts) clusters the raw
pixels, scaled to [0, 1]: 64 of them for the 1,797 8x8 digits, 784 for ``n_fashion``
Fashion-MNIST training images. A full-covariance ``GaussianMixture`` on raw Fashion-MNIST
would need 784 x 785 / 2 covariance entries per component, so the mixture clusters the
first ``pca_dims`` principal components (``glassnet.unsupervised.pca``) instead, started
from the k-means centres; its means are mapped back to pixels to be shown as images.
Purity (the share of samples in their cluster's majority class) and the adjusted Rand
index (1 = the classes exactly, about 0 = chance) compare the clusters with the hidden
labels; ``chance_purity`` is the purity of a random assignment to as many clusters. The
elbow curve is k-means' inertia for K = 1 .. ``elbow_max`` (``elbow_n_init`` restarts
each), divided by the inertia at K = 1 (the total squared deviation from the mean image)
so that both sets share one axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "clustering"
TITLE = "k-means and a Gaussian mixture on unlabelled digits and Fashion-MNIST"
SECTION = "4"
ORDER = 1
OPTIONS: dict[str, Any] = {"n_fashion": 10000, "n_clusters": 10, "n_init": 4,
                           "pca_dims": 30, "elbow_max": 12, "elbow_n_init": 2, "jobs": 1}
QUICK: dict[str, Any] = {"n_fashion": 1000, "n_init": 2, "elbow_max": 10,
                         "elbow_n_init": 1}
SHORT = {"T-shirt/top": "top", "Ankle boot": "boot"}


def _datasets(ctx: Any) -> list[tuple[str, np.ndarray, np.ndarray, tuple, list[str]]]:
    """(name, X (N, D) float32 in [0, 1], hidden labels, image shape, class names)."""
    from glassnet.experiments._framework import fashion_mnist_available

    digits = ctx.image_data(dataset="digits")
    sets = [("digits", np.concatenate([digits.X_train, digits.X_test]),
             np.concatenate([digits.y_train, digits.y_test]), digits.image_shape,
             digits.classes)]
    if ctx["n_fashion"] > 0 and fashion_mnist_available():
        fm = ctx.image_data(n_train=ctx["n_fashion"], n_test=1, dataset="fashion-mnist")
        sets.append(("fashion-mnist", fm.X_train, fm.y_train, fm.image_shape,
                     [SHORT.get(c, c) for c in fm.classes]))
    return sets


def _check(ctx: Any) -> None:
    for key, low in (("n_clusters", 2), ("n_init", 1), ("pca_dims", 1), ("elbow_max", 2),
                     ("elbow_n_init", 1), ("n_fashion", 0)):
        if ctx[key] < low:
            raise ValueError(f"clustering: {key} must be >= {low}, got {ctx[key]}")


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.experiments._threads import limited_threads
    from glassnet.unsupervised import GaussianMixture, KMeans, adjusted_rand_index, pca, purity

    _check(ctx)
    k = ctx["n_clusters"]
    km_purity, gmm_purity, km_ari, gmm_ari, chance, inertia, shown = ({} for _ in range(7))
    with limited_threads(ctx["jobs"], NAME):
        for name, X, y, shape, classes in _datasets(ctx):
            km = KMeans(k, n_init=ctx["n_init"], rng=ctx.rng).fit(X)
            km_purity[name] = purity(y, km.labels_)
            km_ari[name] = adjusted_rand_index(y, km.labels_)
            chance[name] = purity(y, ctx.rng.integers(k, size=len(y)))
            Z, axes, mean = pca(X, min(ctx["pca_dims"], *X.shape))
            start = (km.cluster_centers_.astype(np.float64) - mean) @ axes.T
            gm = GaussianMixture(k, "full", reg_covar=1e-3, means_init=start).fit(Z)
            lab = gm.predict(Z)
            gmm_purity[name] = purity(y, lab)
            gmm_ari[name] = adjusted_rand_index(y, lab)
            shown[name] = {"k-means centres": (km.cluster_centers_, km.labels_),
                           "mixture means": (gm.means_ @ axes + mean, lab),
                           "y": y, "shape": shape, "classes": classes}
            fits = [KMeans(j, n_init=ctx["elbow_n_init"], rng=ctx.rng).fit(X).inertia_
                    for j in range(1, ctx["elbow_max"] + 1)]
            inertia[name] = {str(j): v for j, v in enumerate(fits, start=1)}
    names = list(km_purity)
    ctx.note(
        f"Without labels, k-means with K = {k} finds clusters whose majority class covers "
        + ", ".join(f"{km_purity[n]:.0%} of {n}" for n in names)
        + " (adjusted Rand index " + ", ".join(f"{km_ari[n]:.2f}" for n in names)
        + "; a random assignment has purity "
        + ", ".join(f"{chance[n]:.0%}" for n in names) + "). The full-covariance mixture "
        f"on the first {ctx['pca_dims']} principal components, started from the k-means "
        "centres, reaches purity " + ", ".join(f"{gmm_purity[n]:.0%}" for n in names)
        + " (adjusted Rand " + ", ".join(f"{gmm_ari[n]:.2f}" for n in names) + "). "
        "The inertia falls with every added centre, steeply for the first few and slowly "
        "after: the elbow is soft, and it does not say by itself where to stop.")
    if ctx.drawing:
        _draw_centres(ctx, shown, k)
        _draw_scores(ctx, inertia, km_purity, gmm_purity, km_ari, gmm_ari, chance, k)
    return {"kmeans_purity": km_purity, "gmm_purity": gmm_purity, "kmeans_ari": km_ari,
            "gmm_ari": gmm_ari, "chance_purity": chance, "inertia": inertia,
            "datasets": names, "n_samples": {n: len(shown[n]["y"]) for n in names}}


def _majority(labels: np.ndarray, y: np.ndarray, j: int) -> tuple[int, int, float]:
    """(size, majority class or -1, its share) of cluster j."""
    members = y[labels == j]
    if not len(members):
        return 0, -1, 0.0
    top = int(np.bincount(members).argmax())
    return len(members), top, float(np.mean(members == top))


def _draw_centres(ctx: Any, shown: dict[str, Any], k: int) -> None:
    rows = [(name, kind) for name in shown for kind in ("k-means centres", "mixture means")]
    fig = ctx.subplots(figsize=(1.45 * k + 1.2, 2.0 * len(rows) + 0.8))[0]
    fig.clf()
    grid = fig.add_gridspec(len(rows), k)
    for r, (name, kind) in enumerate(rows):
        images, labels = shown[name][kind]
        y, classes = shown[name]["y"], shown[name]["classes"]
        stats = [_majority(labels, y, j) for j in range(k)]
        order = sorted(range(k), key=lambda j: (stats[j][1], -stats[j][2]))
        for c, j in enumerate(order):
            size, top, share = stats[j]
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(images[j].reshape(shown[name]["shape"]), cmap="gray_r", vmin=0,
                      vmax=max(float(images[j].max()), 1e-6))
            label = classes[top] if top >= 0 else "empty"
            ax.set_title(f"{label}: {share:.0%}\nof {size}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if c == 0:
                ax.set_ylabel(f"{name}\n{kind}", fontsize=9)
    fig.suptitle("Clusters found without labels, shown as images (title: the majority "
                 "hidden class, its share of the cluster, the cluster's size)", fontsize=11)
    ctx.save(fig, "clustering")


def _draw_scores(ctx: Any, inertia: dict[str, dict[str, float]], km_purity: dict,
                 gmm_purity: dict, km_ari: dict, gmm_ari: dict, chance: dict,
                 k: int) -> None:
    from glassnet.experiments._plot import BLACK, BLUE, GREEN, SKY, VERMILION, YELLOW

    fig, (ax, bx) = ctx.subplots(1, 2, figsize=(12.5, 4.6))
    for name, colour, marker in zip(inertia, (BLUE, VERMILION), ("o", "s")):
        ks = [int(j) for j in inertia[name]]
        rel = np.array([inertia[name][str(j)] for j in ks]) / inertia[name]["1"]
        ax.plot(ks, rel, marker=marker, color=colour, label=name)
    ax.axvline(k, color=BLACK, ls=":", lw=1.2, label=f"{k} hidden classes")
    ax.set_ylim(0, 1.02)
    ax.set(xlabel="number of clusters K",
           ylabel="inertia / inertia at K = 1 (share left)",
           title="The elbow curve: k-means inertia per K")
    ax.legend()
    names = list(km_purity)
    x = np.arange(len(names))
    bars = [("k-means purity", km_purity, BLUE), ("mixture purity", gmm_purity, SKY),
            ("k-means ARI", km_ari, VERMILION), ("mixture ARI", gmm_ari, YELLOW)]
    width = 0.8 / len(bars)
    for i, (label, vals, colour) in enumerate(bars):
        pos = x + (i - (len(bars) - 1) / 2) * width
        h = [vals[n] for n in names]
        bx.bar(pos, h, width, color=colour, label=label)
        for p, v in zip(pos, h):
            bx.text(p, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    for i, n in enumerate(names):
        bx.plot([i - 0.45, i + 0.45], [chance[n]] * 2, color=GREEN, ls="--", lw=1.5,
                label="purity of a random assignment" if i == 0 else None)
    bx.set_xticks(x, names)
    bx.set_ylim(0, 1.08)
    bx.set(ylabel="score against the hidden labels (1 = the classes)",
           title=f"Purity and adjusted Rand index (ARI), K = {k}")
    bx.legend(fontsize=8, loc="upper right")
    bx.grid(axis="x", visible=False)
    fig.suptitle("Clustering without labels (lecture section 4)")
    ctx.save(fig, "clustering_scores")
