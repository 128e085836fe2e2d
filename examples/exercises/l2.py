"""A solution of `glassnet exercise l2`: L = 1/N sum_i sum_k (y_ik - s_ik)^2."""


def forward(s, y):
    return ((y - s) ** 2).sum() / len(s)


def backward(dout, s, y):
    return dout * -2 * (y - s) / len(s)  # the lecture's -2 (y - s), and the mean's 1/N
