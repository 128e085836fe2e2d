"""glassnet.unsupervised against scikit-learn: quality gaps and paired fit times.

KMeans (k = 10, n_init = 10, k-means++, Lloyd) on digits, blobs and Fashion-MNIST
60,000 x 784 (float32, as scikit-learn keeps it); GaussianMixture (every covariance type)
on digits and on Fashion-MNIST reduced to 30 principal components, both libraries
started from the same weights, means and covariances. Fits alternate (glassnet, sklearn,
glassnet, ...) for ``--rounds`` rounds; medians and the ratio glassnet / sklearn are
printed. Threads: whatever BLAS and OpenMP get, or ``--threads N`` for both libraries
(stated in the output). Memory: the peak that Python's tracemalloc sees (NumPy's
allocations) during one glassnet KMeans fit on Fashion-MNIST, against the size of X and
of the N x K x D array that unchunked distances would need.

    PYTHONPATH=src python benchmarks/bench_unsupervised.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def paired(name, ours, theirs, rounds):
    t_ours, t_theirs = [], []
    for _ in range(rounds):
        dt, a = _timed(ours)
        t_ours.append(dt)
        dt, b = _timed(theirs)
        t_theirs.append(dt)
    mo, mt = float(np.median(t_ours)), float(np.median(t_theirs))
    print(f"{name:<38} glassnet {mo:8.3f} s  sklearn {mt:8.3f} s  ratio {mo / mt:5.2f}")
    return a, b


def kmeans(name, X, rounds, seed=0):
    from sklearn.cluster import KMeans as SKM

    from glassnet.unsupervised import KMeans

    a, b = paired(f"KMeans {name} {X.shape}", lambda: KMeans(10, n_init=10, rng=seed).fit(X),
                  lambda: SKM(10, n_init=10, init="k-means++", algorithm="lloyd",
                              random_state=seed).fit(X), rounds)
    gap = a.inertia_ / b.inertia_ - 1
    print(f"    inertia glassnet {a.inertia_:.6g}  sklearn {b.inertia_:.6g}  gap {gap:+.4%}")


def kmeans_memory(X, k=10):
    import tracemalloc

    from glassnet.unsupervised import KMeans

    tracemalloc.start()
    try:
        KMeans(k, n_init=1, max_iter=5, rng=0).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    mb = 2.0**20
    print(f"KMeans memory {X.shape} {X.dtype}: peak {peak / mb:.1f} MB beyond X "
          f"({X.nbytes / mb:.1f} MB, ratio {peak / X.nbytes:.3f}); unchunked N x K x D "
          f"would be {X.shape[0] * k * X.shape[1] * X.itemsize / mb:.0f} MB")


def mixture(name, X, k, rounds, reg=1e-6):
    from sklearn.mixture import GaussianMixture as SGM

    from glassnet.unsupervised import GaussianMixture

    means = X[np.random.default_rng(0).choice(len(X), k, replace=False)]
    for kind in ("full", "diag", "spherical"):
        init = GaussianMixture(k, kind, max_iter=1, reg_covar=reg, means_init=means).fit(X)
        w, m, cov = init.init_params_
        prec = np.linalg.inv(cov) if kind == "full" else 1.0 / cov

        def ours(kind=kind):
            return GaussianMixture(k, kind, reg_covar=reg, means_init=means).fit(X)

        def theirs(kind=kind, w=w, m=m, prec=prec):
            return SGM(k, covariance_type=kind, reg_covar=reg, weights_init=w, means_init=m,
                       precisions_init=prec).fit(X)

        a, b = paired(f"GMM {kind} {name} {X.shape} K={k}", ours, theirs, rounds)
        la, lb = a.score(X), b.score(X)
        print(f"    avg log-lik glassnet {la:.6f}  sklearn {lb:.6f}  gap "
              f"{abs(la / lb - 1):.4%}  iterations {a.n_iter_} / {b.n_iter_}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--skip-fashion", action="store_true")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS / OpenMP threads for both libraries (default: unchanged)")
    args = p.parse_args()
    import threadpoolctl

    if args.threads is not None:
        threadpoolctl.threadpool_limits(limits=args.threads)
    from sklearn.datasets import load_digits, make_blobs

    from glassnet.unsupervised import pca

    info = [(d["internal_api"], d["num_threads"]) for d in threadpoolctl.threadpool_info()]
    print(f"threads (library, count): {info}; cores {os.cpu_count()}")
    digits = load_digits().data
    blobs = make_blobs(5000, centers=10, n_features=20, random_state=0)[0]
    kmeans("digits", digits, args.rounds)
    kmeans("blobs", blobs, args.rounds)
    mixture("digits", digits, 10, args.rounds, reg=1e-2)
    mixture("blobs", blobs, 10, args.rounds)
    if not args.skip_fashion:
        from glassnet.data import load_fashion_mnist

        X = load_fashion_mnist("train", download=False)[0].reshape(60000, -1)
        X = X.astype(np.float32) / np.float32(255)
        kmeans_memory(X)
        kmeans("Fashion-MNIST float32", X, args.rounds)
        mixture("Fashion-MNIST PCA-30", pca(X, 30)[0], 10, args.rounds)


if __name__ == "__main__":
    main()
