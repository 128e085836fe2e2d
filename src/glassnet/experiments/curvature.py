"""Curvature sets the largest stable step size (sections 9 and 10).

On a quadratic f(x) = 1/2 x^T A x the Hessian is A, and gradient descent multiplies the
component along each eigenvector by (1 - alpha lambda): it converges exactly when
alpha < 2 / lambda_max. The experiment measures lambda_max twice, on a quadratic bowl by
``glassnet.hessian`` and on a small MLP's loss (full batch, float64) by power iteration
on Hessian-vector products (double backward through ``glassnet.gradients`` with
``create_graph=True``), then runs gradient descent with step sizes just under and just
over 2 / lambda_max: the first converges, the second diverges.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "curvature"
TITLE = "The Hessian's largest eigenvalue decides which step sizes diverge"
SECTION = "10"
ORDER = 2
OPTIONS: dict[str, Any] = {"margin": 0.1, "steps": 200, "n": 200, "hidden": 16,
                           "power_iterations": 60, "warmup": 300}
QUICK: dict[str, Any] = {"n": 100, "power_iterations": 40, "warmup": 150}

BOWL = np.array([[3.0, 1.0], [1.0, 10.0]])


def bowl(x: Any) -> Any:
    """f(x) = 1/2 x^T A x with A = [[3, 1], [1, 10]]."""
    return 0.5 * (3.0 * x[0] * x[0] + 2.0 * x[0] * x[1] + 10.0 * x[1] * x[1])


def _gd(f: Any, x0: np.ndarray, lr: float, steps: int) -> np.ndarray:
    from glassnet.autograd.functional import grad

    x = x0.astype(np.float64)
    values = [float(np.asarray(f(x)))]
    for _ in range(steps):
        x = x - lr * np.asarray(grad(f, x))
        values.append(float(np.asarray(f(x))))
        if not np.isfinite(values[-1]) or abs(values[-1]) > 1e30:
            break
    return np.array(values)


class _MLPLoss:
    """The full-batch loss of a small tanh MLP as a function of its parameters."""

    def __init__(self, ctx: Any) -> None:
        from glassnet import losses, optim
        from glassnet.data import spirals
        from glassnet.nn import MLP
        from glassnet.tensor import Tensor

        X, y = spirals(ctx["n"], rng=ctx.rng)
        self.X, self.y = Tensor(X.astype(np.float64)), y
        self.model = MLP(2, [ctx["hidden"]], 3 if y.max() == 2 else int(y.max()) + 1,
                         activation="tanh", dtype=np.float64)
        self.params = list(self.model.parameters())
        self.loss_fn = losses.softmax_log_likelihood
        opt = optim.SGD(self.params, lr=0.05)
        for _ in range(ctx["warmup"]):  # away from the initialisation: a typical point
            opt.zero_grad()
            self.loss().backward()
            opt.step()
        self.start = [p.data.copy() for p in self.params]

    def loss(self) -> Any:
        return self.loss_fn(self.model(self.X), self.y)

    def hvp(self, v: list[np.ndarray]) -> list[np.ndarray]:
        from glassnet.autograd.functional import gradients
        from glassnet.tensor import Tensor

        g = gradients(self.loss(), self.params, create_graph=True)
        dot = sum((gi * Tensor(vi)).sum() for gi, vi in zip(g, v))
        return [h.data for h in gradients(dot, self.params)]

    def lambda_max(self, iterations: int, rng: np.random.Generator) -> float:
        v = [rng.standard_normal(p.shape) for p in self.params]
        lam = 0.0
        for _ in range(iterations):
            norm = np.sqrt(sum(float((vi * vi).sum()) for vi in v))
            v = [vi / norm for vi in v]
            hv = self.hvp(v)
            lam = sum(float((a * b).sum()) for a, b in zip(v, hv))
            v = hv
        return lam

    def descend(self, lr: float, steps: int) -> np.ndarray:
        from glassnet import optim

        for p, s in zip(self.params, self.start):
            p.data[...] = s
        opt = optim.GD(self.params, lr=lr)
        values = []
        for _ in range(steps):
            opt.zero_grad()
            loss = self.loss()
            values.append(loss.item())
            if not np.isfinite(values[-1]) or values[-1] > 1e6:
                break
            loss.backward()
            opt.step()
        return np.array(values)


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.autograd.functional import hessian

    m, steps = ctx["margin"], ctx["steps"]
    H = np.asarray(hessian(bowl, [1.0, 1.0]))
    lam_bowl = float(np.linalg.eigvalsh(H).max())
    below, above = (1 - m) * 2 / lam_bowl, (1 + m) * 2 / lam_bowl
    x0 = np.array([1.5, -1.0])
    bowl_below, bowl_above = _gd(bowl, x0, below, steps), _gd(bowl, x0, above, steps)

    mlp = _MLPLoss(ctx)
    lam_mlp = mlp.lambda_max(ctx["power_iterations"], ctx.rng)
    mlp_below = mlp.descend((1 - m) * 2 / lam_mlp, steps)
    mlp_above = mlp.descend((1 + m) * 2 / lam_mlp, steps)

    def converged(v: np.ndarray) -> bool:
        return bool(len(v) == len(bowl_below) and np.isfinite(v[-1]) and v[-1] < 1e-6 * v[0])

    def stable(v: np.ndarray) -> bool:  # the MLP's loss is not 0 at its minimum
        return bool(np.isfinite(v[-1]) and v[-1] <= v[0] and v[-1] < 10 * v[0])

    numbers = {
        "lambda_max": {"bowl": lam_bowl, "mlp": lam_mlp},
        "bowl_lambda_exact": float(np.linalg.eigvalsh(BOWL).max()),
        "lr_below": {"bowl": below, "mlp": (1 - m) * 2 / lam_mlp},
        "lr_above": {"bowl": above, "mlp": (1 + m) * 2 / lam_mlp},
        "converges_below": {"bowl": converged(bowl_below), "mlp": stable(mlp_below)},
        "diverges_above": {"bowl": bool(not np.isfinite(bowl_above[-1])
                                        or bowl_above[-1] > bowl_above[0]),
                           "mlp": bool(not np.isfinite(mlp_above[-1])
                                       or mlp_above[-1] > mlp_above[0])},
        "mlp_final_loss": {"below": float(mlp_below[-1]), "above": float(mlp_above[-1])},
    }
    ctx.note(f"The bowl's Hessian has lambda_max = {lam_bowl:.4f} (exact "
             f"{numbers['bowl_lambda_exact']:.4f}); step {below:.4f} converges, "
             f"{above:.4f} diverges. The MLP's loss has lambda_max = {lam_mlp:.4f} at the "
             f"starting point; from there gradient descent with step "
             f"{numbers['lr_below']['mlp']:.4f} (just under 2 / lambda_max) ends at loss "
             f"{mlp_below[-1]:.4g}, and with {numbers['lr_above']['mlp']:.4f} (just over) "
             f"at {mlp_above[-1]:.4g}. On the bowl the boundary is exact. On the MLP the "
             "curvature changes as the weights move: a step over 2 / lambda_max first "
             "overshoots along the sharpest direction, which carries the weights to a "
             "flatter region, so the run need not blow up (diverges_above['mlp'] reports "
             "what happened).")
    if ctx.drawing:
        _draw(ctx, bowl_below, bowl_above, mlp_below, mlp_above, numbers)
    return numbers


def _draw(ctx: Any, bb: np.ndarray, ba: np.ndarray, mb: np.ndarray, ma: np.ndarray,
          numbers: dict[str, Any]) -> None:
    from glassnet.experiments._plot import BLUE, VERMILION

    fig, axes = ctx.subplots(1, 2, figsize=(12, 4.6))
    for ax, below, above, key, title in (
        (axes[0], bb, ba, "bowl", "Quadratic bowl"), (axes[1], mb, ma, "mlp", "Small MLP")):
        lam = numbers["lambda_max"][key]
        ax.semilogy(np.arange(len(below)), below, color=BLUE,
                    label=f"α = {numbers['lr_below'][key]:.3f} < 2/λ_max")
        ax.semilogy(np.arange(len(above)), above, color=VERMILION,
                    label=f"α = {numbers['lr_above'][key]:.3f} > 2/λ_max")
        ax.set(xlabel="step", ylabel="loss (log scale)",
               title=f"{title}: λ_max = {lam:.3f}, 2/λ_max = {2 / lam:.3f}")
        ax.legend()
    fig.suptitle("Gradient descent just under and just over 2 / λ_max of the Hessian")
    ctx.save(fig, "curvature")
