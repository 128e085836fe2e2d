"""How much data: test accuracy against the size of the training set (section 2).

The same MLP trained by glassnet on the first 100, 300, ... 60,000 training images (a
random subset, nested: each size contains the smaller ones) and tested on the same test
set: the learning curve. Each size trains for about the same number of steps at small
sizes (more epochs) and a few epochs at large ones.
"""

from __future__ import annotations

from typing import Any

NAME = "data-size"
TITLE = "The learning curve: test accuracy against the training-set size"
SECTION = "2"
ORDER = 1
OPTIONS: dict[str, Any] = {"sizes": [100, 300, 1000, 3000, 10000, 30000, 60000],
                           "n_test": 10000, "hidden": 128, "epochs": 4, "min_steps": 300,
                           "dataset": "auto"}
QUICK: dict[str, Any] = {"sizes": [50, 100, 300, 1000], "n_test": 450, "min_steps": 150}


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.experiments._learn import accuracy, train_mlp

    d = ctx.image_data(None, ctx["n_test"], dataset=ctx["dataset"])
    order = ctx.rng.permutation(len(d.y_train))
    sizes = [int(s) for s in ctx["sizes"] if int(s) <= len(order)]
    if len(sizes) < len(ctx["sizes"]):
        ctx.note(f"{d.name} has {len(order)} training images: larger sizes were left out.")
    batch = 64
    test, train, epochs_used = {}, {}, {}
    for n in sizes:
        idx = order[:n]
        epochs = max(ctx["epochs"], -(-ctx["min_steps"] * batch // n))
        model = train_mlp(d.X_train[idx], d.y_train[idx], d.num_classes,
                          hidden=[ctx["hidden"]], epochs=epochs, batch_size=batch,
                          seed=ctx.seed)
        test[str(n)] = accuracy(model, d.X_test, d.y_test)
        train[str(n)] = accuracy(model, d.X_train[idx], d.y_train[idx])
        epochs_used[str(n)] = epochs
    lo, hi = str(sizes[0]), str(sizes[-1])
    ctx.note(
        f"MLP {d.X_train.shape[1]}-{ctx['hidden']}-{d.num_classes} (Adam, batch {batch}) on "
        f"{d.name}, tested on {len(d.y_test)} images. With {lo} training images it reaches "
        f"{test[lo]:.1%} on the test set (while fitting its training set at {train[lo]:.0%}); "
        f"with {hi}, {test[hi]:.1%}. The gap between training and test accuracy, large "
        "for small sets, closes as data grows: the amount of training data bounds accuracy.")
    if ctx.drawing:
        _draw(ctx, sizes, train, test, d.name)
    return {"test_accuracy": test, "train_accuracy": train, "epochs": epochs_used}


def _draw(ctx: Any, sizes: list[int], train: dict, test: dict, dataset: str) -> None:
    from glassnet.experiments._plot import BLUE, VERMILION

    fig, ax = ctx.subplots(figsize=(7.5, 4.5))
    ax.plot(sizes, [100 * train[str(n)] for n in sizes], "s--", color=VERMILION,
            label="training set")
    ax.plot(sizes, [100 * test[str(n)] for n in sizes], "o-", color=BLUE, lw=2,
            label="test set")
    for n in sizes:
        ax.annotate(f"{100 * test[str(n)]:.1f}", (n, 100 * test[str(n)]),
                    textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8)
    ax.set_xscale("log")
    ax.set(xlabel="training images (log scale)", ylabel="accuracy (%)",
           title=f"Learning curve on {dataset}: more data, better generalization")
    ax.legend()
    ctx.save(fig, "data_size")
