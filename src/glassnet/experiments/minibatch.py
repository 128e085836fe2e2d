"""Full-batch gradient descent against minibatch SGD (section 9).

One MLP, one training set, the same number of epochs: full-batch gradient descent (one
step per epoch on the exact gradient of the whole sum) against minibatch SGD with 32, 64,
128 and 256 samples per step (an estimate of the gradient, N / B steps per epoch). The
training loss over the whole set is measured after every epoch and drawn against the
epochs and against the seconds spent training (evaluation excluded).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

NAME = "minibatch"
TITLE = "Full-batch gradient descent vs minibatch SGD (32, 64, 128, 256)"
SECTION = "9"
ORDER = 2
OPTIONS: dict[str, Any] = {"n_train": 10000, "epochs": 10, "hidden": 128, "lr": 0.05,
                           "gd_lr": 0.5, "momentum": 0.9, "dataset": "auto"}
QUICK: dict[str, Any] = {"n_train": 1000, "epochs": 6}
BATCHES = (32, 64, 128, 256)


def _run(d: Any, batch: int, lr: float, ctx: Any) -> tuple[list[float], list[float]]:
    from glassnet import losses, optim
    from glassnet.experiments._learn import mean_loss, mlp
    from glassnet.training import fit

    model = mlp(d.X_train.shape[1], [ctx["hidden"]], d.num_classes, ctx.seed)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=ctx["momentum"])
    rng = np.random.default_rng(ctx.seed)
    loss, seconds, spent = [mean_loss(model, d.X_train, d.y_train)], [0.0], 0.0
    for _ in range(ctx["epochs"]):  # one epoch per call: the timing leaves evaluation out
        t0 = time.perf_counter()
        fit(model, losses.softmax_log_likelihood, opt, (d.X_train, d.y_train), epochs=1,
            batch_size=batch, rng=rng, verbose=0)
        spent += time.perf_counter() - t0
        loss.append(mean_loss(model, d.X_train, d.y_train))
        seconds.append(spent)
    return loss, seconds


def compute(ctx: Any) -> dict[str, Any]:
    d = ctx.image_data(ctx["n_train"], 10, dataset=ctx["dataset"])
    n = len(d.y_train)
    _run(d, n, ctx["gd_lr"], ctx)  # warm-up: the first call pays for imports and caches
    curves: dict[str, tuple[list[float], list[float]]] = {
        "full": _run(d, n, ctx["gd_lr"], ctx)}
    for b in BATCHES:
        # the linear scaling rule: a batch B times larger averages away noise, so it can
        # take a step about B times longer (capped at the full-batch step)
        curves[str(b)] = _run(d, b, min(ctx["lr"] * b / 32, ctx["gd_lr"]), ctx)
    final = {k: c[0][-1] for k, c in curves.items()}
    seconds = {k: c[1][-1] for k, c in curves.items()}
    steps = {k: ctx["epochs"] * (1 if k == "full" else -(-n // int(k))) for k in curves}
    ctx.note(
        f"{ctx['epochs']} epochs over {n} {d.name} images, MLP {d.X_train.shape[1]}-"
        f"{ctx['hidden']}-{d.num_classes}. Full-batch GD (step {ctx['gd_lr']}, momentum "
        f"{ctx['momentum']}) takes {steps['full']} exact steps and ends at loss "
        f"{final['full']:.3f}; SGD (step {ctx['lr']} at batch 32, scaled with the batch "
        f"size) with batch 32 takes {steps['32']} noisy steps and ends at {final['32']:.3f}. "
        "Per epoch, many cheap estimated steps beat one exact one; "
        "per second too, since a step's cost grows with its batch. Larger batches give a "
        "smoother but slower descent per epoch.")
    if ctx.drawing:
        _draw(ctx, curves, d.name)
    return {"final_loss": final, "seconds": seconds, "steps": steps,
            "initial_loss": curves["full"][0][0]}


def _draw(ctx: Any, curves: dict[str, Any], dataset: str) -> None:
    from glassnet.experiments._plot import BLACK, PALETTE

    fig, (a, b) = ctx.subplots(1, 2, figsize=(11, 4.2))
    colours = {"full": BLACK, **{str(bs): PALETTE[i] for i, bs in enumerate(BATCHES)}}
    for k, (loss, secs) in curves.items():
        label = "full batch (GD)" if k == "full" else f"batch {k} (SGD)"
        style = dict(color=colours[k], lw=2.2 if k == "full" else 1.6,
                     ls="--" if k == "full" else "-", marker="o", ms=3)
        a.plot(range(len(loss)), loss, label=label, **style)
        b.plot(secs, loss, label=label, **style)
    a.set(xlabel="epoch (passes over the training set)", ylabel="training loss (nats)",
          title="Loss against epochs")
    b.set(xlabel="training time (s)", ylabel="training loss (nats)",
          title="Loss against wall-clock time")
    for ax in (a, b):
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.suptitle(f"Gradient descent on the whole sum vs minibatch SGD ({dataset})")
    ctx.save(fig, "minibatch")
