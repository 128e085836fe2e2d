"""Training: ``fit``, ``evaluate``, ``History``, early stopping and checkpointed resume.

The lecture's loop, made robust::

    for each epoch:
        for each minibatch (x, y):                  # minibatch SGD (LECTURE.md section 9)
            L = loss(model(x), y) + R(W)            # data loss + regularization (section 8)
            dL/dW by backpropagation                # section 10
            W <- optimizer update(W, dL/dW)

``fit`` also evaluates on a validation split each epoch, shows a progress bar, stops on
divergence (a NaN/inf loss or gradient) before the bad step touches the weights, and,
given ``checkpoint_dir``, saves a checkpoint and ``history.json`` after each epoch so that
``resume=True`` continues exactly where it stopped (bit for bit).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.checkpoint import atomic_write_bytes, load, save
from glassnet.data.batching import RowGatherer
from glassnet.metrics import predictions
from glassnet.tensor import Tensor

CHECKPOINT_NAME = "last.ckpt"
BEST_CHECKPOINT_NAME = "best.ckpt"
HISTORY_NAME = "history.json"


class TrainingDivergedError(RuntimeError):
    """The loss or a gradient became NaN or infinite; training stopped before the update."""


@dataclass
class History:
    """Per-epoch record of a training run (lists indexed by epoch, starting at epoch 1).

    ``train_accuracy``/``val_accuracy`` hold None for regression targets. ``test_loss`` and
    ``test_accuracy`` are set when ``fit`` evaluates a test split at the end.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    lr: list[float | None] = field(default_factory=list)
    test_loss: float | None = None
    test_accuracy: float | None = None
    metrics: dict[str, list[float | None]] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "train_loss": self.train_loss,
            "train_accuracy": self.train_accuracy,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
            "seconds": self.seconds,
            "lr": self.lr,
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "metrics": self.metrics,
            "test_metrics": self.test_metrics,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        keys = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "lr")
        h = cls(**{k: list(d.get(k) or []) for k in keys})
        h.test_loss = d.get("test_loss")
        h.test_accuracy = d.get("test_accuracy")
        h.metrics = {k: list(v) for k, v in (d.get("metrics") or {}).items()}
        h.test_metrics = dict(d.get("test_metrics") or {})
        h.best_epoch = d.get("best_epoch")
        h.stopped_early = bool(d.get("stopped_early", False))
        return h

    def save(self, path: str | Path) -> None:
        """Write ``history.json`` atomically."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=True)
        atomic_write_bytes(path, text.encode("utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> History:
        return cls.from_dict(json.loads(Path(path).read_text()))


class Callback:
    """Hooks called by ``fit``. ``on_epoch_end`` may return True to stop training."""

    def on_train_begin(self, model: Any, history: History) -> None:
        """Called once before the first epoch (also on resume)."""

    def on_epoch_end(self, epoch: int, history: History, model: Any) -> bool | None:
        """Called after each epoch with the updated history."""
        return None

    def on_train_end(self, model: Any, history: History) -> None:
        """Called once after the last epoch."""


class EarlyStopping(Callback):
    """Stop when a monitored value has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A History list: "val_loss" (minimised), "val_accuracy" (maximised), ...
    patience : int
        Epochs without an improvement larger than ``min_delta`` before stopping.
    restore_best : bool
        At the end, load the weights of the best epoch back into the model.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 3,
        min_delta: float = 0.0,
        mode: str | None = None,
        restore_best: bool = True,
    ) -> None:
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        if mode is None:
            mode = "max" if "accuracy" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode, self.restore_best = mode, restore_best
        self.best: float | None = None
        self.best_epoch = 0
        self.best_state: dict[str, np.ndarray] | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_train_begin(self, model: Any, history: History) -> None:
        """On a resumed run, take up the count where the history leaves it."""
        values = getattr(history, self.monitor, None)
        if not isinstance(values, list) or not values or any(v is None for v in values):
            return
        sign = 1.0 if self.mode == "min" else -1.0
        self.best, self.best_epoch, self.wait = None, 0, 0
        for epoch, value in enumerate(values, start=1):
            if self.best is None or sign * (value - self.best) < -self.min_delta:
                self.best, self.best_epoch, self.wait = value, epoch, 0
            else:
                self.wait += 1

    def on_epoch_end(self, epoch: int, history: History, model: Any) -> bool:
        values = getattr(history, self.monitor, None)
        if not isinstance(values, list):
            raise ValueError(f"EarlyStopping: History has no list {self.monitor!r}")
        value = values[-1]
        if value is None:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which this run does not record "
                "(pass val= to fit, or monitor train_loss)"
            )
        sign = 1.0 if self.mode == "min" else -1.0
        if self.best is None or sign * (value - self.best) < -self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_state = model.state_dict()
            return False
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model: Any, history: History) -> None:
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)


def _check_split(split: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise TypeError(f"{name} must be a pair (X, y) of arrays")
    X, y = (np.asarray(getattr(a, "data", a)) for a in split)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{name}: X has {X.shape[0]} samples but y has {y.shape[0]}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    # A NaN or inf anywhere makes this matrix-vector product non-finite (a fast BLAS call
    # instead of a boolean array as large as X); only then, or on overflow, is the exact
    # check run.
    if X.dtype.kind == "f" and X.size and not np.isfinite(
        (X.reshape(X.shape[0], -1) @ np.ones(X[0].size, dtype=X.dtype)).sum()
    ):
        bad = np.argwhere(~np.isfinite(X))
        if bad.size:
            raise ValueError(
                f"{name}: X contains NaN or infinite values ({len(bad)} entries; the first at "
                f"index {tuple(int(i) for i in bad[0])})"
            )
    return X, y


def _non_finite_gradient(params: Sequence[Any]) -> bool:
    """Is any entry of any parameter's gradient NaN or infinite?

    A NaN or inf entry makes the sum NaN or inf: one cheap reduction per gradient, no
    boolean array as large as it. A finite sum clears the array; a non-finite one can
    also be overflow of finite entries, so then the exact test decides.
    """
    for p in params:
        g = p.grad
        if g is not None and _non_finite_array(g.data):
            return True
    return False


def _non_finite_array(a: np.ndarray) -> bool:
    """Is any entry of ``a`` NaN or infinite? (see ``_non_finite_gradient``)"""
    return not np.isfinite(np.add.reduce(a, axis=None)) and not np.isfinite(a).all()


def _loss_value(loss: Tensor, where: str) -> float:
    value = float(loss.data)
    if not math.isfinite(value):
        raise TrainingDivergedError(f"{where}: the loss is {value}")
    return value


def evaluate(
    model: Any,
    loss: Callable[[Tensor, Any], Tensor] | None,
    X: Any,
    y: Any,
    batch_size: int = 1024,
    metrics: Sequence[str | Callable[[np.ndarray, np.ndarray], float]]
    | Mapping[str, Callable[[np.ndarray, np.ndarray], float]] = (),
) -> dict[str, float | None]:
    """Mean loss and accuracy of ``model`` on (X, y), in eval mode, without a graph.

    Returns ``{"loss": ..., "accuracy": ..., <metric name>: ...}`` (accuracy None for
    non-integer targets). ``metrics`` are computed on all the scores at once: "accuracy",
    "topK" (e.g. "top5") or a callable ``f(scores, y) -> float`` named by its ``__name__``
    (or a mapping from names to such callables).
    """
    X, y = _check_split((X, y), "evaluate")
    extra = _metric_functions(metrics)
    kept: list[np.ndarray] = []
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    n = X.shape[0]
    total_loss = 0.0
    correct = 0
    classification = y.dtype.kind in "iu"
    try:
        with no_grad():
            for start in range(0, n, batch_size):
                xb, yb = X[start : start + batch_size], y[start : start + batch_size]
                scores = model(Tensor(xb))
                if loss is not None:
                    total_loss += float(loss(scores, yb).data) * xb.shape[0]
                if classification:
                    correct += int((predictions(scores) == yb).sum())
                if extra:
                    kept.append(scores.data)
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    result: dict[str, float | None] = {
        "loss": total_loss / n if loss is not None else None,
        "accuracy": correct / n if classification else None,
    }
    if extra:
        all_scores = np.concatenate(kept)
        for name, f in extra.items():
            result[name] = float(f(all_scores, y))
    return result


def _metric_functions(metrics: Any) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """Names -> functions for the metrics beyond loss and accuracy (which are always kept)."""
    import re

    if isinstance(metrics, Mapping):
        return dict(metrics)
    from glassnet.metrics import top_k_accuracy

    out: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {}
    for m in metrics:
        if callable(m):
            out[getattr(m, "__name__", "metric")] = m
        elif m == "accuracy":
            continue
        elif isinstance(m, str) and re.fullmatch(r"top([1-9][0-9]*)", m):
            k = int(m[3:])
            out[m] = lambda s, y, k=k: top_k_accuracy(s, y, k)
        else:
            raise ValueError(
                f"unknown metric {m!r}: use 'accuracy', 'topK' (e.g. 'top5') or a function "
                "f(scores, y) -> float"
            )
    return out


def _progress(total: int, desc: str, verbose: int) -> Any:
    if verbose < 1 or not sys.stderr.isatty():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the bar is optional: pip install glassnet[progress]
        return None
    return tqdm(total=total, desc=desc, leave=False, unit="batch", dynamic_ncols=True)


def fit(
    model: Any,
    loss: Callable[[Tensor, Any], Tensor],
    optimizer: Any,
    train: Sequence[Any],
    val: Sequence[Any] | None = None,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    regularizer: Callable[[Iterable[Any]], Tensor] | None = None,
    metrics: Sequence[str | Callable[[np.ndarray, np.ndarray], float]] = ("accuracy",),
    scheduler: Any = None,
    callbacks: Sequence[Callback] = (),
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
    verbose: int = 1,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    test: Sequence[Any] | None = None,
    profile: dict[str, float] | None = None,
    checkpoint_meta: dict[str, Any] | None = None,
    checkpoint_every: int = 1,
    keep_best: str | None = "val_accuracy",
    restore_best: bool = False,
    compile: bool = False,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> History:
    """Train ``model`` by minibatch gradient descent and return its ``History``.

    Parameters
    ----------
    model : Module
        Maps a batch X (N, ...) to scores (N, C) or outputs.
    loss : callable
        ``loss(scores, y)`` returning a scalar Tensor (a ``glassnet.losses`` function or
        loss module).
    optimizer : Optimizer
        Over ``model.parameters()``.
    train, val, test : (X, y) pairs
        ``val`` is evaluated after every epoch, ``test`` once at the end.
    epochs : int
        The total number of epochs. With ``resume=True`` training continues from the
        checkpoint's epoch up to this total.
    regularizer : callable, optional
        ``regularizer(model.parameters())`` is added to every batch loss (L = data loss +
        lambda R(W)).
    metrics : sequence
        What to record besides the loss. Accuracy is recorded for integer labels in any
        case (``train_accuracy`` is the running accuracy over each epoch's batches); other
        metrics ("top5", or a function ``f(scores, y) -> float``) are computed on ``val``
        each epoch (``history.metrics["val_top5"]``) and on ``test`` at the end
        (``history.test_metrics``).
    scheduler : optional
        A learning-rate scheduler stepped once per epoch.
    rng : Generator or int, optional
        Shuffles the batches. Its state is checkpointed, as are the default generator's
        (dropout) and those of the model's layers that have a generator of their own (a
        Dropout given ``generator=``), so a resumed run is identical to an uninterrupted
        one.
    checkpoint_dir : path, optional
        After each epoch: ``last.ckpt`` (model, optimizer, epoch, RNG states, history) and
        ``history.json``, both written atomically.
    resume : bool
        Continue from ``checkpoint_dir/last.ckpt``.
    profile : dict, optional
        If given, filled with seconds spent per phase (batches, forward, backward, step,
        evaluate, checkpoint).
    checkpoint_every : int
        Save the checkpoint every this many epochs (and always after the last one, or
        when a callback stops training). 1 saves each epoch.
    checkpoint_meta : dict, optional
        Extra metadata stored in every checkpoint (e.g. how the data were preprocessed).
    keep_best : str or None
        With ``val``: the History value that picks the best epoch ("val_accuracy" by
        default, maximised; a loss is minimised; "val_top5" for a metric), recorded as
        ``history.best_epoch``. With ``checkpoint_dir``, that epoch's model is also written
        to ``best.ckpt`` beside ``last.ckpt``. None: no best epoch is tracked.
    restore_best : bool
        At the end, before the test split is evaluated, load the best epoch's weights back
        into the model (from ``best.ckpt`` on a resumed run).
    compile : bool
        Run each batch as a replay of the recorded training step (``glassnet.compile``):
        the same numbers bit for bit, the same divergence checks, without per-op Python.
        A batch of a new shape (the short last one), a change of mode or of a
        hyper-parameter (a scheduler's lr) records the step again. ``profile`` then puts
        the whole step under "step".
    transform : callable, optional
        Applied to the inputs of every training batch (data augmentation, e.g. a
        ``glassnet.data.transforms.Compose``); validation and test inputs are left as
        they are.

    Raises
    ------
    TrainingDivergedError
        When the loss or a gradient is NaN/inf; names the epoch and step. The weights are
        those before the bad step and the last checkpoint on disk is intact.
    """
    from glassnet import random as gn_random

    X, y = _check_split(train, "train")
    extra_metrics = _metric_functions(metrics)
    val_split = _check_split(val, "val") if val is not None else None
    test_split = _check_split(test, "test") if test is not None else None
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be a positive int, got {checkpoint_every!r}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    best_values = _best_tracker(keep_best, val_split is not None)
    rng = gn_random.get_generator(rng)
    params = list(model.parameters())
    classification = y.dtype.kind in "iu"
    history = History()
    start_epoch = 0
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if ckpt_path is not None:
        ckpt_path.parent.mkdir(parents=True, exist_ok=True)
    if resume:
        assert ckpt_path is not None
        if not ckpt_path.exists():
            raise FileNotFoundError(f"resume=True but there is no checkpoint at '{ckpt_path}'")
        ckpt = load(ckpt_path)
        model.load_state_dict(ckpt.state_dict)
        if ckpt.optimizer_state is not None:
            optimizer.load_state_dict(ckpt.optimizer_state)
        meta = ckpt.meta
        start_epoch = int(ckpt.epoch or 0)
        history = History.from_dict(meta.get("history", {}))
        if "rng_state" in meta:
            rng.bit_generator.state = meta["rng_state"]
        if "default_rng_state" in meta:
            gn_random.default_generator().bit_generator.state = meta["default_rng_state"]
        _restore_module_generators(model, meta.get("module_rng_states", {}))
        if scheduler is not None and "scheduler" in meta:
            scheduler.load_state_dict(meta["scheduler"])

    best_path = ckpt_path.parent / BEST_CHECKPOINT_NAME if ckpt_path is not None else None
    best_state: dict[str, np.ndarray] | None = None
    if resume and restore_best and best_path is not None and best_path.exists():
        best_state = load(best_path).state_dict

    prof = profile if profile is not None else {}
    for k in ("batches", "forward", "backward", "step", "evaluate", "checkpoint"):
        prof.setdefault(k, 0.0)
    clock = time.perf_counter
    n = X.shape[0]
    steps = (n + batch_size - 1) // batch_size
    x_rows, y_rows = RowGatherer(), RowGatherer()  # X.take, y.take into recycled memory
    compiled = _compiled_step(model, loss, optimizer, regularizer, params) if compile else None
    for cb in callbacks:
        cb.on_train_begin(model, history)
    for epoch in range(start_epoch + 1, epochs + 1):
        t_epoch = clock()
        model.train()
        order = rng.permutation(n) if shuffle else np.arange(n)
        bar = _progress(steps, f"epoch {epoch}/{epochs}", verbose)
        total_loss = 0.0
        correct = 0
        for step in range(steps):
            t0 = clock()
            idx = order[step * batch_size : (step + 1) * batch_size]
            xb = x_rows.take(X, idx)
            yb = y_rows.take(y, idx)
            if transform is not None:  # augmentation: a new random version of each batch
                xb = transform(xb)
            t1 = clock()
            if compiled is not None:
                try:
                    batch_loss, scores = compiled(xb, yb)
                except TrainingDivergedError as e:
                    raise TrainingDivergedError(f"epoch {epoch}, step {step + 1}: {e}") from None
                value = float(batch_loss.data)
                t4 = clock()
                _count_batch(prof, t0, t1, t1, t1, t4)
                total_loss += value * idx.shape[0]
                if classification:
                    correct += int((predictions(scores) == yb).sum())
                if bar is not None:
                    _show_progress(bar, step, steps, batch_size, n, total_loss, correct,
                                   classification)
                continue
            scores = model(Tensor(xb))
            batch_loss = loss(scores, yb)
            if regularizer is not None:
                batch_loss = batch_loss + regularizer(params)
            value = _loss_value(batch_loss, f"epoch {epoch}, step {step + 1}")
            t2 = clock()
            optimizer.zero_grad()
            batch_loss.backward()
            with np.errstate(over="ignore", invalid="ignore"):
                bad = _non_finite_gradient(params)
            if bad:
                raise TrainingDivergedError(
                    f"epoch {epoch}, step {step + 1}: a gradient is NaN or infinite"
                )
            t3 = clock()
            optimizer.step()
            t4 = clock()
            total_loss += value * idx.shape[0]
            if classification:
                correct += int((predictions(scores) == yb).sum())
            _count_batch(prof, t0, t1, t2, t3, t4)
            if bar is not None:
                _show_progress(bar, step, steps, batch_size, n, total_loss, correct,
                               classification)
        if bar is not None:
            bar.close()
        history.train_loss.append(total_loss / n)
        history.train_accuracy.append(correct / n if classification else None)
        t5 = clock()
        if val_split is not None:
            r = evaluate(model, loss, *val_split, metrics=extra_metrics)
            history.val_loss.append(r["loss"])
            history.val_accuracy.append(r["accuracy"])
            for name in extra_metrics:
                history.metrics.setdefault(f"val_{name}", []).append(r[name])
        else:
            history.val_loss.append(None)
            history.val_accuracy.append(None)
        prof["evaluate"] += clock() - t5
        history.lr.append(_current_lr(optimizer))
        improved = best_values is not None and best_values(history)
        if improved:
            history.best_epoch = epoch
            if restore_best:
                best_state = {k: v.copy() for k, v in model.state_dict().items()}
        if scheduler is not None:
            scheduler.step()
        history.seconds.append(clock() - t_epoch)
        if verbose >= 1:
            print(_epoch_line(epoch, epochs, history), file=sys.stderr if bar else sys.stdout)
        saved = False
        if improved and best_path is not None:
            t6 = clock()
            _save_run(best_path, model, optimizer, scheduler, history, epoch, rng,
                      checkpoint_meta, write_history=False)
            prof["checkpoint"] += clock() - t6
        if ckpt_path is not None and (epoch % checkpoint_every == 0 or epoch == epochs):
            t6 = clock()
            _save_run(ckpt_path, model, optimizer, scheduler, history, epoch, rng,
                      checkpoint_meta)
            prof["checkpoint"] += clock() - t6
            saved = True
        stop = False
        for cb in callbacks:
            stop = bool(cb.on_epoch_end(epoch, history, model)) or stop
        if stop:
            history.stopped_early = epoch < epochs
        if stop and ckpt_path is not None and not saved:
            _save_run(ckpt_path, model, optimizer, scheduler, history, epoch, rng,
                      checkpoint_meta)
        if stop:
            break
    for cb in callbacks:
        cb.on_train_end(model, history)
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    if test_split is not None:
        r = evaluate(model, loss, *test_split, metrics=extra_metrics)
        history.test_loss, history.test_accuracy = r["loss"], r["accuracy"]
        for name in extra_metrics:
            history.test_metrics[name] = r[name]
        if ckpt_path is not None:
            history.save(ckpt_path.parent / HISTORY_NAME)
    return history


def _compiled_step(model: Any, loss: Callable[[Tensor, Any], Tensor], optimizer: Any,
                   regularizer: Any, params: list[Any]) -> Any:
    """``fit``'s step (forward, loss + penalty, zero_grad, backward, update) compiled, with
    the divergence checks before every update."""
    from glassnet.compiling import compile as compile_step

    def step(xb: np.ndarray, yb: np.ndarray) -> tuple[Tensor, Tensor]:
        scores = model(Tensor(xb))
        batch_loss = loss(scores, yb)
        if regularizer is not None:
            batch_loss = batch_loss + regularizer(params)
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        return batch_loss, scores

    return compile_step(step, check_finite=True)


def _count_batch(prof: dict[str, float], t0: float, t1: float, t2: float, t3: float,
                 t4: float) -> None:
    prof["batches"] += t1 - t0
    prof["forward"] += t2 - t1
    prof["backward"] += t3 - t2
    prof["step"] += t4 - t3


def _show_progress(bar: Any, step: int, steps: int, batch_size: int, n: int,
                   total_loss: float, correct: int, classification: bool) -> None:
    bar.update(1)
    if step % 10 == 0 or step == steps - 1:
        seen = min((step + 1) * batch_size, n)
        live = {"loss": f"{total_loss / seen:.4f}"}
        if classification:
            live["acc"] = f"{correct / seen:.4f}"
        bar.set_postfix(live)


def _save_run(
    path: Path, model: Any, optimizer: Any, scheduler: Any, history: History, epoch: int,
    rng: np.random.Generator, extra: dict[str, Any] | None, write_history: bool = True,
) -> None:
    """The checkpoint a resumed ``fit`` continues from, and ``history.json`` beside it."""
    from glassnet import random as gn_random

    meta: dict[str, Any] = {
        **(extra or {}),
        "epoch": epoch,
        "history": history.to_dict(),
        "rng_state": rng.bit_generator.state,
        "default_rng_state": gn_random.default_generator().bit_generator.state,
        "module_rng_states": _module_generator_states(model),
    }
    if scheduler is not None:
        meta["scheduler"] = scheduler.state_dict()
    save(path, model, optimizer, **meta)
    if write_history:
        history.save(path.parent / HISTORY_NAME)


def _best_tracker(monitor: str | None, has_val: bool) -> Callable[[History], bool] | None:
    """A function telling whether the epoch just recorded is the best so far by
    ``monitor`` (strictly better than every earlier epoch; the first one counts)."""
    if monitor is None or not has_val:
        return None
    if not isinstance(monitor, str) or not monitor.startswith("val_"):
        raise ValueError(f"keep_best must name a validation value such as 'val_accuracy' "
                         f"or 'val_loss', got {monitor!r}")
    maximise = "loss" not in monitor

    def improved(history: History) -> bool:
        values = getattr(history, monitor, None)
        if values is None:
            values = history.metrics.get(monitor)
        if not isinstance(values, list):
            raise ValueError(f"keep_best={monitor!r}: History records no such value "
                             "(val_loss, val_accuracy or a val_ metric)")
        value = values[-1]
        if value is None or not np.isfinite(value):
            return False
        earlier = [v for v in values[:-1] if v is not None and np.isfinite(v)]
        if not earlier:
            return True
        return value > max(earlier) if maximise else value < min(earlier)

    return improved


def _module_generators(model: Any) -> list[tuple[str, np.random.Generator]]:
    """(name, generator) of every submodule with a Generator of its own in ``.generator``
    (a Dropout given ``generator=``), whose state a resumed run must continue from."""
    named = getattr(model, "named_modules", None)
    if named is None:
        return []
    return [(name, m.generator) for name, m in named()
            if isinstance(getattr(m, "generator", None), np.random.Generator)]


def _module_generator_states(model: Any) -> dict[str, Any]:
    return {name: gen.bit_generator.state for name, gen in _module_generators(model)}


def _restore_module_generators(model: Any, states: dict[str, Any]) -> None:
    for name, gen in _module_generators(model):
        if name in states:
            gen.bit_generator.state = states[name]


def _current_lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return float(groups[0].get("lr", float("nan")))
    return None


def _epoch_line(epoch: int, epochs: int, h: History) -> str:
    parts = [f"epoch {epoch}/{epochs}", f"loss {h.train_loss[-1]:.4f}"]
    if h.train_accuracy[-1] is not None:
        parts.append(f"acc {h.train_accuracy[-1]:.4f}")
    if h.val_loss[-1] is not None:
        parts.append(f"val_loss {h.val_loss[-1]:.4f}")
    if h.val_accuracy[-1] is not None:
        parts.append(f"val_acc {h.val_accuracy[-1]:.4f}")
    parts.append(f"{h.seconds[-1]:.2f}s")
    return "  ".join(parts)
