"""Representation learning: what the layers of a trained MLP learned (sections 1 and 5).

A ReLU MLP is trained on real images (Fashion-MNIST, digits in quick mode) with
``glassnet.fit``. Then each representation of the held-out images is examined: the
input pixels and the activations after each hidden layer's ReLU.

- A **linear probe** per representation: a softmax classifier
  (``glassnet.models.LinearClassifier`` trained with ``softmax_log_likelihood`` by
  ``glassnet.fit``, Adam with a cosine-annealed step size, so that each probe ends near
  its optimum) on the standardized activations of the training images, scored on the
  held-out images. Its accuracy says how linearly separable the classes are in that
  layer's space. It rises from the pixels to the hidden layers, because each layer is
  trained to make the next linear map's job easier; on Fashion-MNIST most of the gain
  comes at the first hidden layer and the deeper ones keep it. The same probes on the
  untrained network (the same initial weights, before training) are the control: random
  ReLU features lose separability layer after layer, the learned ones do not.
- **2-D pictures** of each space: the held-out images' activations projected onto their
  top two principal components (NumPy's SVD), coloured by class.
- The **first layer's weights**, each row of W shown as an image: the patterns of
  pixels its units respond to.

The data are Fashion-MNIST whenever its files are on the machine, in quick mode too
(10,000 training images): on the 8x8 digits a linear classifier on the pixels is already
within a point of the MLP, so there is nothing for depth to show (the experiment then
says so). NumPy's BLAS runs on ``threads`` threads (default 1: these small products are
faster on one thread than on two contended ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "representation"
TITLE = "What the layers of a trained MLP learned: linear probes and 2-D views per layer"
SECTION = "5"
ORDER = 2
OPTIONS: dict[str, Any] = {"n_train": 60000, "n_test": 10000, "dataset": "auto",
                           "hidden": "256,128,64", "epochs": 10, "lr": 0.001,
                           "batch_size": 128, "probe_epochs": 10, "probe_lr": 0.003,
                           "probe_batch_size": 256, "threads": 1,
                           "points": 2000}
QUICK: dict[str, Any] = {"n_train": 10000, "n_test": 2000, "probe_batch_size": 128,
                         "points": 1000}

#: ten classes: the Okabe-Ito colours, then grey and wine, each with its own marker
CLASS_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                 "#000000", "#999999", "#882255", "#F0E442"]
CLASS_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]


def _hidden_sizes(text: str, experiment: str = NAME) -> list[int]:
    """``"256,128"`` -> [256, 128]; a one-line error naming the value otherwise."""
    try:
        sizes = [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        sizes = []
    if not sizes or any(h < 1 for h in sizes):
        raise ValueError(
            f"{experiment}: hidden must be positive layer widths separated by commas "
            f"(e.g. '256,128,64'), got {text!r}"
        )
    return sizes


def _representations(model: Any, X: np.ndarray) -> list[np.ndarray]:
    """The input and the output of each hidden layer's activation, layer by layer."""
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.nn import Linear
    from glassnet.tensor import Tensor

    layers = list(model)
    out = [X]
    with no_grad():
        x = Tensor(X)
        for i, layer in enumerate(layers[:-1]):
            x = layer(x)
            if not isinstance(layer, Linear) and isinstance(layers[i + 1], Linear):
                out.append(x.data.copy())
    return out


def _probe(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray,
           num_classes: int, ctx: Any) -> float:
    """Held-out accuracy of a softmax classifier trained on one representation."""
    from glassnet import fit, losses, optim
    from glassnet.data import Standardizer
    from glassnet.models import LinearClassifier
    from glassnet.training import evaluate

    scaler = Standardizer().fit(train)
    a, b = scaler.transform(train), scaler.transform(test)
    probe = LinearClassifier(a.shape[1], num_classes)
    opt = optim.Adam(probe.parameters(), lr=ctx["probe_lr"])
    # the step size decays to 0 over the run, so every probe ends at its optimum
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, ctx["probe_epochs"])
    fit(probe, losses.softmax_log_likelihood, opt, (a, y_train), epochs=ctx["probe_epochs"],
        batch_size=ctx["probe_batch_size"], scheduler=schedule, rng=ctx.rng, verbose=0)
    return float(evaluate(probe, None, b, y_test)["accuracy"])


def _pca2(Z: np.ndarray) -> tuple[np.ndarray, float]:
    """Z's rows on their top two principal components, and the share of the variance
    those two hold."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.mean(axis=0)
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    return Z @ vt[:2].T, float((s[:2] ** 2).sum() / max((s ** 2).sum(), 1e-300))


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.experiments._threads import limited_threads

    with limited_threads(ctx["threads"], NAME):  # small products: one thread is faster
        return _compute(ctx)


def _compute(ctx: Any) -> dict[str, Any]:
    from glassnet import fit, losses, optim
    from glassnet.experiments._framework import fashion_mnist_available
    from glassnet.nn import MLP
    from glassnet.training import evaluate

    sizes = _hidden_sizes(ctx["hidden"])
    dataset = ctx["dataset"]
    if dataset == "auto":  # Fashion-MNIST in quick mode too: digits are almost linear
        dataset = "fashion-mnist" if fashion_mnist_available() else "digits"
    data = ctx.image_data(ctx["n_train"], ctx["n_test"], dataset=dataset)
    X, y, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    C = data.num_classes
    model = MLP(X.shape[1], sizes, C, generator=ctx.rng)
    untrained = MLP(X.shape[1], sizes, C)
    untrained.load_state_dict(model.state_dict())
    history = fit(model, losses.softmax_log_likelihood,
                  optim.Adam(model.parameters(), lr=ctx["lr"]), (X, y),
                  epochs=ctx["epochs"], batch_size=ctx["batch_size"], rng=ctx.rng, verbose=0)
    model.eval()
    untrained.eval()

    names = ["input"] + [f"hidden {i + 1}" for i in range(len(sizes))]
    widths = [X.shape[1], *sizes]
    learned_train, learned_test = _representations(model, X), _representations(model, X_test)
    random_train = _representations(untrained, X)
    random_test = _representations(untrained, X_test)
    probe = [_probe(a, y, b, y_test, C, ctx) for a, b in zip(learned_train, learned_test)]
    control = [probe[0]] + [_probe(a, y, b, y_test, C, ctx)
                            for a, b in zip(random_train[1:], random_test[1:])]
    numbers = {
        "dataset": data.name, "n_train": len(y), "n_test": len(y_test),
        "layers": [f"{n} ({w})" for n, w in zip(names, widths)],
        "probe_accuracy": probe,
        "probe_accuracy_untrained": control,
        "mlp_test_accuracy": evaluate(model, None, X_test, y_test)["accuracy"],
        "mlp_train_loss": history.train_loss[-1],
    }
    steps = ", ".join(f"{n} {a:.1%}" for n, a in zip(names, probe))
    gains = np.diff(probe)
    points = 100 * gains
    shape = ("rises with every layer" if np.all(gains > 0) else
             f"changes by {points[0]:+.1f} points at hidden 1 and by {points[1:].min():+.1f} "
             f"to {points[1:].max():+.1f} points at the deeper layers" if len(gains) > 1
             else f"changes by {points[0]:+.1f} points at the hidden layer")
    verdict = ("the network has re-mapped the data so that a linear classifier separates "
               "the classes better" if probe[-1] > probe[0] else
               "here training did not make the classes more linearly separable")
    learned = ("random ReLU features do not explain the gain; the learned ones do"
               if control[-1] < probe[-1] else
               "random ReLU features do as well here, so the gain is not (only) learned")
    ctx.note(
        f"An MLP {X.shape[1]}-{'-'.join(map(str, sizes))}-{C} (ReLU) trained "
        f"{ctx['epochs']} epochs with Adam on {len(y):,} {data.name} images reaches "
        f"{numbers['mlp_test_accuracy']:.1%} on {len(y_test):,} held-out images. A linear "
        f"softmax probe on each representation, trained on the training images' "
        f"activations and scored on the held-out ones: {steps}. The accuracy {shape}; "
        f"from {probe[0]:.1%} on the pixels to {probe[-1]:.1%} after the last hidden "
        f"layer: {verdict}. On the untrained network (same initial weights) the probes "
        f"give " + ", ".join(f"{a:.1%}" for a in control[1:]) + f": {learned}."
    )
    if ctx.drawing:
        _draw_layers(ctx, data, learned_test, names, widths, numbers)
        _draw_weights(ctx, data, model)
    return numbers


def _draw_layers(ctx: Any, data: Any, reps: list[np.ndarray], names: list[str],
                 widths: list[int], numbers: dict[str, Any]) -> None:
    from glassnet.experiments._plot import BLUE, VERMILION

    n = min(ctx["points"], len(data.y_test))
    idx = ctx.rng.choice(len(data.y_test), size=n, replace=False)
    labels = data.y_test[idx]
    cols = len(reps)
    fig = ctx.subplots(figsize=(4.3 * cols, 9.0))[0]
    fig.clf()
    grid = fig.add_gridspec(3, cols, height_ratios=[0.12, 1.35, 1])
    for j, (rep, name, width) in enumerate(zip(reps, names, widths)):
        ax = fig.add_subplot(grid[1, j])
        xy, share = _pca2(rep[idx])
        for c in range(data.num_classes):
            pts = xy[labels == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=7, alpha=0.7, color=CLASS_COLOURS[c % 10],
                       marker=CLASS_MARKERS[c % 10], label=data.classes[c], linewidths=0)
        ax.set(title=f"{name} ({width} values)\nlinear probe "
                     f"{numbers['probe_accuracy'][j]:.1%}",
               xlabel=f"PC 1 (PCs 1-2: {share:.0%} of the variance)", ylabel="PC 2")
        ax.set_xticks([])
        ax.set_yticks([])
    handles, text = ax.get_legend_handles_labels()
    key = fig.add_subplot(grid[0, :])
    key.set_axis_off()
    key.legend(handles, text, loc="center", ncol=data.num_classes, fontsize=10,
               markerscale=2.5, frameon=False)
    ax = fig.add_subplot(grid[2, :])
    x = np.arange(len(names))
    ax.plot(x, 100 * np.array(numbers["probe_accuracy"]), "o-", color=BLUE,
            label="trained network")
    ax.plot(x, 100 * np.array(numbers["probe_accuracy_untrained"]), "s--", color=VERMILION,
            label="untrained network (same initial weights)")
    for xi, a in zip(x, numbers["probe_accuracy"]):
        ax.annotate(f"{a:.1%}", (xi, 100 * a), xytext=(0, 7), textcoords="offset points",
                    ha="center", fontsize=10, color=BLUE)
    ax.set_xticks(x, [f"{n} ({w})" for n, w in zip(names, widths)])
    ax.set(xlabel="representation (width)", ylabel="held-out accuracy (%)",
           title="Linear probe accuracy per layer: a softmax classifier on that layer's "
                 "activations")
    lo = 100 * min(numbers["probe_accuracy"] + numbers["probe_accuracy_untrained"])
    ax.set_ylim(max(0.0, lo - 3), min(100.0, 100 * max(numbers["probe_accuracy"]) + 3))
    ax.legend(loc="lower left")
    fig.suptitle(f"Representation learning (lecture sections 1 and 5): held-out "
                 f"{data.name} images in each layer's space (top 2 principal components)")
    ctx.save(fig, "representation-layers")


def _draw_weights(ctx: Any, data: Any, model: Any, count: int = 32) -> None:
    from glassnet.experiments._plot import DIVERGING

    W = model[0].weight.data
    count = min(count, W.shape[0])
    order = np.argsort(-np.linalg.norm(W, axis=1))[:count]  # the strongest units first
    cols = 8
    rows = -(-count // cols)
    fig, axes = ctx.subplots(rows, cols, figsize=(1.6 * cols, 1.75 * rows + 0.9),
                             squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= count:
            continue
        w = W[order[k]].reshape(data.image_shape)
        lim = float(np.abs(w).max()) or 1.0
        ax.imshow(w, cmap=DIVERGING, vmin=-lim, vmax=lim)
        ax.set_title(f"unit {order[k]}", fontsize=9)
    fig.suptitle(f"First-layer weights of the trained MLP ({count} of {W.shape[0]} units, "
                 f"largest norm first):\neach row of W as a {data.image_shape[0]}x"
                 f"{data.image_shape[1]} image, red = positive, blue = negative weight")
    ctx.save(fig, "representation-weights")
