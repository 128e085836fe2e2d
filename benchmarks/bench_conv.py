"""glassnet's convolutions against PyTorch's CPU convolutions (oneDNN), paired and alternating.

    python benchmarks/bench_conv.py                    # the issue's shapes, 7 rounds, a full epoch
    python benchmarks/bench_conv.py --rounds 5 --epoch-batches 100 --profile

Three timings, each a median over ``--rounds`` rounds in which glassnet and torch run one
after the other (which goes first alternates from round to round):

* conv2d forward + backward (dx, dW, db) on (128, 1, 28, 28) -> 32 channels, 3x3, padding 1;
* the same on (128, 32, 14, 14) -> 64 channels;
* one LeNet epoch on Fashion-MNIST (60,000 training images, batch 128, SGD momentum 0.9),
  or its first ``--epoch-batches`` batches; synthetic images if the files are missing.

Both libraries use ``--threads`` threads (default 2; set through the environment before
NumPy and torch are imported). The ratio is glassnet / torch: below 1 glassnet is faster.
``--profile`` adds glassnet's time per primitive (forward and backward) for one LeNet batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=5, help="conv calls per timed sample")
    p.add_argument("--epoch-batches", type=int, default=None,
                   help="time only this many batches of the epoch (default: all 469)")
    p.add_argument("--skip-epoch", action="store_true")
    p.add_argument("--profile", action="store_true")
    return p.parse_args(argv)


def paired(a: Callable[[], object], b: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median seconds of ``a`` and of ``b``, run in alternating order each round."""
    ta, tb = [], []
    for r in range(rounds):
        for which in ((0, 1) if r % 2 == 0 else (1, 0)):
            f, out = (a, ta) if which == 0 else (b, tb)
            t = time.perf_counter()
            f()
            out.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def conv_pair(shape: tuple[int, ...], out_channels: int, repeat: int):
    import numpy as np
    import torch
    import torch.nn.functional as F

    import glassnet as gn
    import glassnet.nn.functional as nnf

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = (rng.standard_normal((out_channels, shape[1], 3, 3)) * 0.1).astype(np.float32)
    b = np.zeros(out_channels, dtype=np.float32)
    u = rng.standard_normal((shape[0], out_channels) + shape[2:], dtype=np.float32)
    gx, gw, gb = (gn.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tu = torch.tensor(u)

    def ours() -> None:
        for _ in range(repeat):
            for t in (gx, gw, gb):
                t.grad = None
            nnf.conv2d(gx, gw, gb, padding=1).backward(u)

    def theirs() -> None:
        for _ in range(repeat):
            for t in (tx, tw, tb):
                t.grad = None
            F.conv2d(tx, tw, tb, padding=1).backward(tu)

    return ours, theirs


def _fashion(n_batches: int | None):
    import numpy as np

    try:
        from glassnet.data import load_dataset

        x, y = load_dataset("fashion-mnist", "train", download=False)
        x = ((x.astype(np.float32) / 255.0 - 0.2860) / 0.3530).reshape(-1, 1, 28, 28)
        source = "Fashion-MNIST"
    except Exception:  # noqa: BLE001 - any missing or unreadable file: synthetic images
        rng = np.random.default_rng(0)
        x = rng.standard_normal((60000, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, 60000)
        source = "synthetic images"
    if n_batches is not None:
        x, y = x[: n_batches * 128], y[: n_batches * 128]
    return x, y.astype(np.int64), source


def epoch_pair(n_batches: int | None):
    import numpy as np
    import torch
    import torch.nn as tnn

    import glassnet as gn
    from glassnet import losses

    x, y, source = _fashion(n_batches)
    model = gn.models.LeNet(generator=0)
    opt = gn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def twin() -> tnn.Module:
        class TorchLeNet(tnn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.features = tnn.Sequential(
                    tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                    tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
                self.classifier = tnn.Sequential(
                    tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84),
                    tnn.ReLU(), tnn.Linear(84, 10))

            def forward(self, v: torch.Tensor) -> torch.Tensor:
                return self.classifier(self.features(v))

        return TorchLeNet()

    tmodel = twin()
    tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in
                            model.to_torch_state_dict().items()})
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
    order = np.random.default_rng(0).permutation(len(x))
    batches = [order[i:i + 128] for i in range(0, len(x), 128)]

    def ours() -> None:
        model.train()
        for idx in batches:
            loss = losses.softmax_log_likelihood(model(gn.tensor(x[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def theirs() -> None:
        tmodel.train()
        for idx in batches:
            loss = tnn.functional.cross_entropy(tmodel(torch.from_numpy(x[idx])),
                                                torch.from_numpy(y[idx]))
            topt.zero_grad()
            loss.backward()
            topt.step()

    return ours, theirs, f"{len(batches)} batches of {source}"


def profile_lenet() -> None:
    """Seconds per primitive for forward + backward of one LeNet batch of 128."""
    import cProfile
    import pstats

    import numpy as np

    import glassnet as gn
    from glassnet import losses

    model = gn.models.LeNet(generator=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 128)

    def step() -> None:
        for _ in range(10):
            losses.softmax_log_likelihood(model(gn.tensor(x)), y).backward()

    step()
    prof = cProfile.Profile()
    prof.runcall(step)
    print("\nglassnet LeNet, 10 batches of 128 (forward + backward), by own time:")
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(12)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    for var in THREAD_VARS:
        os.environ[var] = str(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import torch

    torch.set_num_threads(args.threads)
    print(f"glassnet vs torch {torch.__version__} (CPU), {args.threads} threads, "
          f"medians of {args.rounds} paired alternating rounds; ratio = glassnet / torch")
    print(f"{'benchmark':58s} {'glassnet':>10s} {'torch':>10s} {'ratio':>7s}")
    rows = [((128, 1, 28, 28), 32), ((128, 32, 14, 14), 64)]
    for shape, oc in rows:
        ours, theirs = conv_pair(shape, oc, args.repeat)
        ours(), theirs()  # warm-up
        a, b = paired(ours, theirs, args.rounds)
        name = f"conv2d fwd+bwd {shape} -> {oc} ch 3x3 (per call)"
        print(f"{name:58s} {a / args.repeat * 1e3:8.2f}ms {b / args.repeat * 1e3:8.2f}ms "
              f"{a / b:7.2f}")
    if not args.skip_epoch:
        ours, theirs, what = epoch_pair(args.epoch_batches)
        a, b = paired(ours, theirs, args.rounds)
        name = f"LeNet epoch ({what})"
        print(f"{name:58s} {a:9.2f}s {b:9.2f}s {a / b:7.2f}")
    if args.profile:
        profile_lenet()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
