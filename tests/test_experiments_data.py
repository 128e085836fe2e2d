"""The data and optimization experiments (minibatch, data-size, data-shift) in quick mode:
each claim asserted from the numbers, each figure a PNG that decodes and is not blank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from glassnet import experiments as E
from glassnet.experiments import data_shift


def _assert_figures(r: E.Result, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    assert r.figures and all(p.parent == tmp_path for p in r.figures)
    for path in r.figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 300
        assert img[..., :3].std() > 0.05


def test_minibatch_sgd_beats_full_batch_gd_per_epoch(tmp_path: Path) -> None:
    r = E.run("minibatch", out=tmp_path, quick=True)
    final, seconds, steps = r.numbers["final_loss"], r.numbers["seconds"], r.numbers["steps"]
    assert set(final) == set(seconds) == {"full", "32", "64", "128", "256"}
    assert all(final[b] < final["full"] for b in ("32", "64", "128", "256")), final
    assert final["full"] < r.numbers["initial_loss"]  # GD does descend, only slowly
    assert steps["full"] == 6 and steps["32"] == 6 * int(np.ceil(1000 / 32))
    assert all(s > 0 for s in seconds.values())
    _assert_figures(r, tmp_path)


def test_data_size_accuracy_rises_with_the_training_set(tmp_path: Path) -> None:
    r = E.run("data-size", out=tmp_path, quick=True)
    acc = r.numbers["test_accuracy"]
    assert list(acc) == ["50", "100", "300", "1000"]
    values = list(acc.values())
    assert values[-1] > values[0] + 0.05, acc
    assert all(b >= a - 0.01 for a, b in zip(values, values[1:])), acc  # rises (noise 1%)
    gap = {n: r.numbers["train_accuracy"][n] - acc[n] for n in acc}
    assert gap["50"] > gap["1000"]  # the generalization gap closes with more data
    _assert_figures(r, tmp_path)


def test_data_size_leaves_out_sizes_larger_than_the_set() -> None:
    r = E.run("data-size", quick=True, sizes=[100, 5000])
    assert list(r.numbers["test_accuracy"]) == ["100"]
    assert "larger sizes were left out" in r.summary


def test_data_shift_accuracy_drops_on_rotated_and_shifted_images(tmp_path: Path) -> None:
    r = E.run("data-shift", out=tmp_path, quick=True)
    same, shifted = r.numbers["test_accuracy_same"], r.numbers["test_accuracy_shifted"]
    by = r.numbers["test_accuracy_by_shift"]
    assert same > 0.9 and shifted < same - 0.3, (same, by)
    assert all(v < same - 0.2 for v in by.values()), by
    assert shifted == pytest.approx(np.mean(list(by.values())))
    _assert_figures(r, tmp_path)


def test_data_shift_variants_are_the_transformations_they_claim() -> None:
    img = np.zeros((1, 9, 9), dtype=np.float32)
    img[0, 1, 2] = 1.0
    v = data_shift.variants(img, 9)
    assert v["upside down"][0, 7, 6] == 1.0  # (r, c) -> (8 - r, 8 - c)
    assert v["rotated 90°"][0, 6, 1] == 1.0  # np.rot90: (r, c) -> (8 - c, r)
    assert v["shifted 1 px"][0, 2, 3] == 1.0 and v["shifted 1 px"].sum() == 1.0
    assert v["shifted 2 px"][0, 3, 4] == 1.0
    assert v["rotated 30°"].sum() > 0 and v["rotated 30°"][0, 1, 2] < 1.0
