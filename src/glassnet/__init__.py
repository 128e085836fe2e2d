"""glassnet: a small, fast NumPy deep-learning library that shows every gradient.

The lecture's system as code: tensors with reverse-mode automatic differentiation (to
any order), the derivative toolkit (``grad``, ``jacobian``, ``hessian``,
``numerical_grad``, ``gradcheck``), layers, losses, regularizers, optimizers and training.
"""

from glassnet.autograd.functional import (
    GradcheckError,
    GradcheckReport,
    grad,
    gradcheck,
    gradgradcheck,
    gradients,
    hessian,
    jacobian,
    numerical_grad,
    numerical_jacobian,
)
from glassnet.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from glassnet.dtypes import get_default_dtype, set_default_dtype
from glassnet.functional import (
    abs,
    broadcast_to,
    clip,
    concatenate,
    cos,
    exp,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    sqrt,
    stack,
    sum,
    tanh,
    transpose,
    var,
    where,
)
from glassnet.random import manual_seed
from glassnet.tensor import Tensor, tensor

__version__ = "0.1.0"

__all__ = [
    "GradcheckError", "GradcheckReport", "Tensor", "abs", "broadcast_to", "clip",
    "concatenate", "cos", "enable_grad", "exp", "get_default_dtype", "grad", "gradcheck",
    "gradgradcheck", "gradients", "hessian", "is_grad_enabled", "jacobian", "leaky_relu",
    "log", "log_softmax", "logsumexp", "manual_seed", "matmul", "max", "maximum", "mean",
    "min", "minimum", "no_grad", "numerical_grad", "numerical_jacobian", "relu", "reshape",
    "set_default_dtype", "set_grad_enabled", "sigmoid", "sin", "softmax", "softplus", "sqrt",
    "stack", "sum", "tanh", "tensor", "transpose", "var", "where",
]

# Submodules and the training entry points load on first use, so ``import glassnet``
# stays fast: ``gn.nn``, ``gn.optim``, ``gn.losses``, ``gn.data``, ``gn.save``, ...
_SUBMODULES = {
    "autograd", "checkpoint", "cli", "data", "exercises", "experiments", "functional", "interop",
    "losses", "metrics", "models", "nn", "onnx", "ops", "optim", "random", "regularizers",
    "report", "rl", "semisupervised", "sklearn", "sweep", "training", "unsupervised",
}
_LAZY = {
    "save": ("glassnet.checkpoint", "save"),
    "load": ("glassnet.checkpoint", "load"),
    "Checkpoint": ("glassnet.checkpoint", "Checkpoint"),
    "CheckpointError": ("glassnet.checkpoint", "CheckpointError"),
    "fit": ("glassnet.training", "fit"),
    "evaluate": ("glassnet.training", "evaluate"),
    "History": ("glassnet.training", "History"),
    "trace": ("glassnet.tracing", "trace"),
    "compile": ("glassnet.compiling", "compile"),
    "Trace": ("glassnet.tracing", "Trace"),
}


def __getattr__(name: str) -> object:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"glassnet.{name}")
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
