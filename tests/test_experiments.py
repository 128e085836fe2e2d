"""The experiments framework and the experiments' claims, asserted from their numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import experiments as E
from glassnet.cli import main


def test_experiments_is_an_attribute_of_glassnet():
    assert gn.experiments is E
    assert "linear-regression" in E.names()


def test_linear_regression_converges_to_the_lecture_optimum(tmp_path):
    r = E.run("linear-regression", out=tmp_path, quick=True)
    assert abs(r.numbers["w"] - 0.5) < 1e-3
    assert abs(r.numbers["b"] - 2.0) < 1e-3
    assert abs(r.numbers["closed_form_w"] - 0.5) < 1e-12
    assert abs(r.numbers["closed_form_b"] - 2.0) < 1e-12
    assert r.numbers["steps"] > 1
    saved = json.loads((tmp_path / "numbers.json").read_text())
    assert saved["numbers"]["w"] == r.numbers["w"]
    assert (tmp_path / "summary.md").read_text().startswith("## linear-regression")


def test_figures_are_pngs_that_decode_and_are_not_blank(tmp_path):
    import matplotlib.image as mpimg

    r = E.run("linear-regression", out=tmp_path, quick=True)
    assert r.figures and all(p.parent == tmp_path for p in r.figures)
    for path in r.figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 300
        assert img[..., :3].std() > 0.05  # not a blank canvas


def test_same_seed_same_numbers_and_another_seed_another_start():
    a = E.run("linear-regression", seed=3, quick=True)
    b = E.run("linear-regression", seed=3, quick=True)
    c = E.run("linear-regression", seed=4, quick=True)
    assert a.numbers == b.numbers
    assert a.numbers["start_w"] != c.numbers["start_w"]
    assert a.figures == []  # no output folder: nothing drawn


def test_options_change_the_run_and_are_typed():
    r = E.run("linear-regression", quick=True, steps=10)
    assert r.numbers["steps"] == 10
    assert abs(r.numbers["w"] - 0.5) > 1e-3  # 10 steps are not enough
    assert "steps=10" in r.call() and "--set steps=10" in r.command()
    assert E.parse_options("linear-regression", ["lr=0.01", "steps=7"]) == {
        "lr": 0.01, "steps": 7}


@pytest.mark.parametrize("kwargs, match", [
    ({"nope": 1}, "unknown option 'nope'.*valid: lr"),
    ({"steps": "many"}, "steps='many'.*expected int"),
    ({"lr": float("nan")}, "must be finite"),
    ({"steps": 2.5}, "expected int"),
])
def test_bad_options_are_one_line_errors(kwargs, match):
    with pytest.raises(E.ExperimentError, match=match):
        E.run("linear-regression", quick=True, **kwargs)


def test_unknown_experiment_lists_the_valid_names():
    with pytest.raises(E.ExperimentError, match="unknown experiment 'nope'.*linear-regression"):
        E.run("nope")
    with pytest.raises(E.ExperimentError, match="seed"):
        E.run("linear-regression", seed=-1)


def test_jsonable_turns_numpy_into_plain_values():
    from glassnet.experiments._framework import jsonable

    out = jsonable({"a": np.float32(1.5), "b": np.arange(3), 1: (np.int64(2), np.nan)})
    assert out == {"a": 1.5, "b": [0, 1, 2], "1": [2, None]}
    json.dumps(out)
    with pytest.raises(TypeError, match="object"):
        jsonable({"x": object()})


def test_command_list_run_and_errors(tmp_path, capsys):
    assert main(["experiment", "list"]) == 0
    assert "linear-regression" in capsys.readouterr().out
    out = tmp_path / "lr"
    assert main(["experiment", "linear-regression", "--quick", "--out", str(out),
                 "--set", "steps=3000"]) == 0
    printed = capsys.readouterr().out
    assert "| `w` | 0.5" in printed and "numbers.json" in printed
    assert json.loads((out / "numbers.json").read_text())["options"]["steps"] == 3000
    assert (out / "linear-regression.png").exists()
    for argv, match in [
        (["experiment", "nope"], "unknown experiment 'nope'; choose one of: list, "),
        (["experiment", "linear-regression", "--set", "lr"], "expects KEY=VALUE"),
        (["experiment", "linear-regression", "--set", "bad=1"], "unknown option 'bad'"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert match in err and err.count("\n") == 1


def test_unwritable_out_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["experiment", "linear-regression", "--quick", "--out", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert "exists and is not a folder" in err and err.count("\n") == 1


def test_experiments_do_not_slow_down_import_glassnet():
    code = "import sys, glassnet; print('glassnet.experiments' in sys.modules, " \
           "'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_losses_reproduce_the_lectures_worked_example(tmp_path):
    r = E.run("losses", out=tmp_path, quick=True)
    n = r.numbers
    np.testing.assert_allclose(n["hinge"], [2.9, 0.0, 12.9], atol=1e-12)
    assert round(n["hinge_mean"], 2) == 5.27
    s = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)  # written out, not glassnet's
    np.testing.assert_allclose(n["softmax_probabilities"], p, rtol=1e-12)
    py = p[np.arange(3), [0, 1, 2]]
    np.testing.assert_allclose(n["log_likelihood"], -np.log(py), rtol=1e-12)
    z = np.eye(3)
    ce = -(z * np.log(p) + (1 - z) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(n["cross_entropy"], ce, rtol=1e-12)
    assert n["l1"] == pytest.approx(0.5 + 0.5 + 1.0)
    assert n["l2"] == pytest.approx(0.25 + 0.25 + 1.0)
    assert [p.name for p in r.figures] == ["losses.png"]


def test_gradient_descent_boundary_minimum_and_hessian_classes(tmp_path):
    r = E.run("gradient-descent", out=tmp_path, quick=True)
    n = r.numbers
    assert n["minimum_x"] == pytest.approx(2.0, abs=1e-9)
    assert abs(n["divergence_lr"] - 1.0) < 0.05
    # the six-hump camel's two global minima (known values, not glassnet's)
    for m in ([0.0898, -0.7126], [-0.0898, 0.7126]):
        assert any(np.allclose(m, x, atol=2e-3) for x in n["six_hump_minima"])
    assert n["six_hump_saddles"] == [[0.0, 0.0]]  # Hessian [[8, 1], [1, -8]] there
    kinds = {e["kind"] for e in n["end_points"]}
    assert kinds == {"minimum", "saddle"}
    for e in n["end_points"]:
        eig = np.array(e["eigenvalues"])
        assert (e["kind"] == "minimum") == bool(np.all(eig > 0))
    assert (tmp_path / "gradient-descent.png").exists()


@pytest.mark.parametrize("seed", [0, 1])
def test_capacity_order_12_fits_training_best_and_generalizes_worse(tmp_path, seed):
    r = E.run("capacity", out=tmp_path, quick=True, seed=seed)
    train, test = r.numbers["train_mse"], r.numbers["test_mse"]
    assert set(train) == set(test) == {"1", "2", "3", "4", "12"}
    assert train["12"] == min(train.values())
    assert test["12"] > test["3"] and test["12"] > test["4"]
    assert min(test["3"], test["4"]) < min(test["1"], test["2"])  # 1-2 under-fit
    assert (tmp_path / "capacity.png").exists()


def test_feature_transform_quadratic_features_separate_the_circles(tmp_path):
    r = E.run("feature-transform", out=tmp_path, quick=True)
    n = r.numbers
    assert n["quadratic_accuracy"] >= 0.99
    assert n["linear_accuracy"] <= 0.70
    d = 2
    assert n["linear_parameters"] == d + 1
    assert n["quadratic_parameters"] == (d + 1) * (d + 2) // 2
    assert n["quadratic_parameters_784"] == 785 * 786 // 2
    assert (tmp_path / "feature-transform.png").exists()


def test_curvature_lambda_max_and_the_two_step_sizes(tmp_path):
    r = E.run("curvature", out=tmp_path, quick=True)
    n = r.numbers
    exact = np.linalg.eigvalsh(np.array([[3.0, 1.0], [1.0, 10.0]])).max()
    assert n["lambda_max"]["bowl"] == pytest.approx(exact, rel=1e-12)
    assert n["converges_below"]["bowl"] is True
    assert n["diverges_above"]["bowl"] is True
    assert n["lr_above"]["bowl"] > 2 / exact > n["lr_below"]["bowl"]
    assert n["lambda_max"]["mlp"] > 0
    assert n["converges_below"]["mlp"] is True
    assert (tmp_path / "curvature.png").exists()


def test_curvature_power_iteration_matches_a_finite_difference_hessian():
    from glassnet.experiments.curvature import _MLPLoss

    class Ctx(dict):
        rng = np.random.default_rng(0)

    mlp = _MLPLoss(Ctx(n=60, hidden=4, warmup=20))
    params = mlp.params
    sizes = [p.data.size for p in params]

    def flat_grad() -> np.ndarray:
        for p in params:
            p.grad = None
        mlp.loss().backward()
        return np.concatenate([p.grad.data.ravel() for p in params])

    theta = np.concatenate([p.data.ravel() for p in params])

    def set_theta(t: np.ndarray) -> None:
        for p, chunk in zip(params, np.split(t, np.cumsum(sizes)[:-1])):
            p.data[...] = chunk.reshape(p.shape)

    eps, H = 1e-5, np.zeros((theta.size, theta.size))
    for i in range(theta.size):  # central differences of the gradient, column by column
        e = np.zeros_like(theta)
        e[i] = eps
        set_theta(theta + e)
        gp = flat_grad()
        set_theta(theta - e)
        H[:, i] = (gp - flat_grad()) / (2 * eps)
    set_theta(theta)
    eig = np.linalg.eigvalsh(0.5 * (H + H.T))
    top = eig[np.argmax(np.abs(eig))]
    assert mlp.lambda_max(200, np.random.default_rng(1)) == pytest.approx(top, rel=1e-4)
