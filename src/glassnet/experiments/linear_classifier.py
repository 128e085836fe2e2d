"""The linear classifier f(x, W) = W x + b and its class templates (section 6).

A ``glassnet.models.LinearClassifier`` is trained by ``glassnet.fit`` twice per data
set, once with the softmax classifier's loss (``softmax_log_likelihood``) and once as a
multiclass SVM (``hinge``), on scikit-learn's 8x8 digits and on Fashion-MNIST when its
files are on this machine (digits only in quick mode). Each row of W holds one class's
weights over the pixels; reshaped to the image it is the class's template, the image
whose dot product with the input is that class's score. The weights start at zero so a
pixel that never lights up keeps weight 0 in every template, and a small L2 penalty keeps
the templates smooth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "linear-classifier"
TITLE = "The linear classifier: softmax and multiclass SVM, rows of W as class templates"
SECTION = "6"
ORDER = 1
# digits have 1,347 training images (6 steps an epoch at batch 256): 400 epochs of them
# are about as many steps (2,400) as 10 epochs of Fashion-MNIST's 60,000 (2,350)
OPTIONS: dict[str, Any] = {"n_train": 60000, "n_test": 10000, "epochs": 10,
                           "digits_epochs": 400, "batch_size": 256, "lr": 0.002,
                           "l2": 1e-4, "fashion": True}
QUICK: dict[str, Any] = {"fashion": False}
LOSSES = ("softmax", "svm")


def _datasets(ctx: Any) -> list[Any]:
    from glassnet.experiments._framework import fashion_mnist_available

    sets = [ctx.image_data(dataset="digits")]
    if ctx["fashion"] and not ctx.quick and fashion_mnist_available():
        sets.append(ctx.image_data(ctx["n_train"], ctx["n_test"], dataset="fashion-mnist"))
    return sets


def _train(ctx: Any, data: Any, loss_name: str) -> tuple[np.ndarray, float, float]:
    """(W, train accuracy, test accuracy) of one linear classifier."""
    from glassnet import losses, optim
    from glassnet import regularizers as R
    from glassnet.models import LinearClassifier
    from glassnet.training import evaluate, fit

    d = data.X_train.shape[1]
    model = LinearClassifier(d, data.num_classes)
    for p in model.parameters():
        p.data[...] = 0.0  # zero start: untouched pixels keep weight 0 in the templates
    loss = losses.softmax_log_likelihood if loss_name == "softmax" else losses.hinge
    opt = optim.Adam(model.parameters(), lr=ctx["lr"])
    epochs = ctx["digits_epochs"] if data.name == "digits" else ctx["epochs"]
    fit(model, loss, opt, (data.X_train, data.y_train), epochs=epochs,
        batch_size=ctx["batch_size"], regularizer=R.L2(ctx["l2"]) if ctx["l2"] else None,
        rng=np.random.default_rng(ctx.seed), verbose=0, keep_best=None)
    train = float(evaluate(model, None, data.X_train, data.y_train)["accuracy"])
    test = float(evaluate(model, None, data.X_test, data.y_test)["accuracy"])
    return model.linear.weight.data.copy(), train, test


def template_correlation(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Mean over classes k of the correlation between row k of W and how class k's mean
    image differs from the mean image of all classes: near 1 when the rows are the
    classes' templates, near 0 for unrelated rows."""
    mean = X.mean(axis=0)
    out = [np.corrcoef(W[k], X[y == k].mean(axis=0) - mean)[0, 1] for k in range(len(W))]
    return float(np.mean(out))


def compute(ctx: Any) -> dict[str, Any]:
    sets = _datasets(ctx)
    test, train, weights, corr = {}, {}, {}, {}
    for data in sets:
        for loss_name in LOSSES:
            key = f"{loss_name}/{data.name}"
            weights[key], train[key], test[key] = _train(ctx, data, loss_name)
            corr[key] = template_correlation(weights[key], data.X_train, data.y_train)
    main = sets[-1]
    shape = list(weights[f"softmax/{main.name}"].shape)
    for data in sets:
        ctx.note(f"On {data.name} ({len(data.y_train)} training images of "
                 f"{'x'.join(map(str, data.image_shape))} pixels) the softmax classifier "
                 f"reaches {test['softmax/' + data.name]:.1%} test accuracy and the "
                 f"multiclass SVM {test['svm/' + data.name]:.1%}.")
    ctx.note(f"W is {shape[0]} x {shape[1]}: one row, one template, per class; each "
             "template is positive (red) where that class's images are bright and the "
             "others are not (mean correlation of a row with its class's mean image minus "
             "the overall mean: " + ", ".join(f"{k} {v:.2f}" for k, v in corr.items())
             + ").")
    if ctx.drawing:
        for data in sets:
            _draw(ctx, data, weights, test)
    return {"test_accuracy": test, "train_accuracy": train, "weight_shape": shape,
            "template_correlation": corr,
            "datasets": [d.name for d in sets]}


def _draw(ctx: Any, data: Any, weights: dict[str, np.ndarray],
          test: dict[str, float]) -> None:
    c = data.num_classes
    fig, axes = ctx.subplots(len(LOSSES), c, figsize=(1.4 * c + 1.6, 1.6 * len(LOSSES) + 0.8))
    image = None
    for row, loss_name in enumerate(LOSSES):
        W = weights[f"{loss_name}/{data.name}"]
        for k in range(c):
            ax = axes[row, k]
            t = W[k].reshape(data.image_shape)
            lim = float(np.abs(t).max()) or 1.0
            image = ax.imshow(t / lim, cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("#999999")
            ax.set_title(data.classes[k], fontsize=10)
        label = "softmax" if loss_name == "softmax" else "SVM (hinge)"
        axes[row, 0].set_ylabel(f"{label}\n{test[f'{loss_name}/{data.name}']:.1%} test",
                                fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.9, pad=0.01,
                 label="weight / largest |weight|\nof the row")
    fig.suptitle(f"Rows of W as class templates, {data.name} "
                 f"({'x'.join(map(str, data.image_shape))} pixels, W is "
                 f"{c} x {int(np.prod(data.image_shape))})")
    ctx.save(fig, f"linear_classifier_{data.name.replace('-', '_')}")
