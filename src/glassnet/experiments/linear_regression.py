"""Gradient descent fits y = w x + b to the lecture's four points (section 1).

x = (2, 4, 6, 8), y = (3, 4, 5, 6). From a random start, full-batch gradient descent
(glassnet's ``GD`` optimizer on the mean squared error, every gradient from the engine)
walks down the loss surface to the least-squares optimum w = 0.5, b = 2.0, which the
closed form (the normal equations, ``LinearRegression.fit_least_squares``) gives directly.
The figure draws the (w, b) path over the loss contour and the loss per step (log scale).
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "linear-regression"
TITLE = "Gradient descent fits a line to the lecture's four points"
SECTION = "1"
ORDER = 1
OPTIONS: dict[str, Any] = {"lr": 0.02, "steps": 5000, "tol": 1e-10}
QUICK: dict[str, Any] = {}


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet import losses, optim
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.data import lecture_points
    from glassnet.models import LinearRegression
    from glassnet.tensor import Tensor

    x, y = lecture_points()
    x, y = np.asarray(x, np.float64).reshape(-1), np.asarray(y, np.float64).reshape(-1)
    X = Tensor(x.reshape(-1, 1).astype(np.float64))
    Y = Tensor(y.reshape(-1, 1).astype(np.float64))
    model = LinearRegression(1, 1, dtype=np.float64)
    w0, b0 = ctx.rng.uniform(-1.5, 1.5), ctx.rng.uniform(-1.0, 4.0)
    with no_grad():
        model.weight.data[...] = w0
        model.bias.data[...] = b0
    opt = optim.GD(model.parameters(), lr=ctx["lr"])
    path = [(w0, b0)]
    loss_per_step = []
    steps = 0
    for steps in range(1, ctx["steps"] + 1):  # noqa: B007 - steps is reported
        opt.zero_grad()
        loss = losses.l2(model(X), Y)
        loss.backward()
        opt.step()
        loss_per_step.append(loss.item())
        path.append((model.weight.data.item(), model.bias.data.item()))
        if loss.item() < ctx["tol"]:
            break
    w, b = path[-1]
    closed = LinearRegression(1, 1, dtype=np.float64).fit_least_squares(x.reshape(-1, 1), y)
    cw, cb = closed.weight.data.item(), closed.bias.data.item()
    ctx.note(f"From the random start (w, b) = ({w0:.3f}, {b0:.3f}), {steps} steps of "
             f"gradient descent with step size {ctx['lr']} reach w = {w:.4f}, b = {b:.4f}; "
             f"the normal equations give w = {cw:.4f}, b = {cb:.4f}. The path first slides "
             "down the steep direction, then creeps along the flat valley of the contour: "
             "the loss is ill-conditioned because x is not centred.")
    if ctx.drawing:
        _draw(ctx, x, y, np.array(path), np.array(loss_per_step), (cw, cb))
    return {"w": w, "b": b, "closed_form_w": cw, "closed_form_b": cb, "steps": steps,
            "start_w": w0, "start_b": b0, "final_loss": loss_per_step[-1]}


def _draw(ctx: Any, x: np.ndarray, y: np.ndarray, path: np.ndarray, loss: np.ndarray,
          opt: tuple[float, float]) -> None:
    from glassnet.experiments._plot import BLACK, BLUE, VERMILION

    fig, (a0, a1, a2) = ctx.subplots(1, 3, figsize=(14, 4.2))
    lo_w, hi_w = min(path[:, 0].min(), 0.5) - 0.5, max(path[:, 0].max(), 0.5) + 0.5
    lo_b, hi_b = min(path[:, 1].min(), 2.0) - 1.0, max(path[:, 1].max(), 2.0) + 1.0
    W, B = np.meshgrid(np.linspace(lo_w, hi_w, 200), np.linspace(lo_b, hi_b, 200))
    L = ((W[..., None] * x + B[..., None] - y) ** 2).mean(axis=-1)
    cs = a0.contour(W, B, L, levels=np.geomspace(max(L.min(), 1e-3), L.max(), 14),
                    cmap="viridis", linewidths=1)
    a0.clabel(cs, fontsize=8, fmt="%.2g")
    a0.plot(path[:, 0], path[:, 1], ".-", color=VERMILION, ms=3, lw=1, label="GD path")
    a0.plot(*path[0], "o", color=BLACK, label="start")
    a0.plot(*opt, "*", color=BLUE, ms=14, label="optimum (0.5, 2.0)")
    a0.set(xlabel="slope w", ylabel="intercept b", title="Loss contour and the descent path")
    a0.legend(loc="upper right")
    a1.semilogy(np.arange(1, len(loss) + 1), loss, color=BLUE)
    a1.set(xlabel="step", ylabel="mean squared error (log scale)", title="Loss per step")
    xs = np.linspace(0, 10, 50)
    a2.plot(x, y, "o", color=BLACK, ms=8, label="the four points")
    a2.plot(xs, path[0, 0] * xs + path[0, 1], "--", color=VERMILION, label="start")
    a2.plot(xs, path[-1, 0] * xs + path[-1, 1], color=BLUE,
            label=f"fit: y = {path[-1, 0]:.3f} x + {path[-1, 1]:.3f}")
    a2.set(xlabel="x", ylabel="y", title="The fitted line")
    a2.legend()
    fig.suptitle("Gradient descent on y = w x + b (lecture section 1)")
    ctx.save(fig, "linear-regression")
