"""Hyper-parameter sweeps: many ``glassnet train`` runs on a Dask cluster.

``glassnet sweep`` turns a search space into trials, each one ``glassnet train`` run with
its own options, and runs them on ``dask.distributed``: a ``LocalCluster`` of worker
processes by default (one trial per process at a time, so trials run in parallel), or an
existing cluster given ``--scheduler tcp://HOST:PORT``::

    glassnet sweep --grid lr=0.01,0.1 hidden=128,256 --epochs 5 --out sweeps/digits
    glassnet sweep sweep.toml --random 20

The search space is a grid (every combination of lists of values) or a random search
(``--random N``: N distinct draws from the lists and from ranges ``LOW..HIGH`` or
``LOW..HIGH:log``, seeded by ``--random-seed``). Every option of ``glassnet train`` not
swept applies to every trial. ``--out DIR`` receives:

- ``trials/NAME/``: each trial's run folder as ``glassnet train`` writes it (``last.ckpt``,
  ``history.json``, ``history.png``), its output in ``train.log`` and its record in
  ``trial.json``;
- ``results.csv``, ``results.md`` and ``results.json``: one row per trial, best first by
  the metric (rewritten as trials finish);
- ``best.png``: the metric per epoch of the best trials beside the metric of the best 15.

A trial that raises is recorded with its error and the others go on. A trial whose
worker dies (killed, out of memory) is run again by Dask on another worker, from the
trial's last checkpoint, up to ``--retries`` times; after that it is recorded as failed.
``--resume`` skips the trials that finished (same folder and options) and continues the
others from their checkpoints. A trial's folder name is its swept values and a hash of
its full command line, so a changed option makes a new trial rather than reusing an old
one.

Nothing here is imported by ``import glassnet``; dask is imported when a sweep runs
(``pip install "glassnet[dask]"``). The Python entry point is :func:`run`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import difflib
import hashlib
import io
import itertools
import json
import logging
import math
import os
import re
import shlex
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METRICS = ("val_accuracy", "val_loss", "test_accuracy", "test_loss", "train_accuracy",
           "train_loss")
#: ``glassnet train`` options a sweep sets itself: they cannot be given per trial
RESERVED = {"out": "each trial's folder is OUT/trials/NAME",
            "resume": "give --resume to the sweep: it resumes the unfinished trials",
            "quiet": "trials always run quietly (their output is in train.log)",
            "profile": "a trial's output goes to its train.log; profile with glassnet train",
            "help": "not an option of a trial"}
LOG_NAME = "train.log"
TRIAL_NAME = "trial.json"
_AUTO_METRICS = ("val_accuracy", "val_loss", "train_accuracy", "train_loss")
_SECTIONS = ("sweep", "train", "grid")
_CURVES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


class SweepConfigError(ValueError):
    """A bad search space, option or configuration file (the command exits with status 2)."""


# ---------------------------------------------------------------------- the search space
@dataclass(frozen=True)
class Range:
    """Values drawn uniformly between ``low`` and ``high`` (on a log scale if ``log``);
    integers when both ends are. Only a random search can draw from a range."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise SweepConfigError(f"range {self}: the ends must be finite numbers")
        if self.low > self.high:
            raise SweepConfigError(f"range {self}: low {self.low} is above high {self.high}")
        if self.log and self.low <= 0:
            raise SweepConfigError(f"range {self}: a log range needs low > 0, got {self.low}")

    def __str__(self) -> str:
        return f"{_format(self.low)}..{_format(self.high)}" + (":log" if self.log else "")

    def sample(self, rng: Any) -> int | float:
        if self.integer:
            if self.log:
                return int(round(math.exp(rng.uniform(math.log(self.low),
                                                      math.log(self.high)))))
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.log:
            v = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            v = float(rng.uniform(self.low, self.high))
        return float(f"{v:.4g}")  # readable trial names; 4 digits is finer than any sweep


_RANGE = re.compile(r"\s*([^.:\s][^:]*?)\s*\.\.\s*([^:]+?)\s*(:\s*log)?\s*")


def parse_range(text: str) -> Range | None:
    """``"LOW..HIGH"`` or ``"LOW..HIGH:log"`` as a Range; None if ``text`` is not one."""
    m = _RANGE.fullmatch(text)
    if m is None:
        return None
    try:
        low, high = (_number(m.group(i)) for i in (1, 2))
    except ValueError:
        raise SweepConfigError(f"range {text!r}: expected numbers like 1e-4..1e-1") from None
    integer = isinstance(low, int) and isinstance(high, int)
    return Range(float(low), float(high), log=m.group(3) is not None, integer=integer)


def _number(text: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_grid_item(item: str) -> tuple[str, list[str] | Range]:
    """``KEY=V1,V2,...`` -> (KEY, [V1, V2, ...]); ``KEY=LOW..HIGH[:log]`` -> (KEY, Range).

    Values that hold commas themselves (``hidden=256,128``) are separated by ``;``
    instead: ``hidden=256,128;128`` is two choices.
    """
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        hint = " (give CONFIG.toml before --grid)" if item.endswith(".toml") else ""
        raise SweepConfigError(f"--grid: expected KEY=VALUES like lr=0.01,0.1, got {item!r}"
                               + hint)
    rng = parse_range(text)
    if rng is not None:
        return key.strip(), rng
    values = [v.strip() for v in text.split(";" if ";" in text else ",")]
    if not any(values) or not all(values):
        raise SweepConfigError(f"--grid {item!r}: an empty value")
    return key.strip(), values


def _space_value(key: str, value: Any, where: str) -> list[Any] | Range:
    """A ``[grid]`` entry of a TOML file: a list of values, a range string or table."""
    if isinstance(value, dict):
        unknown = set(value) - {"low", "high", "log"}
        if unknown or not {"low", "high"} <= set(value):
            raise SweepConfigError(f"{where}: {key} = {value!r}: a range is "
                                   "{low = ..., high = ..., log = true|false}")
        low, high, log = value["low"], value["high"], value.get("log", False)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   for v in (low, high)) or not isinstance(log, bool):
            raise SweepConfigError(f"{where}: {key} = {value!r}: low and high must be "
                                   "numbers and log true or false")
        return Range(float(low), float(high), log=log,
                     integer=isinstance(low, int) and isinstance(high, int))
    if isinstance(value, str):
        rng = parse_range(value)
        if rng is not None:
            return rng
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SweepConfigError(f"{where}: {key} is an empty list")
    return values


# ---------------------------------------------------------------------- glassnet train's options
@dataclass(frozen=True)
class TrainOption:
    """One option of ``glassnet train``: its flag and whether it takes a value."""

    dest: str
    flag: str
    switch: bool  # a store_true flag such as --batch-norm


def train_parser() -> argparse.ArgumentParser:
    """The parser of ``glassnet train`` (the sub-parser of ``glassnet``'s)."""
    from glassnet.cli import build_parser

    # argparse keeps its sub-parsers in a private action; there is no public accessor
    sub = next(a for a in build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def train_options(parser: argparse.ArgumentParser | None = None) -> dict[str, TrainOption]:
    """``dest -> TrainOption`` for every option of ``glassnet train``."""
    parser = parser or train_parser()
    out = {}
    for a in parser._actions:
        long = [s for s in a.option_strings if s.startswith("--")]
        if long:
            out[a.dest] = TrainOption(a.dest, long[0], isinstance(a, argparse._StoreTrueAction))
    return out


def _option(key: str, options: Mapping[str, TrainOption], where: str) -> TrainOption:
    dest = key.strip().lstrip("-").replace("-", "_")
    if dest in RESERVED:
        raise SweepConfigError(f"{where}: --{dest.replace('_', '-')} cannot be set per "
                               f"trial: {RESERVED[dest]}")
    if dest not in options:
        flags = [o.flag for o in options.values() if o.dest not in RESERVED]
        close = difflib.get_close_matches("--" + dest.replace("_", "-"), flags, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SweepConfigError(f"{where}: unknown option {key!r}: glassnet train has no "
                               f"--{dest.replace('_', '-')}{hint}")
    return options[dest]


def _format(value: Any) -> str:
    """A value as a command-line word: 0.01, 256,128 for a list, true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, (list, tuple)):
        return ",".join(_format(v) for v in value)
    return str(value)


def _switch_on(opt: TrainOption, value: Any, where: str) -> bool:
    text = _format(value).lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise SweepConfigError(f"{where}: {opt.flag} is a switch: give true or false, "
                           f"got {value!r}")


def _words(opt: TrainOption, value: Any, where: str) -> list[str]:
    """The command-line words that give ``opt`` the value ``value``."""
    if opt.switch:
        return [opt.flag] if _switch_on(opt, value, where) else []
    if isinstance(value, bool):
        raise SweepConfigError(f"{where}: {opt.flag} takes a value, not {_format(value)}")
    return [f"{opt.flag}={_format(value)}"]  # "=" keeps values such as -1 attached


# ---------------------------------------------------------------------- trials
@dataclass(frozen=True)
class Trial:
    """One ``glassnet train`` run of a sweep."""

    name: str  # its folder under OUT/trials
    params: dict[str, str]  # the swept options, as written
    argv: tuple[str, ...]  # glassnet train's arguments (without --out)

    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params.items())


def _trial_name(params: Mapping[str, str], argv: Sequence[str]) -> str:
    digest = hashlib.sha256("\0".join(argv).encode()).hexdigest()[:8]
    slug = "_".join(f"{k}={v}" for k, v in params.items())
    slug = re.sub(r"[^A-Za-z0-9._=,+-]", "-", slug)[:80]
    return f"{slug}-{digest}" if slug else digest


def plan(
    grid: Mapping[str, Sequence[Any] | Range],
    train: Mapping[str, Any] | None = None,
    *,
    random: int | None = None,
    random_seed: int = 0,
    parser: argparse.ArgumentParser | None = None,
) -> tuple[list[Trial], list[str]]:
    """The trials of a sweep and notes about it (e.g. a random search capped at the size
    of its space). Every trial's command line is checked by ``glassnet train``'s parser.

    ``grid`` maps option names (``lr``, ``batch-size`` or ``batch_size``) to lists of
    values or to :class:`Range`; ``train`` holds the options every trial shares.
    """
    import numpy as np

    parser = parser or train_parser()
    options = train_options(parser)
    train = dict(train or {})
    if not grid:
        raise SweepConfigError("nothing to sweep: give CONFIG.toml with a [grid] table or "
                               "--grid KEY=VALUES (e.g. --grid lr=0.01,0.1)")
    fixed: list[str] = []
    fixed_dests = {}
    for key, value in train.items():
        opt = _option(key, options, "train options")
        fixed_dests[opt.dest] = key
        fixed += _words(opt, value, f"train option {key}")
    space: dict[TrainOption, list[Any] | Range] = {}
    for key, values in grid.items():
        opt = _option(key, options, f"grid {key}")
        if opt.dest in fixed_dests:
            raise SweepConfigError(f"{opt.flag} is both swept (grid {key}) and fixed "
                                   f"(train option {fixed_dests[opt.dest]}): give it once")
        if opt in space:
            raise SweepConfigError(f"{opt.flag} appears twice in the grid")
        if isinstance(values, Range) and opt.switch:
            raise SweepConfigError(f"grid {key}: {opt.flag} is a switch; a range makes no "
                                   "sense (use true,false)")
        if not isinstance(values, Range) and len(values) == 0:
            raise SweepConfigError(f"grid {key}: no values")
        space[opt] = values if isinstance(values, Range) else list(values)
    _check(parser, fixed, "train options")

    notes: list[str] = []
    if random is None:
        ranges = [o.flag for o, v in space.items() if isinstance(v, Range)]
        if ranges:
            raise SweepConfigError(f"grid {', '.join(ranges)}: a range can only be "
                                   "sampled: give --random N (a grid needs lists)")
        combos = [dict(zip(space, c)) for c in itertools.product(*space.values())]
    else:
        if random < 1:
            raise SweepConfigError(f"--random must be a positive number of trials, got "
                                   f"{random}")
        size = math.prod(math.inf if isinstance(v, Range) else len(v)
                         for v in space.values())
        want = int(min(random, size))
        if want < random:
            notes.append(f"the grid has only {want} distinct combinations; running "
                         f"{want} trials, not {random}")
        rng = np.random.default_rng(random_seed)
        combos, seen = [], set()
        for _ in range(100 * want):
            if len(combos) == want:
                break
            draw = {o: v.sample(rng) if isinstance(v, Range) else v[int(rng.integers(len(v)))]
                    for o, v in space.items()}
            key = tuple(_format(v) for v in draw.values())
            if key not in seen:
                seen.add(key)
                combos.append(draw)
        if len(combos) < want:
            notes.append(f"drew {len(combos)} distinct trials out of {want} asked for")
    trials: list[Trial] = []
    names: set[str] = set()
    for combo in combos:
        params = {o.dest.replace("_", "-"): _format(v) for o, v in combo.items()}
        label = " ".join(f"{k}={v}" for k, v in params.items())
        argv = list(fixed)
        for opt, value in combo.items():
            argv += _words(opt, value, f"trial {label}")
        _check(parser, argv, f"trial {label}")
        name = _trial_name(params, argv)
        if name in names:  # two spellings of the same value, e.g. 0.1 and 0.10
            raise SweepConfigError(f"trial {label} repeats an earlier trial: the grid "
                                   "lists the same value twice")
        names.add(name)
        trials.append(Trial(name, params, tuple(argv)))
    return trials, notes


def _check(parser: argparse.ArgumentParser, argv: list[str], where: str) -> None:
    """``glassnet train``'s own validation of a trial's arguments, as a one-line error."""
    from glassnet.cli import UsageError

    try:
        parser.parse_args(argv)
    except UsageError as e:
        message = re.sub(r"^glassnet train: |\s*\(see glassnet train --help\)$", "", str(e))
        raise SweepConfigError(f"{where}: {message}") from None


# ---------------------------------------------------------------------- configuration
@dataclass
class Settings:
    """What a sweep runs and where (the ``[sweep]`` table and the command's own flags)."""

    out: Path
    metric: str = "auto"
    random: int | None = None
    random_seed: int = 0
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    threads: int = 1
    retries: int = 2
    scheduler: str | None = None
    top: int = 5
    resume: bool = False


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SweepConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def _validators() -> dict[str, Callable[[str, Any], Any]]:
    def integer(name: str, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise SweepConfigError(f"{name} must be an integer, got {v!r}")
        return v

    def retries(name: str, v: Any) -> int:
        v = integer(name, v)
        if v < 0:
            raise SweepConfigError(f"{name} must be >= 0, got {v}")
        return v

    def metric(name: str, v: Any) -> str:
        if v not in (*METRICS, "auto"):
            raise SweepConfigError(f"{name} must be one of auto, {', '.join(METRICS)}; "
                                   f"got {v!r}")
        return str(v)

    def scheduler(name: str, v: Any) -> str:
        if not isinstance(v, str) or not re.fullmatch(
            r"((tcp|tls|ws|wss|ucx|inproc)://)?[^\s/:]+(:\d+)?/?", v
        ):
            raise SweepConfigError(f"{name} must be an address like tcp://HOST:PORT, "
                                   f"got {v!r}")
        return v

    def text(name: str, v: Any) -> str:
        if not isinstance(v, str) or not v:
            raise SweepConfigError(f"{name} must be a non-empty string, got {v!r}")
        return v

    return {"metric": metric, "random": _positive, "random_seed": integer,
            "workers": _positive, "threads": _positive, "retries": retries,
            "scheduler": scheduler, "top": _positive, "out": text}


def read_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The ``[sweep]``, ``[train]`` and ``[grid]`` tables of a TOML file, checked."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise ImportError("reading a TOML sweep file needs Python 3.11, or the tomli "
                              "package on Python 3.10 (pip install tomli)") from None
    path = Path(path)
    if not path.exists():
        raise SweepConfigError(f"sweep file '{path}' does not exist")
    if path.is_dir():
        raise SweepConfigError(f"sweep file '{path}' is a folder, not a TOML file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SweepConfigError(f"sweep file '{path}' is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise SweepConfigError(f"sweep file '{path}' is not valid TOML: {e}") from None
    except OSError as e:
        raise SweepConfigError(f"cannot read sweep file '{path}': {e.strerror}") from None
    unknown = [k for k in data if k not in _SECTIONS]
    if unknown:
        raise SweepConfigError(f"{path}: unknown table or key {unknown[0]!r} (a sweep file "
                               "has the tables [sweep], [train] and [grid])")
    tables = {}
    for section in _SECTIONS:
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise SweepConfigError(f"{path}: {section} must be a table [{section}]")
        tables[section] = table
    checks = _validators()
    for key, value in tables["sweep"].items():
        name = key.replace("-", "_")
        if name not in checks:
            raise SweepConfigError(f"{path}: unknown key {key!r} in [sweep] (known: "
                                   f"{', '.join(sorted(checks))})")
        tables["sweep"][key] = checks[name](f"{path}: [sweep] {key}", value)
    tables["sweep"] = {k.replace("-", "_"): v for k, v in tables["sweep"].items()}
    tables["grid"] = {k: _space_value(k, v, f"{path}: [grid]")
                      for k, v in tables["grid"].items()}
    parser = train_parser()  # name the file in errors of its options, before the trials
    options = train_options(parser)
    words: list[str] = []
    for key, value in tables["train"].items():
        opt = _option(key, options, f"{path}: [train]")
        words += _words(opt, value, f"{path}: [train] {key}")
    _check(parser, words, f"{path}: [train]")
    for key in tables["grid"]:
        _option(key, options, f"{path}: [grid]")
    return tables


# ---------------------------------------------------------------------- the command line
def add_arguments(parser: argparse.ArgumentParser, train: argparse.ArgumentParser) -> None:
    """The options of ``glassnet sweep``: its own, then every option of ``glassnet
    train`` (``train``'s parser) that a trial may take, collected as ``train__DEST``."""
    from glassnet.cli import _positive_int

    p = parser
    p.add_argument("config", nargs="?", default=None, metavar="CONFIG.toml",
                   help="a TOML file with [sweep], [train] and [grid] tables")
    p.add_argument("--grid", nargs="+", default=[], metavar="KEY=VALUES",
                   help="values to try: lr=0.01,0.1 (a list; ';' separates values that "
                        "hold commas: hidden=256,128;128) or lr=1e-4..1e-1:log (a range, "
                        "for --random)")
    p.add_argument("--random", type=_positive_int, default=None, metavar="N",
                   help="random search: N distinct trials drawn from the lists and ranges")
    p.add_argument("--random-seed", type=int, default=None, metavar="S",
                   help="seed of the draws (0)")
    p.add_argument("--metric", default=None, choices=["auto", *METRICS],
                   help="what ranks the trials (default auto: val_accuracy, else "
                        "val_loss, else the training values)")
    p.add_argument("--top", type=_positive_int, default=None, metavar="K",
                   help="trials drawn in the plot of the best (5)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="worker processes of the local cluster (default: the CPU count)")
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="threads per worker (1: one trial per process at a time; trials "
                        "sharing a process share its random generator: not reproducible)")
    p.add_argument("--retries", type=int, default=None, metavar="N",
                   help="runs of a trial after its worker died, on the local cluster (2)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="an existing Dask scheduler instead of a local cluster")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="sweep folder: trials/, results.csv/.md/.json, best.png "
                        "(default: sweeps/DATASET-MODEL)")
    p.add_argument("--resume", action="store_true",
                   help="skip the finished trials; continue the others from checkpoints")
    group = p.add_argument_group("options of glassnet train, applied to every trial")
    for a in train._actions:
        if a.dest in RESERVED or not a.option_strings:
            continue
        kw: dict[str, Any] = {"dest": f"train__{a.dest}", "default": argparse.SUPPRESS,
                              "help": a.help}
        if isinstance(a, argparse._StoreTrueAction):
            kw["action"] = "store_true"
        else:  # kept as written; glassnet train's parser checks each trial's words
            kw.update(choices=a.choices,
                      metavar=a.metavar or (None if a.choices else a.dest.upper()))
        group.add_argument(*a.option_strings, **kw)


def settings_from_args(args: argparse.Namespace) -> tuple[Settings, dict[str, Any],
                                                           dict[str, Any]]:
    """(settings, train options, grid) from the command line and its CONFIG.toml; the
    command line wins over the file."""
    tables = read_config(args.config) if args.config else {"sweep": {}, "train": {},
                                                            "grid": {}}
    given = {k: getattr(args, k) for k in _validators() if getattr(args, k, None) is not None}
    checks = _validators()
    for k, v in given.items():
        checks[k](f"--{k.replace('_', '-')}", v)
    merged = {**tables["sweep"], **given}
    train = dict(tables["train"])
    for k, v in vars(args).items():
        if k.startswith("train__"):
            train.pop(k[7:], None)
            train.pop(k[7:].replace("_", "-"), None)
            train[k[7:]] = v
    grid = dict(tables["grid"])
    given_keys: dict[str, str] = {}
    for item in args.grid:
        key, values = parse_grid_item(item)
        dest = key.lstrip("-").replace("-", "_")
        if dest in given_keys:
            raise SweepConfigError(f"--grid gives {key} twice ({given_keys[dest]!r} and "
                                   f"{item!r}): list every value once, e.g. "
                                   f"{key}=0.01,0.1")
        given_keys[dest] = item
        for k in [k for k in grid if k.lstrip("-").replace("-", "_") == dest]:
            del grid[k]  # the command line wins over the file
        grid[key] = values
    if "out" not in merged:
        d = train.get("dataset", "digits") if "dataset" not in grid else "datasets"
        m = train.get("model", "mlp") if "model" not in grid else "models"
        merged["out"] = str(Path("sweeps") / f"{d}-{m}")
    merged["out"] = Path(merged["out"])
    return Settings(**merged, resume=args.resume), train, grid


def main(args: argparse.Namespace) -> int:
    """``glassnet sweep``: 0 when every trial finished, 1 when one failed."""
    settings, train, grid = settings_from_args(args)
    result = run(grid, train, **vars(settings))
    return 0 if not result.failed else 1


# ---------------------------------------------------------------------- one trial (on a worker)
def _attempts(log: Path, sweep_id: str) -> int:
    """How many times this sweep has started the trial whose log is ``log``."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return 0
    return text.count(f"== sweep {sweep_id} attempt ")


def _at(values: Sequence[Any] | None, epoch: int | None) -> float | None:
    """The value of a per-epoch list at ``epoch`` (1-based; None: the last epoch)."""
    if not values:
        return None
    index = len(values) - 1 if epoch is None else epoch - 1
    return _finite(values[index]) if 0 <= index < len(values) else None


def _finite(v: Any) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def run_trial(argv: Sequence[str], folder: str, sweep_id: str, resume: bool) -> dict[str, Any]:
    """Run ``glassnet train ARGV --out FOLDER`` in this process and return its record.

    The trial's output and any traceback go to ``FOLDER/train.log``; an error is returned
    in the record (status "failed"), not raised. A second attempt of the same sweep (its
    worker died) or a resumed sweep continues from ``FOLDER/last.ckpt`` when there is one.
    """
    from glassnet import cli
    from glassnet.training import CHECKPOINT_NAME, HISTORY_NAME

    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    log_path = path / LOG_NAME
    attempt = _attempts(log_path, sweep_id) + 1
    again = (resume or attempt > 1) and (path / CHECKPOINT_NAME).exists()
    words = [*argv, "--out", folder, "--quiet", *(["--resume"] if again else [])]
    where = f"{socket.gethostname()}:{os.getpid()}"
    record: dict[str, Any] = {"attempts": attempt, "worker": where}
    t0 = time.perf_counter()
    with open(log_path, "a" if resume or attempt > 1 else "w", buffering=1) as log:
        log.write(f"== sweep {sweep_id} attempt {attempt}: pid {os.getpid()} on "
                  f"{socket.gethostname()}, {time.strftime('%Y-%m-%d %H:%M:%S')} ==\n"
                  f"$ glassnet train {shlex.join(words)}\n")
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                args = cli.build_parser().parse_args(["train", *words])
                args.func(args)
            history = json.loads((path / HISTORY_NAME).read_text())
            # the model glassnet train keeps (best.ckpt; the test values are its own)
            kept = history.get("best_epoch")
            record.update(status="ok", error="", epochs=history.get("epochs"),
                          best_epoch=kept,
                          test_loss=_finite(history.get("test_loss")),
                          test_accuracy=_finite(history.get("test_accuracy")),
                          **{k: _at(history.get(k), kept) for k in _CURVES},
                          curves={k: [_finite(v) for v in history.get(k) or []]
                                  for k in _CURVES})
        except Exception as e:
            traceback.print_exc(file=log)
            record.update(status="failed",
                          error=f"{type(e).__name__}: {cli._one_line(str(e))}".rstrip(": "))
        record["seconds"] = round(time.perf_counter() - t0, 3)
        log.write(f"== {record['status']} after {record['seconds']:.1f} s ==\n")
    return record


# ---------------------------------------------------------------------- the sweep (driver)
@dataclass
class SweepResult:
    """The records of a sweep, best first, and the files written."""

    records: list[dict[str, Any]]
    metric: str
    out: Path
    files: list[Path]
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] != "ok"]

    @property
    def best(self) -> dict[str, Any] | None:
        ok = [r for r in self.records if r["status"] == "ok"]
        return ok[0] if ok else None


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError('glassnet sweep runs on Dask: pip install "glassnet[dask]" '
                          "(dask[distributed])") from None
    return distributed


def _progress(total: int, done: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the bar is optional; the per-trial lines remain
        return None
    return tqdm(total=total, initial=done, desc="trials", unit="trial", file=sys.stderr,
                disable=None, dynamic_ncols=True)


def _finished(folder: Path, trial: Trial) -> dict[str, Any] | None:
    """The record of a trial that finished in an earlier sweep with the same options."""
    try:
        record = json.loads((folder / TRIAL_NAME).read_text())
    except (OSError, ValueError):
        return None
    if record.get("status") == "ok" and record.get("argv") == list(trial.argv):
        return record
    return None


def run(
    grid: Mapping[str, Sequence[Any] | Range],
    train: Mapping[str, Any] | None = None,
    *,
    out: str | os.PathLike[str],
    metric: str = "auto",
    random: int | None = None,
    random_seed: int = 0,
    workers: int | None = None,
    threads: int = 1,
    retries: int = 2,
    scheduler: str | None = None,
    top: int = 5,
    resume: bool = False,
    say: Callable[[str], None] = print,
) -> SweepResult:
    """Run a sweep of ``glassnet train`` trials on Dask and write its table and plot.

    ``grid`` maps ``glassnet train`` options to lists of values (or :class:`Range` for
    ``random``); ``train`` holds the options shared by every trial. With ``scheduler``
    None a ``LocalCluster`` of ``workers`` processes with ``threads`` threads each is
    started on 127.0.0.1 (and a trial whose worker dies is retried ``retries`` times);
    otherwise the trials go to the scheduler at that address, whose workers must import
    the same glassnet and see ``out`` (a shared file system).
    """
    from glassnet import pipeline as P

    trials, notes = plan(grid, train, random=random, random_seed=random_seed)
    if metric not in (*METRICS, "auto"):
        raise SweepConfigError(f"metric must be one of auto, {', '.join(METRICS)}; got "
                               f"{metric!r}")
    distributed = _distributed()
    out = P.check_writable(out)
    P.check_writable(out / "trials")
    for note in notes:
        say(f"note: {note}")
    sweep_id = uuid.uuid4().hex[:12]
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for t in trials:
        done = _finished(out / "trials" / t.name, t) if resume else None
        if done is not None:
            records[t.name] = done
        else:
            todo.append(t)
    if resume:
        say(f"resuming: {len(records)} of {len(trials)} trials finished earlier")
    if todo:
        _execute(distributed, todo, records, out, sweep_id, scheduler=scheduler,
                 workers=workers or os.cpu_count() or 1, threads=threads, retries=retries,
                 resume=resume, total=len(trials), metric=metric, say=say)
    ordered, chosen = _rank([records[t.name] for t in trials], metric)
    note = _ranking_note(metric, chosen, ordered)
    if note:
        say(f"note: {note}")
    files = write_tables(ordered, out, chosen)
    plot = plot_best(ordered, out / "best.png", chosen, top)
    if plot is not None:
        files.append(plot)
    result = SweepResult(ordered, chosen, out, files, notes)
    best = result.best
    if best is not None:
        say(f"best: {' '.join(f'{k}={v}' for k, v in best['params'].items())}: {chosen} "
            f"{_cell(best.get(chosen))} ({out / 'trials' / best['name']})")
    say(f"wrote {', '.join(str(f) for f in files)}")
    for r in result.failed:
        say(f"failed: {r['name']}: {r['error']}")
    return result


def _client(distributed: Any, scheduler: str | None, workers: int, threads: int,
            retries: int, stack: contextlib.ExitStack) -> Any:
    import dask

    if scheduler is not None:
        try:
            return stack.enter_context(distributed.Client(scheduler))
        except (OSError, TimeoutError) as e:
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler}: "
                                  f"{e}") from None
    with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
        # dashboard on any free port: never collide with another cluster; Dask's errors
        # only (its warnings, e.g. that a worker slow to exit was killed at the end, are
        # noise in the sweep's output)
        cluster = stack.enter_context(distributed.LocalCluster(
            n_workers=workers, threads_per_worker=threads, processes=True, host="127.0.0.1",
            dashboard_address=":0", silence_logs=logging.ERROR))
    return stack.enter_context(distributed.Client(cluster))


def _execute(distributed: Any, todo: list[Trial], records: dict[str, dict[str, Any]],
             out: Path, sweep_id: str, *, scheduler: str | None, workers: int, threads: int,
             retries: int, resume: bool, total: int, metric: str,
             say: Callable[[str], None]) -> None:
    """Run the trials, recording each as it finishes (trial.json and the tables).

    No more trials are submitted than the cluster has threads: Dask would otherwise
    assign the waiting ones to workers up front, and a worker that dies would take its
    waiting trials down with the one it runs (counted as a failure of each).
    """
    from glassnet._fileio import atomic_write_bytes

    with contextlib.ExitStack() as stack:
        client = _client(distributed, scheduler, workers, threads, retries, stack)
        waiting = list(todo)
        running: dict[Any, Trial] = {}
        finished = distributed.as_completed()

        def submit() -> None:
            slots = max(1, sum(client.nthreads().values()))
            while waiting and len(running) < slots:
                t = waiting.pop(0)
                # absolute: a worker of an existing cluster runs in a folder of its own
                folder = os.path.abspath(out / "trials" / t.name)
                future = client.submit(run_trial, list(t.argv), folder,
                                       sweep_id, resume, pure=False,
                                       key=f"glassnet-trial-{t.name}-{sweep_id}")
                running[future] = t
                finished.add(future)

        bar = _progress(total, total - len(todo))
        write = bar.write if bar is not None and not bar.disable else say
        try:
            submit()
            for future in finished:
                t = running.pop(future)
                folder = out / "trials" / t.name
                record = _outcome(future, distributed, folder, sweep_id,
                                  None if scheduler else retries)
                record = {"name": t.name, "params": t.params, "argv": list(t.argv),
                          "sweep": sweep_id, **record}
                records[t.name] = record
                folder.mkdir(parents=True, exist_ok=True)  # a trial that never started
                atomic_write_bytes(folder / TRIAL_NAME, json.dumps(record, indent=2).encode())
                ordered, chosen = _rank(records.values(), metric)
                write_tables(ordered, out, chosen)
                status = (f"{chosen} {_cell(record.get(chosen))}" if record["status"] == "ok"
                          else record["status"] + ": " + record["error"])
                seconds = record.get("seconds")
                write(f"trial {len(records)}/{total} {t.label()}: {status}"
                      + (f" ({seconds:.1f} s)" if seconds is not None else ""))
                if bar is not None:
                    bar.update(1)
                submit()
        except BaseException:
            client.cancel(list(running))
            raise
        finally:
            if bar is not None:
                bar.close()


def _outcome(future: Any, distributed: Any, folder: Path, sweep_id: str,
             retries: int | None) -> dict[str, Any]:
    """A trial's record from its future: what ``run_trial`` returned, or the failure."""
    try:
        return dict(future.result())
    except distributed.KilledWorker:
        times = "" if retries is None else (
            f" {retries + 1} time{'s' if retries else ''}")
        return {"status": "failed", "attempts": _attempts(folder / LOG_NAME, sweep_id),
                "error": f"KilledWorker: the worker running this trial died{times} "
                         "(killed, or out of memory?)"}
    except Exception as e:  # e.g. glassnet cannot be imported on the workers
        text = str(e).strip()
        return {"status": "failed",
                "error": f"{type(e).__name__}: {text.splitlines()[0]}" if text
                else type(e).__name__}


# ---------------------------------------------------------------------- results
def _maximize(metric: str) -> bool:
    return metric.endswith("accuracy")


def _rank(records: Iterable[dict[str, Any]], metric: str) -> tuple[list[dict[str, Any]], str]:
    """Records best first (finished, by the metric, equal accuracies by the loss; then
    those without it; then failed), each with its ``rank``; and the metric used (``auto``
    resolved)."""
    records = list(records)
    ok = [r for r in records if r["status"] == "ok"]
    if metric == "auto":
        metric = next((m for m in _AUTO_METRICS if any(r.get(m) is not None for r in ok)),
                      "val_accuracy")
    sign = -1.0 if _maximize(metric) else 1.0
    tie = metric.replace("accuracy", "loss")  # equal accuracies: the lower loss first

    def key(r: dict[str, Any]) -> tuple[float, float, str]:
        second = r.get(tie)
        return sign * r[metric], math.inf if second is None else second, r["name"]

    scored = sorted((r for r in ok if r.get(metric) is not None), key=key)
    rest = sorted((r for r in ok if r.get(metric) is None), key=lambda r: r["name"])
    failed = sorted((r for r in records if r["status"] != "ok"), key=lambda r: r["name"])
    ordered = [*scored, *rest, *failed]
    for i, r in enumerate(ordered):
        r["rank"] = i + 1 if r["status"] == "ok" else None
    return ordered, metric


def _ranking_note(asked: str, chosen: str, records: Sequence[dict[str, Any]]) -> str:
    """A warning when ``auto`` could only rank the finished trials by a training value."""
    if asked != "auto" or not chosen.startswith("train_") or not any(
            r["status"] == "ok" for r in records):
        return ""
    return (f"no trial has a validation value (--val-fraction 0, or a regression set such "
            f"as curve): ranked by {chosen}, which favours the most flexible model; "
            f"--metric {chosen.replace('train_', 'test_')} ranks on the test split")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"
    return str(v)


def _columns(records: Sequence[dict[str, Any]], metric: str) -> tuple[list[str], list[str]]:
    params = list(dict.fromkeys(k for r in records for k in r["params"]))
    metrics = [metric, *(m for m in METRICS if m != metric)]
    return params, metrics


def write_tables(records: Sequence[dict[str, Any]], out: Path, metric: str) -> list[Path]:
    """``results.csv``, ``results.md`` and ``results.json`` in ``out``, written atomically."""
    from glassnet._fileio import atomic_write_bytes

    params, metrics = _columns(records, metric)
    head = ["rank", "trial", *params, "status", *metrics, "best_epoch", "epochs", "seconds",
            "attempts", "worker", "error"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for r in records:
        w.writerow([r.get("rank") or "", r["name"], *(r["params"].get(p, "") for p in params),
                    r["status"], *(_cell(r.get(m)) for m in metrics),
                    r.get("best_epoch") or "", r.get("epochs") or "",
                    r.get("seconds", ""), r.get("attempts") or "", r.get("worker") or "",
                    r.get("error") or ""])
    # two more columns: the accuracies, or the losses where no trial has an accuracy
    # (a regression)
    held_out = [m for m in ("val_accuracy", "test_accuracy", "val_loss", "test_loss")
                if m != metric and any(r.get(m) is not None for r in records)]
    shown = [metric, *(held_out or ["val_accuracy", "test_accuracy"])[:2]]
    ok = sum(r["status"] == "ok" for r in records)
    lines = [f"# Sweep: {len(records)} trials, {ok} finished, ranked by {metric} "
             f"({'higher' if _maximize(metric) else 'lower'} is better)", "",
             "| rank | " + " | ".join([*params, *shown, "best epoch", "epochs", "seconds",
                                       "status"]) + " |",
             "|" + "---|" * (len(params) + len(shown) + 5)]
    for r in records:
        status = r["status"] if r["status"] == "ok" else f"failed: {r.get('error', '')}"
        cells = [r.get("rank") or "", *(r["params"].get(p, "") for p in params),
                 *(_cell(r.get(m)) for m in shown), r.get("best_epoch") or "",
                 r.get("epochs") or "",
                 "" if r.get("seconds") is None else f"{r['seconds']:.1f}", status]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    lines += ["", "Each value is that of the model the trial's `glassnet train` kept "
              "(`best.ckpt`, at its best epoch; the last epoch when there is no best); the "
              "test values are that model's. Each trial's run folder is `trials/<trial>` "
              "(the `trial` column of results.csv)."]
    paths = [out / "results.csv", out / "results.md", out / "results.json"]
    atomic_write_bytes(paths[0], buf.getvalue().encode())
    atomic_write_bytes(paths[1], ("\n".join(lines) + "\n").encode())
    atomic_write_bytes(paths[2], json.dumps({"metric": metric, "trials": list(records)},
                                            indent=2).encode())
    return paths


_LABELS = {"val_accuracy": "validation accuracy", "val_loss": "validation loss",
           "test_accuracy": "test accuracy", "test_loss": "test loss",
           "train_accuracy": "training accuracy", "train_loss": "training loss"}


def plot_best(records: Sequence[dict[str, Any]], path: Path, metric: str,
              top: int = 5) -> Path | None:
    """The metric per epoch of the ``top`` best trials, their kept epochs ringed (left),
    and the metric of the best 15 trials as dots (right: a dot plot, since the axis does
    not start at zero), as a PNG; None when no trial finished or matplotlib is missing."""
    ok = [r for r in records if r["status"] == "ok" and r.get(metric) is not None]
    if not ok:
        return None
    try:
        from glassnet.experiments import _plot

        fig, (left, right) = _plot.subplots(1, 2, figsize=(12, 4.6))
    except ImportError:
        return None
    curve = metric.replace("test_", "val_")  # no test value per epoch: show validation
    best = ok[:top]
    for i, r in enumerate(best):
        color = _plot.PALETTE[i % len(_plot.PALETTE)]
        ys = [math.nan if v is None else v for v in r.get("curves", {}).get(curve, [])]
        label = f"#{i + 1} " + " ".join(f"{k}={v}" for k, v in r["params"].items())
        left.plot(range(1, len(ys) + 1), ys, "o-" if len(ys) < 30 else "-", ms=4,
                  color=color, label=label)
        kept = r.get("best_epoch")
        if kept is not None and 0 < kept <= len(ys):
            left.plot([kept], [ys[kept - 1]], "o", ms=11, mfc="none", mew=1.5, color=color)
    left.set_xlabel("epoch")
    left.xaxis.get_major_locator().set_params(integer=True)
    left.set_ylabel(_LABELS[curve])
    ringed = any(r.get("best_epoch") is not None for r in best)
    left.set_title(f"{_LABELS[curve]} per epoch, best {len(best)} trials"
                   + (" (ring: the kept epoch)" if ringed else ""))
    left.legend(fontsize=8)
    shown = ok[:15]
    names = [f"#{i + 1} " + " ".join(f"{k}={v}" for k, v in r["params"].items())
             for i, r in enumerate(shown)]
    colors = [_plot.PALETTE[i % len(_plot.PALETTE)] if i < len(best) else "#999999"
              for i in range(len(shown))]
    values = [r[metric] for r in shown]
    rows = range(len(shown))
    right.hlines(rows, min(values), max(values), color="#dddddd", lw=0.8, zorder=1)
    right.scatter(values, rows, s=50, c=colors, zorder=2)
    right.set_yticks(rows, names, fontsize=8)
    right.set_ylim(len(shown) - 0.5, -0.5)
    right.set_xlabel(f"{_LABELS[metric]} of the kept model")
    span = max(max(values) - min(values), 1e-3)
    right.set_xlim(min(values) - 0.1 * span, max(values) + 0.25 * span)
    for i, v in enumerate(values):
        right.annotate(f"{v:.4f}", (v, i), xytext=(6, 0), textcoords="offset points",
                       va="center", fontsize=8)
    failed = sum(r["status"] != "ok" for r in records)
    right.set_title(f"{len(ok)} finished trials" + (f" ({failed} failed)" if failed else "")
                    + ("" if len(ok) <= 15 else ", best 15 shown"))
    fig.suptitle(f"sweep of {len(records)} trials, ranked by {_LABELS[metric]}")
    return _plot.save_figure(fig, path)
