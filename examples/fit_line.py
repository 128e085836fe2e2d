"""The lecture's first example: fit y = w x + b to four points by gradient descent.

x = (2, 4, 6, 8), y = (3, 4, 5, 6); the least-squares optimum is w = 0.5, b = 2.0.
Then the derivative toolkit: the six-hump function's Hessian at (0, 1) is [[8, 1], [1, 40]].

Run: python examples/fit_line.py
"""

from __future__ import annotations

import numpy as np

import glassnet as gn


def fit_line(steps: int = 5000, lr: float = 0.02) -> tuple[float, float]:
    """Gradient descent on the mean squared error of y = w x + b."""
    x = np.array([2.0, 4.0, 6.0, 8.0])
    y = np.array([3.0, 4.0, 5.0, 6.0])
    w = gn.tensor(0.0, dtype=np.float64, requires_grad=True)
    b = gn.tensor(0.0, dtype=np.float64, requires_grad=True)
    for step in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        w.grad = b.grad = None
        loss.backward()
        with gn.no_grad():  # the lecture's update W <- W - alpha dL/dW
            w.data -= lr * w.grad.data
            b.data -= lr * b.grad.data
        if step % 1000 == 0:
            print(f"step {step:5d}  loss {loss.item():.6f}  w {w.item():.4f}  b {b.item():.4f}")
    return w.item(), b.item()


def six_hump(x: gn.Tensor) -> gn.Tensor:
    """f(x1, x2) = (4 - 2.1 x1^2 + x1^4 / 3) x1^2 + x1 x2 + (-4 + 4 x2^2) x2^2."""
    x1, x2 = x[0], x[1]
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


def main() -> None:
    w, b = fit_line()
    print(f"fitted w = {w:.4f}, b = {b:.4f}  (optimum w = 0.5, b = 2.0)")
    print("six-hump gradient at (0, 1):", gn.grad(six_hump, [0.0, 1.0]))
    print("six-hump Hessian at (0, 1):\n", gn.hessian(six_hump, [0.0, 1.0]))


if __name__ == "__main__":
    main()
