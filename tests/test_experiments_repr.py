"""The data and representation experiments (manifold, handcrafted-vs-learned,
representation): each claim asserted from the numbers of a quick run, the figures
checked as PNGs that decode and are not blank."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from glassnet import experiments as E
from glassnet.experiments._framework import fashion_mnist_available


def _check_figures(result, names):
    import matplotlib.image as mpimg

    assert sorted(p.name for p in result.figures) == sorted(names)
    for path in result.figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 300
        assert img[..., :3].std() > 0.05  # not a blank canvas


def _need_fashion_mnist():
    if fashion_mnist_available():
        return
    message = ("Fashion-MNIST is not on this machine: install it with `sudo apt-get "
               "install dataset-fashion-mnist` (CI does), or set GLASSNET_SKIP_REAL_DATA=1")
    if os.environ.get("GLASSNET_SKIP_REAL_DATA") == "1":
        pytest.skip(message)
    pytest.fail(message)


# ---------------------------------------------------------------------- manifold
@pytest.fixture(scope="module")
def manifold(tmp_path_factory):
    return E.run("manifold", out=tmp_path_factory.mktemp("manifold"), quick=True)


def test_manifold_few_components_hold_the_variance_of_real_images(manifold):
    from sklearn.decomposition import PCA

    from glassnet.data import load_digits

    n = manifold.numbers
    assert n["dataset"] == "digits" and n["dimensions"] == 64
    X, _ = load_digits("train")  # quick mode: all of digits' training images
    X = X.reshape(len(X), -1)
    assert n["n_images"] == len(X)
    assert n["components_90"] == PCA(n_components=0.90, svd_solver="full").fit(X).n_components_
    assert n["components_95"] == PCA(n_components=0.95, svd_solver="full").fit(X).n_components_
    assert n["components_90"] < n["components_95"] <= 64
    # uniform noise: every direction holds about the same variance
    assert n["random_components_90"] >= 0.8 * 64
    assert n["components_90"] < 0.5 * n["random_components_90"]
    assert n["test_residual_fraction"] < 0.2 < 0.5 < n["random_residual_fraction"]


def test_manifold_interpolation_stays_near_the_data_but_leaves_it(manifold):
    n = manifold.numbers
    t, dist = np.array(n["interpolation_t"]), np.array(n["interpolation_nn_distance"])
    assert t[0] == 0.0 and t[-1] == 1.0 and len(t) == len(dist) == 9
    assert n["midpoint_distance_ratio"] > 1.0 and n["midpoint_further_fraction"] > 0.5
    assert dist.max() < 0.6 * n["random_nn_distance"]
    assert n["midpoint_nn_distance"] < 0.6 * n["random_nn_distance"]
    assert n["interpolation_classes"][0] != n["interpolation_classes"][1]


def test_manifold_figures_and_summary(manifold):
    _check_figures(manifold, ["manifold-spectrum.png", "manifold-projection.png",
                              "manifold-interpolation.png"])
    assert f"{manifold.numbers['components_90']} components" in manifold.summary


def test_manifold_pca_helpers_against_known_answers(rng):
    from glassnet.experiments.manifold import _PCA, _nearest_distance

    # variance only along the first two axes, 3:1
    Z = rng.standard_normal((2000, 2)) * np.array([3.0, 1.0])
    X = np.concatenate([Z, np.zeros((2000, 3))], axis=1)
    pca = _PCA(X)
    np.testing.assert_allclose(pca.cumulative[:2], [0.9, 1.0], atol=0.02)
    assert pca.needed(0.5) == 1 and pca.needed(0.95) == 2
    assert pca.residual_fraction(X[:5], 2) == pytest.approx(np.zeros(5), abs=1e-9)
    Q = rng.standard_normal((7, 5))
    brute = np.array([np.linalg.norm(X - q, axis=1).min() for q in Q])
    np.testing.assert_allclose(_nearest_distance(Q, X, chunk=3), brute, rtol=1e-9)


def test_manifold_rejects_too_few_steps():
    with pytest.raises(ValueError, match="steps must be >= 3"):
        E.run("manifold", quick=True, steps=2)


# ---------------------------------------------------------------------- representation
def test_representation_probe_accuracy_rises_with_depth(tmp_path):
    _need_fashion_mnist()
    r = E.run("representation", out=tmp_path, quick=True)
    n = r.numbers
    probe, control = n["probe_accuracy"], n["probe_accuracy_untrained"]
    assert n["dataset"] == "fashion-mnist"
    assert len(probe) == len(n["layers"]) == 4  # input and three hidden layers
    assert probe[-1] > probe[0] + 0.005
    assert max(probe[1:]) > probe[0] + 0.01
    assert control[0] == probe[0]  # the input is the same for both networks
    assert control[-1] < probe[-1]  # the gain is learned
    assert 0.75 < n["mlp_test_accuracy"] < 1.0
    _check_figures(r, ["representation-layers.png", "representation-weights.png"])


def test_representation_layers_are_the_relu_outputs(rng):
    from glassnet.experiments.representation import _hidden_sizes, _representations
    from glassnet.nn import MLP

    model = MLP(5, [4, 3], 2, generator=1)
    X = rng.standard_normal((6, 5)).astype(np.float32)
    reps = _representations(model, X)
    W1, b1 = model[0].weight.data, model[0].bias.data
    W2, b2 = model[2].weight.data, model[2].bias.data
    h1 = np.maximum(X @ W1.T + b1, 0)
    h2 = np.maximum(h1 @ W2.T + b2, 0)
    assert [r.shape for r in reps] == [(6, 5), (6, 4), (6, 3)]
    np.testing.assert_allclose(reps[1], h1, rtol=1e-6)
    np.testing.assert_allclose(reps[2], h2, rtol=1e-6)
    assert _hidden_sizes("8, 4") == [8, 4]
    for bad in ("", "8,x", "0,3"):
        with pytest.raises(ValueError, match="hidden must be positive"):
            _hidden_sizes(bad)


def test_representation_bad_hidden_option():
    with pytest.raises(ValueError, match="hidden must be positive layer widths"):
        E.run("representation", quick=True, hidden="wide")


# ---------------------------------------------------------------------- handcrafted
@pytest.fixture(scope="module")
def handcrafted(tmp_path_factory):
    return E.run("handcrafted-vs-learned", out=tmp_path_factory.mktemp("hc"), quick=True)


def test_handcrafted_hog_svm_beats_raw_pixel_nearest_neighbour(handcrafted):
    n = handcrafted.numbers
    acc = n["test_accuracy"]
    expected = {f"{f}+{c}" for f in ("pixels", "hog", "bovw") for c in ("knn", "svm", "forest")}
    assert set(acc) == expected | {"pixels+mlp"}
    assert set(n["train_seconds"]) == set(n["predict_seconds"]) == set(acc)
    assert all(v >= 0 for v in n["train_seconds"].values())
    assert acc["hog+svm"] > acc["pixels+knn"]
    assert all(0.85 < a <= 1.0 for a in acc.values())  # ten classes: chance is 0.1
    assert n["dataset"] == "digits" and n["n_test"] == 450
    assert n["feature_dimensions"] == {"pixels": 64, "hog": 1296, "bovw": 100}
    assert n["descriptors_per_image"] == 16 and n["images_without_descriptors"] == 0


def test_handcrafted_raw_pixel_nearest_neighbour_matches_a_plain_numpy_one(handcrafted):
    from glassnet.data import load_digits

    Xtr, ytr = load_digits("train")
    Xte, yte = load_digits("test")
    Xtr, Xte = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    d2 = (Xte ** 2).sum(1)[:, None] - 2 * Xte @ Xtr.T + (Xtr ** 2).sum(1)[None, :]
    expected = float(np.mean(ytr[d2.argmin(axis=1)] == yte))
    assert handcrafted.numbers["test_accuracy"]["pixels+knn"] == pytest.approx(expected)


def test_handcrafted_figures(handcrafted):
    _check_figures(handcrafted, ["handcrafted-accuracy.png", "handcrafted-table.png",
                                 "handcrafted-features.png"])
    assert "HOG + linear SVM beats nearest neighbour" in handcrafted.summary


def test_handcrafted_bag_of_words_histograms(rng):
    from glassnet.experiments.handcrafted_vs_learned import BagOfWords

    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    desc = [centres[i] + 0.1 * rng.standard_normal((len(i), 2)) for i in
            ([0, 0, 0, 1], [2, 2], [1, 1, 1, 1, 1, 1])]
    bag = BagOfWords(3, seed=0).fit(desc, rng)
    word = {tuple(np.round(c)): w for w, c in enumerate(bag.kmeans.cluster_centers_)}
    H = bag.encode(desc + [np.zeros((0, 2))])
    assert H.shape == (4, 3)
    np.testing.assert_allclose(H[0, word[(0.0, 0.0)]], np.sqrt(0.75), rtol=1e-6)
    np.testing.assert_allclose(H[0, word[(10.0, 0.0)]], np.sqrt(0.25), rtol=1e-6)
    np.testing.assert_allclose(H[1, word[(0.0, 10.0)]], 1.0, rtol=1e-6)
    np.testing.assert_allclose((H[:3] ** 2).sum(axis=1), 1.0, rtol=1e-6)
    assert not H[3].any()  # an image without descriptors: an empty histogram
    with pytest.raises(ValueError, match="2 descriptors for a vocabulary of 3"):
        BagOfWords(3, seed=0).fit([np.zeros((2, 2))], rng)


def test_handcrafted_sift_descriptors_on_a_few_images():
    from glassnet.experiments._framework import load_images
    from glassnet.experiments.handcrafted_vs_learned import _images, local_descriptors

    data = load_images("digits", 6, 2, np.random.default_rng(0))
    desc = local_descriptors(_images(data.X_train, data.image_shape), "sift")
    assert len(desc) == 6
    assert all(d.ndim == 2 and d.shape[1] == 128 for d in desc)
    assert sum(len(d) for d in desc) > 0


@pytest.mark.parametrize("kwargs, match", [
    ({"descriptor": "orb"}, "descriptor must be 'daisy' or 'sift'"),
    ({"vocabulary": 0}, "vocabulary must be >= 1"),
    ({"hidden": "a,b"}, "hidden must be positive layer widths"),
    ({"jobs": 0}, "thread limit must be an integer >= 1, got 0"),
])
def test_handcrafted_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        E.run("handcrafted-vs-learned", quick=True, **kwargs)


def test_handcrafted_without_scikit_image_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.feature", None)
    with pytest.raises(ImportError, match=r"pip install 'glassnet\[classic\]'"):
        E.run("handcrafted-vs-learned", quick=True)
