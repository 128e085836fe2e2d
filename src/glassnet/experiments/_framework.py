"""The experiment runner: discovery, options, seeding, results, figures and data.

An experiment is a module ``glassnet/experiments/<name with _>.py`` that defines

- ``NAME`` (the name users type, e.g. ``"linear-regression"``), ``TITLE`` (one line),
  ``SECTION`` (the lecture section it illustrates, e.g. ``"1"``; it orders the list) and
  ``ORDER`` (a number that orders experiments of the same section);
- ``OPTIONS``: the settings a user may change, name -> default (bool, int, float or str);
- ``QUICK``: the settings that ``quick=True`` replaces (a small size for tests);
- ``compute(ctx: Context) -> dict``: does the work and returns the key figures. It draws
  its figures only when ``ctx.drawing`` (an output folder was given), with
  ``ctx.subplots(...)`` and ``ctx.save(fig, stem)``, and says what the numbers show with
  ``ctx.note(markdown)``.

Experiments hold no maths of their own that the library should own: they call
glassnet's models, losses, optimizers and derivatives, and NumPy for the bookkeeping.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pkgutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

_PACKAGE = "glassnet.experiments"


# The lecture's sections, in its order: what the experiments' SECTION refers to.
SECTIONS = {
    "1": "Learning is looking for a function",
    "2": "Data",
    "3": "Capacity: under-fitting and over-fitting",
    "4": "Kinds of supervision",
    "5": "Machine learning vs deep learning",
    "6": "The linear classifier",
    "7": "Loss functions",
    "8": "Regularization",
    "9": "Optimization",
    "10": "Derivatives and backpropagation",
}


class ExperimentError(ValueError):
    """An unknown experiment or option, or a bad option value (a one-line message)."""


# ---------------------------------------------------------------------- discovery
def _module_names() -> list[str]:
    import glassnet.experiments as pkg

    return [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]


def _modules() -> dict[str, ModuleType]:
    """Experiment name -> module, in the lecture's order."""
    found = []
    for mod_name in _module_names():
        mod = importlib.import_module(f"{_PACKAGE}.{mod_name}")
        if not hasattr(mod, "compute"):
            continue
        found.append(mod)
    found.sort(key=lambda m: (_section_key(m.SECTION), float(getattr(m, "ORDER", 0)), m.NAME))
    return {m.NAME: m for m in found}


def _section_key(section: str) -> tuple[int, ...]:
    return tuple(int(p) for p in str(section).split(".") if p.isdigit())


def names() -> list[str]:
    """The experiment names, in the order of the lecture's sections."""
    return list(_modules())


def _module(name: str) -> ModuleType:
    mods = _modules()
    if name not in mods:
        raise ExperimentError(
            f"unknown experiment {name!r}; choose one of: {', '.join(mods)}"
        )
    return mods[name]


def options(name: str) -> dict[str, Any]:
    """The settings of experiment ``name`` and their defaults."""
    return dict(_module(name).OPTIONS)


def info(name: str) -> dict[str, Any]:
    """Name, title, lecture section, options and quick-mode settings of an experiment."""
    mod = _module(name)
    return {"name": mod.NAME, "title": mod.TITLE, "section": str(mod.SECTION),
            "options": dict(mod.OPTIONS), "quick": dict(getattr(mod, "QUICK", {})),
            "doc": (mod.__doc__ or "").strip()}


def describe() -> str:
    """One line per experiment: name, lecture section and title."""
    rows = [(n, f"§{m.SECTION}", m.TITLE) for n, m in _modules().items()]
    width = max((len(r[0]) for r in rows), default=0)
    return "\n".join(f"{n:<{width}}  {s:<4} {t}" for n, s, t in rows)


# ---------------------------------------------------------------------- options
def _cast(name: str, key: str, value: Any, default: Any) -> Any:
    """``value`` (a string from the command line, or a Python value) as the type of the
    option's default; a one-line error otherwise."""
    kind = type(default)
    if isinstance(value, str) and kind is not str:
        text = value.strip()
        try:
            if kind is bool:
                low = text.lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError
                return low in ("1", "true", "yes", "on")
            if kind is int:
                return int(text)
            if kind is float:
                out = float(text)
                if not math.isfinite(out):
                    raise ValueError
                return out
        except ValueError:
            raise ExperimentError(
                f"option {key}={value!r} of {name}: expected {kind.__name__}"
            ) from None
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(float(value)):
            raise ExperimentError(f"option {key}={value!r} of {name}: must be finite")
        return float(value)
    if kind is int and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, kind):
        return value
    raise ExperimentError(
        f"option {key}={value!r} of {name}: expected {kind.__name__}, "
        f"got {type(value).__name__}"
    )


def parse_options(name: str, pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["lr=0.1", "steps=50"]`` (the command's ``--set`` values) -> typed options."""
    defaults = options(name)
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ExperimentError(f"--set expects KEY=VALUE, got {pair!r}")
        if key not in defaults:
            raise ExperimentError(
                f"unknown option {key!r} of {name}; valid: {_valid(defaults)}"
            )
        out[key] = _cast(name, key, value, defaults[key])
    return out


def _valid(defaults: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} (default {v!r})" for k, v in defaults.items()) or "none"


def _resolve(mod: ModuleType, quick: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    defaults = dict(mod.OPTIONS)
    for key in given:
        if key not in defaults:
            raise ExperimentError(
                f"unknown option {key!r} of {mod.NAME}; valid: {_valid(defaults)}"
            )
    opts = dict(defaults)
    if quick:
        opts.update(getattr(mod, "QUICK", {}))
    for key, value in given.items():
        opts[key] = _cast(mod.NAME, key, value, defaults[key])
    return opts


# ---------------------------------------------------------------------- results
def jsonable(value: Any) -> Any:
    """NumPy scalars and arrays, tuples and paths -> plain JSON values (NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"experiment number of type {type(value).__name__} is not JSON data")


@dataclass
class Result:
    """What an experiment produced.

    Attributes
    ----------
    name, title, section : str
    numbers : dict
        The key figures (JSON-serialisable).
    figures : list of Path
        The PNGs written into the output folder (empty when none was given).
    summary : str
        Markdown: what was run, the numbers, what they show.
    options : dict
        The settings used (defaults, quick-mode sizes, and the caller's overrides).
    seed : int
    quick : bool
    seconds : float
        Wall-clock time of the computation.
    """

    name: str
    title: str
    section: str
    numbers: dict[str, Any]
    figures: list[Path]
    summary: str
    options: dict[str, Any]
    seed: int
    quick: bool
    seconds: float
    notes: list[str] = field(default_factory=list)
    given: dict[str, Any] = field(default_factory=dict)

    def call(self) -> str:
        """The Python call that reproduces this result."""
        given = "".join(f", {k}={v!r}" for k, v in self.given.items())
        quick = ", quick=True" if self.quick else ""
        return f"glassnet.experiments.run({self.name!r}, seed={self.seed}{quick}{given})"

    def command(self) -> str:
        """The command line that reproduces this result."""
        sets = "".join(f" --set {k}={v}" for k, v in self.given.items())
        quick = " --quick" if self.quick else ""
        return f"glassnet experiment {self.name} --seed {self.seed}{quick}{sets}"

    def save(self, out: str | os.PathLike[str]) -> list[Path]:
        """Write ``numbers.json`` and ``summary.md`` into ``out`` (atomically)."""
        from glassnet._fileio import atomic_write_bytes

        folder = Path(out)
        numbers = folder / "numbers.json"
        summary = folder / "summary.md"
        payload = {"experiment": self.name, "seed": self.seed, "quick": self.quick,
                   "options": self.options, "seconds": round(self.seconds, 3),
                   "numbers": self.numbers}
        atomic_write_bytes(numbers, (json.dumps(payload, indent=2) + "\n").encode())
        atomic_write_bytes(summary, (self.summary + "\n").encode())
        return [numbers, summary]

    def _repr_markdown_(self) -> str:
        return self.summary


def _format_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_format_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        if len(v) > 12:
            return "[" + ", ".join(_format_value(x) for x in v[:12]) + f", ... ({len(v)})]"
        return "[" + ", ".join(_format_value(x) for x in v) + "]"
    return str(v)


def _summary(res: Result) -> str:
    lines = [f"## {res.name}: {res.title}", "",
             f"Lecture section {res.section}. Run: `{res.call()}` "
             f"({res.seconds:.1f} s).", "", "| number | value |", "|---|---|"]
    for k, v in res.numbers.items():
        lines.append(f"| `{k}` | {_format_value(v).replace('|', '/')} |")
    if res.notes:
        lines += ["", *res.notes]
    if res.figures:
        lines += ["", "Figures: " + ", ".join(f"`{p.name}`" for p in res.figures)]
    return "\n".join(lines)


# ---------------------------------------------------------------------- context
class Context:
    """What an experiment's ``compute`` gets: settings, a seeded generator, figure and
    data helpers.

    Attributes
    ----------
    name : str
    seed : int
    quick : bool
    opts : dict
        The resolved settings.
    rng : numpy.random.Generator
        ``default_rng(seed)``; the experiment's only source of randomness besides the
        glassnet default generator, which ``run`` seeds with the same seed.
    out : Path or None
        The output folder; figures are drawn only when it is given.
    """

    def __init__(self, name: str, seed: int, quick: bool, opts: dict[str, Any],
                 out: Path | None) -> None:
        self.name = name
        self.seed = seed
        self.quick = quick
        self.opts = opts
        self.out = out
        self.rng = np.random.default_rng(seed)
        self.figures: list[Path] = []
        self.notes: list[str] = []

    @property
    def drawing(self) -> bool:
        """Whether figures are wanted (an output folder was given)."""
        return self.out is not None

    def __getitem__(self, key: str) -> Any:
        return self.opts[key]

    def note(self, markdown: str) -> None:
        """A sentence of the summary saying what the numbers show."""
        self.notes.append(markdown.strip())

    def subplots(self, nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Any, Any]:
        """``matplotlib.pyplot.subplots`` with glassnet's figure style."""
        from glassnet.experiments._plot import subplots

        return subplots(nrows, ncols, **kw)

    def save(self, fig: Any, stem: str) -> Path:
        """Write ``fig`` as ``<out>/<stem>.png`` (atomically) and close it."""
        from glassnet.experiments._plot import save_figure

        if self.out is None:
            raise RuntimeError("save() needs an output folder; check ctx.drawing first")
        path = save_figure(fig, self.out / f"{stem}.png")
        self.figures.append(path)
        return path

    def image_data(self, n_train: int | None = None, n_test: int | None = None,
                   dataset: str = "auto", flat: bool = True) -> ImageData:
        """Real images scaled to [0, 1] (float32), subsampled with ``self.rng``.

        ``dataset="auto"`` takes Fashion-MNIST when its files are on this machine and the
        run is not quick, and scikit-learn's 8x8 digits otherwise.
        """
        return load_images(dataset, n_train, n_test, self.rng, quick=self.quick, flat=flat)


@dataclass
class ImageData:
    """A labelled image set: inputs in [0, 1], float32; labels int64."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, ...]
    classes: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def fashion_mnist_available() -> bool:
    """Whether Fashion-MNIST's four files are on this machine (nothing is downloaded)."""
    from glassnet.data import locate_dataset

    try:
        return all(locate_dataset("fashion-mnist", s) is not None for s in ("train", "test"))
    except Exception:
        return False


def _subsample(X: np.ndarray, y: np.ndarray, n: int | None,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if n is None or n >= len(y):
        return X, y
    idx = np.sort(rng.choice(len(y), size=n, replace=False))
    return X[idx], y[idx]


def load_images(dataset: str, n_train: int | None, n_test: int | None,
                rng: np.random.Generator, quick: bool = False, flat: bool = True) -> ImageData:
    """See :meth:`Context.image_data`."""
    from glassnet import data as D

    if dataset == "auto":
        dataset = "fashion-mnist" if not quick and fashion_mnist_available() else "digits"
    if dataset == "digits":
        xtr, ytr = D.load_digits("train")
        xte, yte = D.load_digits("test")
        classes = [str(i) for i in range(10)]
    elif dataset in ("fashion-mnist", "mnist"):
        loader = D.load_fashion_mnist if dataset == "fashion-mnist" else D.load_mnist
        xtr, ytr = loader("train", download=False)
        xte, yte = loader("test", download=False)
        xtr = xtr.astype(np.float32) / np.float32(255.0)
        xte = xte.astype(np.float32) / np.float32(255.0)
        classes = (list(D.FASHION_MNIST_CLASSES) if dataset == "fashion-mnist"
                   else [str(i) for i in range(10)])
    else:
        raise ExperimentError(
            f"unknown dataset {dataset!r}; choose auto, digits, fashion-mnist or mnist"
        )
    shape = tuple(xtr.shape[1:])
    xtr, ytr = _subsample(xtr, ytr, n_train, rng)
    xte, yte = _subsample(xte, yte, n_test, rng)
    if flat:
        xtr = xtr.reshape(len(xtr), -1)
        xte = xte.reshape(len(xte), -1)
    return ImageData(dataset, np.ascontiguousarray(xtr, dtype=np.float32),
                     ytr.astype(np.int64), np.ascontiguousarray(xte, dtype=np.float32),
                     yte.astype(np.int64), shape, classes)


# ---------------------------------------------------------------------- run
def _prepare_out(out: str | os.PathLike[str] | None) -> Path | None:
    if out is None:
        return None
    from glassnet.pipeline import check_writable

    return check_writable(out)


def run(name: str, out: str | os.PathLike[str] | None = None, seed: int = 0,
        quick: bool = False, **options: Any) -> Result:
    """Run experiment ``name`` and return its :class:`Result`.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    out : path, optional
        Folder for the figures (PNG), ``numbers.json`` and ``summary.md``; created if
        needed. Without it nothing is drawn or written.
    seed : int
        Seeds the experiment's generator and glassnet's default generator: the same seed
        gives the same numbers.
    quick : bool
        A small size, for tests (a few seconds).
    **options
        Overrides of the experiment's settings (see :func:`options`).

    Raises
    ------
    ExperimentError
        For an unknown name or option, or a value of the wrong type.
    """
    from glassnet.random import manual_seed

    mod = _module(name)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ExperimentError(f"seed must be a non-negative integer, got {seed!r}")
    opts = _resolve(mod, quick, options)
    folder = _prepare_out(out)
    ctx = Context(mod.NAME, int(seed), bool(quick), opts, folder)
    manual_seed(int(seed))
    t0 = time.perf_counter()
    numbers = mod.compute(ctx)
    seconds = time.perf_counter() - t0
    res = Result(name=mod.NAME, title=mod.TITLE, section=str(mod.SECTION),
                 numbers=jsonable(numbers), figures=list(ctx.figures), summary="",
                 options=jsonable(opts), seed=int(seed), quick=bool(quick),
                 seconds=seconds, notes=list(ctx.notes),
                 given={k: opts[k] for k in options})
    res.summary = _summary(res)
    if folder is not None:
        res.save(folder)
    return res
