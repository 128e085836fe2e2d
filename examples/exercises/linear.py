"""A solution of `glassnet exercise linear`: s = x W^T + b, one row per example."""


def forward(x, W, b):
    return x @ W.T + b


def backward(dout, x, W, b):
    dx = dout @ W  # (N, C) (C, D): W^T dL/ds for each example, as rows
    dW = dout.T @ x  # (C, N) (N, D): every example's outer product, summed
    db = dout.sum(axis=0)  # ds/db = I for every example
    return dx, dW, db
