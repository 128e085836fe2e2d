"""The regularization and linear-classifier experiments: their claims, asserted from
their numbers, and their figures."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

from glassnet import experiments as E
from glassnet.experiments import regularization


def _check_figures(result, tmp_path, count):
    assert len(result.figures) == count
    for path in result.figures:
        assert path.parent == tmp_path
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 300
        assert img[..., :3].std() > 0.05  # not a blank canvas


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    out = tmp_path_factory.mktemp("regularization")
    return out, E.run("regularization", out=out, quick=True)


def test_regularization_reports_every_method(reg):
    _, r = reg
    n = r.numbers
    assert set(n["test_accuracy"]) == set(regularization.METHODS)
    assert set(n["train_accuracy"]) == set(regularization.METHODS)
    for split in ("train_accuracy", "test_accuracy"):
        for method, acc in n[split].items():
            assert 0.8 < acc <= 1.0, (split, method, acc)  # each run really learned
    # with 600 training digits every run fits its training set better than the test set
    assert all(n["train_accuracy"][m] > n["test_accuracy"][m] for m in regularization.METHODS)


def test_l1_drives_first_layer_weights_to_zero(reg):
    _, r = reg
    n = r.numbers
    assert n["l1_zero_fraction"] > 0.2
    assert n["none_zero_fraction"] < 0.05
    assert n["l1_zero_fraction"] > 5 * n["zero_fraction"]["l2"]


def test_w_and_2w_both_have_zero_hinge_loss(reg):
    _, r = reg
    n = r.numbers
    assert n["svm_separates"]
    assert n["hinge_W"] == 0.0 and n["hinge_2W"] == 0.0
    assert n["l2_penalty_W"] > 0
    assert n["l2_penalty_2W"] == pytest.approx(4 * n["l2_penalty_W"], rel=1e-12)


def test_regularization_figures(reg, tmp_path_factory):
    out, r = reg
    _check_figures(r, out, 3)
    assert {p.stem for p in r.figures} == {
        "regularization_accuracy", "regularization_weights", "regularization_hinge_2w"}


def test_the_network_has_the_switched_layers():
    from glassnet import nn

    plain = regularization.build(8, 3, 5, 2, seed=1)
    both = regularization.build(8, 3, 5, 2, batch_norm=True, dropout=0.5, depth_drop=0.2,
                                seed=1)
    kinds = [type(m) for m in both.modules()]
    assert nn.BatchNorm1d in kinds and nn.Dropout in kinds
    blocks = [m for m in both.modules() if isinstance(m, nn.Residual)]
    assert len(blocks) == 2 and all(b.p_drop == 0.2 for b in blocks)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Dropout)) for m in plain.modules())
    # the same seed draws the same first layer whatever the switches
    np.testing.assert_array_equal(plain[0].weight.data, both[0].weight.data)


def test_linear_classifier_learns_templates(tmp_path):
    r = E.run("linear-classifier", out=tmp_path, quick=True)
    n = r.numbers
    assert set(n["test_accuracy"]) == {"softmax/digits", "svm/digits"}
    for key, acc in n["test_accuracy"].items():
        assert acc > 0.9, (key, acc)  # chance is 0.1
        assert n["template_correlation"][key] > 0.3  # the rows look like their classes
    assert n["weight_shape"] == [10, 64]
    _check_figures(r, tmp_path, 1)
    assert r.figures[0].name == "linear_classifier_digits.png"


def test_template_correlation_tells_templates_from_noise(rng):
    from glassnet.experiments.linear_classifier import template_correlation

    y = np.repeat(np.arange(3), 50)
    centers = rng.standard_normal((3, 20))
    X = centers[y] + 0.1 * rng.standard_normal((150, 20))
    assert template_correlation(centers - centers.mean(0), X, y) > 0.95
    assert abs(template_correlation(rng.standard_normal((3, 20)), X, y)) < 0.5
