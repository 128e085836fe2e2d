"""Linear algebra primitives."""

from __future__ import annotations

import numpy as np

from glassnet.autograd import function as _function
from glassnet.autograd.engine import sum_to_shape
from glassnet.autograd.function import Function


class MatMul(Function):
    """Matrix product with NumPy's ``@`` rules: vector-vector, matrix-vector,
    matrix-matrix, and batches of matrices with broadcasting.

    Forward: out = a @ b; a (..., N, D), b (..., D, M) -> (..., N, M). A 1-D ``a`` is a
    row (1, D) and a 1-D ``b`` a column (D, 1), the unit axis dropped afterwards.
    Gradient: da = dout @ b^T; db = a^T @ dout (the lecture's ds/dx = W^T for s = W x),
    batch axes then summed to each input's shape.
    Equivalent: ``torch.matmul``.
    """

    __slots__ = ()  # keeps nothing beyond its inputs: no instance dict

    array_backward = True

    def forward(self, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError("matmul does not accept 0-d operands; use *")
        return np.matmul(a, b)

    def backward(self, dout):
        # A constant operand may be a nested list: give it a shape.
        a, b = (x if isinstance(x, _function.Tensor) else np.asarray(x) for x in self.inputs)
        na, nb = self.needs_input_grad
        a_shape, b_shape = a.shape, b.shape
        a2 = a.reshape(1, -1) if len(a_shape) == 1 else a
        b2 = b.reshape(-1, 1) if len(b_shape) == 1 else b
        # Restore the unit axes that 1-D operands dropped from the output.
        if len(a_shape) == 1 and len(b_shape) == 1:
            d2 = dout.reshape(1, 1)
        elif len(a_shape) == 1:
            d2 = dout.reshape(dout.shape[:-1] + (1, dout.shape[-1]))
        elif len(b_shape) == 1:
            d2 = dout.reshape(dout.shape + (1,))
        else:
            d2 = dout
        da = db = None
        if na:
            da = d2 @ _mT(b2)
            da = sum_to_shape(da, a2.shape).reshape(a_shape)
        if nb:
            db = _mT(a2) @ d2
            db = sum_to_shape(db, b2.shape).reshape(b_shape)
        return da, db


def _mT(x):
    """Swap the last two axes (the matrix transpose of each batch entry)."""
    if isinstance(x, np.ndarray):
        return np.swapaxes(x, -1, -2)
    return x.swapaxes(-1, -2)
