"""glassnet.exercises: the example solutions pass; planted mistakes fail with the right hint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glassnet import exercises as E
from glassnet.cli import main

SOLUTIONS = Path(__file__).resolve().parents[1] / "examples" / "exercises"


def solution(name: str) -> tuple[Any, Any]:
    return E.load_solution(SOLUTIONS / f"{name.replace('-', '_')}.py")


# The tests' own formulas (independent of the module under test and of the solutions).
def sig(s):
    return 1 / (1 + np.exp(-s))


def sm(s, axis=-1):
    e = np.exp(s - s.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def onehot(p, y):
    return np.eye(p.shape[1])[y]


def hinge_forward_counting_the_correct_class(s, y):
    return np.maximum(0, s - s[np.arange(len(y)), y][:, None] + 1).sum() / len(y)


def hinge_backward_counting_the_correct_class(d, s, y):
    rows = np.arange(len(y))
    g = (s - s[rows, y][:, None] + 1 > 0).astype(float)  # j = y is always "active"
    g[rows, y] = -g.sum(axis=1)
    return d * g / len(y)


def hinge_forward_flipped_margin(s, y):
    rows = np.arange(len(y))
    m = np.maximum(0, s[rows, y][:, None] - s + 1)
    m[rows, y] = 0
    return m.sum() / len(y)


def hinge_backward_flipped_margin(d, s, y):
    rows = np.arange(len(y))
    m = s[rows, y][:, None] - s + 1
    m[rows, y] = 0
    g = (m > 0).astype(float)
    g[rows, y] = -g.sum(axis=1)
    return d * g / len(y)


def ce_forward_without_mean(p, y):
    z = onehot(p, y)
    return -(z * np.log(p) + (1 - z) * np.log(1 - p)).sum()


def ce_backward_without_mean(d, p, y):
    z = onehot(p, y)
    return d * (-z / p + (1 - z) / (1 - p))


def two_layer_backward_without_relu(d, x, W1, b1, W2, b2):
    h = np.maximum(0, x @ W1.T + b1)
    dz = d @ W2  # the mask (z > 0) forgotten
    return dz @ W1, dz.T @ x, dz.sum(0), d.T @ h, d.sum(0)


# name -> (exercise, forward (None: the correct one), backward (None: the correct one),
#          the part (or parts) reported, a phrase of the hint)
MISTAKES: dict[str, tuple[str, Any, Any, Any, str]] = {
    "softmax without the off-diagonal terms": (
        "softmax", None, lambda d, s: d * sm(s) * (1 - sm(s)), "ds",
        "the off-diagonal terms of the Jacobian are missing"),
    "softmax without the diagonal term": (
        "softmax", None, lambda d, s: -sm(s) * (d * sm(s)).sum(-1, keepdims=True), "ds",
        "the diagonal term diag(p)"),
    "softmax over the batch axis": (
        "softmax", lambda s: sm(s, axis=0), None, "forward", "not each column"),
    "softmax overflowing on large logits": (
        "softmax", lambda s: np.exp(s) / np.exp(s).sum(-1, keepdims=True), None, "forward",
        "subtract each row's max before exp"),
    "sigmoid with sigma instead of sigma(1 - sigma)": (
        "sigmoid", None, lambda d, s: d * sig(s), "ds", "the factor (1 - sigma(s)) is missing"),
    "sigmoid with s(1 - s) of the input": (
        "sigmoid", None, lambda d, s: d * s * (1 - s), "ds", "you computed s (1 - s)"),
    "sigmoid ignoring dout": (
        "sigmoid", None, lambda d, s: sig(s) * (1 - sig(s)), "ds", "dout is ignored"),
    "linear forward with W instead of W^T": (
        "linear", lambda x, W, b: x @ W + b, None, "forward", "the product is x @ W.T"),
    "linear dx with W^T instead of W": (
        "linear", None, lambda d, x, W, b: (d @ W.T, d.T @ x, d.sum(0)), "dx",
        "you multiplied by W^T"),
    "linear dW transposed": (
        "linear", None, lambda d, x, W, b: (d @ W, x.T @ d, d.sum(0)), "dW",
        "dW is transposed"),
    "linear db not summed": (
        "linear", None, lambda d, x, W, b: (d @ W, d.T @ x, d), "db",
        "db sums dout over the batch"),
    "linear dW averaged": (
        "linear", None, lambda d, x, W, b: (d @ W, d.T @ x / len(x), d.sum(0)), "dW",
        "do not divide by N"),
    "hinge forward counting the correct class": (
        "hinge", hinge_forward_counting_the_correct_class, None, "forward",
        "the correct class is counted"),
    "hinge backward counting the correct class": (
        "hinge", None, hinge_backward_counting_the_correct_class, "ds",
        "the correct class is counted among the margins"),
    "hinge forward with the margin's sign wrong": (
        "hinge", hinge_forward_flipped_margin, None, "forward", "the margin's sign is wrong"),
    "hinge backward with the margin's sign wrong": (
        "hinge", None, hinge_backward_flipped_margin, "ds", "the margin's sign is wrong"),
    "log-likelihood with the sign wrong": (
        "log-likelihood", None,
        lambda d, p, y: d * onehot(p, y) / p / len(y), "dp", "the sign is wrong"),
    "log-likelihood gradient on every class": (
        "log-likelihood", None, lambda d, p, y: -d / p / len(y), "dp",
        "only the true class's probability"),
    "cross-entropy forward forgetting the mean": (
        "cross-entropy", ce_forward_without_mean, None, "forward", "you forgot the mean"),
    "cross-entropy backward forgetting the mean": (
        "cross-entropy", None, ce_backward_without_mean, "dp", "you forgot the mean"),
    "cross-entropy with the (1 - z) term's sign wrong": (
        "cross-entropy", None,
        lambda d, p, y: d * (-onehot(p, y) / p - (1 - onehot(p, y)) / (1 - p)) / len(y),
        "dp", "the sign of the (1 - z) term is wrong"),
    "cross-entropy as the log-likelihood": (
        "cross-entropy", lambda p, y: -np.log(p[np.arange(len(y)), y]).mean(), None,
        "forward", "(1 - z_ij) log(1 - p_ij)"),
    "l2 without the factor 2": (
        "l2", None, lambda d, s, y: d * -(y - s) / len(s), "ds", "the factor 2 is missing"),
    "l2 with the sign wrong": (
        "l2", None, lambda d, s, y: d * 2 * (y - s) / len(s), "ds",
        "the inner derivative of y - s"),
    "l2 averaged over every entry": (
        "l2", lambda s, y: ((y - s) ** 2).mean(), None, "forward", "not by N*K"),
    "l2 without the mean": (
        "l2", None, lambda d, s, y: d * -2 * (y - s), "ds", "divide by N"),
    "two-layer without the ReLU's mask": (
        "two-layer", None, two_layer_backward_without_relu, ("dx", "dW1", "db1"),
        "the ReLU's gradient is missing"),
    "two-layer dW2 from the pre-activation": (
        "two-layer", None,
        lambda d, x, W1, b1, W2, b2: (
            ((d @ W2) * (x @ W1.T + b1 > 0)) @ W1, ((d @ W2) * (x @ W1.T + b1 > 0)).T @ x,
            ((d @ W2) * (x @ W1.T + b1 > 0)).sum(0), d.T @ (x @ W1.T + b1), d.sum(0)),
        "dW2", "not its input z"),
}


def test_names_and_statements() -> None:
    assert E.names() == ["sigmoid", "softmax", "linear", "hinge", "log-likelihood",
                         "cross-entropy", "l2", "two-layer"]
    listing = E.describe()
    assert all(n in listing for n in E.names())
    text = E.statement("linear")
    assert "forward(x, W, b) -> s; backward(dout, x, W, b) -> (dx, dW, db)" in text
    assert "W (C, D)" in text and "def backward(dout, x, W, b):" in text
    assert E.exercise("log_likelihood").name == "log-likelihood"


@pytest.mark.parametrize("name", E.names())
def test_each_example_solution_is_accepted(name: str) -> None:
    result = E.check(name, *solution(name))
    assert result.ok, str(result)
    assert result.cases >= 2 and "correct" in str(result)


@pytest.mark.parametrize("name", E.names())
def test_the_template_is_not_accepted(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(E.exercise(name).template(), namespace)
    result = E.check(name, namespace["forward"], namespace["backward"])
    assert not result.ok and "forward is None: is a return missing?" in str(result)


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_each_planted_mistake_is_rejected_with_its_hint(case: str) -> None:
    name, fwd, bwd, parts, hint = MISTAKES[case]
    parts = {parts} if isinstance(parts, str) else set(parts)
    good_f, good_b = solution(name)
    result = E.check(name, fwd or good_f, bwd or good_b)
    assert not result.ok
    raised = [p for p in result.problems if " raised " in p.message]
    for part in parts:
        hits = [p for p in result.problems if p.part == part and p not in raised]
        assert hits and all(hint in p.hint for p in hits), str(result)
    assert hint in str(result)
    # only the planted parts are wrong; where the mistake does not fit the shapes of a
    # case, NumPy raises, and the hint gives the shapes
    assert {p.part for p in result.problems if p not in raised} == parts, str(result)
    assert all("ValueError" in p.message and "the shapes do not fit: " in p.hint
               for p in raised), str(result)


def test_a_problem_names_the_entry_the_expected_and_the_returned_value() -> None:
    calls: list[tuple[np.ndarray, np.ndarray]] = []

    def backward(dout, s):  # the off-diagonal terms forgotten
        calls.append((dout.copy(), s.copy()))
        return dout * sm(s) * (1 - sm(s))

    f, _ = solution("softmax")
    result = E.check("softmax", f, backward)
    p = result.problems[0]
    assert p.case == 1 and p.part == "ds" and p.entry is not None and len(p.entry) == 2
    # the expected value is the chain rule through diag(p) - p p^T, by the tests' formula
    dout, s = calls[0]
    prob = sm(s)
    want = prob * (dout - (dout * prob).sum(-1, keepdims=True))
    got = dout * prob * (1 - prob)
    assert p.expected == pytest.approx(want[p.entry], rel=1e-9, abs=1e-12)
    assert p.numeric == pytest.approx(want[p.entry], abs=1e-6)
    assert p.got == pytest.approx(got[p.entry], rel=1e-12)
    text = str(result)
    assert f"case 1 (s (4, 3)): ds is wrong in 12 of 12 entries; worst entry {p.entry}" in text
    assert f"got {p.got:.6g}, expected {p.expected:.6g}, central differences" in text


def test_a_small_error_in_one_entry_is_found_without_a_hint() -> None:
    f, b = solution("l2")

    def backward(dout, s, y):
        ds = b(dout, s, y)
        ds[1, 0] += 1e-3  # beyond the tolerance 1e-6 + 1e-5 |ds|
        return ds

    result = E.check("l2", f, backward)
    assert not result.ok and {p.part for p in result.problems} == {"ds"}
    assert all(p.entry == (1, 0) and p.hint == "" for p in result.problems)
    assert all(p.got - p.expected == pytest.approx(1e-3) for p in result.problems)
    assert "ds is wrong in 1 of 12 entries; worst entry (1, 0)" in str(result)


def test_shapes_counts_none_and_in_place_writes_are_reported() -> None:
    f, b = solution("softmax")
    text = str(E.check("softmax", f, lambda d, s: d.T))
    assert "ds has shape (3, 4), expected shape (4, 3) (the shape of s)" in text
    f, b = solution("linear")
    text = str(E.check("linear", f, lambda d, x, W, b: (d @ W, d.T @ x)))
    assert "backward returned 2 value(s), expected 3: dx, dW, db" in text
    text = str(E.check("linear", f, lambda d, x, W, b: (d @ W, None, d.sum(0))))
    assert "dW is None" in text
    text = str(E.check("linear", f, lambda d, x, W, b: (d @ W, (d.T @ x).T, d.sum(0))))
    assert "dW has shape (5, 3), expected shape (3, 5)" in text and "transposed" in text

    f, b = solution("softmax")

    def scaling_in_place(s):
        s -= s.max(axis=-1, keepdims=True)
        return f(s)

    text = str(E.check("softmax", scaling_in_place, b))
    assert "forward changed its input s in place" in text


def test_an_exception_in_the_solution_shows_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sol.py"
    path.write_text("import numpy as np\n\n\ndef forward(x, W, b):\n    return x @ W.T + b\n\n\n"
                    "def backward(dout, x, W, b):\n    dx = dout @ W.T\n    return dx, 0, 0\n")
    result = E.check("linear", *E.load_solution(path))
    text = str(result)
    assert not result.ok and "backward raised ValueError" in text
    assert f"{path}, line 9, in backward: `dx = dout @ W.T`" in text


def test_loss_backward_may_return_none_for_the_labels() -> None:
    f, b = solution("hinge")
    assert E.check("hinge", f, lambda d, s, y: (b(d, s, y), None)).ok


def test_unknown_exercise_and_bad_arguments() -> None:
    with pytest.raises(E.ExerciseError, match="unknown exercise 'nope'; choose one of: sigmoid"):
        E.check("nope", print, print)
    with pytest.raises(TypeError, match="backward must be a function, got int"):
        E.check("sigmoid", print, 3)


# ---------------------------------------------------------------------- the command
def test_command_list_and_statement(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercise", "list"]) == 0
    assert "two-layer" in capsys.readouterr().out
    assert main(["exercise", "hinge"]) == 0
    out = capsys.readouterr().out
    assert "max(0, s_ij - s_iy_i + 1)" in out and "--file my_hinge.py" in out


def test_command_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for seed in ("0", "7"):
        args = ["exercise", "softmax", "--file", str(SOLUTIONS / "softmax.py"), "--seed", seed]
        assert main(args) == 0
        assert "correct" in capsys.readouterr().out
    bad = tmp_path / "bad.py"
    bad.write_text((SOLUTIONS / "softmax.py").read_text().replace(
        "p * (dout - (dout * p).sum(axis=-1, keepdims=True))", "dout * p * (1 - p)"))
    assert main(["exercise", "softmax", "--file", str(bad)]) == 1
    assert "off-diagonal terms of the Jacobian are missing" in capsys.readouterr().out


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("folder", "is a folder"),
    ("def forward(:\n", "syntax error on line 1"),
    ("def forward(s):\n    return s\n", "does not define backward()"),
    ("x = 1\n", "does not define forward() or backward()"),
    ("import numpy as np\nnp.nope()\n", "raised AttributeError"),
])
def test_command_bad_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      content: str | None, message: str) -> None:
    path = tmp_path / "sol.py"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    assert main(["exercise", "sigmoid", "--file", str(path)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""


def test_command_error_at_load_names_its_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sol.py"
    path.write_text("import numpy as np\nnp.nope()\n")
    assert main(["exercise", "sigmoid", "--file", str(path)]) == 1
    assert "line 2" in capsys.readouterr().err


def test_command_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercise", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown exercise 'nope'; choose one of: list, sigmoid" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["exercise", "sigmoid", "--seed", "-1"]) == 2
    assert "--seed must be >= 0, got -1" in capsys.readouterr().err
