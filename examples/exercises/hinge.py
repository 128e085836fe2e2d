"""A solution of `glassnet exercise hinge`: the multiclass SVM loss, mean over N."""

import numpy as np


def _active(s, y):
    """The margins s_j - s_y + 1 and which of them are positive, j = y left out."""
    rows = np.arange(len(y))
    margins = s - s[rows, y][:, None] + 1
    margins[rows, y] = 0  # the sum runs over j != y
    return np.maximum(margins, 0), (margins > 0).astype(float)


def forward(s, y):
    margins, _ = _active(s, y)
    return margins.sum() / len(y)


def backward(dout, s, y):
    _, active = _active(s, y)
    ds = active.copy()  # +1 for every wrong class with a positive margin
    ds[np.arange(len(y)), y] = -active.sum(axis=1)  # -1 from each of them for the true class
    return dout * ds / len(y)
