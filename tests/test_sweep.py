"""``glassnet sweep``: trials of ``glassnet train`` on a Dask cluster of worker processes.

One module-wide LocalCluster (2 worker processes on 127.0.0.1) serves most tests through
``--scheduler``; one test lets the command start its own. Trials train a small MLP on the
bundled digits for a few epochs (a fraction of a second each once a worker is warm).
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glassnet import sweep
from glassnet.cli import main

pytest.importorskip("sklearn")  # the digits ship with scikit-learn
distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

TRACEBACK = "Traceback (most recent call last)"
SMALL = ["--hidden", "32", "--epochs", "3"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The address of a LocalCluster of 2 single-threaded worker processes that retries a
    task whose worker died up to 2 times."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 2}):
        lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=":0")
    try:
        with distributed.Client(lc, timeout=120) as client:
            client.wait_for_workers(2, timeout=120)
        yield lc.scheduler_address
    finally:
        lc.close()


def sweep_cmd(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["sweep", *args])
    out, err = capsys.readouterr()
    return code, out, err


def read_table(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def history_of(out: Path, row: dict[str, str]) -> dict[str, Any]:
    return json.loads((out / "trials" / row["trial"] / "history.json").read_text())


def check_run_folder(folder: Path, epochs: int) -> None:
    """What ``glassnet train`` leaves in its --out, read back independently of the sweep."""
    from glassnet.checkpoint import load

    history = json.loads((folder / "history.json").read_text())
    assert history["epochs"] == epochs
    assert history["test_accuracy"] is not None
    ckpt = load(folder / "last.ckpt")
    assert ckpt.epoch == epochs
    assert (folder / "history.png").stat().st_size > 0


def check_ranked(rows: list[dict[str, str]], out: Path) -> None:
    """The finished rows are sorted by validation accuracy, each that of the epoch its own
    run kept (best.ckpt), whose test accuracy is the run's."""
    from glassnet.checkpoint import load

    ok = [r for r in rows if r["status"] == "ok"]
    values = [float(r["val_accuracy"]) for r in ok]
    assert values == sorted(values, reverse=True)
    for r in ok:
        history = history_of(out, r)
        kept = history["best_epoch"]
        assert int(r["best_epoch"]) == kept == max(
            range(1, history["epochs"] + 1), key=lambda e: history["val_accuracy"][e - 1])
        assert load(out / "trials" / r["trial"] / "best.ckpt").epoch == kept
        assert float(r["val_accuracy"]) == pytest.approx(history["val_accuracy"][kept - 1],
                                                         abs=5e-5)
        assert float(r["test_accuracy"]) == pytest.approx(history["test_accuracy"], abs=5e-5)
    assert [r["rank"] for r in ok] == [str(i + 1) for i in range(len(ok))]


def kill_first_trial(out: Path, victim: dict[str, Any]) -> None:
    """SIGKILL the worker process of the first trial whose log shows it started; note the
    trial in ``victim`` and whether it had finished when the signal came (then it may
    legitimately keep its single attempt)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for log in sorted((out / "trials").glob("*/train.log")):
            m = re.search(r"attempt 1: pid (\d+)", log.read_text(errors="replace"))
            if m:
                os.kill(int(m.group(1)), signal.SIGKILL)
                victim.update(name=log.parent.name, pid=int(m.group(1)),
                              finished="== ok after" in log.read_text())
                return
        time.sleep(0.01)


# ---------------------------------------------------------------------- on a cluster
def test_grid_survives_a_killed_worker(cluster: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Kill the worker process running the first trial that starts: Dask runs that trial
    again on a live worker (from its checkpoint); the other three are untouched."""
    out = tmp_path / "sweep"
    victim: dict[str, Any] = {}
    killer = threading.Thread(target=kill_first_trial, args=(out, victim), daemon=True)
    killer.start()
    code, stdout, err = sweep_cmd(["--scheduler", cluster, "--out", str(out),
                                   "--grid", "lr=0.05,0.1", "hidden=32,64",
                                   "--epochs", "4"], capsys)
    killer.join(timeout=10)
    assert victim, "no trial started"
    assert code == 0, err
    rows = read_table(out)
    assert len(rows) == 4
    assert {(r["lr"], r["hidden"]) for r in rows} == {
        ("0.05", "32"), ("0.05", "64"), ("0.1", "32"), ("0.1", "64")}
    assert all(r["status"] == "ok" and r["error"] == "" for r in rows)
    for r in rows:
        check_run_folder(out / "trials" / r["trial"], epochs=4)
        if r["trial"] != victim["name"]:
            assert r["attempts"] == "1", r
    killed = next(r for r in rows if r["trial"] == victim["name"])
    assert killed["attempts"] == "2" or victim["finished"], (killed, victim)
    if killed["attempts"] == "2":
        assert killed["worker"] != f"{os.uname().nodename}:{victim['pid']}"
        log = (out / "trials" / victim["name"] / "train.log").read_text()
        assert log.count("attempt 1:") == 1 and log.count("attempt 2:") == 1
    check_ranked(rows, out)
    assert "best: " in stdout
    md = (out / "results.md").read_text()
    assert md.count("| ok |") == 4
    assert (out / "best.png").stat().st_size > 10_000


def test_a_failing_trial_is_reported_and_resume_reruns_only_it(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    args = ["--scheduler", cluster, "--out", str(out), "--grid", "lr=0.05,1e9", *SMALL]
    code, stdout, err = sweep_cmd(args, capsys)
    assert code == 1  # one trial failed: the command says so, after writing the table
    rows = read_table(out)
    assert [r["lr"] for r in rows] == ["0.05", "1e9"]  # finished first, failed last
    good, bad = rows
    assert good["status"] == "ok" and good["rank"] == "1"
    assert bad["status"] == "failed" and bad["rank"] == ""
    assert bad["error"].startswith("TrainingDivergedError: epoch 1, step ")
    assert "the loss is" in bad["error"]
    assert f"failed: {bad['trial']}: TrainingDivergedError" in stdout
    assert "| failed: TrainingDivergedError: epoch 1" in (out / "results.md").read_text()
    log = (out / "trials" / bad["trial"] / "train.log").read_text()
    assert TRACEBACK in log and "== failed after" in log
    record = json.loads((out / "trials" / bad["trial"] / "trial.json").read_text())
    assert record["status"] == "failed" and record["error"] == bad["error"]
    check_run_folder(out / "trials" / good["trial"], epochs=3)

    before = {r["trial"]: json.loads((out / "trials" / r["trial"] / "trial.json")
                                     .read_text())["sweep"] for r in rows}
    ckpt = out / "trials" / good["trial"] / "last.ckpt"
    stamp = ckpt.stat().st_mtime_ns
    code, stdout, err = sweep_cmd([*args, "--resume", "--grid", "lr=0.05,1e9,0.1"], capsys)
    assert code == 1
    assert "resuming: 1 of 3 trials finished earlier" in stdout
    rows = read_table(out)
    assert len(rows) == 3
    after = {r["trial"]: json.loads((out / "trials" / r["trial"] / "trial.json")
                                    .read_text())["sweep"] for r in rows}
    assert after[good["trial"]] == before[good["trial"]]  # skipped
    assert ckpt.stat().st_mtime_ns == stamp
    assert after[bad["trial"]] != before[bad["trial"]]  # a failed trial runs again
    new = next(r for r in rows if r["lr"] == "0.1")
    assert new["status"] == "ok" and after[new["trial"]] not in before.values()
    check_ranked(rows, out)


def test_a_toml_random_search(cluster: str, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text(f"""
[sweep]
random = 3
random_seed = 7
scheduler = "{cluster}"
out = "{tmp_path / 'random'}"
metric = "val_loss"

[train]
epochs = 2
optimizer = "adam"

[grid]
lr = {{ low = 1e-3, high = 1e-1, log = true }}
hidden = [[32], [64, 32]]
batch-norm = [true, false]
""")
    code, stdout, err = sweep_cmd([str(config)], capsys)
    assert code == 0, err
    out = tmp_path / "random"
    rows = read_table(out)
    assert len(rows) == 3
    assert len({(r["lr"], r["hidden"], r["batch-norm"]) for r in rows}) == 3
    for r in rows:
        assert 1e-3 <= float(r["lr"]) <= 1e-1
        assert r["hidden"] in ("32", "64,32") and r["batch-norm"] in ("true", "false")
        argv = json.loads((out / "trials" / r["trial"] / "trial.json").read_text())["argv"]
        assert "--optimizer=adam" in argv and "--epochs=2" in argv
        assert ("--batch-norm" in argv) == (r["batch-norm"] == "true")
        check_run_folder(out / "trials" / r["trial"], epochs=2)
    losses = [float(r["val_loss"]) for r in rows]
    assert losses == sorted(losses)  # a loss ranks lowest first
    assert "ranked by val_loss (lower is better)" in (out / "results.md").read_text()


def test_a_trial_is_the_same_run_as_glassnet_train(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run folder of a trial holds what ``glassnet train`` with the trial's options
    writes when run on its own (here, in this process)."""
    from glassnet import random as gn_random

    out = tmp_path / "sweep"
    code, _, err = sweep_cmd(["--scheduler", cluster, "--out", str(out), "--grid",
                              "dropout=0.0,0.2", "--hidden", "32", "--epochs", "3"], capsys)
    assert code == 0, err
    monkeypatch.setattr(gn_random, "_generator", [np.random.default_rng(0)])
    monkeypatch.setattr(gn_random, "_seed", [0])
    for row in read_table(out):
        argv = json.loads((out / "trials" / row["trial"] / "trial.json").read_text())["argv"]
        alone = tmp_path / f"alone-{row['dropout']}"
        assert main(["train", *argv, "--out", str(alone), "--quiet"]) == 0
        mine = json.loads((alone / "history.json").read_text())
        theirs = history_of(out, row)
        for key in ("train_loss", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(theirs[key], mine[key], rtol=1e-4, err_msg=key)
        assert theirs["test_accuracy"] == pytest.approx(mine["test_accuracy"], abs=2e-3)
    capsys.readouterr()


def test_resume_continues_an_unfinished_trial_from_its_checkpoint(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from glassnet import random as gn_random

    out = tmp_path / "sweep"
    [trial], _ = sweep.plan({"lr": ["0.05"]}, {"hidden": "32", "epochs": 4})
    folder = out / "trials" / trial.name
    monkeypatch.setattr(gn_random, "_generator", [np.random.default_rng(0)])
    monkeypatch.setattr(gn_random, "_seed", [0])
    # an interrupted trial: the same options, stopped after 2 of its 4 epochs
    partial = [w if w != "--epochs=4" else "--epochs=2" for w in trial.argv]
    assert main(["train", *partial, "--out", str(folder), "--quiet"]) == 0
    first = json.loads((folder / "history.json").read_text())["train_loss"]
    code, stdout, err = sweep_cmd(["--scheduler", cluster, "--out", str(out), "--resume",
                                   "--grid", "lr=0.05", "--hidden", "32", "--epochs", "4"],
                                  capsys)
    assert code == 0, err
    assert "resuming: 0 of 1 trials finished earlier" in stdout
    history = json.loads((folder / "history.json").read_text())
    assert history["epochs"] == 4 and history["train_loss"][:2] == first
    assert " --resume\n" in (folder / "train.log").read_text()
    check_run_folder(folder, epochs=4)


def test_a_local_cluster_by_default_with_a_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal:
        """stderr as a terminal, so that tqdm draws its bar."""

        def __init__(self) -> None:
            self.text = ""

        def write(self, s: str) -> int:
            self.text += s
            return len(s)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    out = tmp_path / "local"
    victim: dict[str, Any] = {}
    killer = threading.Thread(target=kill_first_trial, args=(out, victim), daemon=True)
    killer.start()
    # --retries 0: a trial whose worker dies is not run again but reported; the other
    # runs on the worker that the local cluster's nanny starts in place of the dead one
    code = main(["sweep", "--workers", "1", "--threads", "1", "--retries", "0",
                 "--out", str(out), "--grid", "seed=0,1", *SMALL])
    killer.join(timeout=10)
    stdout = capsys.readouterr().out
    assert victim, "no trial started"
    assert re.search(r"trials: 100%.*2/2", term.text), term.text
    rows = read_table(out)
    assert sorted(r["seed"] for r in rows) == ["0", "1"]
    killed = next(r for r in rows if r["trial"] == victim["name"])
    if not victim["finished"]:
        assert code == 1
        assert killed["status"] == "failed"
        assert killed["error"].startswith("KilledWorker: the worker running this trial "
                                          "died 1 time (killed"), killed
        assert f"failed: {killed['trial']}: KilledWorker" in stdout
    for r in rows:
        if r is not killed:
            assert r["status"] == "ok" and r["attempts"] == "1"
            check_run_folder(out / "trials" / r["trial"], epochs=3)
    assert stdout.count("trial ") >= 2
    assert all(re.fullmatch(r".+:\d+", r["worker"]) for r in rows if r["status"] == "ok")


def test_grid_search_cv_with_joblibs_dask_backend(cluster: str) -> None:
    """The route of docs/sweeps.md: scikit-learn's GridSearchCV over glassnet's estimator,
    its fits sent to the cluster's workers by joblib's Dask backend, with the scores of
    the same search run in this process."""
    joblib = pytest.importorskip("joblib")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    from glassnet.sklearn import GlassnetClassifier

    X, y = load_digits(return_X_y=True)
    grid = {"lr": [1e-3, 1e-2], "hidden": [(32,)]}
    make = lambda jobs: GridSearchCV(GlassnetClassifier(epochs=2, seed=0), grid, cv=2,  # noqa: E731
                                     n_jobs=jobs)
    with distributed.Client(cluster) as client:
        workers = set(client.nthreads())
        with distributed.get_task_stream() as tasks, joblib.parallel_config(backend="dask"):
            search = make(-1).fit(X, y)
    serial = make(1).fit(X, y)
    assert len(workers) == 2
    ran_on = [t["worker"] for t in tasks.data]
    assert len(ran_on) >= 4 and set(ran_on) <= workers  # 2 candidates x 2 folds
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], rtol=1e-6)
    assert search.best_params_ == serial.best_params_
    assert search.best_estimator_.score(X, y) == pytest.approx(
        serial.best_estimator_.score(X, y))


def test_the_grid_search_cv_example_of_the_documentation_is_a_script() -> None:
    """docs/sweeps.md's GridSearchCV example starts worker processes: as a script it needs
    the ``if __name__ == "__main__"`` guard, and it uses the API the test above runs."""
    import ast

    doc = (Path(__file__).parents[1] / "docs" / "sweeps.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", doc, re.S)
                 if "GridSearchCV" in b)
    tree = ast.parse(block)
    assert any(isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)
               for n in tree.body)
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert {"LocalCluster", "Client", "GridSearchCV", "GlassnetClassifier",
            "joblib.parallel_config"} <= calls


def test_an_unreachable_scheduler_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, stdout, err = sweep_cmd(["--scheduler", address, "--out", str(tmp_path / "o"),
                                       "--grid", "lr=0.1"], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and TRACEBACK not in err, err
    assert lines[0].startswith(f"glassnet: error: cannot reach the Dask scheduler at "
                               f"{address}: "), err
    assert not list((tmp_path / "o").glob("results.*"))


# ---------------------------------------------------------------------- planning
def test_grid_is_the_cartesian_product_with_shared_options() -> None:
    trials, notes = sweep.plan({"lr": ["0.01", "0.1"], "hidden": ["128", "256,128"]},
                               {"epochs": 3, "batch_size": 16, "batch-norm": True})
    assert notes == []
    assert [t.params for t in trials] == [
        {"lr": "0.01", "hidden": "128"}, {"lr": "0.01", "hidden": "256,128"},
        {"lr": "0.1", "hidden": "128"}, {"lr": "0.1", "hidden": "256,128"}]
    assert trials[1].argv == ("--epochs=3", "--batch-size=16", "--batch-norm",
                              "--lr=0.01", "--hidden=256,128")
    assert len({t.name for t in trials}) == 4
    # a trial's folder name depends on all its options, not only the swept ones
    other, _ = sweep.plan({"lr": ["0.01", "0.1"], "hidden": ["128", "256,128"]},
                          {"epochs": 4, "batch_size": 16, "batch-norm": True})
    assert {t.name for t in trials}.isdisjoint({t.name for t in other})


def test_random_search_is_seeded_and_draws_from_lists_and_ranges() -> None:
    space = {"lr": sweep.Range(1e-4, 1e-1, log=True), "batch-size": sweep.Range(16, 128,
                                                                                  integer=True),
             "dropout": sweep.Range(0.0, 0.5), "optimizer": ["sgd", "adam"]}
    a, _ = sweep.plan(space, random=40, random_seed=3)
    b, _ = sweep.plan(space, random=40, random_seed=3)
    c, _ = sweep.plan(space, random=40, random_seed=4)
    assert [t.argv for t in a] == [t.argv for t in b]
    assert [t.argv for t in a] != [t.argv for t in c]
    lr = np.array([float(t.params["lr"]) for t in a])
    batch = [t.params["batch-size"] for t in a]
    assert ((1e-4 <= lr) & (lr <= 1e-1)).all()
    assert (np.log10(lr) < -2.5).sum() >= 10  # log-uniform: half below the middle decade
    assert all(re.fullmatch(r"\d+", v) and 16 <= int(v) <= 128 for v in batch)
    assert all(0.0 <= float(t.params["dropout"]) <= 0.5 for t in a)
    assert {t.params["optimizer"] for t in a} == {"sgd", "adam"}


def test_random_search_of_a_small_grid_is_capped() -> None:
    trials, notes = sweep.plan({"lr": ["0.01", "0.1"], "seed": ["0", "1"]}, random=10)
    assert len(trials) == 4 and len({t.name for t in trials}) == 4
    assert notes == ["the grid has only 4 distinct combinations; running 4 trials, not 10"]


@pytest.mark.parametrize("item, key, values", [
    ("lr=0.01,0.1", "lr", ["0.01", "0.1"]),
    ("hidden=256,128;128", "hidden", ["256,128", "128"]),
    ("lr=1e-4..1e-1:log", "lr", sweep.Range(1e-4, 1e-1, log=True)),
    ("epochs=2..8", "epochs", sweep.Range(2, 8, integer=True)),
])
def test_grid_items(item: str, key: str, values: Any) -> None:
    assert sweep.parse_grid_item(item) == (key, values)


def test_the_command_line_overrides_the_sweep_file(tmp_path: Path) -> None:
    from glassnet.cli import build_parser

    config = tmp_path / "sweep.toml"
    config.write_text('[sweep]\nworkers = 3\nout = "from-file"\n[train]\nepochs = 5\n'
                      'batch-size = 16\n[grid]\nlr = [0.1, 0.2]\nseed = [0, 1]\n')
    args = build_parser().parse_args(["sweep", str(config), "--grid", "lr=0.05",
                                      "--epochs", "2", "--workers", "1"])
    settings, train, grid = sweep.settings_from_args(args)
    assert (settings.workers, settings.out) == (1, Path("from-file"))
    assert grid == {"lr": ["0.05"], "seed": [0, 1]}
    trials, _ = sweep.plan(grid, train)
    assert [t.argv for t in trials] == [
        ("--batch-size=16", "--epochs=2", "--seed=0", "--lr=0.05"),
        ("--batch-size=16", "--epochs=2", "--seed=1", "--lr=0.05")]


#: a value of every glassnet train option a trial may take (not the default)
TRAIN_VALUES = {
    "dataset": "fashion-mnist", "root": "/data/my sets", "no_download": True,
    "model": "linear", "hidden": "64,32", "activation": "tanh", "dropout": "0.25",
    "batch_norm": True, "order": "2", "loss": "hinge", "optimizer": "adam", "lr": "0.003",
    "momentum": "0.5", "weight_decay": "1e-4", "batch_size": "16", "epochs": "3",
    "regularizer": "l2:0.001,maxnorm:3", "schedule": "none", "val_fraction": "0.2",
    "patience": "2", "no_early_stop": True, "seed": "7", "augment": "crop,flip",
    "compile": True,
}


def test_every_option_of_glassnet_train_reaches_each_trial() -> None:
    """``glassnet sweep`` takes every option of ``glassnet train`` (but those it sets
    itself) and gives each trial the values ``glassnet train`` would parse from them."""
    from glassnet.cli import build_parser

    train = sweep.train_parser()
    mine = {dest for dest in sweep.train_options(train) if dest not in sweep.RESERVED}
    assert mine == set(TRAIN_VALUES), "a glassnet train option has no value in TRAIN_VALUES"
    flags: list[str] = []
    for dest, value in TRAIN_VALUES.items():
        if dest == "seed":  # swept below
            continue
        flag = sweep.train_options(train)[dest].flag
        flags += [flag] if value is True else [flag, value]
    args = build_parser().parse_args(["sweep", "--grid", "seed=7,8", *flags])
    settings, fixed, grid = sweep.settings_from_args(args)
    trials, _ = sweep.plan(grid, fixed)
    assert [t.params for t in trials] == [{"seed": "7"}, {"seed": "8"}]
    alone = train.parse_args(flags)
    for t, seed in zip(trials, (7, 8)):
        got = vars(train.parse_args(list(t.argv)))
        assert got == {**vars(alone), "seed": seed}
    assert settings.out == Path("sweeps") / "fashion-mnist-linear"


# ---------------------------------------------------------------------- bad input
BAD = [
    (["--grid", "lrr=0.1,0.2"], "unknown option 'lrr': glassnet train has no --lrr "
                                "(did you mean --lr?)"),
    (["--grid", "lr=0.1,abc"], "trial lr=abc: argument --lr: expected a number, got 'abc'"),
    (["--grid", "optimizer=sgd,nope"], "trial optimizer=nope: argument --optimizer: invalid "
                                       "choice: 'nope'"),
    (["--grid", "batch-norm=yes,maybe"], "--batch-norm is a switch: give true or false"),
    (["--grid", "out=a,b"], "--out cannot be set per trial"),
    (["--grid", "lr=1e-3..1e-1"], "a range can only be sampled: give --random N"),
    (["--grid", "lr=1e-1..1e-3", "--random", "2"], "is above high"),
    (["--grid", "lr"], "--grid: expected KEY=VALUES like lr=0.01,0.1, got 'lr'"),
    (["--grid", "lr=0.1,"], "an empty value"),
    (["--grid", "lr=0.1", "batch-size=16", "lr=0.2"], "--grid gives lr twice ('lr=0.1' and "
                                                      "'lr=0.2')"),
    (["--grid", "batch_size=16", "batch-size=32"], "--grid gives batch-size twice"),
    (["--lr", "0.1", "--grid", "lr=0.1,0.2"], "--lr is both swept"),
    (["--epochs", "zero", "--grid", "lr=0.1"], "argument --epochs: expected a positive "
                                               "integer, got 'zero'"),
    (["--epochs", "2"], "nothing to sweep"),
    (["--workers", "0", "--grid", "lr=0.1"], "argument --workers: expected a positive"),
    (["--scheduler", "not an address", "--grid", "lr=0.1"], "--scheduler must be an "
                                                            "address like tcp://HOST:PORT"),
    (["--wrokers", "2", "--grid", "lr=0.1"], "unrecognized arguments: --wrokers"),
    (["missing.toml"], "sweep file 'missing.toml' does not exist"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_command_lines_are_one_line_usage_errors(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, err = sweep_cmd(["--out", str(tmp_path / "out"), *args], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and TRACEBACK not in err, err
    assert message in lines[0]
    assert not (tmp_path / "out").exists()  # nothing started


TOML_BAD = [
    ("[grid\nlr = [0.1]\n", "is not valid TOML"),
    ("[grids]\nlr = [0.1]\n", "unknown table or key 'grids'"),
    ("[sweep]\nwrokers = 2\n[grid]\nlr = [0.1]\n", "unknown key 'wrokers' in [sweep]"),
    ("[sweep]\nworkers = 2.5\n[grid]\nlr = [0.1]\n", "workers must be a positive integer"),
    ("[sweep]\nmetric = 'accuracy'\n[grid]\nlr = [0.1]\n", "metric must be one of auto"),
    ("[train]\nepoch = 2\n[grid]\nlr = [0.1]\n", "did you mean --epochs?"),
    ("[train]\nepochs = -1\n[grid]\nlr = [0.1]\n", "argument --epochs: expected a positive"),
    ("[grid]\nlr = []\n", "lr is an empty list"),
    ("[grid]\nlr = {low = 1}\n", "a range is {low = ..., high = ..., log = true|false}"),
    ("grid = 3\n", "grid must be a table [grid]"),
]


@pytest.mark.parametrize("text, message", TOML_BAD, ids=[m for _, m in TOML_BAD])
def test_bad_sweep_files_are_one_line_usage_errors(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text(text)
    code, stdout, err = sweep_cmd([str(config), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and TRACEBACK not in err, err
    assert message in lines[0] and str(config) in lines[0]


def test_unwritable_out_is_a_one_line_error(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for out, message in [(blocker, f"output folder '{blocker}' exists and is not a folder"),
                         (blocker / "sub", f"cannot create output folder '{blocker / 'sub'}'")]:
        code, stdout, err = sweep_cmd(["--out", str(out), "--grid", "lr=0.1"], capsys)
        assert code == 1
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"glassnet: error: {message}"), err


def test_a_read_only_out_is_a_one_line_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, stdout, err = sweep_cmd(["--out", str(ro), "--grid", "lr=0.1"], capsys)
    finally:
        ro.chmod(0o700)
    assert code == 1
    assert err.strip().splitlines() == [f"glassnet: error: output folder '{ro}' is not "
                                        "writable: Permission denied"]


def test_missing_dask_names_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    code, stdout, err = sweep_cmd(["--out", str(tmp_path / "o"), "--grid", "lr=0.1"], capsys)
    assert code == 1
    assert err.strip() == ('glassnet: error: glassnet sweep runs on Dask: pip install '
                           '"glassnet[dask]" (dask[distributed])')


def test_import_glassnet_loads_neither_the_sweep_nor_dask() -> None:
    code = ("import sys, glassnet, glassnet.cli; glassnet.cli.build_parser(); "
            "print(sorted(m for m in ('dask', 'distributed', 'tqdm') if m in sys.modules), "
            "'glassnet.sweep' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(sweep.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120, check=True)
    # the parser of ``glassnet`` imports glassnet.sweep for its options, not dask
    assert result.stdout.split("\n")[0] == "[] True"
    result = subprocess.run([sys.executable, "-c", "import sys, glassnet; "
                             "print('glassnet.sweep' in sys.modules)"],
                            capture_output=True, text=True, env=env, timeout=120, check=True)
    assert result.stdout.strip() == "False"


def test_ranking_breaks_accuracy_ties_by_the_loss_and_puts_failures_last() -> None:
    records = [
        {"name": "a", "status": "ok", "val_accuracy": 0.90, "val_loss": 0.5},
        {"name": "b", "status": "failed", "error": "ValueError: x"},
        {"name": "c", "status": "ok", "val_accuracy": 0.90, "val_loss": 0.3},
        {"name": "d", "status": "ok", "val_accuracy": 0.95, "val_loss": 0.9},
        {"name": "e", "status": "ok", "val_accuracy": None, "val_loss": None},
    ]
    ordered, metric = sweep._rank(records, "auto")
    assert metric == "val_accuracy"
    assert [r["name"] for r in ordered] == ["d", "c", "a", "e", "b"]
    assert [r["rank"] for r in ordered] == [1, 2, 3, 4, None]
    ordered, metric = sweep._rank(records, "val_loss")
    assert [r["name"] for r in ordered] == ["c", "a", "d", "e", "b"]


def test_a_regression_sweep_is_ranked_by_the_training_loss_with_a_note(
    tmp_path: Path,
) -> None:
    """The regression sets have no validation split: ``auto`` falls back to the training
    loss, says that this favours the most flexible model, and the Markdown table shows
    the test loss rather than empty accuracy columns."""
    records = [{"name": f"order={k}", "params": {"order": str(k)}, "status": "ok",
                "train_loss": loss, "test_loss": test, "epochs": 200, "seconds": 1.0}
               for k, loss, test in [(1, 0.22, 0.30), (5, 0.13, 0.17), (3, 0.20, 0.27)]]
    ordered, metric = sweep._rank(records, "auto")
    assert metric == "train_loss"
    assert [r["params"]["order"] for r in ordered] == ["5", "3", "1"]
    note = sweep._ranking_note("auto", metric, ordered)
    assert "ranked by train_loss, which favours the most flexible model" in note
    assert "--metric test_loss" in note
    assert sweep._ranking_note("train_loss", metric, ordered) == ""
    assert sweep._ranking_note("auto", "val_accuracy", ordered) == ""
    sweep.write_tables(ordered, tmp_path, metric)
    md = (tmp_path / "results.md").read_text().splitlines()
    assert md[2].startswith("| rank | order | train_loss | test_loss | best epoch |")
    assert md[4].startswith("| 1 | 5 | 0.1300 | 0.1700 |  | 200 |")


def test_the_sweep_file_of_the_documentation_is_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[1] / "docs" / "sweeps.md").read_text()
    block = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert block, "docs/sweeps.md has no TOML example"
    config = tmp_path / "sweep.toml"
    config.write_text(block.group(1))
    tables = sweep.read_config(config)
    trials, notes = sweep.plan(tables["grid"], tables["train"],
                               random=tables["sweep"].get("random"),
                               random_seed=tables["sweep"].get("random_seed", 0))
    assert len(trials) == tables["sweep"]["random"] and notes == []
