"""The clustering and density experiments: their claims, asserted from their numbers."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import experiments as E
from glassnet.experiments._framework import fashion_mnist_available

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def clustering(tmp_path_factory):
    out = tmp_path_factory.mktemp("clustering")
    return E.run("clustering", out=out, quick=True), out


@pytest.fixture(scope="module")
def density(tmp_path_factory):
    out = tmp_path_factory.mktemp("density")
    return E.run("density", out=out, quick=True), out


def test_clustering_finds_the_hidden_classes_far_above_chance(clustering):
    n = clustering[0].numbers
    names = ["digits"] + (["fashion-mnist"] if fashion_mnist_available() else [])
    assert n["datasets"] == names
    for name in names:
        chance = n["chance_purity"][name]
        assert 0.1 <= chance < 0.2, name  # ten about balanced classes
        assert n["kmeans_purity"][name] > chance + 0.3, name
        assert n["gmm_purity"][name] > chance + 0.3, name
        assert 0.3 < n["kmeans_ari"][name] <= 1 and 0.3 < n["gmm_ari"][name] <= 1, name
    # the digits are the easier set: their clusters match the classes better
    assert n["kmeans_purity"]["digits"] > 0.7 and n["gmm_purity"]["digits"] > 0.7
    if "fashion-mnist" in names:
        assert n["kmeans_ari"]["digits"] > n["kmeans_ari"]["fashion-mnist"]


def test_the_elbow_curve_falls_from_the_total_squared_deviation(clustering):
    from sklearn.datasets import load_digits

    inertia = clustering[0].numbers["inertia"]
    for name, curve in inertia.items():
        values = [curve[str(k)] for k in range(1, len(curve) + 1)]
        assert len(values) == E.info("clustering")["quick"]["elbow_max"]
        assert all(a > b for a, b in zip(values, values[1:])), name
        assert values[-1] < 0.7 * values[0], name
    pixels = load_digits().data / 16.0  # K = 1: the centre is the mean image
    total = ((pixels - pixels.mean(axis=0)) ** 2).sum()
    assert inertia["digits"]["1"] == pytest.approx(total, rel=1e-5)


def test_clustering_draws_its_two_figures(clustering):
    result, out = clustering
    assert sorted(p.name for p in result.figures) == ["clustering.png",
                                                      "clustering_scores.png"]
    for p in result.figures:
        assert p.parent == out and p.stat().st_size > 20_000


def test_density_bic_finds_the_four_clusters(density):
    n = density[0].numbers
    assert n["best_components"] == n["true_components"] == 4
    held = n["heldout_loglik"]
    assert len(held) == E.info("density")["quick"]["max_components"]
    assert held["4"] > held["1"] + 0.5
    assert held["4"] > held["3"] + 0.1
    assert n["best_heldout_components"] in {4, 5, 6}
    # the mixture of the data's own form beats a kernel density on held-out points
    assert n["kde_heldout_loglik"] < held["4"]
    assert (density[1] / "density.png").stat().st_size > 20_000


def test_density_bic_is_the_penalised_training_likelihood(density):
    """BIC = -2 N mean log L + p log N with p = 6 K - 1 for full 2-D covariances."""
    result = density[0]
    n, train = result.options["n_train"], result.numbers["train_loglik"]
    for k, bic in result.numbers["bic"].items():
        p = 6 * int(k) - 1
        assert bic == pytest.approx(-2 * n * train[k] + p * np.log(n), rel=1e-10)


def test_same_seed_same_numbers_and_options_are_checked():
    a = E.run("density", quick=True, seed=3).numbers
    b = E.run("density", quick=True, seed=3).numbers
    assert a == b
    with pytest.raises(ValueError, match="max_components"):
        E.run("density", quick=True, max_components=1)
    with pytest.raises(ValueError, match="n_clusters"):
        E.run("clustering", quick=True, n_clusters=1)
