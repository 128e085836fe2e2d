"""Every loss of the lecture on its worked example, and each loss and its gradient
against the score (section 7).

The worked example: 3 classes (cat, car, frog), 3 training images whose scores are the
columns cat image (3.2, 5.1, -1.7), car image (1.3, 4.9, 2.0), frog image
(2.2, 2.5, -3.1). The multiclass hinge losses are 2.9, 0 and 12.9, mean 5.27. The same
scores give the softmax probabilities, the log-likelihood -log p_y and the lecture's
cross-entropy -sum_j [z_j log p_j + (1 - z_j) log(1 - p_j)]; L1 and L2 are shown on a
small regression example. Every value and every gradient comes from ``glassnet.losses``
and the autograd engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "losses"
TITLE = "The lecture's losses on the worked example, and their gradients"
SECTION = "7"
ORDER = 1
OPTIONS: dict[str, Any] = {"points": 401}
QUICK: dict[str, Any] = {"points": 101}

#: rows = images (cat, car, frog), columns = class scores (cat, car, frog)
SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
LABELS = np.array([0, 1, 2])
#: a small regression example (e.g. three pixels of a denoised image)
OUTPUTS = np.array([[0.5, 1.5, 2.0]])
TARGETS = np.array([[1.0, 1.0, 3.0]])


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet import losses
    from glassnet.functional import softmax
    from glassnet.tensor import Tensor

    s = Tensor(SCORES)
    hinge = losses.hinge(s, LABELS, reduction="none").data
    probs = softmax(s, axis=1).data
    numbers = {
        "hinge": hinge.round(10).tolist(),
        "hinge_mean": float(losses.hinge(s, LABELS).item()),
        "softmax_probabilities": probs.tolist(),
        "log_likelihood": losses.log_likelihood(Tensor(probs), LABELS,
                                                reduction="none").data.tolist(),
        "softmax_log_likelihood_mean": float(losses.softmax_log_likelihood(s, LABELS).item()),
        "cross_entropy": losses.cross_entropy(Tensor(probs), LABELS,
                                              reduction="none").data.tolist(),
        "l1": float(losses.l1(Tensor(OUTPUTS), Tensor(TARGETS)).item()),
        "l2": float(losses.l2(Tensor(OUTPUTS), Tensor(TARGETS)).item()),
    }
    ctx.note("Multiclass hinge per image: " + ", ".join(f"{v:.1f}" for v in hinge)
             + f" (mean {numbers['hinge_mean']:.2f}), as in the lecture's table. The cat "
             "image is misclassified (car scores 5.1 > 3.2) and costs 2.9; the car image "
             "clears every margin and costs exactly 0; the frog image is scored lowest of "
             "all and costs 12.9.")
    ctx.note("Softmax probabilities of the true class: "
             + ", ".join(f"{probs[i, y]:.3f}" for i, y in enumerate(LABELS))
             + "; -log p_y is the log-likelihood loss. The hinge and L1 have kinks "
             "(marked): there the gradient jumps, and glassnet takes the subgradient 0 at "
             "the kink as its docstrings state.")
    if ctx.drawing:
        _draw(ctx, ctx["points"])
    return numbers


def _curves(points: int) -> list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray, list]]:
    """(title, x label, x, loss, dloss/dx, kinks) of each loss against one score."""
    from glassnet import losses
    from glassnet.tensor import Tensor

    x = np.linspace(-4.0, 4.0, points)
    out = []

    wide = np.linspace(-3.0, 8.0, points)  # the true-class score past every margin

    def curve(fn: Any, make: Any, x: np.ndarray = x) -> tuple[np.ndarray, np.ndarray]:
        t = Tensor(x.copy(), requires_grad=True)
        value = fn(make(t))
        value.sum().backward()
        return value.data.reshape(-1), t.grad.data.reshape(-1)

    def with_true_score(t: Any) -> Any:  # the cat image, its true-class score varied
        from glassnet.functional import concatenate

        n = t.shape[0]
        others = Tensor(np.tile(SCORES[0, 1:], (n, 1)))
        return concatenate([t.reshape(n, 1), others], axis=1)

    y0 = np.zeros(len(x), dtype=np.int64)
    loss, grad = curve(lambda s: losses.binary_hinge(s, np.ones(len(x)), reduction="none"),
                       lambda t: t)
    out.append(("Binary hinge, y = +1", "score s", x, loss, grad, [1.0]))
    loss, grad = curve(lambda s: losses.hinge(s, y0, reduction="none"), with_true_score, wide)
    out.append(("Multiclass hinge (cat image)", "score of the true class s_cat", wide, loss,
                grad, [SCORES[0, 1] + 1.0, SCORES[0, 2] + 1.0]))
    loss, grad = curve(lambda s: losses.softmax_log_likelihood(s, y0, reduction="none"),
                       with_true_score, wide)
    out.append(("Softmax + log-likelihood", "score of the true class s_cat", wide, loss, grad,
                []))
    loss, grad = curve(lambda s: losses.softmax_cross_entropy(s, y0, reduction="none"),
                       with_true_score, wide)
    out.append(("Softmax + cross-entropy", "score of the true class s_cat", wide, loss, grad,
                []))
    zeros = Tensor(np.zeros((len(x), 1)))
    loss, grad = curve(lambda s: losses.l1(s, zeros, reduction="none"),
                       lambda t: t.reshape(len(x), 1))
    out.append(("L1 |y - s|, y = 0", "output s", x, loss, grad, [0.0]))
    loss, grad = curve(lambda s: losses.l2(s, zeros, reduction="none"),
                       lambda t: t.reshape(len(x), 1))
    out.append(("L2 (y - s)^2, y = 0", "output s", x, loss, grad, []))
    return out


def _draw(ctx: Any, points: int) -> None:
    from glassnet.experiments._plot import BLACK, BLUE, VERMILION

    fig, axes = ctx.subplots(2, 3, figsize=(14, 7.6))
    for ax, (title, xlabel, x, loss, grad, kinks) in zip(axes.ravel(), _curves(points)):
        ax.plot(x, loss, color=BLUE, label="loss")
        ax.plot(x, grad, "--", color=VERMILION, label="gradient (autograd)")
        for k in kinks:
            ax.axvline(k, color=BLACK, lw=1, ls=":")
            ax.plot([k], [np.interp(k, x, loss)], "o", color=BLACK, ms=6)
        ax.set(title=title, xlabel=xlabel, ylabel="loss / gradient (unitless)")
        if ax is axes[0, 0]:
            ax.legend(loc="upper right")
    fig.suptitle("Each loss of the lecture (solid) and its derivative (dashed); "
                 "dotted lines mark the kinks")
    ctx.save(fig, "losses")
