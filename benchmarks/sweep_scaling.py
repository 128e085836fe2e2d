"""How much a ``glassnet sweep`` gains from more worker processes.

Runs the same grid with ``--workers 1`` and ``--workers N`` (default 2), alternating, in
fresh processes (the local cluster's start-up included: it is part of what a user waits
for), and prints each run, the medians and the ratio::

    python benchmarks/sweep_scaling.py                       # digits, 8 trials, 3 rounds
    python benchmarks/sweep_scaling.py --dataset fashion-mnist --epochs 2 --rounds 2

Two cores shared with other work give noisy numbers: compare the medians, and run it on
a quiet machine for figures to quote.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_sweep(workers: int, args: argparse.Namespace, out: Path) -> float:
    src = Path(__file__).resolve().parents[1] / "src"
    cmd = [sys.executable, "-c", "import sys; from glassnet.cli import main; "
           "raise SystemExit(main(sys.argv[1:]))", "sweep", "--workers", str(workers),
           "--out", str(out), "--dataset", args.dataset, "--no-download",
           "--epochs", str(args.epochs), "--grid", "lr=0.02,0.05", "hidden=64,128",
           "seed=0,1"]
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the start",
          flush=True)
    times: dict[int, list[float]] = {1: [], args.workers: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = [1, args.workers] if r % 2 == 0 else [args.workers, 1]
            for w in order:
                s = one_sweep(w, args, Path(tmp) / f"r{r}-w{w}")
                times[w].append(s)
                print(f"round {r + 1}: --workers {w}: {s:.1f} s", flush=True)
    load = os.getloadavg()[0]
    m1, mn = statistics.median(times[1]), statistics.median(times[args.workers])
    print(f"8 trials on {args.dataset}, {args.epochs} epochs each; medians of {args.rounds} "
          f"alternating rounds: --workers 1 {m1:.1f} s, --workers {args.workers} {mn:.1f} s, "
          f"speed-up {m1 / mn:.2f}x (load average {load:.1f} on {os.cpu_count()} CPUs at "
          "the end: above the CPU count, the workers compete with other work)")


if __name__ == "__main__":
    main()
