"""The semi-supervised and reinforcement experiments: their claims, asserted from their
numbers (quick mode), and their figures."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pytest

from glassnet import experiments as E
from glassnet.experiments import semi_supervised


def _check_figure(result, out):
    assert [p.name for p in result.figures] == [f"{result.name.replace('-', '_')}.png"]
    path = result.figures[0]
    assert path.parent == out and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 600
    assert img[..., :3].std() > 0.05
    saved = json.loads((out / "numbers.json").read_text())
    assert saved["numbers"] == result.numbers and saved["quick"] is True


@pytest.fixture(scope="module")
def semi(tmp_path_factory):
    out = tmp_path_factory.mktemp("semi")
    return out, E.run("semi-supervised", out=out, quick=True)


@pytest.fixture(scope="module")
def rl(tmp_path_factory):
    out = tmp_path_factory.mktemp("rl")
    return out, E.run("reinforcement", out=out, quick=True)


def test_both_experiments_are_listed_under_section_4():
    assert {"semi-supervised", "reinforcement"} <= set(E.names())
    assert E.info("semi-supervised")["section"] == "4" == E.info("reinforcement")["section"]


def test_self_training_beats_the_labelled_one_percent_by_five_points(semi):
    _, r = semi
    n = r.numbers
    assert n["n_labelled"] == 13 and n["n_unlabelled"] == 1347 - 13
    assert n["self_training"] >= n["labelled_only"] + 0.05
    assert n["splits_improved"] == len(n["per_split"]["labelled_only"])
    # all the labels stay the ceiling, far above either
    assert n["fully_supervised"] > n["self_training"] + 0.1
    assert n["fully_supervised"] > 0.9
    for key in ("labelled_only", "self_training", "fully_supervised"):
        assert n[key] == pytest.approx(np.mean(n["per_split"][key]))
    # the pseudo-labels are mostly, not all, right
    assert 0.6 < n["pseudo_label_accuracy"] < 1.0


def test_semi_supervised_figure(semi):
    out, r = semi
    _check_figure(r, out)


def test_the_labelled_split_keeps_every_class(rng):
    y = np.repeat(np.arange(10), 50)
    lab, unl = semi_supervised.labelled_split(y, 0.01, rng, 10)
    assert len(lab) == 10 and sorted(y[lab].tolist()) == list(range(10))
    assert len(np.intersect1d(lab, unl)) == 0 and len(lab) + len(unl) == len(y)


def test_the_policy_beats_random_play_against_the_random_opponent(rl):
    _, r = rl
    n = r.numbers
    assert n["win_rate_vs_random"] > n["random_policy_win_rate"] + 0.15
    assert 0.5 < n["random_policy_win_rate"] < 0.67  # random play: 58.5% in expectation
    assert n["trained"]["random"]["loss"] < n["random_policy"]["random"]["loss"]
    # the minimax player never loses, so the trained policy never wins against it
    assert n["trained"]["minimax"]["win"] == 0.0 == n["random_policy"]["minimax"]["win"]
    assert n["loss_rate_vs_minimax"] < n["random_policy"]["minimax"]["loss"]
    for who in ("trained", "random_policy"):
        for rates in n[who].values():
            assert sum(rates.values()) == pytest.approx(1.0)
    assert n["training_games"] == [0, 1000, 2000]
    assert n["curves"]["random"][-1] > n["curves"]["random"][0]


def test_reinforcement_figure(rl):
    out, r = rl
    _check_figure(r, out)


@pytest.mark.parametrize("name, options, match", [
    ("semi-supervised", {"fraction": 0.0}, "fraction"),
    ("semi-supervised", {"splits": 0}, "splits"),
    ("reinforcement", {"opponents": "random,grandmaster"}, "opponents"),
    ("reinforcement", {"gamma": 1.5}, "gamma"),
    ("reinforcement", {"games": 0}, "games"),
])
def test_bad_options_are_named(name, options, match):
    with pytest.raises(E.ExperimentError, match=match):
        E.run(name, quick=True, **options)
