"""A solution of `glassnet exercise sigmoid`: p = 1 / (1 + exp(-s))."""

import numpy as np


def forward(s):
    # exp(-|s|) never overflows; the two branches are the same function.
    e = np.exp(-np.abs(s))
    return np.where(s >= 0, 1 / (1 + e), e / (1 + e))


def backward(dout, s):
    p = forward(s)
    return dout * p * (1 - p)  # sigma'(s) = sigma(s) (1 - sigma(s))
