"""The ``glassnet`` command: every subcommand on tiny data, and every kind of bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import data, training
from glassnet import random as gn_random
from glassnet.cli import main
from glassnet.pipeline import preprocess

pytest.importorskip("sklearn")  # digits, the default data, ship with scikit-learn

TRACEBACK = "Traceback (most recent call last)"


def _isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """``glassnet train`` seeds glassnet's default generator: give it a private one; and
    point every data folder at an empty home."""
    mp.setattr(gn_random, "_generator", [np.random.default_rng(0)])
    mp.setattr(gn_random, "_seed", [0])
    for var in ("HOME", "XDG_CACHE_HOME", "GLASSNET_DATA"):
        mp.setenv(var, str(home))


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "home").mkdir()
    _isolate(monkeypatch, tmp_path / "home")
    monkeypatch.chdir(tmp_path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line message, got {err!r}"
    assert TRACEBACK not in err
    return lines[0]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One epoch of a small MLP on the digits: a checkpoint for evaluate and predict."""
    out = tmp_path_factory.mktemp("digits") / "run"
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, out.parent)
        code = main(["train", "--epochs", "1", "--hidden", "32", "--out", str(out), "--quiet"])
    assert code == 0
    yield out


# ---------------------------------------------------------------------- train
def test_train_writes_checkpoint_history_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["train", "--dataset", "blobs", "--epochs", "2", "--out", "run"],
                         capsys)
    assert code == 0, err
    assert re.search(r"final: train accuracy \d\.\d{4}, test accuracy \d\.\d{4}", out)
    assert "epoch 2/2" in out and err == ""
    run_dir = tmp_path / "run"
    history = json.loads((run_dir / "history.json").read_text())
    assert history["epochs"] == 2 and len(history["val_loss"]) == 2
    assert history["test_accuracy"] > 0.9
    assert (run_dir / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ck = gn.load(run_dir / "last.ckpt")
    assert ck.epoch == 2 and ck.meta["data"]["dataset"] == "blobs"
    assert ck.meta["command"]["epochs"] == 2 and ck.optimizer_class == "SGD"
    assert sorted(p.name for p in run_dir.iterdir()) == ["best.ckpt", "history.json",
                                                         "history.png", "last.ckpt"]


def test_train_defaults_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``glassnet train`` defaults (an MLP 256-128 on the digits), two epochs only."""
    code, out, err = run(["train", "--epochs", "2"], capsys)
    assert code == 0, err
    count = (64 * 256 + 256) + (256 * 128 + 128) + (128 * 10 + 10)
    assert "data: digits" in out and f"MLP, {count:,} parameters" in out
    ck = gn.load(tmp_path / "runs" / "digits-mlp" / "last.ckpt")
    assert ck.config["kwargs"]["hidden_sizes"] == [256, 128]
    acc = float(re.search(r"test accuracy (\d\.\d+)", out).group(1))
    assert acc > 0.8  # two epochs already learn most digits (the 97% target needs all 30)


@pytest.mark.parametrize("how", ["interrupted", "extended"])
def test_train_resume_continues_bit_for_bit(
    how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """3 epochs straight == 1 epoch, then --resume to 3: after a Ctrl-C (same command, the
    default cosine schedule) or to train longer (constant rate: the schedule depends on
    --epochs)."""
    common = ["train", "--dataset", "moons", "--dropout", "0.3", "--hidden", "16",
              "--quiet", "--seed", "4"]
    if how == "extended":
        common += ["--schedule", "none"]
    assert main([*common, "--epochs", "3", "--out", "straight"]) == 0
    if how == "interrupted":
        real_save = training.save

        def save_then_interrupt(path: Path, *args: object, **meta: object) -> Path:
            written = real_save(path, *args, **meta)
            if meta["epoch"] == 1 and Path(path).name == "last.ckpt":
                raise KeyboardInterrupt
            return written

        monkeypatch.setattr(training, "save", save_then_interrupt)
        assert main([*common, "--epochs", "3", "--out", "split"]) == 130
        monkeypatch.setattr(training, "save", real_save)
    else:
        assert main([*common, "--epochs", "1", "--out", "split"]) == 0
    assert gn.load("split/last.ckpt").epoch == 1
    assert main([*common, "--epochs", "3", "--out", "split", "--resume"]) == 0
    capsys.readouterr()
    a, b = gn.load("straight/last.ckpt"), gn.load("split/last.ckpt")
    assert b.epoch == 3
    for k, v in a.state_dict.items():
        assert np.array_equal(v, b.state_dict[k]), k
    ha = json.loads(Path("straight/history.json").read_text())
    hb = json.loads(Path("split/history.json").read_text())
    assert ha["train_loss"] == hb["train_loss"] and ha["lr"] == hb["lr"]
    assert ha["test_accuracy"] == hb["test_accuracy"]


def test_train_the_lecture_points(capsys: pytest.CaptureFixture[str]) -> None:
    """Raw coordinates up to 8: the default step must keep gradient descent stable."""
    code, out, err = run(["train", "--dataset", "points", "--model", "linreg", "--epochs",
                          "60", "--out", "run"], capsys)
    assert code == 0, err
    loss = json.loads(Path("run/history.json").read_text())["train_loss"]
    assert np.isfinite(loss).all() and loss[-1] < 0.1 * loss[0]


@pytest.mark.parametrize(
    "args",
    [
        ["--dataset", "curve", "--model", "poly", "--order", "3", "--epochs", "50"],
        ["--dataset", "xor", "--model", "quadratic", "--optimizer", "adam", "--epochs", "2"],
        ["--dataset", "circles", "--model", "logistic", "--epochs", "2",
         "--regularizer", "l2:1e-3,maxnorm:3"],
        ["--dataset", "spirals", "--model", "mlp", "--batch-norm", "--loss", "hinge",
         "--epochs", "2", "--schedule", "none"],
        ["--dataset", "blobs", "--model", "linear", "--loss", "squared-hinge", "--epochs", "2",
         "--optimizer", "rmsprop", "--profile"],
    ],
)
def test_train_other_models(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["train", *args, "--out", "run"], capsys)
    assert code == 0, err
    assert "final:" in out
    ck = gn.load("run/last.ckpt")
    history = json.loads(Path("run/history.json").read_text())
    assert history["epochs"] == ck.epoch == int(args[args.index("--epochs") + 1])
    assert np.isfinite(history["train_loss"]).all()
    if "--profile" in args:
        assert "where the time went" in out


# ---------------------------------------------------------------------- evaluate
def test_evaluate_reproduces_the_training_test_accuracy(
    digits_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["evaluate", str(digits_run / "last.ckpt")], capsys)
    assert code == 0, err
    history = json.loads((digits_run / "history.json").read_text())
    assert f"digits test: accuracy {history['test_accuracy']:.4f}" in out
    rows = [line for line in out.splitlines() if re.fullmatch(r"\s*\[*[\d\s]+\]*", line)]
    cm = np.array([[int(v) for v in re.findall(r"\d+", r)] for r in rows])
    assert cm.shape == (10, 10) and cm.sum() == 450
    assert np.trace(cm) / 450 == pytest.approx(history["test_accuracy"])


def test_evaluate_a_toy_set_uses_the_training_seed(capsys: pytest.CaptureFixture[str]) -> None:
    """A generated set is regenerated with the seed it was trained on."""
    assert main(["train", "--dataset", "blobs", "--seed", "3", "--epochs", "2", "--quiet",
                 "--out", "run"]) == 0
    code, out, err = run(["evaluate", "run/best.ckpt"], capsys)  # the model tested at the end
    assert code == 0, err
    history = json.loads(Path("run/history.json").read_text())
    assert f"accuracy {history['test_accuracy']:.4f}" in out
    assert f"loss {history['test_loss']:.4f}" in out


def test_default_job_stops_early_and_keeps_the_best_epoch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The default digits job over-fits after a few epochs: early stopping ends it, says so,
    and best.ckpt holds the epoch with the best validation accuracy."""
    code, out, err = run(["train", "--out", "run"], capsys)
    assert code == 0, err
    assert "early stopping: stop when the validation loss has not improved for 5 epochs" in out
    history = json.loads(Path("run/history.json").read_text())
    val_loss, val_acc = history["val_loss"], history["val_accuracy"]
    n = history["epochs"]
    assert history["stopped_early"] and n < 30 and f"stopped early after epoch {n}" in out
    best_loss_epoch = int(np.argmin(val_loss)) + 1
    assert n == best_loss_epoch + 6  # patience 5: the sixth epoch without improvement stops
    best = int(np.argmax(val_acc)) + 1
    assert history["best_epoch"] == best and gn.load("run/best.ckpt").epoch == best
    assert gn.load("run/last.ckpt").epoch == n
    assert f"best epoch {best} (validation accuracy {val_acc[best - 1]:.4f})" in out


def test_no_early_stop_trains_every_epoch_and_patience_needs_validation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = ["train", "--dataset", "blobs", "--quiet"]
    assert main([*common, "--epochs", "4", "--no-early-stop", "--out", "all"]) == 0
    assert json.loads(Path("all/history.json").read_text())["epochs"] == 4
    capsys.readouterr()
    code, out, err = run([*common, "--val-fraction", "0", "--patience", "2"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--patience needs a validation" in err
    code, out, err = run([*common, "--patience", "-1"], capsys)
    assert code == 2 and "expected an integer >= 0, got '-1'" in err


# ---------------------------------------------------------------------- predict
def test_predict_a_npy_file(digits_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw, _ = data.load_digits("test")
    np.save("some.npy", raw[:20])
    code, out, err = run(["predict", str(digits_run / "last.ckpt"), "some.npy", "--top", "2"],
                         capsys)
    assert code == 0, err
    ck = gn.load(digits_run / "last.ckpt")
    ck.model.eval()
    expected = ck.model(preprocess(raw[:20], ck.meta["data"])).data.argmax(axis=1)
    lines = out.splitlines()
    assert len(lines) == 20
    for i, (line, c) in enumerate(zip(lines, expected)):
        m = re.fullmatch(rf"sample {i}: (\d) \(class (\d)\); top 2: (\d) (\S+), (\d) (\S+)", line)
        assert m, line
        assert int(m.group(1)) == int(m.group(2)) == int(m.group(3)) == c
        assert 1 >= float(m.group(4)) >= float(m.group(6)) >= 0


def test_predict_a_png_image(digits_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image = pytest.importorskip("PIL.Image")
    raw, _ = data.load_digits("test")
    ckpt = str(digits_run / "last.ckpt")
    pixels = np.round(raw[7] * 255).astype(np.uint8)
    Image.fromarray(pixels, mode="L").save("digit.png")
    Image.fromarray(255 - pixels, mode="L").save("inverted.png")
    np.save("digit.npy", pixels.astype(np.float64) / 255)  # the same values as the PNG
    code_png, out_png, err = run(["predict", ckpt, "digit.png"], capsys)
    assert code_png == 0, err
    code_npy, out_npy, _ = run(["predict", ckpt, "digit.npy"], capsys)
    code_inv, out_inv, _ = run(["predict", ckpt, "inverted.png", "--invert"], capsys)
    assert code_npy == code_inv == 0
    assert out_png.startswith("sample 0: ") and len(out_png.splitlines()) == 1
    assert out_png == out_npy == out_inv


def test_predict_resizes_a_large_image_for_mnist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tiny stand-in MNIST (IDX files in $GLASSNET_DATA): train, evaluate, predict a
    56x56 RGB image, and ``datasets`` finds it."""
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "home" / "mnist"
    folder.mkdir()
    gen = np.random.default_rng(0)
    for split, n in (("train", 60), ("t10k", 20)):
        y = gen.integers(0, 10, n).astype(np.uint8)
        x = (gen.random((n, 28, 28)) * 40).astype(np.uint8)
        data.write_idx(folder / f"{split}-images-idx3-ubyte.gz", x)
        data.write_idx(folder / f"{split}-labels-idx1-ubyte.gz", y)
    code, out, err = run(["train", "--dataset", "mnist", "--no-download", "--model", "linear",
                          "--epochs", "1", "--out", "run"], capsys)
    assert code == 0, err
    assert "54 train, 6 validation, 20 test, 784 features" in out
    code, out, err = run(["evaluate", "run/last.ckpt", "--no-download"], capsys)
    assert code == 0, err
    assert "mnist test: accuracy" in out and "on 20 images" in out
    Image.new("RGB", (56, 56), (200, 10, 10)).save("big.png")
    code, out, err = run(["predict", "run/last.ckpt", "big.png"], capsys)
    assert code == 0, err
    assert re.fullmatch(r"sample 0: \d \(class \d\); top 3: .*\n", out)
    code, out, err = run(["datasets"], capsys)
    assert code == 0, err
    assert re.search(rf"mnist\s+available\s+{re.escape(str(folder))}", out)


# ---------------------------------------------------------------------- datasets, help
def test_datasets_lists_what_is_where(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["datasets"], capsys)
    assert code == 0, err
    assert re.search(r"digits\s+available", out)
    assert re.search(r"mnist\s+not found locally.*searched: .*home", out)
    for name in ("circles", "moons", "xor", "spirals", "blobs", "curve", "points"):
        assert name in out


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["predict"], ["datasets"]])
def test_help_on_every_subcommand(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: glassnet {' '.join(command)}".rstrip())


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([], capsys)
    assert code == 2 and "train" in out and "predict" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"glassnet {gn.__version__}"


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "--bogus"], "--bogus"),
        (["frobnicate"], "frobnicate"),
        (["train", "--dataset", "imagenet"], "imagenet"),
        (["train", "--model", "resnet"], "resnet"),
        (["train", "--optimizer", "lbfgs"], "lbfgs"),
        (["train", "--loss", "cross"], "cross"),
        (["train", "--hidden", "256,x"], "256,x"),
        (["train", "--hidden", "0"], "positive"),
        (["train", "--lr", "-1"], "-1"),
        (["train", "--lr", "nan"], "nan"),
        (["train", "--lr", "fast"], "fast"),
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--batch-size", "1.5"], "1.5"),
        (["train", "--dropout", "-0.5"], "-0.5"),
        (["train", "--regularizer", "l3:1"], "l3"),
        (["train", "--regularizer", "l2:-1"], "-1"),
        (["evaluate"], "checkpoint"),
        (["predict", "m.ckpt"], "file"),
        (["predict", "m.ckpt", "x.npy", "--top", "0"], "--top"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(args, capsys)
    assert code == 2 and out == ""
    line = _one_line_error(err)
    assert line.startswith("glassnet") and needle in line


def test_missing_data_without_download(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["train", "--dataset", "mnist", "--no-download", "--out", "run"], capsys)
    assert code == 1
    line = _one_line_error(err)
    assert line.startswith("glassnet: error: MNIST") and str(tmp_path / "home") in line


@pytest.mark.parametrize("command", ["evaluate", "predict"])
@pytest.mark.parametrize("damage", ["bit flip", "truncated", "missing", "not a checkpoint"])
def test_a_damaged_checkpoint_is_one_line_naming_it(
    digits_run: Path, capsys: pytest.CaptureFixture[str], command: str, damage: str
) -> None:
    good = (digits_run / "last.ckpt").read_bytes()
    path = Path("bad.ckpt")
    if damage == "bit flip":
        path.write_bytes(good[:1000] + bytes([good[1000] ^ 4]) + good[1001:])
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "not a checkpoint":
        path.write_text("hello")
    np.save("x.npy", np.zeros((8, 8)))
    args = [command, str(path)] + (["x.npy"] if command == "predict" else [])
    code, out, err = run(args, capsys)
    assert code == 1 and out == ""
    assert "bad.ckpt" in _one_line_error(err)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: None, "nothere.npy"),
        (lambda: Path("nothere.npy").mkdir(), "folder"),
        (lambda: Path("nothere.npy").write_bytes(b"junk"), "nothere.npy"),
        (lambda: np.save("nothere.npy", np.zeros((3, 5))), "(3, 5)"),
    ],
)
def test_predict_bad_input_files(
    digits_run: Path, capsys: pytest.CaptureFixture[str], make: object, needle: str
) -> None:
    make()  # type: ignore[operator]
    code, _, err = run(["predict", str(digits_run / "last.ckpt"), "nothere.npy"], capsys)
    assert code == 1
    assert needle in _one_line_error(err)


def test_predict_an_unreadable_image(
    digits_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("PIL")
    Path("fake.png").write_bytes(b"\x89PNG but not really")
    code, _, err = run(["predict", str(digits_run / "last.ckpt"), "fake.png"], capsys)
    assert code == 1
    assert "fake.png" in _one_line_error(err)


def test_an_output_folder_under_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    Path("file").write_text("x")
    for out_dir in ("file", "file/run"):
        code, _, err = run(["train", "--dataset", "xor", "--epochs", "1", "--out", out_dir],
                           capsys)
        assert code == 1
        assert f"'{out_dir}'" in _one_line_error(err)


def test_an_unwritable_output_folder(capsys: pytest.CaptureFixture[str]) -> None:
    """Tests run as root, so only an immutable folder (chattr +i) refuses writes."""
    Path("locked").mkdir()
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    if subprocess.run(["chattr", "+i", "locked"], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here")
    try:
        code, _, err = run(["train", "--dataset", "xor", "--epochs", "1", "--out", "locked"],
                           capsys)
    finally:
        subprocess.run(["chattr", "-i", "locked"], check=True)
    assert code == 1
    line = _one_line_error(err)
    assert "'locked'" in line and "not writable" in line


def test_resume_without_a_checkpoint(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["train", "--dataset", "xor", "--resume", "--out", "empty"], capsys)
    assert code == 1
    assert "last.ckpt" in _one_line_error(err)


def test_debug_shows_the_exception(capsys: pytest.CaptureFixture[str]) -> None:
    Path("bad.ckpt").write_text("hello")
    with pytest.raises(gn.CheckpointError, match="bad.ckpt"):
        main(["--debug", "evaluate", "bad.ckpt"])


# ---------------------------------------------------------------------- real processes
def _command() -> list[str]:
    script = Path(sys.executable).parent / "glassnet"
    return [str(script)] if script.exists() else [sys.executable, "-m", "glassnet.cli"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path / "home"), "GLASSNET_DATA": "",
            "XDG_CACHE_HOME": str(tmp_path / "home")}


def test_the_console_script(tmp_path: Path) -> None:
    env = _env(tmp_path)
    done = subprocess.run([*_command(), "train", "--dataset", "xor", "--epochs", "2",
                           "--out", "run", "--quiet"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("final: train accuracy")
    assert gn.load(tmp_path / "run" / "last.ckpt").epoch == 2

    Path("bad.ckpt").write_text("hello")
    plain = subprocess.run([*_command(), "evaluate", "bad.ckpt"], capture_output=True,
                           text=True, env=env, timeout=120)
    assert plain.returncode == 1
    assert "bad.ckpt" in _one_line_error(plain.stderr)
    debug = subprocess.run([sys.executable, "-m", "glassnet.cli", "--debug", "evaluate",
                            "bad.ckpt"], capture_output=True, text=True, env=env, timeout=120)
    assert debug.returncode == 1
    assert TRACEBACK in debug.stderr and "CheckpointError" in debug.stderr


def test_ctrl_c_exits_130_and_keeps_a_loadable_checkpoint(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    ckpt = tmp_path / "run" / "last.ckpt"
    with open(tmp_path / "stdout.txt", "w") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "glassnet.cli", "train", "--epochs", "100000",
             "--hidden", "64", "--out", "run"],
            stdout=stdout, stderr=subprocess.PIPE, text=True, env=_env(tmp_path),
        )
        try:
            deadline = time.monotonic() + 120
            while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert ckpt.exists(), "no checkpoint appeared"
            time.sleep(rng.uniform(0.0, 0.3))  # interrupt at some point of a later epoch
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130
    assert "interrupted" in _one_line_error(err)
    ck = gn.load(ckpt)
    assert ck.epoch >= 1
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["epochs"] in (ck.epoch, ck.epoch - 1)  # history.json follows last.ckpt


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "glassnet", "--version"], capture_output=True, text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"glassnet {gn.__version__}"
