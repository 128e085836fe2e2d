"""glassnet.unsupervised against scikit-learn (the oracle) and naive loops."""

from __future__ import annotations

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import KMeans as SKMeans  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.mixture import GaussianMixture as SKMixture  # noqa: E402
from sklearn.neighbors import KernelDensity as SKKernelDensity  # noqa: E402

from glassnet.unsupervised import (  # noqa: E402
    GaussianMixture,
    KernelDensity,
    KMeans,
    adjusted_rand_index,
    pca,
    purity,
)
from glassnet.unsupervised.kmeans import squared_distances  # noqa: E402

DIGITS = load_digits().data
BLOBS = make_blobs(1500, centers=6, n_features=5, random_state=0)[0]
KINDS = ("full", "diag", "spherical")


# ---------------------------------------------------------------------- KMeans
def test_squared_distances_match_a_naive_loop(rng):
    X, C = rng.normal(size=(37, 4)), rng.normal(size=(5, 4))
    naive = np.array([[((x - c) ** 2).sum() for c in C] for x in X])
    np.testing.assert_allclose(squared_distances(X, C, chunk=8), naive, atol=1e-12)
    assert (squared_distances(X, X[:3]) >= 0).all()  # clipped where the true value is 0


@pytest.mark.parametrize("name,X", [("digits", DIGITS), ("blobs", BLOBS),
                                    ("digits float32", DIGITS.astype(np.float32))])
def test_kmeans_inertia_within_one_percent_of_sklearn(name, X):
    ours = KMeans(10, n_init=10, rng=0).fit(X)
    theirs = SKMeans(10, n_init=10, init="k-means++", random_state=0).fit(X)
    assert ours.inertia_ <= 1.01 * theirs.inertia_, name
    naive = sum(((x - ours.cluster_centers_[lab]) ** 2).sum()
                for x, lab in zip(X.astype(np.float64), ours.labels_))
    assert ours.inertia_ == pytest.approx(naive, rel=1e-4)
    assert 1 <= ours.n_iter_ <= 300


def test_kmeans_api_predict_transform_fit_predict():
    km = KMeans(6, rng=1, init="random")
    labels = km.fit_predict(BLOBS)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_array_equal(km.predict(BLOBS), labels)
    dist = km.transform(BLOBS[:20])
    naive = np.linalg.norm(BLOBS[:20, None] - km.cluster_centers_[None], axis=2)
    np.testing.assert_allclose(dist, naive, atol=1e-6)
    assert adjusted_rand_index(make_blobs(1500, centers=6, n_features=5,
                                          random_state=0)[1], labels) > 0.95
    assert km.score(BLOBS) == pytest.approx(-km.inertia_)


def test_kmeans_same_seed_same_result_and_generator_accepted():
    a = KMeans(5, n_init=2, rng=3).fit(DIGITS)
    b = KMeans(5, n_init=2, rng=np.random.default_rng(3)).fit(DIGITS)
    np.testing.assert_array_equal(a.labels_, b.labels_)


# ---------------------------------------------------------------------- mixture
def _sklearn_from_same_start(X, k, kind, reg, means):
    start = GaussianMixture(k, kind, max_iter=1, reg_covar=reg, means_init=means).fit(X)
    w, m, cov = start.init_params_
    prec = np.linalg.inv(cov) if kind == "full" else 1.0 / cov
    return SKMixture(k, covariance_type=kind, reg_covar=reg, weights_init=w, means_init=m,
                     precisions_init=prec).fit(X)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data", ["blobs", "digits"])
def test_mixture_loglik_within_one_percent_of_sklearn(kind, data):
    X, k, reg = (BLOBS, 6, 1e-6) if data == "blobs" else (DIGITS, 10, 1e-2)
    means = X[np.random.default_rng(0).choice(len(X), k, replace=False)]
    ours = GaussianMixture(k, kind, reg_covar=reg, means_init=means).fit(X)
    theirs = _sklearn_from_same_start(X, k, kind, reg, means)
    assert abs(ours.score(X) / theirs.score(X) - 1) < 0.01
    np.testing.assert_allclose(ours.score_samples(X[:50]), theirs.score_samples(X[:50]),
                               rtol=0.05, atol=0.5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_em_lower_bound_never_decreases(kind, seed):
    X = pca(DIGITS, 10)[0]
    gm = GaussianMixture(8, kind, tol=1e-8, max_iter=60, rng=seed).fit(X)
    bounds = np.array(gm.lower_bounds_)
    assert len(bounds) > 5
    assert (np.diff(bounds) >= -1e-9 * np.abs(bounds[1:])).all()
    assert gm.lower_bound_ == bounds[-1]


def test_mixture_score_samples_is_the_density_of_a_naive_formula(rng):
    X = rng.normal(size=(300, 2)) @ np.array([[2.0, 0.5], [0.0, 1.0]])
    gm = GaussianMixture(2, "full", rng=0).fit(X)
    x = X[:5]
    dens = np.zeros(5)
    for w, mu, cov in zip(gm.weights_, gm.means_, gm.covariances_):
        diff = x - mu
        q = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
        dens += w * np.exp(-0.5 * q) / np.sqrt(np.linalg.det(2 * np.pi * cov))
    np.testing.assert_allclose(gm.score_samples(x), np.log(dens), rtol=1e-10)
    np.testing.assert_allclose(gm.predict_proba(x).sum(axis=1), 1.0)
    assert gm.converged_


def test_mixture_bic_aic_sample_and_predict():
    X = BLOBS
    gm = GaussianMixture(6, "full", rng=0).fit(X)
    theirs = SKMixture(6, random_state=0).fit(X)
    assert gm.n_parameters() == theirs._n_parameters()
    n = len(X)
    assert gm.bic(X) == pytest.approx(-2 * gm.score(X) * n + gm.n_parameters() * np.log(n))
    assert gm.aic(X) == pytest.approx(-2 * gm.score(X) * n + 2 * gm.n_parameters())
    draws, comp = gm.sample(4000, rng=0)
    assert draws.shape == (4000, 5) and comp.shape == (4000,)
    np.testing.assert_allclose(draws.mean(axis=0), X.mean(axis=0), atol=0.3)
    truth = make_blobs(1500, centers=6, n_features=5, random_state=0)[1]
    assert adjusted_rand_score(truth, gm.predict(X)) > 0.95


# ---------------------------------------------------------------------- KDE, scores
@pytest.mark.parametrize("d", [1, 2])
def test_kernel_density_matches_sklearn(rng, d):
    X = rng.normal(size=(200, d))
    ours = KernelDensity(0.4).fit(X)
    theirs = SKKernelDensity(bandwidth=0.4).fit(X)
    q = rng.normal(size=(30, d)) * 2
    np.testing.assert_allclose(ours.score_samples(q), theirs.score_samples(q), rtol=1e-10)
    assert KernelDensity("scott").fit(X).bandwidth_ > 0
    assert ours.sample(10, rng=0).shape == (10, d)


def test_purity_and_ari_on_hand_made_partitions():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert purity(y, np.array([1, 1, 1, 0, 0, 0])) == 1.0
    assert purity(y, np.array([0, 0, 1, 1, 2, 2])) == pytest.approx(5 / 6)
    for pred in ([1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1]):
        assert adjusted_rand_index(y, np.array(pred)) == pytest.approx(
            adjusted_rand_score(y, pred))


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make", [lambda: KMeans(3, rng=0),
                                  lambda: GaussianMixture(3, rng=0)])
@pytest.mark.parametrize("X,words", [
    (np.zeros((2, 2)), "larger than the number of samples"),
    (np.array([[0.0, np.nan], [1, 2], [3, 4]]), "NaN or infinite"),
    (np.array([[0.0, np.inf], [1, 2], [3, 4]]), "NaN or infinite"),
    (np.zeros((0, 3)), "empty"),
    (np.arange(5.0), "2-D"),
])
def test_bad_input_raises_value_error_naming_it(make, X, words):
    with pytest.raises(ValueError, match=words):
        make().fit(X)


def test_singular_covariance_is_named():
    X = np.repeat(np.array([[1.0, 2.0], [3.0, 4.0]]), 10, axis=0)
    with pytest.raises(ValueError, match="singular"):
        GaussianMixture(2, "full", reg_covar=0.0, rng=0).fit(X)
    with pytest.raises(ValueError, match="singular"):
        GaussianMixture(2, "diag", reg_covar=0.0, rng=0).fit(X)


@pytest.mark.parametrize("call,words", [
    (lambda: KMeans(0), "n_clusters"), (lambda: KMeans(2, init="x"), "init"),
    (lambda: GaussianMixture(2, "tied"), "covariance_type"),
    (lambda: KernelDensity(-1.0), "bandwidth"),
    (lambda: KernelDensity(1.0).fit(np.zeros((4, 3))), "1-D or 2-D"),
    (lambda: KMeans(2, rng=0).fit(BLOBS).predict(np.zeros((3, 2))), "features"),
])
def test_bad_parameters(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def test_unfitted_use_is_an_error():
    with pytest.raises(RuntimeError, match="not fitted"):
        KMeans(2).predict(BLOBS)


# ---------------------------------------------------------------------- seeds, empty clusters
@pytest.mark.parametrize("make", [lambda: KMeans(4, n_init=2, rng=7),
                                  lambda: GaussianMixture(4, "diag", rng=7)])
def test_an_int_seed_gives_the_same_fit_every_time(make):
    model = make()
    first = model.fit(BLOBS).predict(BLOBS)
    np.testing.assert_array_equal(model.fit(BLOBS).predict(BLOBS), first)


def test_a_generator_advances_between_fits():
    gen = np.random.default_rng(0)
    a = KMeans(3, n_init=1, init="random", max_iter=1, rng=gen).fit(DIGITS).inertia_
    b = KMeans(3, n_init=1, init="random", max_iter=1, rng=gen).fit(DIGITS).inertia_
    assert a != b


def test_an_empty_cluster_restarts_at_the_farthest_sample():
    from glassnet.unsupervised.kmeans import _lloyd

    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0], [30.0, 0.0]])
    start = np.array([[0.0, 0.5], [10.0, 0.5], [1e6, 1e6]])  # the third gets no sample
    centers, labels, inertia, _ = _lloyd(X, (X**2).sum(axis=1), start, 20, 0.0)
    assert sorted(np.bincount(labels, minlength=3)) == [1, 2, 2]
    assert [30.0, 0.0] in centers.tolist()
    assert inertia == pytest.approx(4 * 0.25)


def test_kmeans_memory_stays_below_the_size_of_the_data():
    """Distances go chunk by chunk: fitting 20,000 x 50 (8 MB) with K = 10 never holds
    an N x K x D array (80 MB), nor even a second copy of X."""
    import tracemalloc

    X = np.random.default_rng(0).normal(size=(20000, 50))
    tracemalloc.start()
    try:
        KMeans(10, n_init=2, max_iter=5, rng=0).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.nbytes, peak


def test_mean_variance_is_numpys(rng):
    from glassnet.unsupervised.kmeans import _mean_variance

    X = rng.normal(3.0, 2.0, size=(301, 7))
    assert _mean_variance(X, chunk=50) == pytest.approx(np.var(X, axis=0).mean(), rel=1e-12)


@pytest.mark.parametrize("shape", [(200, 6), (5, 9)])  # the eigh and the SVD branch
def test_pca_matches_sklearn_up_to_sign(rng, shape):
    from sklearn.decomposition import PCA

    X = rng.normal(size=shape) @ np.diag(np.arange(1.0, shape[1] + 1))
    Z, axes, mean = pca(X, 3)
    theirs = PCA(3).fit(X)
    signs = np.sign((axes * theirs.components_).sum(axis=1))
    np.testing.assert_allclose(axes * signs[:, None], theirs.components_, atol=1e-8)
    np.testing.assert_allclose(Z * signs, theirs.transform(X), atol=1e-8)
    np.testing.assert_allclose((X - mean) @ axes.T, Z, atol=1e-10)
    assert (np.abs(axes).argmax(axis=1) == np.argmax(axes, axis=1)).all()  # sign rule
