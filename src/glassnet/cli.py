"""The ``glassnet`` command: argument parsing only; the work is done by the library.

    glassnet train [--dataset NAME] [--model NAME] ...   train, save checkpoint/history/plot
    glassnet evaluate CHECKPOINT [--dataset NAME]         loss, accuracy, confusion matrix
    glassnet predict CHECKPOINT FILE                       classify an image or a .npy file
    glassnet datasets                                      what is available, and where
    glassnet experiment list | NAME [--out DIR] ...        reproduce a figure of the lecture
    glassnet exercise list | NAME [--file SOLUTION.py]     write a gradient, have it graded
    glassnet export CHECKPOINT MODEL.onnx                  the model as an ONNX file
    glassnet sweep [CONFIG.toml] [--grid KEY=V1,V2 ...]    many train runs on Dask

Errors print one line and exit non-zero (2 for usage errors) without a traceback, unless
``--debug`` is given. Ctrl-C stops training cleanly: the last checkpoint stays loadable.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEFAULT_EPOCHS = {"digits": 30, "mnist": 10, "fashion-mnist": 10, "cifar10": 10}
DEFAULT_PATIENCE = 5  # epochs without a better validation loss before training stops
DEFAULT_BATCH = {"digits": 32}  # 1,347 training images: smaller steps, more of them
DEFAULT_LR = {"sgd": 0.05, "gd": 0.1, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3,
              "adagrad": 1e-2}


class UsageError(Exception):
    """A bad command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that exit with status 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _int_list(text: str) -> list[int]:
    try:
        sizes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 256,128, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _int_at_least(low: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = low - 1
        if v < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


def _non_negative_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return v


def _regularizer(text: str) -> str:
    from glassnet.pipeline import parse_regularizer

    try:
        parse_regularizer(text)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    from glassnet import __version__
    from glassnet import pipeline as P

    parser = _Parser(prog="glassnet", description="Train, evaluate and use glassnet models.")
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    tr = sub.add_parser("train", help="train a model (default: an MLP on the bundled digits)",
                        description="Train a model and write a checkpoint, history.json and "
                                    "a loss/accuracy plot into --out.")
    tr.add_argument("--dataset", default="digits", choices=P.dataset_names(),
                    help="dataset (default: digits, bundled with scikit-learn)")
    tr.add_argument("--root", default=None, help="folder to look for dataset files first")
    tr.add_argument("--no-download", action="store_true", help="never download data")
    tr.add_argument("--model", default="mlp", choices=P.MODELS, help="model (default: mlp)")
    tr.add_argument("--hidden", type=_int_list, default=[256, 128],
                    help="hidden layer sizes of the MLP (default: 256,128)")
    tr.add_argument("--activation", default="relu",
                    choices=["relu", "leaky_relu", "tanh", "sigmoid", "softplus"])
    tr.add_argument("--dropout", type=_non_negative_float, default=0.0)
    tr.add_argument("--batch-norm", action="store_true")
    tr.add_argument("--augment", default="", help="image augmentation of every training batch: "
                    "crop (random shifts of up to 2 pixels, 4 on CIFAR-10), flip, or crop,flip")
    tr.add_argument("--order", type=_positive_int, default=3, help="polynomial order (poly)")
    tr.add_argument("--loss", default=None, choices=list(P.LOSSES),
                    help="loss (default: softmax for classifiers, l2 for regression)")
    tr.add_argument("--optimizer", default="sgd", choices=P.OPTIMIZERS)
    tr.add_argument("--lr", type=_non_negative_float, default=None,
                    help="learning rate (default depends on the optimizer)")
    tr.add_argument("--momentum", type=_non_negative_float, default=0.9, help="SGD momentum")
    tr.add_argument("--weight-decay", type=_non_negative_float, default=0.0)
    tr.add_argument("--batch-size", type=_positive_int, default=None,
                    help="minibatch size (default: 32 on digits, 64 elsewhere)")
    tr.add_argument("--epochs", type=_positive_int, default=None,
                    help="total epochs (default: 30 on digits, 10 on the image sets)")
    tr.add_argument("--regularizer", type=_regularizer, default=None,
                    help="l2:LAMBDA, l1:LAMBDA, elastic:LAMBDA:BETA, maxnorm:C (comma-separated)")
    tr.add_argument("--schedule", default="cosine", choices=["cosine", "none"],
                    help="learning-rate schedule over the epochs (default: cosine decay)")
    tr.add_argument("--val-fraction", type=_non_negative_float, default=0.1)
    tr.add_argument("--patience", type=_non_negative_int, default=None,
                    help="stop when the validation loss has not improved for this many "
                         f"epochs (default: {DEFAULT_PATIENCE} for classifiers)")
    tr.add_argument("--no-early-stop", action="store_true",
                    help="train every epoch (best.ckpt still keeps the best one)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--out", default=None, help="output folder (default: runs/DATASET-MODEL)")
    tr.add_argument("--resume", action="store_true", help="continue from --out/last.ckpt")
    tr.add_argument("--profile", action="store_true", help="print where the time goes")
    tr.add_argument("--compile", action="store_true",
                    help="replay a recorded training step (glassnet.compile; same numbers)")
    tr.add_argument("--quiet", action="store_true", help="print only the final result")
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="evaluate a checkpoint on a dataset's test split",
                        description="Loss, accuracy and confusion matrix of a checkpoint.")
    ev.add_argument("checkpoint")
    ev.add_argument("--dataset", default=None, choices=P.dataset_names(),
                    help="default: the dataset the model was trained on")
    ev.add_argument("--root", default=None)
    ev.add_argument("--no-download", action="store_true")
    ev.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="classify an image or a .npy array",
                        description="Predict the class of an image file (PNG, JPEG, ...) or "
                                    "of the samples in a .npy file.")
    pr.add_argument("checkpoint")
    pr.add_argument("file")
    pr.add_argument("--invert", action="store_true",
                    help="invert an image (dark ink on light paper -> MNIST's light on dark)")
    pr.add_argument("--top", type=_positive_int, default=3, help="show the top K classes")
    pr.set_defaults(func=cmd_predict)

    ds = sub.add_parser("datasets", help="list the datasets and where they are found",
                        description="Which datasets are available locally, and where.")
    ds.add_argument("--root", default=None)
    ds.set_defaults(func=cmd_datasets)

    ex = sub.add_parser("experiment", help="reproduce a figure or worked example of the lecture",
                        description="Run one of the lecture's experiments: print its summary "
                                    "and write its figures, numbers.json and summary.md into "
                                    "--out. 'glassnet experiment list' lists them.")
    ex.add_argument("name", help="an experiment name, or 'list'")
    ex.add_argument("--out", default=None,
                    help="output folder (default: experiments/NAME)")
    ex.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    ex.add_argument("--quick", action="store_true", help="a small size (seconds)")
    ex.add_argument("--set", dest="options", action="append", default=[], metavar="KEY=VALUE",
                    help="change a setting of the experiment (repeatable)")
    ex.set_defaults(func=cmd_experiment)

    xr = sub.add_parser("exercise", help="write an op's forward and backward, have it graded",
                        description="Show an exercise, or grade a Python file defining "
                                    "forward and backward for it. 'glassnet exercise list' "
                                    "lists them.")
    xr.add_argument("name", help="an exercise name, or 'list'")
    xr.add_argument("--file", default=None, help="your solution (a .py file); without it, "
                                                  "the exercise's statement is shown")
    xr.add_argument("--seed", type=int, default=0, help="chooses the random inputs")
    xr.set_defaults(func=cmd_exercise)

    rp = sub.add_parser("report", help="the course companion: every experiment on one page",
                        description="Run every experiment and write DIR/index.html, one "
                                    "self-contained page in the lecture's order (figures "
                                    "inlined), and each experiment's files in DIR/NAME/.")
    rp.add_argument("--out", default="report", help="output folder (default: report)")
    rp.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    rp.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    rp.add_argument("--only", type=lambda t: [v for v in t.split(",") if v], default=None,
                    metavar="NAME,...", help="only these experiments")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.set_defaults(func=cmd_report)

    on = sub.add_parser("export", help="export a checkpoint's model as an ONNX file",
                        description="Write the model of a checkpoint as ONNX (needs "
                                    'glassnet[onnx]); its input is the preprocessed features.')
    on.add_argument("checkpoint")
    on.add_argument("output", help="the .onnx file to write")
    on.add_argument("--input-shape", type=_int_list, default=None,
                    help="input shape without the batch axis (default: the model's "
                         "in_features)")
    on.add_argument("--opset", type=_positive_int, default=17, help="ONNX opset (>= 15)")
    on.set_defaults(func=cmd_export)

    from glassnet.sweep import add_arguments as add_sweep_arguments

    sw = sub.add_parser("sweep", help="a grid or random search of train runs on Dask",
                        description="Run glassnet train trials over a grid or a random "
                                    "search on a Dask cluster (local by default) and write "
                                    "each run folder, a table and a plot into --out.")
    add_sweep_arguments(sw, tr)
    sw.set_defaults(func=cmd_sweep)
    return parser


# ---------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    from glassnet import pipeline as P
    from glassnet.random import manual_seed
    from glassnet.training import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, HISTORY_NAME, fit

    out = P.check_writable(args.out or Path("runs") / f"{args.dataset}-{args.model}")
    say = (lambda *a: None) if args.quiet else print
    t0 = time.perf_counter()
    profile: dict[str, float] = {}
    data = P.prepare_data(args.dataset, root=args.root, download=not args.no_download,
                          val_fraction=args.val_fraction, seed=args.seed)
    say(f"data: {args.dataset} ({data.source}): {data.train[0].shape[0]} train, "
        f"{0 if data.val is None else data.val[0].shape[0]} validation, "
        f"{data.test[0].shape[0]} test, {data.in_features} features")
    manual_seed(args.seed)
    model = P.build_model(args.model, data.in_features, data.num_classes, hidden=args.hidden,
                          dropout=args.dropout, batch_norm=args.batch_norm, order=args.order,
                          activation=args.activation, input_shape=data.input_shape)
    loss_name, loss = P.build_loss(args.loss, model, data.num_classes)
    penalty, constraints = P.parse_regularizer(args.regularizer)
    regression = data.num_classes is None
    lr = args.lr if args.lr is not None else default_lr(args.optimizer, args.model, regression)
    if args.lr is None and regression and args.optimizer in ("sgd", "gd"):
        lr = min(lr, stable_lr(model, data.train[0]))  # raw coordinates: keep GD stable
    optimizer = P.build_optimizer(args.optimizer, model.parameters(), lr, args.momentum,
                                  args.weight_decay, constraints)
    epochs = args.epochs or (2000 if regression else DEFAULT_EPOCHS.get(args.dataset, 100))
    batch = data.train[0].shape[0] if regression else (
        args.batch_size or DEFAULT_BATCH.get(args.dataset, 64))
    say(f"model: {type(model).__name__}, {model.num_parameters():,} parameters; loss "
        f"{loss_name}; {args.optimizer} lr={lr}; {epochs} epochs of batch {batch}")
    scheduler = None
    if args.schedule == "cosine" and not regression:
        from glassnet.optim.lr_scheduler import CosineAnnealingLR

        scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    profile["data and set-up"] = time.perf_counter() - t0
    first_epoch = _checkpoint_epoch(out) if args.resume else 0
    meta = {"data": data.meta(), "loss": loss_name, "command": vars_for_meta(args)}
    callbacks = []
    has_val = data.val is not None and data.val[0].shape[0] > 0
    if not regression and has_val and not args.no_early_stop:
        from glassnet.training import EarlyStopping

        patience = DEFAULT_PATIENCE if args.patience is None else args.patience
        callbacks.append(EarlyStopping("val_loss", patience=patience, restore_best=False))
        say(f"early stopping: stop when the validation loss has not improved for {patience} "
            "epochs (--patience N to change, --no-early-stop to train every epoch)")
    elif args.patience is not None:
        raise UsageError("glassnet train: --patience needs a validation split "
                         "(--val-fraction > 0), a classifier and no --no-early-stop")
    history = fit(
        model, loss, optimizer, data.train, data.val, epochs=epochs, batch_size=batch,
        regularizer=penalty, scheduler=scheduler, rng=np.random.default_rng(args.seed),
        verbose=0 if args.quiet or regression else 1, checkpoint_dir=out,
        resume=args.resume, test=data.test, profile=profile, checkpoint_meta=meta,
        # a regression "epoch" is one full-batch step: checkpoint every 1% of the run
        checkpoint_every=max(1, epochs // 100) if regression else 1,
        callbacks=callbacks, keep_best=None if regression else "val_accuracy",
        restore_best=not regression, compile=args.compile,
        transform=_augmentation(args, data),
    )
    t_plot = time.perf_counter()
    plot = P.plot_history(history, out / "history.png", f"{args.model} on {args.dataset}")
    profile["plot"] = time.perf_counter() - t_plot
    seconds = time.perf_counter() - t0
    if regression:
        print(f"final: train loss {history.train_loss[-1]:.4f}, "
              f"test loss {history.test_loss:.4f} ({seconds:.1f} s)")
    else:
        if history.stopped_early:
            say(f"stopped early after epoch {history.epochs}: the validation loss has not "
                f"improved since epoch {callbacks[0].best_epoch}")
        if history.best_epoch is not None:
            b = history.best_epoch - 1
            say(f"best epoch {history.best_epoch} (validation accuracy "
                f"{history.val_accuracy[b]:.4f}) kept in {out / BEST_CHECKPOINT_NAME}; "
                "the test accuracy below is that model's")
        print(f"final: train accuracy {history.train_accuracy[-1]:.4f}, "
              f"test accuracy {history.test_accuracy:.4f} ({seconds:.1f} s)")
    say(f"wrote {out / CHECKPOINT_NAME}, {out / HISTORY_NAME}"
        + (f", {plot}" if plot else " (no plot: pip install glassnet[plot])"))
    if args.profile:
        print(format_profile(profile, history.epochs - first_epoch))
    return 0


def _augmentation(args: argparse.Namespace, data: Any) -> Any:
    from glassnet.data.transforms import augmentation

    return augmentation(args.augment, data.input_shape, data.mean, data.scale, args.seed)


def default_lr(optimizer: str, model: str, regression: bool) -> float:
    """A learning rate that works for the model on standardized inputs."""
    if regression:
        return 0.1
    if optimizer == "sgd" and model in ("linear", "logistic", "quadratic"):
        return 0.005  # one linear layer on 784 standardized inputs: a smaller step
    return DEFAULT_LR[optimizer]


def stable_lr(model: Any, X: np.ndarray) -> float:
    """1 / lambda_max of the Hessian 2/N A^T A of the L2 loss of a model that is linear in
    its features A (the inputs, or the powers of x for ``poly``, and a column of ones)."""
    feats = model.features(X).data if hasattr(model, "features") else X
    A = np.concatenate([np.asarray(feats, dtype=np.float64).reshape(len(X), -1),
                        np.ones((len(X), 1))], axis=1)
    return float(1.0 / np.linalg.eigvalsh(2.0 * A.T @ A / len(X)).max())


def vars_for_meta(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k != "func" and
            isinstance(v, (str, int, float, bool, list, type(None)))}


def _checkpoint_epoch(folder: Path) -> int:
    """The epoch a resumed run starts after (0 when there is no checkpoint yet)."""
    from glassnet.checkpoint import read_verified
    from glassnet.training import CHECKPOINT_NAME

    path = Path(folder) / CHECKPOINT_NAME
    return int(read_verified(path)[0].get("epoch") or 0) if path.exists() else 0


def format_profile(profile: dict[str, float], epochs: int) -> str:
    """The phases of a run, longest first; per-epoch figures for the training loop's."""
    once = {"data and set-up", "plot"}
    total = sum(profile.values()) or 1.0
    lines = [f"where the time went ({epochs} epochs, {total:.2f} s measured):"]
    for k, v in sorted(profile.items(), key=lambda kv: -kv[1]):
        each = "once" if k in once else f"{v / max(epochs, 1):.3f} s per epoch"
        lines.append(f"  {k:<16} {v:8.3f} s  {100 * v / total:5.1f}%  ({each})")
    return "\n".join(lines)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from glassnet import losses
    from glassnet import pipeline as P
    from glassnet.checkpoint import load
    from glassnet.metrics import confusion_matrix, predictions
    from glassnet.training import evaluate

    ckpt = load(args.checkpoint)
    meta = ckpt.meta.get("data")
    if meta is None:
        raise ValueError(f"'{args.checkpoint}' does not say how its data were prepared; "
                         "it was not written by glassnet train")
    name = args.dataset or meta["dataset"]
    raw_test = _raw_test(name, args)
    if raw_test is not None:  # an image set: its own test split, preprocessed as in training
        X, y = P.preprocess(raw_test[0], meta), raw_test[1]
    else:  # a generated set: the training run's seed and split give the same test points
        command = ckpt.meta.get("command") or {}
        same = name == meta["dataset"]
        data = P.prepare_data(name, root=args.root, download=not args.no_download,
                              val_fraction=command.get("val_fraction", 0.1) if same else 0,
                              seed=command.get("seed", 0) if same else 0)
        X, y = data.test
    loss_name = ckpt.meta.get("loss", "softmax")
    fn = getattr(losses, P.LOSSES.get(loss_name, "softmax_log_likelihood"))
    if loss_name == "logistic":
        fn = None
    r = evaluate(ckpt.model, fn, X, y)
    if r["accuracy"] is None:
        print(f"{name} test: loss {r['loss']:.4f} on {len(y)} samples")
        return 0
    print(f"{name} test: accuracy {r['accuracy']:.4f}"
          + (f", loss {r['loss']:.4f}" if r["loss"] is not None else "")
          + f" on {len(y)} {'images' if raw_test is not None else 'samples'}")
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.tensor import Tensor

    ckpt.model.eval()
    with no_grad():
        pred = predictions(ckpt.model(Tensor(X)))
    cm = confusion_matrix(y, pred, num_classes=max(int(y.max()) + 1, int(pred.max()) + 1))
    print("confusion matrix (rows: true class, columns: predicted):")
    print(np.array2string(cm, max_line_width=200))
    return 0


def _raw_test(name: str, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray] | None:
    """The raw test images of an image dataset (to apply the checkpoint's preprocessing)."""
    from glassnet import data as D

    if name not in D.DATASETS:
        return None
    return D.load_dataset(name, "test", root=args.root, download=not args.no_download)


def _read_input(path: Path, meta: dict[str, Any], invert: bool) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"input file '{path}' does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"input '{path}' is a folder, not a file")
    shape = tuple(meta["input_shape"])
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"'{path}' is not a valid .npy array: {e}") from None
        return arr
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError("reading images needs Pillow: pip install glassnet[plot]") from None
    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"'{path}' is not a readable image: {e}") from None
    channels = shape[2] if len(shape) == 3 else 1
    img = img.convert("L" if channels == 1 else "RGB")
    img = img.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float64) / 255.0
    if invert:
        arr = 1.0 - arr
    return (arr * float(meta["raw_scale"])).reshape(shape)


def cmd_predict(args: argparse.Namespace) -> int:
    from glassnet import pipeline as P
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.checkpoint import load
    from glassnet.tensor import Tensor

    ckpt = load(args.checkpoint)
    meta = ckpt.meta.get("data")
    if meta is None:
        raise ValueError(f"'{args.checkpoint}' was not written by glassnet train")
    raw = _read_input(Path(args.file), meta, args.invert)
    X = P.preprocess(raw, meta)
    ckpt.model.eval()
    with no_grad():
        scores = ckpt.model(Tensor(X)).data
    if meta.get("num_classes") is None:
        for i, v in enumerate(scores.reshape(len(X), -1)):
            print(f"sample {i}: prediction {v.tolist()}")
        return 0
    if scores.ndim == 1 or scores.shape[1] == 1:
        p1 = 1 / (1 + np.exp(-scores.reshape(-1)))
        probs = np.stack([1 - p1, p1], axis=1)
    else:
        z = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    names = meta.get("classes") or [str(i) for i in range(probs.shape[1])]
    k = min(args.top, probs.shape[1])
    for i, p in enumerate(probs):
        top = np.argsort(-p)[:k]
        ranked = ", ".join(f"{names[c]} {p[c]:.3f}" for c in top)
        print(f"sample {i}: {names[top[0]]} (class {top[0]}); top {k}: {ranked}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from glassnet import data as D

    print("image datasets:")
    for name in D.DATASETS:
        where = []
        for split in ("train", "test"):
            try:
                loc = D.locate_dataset(name, split, args.root)
            except Exception as e:  # a damaged install is reported, not fatal
                loc = f"error: {e}"
            where.append(loc)
        if all(w is not None and not isinstance(w, str) for w in where):
            loc = where[0]
            first = loc[0] if isinstance(loc, tuple) else loc
            place = first.parent if isinstance(loc, tuple) else first
            print(f"  {name:<14} available  {place}")
        elif name == "digits":
            print(f"  {name:<14} not available: pip install glassnet[data] (scikit-learn)")
        else:
            folder = {"cifar10": "cifar-10"}.get(name, name)
            places = ", ".join(str(p) for p, _ in D.search_dirs(folder, args.root))
            print(f"  {name:<14} not found locally (downloaded on first use; searched: {places})")
    from glassnet import pipeline as P

    print("generated (always available):")
    print("  " + ", ".join([*D.TOY_DATASETS, *P.REGRESSION_SETS]))
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    from glassnet import experiments as E

    if args.name == "list":
        print(E.describe())
        return 0
    if args.name not in E.names():
        raise UsageError(f"unknown experiment {args.name!r}; choose one of: "
                         f"list, {', '.join(E.names())}")
    try:
        given = E.parse_options(args.name, args.options)
    except E.ExperimentError as e:
        raise UsageError(f"glassnet experiment: {e}") from None
    if args.seed < 0:
        raise UsageError(f"glassnet experiment: --seed must be >= 0, got {args.seed}")
    out = args.out or str(Path("experiments") / args.name)
    result = E.run(args.name, out=out, seed=args.seed, quick=args.quick, **given)
    print(result.summary)
    print(f"\nwrote {', '.join(str(p) for p in result.figures)}"
          + (", " if result.figures else "") + f"{Path(out) / 'numbers.json'}, "
          f"{Path(out) / 'summary.md'}")
    return 0


def cmd_exercise(args: argparse.Namespace) -> int:
    from glassnet import exercises

    if args.name != "list" and args.name not in exercises.names():
        raise UsageError(f"glassnet exercise: unknown exercise {args.name!r}; choose one of: "
                         f"list, {', '.join(exercises.names())}")
    if args.seed < 0:
        raise UsageError(f"glassnet exercise: --seed must be >= 0, got {args.seed}")
    return exercises.command(args.name, args.file, seed=args.seed)


def cmd_export(args: argparse.Namespace) -> int:
    from glassnet.onnx import export_checkpoint

    print(export_checkpoint(args.checkpoint, args.output, args.input_shape, args.opset))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from glassnet import sweep

    try:
        return sweep.main(args)
    except sweep.SweepConfigError as e:
        raise UsageError(f"glassnet sweep: {e}") from None


# ---------------------------------------------------------------------- entry point
def _one_line(text: str) -> str:
    """A multi-line message (e.g. a list of folders searched) joined into one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    out = lines[0] if lines else ""
    for line in lines[1:]:
        out += (" " if out.endswith(":") else "; ") + line
    return out


def cmd_report(args: argparse.Namespace) -> int:
    from glassnet.experiments import ExperimentError
    from glassnet.report import main_command

    if args.seed < 0:
        raise UsageError(f"glassnet report: --seed must be >= 0, got {args.seed}")
    try:
        return main_command(args.out, args.quick, args.seed, args.only, args.quiet)
    except ExperimentError as e:
        raise UsageError(f"glassnet report: {e}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the exit status."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return int(args.func(args))
    except UsageError as e:
        print(f"{e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("glassnet: interrupted; the last checkpoint written is complete and loads",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        if debug:
            raise
        print(f"glassnet: error: {_one_line(str(e)) or type(e).__name__}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
