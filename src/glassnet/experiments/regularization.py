"""Regularization: seven ways to prefer simpler models, on one network and real images
(section 8).

A zero-loss W is not unique: a linear SVM that separates its training set with hinge loss
0 keeps hinge loss 0 when W (and b) are doubled, while the L2 penalty sum W^2 grows
fourfold. The experiment first shows this on the real scores of a linear SVM trained by
glassnet on separable blobs, then trains one residual MLP,

    x -> Linear -> [BN] -> ReLU -> [Dropout] -> (+ block) x blocks -> Linear -> scores,
    block: Linear -> [BN] -> ReLU -> [Dropout], skipped with probability p (stochastic
    depth, ``glassnet.nn.Residual``),

on a small training set of real images (Fashion-MNIST when its files are here, 8x8
digits in quick mode), with the same seed, optimizer and epochs, once per method: none,
L2, L1, elastic net (``glassnet.regularizers``), max-norm (a constraint after each step),
dropout, batch norm and stochastic depth (layers of ``glassnet.nn``). It records train /
test accuracy, the first-layer weight histograms and the fraction of first-layer weights
that end within ``zero_tol`` of zero (L1's sparsity against no penalty).
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "regularization"
TITLE = "L2, L1, elastic net, max-norm, dropout, batch norm and stochastic depth"
SECTION = "8"
ORDER = 1
OPTIONS: dict[str, Any] = {
    "n_train": 2000, "n_test": 2000, "hidden": 128, "blocks": 2, "epochs": 50,
    "batch_size": 64, "lr": 0.02, "momentum": 0.9, "l2": 2e-4, "l1": 2e-4,
    "elastic_beta": 2.0, "max_norm": 1.0, "dropout": 0.3, "depth_drop": 0.3,
    "zero_tol": 1e-3, "dataset": "auto",
}
# digits have 64 inputs and few steps: a larger step and L1 weight show the same effects
QUICK: dict[str, Any] = {"n_train": 600, "n_test": 500, "hidden": 64, "epochs": 15,
                         "lr": 0.05, "l1": 2e-3, "dataset": "digits"}
METHODS = ("none", "l2", "l1", "elastic", "maxnorm", "dropout", "batchnorm", "depth")
LABELS = {"none": "none", "l2": "L2", "l1": "L1", "elastic": "elastic net",
          "maxnorm": "max-norm", "dropout": "dropout", "batchnorm": "batch norm",
          "depth": "stochastic depth"}


def _layer(d_in: int, d_out: int, batch_norm: bool, dropout: float, gen: Any) -> list[Any]:
    from glassnet import nn

    out: list[Any] = [nn.Linear(d_in, d_out, generator=gen)]
    if batch_norm:
        out.append(nn.BatchNorm1d(d_out))
    out.append(nn.ReLU())
    if dropout > 0:
        out.append(nn.Dropout(dropout))
    return out


def build(d: int, c: int, hidden: int, blocks: int, *, batch_norm: bool = False,
          dropout: float = 0.0, depth_drop: float = 0.0, seed: int = 0) -> Any:
    """The experiment's residual MLP (D -> hidden -> ``blocks`` residual blocks -> C);
    the same seed gives the same initial weights whatever the switches."""
    from glassnet import nn

    gen = np.random.default_rng(seed)
    layers = _layer(d, hidden, batch_norm, dropout, gen)
    for _ in range(blocks):
        branch = nn.Sequential(*_layer(hidden, hidden, batch_norm, dropout, gen))
        layers.append(nn.Residual(branch, p_drop=depth_drop))
    layers.append(nn.Linear(hidden, c, generator=gen))
    return nn.Sequential(*layers)


def _method(ctx: Any, method: str) -> tuple[dict[str, Any], Any, list[Any]]:
    """(build switches, penalty, constraints) of one method."""
    from glassnet import regularizers as R

    arch: dict[str, Any] = {}
    penalty, constraints = None, []
    if method == "l2":
        penalty = R.L2(ctx["l2"])
    elif method == "l1":
        penalty = R.L1(ctx["l1"])
    elif method == "elastic":
        penalty = R.ElasticNet(ctx["l1"], ctx["elastic_beta"])
    elif method == "maxnorm":
        constraints = [R.MaxNorm(ctx["max_norm"])]
    elif method == "dropout":
        arch["dropout"] = ctx["dropout"]
    elif method == "batchnorm":
        arch["batch_norm"] = True
    elif method == "depth":
        arch["depth_drop"] = ctx["depth_drop"]
    return arch, penalty, constraints


def _train(ctx: Any, data: Any, method: str) -> tuple[Any, Any]:
    from glassnet import losses, optim
    from glassnet.optim.lr_scheduler import CosineAnnealingLR
    from glassnet.random import manual_seed
    from glassnet.training import fit

    arch, penalty, constraints = _method(ctx, method)
    model = build(data.X_train.shape[1], data.num_classes, ctx["hidden"], ctx["blocks"],
                  seed=ctx.seed, **arch)
    manual_seed(ctx.seed)  # the same dropout / depth draws for every run with this seed
    opt = optim.SGD(model.parameters(), lr=ctx["lr"], momentum=ctx["momentum"],
                    constraints=constraints)
    hist = fit(model, losses.softmax_log_likelihood, opt, (data.X_train, data.y_train),
               (data.X_test, data.y_test), epochs=ctx["epochs"],
               batch_size=ctx["batch_size"], regularizer=penalty,
               scheduler=CosineAnnealingLR(opt, T_max=max(ctx["epochs"], 1)),
               rng=np.random.default_rng(ctx.seed), verbose=0, keep_best=None)
    return model, hist


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    from glassnet.training import evaluate

    return float(evaluate(model, None, X, y)["accuracy"])


def hinge_scaling(ctx: Any) -> dict[str, Any]:
    """A linear SVM trained by glassnet to zero hinge loss on separable blobs; the loss
    and the L2 penalty of (W, b) and of (2W, 2b) on its real scores."""
    from glassnet import losses, optim
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.data import gaussian_blobs
    from glassnet.models import LinearClassifier
    from glassnet.tensor import Tensor

    centers = np.array([[-4.0, -2.0], [4.0, -2.0], [0.0, 4.0]])
    X, y = gaussian_blobs(150, centers=centers, std=0.8, rng=ctx.rng)
    X = X.astype(np.float64)
    svm = LinearClassifier(2, 3, dtype=np.float64, generator=np.random.default_rng(ctx.seed))
    opt = optim.SGD(svm.parameters(), lr=0.05)
    steps = 0
    loss = losses.hinge(svm(Tensor(X)), y)
    while float(loss.data) > 0.0 and steps < 5000:  # full-batch GD to zero hinge loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        loss = losses.hinge(svm(Tensor(X)), y)
    W, b = svm.linear.weight.data.copy(), svm.linear.bias.data.copy()
    with no_grad():
        scores = svm(Tensor(X)).data
        hinge_1 = float(losses.hinge(Tensor(scores), y).data)
        hinge_2 = float(losses.hinge(Tensor(2.0 * scores), y).data)
    return {"X": X, "y": y, "W": W, "b": b, "steps": steps, "hinge_W": hinge_1,
            "hinge_2W": hinge_2, "l2_W": float((W * W).sum()),
            "l2_2W": float(((2 * W) ** 2).sum()),
            "separated": bool((scores.argmax(1) == y).all())}


def compute(ctx: Any) -> dict[str, Any]:
    data = ctx.image_data(ctx["n_train"], ctx["n_test"], dataset=ctx["dataset"])
    svm = hinge_scaling(ctx)
    train, test, first, zero = {}, {}, {}, {}
    for method in METHODS:
        model, _ = _train(ctx, data, method)
        train[method] = _accuracy(model, data.X_train, data.y_train)
        test[method] = _accuracy(model, data.X_test, data.y_test)
        w = model[0].weight.data.reshape(-1).astype(np.float64)
        first[method] = w
        zero[method] = float(np.mean(np.abs(w) < ctx["zero_tol"]))
    best = max((m for m in METHODS if m != "none"), key=test.get)
    ctx.note(f"On {len(data.y_train)} {data.name} training images the unregularized "
             f"network reaches {train['none']:.1%} training and {test['none']:.1%} test "
             f"accuracy; the best regularizer here is {LABELS[best]} "
             f"({test[best]:.1%} test); the methods' test accuracies span "
             f"{min(test.values()):.1%}-{max(test.values()):.1%}, so on one seed "
             "differences under a point are noise. L1 drives {zero['l1']:.1%} of the first-layer "
             f"weights within {ctx['zero_tol']:g} of zero, against {zero['none']:.1%} "
             "without a penalty.")
    ctx.note(f"The linear SVM separates its {len(svm['y'])} blobs with hinge loss "
             f"{svm['hinge_W']:g}; doubling W and b keeps hinge loss {svm['hinge_2W']:g} "
             f"while sum W^2 goes from {svm['l2_W']:.3g} to {svm['l2_2W']:.3g} (x4): "
             "only the penalty tells the two apart.")
    if ctx.drawing:
        _draw(ctx, data, svm, train, test, first, zero)
    return {"dataset": data.name, "n_train": len(data.y_train),
            "train_accuracy": train, "test_accuracy": test,
            "l1_zero_fraction": zero["l1"], "none_zero_fraction": zero["none"],
            "zero_fraction": zero, "hinge_W": svm["hinge_W"], "hinge_2W": svm["hinge_2W"],
            "l2_penalty_W": svm["l2_W"], "l2_penalty_2W": svm["l2_2W"],
            "svm_separates": svm["separated"], "svm_steps": svm["steps"]}


def _draw(ctx: Any, data: Any, svm: dict[str, Any], train: dict[str, float],
          test: dict[str, float], first: dict[str, np.ndarray],
          zero: dict[str, float]) -> None:
    from glassnet.experiments._plot import BLACK, BLUE, GREEN, ORANGE, PALETTE, VERMILION

    fig, ax = ctx.subplots(figsize=(10, 4.6))
    x = np.arange(len(METHODS))
    tr = [100 * train[m] for m in METHODS]
    te = [100 * test[m] for m in METHODS]
    ax.bar(x - 0.2, tr, 0.4, color=BLUE, label="training accuracy")
    ax.bar(x + 0.2, te, 0.4, color=VERMILION, label="test accuracy")
    for xi, v in zip(x, te):
        ax.text(xi + 0.2, v + 0.5, f"{v:.1f}", ha="center", va="bottom", fontsize=9)
    ax.axhline(te[0], color=BLACK, ls=":", lw=1, label="test accuracy, no regularizer")
    lo = max(0.0, min(te) - 10.0)
    ax.set_ylim(lo, 100 + 0.25 * (100 - lo))  # room for the legend above the bars
    ax.set_yticks([t for t in ax.get_yticks() if lo <= t <= 100])
    ax.set_xticks(x, [LABELS[m] for m in METHODS], rotation=20)
    ax.set(ylabel="accuracy (%)", xlabel="regularizer",
           title=f"One residual MLP, {len(data.y_train)} {data.name} training images, "
                 f"{ctx['epochs']} epochs: train vs test accuracy")
    ax.legend(loc="upper center", ncol=3)
    ctx.save(fig, "regularization_accuracy")

    fig, axes = ctx.subplots(2, 4, figsize=(14, 6.4), sharex=True)
    lim = max(float(np.abs(first["none"]).max()), float(np.abs(first["l2"]).max()))
    bins = np.linspace(-lim, lim, 81)
    for i, (ax, m) in enumerate(zip(axes.ravel(), METHODS)):
        w = np.clip(first[m], -lim, lim)
        ax.hist(w, bins=bins, color=PALETTE[i % 6], log=True)
        ax.set(title=f"{LABELS[m]}: {zero[m]:.0%} near 0", ylim=(0.8, None))
        if i % 4 == 0:
            ax.set_ylabel("count (log scale)")
        if i >= 4:
            ax.set_xlabel("first-layer weight")
    fig.suptitle(f"First-layer weights after training (near 0: |w| < {ctx['zero_tol']:g}); "
                 "L1 piles them up at 0 (a sparse W), the others keep a bell shape")
    ctx.save(fig, "regularization_weights")

    fig, (ax, bx) = ctx.subplots(1, 2, figsize=(11, 4.6))
    X, y, W, b = svm["X"], svm["y"], svm["W"], svm["b"]
    colors = [BLUE, VERMILION, GREEN]
    for k in range(3):
        ax.plot(X[y == k, 0], X[y == k, 1], "o", ms=4, color=colors[k], label=f"class {k}")
    g = np.linspace(X.min() - 1, X.max() + 1, 300)
    gx, gy = np.meshgrid(g, g)
    grid = np.c_[gx.ravel(), gy.ravel()]
    for scale, style in ((1.0, "-"), (2.0, "--")):
        s = scale * (grid @ W.T + b)
        top = np.sort(s, axis=1)
        margin = (top[:, -1] - top[:, -2]).reshape(gx.shape)
        ax.contour(gx, gy, margin, levels=[1.0], colors=[ORANGE if scale == 1 else BLACK],
                   linestyles=style, linewidths=1.5)
    ax.contour(gx, gy, (grid @ W.T + b).argmax(1).reshape(gx.shape), levels=[0.5, 1.5],
               colors="#555555", linewidths=1)
    ax.plot([], [], "-", color=ORANGE, label="margin 1 band, W")
    ax.plot([], [], "--", color=BLACK, label="margin 1 band, 2W")
    ax.set(xlabel="x1", ylabel="x2", aspect="equal",
           title="One decision boundary (grey);\n2W narrows the margin band")
    ax.legend(loc="lower center", fontsize=8, ncol=2)
    names = ["hinge loss", "L2 penalty sum W^2"]
    one = [svm["hinge_W"], svm["l2_W"]]
    two = [svm["hinge_2W"], svm["l2_2W"]]
    xs = np.arange(2)
    bx.bar(xs - 0.2, one, 0.4, color=ORANGE, label="W")
    bx.bar(xs + 0.2, two, 0.4, color=BLACK, label="2W")
    for xi, a, c in zip(xs, one, two):
        bx.text(xi - 0.2, a, f"{a:.3g}", ha="center", va="bottom")
        bx.text(xi + 0.2, c, f"{c:.3g}", ha="center", va="bottom")
    bx.set_xticks(xs, names)
    bx.set(ylabel="value on the training set", title="Both have zero hinge loss; "
           "only the penalty prefers W")
    bx.legend()
    fig.suptitle("A zero-loss W is not unique: the linear SVM's W and 2W")
    ctx.save(fig, "regularization_hinge_2w")
