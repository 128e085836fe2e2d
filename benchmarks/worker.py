"""Child process of the benchmark: one contender, its library alone imported.

``python worker.py serve CONTENDER DATA_DIR THREADS``
    Answers JSON requests, one a line on stdin (``{"op": "epoch", ...}``), with one JSON
    line each on stdout. ``run.py`` keeps one such process per contender alive for the
    whole run and sends them the same request in turn, so the contenders alternate.

``python worker.py memory CONTENDER DATA_DIR THREADS MODEL BATCH SEED``
    Peak memory of an epoch in this fresh process: the peak resident set size during the
    epoch (VmHWM, reset just before it through /proc/self/clear_refs) minus the resident
    size before it (after imports, data and everything else are loaded). Twice: the first
    epoch (with every one-time cost: lazy initialisation, JIT compilation) and a second one.

The thread environment (OMP_NUM_THREADS, XLA_FLAGS, ...) is set by ``run.py`` before this
process starts, so it holds when the contender's library is imported.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def _limit_cpus(threads: int) -> None:
    """Run on at most ``threads`` CPUs, whatever a library decides about its thread pool."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cpus[:threads])


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_kb() -> int:
    import resource

    hwm = _status_kb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def serve(name: str, data_dir: str, threads: int) -> None:
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the protocol
    sys.stdout = sys.stderr

    def answer(obj: dict[str, Any]) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    try:
        from contenders import FACTORIES, Contender, Data

        contender = FACTORIES[name](Data(data_dir), threads)
        ops = [op for op in ("epoch", "accuracy", "per_op", "derivatives")
               if getattr(type(contender), op) is not getattr(Contender, op)]
        answer({"ok": True, "result": {"ready": True, "ops": ops}})
    except Exception:
        answer({"ok": False, "error": traceback.format_exc()})
        return
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        if op == "quit":
            break
        try:
            result = getattr(contender, op)(**request)
            answer({"ok": True, "result": result})
        except NotImplementedError:
            answer({"ok": False, "error": "not measured for this contender", "missing": True})
        except Exception:
            answer({"ok": False, "error": traceback.format_exc()})


def memory(name: str, data_dir: str, threads: int, model: str, batch: int, seed: int) -> None:
    import gc

    from contenders import FACTORIES, Data

    contender = FACTORIES[name](Data(data_dir), threads)
    result: dict[str, Any] = {"method": "VmHWM after clear_refs"}
    for key in ("first", "second"):
        gc.collect()
        before = _status_kb("VmRSS") or 0
        if not _reset_peak():
            result["method"] = "ru_maxrss (VmHWM could not be reset)"
        epoch = contender.epoch(model, batch, seed)
        result[key + "_mb"] = (_peak_kb() - before) / 1024
        result[key + "_seconds"] = epoch["seconds"]
        result["rss_before_mb"] = before / 1024 if key == "first" else result["rss_before_mb"]
    print(json.dumps(result))


def main(argv: list[str]) -> None:
    mode, name, data_dir, threads = argv[0], argv[1], argv[2], int(argv[3])
    _limit_cpus(threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if mode == "serve":
        serve(name, data_dir, threads)
    elif mode == "memory":
        memory(name, data_dir, threads, argv[4], int(argv[5]), int(argv[6]))
    else:
        raise SystemExit(f"unknown mode {mode!r}: expected 'serve' or 'memory'")


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")  # JAX/scikit-learn notices would only add noise
    main(sys.argv[1:])
