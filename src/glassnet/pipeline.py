"""From a dataset name to a trained, saved model: what ``glassnet train`` runs.

``prepare_data`` loads a dataset by name and turns it into training features (scaled to
[0, 1], flattened, standardized with statistics of the training part only) with a
validation part split off the training data; ``build_model``, ``build_loss``,
``build_optimizer`` and ``parse_regularizer`` turn the command's words into objects;
``train`` runs ``glassnet.training.fit`` and writes the checkpoint, ``history.json`` and
a plot. ``preprocess`` applies a stored preprocessing to new raw inputs (``predict``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REGRESSION_SETS = ("curve", "points")
MODELS = ("linear", "logistic", "mlp", "quadratic", "linreg", "poly", "cnn", "lenet", "convnet")
LOSSES = {
    "softmax": "softmax_log_likelihood",
    "softmax-ce": "softmax_cross_entropy",
    "hinge": "hinge",
    "squared-hinge": "squared_hinge",
    "logistic": "sigmoid_binary_cross_entropy",
    "l2": "l2",
    "l1": "l1",
    "huber": "huber",
}
OPTIMIZERS = ("sgd", "gd", "adam", "adamw", "rmsprop", "adagrad")


def dataset_names() -> list[str]:
    """Every name ``prepare_data`` accepts."""
    from glassnet.data import DATASETS, TOY_DATASETS

    return [*DATASETS, *TOY_DATASETS, *REGRESSION_SETS]


@dataclass
class PreparedData:
    """Features ready for a model, and how raw inputs were turned into them."""

    name: str
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    num_classes: int | None
    input_shape: tuple[int, ...]
    raw_scale: float
    mean: np.ndarray
    scale: np.ndarray
    classes: list[str] | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def in_features(self) -> int:
        return int(self.train[0].shape[1])

    def meta(self) -> dict[str, Any]:
        """What a checkpoint stores to preprocess new inputs the same way."""
        return {
            "dataset": self.name,
            "input_shape": list(self.input_shape),
            "raw_scale": self.raw_scale,
            "mean": self.mean,
            "scale": self.scale,
            "num_classes": self.num_classes,
            "classes": self.classes,
        }


def preprocess(raw: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    """Raw samples (N, *input_shape) -> standardized float32 features (N, D)."""
    shape = tuple(meta["input_shape"])
    x = np.asarray(raw)
    if x.shape == shape:
        x = x[None]
    if x.shape[1:] != shape:
        raise ValueError(
            f"inputs must have shape {shape} or (N, *{shape}) for this model, got {x.shape}"
        )
    if x.dtype.kind not in "iuf":
        raise TypeError(f"inputs must be numeric, got dtype {x.dtype}")
    feats = x.reshape(x.shape[0], -1).astype(np.float64) / float(meta["raw_scale"])
    return ((feats - np.asarray(meta["mean"])) / np.asarray(meta["scale"])).astype(np.float32)


def _standardize(
    train: np.ndarray, others: Sequence[np.ndarray | None]
) -> tuple[np.ndarray, list[np.ndarray | None], np.ndarray, np.ndarray]:
    from glassnet.data import Standardizer

    s = Standardizer().fit(train)
    out = [None if o is None else s.transform(o).astype(np.float32) for o in others]
    mean = np.asarray(s.mean_, dtype=np.float64).reshape(-1)
    scale = np.asarray(s.scale_, dtype=np.float64).reshape(-1)
    return s.transform(train).astype(np.float32), out, mean, scale


def prepare_data(
    name: str,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    val_fraction: float = 0.1,
    seed: int = 0,
    n: int | None = None,
    noise: float | None = None,
) -> PreparedData:
    """Load dataset ``name`` and return standardized train / val / test features.

    Image sets (digits, mnist, fashion-mnist, cifar10) use their own test split; toy sets
    draw ``n`` points (default 1000; 30 for "curve") and hold out a quarter as the test
    split. ``val_fraction`` of the training part becomes the validation split (0: none).
    """
    from glassnet import data as D

    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    classes: list[str] | None = None
    source = ""
    if name in D.DATASETS:
        x_train, y_train = D.load_dataset(name, "train", root=root, download=download)
        x_test, y_test = D.load_dataset(name, "test", root=root, download=download)
        raw_scale = 1.0 if x_train.dtype.kind == "f" else 255.0
        loc = D.locate_dataset(name, "train", root)
        source = str(loc[0].parent if isinstance(loc, tuple) else loc or "")
        if name == "fashion-mnist":
            classes = list(D.FASHION_MNIST_CLASSES)
        elif name == "cifar10":
            classes = list(D.CIFAR10_CLASSES)
        else:
            classes = [str(i) for i in range(10)]
        num_classes: int | None = 10
    elif name in D.TOY_DATASETS:
        X, y = D.TOY_DATASETS[name](n or 1000, rng=rng)
        x_train, x_test, y_train, y_test = D.train_test_split(
            X, y, test_size=0.25, rng=rng, stratify=y
        )
        raw_scale = 1.0
        num_classes = int(y.max()) + 1
        source = "generated"
    elif name == "curve":
        count = n or 30
        kw = {} if noise is None else {"noise": noise}
        x_train, y_train = D.noisy_curve(count, rng=rng, **kw)
        x_test, y_test = D.noisy_curve(count, rng=rng, **kw)
        x_train, x_test = x_train.reshape(-1, 1), x_test.reshape(-1, 1)
        raw_scale, num_classes, source = 1.0, None, "generated"
        val_fraction = 0.0
    elif name == "points":
        x_train, y_train = D.lecture_points()
        x_train = x_train.reshape(-1, 1)
        x_test, y_test = x_train, y_train
        raw_scale, num_classes, source = 1.0, None, "the lecture's four points"
        val_fraction = 0.0
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(dataset_names())}")

    input_shape = tuple(x_train.shape[1:])
    x_val = y_val = None
    if val_fraction > 0:
        x_train, x_val, y_train, y_val = D.train_test_split(
            x_train, y_train, test_size=val_fraction, rng=rng,
            stratify=y_train if num_classes else None,
        )
    flat = [None if a is None else a.reshape(a.shape[0], -1).astype(np.float64) / raw_scale
            for a in (x_train, x_val, x_test)]
    if num_classes is None:  # regression: the raw coordinate is the feature
        mean = np.zeros(flat[0].shape[1])
        scale = np.ones(flat[0].shape[1])
        f_train = flat[0].astype(np.float32)
        f_val = None
        f_test = flat[2].astype(np.float32)
        y_train = y_train.astype(np.float32).reshape(-1, 1)
        y_test = y_test.astype(np.float32).reshape(-1, 1)
    else:
        f_train, (f_val, f_test), mean, scale = _standardize(flat[0], flat[1:])
    return PreparedData(
        name=name,
        train=(f_train, y_train),
        val=None if f_val is None else (f_val, y_val),  # type: ignore[arg-type]
        test=(f_test, y_test),  # type: ignore[arg-type]
        num_classes=num_classes,
        input_shape=input_shape,
        raw_scale=raw_scale,
        mean=mean,
        scale=scale,
        classes=classes,
        source=source,
    )


def build_model(
    kind: str,
    in_features: int,
    num_classes: int | None,
    hidden: Sequence[int] = (256, 128),
    dropout: float = 0.0,
    batch_norm: bool = False,
    order: int = 3,
    activation: str = "relu",
    input_shape: Sequence[int] | None = None,
) -> Any:
    """A model of the lecture by name (see ``MODELS``); the convolutional ones need the
    images' ``input_shape`` ("lenet": LeNet-5; "cnn": ConvNet((16, 32)), a LeNet-style
    network of two 3x3 convolution blocks; "convnet": ConvNet((32, 64)); see
    ``glassnet.convnets``)."""
    from glassnet import models

    if kind in ("linreg", "poly"):
        if num_classes is not None:
            raise ValueError(f"--model {kind} is a regression model; use a regression dataset "
                             f"({', '.join(REGRESSION_SETS)})")
        if kind == "linreg":
            return models.LinearRegression(in_features, 1)
        if in_features != 1:
            raise ValueError("--model poly needs one input feature")
        return models.PolynomialRegression(order)
    if num_classes is None:
        raise ValueError(f"--model {kind} is a classifier; this dataset is a regression "
                         "task (use --model linreg or poly)")
    if kind == "linear":
        return models.LinearClassifier(in_features, num_classes)
    if kind == "logistic":
        return models.LogisticRegression(in_features, num_classes)
    if kind == "mlp":
        return models.MLP(in_features, list(hidden), num_classes, activation=activation,
                          dropout=dropout, batch_norm=batch_norm)
    if kind in ("cnn", "lenet", "convnet"):
        from glassnet.convnets import image_layout

        C, S, last = image_layout(input_shape, kind)
        if kind == "lenet":
            return models.LeNet(num_classes, in_channels=C, image_size=S, channels_last=last)
        return models.ConvNet((16, 32) if kind == "cnn" else (32, 64), num_classes,
                              in_channels=C, image_size=S, batch_norm=batch_norm,
                              dropout=dropout, channels_last=last)
    if kind == "quadratic":
        if in_features > 200:
            raise ValueError(
                f"--model quadratic on {in_features} features would need "
                f"{num_classes * (in_features + 1) * (in_features + 2) // 2:,} parameters; "
                "use it on low-dimensional data (toy sets, digits)"
            )
        return models.QuadraticModel(in_features, num_classes)
    raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")


def build_loss(name: str | None, model: Any, num_classes: int | None) -> tuple[str, Any]:
    """The loss function for ``name`` (see ``LOSSES``); None picks the model's natural one."""
    from glassnet import losses

    if name is None:
        if num_classes is None:
            name = "l2"
        elif getattr(model, "num_classes", None) == 2 and type(model).__name__ == \
                "LogisticRegression":
            name = "logistic"
        else:
            name = "softmax"
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    fn = getattr(losses, LOSSES[name])
    if name == "logistic":
        if num_classes != 2:
            raise ValueError("--loss logistic needs two classes")

        def binary(scores: Any, y: Any) -> Any:
            return fn(scores.reshape(-1), np.asarray(y, dtype=np.float32))

        return name, binary
    if (name in ("l2", "l1", "huber")) != (num_classes is None):
        kind = "regression" if num_classes is None else "classification"
        raise ValueError(f"--loss {name} does not fit a {kind} task")
    return name, fn


def build_optimizer(
    name: str, params: Any, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
    constraints: Sequence[Any] = (),
) -> Any:
    """An optimizer by name (see ``OPTIMIZERS``)."""
    from glassnet import optim

    kw: dict[str, Any] = {"constraints": list(constraints)} if constraints else {}
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **kw)
    if name == "gd":
        return optim.GD(params, lr=lr, **kw)
    classes = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSProp,
               "adagrad": optim.AdaGrad}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return classes[name](params, lr=lr, weight_decay=weight_decay, **kw)


def parse_regularizer(spec: str | None) -> tuple[Any, list[Any]]:
    """"l2:1e-4", "l1:1e-5", "elastic:1e-4:0.5" or "maxnorm:3" -> (penalty, constraints)."""
    from glassnet import regularizers as R

    if not spec:
        return None, []
    penalty = None
    constraints: list[Any] = []
    for part in spec.split(","):
        name, *values = part.strip().split(":")
        try:
            nums = [float(v) for v in values]
        except ValueError:
            raise ValueError(f"bad regularizer {part!r}: the values must be numbers") from None
        need = {"l2": 1, "l1": 1, "elastic": 2, "maxnorm": 1}
        if name not in need:
            raise ValueError(f"unknown regularizer {name!r} in {part!r}; use l2:LAMBDA, "
                             "l1:LAMBDA, elastic:LAMBDA:BETA or maxnorm:C")
        if len(nums) != need[name]:
            raise ValueError(f"regularizer {name} takes {need[name]} value(s), got {part!r}")
        if name == "maxnorm":
            constraints.append(R.MaxNorm(nums[0]))
            continue
        if penalty is not None:
            raise ValueError(f"only one penalty can be given, got {spec!r}")
        penalty = {"l2": R.L2, "l1": R.L1}[name](nums[0]) if name != "elastic" else \
            R.ElasticNet(nums[0], nums[1])
    return penalty, constraints


def check_writable(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` if needed and make sure files can be written there."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"output folder '{path}' exists and is not a folder") from None
    except OSError as e:
        raise PermissionError(f"cannot create output folder '{path}': {e.strerror}") from None
    probe = path / f".glassnet-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise PermissionError(f"output folder '{path}' is not writable: {e.strerror}") from None
    return path


def plot_history(history: Any, path: str | os.PathLike[str], title: str = "") -> Path | None:
    """Loss and accuracy per epoch as a PNG; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = np.arange(1, history.epochs + 1)
    has_acc = any(a is not None for a in history.train_accuracy)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5, 3.6))
    axes = np.atleast_1d(axes)
    axes[0].plot(epochs, history.train_loss, "o-", label="train")
    if any(v is not None for v in history.val_loss):
        axes[0].plot(epochs, [np.nan if v is None else v for v in history.val_loss], "s-",
                     label="validation")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    if has_acc:
        axes[1].plot(epochs, history.train_accuracy, "o-", label="train")
        if any(v is not None for v in history.val_accuracy):
            axes[1].plot(epochs, [np.nan if v is None else v for v in history.val_accuracy],
                         "s-", label="validation")
        if history.test_accuracy is not None:
            which = "" if getattr(history, "best_epoch", None) is None else " (best epoch)"
            axes[1].axhline(history.test_accuracy, color="k", ls="--", lw=1,
                            label=f"test {history.test_accuracy:.3f}{which}")
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("accuracy")
        axes[1].legend()
    best = getattr(history, "best_epoch", None)
    if best is not None:
        for ax in axes:
            ax.axvline(best, color="#009E73", ls=":", lw=1.5, label=f"best epoch {best}")
        axes[-1].legend()
        if len(axes) > 1:
            axes[0].legend()
    if getattr(history, "stopped_early", False):
        axes[0].set_title(f"stopped early after epoch {history.epochs}", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    import io

    from glassnet.checkpoint import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
