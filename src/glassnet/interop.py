"""PyTorch interoperability: a ``torch.nn`` model as the same glassnet model.

``from_torch(torch_module)`` builds the glassnet layers that match the torch ones (same
structure, same state-dict keys) and moves the weights over with
``Module.load_torch_state_dict``; the glassnet model then computes what the torch model
computes. The converse direction needs no code of its own:
``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in
glassnet_model.to_torch_state_dict().items()})``.

Layers are converted through ``CONVERTERS``, a registry by torch class name; a layer
without an entry raises an error naming it. ``register_converter`` adds one
(this module registers ``Conv2d``, the poolings and ``BatchNorm2d`` that way)::

    @register_converter("Conv2d")
    def _conv2d(m, convert):
        return nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, ...)

PyTorch is an optional dependency: this module never imports it (it reads the torch
objects it is given).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet import nn

__all__ = ["CONVERTERS", "UnsupportedLayerError", "from_torch", "register_converter"]

Converter = Callable[[Any, Callable[[Any], nn.Module]], nn.Module]
CONVERTERS: dict[str, Converter] = {}


class UnsupportedLayerError(TypeError):
    """A layer that glassnet has no equivalent for (its name says which)."""


def register_converter(torch_class_name: str) -> Callable[[Converter], Converter]:
    """Register ``fn(torch_module, convert) -> glassnet Module`` for a torch class name.

    ``convert`` converts a child module (for containers). The weights need not be copied:
    ``from_torch`` loads the whole state dict at the end.
    """

    def decorate(fn: Converter) -> Converter:
        CONVERTERS[torch_class_name] = fn
        return fn

    return decorate


def _dtype(m: Any) -> Any:
    """The float dtype of a torch layer's weight (or running mean), None without either."""
    w = getattr(m, "weight", None)
    if w is None:
        w = getattr(m, "running_mean", None)
    if w is None:
        return None
    name = str(w.dtype).replace("torch.", "")
    if name not in ("float32", "float64"):
        raise UnsupportedLayerError(
            f"{type(m).__name__} has {name} weights; glassnet layers are float32 or float64 "
            "(call .float() or .double() on the torch model first)"
        )
    return np.dtype(name)


@register_converter("Linear")
def _linear(m: Any, convert: Any) -> nn.Module:
    return nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=_dtype(m))


@register_converter("BatchNorm1d")
def _batch_norm1d(m: Any, convert: Any) -> nn.Module:
    return nn.BatchNorm1d(
        m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
        track_running_stats=m.track_running_stats, dtype=_dtype(m),
    )


@register_converter("BatchNorm2d")
def _batch_norm2d(m: Any, convert: Any) -> nn.Module:
    return nn.BatchNorm2d(
        m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
        track_running_stats=m.track_running_stats, dtype=_dtype(m),
    )


@register_converter("Conv2d")
def _conv2d(m: Any, convert: Any) -> nn.Module:
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise UnsupportedLayerError(
            f"Conv2d with padding={m.padding!r}, padding_mode={m.padding_mode!r}: glassnet "
            "pads with zeros by a number of rows and columns"
        )
    return nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                     m.dilation, m.groups, bias=m.bias is not None, dtype=_dtype(m))


def _plain_pooling(m: Any) -> None:
    if getattr(m, "ceil_mode", False) or getattr(m, "return_indices", False) or \
            not getattr(m, "count_include_pad", True) or \
            getattr(m, "divisor_override", None) is not None:
        raise UnsupportedLayerError(
            f"{type(m).__name__} with ceil_mode, return_indices, count_include_pad=False or "
            "divisor_override: glassnet pools with PyTorch's defaults only"
        )


@register_converter("MaxPool2d")
def _max_pool2d(m: Any, convert: Any) -> nn.Module:
    _plain_pooling(m)
    return nn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation)


@register_converter("AvgPool2d")
def _avg_pool2d(m: Any, convert: Any) -> nn.Module:
    _plain_pooling(m)
    return nn.AvgPool2d(m.kernel_size, m.stride, m.padding)


@register_converter("AdaptiveAvgPool2d")
def _adaptive_avg_pool2d(m: Any, convert: Any) -> nn.Module:
    return nn.AdaptiveAvgPool2d(m.output_size)


@register_converter("Dropout")
def _dropout(m: Any, convert: Any) -> nn.Module:
    return nn.Dropout(m.p)


@register_converter("Dropout2d")
def _dropout2d(m: Any, convert: Any) -> nn.Module:
    return nn.Dropout2d(m.p)


@register_converter("LeakyReLU")
def _leaky_relu(m: Any, convert: Any) -> nn.Module:
    return nn.LeakyReLU(m.negative_slope)


@register_converter("Softplus")
def _softplus(m: Any, convert: Any) -> nn.Module:
    # torch switches to x where beta * x > threshold (20): the two differ by at most
    # log1p(e^-20) / beta ~ 2e-9 / beta there
    return nn.Softplus(m.beta)


@register_converter("Softmax")
def _softmax(m: Any, convert: Any) -> nn.Module:
    return nn.Softmax(-1 if m.dim is None else m.dim)


@register_converter("LogSoftmax")
def _log_softmax(m: Any, convert: Any) -> nn.Module:
    return nn.LogSoftmax(-1 if m.dim is None else m.dim)


@register_converter("Flatten")
def _flatten(m: Any, convert: Any) -> nn.Module:
    return nn.Flatten(m.start_dim, m.end_dim)


def _no_arguments(cls: type[nn.Module]) -> Converter:
    return lambda m, convert: cls()


for _cls in (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity):  # layers without arguments
    register_converter(_cls.__name__)(_no_arguments(_cls))


@register_converter("Sequential")
def _sequential(m: Any, convert: Any) -> nn.Module:
    children = list(m.named_children())
    if all(name == str(i) for i, (name, _) in enumerate(children)):
        return nn.Sequential(*[convert(c) for _, c in children])
    return nn.Sequential({name: convert(c) for name, c in children})


def from_torch(torch_module: Any) -> nn.Module:
    """The glassnet model equivalent to ``torch_module``, with its weights.

    Supported: ``Sequential`` (also with named children) of ``Linear``, ``Conv2d``,
    ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``, ``BatchNorm1d``, ``BatchNorm2d``,
    ``Dropout``, ``Dropout2d``, ``Identity``, ``Flatten`` and the activations ``ReLU``,
    ``LeakyReLU``,
    ``Sigmoid``, ``Tanh``, ``Softplus``, ``Softmax``, ``LogSoftmax``, nested at will.
    The result has the torch model's state-dict keys and its train/eval mode, and float32
    or float64 weights as the torch model has.

    Raises
    ------
    UnsupportedLayerError
        For a layer with no glassnet equivalent, naming it and its path in the model
        (a custom ``forward`` cannot be read; build its glassnet twin and use
        ``load_torch_state_dict``).

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
    >>> from_torch(net)
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
    )
    """
    if not (hasattr(torch_module, "state_dict") and hasattr(torch_module, "named_children")):
        raise TypeError(
            f"from_torch expects a torch.nn.Module, got {type(torch_module).__name__}"
        )
    where = {id(m): name for name, m in torch_module.named_modules()}

    def convert(m: Any) -> nn.Module:
        name = type(m).__name__
        fn = CONVERTERS.get(name)
        # a subclass (with a forward of its own) lives outside torch.nn: not convertible
        if fn is None or not type(m).__module__.startswith("torch.nn"):
            at = where.get(id(m)) or "the model itself"
            raise UnsupportedLayerError(
                f"from_torch: no glassnet layer for {type(m).__module__}.{name} (at {at}); "
                f"supported torch.nn layers: {', '.join(sorted(CONVERTERS))}"
            )
        return fn(m, convert)

    model = convert(torch_module)
    model.load_torch_state_dict(torch_module.state_dict())
    model.train(bool(torch_module.training))
    return model

