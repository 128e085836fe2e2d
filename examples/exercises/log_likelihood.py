"""A solution of `glassnet exercise log-likelihood`: L = -1/N sum_i log p_iy_i."""

import numpy as np


def forward(p, y):
    return -np.log(p[np.arange(len(y)), y]).sum() / len(y)


def backward(dout, p, y):
    rows = np.arange(len(y))
    dp = np.zeros_like(p)  # only the true class's probability enters the loss
    dp[rows, y] = -1 / p[rows, y]
    return dout * dp / len(y)
