"""A solution of `glassnet exercise two-layer`: s = max(0, x W1^T + b1) W2^T + b2."""

import numpy as np


def forward(x, W1, b1, W2, b2):
    h = np.maximum(0, x @ W1.T + b1)
    return h @ W2.T + b2


def backward(dout, x, W1, b1, W2, b2):
    z = x @ W1.T + b1  # the forward pass again: what backward needs
    h = np.maximum(0, z)
    dW2, db2 = dout.T @ h, dout.sum(axis=0)  # the second linear layer
    dz = (dout @ W2) * (z > 0)  # back through W2, then the ReLU's mask
    dW1, db1 = dz.T @ x, dz.sum(axis=0)  # the first linear layer
    dx = dz @ W1
    return dx, dW1, db1, dW2, db2
