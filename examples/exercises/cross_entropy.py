"""A solution of `glassnet exercise cross-entropy`, the lecture's:
L = -1/N sum_i sum_j [z_ij log p_ij + (1 - z_ij) log(1 - p_ij)]."""

import numpy as np


def forward(p, y):
    z = np.eye(p.shape[1])[y]  # one-hot labels
    return -(z * np.log(p) + (1 - z) * np.log(1 - p)).sum() / len(y)


def backward(dout, p, y):
    z = np.eye(p.shape[1])[y]
    return dout * (-z / p + (1 - z) / (1 - p)) / len(y)
