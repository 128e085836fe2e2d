"""Layers and models: ``Module``, ``Parameter``, containers, layers and initialisers.

``glassnet.nn.functional`` holds the same computations as functions,
``glassnet.nn.init`` the initialisers.
"""

from glassnet.nn import functional, init
from glassnet.nn.activation import (
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from glassnet.nn.container import Sequential
from glassnet.nn.conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d
from glassnet.nn.dropout import Dropout, Dropout2d
from glassnet.nn.linear import Flatten, Identity, Linear
from glassnet.nn.mlp import MLP
from glassnet.nn.module import (
    IncompatibleKeys,
    Module,
    ModuleDict,
    ModuleList,
    count_parameters,
    from_config,
    register_module,
)
from glassnet.nn.normalization import BatchNorm1d, BatchNorm2d
from glassnet.nn.parameter import Parameter
from glassnet.nn.residual import Residual

__all__ = [
    "MLP", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d",
    "Dropout", "Dropout2d", "Flatten", "MaxPool2d", "Identity", "IncompatibleKeys", "LeakyReLU",
    "Linear", "LogSoftmax", "Module", "ModuleDict", "ModuleList", "Parameter", "ReLU",
    "Residual", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh", "count_parameters",
    "from_config", "functional", "init", "register_module",
]
