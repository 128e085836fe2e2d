"""The "frontal faces only" warning, measured (section 2).

An MLP trained on upright images only is tested on the same test images upright, and then
rotated and shifted: the same objects, seen differently from the training data. Accuracy
drops: a model is only as good as the match between its training data and what it meets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "data-shift"
TITLE = "Trained on upright images only: accuracy on rotated and shifted ones"
SECTION = "2"
ORDER = 2
OPTIONS: dict[str, Any] = {"n_train": 20000, "n_test": 5000, "hidden": 128, "epochs": 5,
                           "dataset": "auto"}
QUICK: dict[str, Any] = {"n_train": None, "n_test": None, "epochs": 30}


def _rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    if degrees % 90 == 0:
        return np.rot90(images, k=int(degrees // 90), axes=(1, 2)).copy()
    try:
        from scipy import ndimage
    except ImportError:
        raise ImportError('rotating images needs scipy: pip install "glassnet[classic]"') from None
    return ndimage.rotate(images, degrees, axes=(2, 1), reshape=False, order=1, mode="constant",
                          cval=0.0).clip(0.0, 1.0)


def _shift(images: np.ndarray, pixels: int) -> np.ndarray:
    """Move the content ``pixels`` to the right and down, filling with background (0)."""
    out = np.zeros_like(images)
    out[:, pixels:, pixels:] = images[:, :-pixels, :-pixels]
    return out


def variants(images: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """The test images as the model was trained to see them, and seen differently."""
    step = max(1, size // 9)  # 3 pixels of 28, 1 of 8
    return {
        "upright": images,
        "rotated 30°": _rotate(images, 30),
        "rotated 90°": _rotate(images, 90),
        "upside down": _rotate(images, 180),
        f"shifted {step} px": _shift(images, step),
        f"shifted {2 * step} px": _shift(images, 2 * step),
    }


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.experiments._learn import accuracy, train_mlp

    d = ctx.image_data(ctx["n_train"], ctx["n_test"], dataset=ctx["dataset"])
    h, w = d.image_shape[:2]
    model = train_mlp(d.X_train, d.y_train, d.num_classes, hidden=[ctx["hidden"]],
                      epochs=ctx["epochs"], seed=ctx.seed)
    views = variants(d.X_test.reshape(-1, h, w), h)
    acc = {k: accuracy(model, v.reshape(len(v), -1).astype(np.float32), d.y_test)
           for k, v in views.items()}
    same = acc["upright"]
    shifted = {k: v for k, v in acc.items() if k != "upright"}
    mean_shifted = float(np.mean(list(shifted.values())))
    worst = min(shifted, key=shifted.get)
    ctx.note(
        f"MLP trained on {len(d.y_train)} upright {d.name} images: {same:.1%} on the "
        f"upright test set, {mean_shifted:.1%} on average over the rotated and shifted "
        f"copies of the same test images, down to {shifted[worst]:.1%} ({worst}). Nothing "
        "about the objects changed, only how they are presented; the training data never "
        "showed them so (chance is "
        f"{1 / d.num_classes:.0%}).")
    if ctx.drawing:
        _draw(ctx, views, acc, d, (h, w))
    return {"test_accuracy_same": same, "test_accuracy_shifted": mean_shifted,
            "test_accuracy_by_shift": shifted}


def _draw(ctx: Any, views: dict, acc: dict, d: Any, shape: tuple[int, int]) -> None:
    from glassnet.experiments._plot import BLUE, VERMILION

    names = list(views)
    fig = ctx.subplots(figsize=(12, 5.4))[0]
    fig.clf()
    grid = fig.add_gridspec(3, len(names), height_ratios=[1, 1, 1.6], hspace=0.35)
    for j, k in enumerate(names):
        for i in range(2):
            ax = fig.add_subplot(grid[i, j])
            ax.imshow(views[k][i].reshape(shape), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(k, fontsize=9)
            if j == 0:
                ax.set_ylabel(d.classes[d.y_test[i]], fontsize=8)
    ax = fig.add_subplot(grid[2, :])
    colours = [BLUE] + [VERMILION] * (len(names) - 1)
    bars = ax.bar(names, [100 * acc[k] for k in names], color=colours)
    ax.bar_label(bars, fmt="%.1f%%", fontsize=8)
    ax.axhline(100 / d.num_classes, color="k", ls=":", lw=1, label="chance")
    ax.set(ylabel="test accuracy (%)", ylim=(0, 105))
    ax.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"Trained on upright {d.name} images only, tested on the same images "
                 "presented differently")
    ctx.save(fig, "data_shift")
