"""Functions on tensors (the same operations as the Tensor methods).

Every function accepts Tensors, ndarrays or Python numbers and returns a Tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from glassnet.ops import elementwise as E
from glassnet.ops import linalg as L
from glassnet.ops import reduce as R
from glassnet.ops import shape as S
from glassnet.ops.elementwise import where
from glassnet.ops.shape import concatenate, stack
from glassnet.tensor import Tensor

Axis = int | Sequence[int] | None


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x: Any) -> Tensor:
    return E.Exp.apply(_t(x))


def log(x: Any) -> Tensor:
    return E.Log.apply(_t(x))


def sqrt(x: Any) -> Tensor:
    return E.Sqrt.apply(_t(x))


def sin(x: Any) -> Tensor:
    return E.Sin.apply(_t(x))


def cos(x: Any) -> Tensor:
    return E.Cos.apply(_t(x))


def tanh(x: Any) -> Tensor:
    return E.Tanh.apply(_t(x))


def sigmoid(x: Any) -> Tensor:
    return E.Sigmoid.apply(_t(x))


def relu(x: Any) -> Tensor:
    return E.Relu.apply(_t(x))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    return E.LeakyRelu.apply(_t(x), negative_slope=negative_slope)


def softplus(x: Any, beta: float = 1.0) -> Tensor:
    return E.Softplus.apply(_t(x), beta=beta)


def abs(x: Any) -> Tensor:  # noqa: A001 - the mathematical name
    return E.Abs.apply(_t(x))


def maximum(a: Any, b: Any) -> Tensor:
    return E.Maximum.apply(_t(a), b)


def minimum(a: Any, b: Any) -> Tensor:
    return E.Minimum.apply(_t(a), b)


def clip(x: Any, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    return E.Clip.apply(_t(x), lo=min, hi=max)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return R.Sum.apply(_t(x), axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return R.Mean.apply(_t(x), axis=axis, keepdims=keepdims)


def var(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    return R.var(_t(x), axis=axis, keepdims=keepdims, ddof=ddof)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return R.Max.apply(_t(x), axis=axis, keepdims=keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return R.Min.apply(_t(x), axis=axis, keepdims=keepdims)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return R.LogSumExp.apply(_t(x), axis=axis, keepdims=keepdims)


def softmax(x: Any, axis: int = -1) -> Tensor:
    return R.Softmax.apply(_t(x), axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    return R.LogSoftmax.apply(_t(x), axis=axis)


def matmul(a: Any, b: Any) -> Tensor:
    return L.MatMul.apply(_t(a), b)


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    return S.Reshape.apply(_t(x), shape=tuple(shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    return S.Transpose.apply(_t(x), axes=None if axes is None else tuple(axes))


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    return S.BroadcastTo.apply(_t(x), shape=tuple(shape))


__all__ = [
    "abs", "broadcast_to", "clip", "concatenate", "cos", "exp", "leaky_relu", "log",
    "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum",
    "relu", "reshape", "sigmoid", "sin", "softmax", "softplus", "sqrt", "stack", "sum",
    "tanh", "transpose", "var", "where",
]
