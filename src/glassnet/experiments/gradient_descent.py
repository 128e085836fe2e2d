"""Gradient descent in one and two dimensions, and what the Hessian says about where it
stops (sections 9 and 10).

One dimension: f(x) = x^2 - 4x + 3, f'(x) = 2x - 4, minimum at x = 2. A step x <- x -
alpha f'(x) multiplies the distance to the minimum by (1 - 2 alpha): it converges
monotonically for alpha < 0.5, oscillates and converges for 0.5 < alpha < 1, and diverges
for alpha > 1 = 2 / f''. The boundary is measured by bisection on real runs.

Two dimensions: the lecture's six-hump function. Descent paths from several starts end at
points where the gradient vanishes; each end point is classified by the eigenvalues of
its Hessian (``glassnet.hessian``): all positive -> minimum, mixed signs -> saddle, all
negative -> maximum. The start (0, 0) is a stationary point itself: a saddle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "gradient-descent"
TITLE = "Step sizes that converge, oscillate and diverge; the six-hump function's minima"
SECTION = "9"
ORDER = 1
OPTIONS: dict[str, Any] = {"x0": 5.0, "steps": 3000, "lr": 0.02, "starts": 12}
QUICK: dict[str, Any] = {"steps": 600, "lr": 0.05, "starts": 6}


def parabola(x: Any) -> Any:
    """f(x) = x^2 - 4x + 3."""
    return x * x - 4 * x + 3


def six_hump(x: Any) -> Any:
    """The lecture's f(x1, x2) = (4 - 2.1 x1^2 + x1^4/3) x1^2 + x1 x2 + (-4 + 4 x2^2) x2^2
    (x[0], x[1] may be arrays of points)."""
    x1, x2 = x[0], x[1]
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


def descend_1d(lr: float, x0: float, steps: int) -> np.ndarray:
    """The iterates of gradient descent on the parabola (gradients by autograd)."""
    from glassnet.autograd.functional import grad

    xs = [x0]
    x = x0
    for _ in range(steps):
        x = x - lr * float(grad(parabola, x))
        xs.append(x)
        if not np.isfinite(x) or abs(x) > 1e12:
            break
    return np.array(xs)


def measure_divergence_lr(x0: float, steps: int = 60, tol: float = 1e-4) -> float:
    """Bisection for the smallest step size whose run ends farther from the minimum than
    it started (the run's own minimum, found by descent with a small step)."""
    xmin = descend_1d(0.1, x0, 400)[-1]
    start = abs(x0 - xmin)
    lo, hi = 0.01, 4.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        end = abs(descend_1d(mid, x0, steps)[-1] - xmin)
        if end > start * (1 + 1e-9):
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def classify(point: np.ndarray) -> tuple[str, np.ndarray]:
    """minimum / saddle / maximum from the eigenvalues of the Hessian at ``point``."""
    from glassnet.autograd.functional import hessian

    eig = np.linalg.eigvalsh(np.asarray(hessian(six_hump, point.astype(np.float64))))
    if np.all(eig > 0):
        return "minimum", eig
    if np.all(eig < 0):
        return "maximum", eig
    return "saddle", eig


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.autograd.functional import grad

    x0 = ctx["x0"]
    runs = {lr: descend_1d(lr, x0, 40) for lr in (0.1, 0.45, 0.9, 1.0, 1.05)}
    minimum_x = float(descend_1d(0.1, x0, 400)[-1])
    boundary = measure_divergence_lr(x0)

    starts = [np.zeros(2)] + [ctx.rng.uniform([-2.0, -1.1], [2.0, 1.1])
                              for _ in range(ctx["starts"] - 1)]
    paths, ends = [], []
    for s in starts:
        x = s.astype(np.float64)
        path = [x.copy()]
        for _ in range(ctx["steps"]):
            g = np.asarray(grad(six_hump, x))
            x = x - ctx["lr"] * g
            path.append(x.copy())
            if np.linalg.norm(g) < 1e-9:
                break
        kind, eig = classify(x)
        paths.append(np.array(path))
        ends.append((x, kind, eig))
    minima: list[list[float]] = []
    for x, kind, _ in ends:
        if kind == "minimum" and not any(np.allclose(x, m, atol=1e-3) for m in minima):
            minima.append([round(float(v), 4) for v in x])
    minima.sort()
    saddles = sorted({(round(float(x[0]), 4), round(float(x[1]), 4))
                      for x, kind, _ in ends if kind == "saddle"})
    ctx.note(f"On f(x) = x^2 - 4x + 3 descent finds the minimum x = {minimum_x:.6f}. The "
             f"measured step-size boundary between convergence and divergence is "
             f"{boundary:.4f} (theory: 2 / f'' = 1.0); between 0.5 and 1.0 the iterates "
             "overshoot and oscillate around the minimum while they converge.")
    ctx.note(f"On the six-hump function, {len(starts)} starts end at {len(minima)} distinct "
             f"minima {minima} (Hessian eigenvalues all positive) and at the saddle(s) "
             f"{[list(s) for s in saddles]} (eigenvalues of both signs): a zero gradient "
             "alone does not make a minimum.")
    if ctx.drawing:
        _draw(ctx, runs, x0, boundary, paths, ends)
    return {"minimum_x": minimum_x, "divergence_lr": boundary, "six_hump_minima": minima,
            "six_hump_saddles": [list(s) for s in saddles],
            "end_points": [{"x": x.tolist(), "kind": k, "eigenvalues": e.tolist()}
                           for x, k, e in ends]}


def _draw(ctx: Any, runs: dict[float, np.ndarray], x0: float, boundary: float,
          paths: list[np.ndarray], ends: list[Any]) -> None:
    from glassnet.autograd.functional import grad
    from glassnet.experiments._plot import BLACK, PALETTE

    fig, (a0, a1) = ctx.subplots(1, 2, figsize=(14, 5.4))
    xs = np.linspace(-1.5, 5.5, 200)
    a0.plot(xs, parabola(xs), color=BLACK, lw=1.5, label="f(x) = x² - 4x + 3")
    for (lr, it), color in zip(runs.items(), PALETTE):
        it = it[:12]
        shown = it
        verdict = ("converges" if lr < 0.5 else "oscillates, converges" if lr < 1.0
                   else "oscillates forever" if lr == 1.0 else "diverges")
        a0.plot(shown, parabola(shown), "o-", color=color, ms=4, lw=1, alpha=0.85,
                label=f"α = {lr}: {verdict}")
    a0.set_ylim(-2, 12)
    a0.set_xlim(-1.6, 5.6)
    a0.set(xlabel="x", ylabel="f(x)",
           title=f"Step sizes on a parabola (measured boundary α = {boundary:.3f})")
    a0.legend(loc="upper center", fontsize=9)

    g1, g2 = np.meshgrid(np.linspace(-2.2, 2.2, 300), np.linspace(-1.2, 1.2, 200))
    F = six_hump(np.stack([g1, g2]))
    cs = a1.contourf(g1, g2, np.clip(F, -1.2, 5), levels=30, cmap="viridis", alpha=0.9)
    fig.colorbar(cs, ax=a1, label="f(x1, x2)")
    q1, q2 = np.meshgrid(np.linspace(-2.1, 2.1, 17), np.linspace(-1.1, 1.1, 11))
    G = np.array([grad(six_hump, [a, b]) for a, b in zip(q1.ravel(), q2.ravel())])
    norm = np.linalg.norm(G, axis=1, keepdims=True) + 1e-12
    a1.quiver(q1.ravel(), q2.ravel(), -G[:, 0] / norm[:, 0], -G[:, 1] / norm[:, 0],
              color="white", alpha=0.6, scale=30, width=0.003)
    marker = {"minimum": "*", "saddle": "X", "maximum": "^"}
    seen: set[str] = set()
    for path, (x, kind, _) in zip(paths, ends):
        a1.plot(path[:, 0], path[:, 1], "-", color="#E69F00", lw=1.2)
        a1.plot(*path[0], "o", color="white", ms=4, mec=BLACK)
        a1.plot(*x, marker[kind], color="#D55E00" if kind == "minimum" else "#CC79A7",
                ms=13, mec=BLACK, label=None if kind in seen else f"end: {kind}")
        seen.add(kind)
    a1.set(xlabel="x1", ylabel="x2", xlim=(-2.2, 2.2), ylim=(-1.2, 1.2),
           title="Six-hump function: descent paths, ends classified by the Hessian")
    a1.legend(loc="lower left", fontsize=9)
    fig.suptitle("Gradient descent (lecture sections 9-10)")
    ctx.save(fig, "gradient-descent")
