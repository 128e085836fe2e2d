"""glassnet against its peers on the CPU: one command, results in benchmarks/RESULTS.md.

    python benchmarks/run.py                  # the full run (>= 5 alternating rounds)
    python benchmarks/run.py --quick          # 1 round on 10,000 images, well under a minute
    python benchmarks/run.py --only epoch,per_op --rounds 7

See benchmarks/README.md for what is measured and how the comparison is kept fair.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import select
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from contenders import CONTENDERS, MODEL_TITLES, MODELS  # noqa: E402

SECTIONS = ("epoch", "large_batch", "accuracy", "per_op", "derivatives", "import", "memory")
ALIASES = {"ops": "per_op", "hessian": "derivatives", "batch1024": "large_batch", "mem": "memory"}
PEER_TITLES = {
    "glassnet": "glassnet",
    "compiled": "glassnet compiled",
    "torch": "PyTorch",
    "jax": "JAX jit step",
    "numpy": "NumPy by hand",
    "sklearn": "scikit-learn",
}
INSTALL_HINTS = {  # contender: (module, library, how to install it)
    "glassnet": ("glassnet", "glassnet", "pip install -e ."),
    "compiled": ("glassnet", "glassnet", "pip install -e ."),
    "torch": ("torch", "PyTorch", "pip install torch==2.13.0"),
    "jax": ("jax", "JAX", 'pip install "jax[cpu]"'),
    "numpy": ("numpy", "NumPy", "pip install numpy"),
    "sklearn": ("sklearn", "scikit-learn", "pip install scikit-learn"),
}
IMPORT_MODULES = ("python", "numpy", "glassnet", "torch", "jax")
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
N_OPS = 1000
LARGE_BATCH = 1024
BATCH = 128
REQUEST_TIMEOUT = 900.0
NOISY = 0.25  # other processes busy on this many CPUs or more: a disturbed measurement
RETRY_NOISE = 0.5
QUIET = 0.5  # start a timing once other processes keep at most this many CPUs busy...
WAIT_BUDGET = 180.0  # ...waiting at most this long in the whole run

# The targets of issue 5.
TARGET_PER_OP_US = 4.0
TARGET_HESSIAN_MS = 0.3
TARGET_IMPORT_S = 0.3
TARGET_IMPORT_MB = 40.0
TARGET_MEMORY_RATIO = 0.6
TARGET_ACCURACY_POINTS = 0.5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- set-up


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Benchmark glassnet against PyTorch, JAX, scikit-learn and a NumPy loop.",
    )
    p.add_argument("--quick", action="store_true",
                   help="1 round on a 10,000-image subset, 1 accuracy epoch (a smoke run)")
    p.add_argument("--rounds", type=int, default=None,
                   help="alternating rounds of every timing (default 5; 1 with --quick)")
    p.add_argument("--memory-rounds", type=int, default=None,
                   help="rounds of the fresh-process memory measurement (default 3; 1 quick)")
    p.add_argument("--accuracy-epochs", type=int, default=None,
                   help="epochs before the test accuracy is taken (default 5; 1 with --quick)")
    p.add_argument("--accuracy-seeds", type=int, default=None,
                   help="batch orders (seeds) the test accuracy is averaged over, the same for "
                        "every contender (default 3; 1 with --quick)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections out of {', '.join(SECTIONS)}")
    p.add_argument("--contenders", default=",".join(CONTENDERS),
                   help=f"comma-separated, out of {', '.join(CONTENDERS)}")
    p.add_argument("--threads", type=int, default=2, help="threads for every contender")
    p.add_argument("--max-wait", type=float, default=None,
                   help=f"before each timing, wait up to this many seconds while other "
                        f"processes keep more than {QUIET} CPUs busy (default 20, at most "
                        f"{WAIT_BUDGET:.0f} s in all; 0 with --quick)")
    p.add_argument("--retries", type=int, default=0,
                   help=f"measure a training epoch again (up to this many times) when other "
                        f"processes kept more than {RETRY_NOISE} CPUs busy meanwhile, keeping "
                        f"the least disturbed measurement (default 0)")
    p.add_argument("--out", default=str(HERE / "RESULTS.md"), help="the Markdown report")
    p.add_argument("--json", default=None, help="also write the raw measurements here")
    p.add_argument("--synthetic", action="store_true",
                   help="use synthetic data of Fashion-MNIST's shape even if it is present")
    p.add_argument("--data-root", default=None,
                   help="folder holding the Fashion-MNIST files (else glassnet's search path)")
    p.add_argument("--unset-openblas-env", action="store_true",
                   help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the environment "
                        "of the benchmark's processes (reported in the results)")
    args = p.parse_args(argv)
    args.rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    args.memory_rounds = (
        args.memory_rounds if args.memory_rounds is not None else (1 if args.quick else 3)
    )
    args.accuracy_epochs = (
        args.accuracy_epochs if args.accuracy_epochs is not None else (1 if args.quick else 5)
    )
    args.accuracy_seeds = (
        args.accuracy_seeds if args.accuracy_seeds is not None else (1 if args.quick else 3)
    )
    args.max_wait = args.max_wait if args.max_wait is not None else (0.0 if args.quick else 20.0)
    if args.retries < 0 or args.max_wait < 0:
        p.error("--retries and --max-wait must be >= 0")
    for name in ("rounds", "memory_rounds", "accuracy_epochs", "accuracy_seeds", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.rounds < 5 and not args.quick:
        log(f"note: {args.rounds} rounds; issue 5 asks for at least 5 alternating rounds")
    sections = [ALIASES.get(s.strip(), s.strip()) for s in args.only.split(",") if s.strip()]
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        p.error(f"--only: unknown section(s) {', '.join(bad)}; choose from {', '.join(SECTIONS)}")
    args.sections = [s for s in SECTIONS if s in sections]
    names = [c.strip() for c in args.contenders.split(",") if c.strip()]
    bad = [c for c in names if c not in CONTENDERS]
    if bad:
        p.error(f"--contenders: unknown {', '.join(bad)}; choose from {', '.join(CONTENDERS)}")
    args.contender_list = [c for c in CONTENDERS if c in names]
    args.skipped = []
    for name in list(args.contender_list):
        module, library, hint = INSTALL_HINTS[name]
        if importlib.util.find_spec(module) is None:
            args.skipped.append(f"{library} not installed ({hint}): that peer is skipped")
            log(args.skipped[-1])
            args.contender_list.remove(name)
    return args


def child_env(threads: int, unset_openblas: bool) -> dict[str, str]:
    """The environment of every benchmark process: the same thread count for all."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    xla = env.get("XLA_FLAGS", "")
    env["XLA_FLAGS"] = (
        f"{xla} --xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={threads}"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if unset_openblas:
        for var in OPENBLAS_VARS:
            env.pop(var, None)
    return env


def load_data(args: argparse.Namespace) -> tuple[dict[str, np.ndarray], str]:
    """Fashion-MNIST (uint8 images, int64 labels) or synthetic data of the same shape."""
    if not args.synthetic:
        try:
            from glassnet.data import load_fashion_mnist

            X, y = load_fashion_mnist("train", root=args.data_root, download=False)
            X_test, y_test = load_fashion_mnist("test", root=args.data_root, download=False)
            where = args.data_root or "glassnet's search path (e.g. /usr/share/datasets)"
            return {"X": X, "y": y, "X_test": X_test, "y_test": y_test}, (
                f"Fashion-MNIST ({len(X):,} training and {len(X_test):,} test images, "
                f"found through {where})"
            )
        except Exception as exc:  # any failure to load falls back to synthetic data
            reason = f"Fashion-MNIST not loaded ({type(exc).__name__}: {str(exc)[:120]})"
    else:
        reason = "--synthetic"
    rng = np.random.default_rng(2024)
    prototypes = rng.integers(0, 256, size=(10, 28, 28))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, size=n)
        noise = rng.integers(0, 256, size=(n, 28, 28))
        images = ((prototypes[labels] + noise) // 2).astype(np.uint8)
        # 15% of the labels redrawn at random, so that no model reaches 100% accuracy
        relabel = rng.random(n) < 0.15
        labels[relabel] = rng.integers(0, 10, size=int(relabel.sum()))
        return images, labels.astype(np.int64)

    X, y = draw(60000)
    X_test, y_test = draw(10000)
    return {"X": X, "y": y, "X_test": X_test, "y_test": y_test}, (
        f"SYNTHETIC data of Fashion-MNIST's shape (60,000 + 10,000 images 28x28, 10 classes; "
        f"class prototypes plus noise, 15% of the labels random), because: {reason}"
    )


def pytorch_default_init(sizes: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...] drawn as torch.nn.Linear does: U(-1/sqrt(in), 1/sqrt(in))."""
    arrays = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(d_in)
        arrays.append(rng.uniform(-bound, bound, size=(d_out, d_in)).astype(np.float32))
        arrays.append(rng.uniform(-bound, bound, size=(d_out,)).astype(np.float32))
    return arrays


def write_data(folder: Path, data: dict[str, np.ndarray], limit: int | None) -> int:
    """Pixels scaled to [0, 1] float32 and flattened, labels int64, initial weights."""
    n = len(data["X"]) if limit is None else min(limit, len(data["X"]))
    for split, key in (("train", "X"), ("test", "X_test")):
        images = data[key][:n] if split == "train" else data[key]
        x = images.reshape(len(images), -1).astype(np.float32)
        x /= 255
        np.save(folder / f"{split}_x.npy", x)
    np.save(folder / "train_y.npy", data["y"][:n].astype(np.int64))
    np.save(folder / "test_y.npy", data["y_test"].astype(np.int64))
    rng = np.random.default_rng(0)
    for name, sizes in MODELS.items():
        np.savez(folder / f"init_{name}.npz", *pytorch_default_init(sizes, rng))
    return n


# ----------------------------------------------------------------------------- workers

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_ticks() -> int | None:
    """CPU ticks spent by the whole machine so far, not idle (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


def _process_ticks(pid: int) -> int | None:
    """CPU ticks spent by process ``pid`` (all its threads) so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime


class OtherLoad:
    """How many CPUs processes other than this one and ``pid`` keep busy from now on:
    the machine's busy time (/proc/stat) minus theirs (/proc/PID/stat), per second."""

    def __init__(self, pid: int) -> None:
        self.pids = (pid, os.getpid())
        self.start = time.perf_counter()
        self.ticks = self._ticks()

    def _ticks(self) -> int | None:
        busy = _busy_ticks()
        ours = [_process_ticks(p) for p in self.pids]
        if busy is None or None in ours:
            return None
        return busy - sum(ours)  # type: ignore[arg-type]

    def cpus(self) -> float | None:
        """The average since construction; None if unknown or too short to tell."""
        elapsed = time.perf_counter() - self.start
        now = self._ticks()
        if now is None or self.ticks is None or elapsed < 0.1:
            return None
        return max(now - self.ticks, 0) / CLOCK_TICKS / elapsed


def wait_until_quiet(pid: int, args: argparse.Namespace, waits: dict[str, float]) -> None:
    """Before a timing: while other processes keep more than QUIET CPUs busy, wait (at most
    ``--max-wait`` seconds here, and ``WAIT_BUDGET`` seconds in the whole run)."""
    start = time.perf_counter()
    announced = False
    while True:
        load = OtherLoad(pid)
        time.sleep(0.3)
        busy = load.cpus()
        waited = time.perf_counter() - start
        if (busy is None or busy <= QUIET or waited >= args.max_wait
                or waits["total"] + waited >= WAIT_BUDGET):
            break
        if not announced:
            log(f"  other processes keep {busy:.2f} CPUs busy: waiting (at most "
                f"{args.max_wait:.0f} s) for a quieter machine")
            announced = True
    if announced:
        waits["total"] += waited
        waits["count"] += 1


class Worker:
    """One contender's child process (worker.py serve), asked one request at a time."""

    def __init__(self, name: str, data_dir: Path, args: argparse.Namespace,
                 env: dict[str, str], waits: dict[str, float]) -> None:
        self.name, self.args, self.waits = name, args, waits
        self.ops: list[str] = []
        threads = args.threads
        self.log_path = data_dir / f"{name}.log"
        self.log = open(self.log_path, "w+")  # closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), "serve", name, str(data_dir), str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env,
            text=True, bufsize=1,
        )
        self.dead: str | None = None

    def _log_tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-1500:]

    def ask(self, request: dict[str, Any] | None, errors: list[str]) -> dict[str, Any] | None:
        """Send ``request`` (None: just read the next answer); None on any failure."""
        if self.dead:
            return None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            if request is not None:
                self.proc.stdin.write(json.dumps(request) + "\n")
                self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], REQUEST_TIMEOUT)
            line = self.proc.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError) as exc:
            line, ready = "", [exc]
        if not line:
            self.dead = "timed out" if not ready else "exited"
            self.proc.kill()
            errors.append(f"{self.name}: the worker {self.dead}: {self._log_tail()}")
            log(errors[-1])
            return None
        reply = json.loads(line)
        if reply["ok"]:
            return reply["result"]
        if not reply.get("missing"):
            what = request["op"] if request else "start"
            errors.append(f"{self.name} {what} {request or ''}: {reply['error']}")
            log(errors[-1])
            if request is None:
                self.dead = "failed to start"
        return None

    def measure(self, request: dict[str, Any], errors: list[str],
                noise: list[float]) -> tuple[dict[str, Any] | None, float]:
        """``ask`` (once the machine is quiet, see ``wait_until_quiet``); also return how
        many CPUs other processes kept busy meanwhile (``OtherLoad``; 0 if unknown), and
        append that to ``noise`` when the request succeeded and took long enough to tell."""
        if self.args.max_wait > 0:
            wait_until_quiet(self.proc.pid, self.args, self.waits)
        load = OtherLoad(self.proc.pid)
        result = self.ask(request, errors)
        busy = load.cpus()
        if result is not None and busy is not None:
            noise.append(busy)
        return result, busy or 0.0

    def close(self) -> None:
        if not self.dead and self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


# ----------------------------------------------------------------------------- measurements

IMPORT_CODE = """
import json, time
t0 = time.perf_counter()
{statement}
t1 = time.perf_counter()
rss = 0
with open('/proc/self/status') as f:
    for line in f:
        if line.startswith('VmRSS:'):
            rss = int(line.split()[1])
print(json.dumps({{'seconds': t1 - t0, 'rss_kb': rss}}))
"""


def measure_imports(
    args: argparse.Namespace, env: dict[str, str], store: dict, errors: list
) -> None:
    modules = [m for m in IMPORT_MODULES if m in ("python", "numpy") or m in args.contender_list]
    rounds = max(args.rounds, 1)
    for r in range(rounds):
        for module in modules:
            statement = "pass" if module == "python" else f"import {module}"
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", IMPORT_CODE.format(statement=statement)],
                capture_output=True, text=True, env=env, timeout=300, cwd=HERE,
            )
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                errors.append(f"import {module}: {proc.stderr[-1500:]}")
                log(errors[-1])
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            store[module]["seconds"].append(result["seconds"])
            store[module]["wall"].append(wall)
            store[module]["rss_mb"].append(result["rss_kb"] / 1024)
            log(f"import round {r + 1}/{rounds}: {module:9s} {result['seconds']:.3f} s, "
                f"{result['rss_kb'] / 1024:.1f} MB")


def measure_memory(
    args: argparse.Namespace, data_dir: Path, env: dict[str, str], store: dict, errors: list
) -> None:
    names = args.contender_list
    if args.quick:  # the target compares these two; the others run the same code path
        names = [c for c in names if c in ("glassnet", "torch")] or names
    for r in range(args.memory_rounds):
        for name in names:
            command = [sys.executable, str(HERE / "worker.py"), "memory", name, str(data_dir),
                       str(args.threads), "mlp256", str(BATCH), str(100 + r)]
            proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
            if proc.returncode != 0:
                errors.append(f"memory {name}: {proc.stderr[-1500:]}")
                log(errors[-1])
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            for key, value in result.items():
                store[name][key].append(value)
            log(f"memory round {r + 1}/{args.memory_rounds}: {name:8s} first epoch "
                f"+{result['first_mb']:.1f} MB, second +{result['second_mb']:.1f} MB")


def run_workers(args: argparse.Namespace, data_dir: Path, n_train: int, env: dict[str, str],
                results: dict, noise: dict, retried: dict, waits: dict, errors: list,
                started: float) -> dict[str, Any]:
    def stamp(what: str) -> None:
        log(f"[{time.perf_counter() - started:.0f} s] {what}")

    workers = {name: Worker(name, data_dir, args, env, waits) for name in args.contender_list}
    info: dict[str, Any] = {}
    try:
        for w in workers.values():  # all start together; wait for each to be ready
            ready = w.ask(None, errors)
            w.ops = ready["ops"] if ready else []
        for name, w in workers.items():
            info[name] = w.ask({"op": "info"}, errors)

        epoch_cases: list[tuple[str, int]] = []
        if "epoch" in args.sections:
            epoch_cases += [(model, BATCH) for model in MODELS]
        if "large_batch" in args.sections:
            epoch_cases.append(("mlp256", LARGE_BATCH))
        budget = 0.05 if args.quick else 0.3
        min_calls = 1 if args.quick else 3

        stamp("workers ready; warm-up (untimed): a few batches of every case, every contender")
        for model, batch in epoch_cases:
            limit = min(n_train, 8 * batch + n_train % batch)
            spent = []
            for w in workers.values():
                t0 = time.perf_counter()
                w.ask({"op": "epoch", "model": model, "batch_size": batch, "seed": 0,
                       "limit": limit}, errors)
                spent.append(f"{w.name} {time.perf_counter() - t0:.2f} s")
            log(f"warm-up {model} batch {batch} ({limit} images): {', '.join(spent)}")

        stamp("warm-up done")
        for r in range(args.rounds):
            stamp(f"round {r + 1}/{args.rounds}")
            seed = 1000 + r
            # each round starts with the next contender, so that none is always first
            # (or always right after the same one)
            names = list(workers)
            shift = r % len(names) if names else 0
            turn = [(n, workers[n]) for n in names[shift:] + names[:shift]]
            for model, batch in epoch_cases:
                section = "epoch" if batch == BATCH else "large_batch"
                for name, w in turn:
                    request = {"op": "epoch", "model": model, "batch_size": batch, "seed": seed}
                    tries: list[tuple[dict[str, Any] | None, float]] = []
                    for _ in range(1 + args.retries):
                        tries.append(w.measure(request, errors, []))
                        if tries[-1][0] is None or tries[-1][1] <= RETRY_NOISE:
                            break
                    retried[section] += len(tries) - 1
                    out, busy = min(tries, key=lambda t: (t[0] is None, t[1]))
                    if out is None:
                        continue
                    noise[section].append(busy)
                    results[section][model][name].append(out["seconds"])
                    results[section + "_loss"][model][name].append(out["loss"])
                    if "fit_seconds" in out:
                        results[section + "_fit"][model][name].append(out["fit_seconds"])
                    log(f"round {r + 1}/{args.rounds}: {section} {model} batch {batch}: "
                        f"{name:8s} {out['seconds']:.3f} s (loss {out['loss']:.4f}; "
                        f"others busy {busy:.2f} CPUs)")
            if "per_op" in args.sections:
                for _, w in turn:
                    if "per_op" not in w.ops:
                        continue
                    out, _ = w.measure({"op": "per_op", "n_ops": N_OPS, "budget": 2 * budget,
                                        "min_calls": min_calls}, errors, noise["per_op"])
                    for variant, seconds in (out or {}).items():
                        results["per_op"]["chain"][variant].append(seconds * 1e6)
                        log(f"round {r + 1}/{args.rounds}: per op {variant:12s} "
                            f"{seconds * 1e6:.2f} us")
            if "derivatives" in args.sections:
                for _, w in turn:
                    if "derivatives" not in w.ops:
                        continue
                    out, _ = w.measure({"op": "derivatives", "budget": budget,
                                        "min_calls": min_calls}, errors, noise["derivatives"])
                    for case, variants in (out or {}).items():
                        for variant, seconds in variants.items():
                            results["derivatives"][case][variant].append(seconds * 1e3)
                            log(f"round {r + 1}/{args.rounds}: {case:8s} {variant:8s} "
                                f"{seconds * 1e3:.3f} ms")

        if "accuracy" in args.sections:
            stamp("test accuracy")
            for k in range(args.accuracy_seeds):
                for model in MODELS:
                    for name, w in workers.items():
                        if "accuracy" not in w.ops:
                            continue
                        out = w.ask({"op": "accuracy", "model": model,
                                     "epochs": args.accuracy_epochs, "batch_size": BATCH,
                                     "seed": 7 + k}, errors)
                        if out is not None:
                            results["accuracy"][model][name].append(out["accuracy"])
                            results["accuracy_loss"][model][name].append(out["loss"])
                            if "seconds" in out:
                                results["accuracy_seconds"][model][name].append(out["seconds"])
                            log(f"accuracy {model} seed {7 + k}: {name:8s} "
                                f"{100 * out['accuracy']:.2f} %")
    finally:
        for w in workers.values():
            w.close()
    return info


# ----------------------------------------------------------------------------- report


def med(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def cell(values: list[float] | None, fmt: str) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(med(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


def mean_cell(values: list[float] | None, scale: float = 1.0) -> str:
    """Mean (min-max) of ``values`` times ``scale``, two decimals; '-' when there are none."""
    if not values:
        return "-"
    text = f"{scale * mean(values):.2f}"
    if len(values) > 1:
        text += f" ({scale * min(values):.2f}-{scale * max(values):.2f})"
    return text


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def core_count() -> str:
    """'N logical CPUs (M physical cores)', from os.cpu_count and /proc/cpuinfo."""
    text = f"{os.cpu_count()} logical CPUs"
    cores = set()
    try:
        for block in Path("/proc/cpuinfo").read_text().split("\n\n"):
            fields = dict(
                (key.strip(), value.strip())
                for key, _, value in (line.partition(":") for line in block.splitlines())
            )
            if "processor" in fields:
                cores.add((fields.get("physical id"), fields.get("core id")))
    except OSError:
        return text
    return text + (f" ({len(cores)} physical cores)" if cores else "")


def mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def git_state() -> str:
    try:
        root = HERE.parent
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if not commit:
            return "not a git checkout"
        return commit + (" with uncommitted changes in src/" if dirty else " (src/ clean)")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "NOT met")


def report(args: argparse.Namespace, results: dict, imports: dict, memory: dict, info: dict,
           meta: dict[str, Any], noise: dict[str, list[float]], retried: dict[str, int],
           errors: list[str]) -> str:
    contenders = args.contender_list
    targets13: list[str] = []
    peers = [c for c in contenders if c != "glassnet"]
    has_g = "glassnet" in contenders
    out: list[str] = ["# glassnet benchmarks", ""]
    if args.quick:
        out += ["**Quick run** (1 round, 10,000 training images, 1 accuracy epoch): a smoke "
                "test of the command, not a measurement to judge the targets on.", ""]
    openblas = {v: os.environ.get(v) for v in OPENBLAS_VARS}
    openblas_line = ", ".join(f"{k}={v!r}" if v is not None else f"{k} not set"
                              for k, v in openblas.items())
    if args.unset_openblas_env:
        openblas_line += " -- UNSET for the benchmark's own processes (--unset-openblas-env)"
    else:
        openblas_line += " -- passed on unchanged"
    out += [
        f"- date: {meta['date']} (took {meta['elapsed']:.0f} s)",
        f"- command: `{meta['command']}`",
        f"- machine: {cpu_model()}, {core_count()}, {mem_total()} RAM, "
        f"{platform.system()} {platform.release()}; load average {meta['load_start']} at "
        f"the start, {meta['load_end']} at the end",
        f"- versions: Python {platform.python_version()}, numpy {version('numpy')}, "
        f"torch {version('torch')}, jax {version('jax')} (jaxlib {version('jaxlib')}), "
        f"scikit-learn {version('scikit-learn')}, glassnet {version('glassnet')} "
        f"(git {meta['git']})",
        f"- threads: {args.threads} for every contender (each in its own process, pinned to "
        f"{args.threads} CPUs; {', '.join(THREAD_VARS[:3])}={args.threads}, "
        f"XLA_FLAGS intra-op {args.threads}, torch.set_num_threads({args.threads}))",
        f"- OpenBLAS environment: {openblas_line}",
        f"- data: {meta['data']}; {meta['n_train']:,} training images used",
        f"- rounds: {args.rounds} alternating rounds (each round runs every contender on "
        f"each case in turn, in the order {', '.join(contenders)} rotated by one place each "
        f"round so that no contender always goes first); cells are median (min-max) over "
        f"the rounds; ratios are glassnet's median / the peer's median (< 1: glassnet "
        f"faster)",
    ]
    disturbed = [
        f"{section}: median {statistics.median(v):.2f}, max {max(v):.2f} "
        f"({sum(x > NOISY for x in v)} of {len(v)} measurements above {NOISY})"
        for section, v in noise.items() if v
    ]
    out += [f"- {line}" for line in args.skipped]
    if disturbed:
        out.append("- noise: CPUs kept busy by other processes while each timing ran "
                   "(/proc/stat; the machine's busy time minus the measured worker's): "
                   + "; ".join(disturbed))
    if args.max_wait > 0:
        w = meta.get("waits", {})
        out.append(f"- quiet wait: before each timing the run waited (up to {args.max_wait:.0f} s, "
                   f"{WAIT_BUDGET:.0f} s in all) while other processes kept more than {QUIET} "
                   f"CPUs busy: {w.get('count', 0):.0f} waits, {w.get('total', 0.0):.0f} s in all")
    if args.retries:
        out.append(f"- retries: an epoch measured while others kept more than {RETRY_NOISE} "
                   f"CPUs busy was measured again (up to {args.retries} times), keeping the "
                   "least disturbed: " + (", ".join(f"{k}: {v} repeated"
                                                  for k, v in retried.items()) or "none needed"))
    blas_lines = []
    for name in contenders:
        for lib in ((info.get(name) or {}).get("blas") or []):
            if "note" in lib:
                blas_lines.append(f"{name}: {lib['note']}")
            else:
                blas_lines.append(
                    f"{name}: {lib.get('internal_api')} {lib.get('version') or ''} "
                    f"kernel {lib.get('architecture') or '-'}, {lib.get('num_threads')} threads"
                )
    if blas_lines:
        out.append("- BLAS/OpenMP in each contender's process (threadpoolctl): "
                   + "; ".join(dict.fromkeys(blas_lines)))
    out.append("")

    targets: list[str] = []

    def epoch_section(section: str, title: str, cases: list[str], batch: int) -> None:
        data = results.get(section, {})
        if not data:
            return
        out.extend([f"## {title}", ""])
        header = ["model"] + [PEER_TITLES[c] + " (s)" for c in contenders]
        if has_g:
            header += [f"glassnet / {PEER_TITLES[p]}" for p in peers]
        rows = []
        for model in cases:
            row = [MODEL_TITLES[model]] + [cell(data[model].get(c), ".3f") for c in contenders]
            if has_g:
                g = med(data[model].get("glassnet"))
                row += [ratio(g, med(data[model].get(p))) for p in peers]
            rows.append(row)
        out.extend(table(header, rows))
        fits = results.get(section + "_fit", {})
        if any(fits[m].get("glassnet") for m in cases):
            out.extend(["", "The glassnet column is its training loop, the same steps as the "
                        "PyTorch contender's. The same epoch through `glassnet.training.fit`, "
                        "which also checks the input, guards every gradient against NaN/inf "
                        "and counts the running accuracy (timed right after the loop in each "
                        "round):", ""])
            frows = []
            for m in cases:
                f = fits[m].get("glassnet")
                frow = [MODEL_TITLES[m], cell(f, ".3f"),
                        ratio(med(f), med(data[m].get("glassnet")))]
                frow += [ratio(med(f), med(data[m].get(p))) for p in peers]
                frows.append(frow)
            out.extend(table(["model", "glassnet fit (s)", "fit / glassnet loop"]
                             + [f"fit / {PEER_TITLES[p]}" for p in peers], frows))
        losses = results.get(section + "_loss", {})
        out.extend(["", f"Mean training loss of the epoch (median over rounds; batch {batch}; the "
                "same work for all: same initial weights and batches, except scikit-learn's "
                "own initialisation and shuffling):", ""])
        out.extend(table(["model"] + [PEER_TITLES[c] for c in contenders],
                         [[MODEL_TITLES[m]] + [cell([med(losses[m][c])] if losses[m].get(c)
                                                    else None, ".4f") for c in contenders]
                          for m in cases]))
        out.append("")

    epoch_section("epoch", f"Training epoch, batch {BATCH}, SGD lr 0.1 momentum 0.9",
                  list(MODELS), BATCH)
    epoch_section("large_batch", f"Large batch: MLP 784-256-10, batch {LARGE_BATCH}",
                  ["mlp256"], LARGE_BATCH)
    if results.get("epoch"):
        for model in MODELS:
            g = med(results["epoch"][model].get("glassnet"))
            for peer, name in (("jax", "JAX jit-step"), ("numpy", "hand-written NumPy")):
                p = med(results["epoch"][model].get(peer))
                ok = None if g is None or p is None else g <= p
                detail = f"glassnet {g:.3f} s vs {p:.3f} s" if ok is not None else ""
                targets.append(f"target {MODEL_TITLES[model]} epoch <= {name} epoch: "
                               f"{verdict(ok)}{' (' + detail + ')' if detail else ''}")

    if results.get("accuracy"):
        acc = results["accuracy"]
        names = [c for c in contenders if c != "sklearn"]
        seeds = args.accuracy_seeds
        out += [f"## Test accuracy after {args.accuracy_epochs} epoch(s)", "",
                f"Accuracy on the 10,000 test images after training from the same initial "
                f"weights, averaged over {seeds} batch order(s) (seeds 7..{6 + seeds}, the same "
                "for every contender), measured after the timed rounds; cells are the mean "
                "(min-max over the seeds).", ""]
        header = ["model"] + [f"{PEER_TITLES[c]} (%)" for c in names]
        header += ["glassnet - PyTorch (points, mean)"] if has_g and "torch" in names else []
        rows = []
        for model in MODELS:
            row = [MODEL_TITLES[model]]
            row += [mean_cell(acc[model].get(c), 100) for c in names]
            g, t = acc[model].get("glassnet"), acc[model].get("torch")
            if has_g and "torch" in names:
                diff = 100 * (mean(g) - mean(t)) if g and t else None
                row.append(f"{diff:+.2f}" if diff is not None else "-")
                ok = None if diff is None else abs(diff) <= TARGET_ACCURACY_POINTS
                targets.append(
                    f"target {MODEL_TITLES[model]} test accuracy within "
                    f"{TARGET_ACCURACY_POINTS} points of PyTorch after {args.accuracy_epochs} "
                    f"epoch(s), mean over {seeds} seed(s): {verdict(ok)}"
                    + (f" ({100 * mean(g):.2f} % vs {100 * mean(t):.2f} %)" if g and t else "")
                )
            rows.append(row)
        out.extend(table(header, rows))
        spreads = [max(v) - min(v) for m in MODELS for k in range(seeds) for v in (
            [acc[m][c][k] for c in names if len(acc[m].get(c) or []) > k],) if len(v) > 1]
        if spreads:
            out += ["", "Spread between the contenders on one seed (they compute the same thing "
                    "and differ only by float32 rounding, which changes the trajectory): up to "
                    f"{100 * max(spreads):.2f} points; single-run differences of that size are "
                    "noise."]
        secs = results.get("accuracy_seconds") or {}
        timed = [c for c in names if any(secs.get(m, {}).get(c) for m in MODELS)]
        if timed:
            out += ["", f"Training time of those {args.accuracy_epochs} epoch(s) (s; glassnet "
                    "through `training.fit`, which also checks the input and guards the "
                    "gradients, the others through the loop of their epoch timing), mean "
                    "(min-max over the seeds). Unlike the epoch table it includes the later "
                    "epochs, where momentum buffers that decay towards zero can reach the slow "
                    "subnormal range of floating point; run without the epoch section, it also "
                    "includes one-time costs (JAX's compilation).", ""]
            theader = ["model"] + [f"{PEER_TITLES[c]} (s)" for c in timed]
            theader += [f"glassnet / {PEER_TITLES[c]}" for c in timed if c != "glassnet"]
            trows = []
            for model in MODELS:
                by = secs.get(model, {})
                row = [MODEL_TITLES[model]] + [mean_cell(by.get(c)) for c in timed]
                g = mean(by.get("glassnet"))
                row += [ratio(g, mean(by.get(c))) for c in timed if c != "glassnet"]
                trows.append(row)
            out.extend(table(theader, trows))
        out.append("")

    if results.get("per_op"):
        data = results["per_op"]["chain"]
        variants = list(data)
        out += [f"## Per-op overhead: forward + backward of a chain of {N_OPS} ops on 10x10 "
                "float32", "",
                "`y = y * 1.0001` and `y = y.tanh()` alternating, then `y.sum().backward()`; "
                "microseconds per op.", ""]
        g = med(data.get("glassnet"))
        out.extend(table(["contender", "us per op", "glassnet / it"],
                         [[v, cell(data[v], ".2f"), ratio(g, med(data[v]))] for v in variants]))
        out.append("")
        targets.append(f"target per op forward + backward <= {TARGET_PER_OP_US} us: "
                       f"{verdict(None if g is None else g <= TARGET_PER_OP_US)}"
                       + (f" ({g:.2f} us)" if g is not None else ""))

    if results.get("derivatives"):
        data = results["derivatives"]
        cases = {"hessian": "hessian of six-hump at (0, 1)",
                 "grad": "grad of six-hump at (0, 1)",
                 "jacobian": "jacobian of softmax at (1, 2, 3)"}
        variants = list(dict.fromkeys(v for case in data.values() for v in case))
        out += ["## Derivatives of small functions (ms per call)", "",
                "six-hump f(x1, x2) = (4 - 2.1 x1^2 + x1^4/3) x1^2 + x1 x2 + (-4 + 4 x2^2) "
                "x2^2. glassnet.hessian/grad/jacobian vs torch.autograd.functional.hessian/"
                "jacobian (torch.autograd.grad) and jax.hessian/grad/jacobian, without and "
                "with jax.jit.", ""]
        header = ["function"] + [f"{v} (ms)" for v in variants]
        header += [f"glassnet / {v}" for v in variants if v != "glassnet"]
        rows = []
        for case, title in cases.items():
            if case not in data:
                continue
            g = med(data[case].get("glassnet"))
            rows.append([title] + [cell(data[case].get(v), ".4f") for v in variants]
                        + [ratio(g, med(data[case].get(v))) for v in variants if v != "glassnet"])
        out.extend(table(header, rows))
        out.append("")
        g = med(data.get("hessian", {}).get("glassnet"))
        targets.append(f"target glassnet.hessian of six-hump <= {TARGET_HESSIAN_MS} ms: "
                       f"{verdict(None if g is None else g <= TARGET_HESSIAN_MS)}"
                       + (f" ({g:.4f} ms)" if g is not None else ""))

    if imports:
        out += ["## Import time and memory (fresh process each time)", "",
                "`python -c` importing the module: time of the import statement itself, wall "
                "time of the whole process, resident memory (VmRSS) of the process after the "
                "import. `python` is the bare interpreter.", ""]
        out.extend(table(
            ["module", "import (s)", "process wall (s)", "VmRSS after (MB)"],
            [[m, cell(v["seconds"], ".3f"), cell(v["wall"], ".3f"), cell(v["rss_mb"], ".1f")]
             for m, v in imports.items()],
        ))
        out.append("")
        if "glassnet" in imports:
            s, mb = med(imports["glassnet"]["seconds"]), med(imports["glassnet"]["rss_mb"])
            targets.append(f"target import glassnet <= {TARGET_IMPORT_S} s: "
                           f"{verdict(s <= TARGET_IMPORT_S)} ({s:.3f} s)")
            targets.append(f"target import glassnet <= {TARGET_IMPORT_MB:.0f} MB resident: "
                           f"{verdict(mb <= TARGET_IMPORT_MB)} ({mb:.1f} MB)")

    if memory:
        out += ["## Peak memory of an epoch (MLP 784-256-10, batch 128)", "",
                "A fresh process per contender and round: imports, data (float32, in memory) "
                "and set-up first; then the peak resident set size during the epoch minus "
                "the resident size just before it (Linux VmHWM, reset through "
                "/proc/self/clear_refs). The first epoch includes one-time costs (lazy "
                "initialisation, JAX's compilation); the second epoch follows in the same "
                f"process. {args.memory_rounds} round(s), median (min-max).", ""]
        names = list(memory)
        tm = med(memory.get("torch", {}).get("first_mb"))
        out.extend(table(
            ["contender", "first epoch (MB)", "second epoch (MB)", "RSS before (MB)",
             "first / PyTorch's"],
            [[PEER_TITLES[c], cell(memory[c]["first_mb"], ".1f"),
              cell(memory[c]["second_mb"], ".1f"), cell(memory[c]["rss_before_mb"], ".1f"),
              ratio(med(memory[c]["first_mb"]), tm)] for c in names],
        ))
        methods = {m for c in names for m in memory[c].get("method", [])}
        out += ["", f"Method: {', '.join(sorted(methods))}.", ""]
        g = med(memory.get("glassnet", {}).get("first_mb"))
        ok = None if g is None or tm is None else g <= TARGET_MEMORY_RATIO * tm
        targets.append(f"target MLP epoch peak memory <= {TARGET_MEMORY_RATIO} x PyTorch's: "
                       f"{verdict(ok)}"
                       + (f" ({g:.1f} MB vs {tm:.1f} MB)" if ok is not None else ""))

    compiled_section(out, results, contenders, targets13)
    out += ["## Targets (issue 5)", ""]
    if args.quick:
        out += ["(quick run: indicative only; judge the targets on a full run)", ""]
    out += [f"- {t}" for t in targets] or ["- nothing measured"]
    out.append("")
    if targets13:
        out += ["## Targets (issue 13: the compiled step)", ""]
        if args.quick:
            out += ["(quick run: indicative only; judge the targets on a full run)", ""]
        out += [f"- {t}" for t in targets13]
        out.append("")
    if errors:
        out += ["## Failures", "", "```"]
        out += [e.rstrip() for e in errors]
        out += ["```", ""]
    return "\n".join(out)


# The targets of issue 13 (the compiled step).
TARGET_COMPILED_VS_JAX = 0.9
TARGET_COMPILED_VS_NUMPY = 0.8


def compiled_section(out: list[str], results: dict, contenders: list[str],
                     targets: list[str]) -> None:
    """The compiled step against the others, epoch by epoch, and issue 13's targets."""
    if "compiled" not in contenders:
        return
    cases = [("epoch", m, BATCH) for m in MODELS if results.get("epoch", {}).get(m)]
    cases += [("large_batch", "mlp256", LARGE_BATCH)] if results.get("large_batch") else []
    if not cases:
        return
    others = [c for c in ("glassnet", "torch", "jax", "numpy") if c in contenders]
    out += ["## The compiled step (glassnet.compile)", "",
            "The same epochs as above; the compiled contender replays the recorded step "
            "(its first batch and its short last batch are traced, eagerly, in every epoch). "
            "Ratios: compiled median / the other's median (< 1: the compiled step is faster).",
            ""]
    header = ["model", "batch", "compiled (s)"] + [f"compiled / {PEER_TITLES[c]}" for c in others]
    rows = []
    for section, model, batch in cases:
        data = results[section][model]
        c = med(data.get("compiled"))
        rows.append([MODEL_TITLES[model], str(batch), cell(data.get("compiled"), ".3f")]
                    + [ratio(c, med(data.get(o))) for o in others])
        for peer, limit, name in (("jax", TARGET_COMPILED_VS_JAX, "JAX jit-step"),
                                  ("numpy", TARGET_COMPILED_VS_NUMPY, "hand-written NumPy")):
            if section == "large_batch" and peer == "numpy":
                continue
            limit = 1.0 if section == "large_batch" else limit
            p = med(data.get(peer))
            ok = None if c is None or p is None else c <= limit * p
            detail = (f"compiled {c:.3f} s vs {p:.3f} s, {c / p:.2f}x" if ok is not None
                      else f"{PEER_TITLES[peer]} not measured")
            targets.append(f"target {MODEL_TITLES[model]} batch {batch} compiled epoch <= "
                           f"{limit:g} x {name} epoch: {verdict(ok)} ({detail})")
    out.extend(table(header, rows))
    out.append("")


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def nested() -> defaultdict:
    return defaultdict(lambda: defaultdict(list))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", "benchmarks/run.py"] + [shlex.quote(a) for a in
                                                               (argv or sys.argv[1:])]),
        "load_start": load_average(),
        "git": git_state(),
    }
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    env = child_env(args.threads, args.unset_openblas_env)
    errors: list[str] = []
    results: dict[str, Any] = defaultdict(nested)
    imports: dict[str, Any] = nested()
    memory: dict[str, Any] = nested()
    info: dict[str, Any] = {}
    noise: dict[str, list[float]] = defaultdict(list)
    retried: dict[str, int] = defaultdict(int)
    waits: dict[str, float] = defaultdict(float)
    data, meta["data"] = load_data(args)
    log(f"data: {meta['data']}")
    with tempfile.TemporaryDirectory(prefix="glassnet-bench-") as tmp:
        data_dir = Path(tmp)
        meta["n_train"] = write_data(data_dir, data, 10000 if args.quick else None)
        del data
        log(f"[{time.perf_counter() - started:.0f} s] data ready")
        if "import" in args.sections:
            measure_imports(args, env, imports, errors)
            log(f"[{time.perf_counter() - started:.0f} s] imports measured")
        if "memory" in args.sections:
            measure_memory(args, data_dir, env, memory, errors)
            log(f"[{time.perf_counter() - started:.0f} s] memory measured")
        if set(args.sections) - {"import", "memory"}:
            info = run_workers(args, data_dir, meta["n_train"], env, results, noise, retried,
                               waits, errors, started)
    meta["elapsed"] = time.perf_counter() - started
    meta["load_end"] = load_average()
    meta["waits"] = dict(waits)
    text = report(args, results, imports, memory, info, meta, noise, retried, errors)
    Path(args.out).write_text(text)
    print(text)
    log(f"written to {args.out}")
    if args.json:
        raw = {"meta": meta, "results": results, "imports": imports, "memory": memory,
               "info": info, "noise": noise, "retried": retried, "errors": errors}
        Path(args.json).write_text(json.dumps(raw, indent=1, default=dict))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
