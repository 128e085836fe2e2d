"""fit / evaluate / History: resume bit for bit, the divergence guard, early stopping, output."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet import random as gn_random
from glassnet.nn.parameter import Parameter
from glassnet.optim.lr_scheduler import StepLR
from glassnet.regularizers import L2
from glassnet.training import (
    Callback,
    EarlyStopping,
    History,
    TrainingDivergedError,
    evaluate,
    fit,
)

CE = losses.softmax_log_likelihood


@pytest.fixture
def default_gen(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Replace glassnet's default generator (dropout masks) for this test only."""

    def reset(seed: int) -> None:
        monkeypatch.setattr(gn_random, "_generator", [np.random.default_rng(seed)])

    return reset


@pytest.fixture
def blobs(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Three overlapping classes in 4-D, float32 features, int64 labels."""
    centers = rng.normal(scale=2.0, size=(3, 4))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 3, size=n)
        return (centers[y] + rng.normal(size=(n, 4))).astype(np.float32), y.astype(np.int64)

    return {"train": draw(72), "val": draw(30), "test": draw(40)}


def _log_softmax_loss(scores: np.ndarray, y: np.ndarray) -> float:
    s = scores.astype(np.float64)
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


# ---------------------------------------------------------------------- resume
OPTIMIZERS: dict[str, Callable[[Any], Any]] = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "adam": lambda p: optim.Adam(p, lr=0.01),
}


def _run(
    make: Callable[[], tuple[Any, Any]],
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    epochs: int,
    **kw: Any,
) -> tuple[Any, Any, History]:
    model, opt = make()
    h = fit(model, CE, opt, data["train"], data["val"], epochs=epochs, batch_size=16,
            shuffle=True, verbose=0, **kw)
    return model, opt, h


@pytest.mark.parametrize("dropout", [0.0, 0.4])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resume_equals_an_uninterrupted_run(
    tmp_path: Path, blobs: dict, default_gen: Callable[[int], None], name: str, dropout: float
) -> None:
    default_gen(0)
    init = nn.MLP(4, [8], 3, dropout=dropout).state_dict()

    def make() -> tuple[Any, Any]:
        model = nn.MLP(4, [8], 3, dropout=dropout)
        model.load_state_dict(init)
        return model, OPTIMIZERS[name](model.parameters())

    default_gen(1)
    straight, opt, h = _run(make, blobs, 4, rng=7)

    default_gen(1)
    _run(make, blobs, 2, rng=7, checkpoint_dir=tmp_path)
    assert gn.load(tmp_path / "last.ckpt").epoch == 2
    default_gen(99)  # the checkpoint, not luck, must restore the dropout generator
    resumed, opt2, h2 = _run(make, blobs, 4, rng=np.random.default_rng(123),
                             checkpoint_dir=tmp_path, resume=True)

    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert np.array_equal(a, b), f"{name}, dropout={dropout}: {k} differs after resume"
    assert h2.train_loss == h.train_loss
    assert h2.val_loss == h.val_loss
    assert h2.train_accuracy == h.train_accuracy
    assert h2.epochs == 4
    for (i, s), s2 in zip(opt.state_dict()["state"].items(), opt2.state_dict()["state"].values()):
        for key, v in s.items():
            assert np.array_equal(v, s2[key]), f"optimizer state {i}.{key} differs"

    if dropout:  # the dropout masks do depend on the default generator
        default_gen(2)
        other, _, _ = _run(make, blobs, 4, rng=7)
        assert not np.array_equal(other[0].weight.data, straight[0].weight.data)


@pytest.mark.parametrize("layers", ["mlp", "two dropouts"])
def test_resume_restores_a_dropout_layers_own_generator(
    tmp_path: Path, blobs: dict, layers: str
) -> None:
    """A Dropout given its own generator: its state goes into the checkpoint, so that the
    resumed run draws the masks the uninterrupted one drew."""

    def make() -> tuple[Any, Any]:
        if layers == "mlp":  # one generator for the init and both dropout layers
            model = nn.MLP(4, [8, 8], 3, dropout=0.4, generator=5)
        else:  # two layers, two generators
            init = nn.MLP(4, [8], 3, generator=0)
            model = nn.Sequential(init[0], nn.Dropout(0.3, generator=11), init[1],
                                  nn.Dropout(0.5, generator=12), init[2])
        return model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    straight, _, h = _run(make, blobs, 4, rng=7)
    _run(make, blobs, 2, rng=7, checkpoint_dir=tmp_path)
    resumed, _, h2 = _run(make, blobs, 4, rng=7, checkpoint_dir=tmp_path, resume=True)
    assert h2.train_loss == h.train_loss
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert np.array_equal(a.data, b.data)


def test_resume_restores_the_scheduler(tmp_path: Path, blobs: dict) -> None:
    def make() -> tuple[Any, Any]:
        model = nn.MLP(4, [8], 3, generator=0)
        return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    m, o = make()
    h = fit(m, CE, o, blobs["train"], epochs=4, batch_size=16, rng=3, verbose=0,
            scheduler=StepLR(o, step_size=3, gamma=0.5))
    m1, o1 = make()
    fit(m1, CE, o1, blobs["train"], epochs=2, batch_size=16, rng=3, verbose=0,
        scheduler=StepLR(o1, step_size=3, gamma=0.5), checkpoint_dir=tmp_path)
    m2, o2 = make()
    h2 = fit(m2, CE, o2, blobs["train"], epochs=4, batch_size=16, rng=3, verbose=0,
             scheduler=StepLR(o2, step_size=3, gamma=0.5), checkpoint_dir=tmp_path, resume=True)
    assert h.lr == h2.lr == [0.1, 0.1, 0.1, 0.05]
    assert h2.train_loss == h.train_loss
    for a, b in zip(m.parameters(), m2.parameters()):
        assert np.array_equal(a.data, b.data)


def test_resume_needs_a_checkpoint(tmp_path: Path, blobs: dict) -> None:
    m = nn.Linear(4, 3, generator=0)
    o = optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        fit(m, CE, o, blobs["train"], resume=True, verbose=0)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "last.ckpt"))):
        fit(m, CE, o, blobs["train"], resume=True, checkpoint_dir=tmp_path, verbose=0)


# ---------------------------------------------------------------------- history
def test_history_lists_json_and_test_metrics(tmp_path: Path, blobs: dict) -> None:
    m = nn.MLP(4, [8], 3, generator=0)
    o = optim.Adam(m.parameters(), lr=0.01)
    profile: dict[str, float] = {}
    h = fit(m, CE, o, blobs["train"], blobs["val"], epochs=3, batch_size=16, rng=0,
            verbose=0, checkpoint_dir=tmp_path, test=blobs["test"], profile=profile,
            checkpoint_meta={"note": "hello"})
    assert h.epochs == 3
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "lr"):
        assert len(getattr(h, key)) == 3, key
    assert all(s > 0 for s in h.seconds) and h.lr == [0.01] * 3
    assert all(0 <= a <= 1 for a in h.train_accuracy + h.val_accuracy)
    assert set(profile) >= {"batches", "forward", "backward", "step", "evaluate"}

    # val and test numbers against a computation by hand on the final weights
    m.eval()
    for split, loss, acc in (("val", h.val_loss[-1], h.val_accuracy[-1]),
                             ("test", h.test_loss, h.test_accuracy)):
        X, y = blobs[split]
        scores = m(X).data
        assert loss == pytest.approx(_log_softmax_loss(scores, y), rel=1e-5), split
        assert acc == pytest.approx(float((scores.argmax(axis=1) == y).mean())), split

    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["epochs"] == 3 and saved["train_loss"] == h.train_loss
    assert saved["test_accuracy"] == h.test_accuracy
    assert History.load(tmp_path / "history.json").to_dict() == h.to_dict()
    ck = gn.load(tmp_path / "last.ckpt")
    assert ck.epoch == 3 and ck.meta["note"] == "hello"
    assert ck.meta["history"]["val_loss"] == h.val_loss


def test_train_loss_is_the_mean_batch_loss(blobs: dict) -> None:
    """With lr = 0 the weights never change, so every epoch's loss is the full-data loss."""
    m = nn.Linear(4, 3, generator=0)
    o = optim.SGD(m.parameters(), lr=0.0)
    X, y = blobs["train"]
    h = fit(m, CE, o, (X, y), epochs=2, batch_size=10, rng=0, verbose=0)  # 72 = 7 * 10 + 2
    expected = _log_softmax_loss(m(X).data, y)
    assert h.train_loss == pytest.approx([expected, expected], rel=1e-5)
    assert h.val_loss == [None, None] and h.test_loss is None


def test_regression_history_has_no_accuracy(rng: np.random.Generator) -> None:
    X = rng.normal(size=(20, 2)).astype(np.float32)
    Y = (X @ np.array([[1.0], [-1.0]])).astype(np.float32)
    m = nn.Linear(2, 1, generator=0)
    h = fit(m, losses.l2, optim.SGD(m.parameters(), lr=0.05), (X, Y), (X, Y), epochs=2,
            rng=0, verbose=0)
    assert h.train_accuracy == [None, None] and h.val_accuracy == [None, None]
    assert h.val_loss[-1] < h.val_loss[0]


def test_regularizer_is_added_to_the_loss(rng: np.random.Generator) -> None:
    """One full-batch GD step: loss and update against the formulas done by hand."""
    X = rng.normal(size=(12, 3))
    Y = rng.normal(size=(12, 1))
    lam, lr = 0.3, 0.1
    m = nn.Linear(3, 1, dtype=np.float64, generator=0)
    W, b = m.weight.data.copy(), m.bias.data.copy()
    h = fit(m, losses.l2, optim.GD(m.parameters(), lr=lr), (X, Y), epochs=1, batch_size=12,
            regularizer=L2(lam), shuffle=False, verbose=0)
    r = Y - (X @ W.T + b)
    assert h.train_loss[0] == pytest.approx(np.mean(r**2) + lam * np.sum(W**2), rel=1e-12)
    dW = -2 * r.T @ X / 12 + 2 * lam * W  # the bias is not penalised
    db = -2 * r.sum(axis=0) / 12
    np.testing.assert_allclose(m.weight.data, W - lr * dW, rtol=1e-12)
    np.testing.assert_allclose(m.bias.data, b - lr * db, rtol=1e-12)


# ---------------------------------------------------------------------- divergence guard
class _Poison(Callback):
    """After epoch ``at`` (and its checkpoint), blow the weights up so the loss overflows."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.snapshot: dict[str, np.ndarray] = {}

    def on_epoch_end(self, epoch: int, history: History, model: Any) -> bool:
        if epoch == self.at:
            self.snapshot = model.state_dict()
            model.weight.data[...] = 1e30
        return False


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on purpose
def test_divergence_stops_with_epoch_and_step_and_keeps_the_checkpoint(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    X = rng.normal(size=(32, 3)).astype(np.float32) * 1e5
    Y = rng.normal(size=(32, 1)).astype(np.float32)
    m = nn.Linear(3, 1, generator=0)
    poison = _Poison(at=2)
    with pytest.raises(TrainingDivergedError, match=r"epoch 3, step 1\b.*(inf|nan)"):
        fit(m, losses.l2, optim.SGD(m.parameters(), lr=1e-12), (X, Y), epochs=5,
            batch_size=8, rng=0, verbose=0, checkpoint_dir=tmp_path, callbacks=[poison])
    ck = gn.load(tmp_path / "last.ckpt")
    assert ck.epoch == 2
    for k, v in poison.snapshot.items():
        assert np.array_equal(ck.state_dict[k], v), k
    assert all(np.isfinite(p.data).all() for p in m.parameters())
    assert json.loads((tmp_path / "history.json").read_text())["epochs"] == 2


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on purpose
def test_a_huge_learning_rate_is_caught_before_nan_weights(rng: np.random.Generator) -> None:
    X = rng.normal(size=(64, 3)).astype(np.float32)
    Y = (X @ np.ones((3, 1))).astype(np.float32)
    m = nn.Linear(3, 1, generator=0)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+, step \d+"):
        fit(m, losses.l2, optim.SGD(m.parameters(), lr=1e6), (X, Y), epochs=20, batch_size=8,
            rng=0, verbose=0)
    assert not any(np.isnan(p.data).any() for p in m.parameters())


class _Sqrt(nn.Module):
    """y = sqrt(w) x: finite at w = 0, but its gradient there is infinite."""

    def __init__(self) -> None:
        super().__init__()
        self.w = Parameter(np.zeros((1, 1)))

    def forward(self, x: Any) -> Any:
        return gn.tensor(np.asarray(x)) * self.w.sqrt()


class _Overflow(nn.Module):
    """A model whose output is infinite."""

    def __init__(self) -> None:
        super().__init__()
        self.w = Parameter(np.full((1, 1), 1e300))

    def forward(self, x: Any) -> Any:
        return gn.tensor(np.asarray(x)) * self.w * 1e300


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on purpose
@pytest.mark.parametrize(
    ("model", "match"),
    [(_Sqrt, r"epoch 1, step 1: a gradient is NaN or infinite"),
     (_Overflow, r"epoch 1, step 1: the loss is inf")],
)
def test_non_finite_output_or_gradient_leaves_the_weights(
    rng: np.random.Generator, model: type, match: str
) -> None:
    X = rng.normal(size=(8, 1)) + 3.0
    m = model()
    before = m.w.data.copy()
    with pytest.raises(TrainingDivergedError, match=match):
        fit(m, losses.l2, optim.SGD(m.parameters(), lr=0.1), (X, X), epochs=2, rng=0,
            verbose=0)
    assert np.array_equal(m.w.data, before)


class _HugeFiniteGradient(nn.Module):
    """Finite gradients whose sum overflows float32 (two entries near 3e38)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = Parameter(np.zeros((1, 2), dtype=np.float32))

    def forward(self, x: Any) -> Any:
        return (self.w * gn.tensor(np.full((1, 2), 3e38, dtype=np.float32))).sum(
            axis=1, keepdims=True) * gn.tensor(np.asarray(x, dtype=np.float32))


def test_finite_gradients_whose_sum_overflows_are_not_divergence() -> None:
    X = np.ones((1, 1), dtype=np.float32)
    m = _HugeFiniteGradient()
    # loss = (3e38 (w1 + w2) x - 0)^2 / 1 at w = 0 is 0 with gradient 0: use an L1 loss
    # whose gradient is +-3e38 in each entry, finite, with a sum of 6e38 = inf in float32.
    h = fit(m, losses.l1, optim.SGD(m.parameters(), lr=1e-40), (X, X), epochs=1,
            batch_size=1, rng=0, verbose=0)
    assert len(h.train_loss) == 1
    assert np.isfinite(m.w.data).all()


# ---------------------------------------------------------------------- callbacks
class _Recorder(Callback):
    def __init__(self, stop_at: int | None = None) -> None:
        self.events: list[Any] = []
        self.states: dict[int, dict[str, np.ndarray]] = {}
        self.stop_at = stop_at

    def on_train_begin(self, model: Any, history: History) -> None:
        self.events.append(("begin", history.epochs))

    def on_epoch_end(self, epoch: int, history: History, model: Any) -> bool:
        self.events.append(("epoch", epoch, history.epochs))
        self.states[epoch] = model.state_dict()
        return epoch == self.stop_at

    def on_train_end(self, model: Any, history: History) -> None:
        self.events.append(("end", history.epochs))


def test_callbacks_are_called_in_order_and_can_stop(blobs: dict) -> None:
    m = nn.Linear(4, 3, generator=0)
    rec, stopper = _Recorder(), _Recorder(stop_at=2)
    h = fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], epochs=5, rng=0,
            verbose=0, callbacks=[rec, stopper])
    assert h.epochs == 2
    assert rec.events == [("begin", 0), ("epoch", 1, 1), ("epoch", 2, 2), ("end", 2)]
    assert stopper.events == rec.events


def test_early_stopping_stops_and_restores_the_best(blobs: dict) -> None:
    """Validation labels are shifted, so learning the training set makes val_loss worse."""
    X, y = blobs["train"]
    m = nn.MLP(4, [8], 3, generator=0)
    rec = _Recorder()
    stop = EarlyStopping("val_loss", patience=1)
    h = fit(m, CE, optim.Adam(m.parameters(), lr=0.05), (X, y), (X, (y + 1) % 3), epochs=30,
            batch_size=16, rng=0, verbose=0, callbacks=[rec, stop])
    best = int(np.argmin(h.val_loss)) + 1
    assert h.epochs == best + 2 < 30, h.val_loss
    assert stop.best_epoch == best and stop.stopped_epoch == h.epochs
    assert stop.best == min(h.val_loss)
    final = m.state_dict()
    for k, v in rec.states[best].items():
        assert np.array_equal(final[k], v), f"{k} is not the best epoch's"
    assert not np.array_equal(final["0.weight"], rec.states[h.epochs]["0.weight"])


def test_early_stopping_without_restore_keeps_the_last_weights(blobs: dict) -> None:
    X, y = blobs["train"]
    m = nn.Linear(4, 3, generator=0)
    rec = _Recorder()
    fit(m, CE, optim.Adam(m.parameters(), lr=0.05), (X, y), (X, (y + 1) % 3), epochs=30,
        rng=0, verbose=0, callbacks=[rec, EarlyStopping(patience=0, restore_best=False)])
    last = max(rec.states)
    assert last < 30
    assert np.array_equal(m.weight.data, rec.states[last]["weight"])


def test_early_stopping_arguments(blobs: dict) -> None:
    assert EarlyStopping("val_accuracy").mode == "max"
    assert EarlyStopping("train_loss").mode == "min"
    with pytest.raises(ValueError, match="patience.*-1"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="'up'"):
        EarlyStopping(mode="up")
    m = nn.Linear(4, 3, generator=0)
    with pytest.raises(ValueError, match="val_loss.*val="):
        fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], epochs=2, verbose=0,
            callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="'nope'"):
        fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], epochs=2, verbose=0,
            callbacks=[EarlyStopping("nope")])


# ---------------------------------------------------------------------- output
def test_verbose_0_prints_nothing(blobs: dict, capsys: pytest.CaptureFixture[str]) -> None:
    m = nn.Linear(4, 3, generator=0)
    fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], blobs["val"], epochs=2,
        rng=0, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_no_progress_bar_when_not_a_terminal(
    blobs: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    m = nn.Linear(4, 3, generator=0)
    fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], blobs["val"], epochs=2,
        rng=0, verbose=1)
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2") and "val_acc" in lines[1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(blobs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    m = nn.Linear(4, 3, generator=0)
    fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], epochs=1, batch_size=8,
        rng=0, verbose=1)
    text = term.getvalue()
    assert "epoch 1/1" in text and "batch" in text
    assert re.search(r"loss=\d\.\d{4}", text) and re.search(r"acc=\d\.\d{4}", text), text


# ---------------------------------------------------------------------- evaluate
class _ModeProbe(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.MLP(4, [16], 3, dropout=0.5, generator=0)
        self.seen: list[bool] = []

    def forward(self, x: Any) -> Any:
        self.seen.append(self.inner[2].training)
        return self.inner(x)


def test_evaluate_runs_in_eval_mode_and_restores_the_mode(blobs: dict) -> None:
    X, y = blobs["test"]
    m = _ModeProbe()
    r1 = evaluate(m, CE, X, y, batch_size=7)
    assert m.training and m.inner[2].training
    assert m.seen and not any(m.seen)
    r2 = evaluate(m, CE, X, y)
    assert r1["loss"] == pytest.approx(r2["loss"], rel=1e-6) and r1["accuracy"] == r2["accuracy"]
    m.eval()
    scores = m(X).data
    assert r1["loss"] == pytest.approx(_log_softmax_loss(scores, y), rel=1e-5)
    assert r1["accuracy"] == pytest.approx(float((scores.argmax(1) == y).mean()))
    evaluate(m, CE, X, y)
    assert not m.training  # a model in eval mode stays in eval mode
    no_loss = evaluate(m, None, X, y)
    assert no_loss["loss"] is None and no_loss["accuracy"] == r1["accuracy"]


def test_evaluate_does_not_record_a_graph(blobs: dict) -> None:
    m = nn.Linear(4, 3, generator=0)
    evaluate(m, CE, *blobs["test"])
    assert m.weight.grad is None


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"train": np.zeros((4, 4))}, TypeError, "pair"),
        ({"train": (np.zeros((4, 4)), np.zeros(3, int))}, ValueError, "4 samples.*3"),
        ({"train": (np.zeros((0, 4)), np.zeros(0, int))}, ValueError, "empty"),
        ({"train": (np.full((2, 4), np.nan), np.zeros(2, int))}, ValueError, "NaN"),
        ({"val": (np.zeros((2, 4)), np.zeros(1, int))}, ValueError, "val"),
        ({"test": (np.zeros((2, 4)), np.zeros(1, int))}, ValueError, "test"),
        ({"epochs": -1}, ValueError, "epochs.*-1"),
        ({"epochs": 2.5}, ValueError, "epochs.*2.5"),
        ({"batch_size": 0}, ValueError, "batch_size.*0"),
        ({"rng": "seed"}, TypeError, "generator"),
    ],
)
def test_fit_rejects_bad_input(blobs: dict, kwargs: dict, error: type, match: str) -> None:
    m = nn.Linear(4, 3, generator=0)
    args = {"train": blobs["train"], "verbose": 0, **kwargs}
    train = args.pop("train")
    with pytest.raises(error, match=match):
        fit(m, CE, optim.SGD(m.parameters(), lr=0.1), train, **args)


def test_zero_epochs_trains_nothing(blobs: dict) -> None:
    m = nn.Linear(4, 3, generator=0)
    w = m.weight.data.copy()
    h = fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], epochs=0, verbose=0)
    assert h.epochs == 0 and np.array_equal(w, m.weight.data)


# ---------------------------------------------------------------------- extra metrics
def test_extra_metrics_on_validation_and_test(rng: np.random.Generator) -> None:
    from sklearn.metrics import top_k_accuracy_score

    X = rng.normal(size=(120, 4)).astype(np.float32)
    y = rng.integers(0, 4, size=120)
    m = nn.Linear(4, 4, generator=0)

    def error_rate(scores: np.ndarray, labels: np.ndarray) -> float:
        return float((scores.argmax(1) != labels).mean())

    h = fit(m, losses.softmax_log_likelihood, optim.SGD(m.parameters(), lr=0.1),
            (X[:80], y[:80]), (X[80:100], y[80:100]), epochs=2, batch_size=16, rng=0,
            verbose=0, metrics=["accuracy", "top2", error_rate], test=(X[100:], y[100:]))
    assert set(h.metrics) == {"val_top2", "val_error_rate"}
    assert len(h.metrics["val_top2"]) == 2
    with gn.no_grad():
        s_val = m(gn.tensor(X[80:100])).data
        s_test = m(gn.tensor(X[100:])).data
    assert h.metrics["val_top2"][-1] == pytest.approx(
        top_k_accuracy_score(y[80:100], s_val, k=2, labels=range(4)))
    assert h.metrics["val_error_rate"][-1] == pytest.approx(1 - h.val_accuracy[-1])
    assert h.test_metrics["top2"] == pytest.approx(
        top_k_accuracy_score(y[100:], s_test, k=2, labels=range(4)))
    assert History.from_dict(h.to_dict()).test_metrics == h.test_metrics
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        fit(m, losses.softmax_log_likelihood, optim.SGD(m.parameters(), lr=0.1),
            (X, y), epochs=1, verbose=0, metrics=["f1"])


# ---------------------------------------------------------------------- best epoch
def test_keep_best_writes_the_best_epochs_model_and_restores_it(
    blobs: dict, tmp_path: Path
) -> None:
    """Shifted validation labels make validation accuracy peak early; best.ckpt must hold
    that epoch's weights (recorded independently by a callback), last.ckpt the last."""
    X, y = blobs["train"]
    m = nn.MLP(4, [8], 3, generator=0)
    rec = _Recorder()
    h = fit(m, CE, optim.Adam(m.parameters(), lr=0.05), (X, y), (X, (y + 1) % 3), epochs=8,
            batch_size=16, rng=0, verbose=0, callbacks=[rec], checkpoint_dir=tmp_path,
            keep_best="val_accuracy", restore_best=True, test=blobs["test"])
    acc = h.val_accuracy
    best = int(np.argmax(acc)) + 1  # the first epoch with the highest accuracy
    assert h.best_epoch == best
    ck = gn.load(tmp_path / "best.ckpt")
    assert ck.epoch == best
    for k, v in rec.states[best].items():
        assert np.array_equal(ck.state_dict[k], v), k
        assert np.array_equal(m.state_dict()[k], v), f"{k}: the best weights were not restored"
    assert gn.load(tmp_path / "last.ckpt").epoch == 8
    assert json.loads((tmp_path / "history.json").read_text())["best_epoch"] == best


def test_keep_best_by_loss_is_minimised_and_bad_names_are_refused(blobs: dict) -> None:
    m = nn.Linear(4, 3, generator=0)
    h = fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], blobs["val"],
            epochs=6, rng=0, verbose=0, keep_best="val_loss")
    assert h.best_epoch == int(np.argmin(h.val_loss)) + 1
    h = fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], epochs=2, rng=0,
            verbose=0)
    assert h.best_epoch is None  # no validation split: nothing to choose by
    with pytest.raises(ValueError, match="'train_loss'"):
        fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], blobs["val"],
            epochs=1, verbose=0, keep_best="train_loss")
    with pytest.raises(ValueError, match="'val_nope'"):
        fit(m, CE, optim.SGD(m.parameters(), lr=0.1), blobs["train"], blobs["val"],
            epochs=1, verbose=0, keep_best="val_nope")


def test_early_stopping_takes_up_its_count_on_resume(blobs: dict, tmp_path: Path) -> None:
    """Stopped at 4 epochs and resumed, the patience count continues from the history:
    the run stops at the same epoch as an uninterrupted one."""
    X, y = blobs["train"]
    shifted = (X, (y + 1) % 3)

    def run(epochs: int, resume: bool, folder: Path) -> Any:
        m = nn.MLP(4, [8], 3, generator=0)
        return fit(m, CE, optim.Adam(m.parameters(), lr=0.05), (X, y), shifted,
                   epochs=epochs, batch_size=16, rng=0, verbose=0, checkpoint_dir=folder,
                   resume=resume, callbacks=[EarlyStopping("val_loss", patience=2,
                                                           restore_best=False)])

    whole = run(30, False, tmp_path / "whole")
    assert whole.stopped_early and whole.epochs < 30
    run(whole.epochs - 1, False, tmp_path / "parts")
    resumed = run(30, True, tmp_path / "parts")
    assert resumed.epochs == whole.epochs and resumed.stopped_early
    assert resumed.val_loss == whole.val_loss
