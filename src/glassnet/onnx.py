"""ONNX: export glassnet models for any ONNX runtime, and import ONNX models back.

``export(model, path, example_input)`` writes the model in inference mode (Dropout is the
identity, BatchNorm uses its running statistics, a Residual adds its branch) as an ONNX
graph with a dynamic batch axis: the example input fixes every axis but the first. The
file passes ``onnx.checker.check_model`` and onnxruntime computes what glassnet computes
(float32: within 1e-5; the tests check it per layer and batch size). The initializers are
named by the model's state-dict keys (``0.weight``, ``1.running_mean``, ...), and the
model's JSON config is stored in the file's metadata.

``load(path)`` builds glassnet modules from an ONNX file. A file written by ``export``
is rebuilt from its stored config (the same classes, e.g. ``MLP`` or
``LinearClassifier``); any other file, e.g. one written by ``torch.onnx.export`` from a
torch MLP, is read node by node into a ``Sequential`` of the matching layers (``Gemm``
or ``MatMul`` + ``Add`` -> ``Linear``, ``Relu`` -> ``ReLU``, ``Add(x, f(x))`` ->
``Residual``, ...). A node that has no glassnet layer raises ``UnsupportedLayerError``
naming it.

Both directions go through per-layer registries, ``EXPORTERS`` (by glassnet class) and
``IMPORTERS`` (by ONNX op type), so a new layer is one entry each::

    @register_exporter(nn.Conv2d)
    def _conv2d(m, g, x, prefix):
        return g.node("Conv", [x.name, g.param(prefix + "weight", m.weight), ...],
                      strides=list(m.stride), pads=...)

    @register_importer("Conv")
    def _conv(node, ctx):
        return nn.Conv2d(...), node.output[0]

Needs onnx and onnxruntime: ``pip install "glassnet[onnx]"``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from glassnet import models, nn
from glassnet._fileio import atomic_write_bytes
from glassnet.autograd.grad_mode import no_grad
from glassnet.interop import UnsupportedLayerError
from glassnet.tensor import Tensor

__all__ = [
    "EXPORTERS",
    "IMPORTERS",
    "OPSET",
    "Graph",
    "OnnxError",
    "UnsupportedLayerError",
    "Value",
    "export",
    "export_checkpoint",
    "load",
    "register_exporter",
    "register_importer",
]

OPSET = 17
IR_VERSION = 8  # what opset 17 needs; onnxruntime reads it
CONFIG_KEY = "glassnet.config"
EXTRA_STATE_KEY = "glassnet.extra_state"
PREPROCESSING_KEY = "glassnet.preprocessing"


class OnnxError(ValueError):
    """An ONNX file is missing, unreadable, invalid, or has a structure glassnet cannot read."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(
            'glassnet.onnx needs the onnx package: pip install "glassnet[onnx]"'
        ) from None
    return onnx


# ====================================================================== export
class Value(NamedTuple):
    """A value of the graph: its ONNX name and what it holds for the example input."""

    name: str
    array: np.ndarray

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape


Exporter = Callable[[Any, "Graph", Value, str], str]
EXPORTERS: dict[type, Exporter] = {}


def register_exporter(cls: type) -> Callable[[Exporter], Exporter]:
    """Register ``fn(module, graph, x, prefix) -> output name`` for a glassnet class.

    ``x`` is the input ``Value``; ``prefix`` the module's state-dict prefix ("" or
    "layers.0."), to name its parameters with ``graph.param``. Sub-modules are exported
    with ``graph.module(child, x, prefix + name + ".")``. A subclass that does not
    override ``forward`` uses its base class's exporter.
    """

    def decorate(fn: Exporter) -> Exporter:
        EXPORTERS[cls] = fn
        return fn

    return decorate


def _exporter(m: Any) -> Exporter:
    for cls in type(m).__mro__:
        fn = EXPORTERS.get(cls)
        if fn is not None and (cls is type(m) or type(m).forward is cls.forward):
            return fn
    supported = ", ".join(sorted(c.__name__ for c in EXPORTERS))
    raise UnsupportedLayerError(
        f"glassnet.onnx.export: no ONNX exporter for {type(m).__name__}; supported "
        f"layers: {supported} (register one with glassnet.onnx.register_exporter)"
    )


class Graph:
    """The ONNX graph being built: nodes, initializers and unique names."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.initializers: dict[str, np.ndarray] = {}
        self._count: dict[str, int] = {}

    def fresh(self, hint: str) -> str:
        """A new value name ``hint``, ``hint_1``, ..."""
        n = self._count.get(hint, 0)
        self._count[hint] = n + 1
        return hint if n == 0 else f"{hint}_{n}"

    def param(self, name: str, value: Any) -> str:
        """An initializer holding ``value`` (cast to the graph's float dtype)."""
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
        return self.constant(name, arr.astype(self.dtype))

    def constant(self, name: str, array: np.ndarray) -> str:
        """An initializer holding ``array`` as it is (int64 shapes, indices, ...)."""
        if name in self.initializers:  # a parameter shared by two layers: a second copy
            name = self.fresh(name)
        else:
            self._count.setdefault(name, 1)
        self.initializers[name] = np.array(array, order="C")  # keeps 0-d
        return name

    def node(self, op: str, inputs: list[str], name: str | None = None, **attrs: Any) -> str:
        """Add one node with one output; return the output's name."""
        from onnx import helper

        out = self.fresh(name or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def module(self, m: Any, x: Value, prefix: str = "") -> Value:
        """Export module ``m`` applied to ``x``; return its output ``Value``."""
        name = _exporter(m)(m, self, x, prefix)
        out = m(Tensor(x.array))
        return Value(name, np.asarray(out.data if isinstance(out, Tensor) else out))


def _linear_nodes(g: Graph, x: Value, weight: Any, bias: Any, prefix: str) -> str:
    W = g.param(prefix + "weight", weight)
    if x.ndim == 2:
        inputs = [x.name, W] + ([g.param(prefix + "bias", bias)] if bias is not None else [])
        return g.node("Gemm", inputs, name=prefix + "gemm", transB=1)
    y = g.node("MatMul", [x.name, g.node("Transpose", [W], name=prefix + "weight_t")],
               name=prefix + "matmul")
    if bias is None:
        return y
    return g.node("Add", [y, g.param(prefix + "bias", bias)], name=prefix + "add")


@register_exporter(nn.Linear)
def _export_linear(m: nn.Linear, g: Graph, x: Value, prefix: str) -> str:
    return _linear_nodes(g, x, m.weight, m.bias, prefix)


def _no_attributes(op: str) -> Exporter:
    return lambda m, g, x, prefix: g.node(op, [x.name], name=prefix + op.lower())


for _cls, _op in ((nn.ReLU, "Relu"), (nn.Sigmoid, "Sigmoid"), (nn.Tanh, "Tanh"),
                  (nn.Identity, "Identity"), (nn.Dropout, "Identity"),
                  (nn.Dropout2d, "Identity")):
    register_exporter(_cls)(_no_attributes(_op))  # Dropout: inference is the identity


@register_exporter(nn.LeakyReLU)
def _export_leaky_relu(m: nn.LeakyReLU, g: Graph, x: Value, prefix: str) -> str:
    return g.node("LeakyRelu", [x.name], name=prefix + "leakyrelu", alpha=m.negative_slope)


@register_exporter(nn.Softplus)
def _export_softplus(m: nn.Softplus, g: Graph, x: Value, prefix: str) -> str:
    if m.beta == 1.0:
        return g.node("Softplus", [x.name], name=prefix + "softplus")
    beta = g.param(prefix + "beta", np.array(m.beta))
    s = g.node("Softplus", [g.node("Mul", [x.name, beta])], name=prefix + "softplus")
    return g.node("Div", [s, beta], name=prefix + "div")


@register_exporter(nn.Softmax)
def _export_softmax(m: nn.Softmax, g: Graph, x: Value, prefix: str) -> str:
    op = "LogSoftmax" if isinstance(m, nn.LogSoftmax) else "Softmax"
    return g.node(op, [x.name], name=prefix + op.lower(), axis=m.dim)


register_exporter(nn.LogSoftmax)(_export_softmax)


@register_exporter(nn.Flatten)
def _export_flatten(m: nn.Flatten, g: Graph, x: Value, prefix: str) -> str:
    n = x.ndim
    start, end = m.start_dim % max(n, 1), m.end_dim % max(n, 1)
    if start == 1 and end == n - 1:
        return g.node("Flatten", [x.name], name=prefix + "flatten", axis=1)
    # 0 keeps an axis before the flattened ones (the batch axis too); those after are fixed
    shape = [0] * start + [-1] + [int(d) for d in x.shape[end + 1:]]
    target = g.constant(prefix + "shape", np.array(shape, dtype=np.int64))
    return g.node("Reshape", [x.name, target], name=prefix + "reshape")


@register_exporter(nn.BatchNorm1d)
def _export_batch_norm(m: nn.BatchNorm1d, g: Graph, x: Value, prefix: str) -> str:
    C = m.num_features
    if m.affine:
        scale, shift = g.param(prefix + "weight", m.weight), g.param(prefix + "bias", m.bias)
    else:
        scale = g.param(prefix + "ones", np.ones(C))
        shift = g.param(prefix + "zeros", np.zeros(C))
    if m.running_mean is not None:
        mean = g.param(prefix + "running_mean", m.running_mean)
        var = g.param(prefix + "running_var", m.running_var)
        return g.node("BatchNormalization", [x.name, scale, shift, mean, var],
                      name=prefix + "batchnorm", epsilon=m.eps)
    # without running statistics, evaluation normalises with the batch's own (biased)
    axes = [0, *range(2, x.ndim)]
    mu = g.node("ReduceMean", [x.name], name=prefix + "mean", axes=axes, keepdims=1)
    d = g.node("Sub", [x.name, mu], name=prefix + "centered")
    var = g.node("ReduceMean", [g.node("Mul", [d, d])], name=prefix + "var", axes=axes,
                 keepdims=1)
    eps = g.param(prefix + "eps", np.array(m.eps))
    y = g.node("Div", [d, g.node("Sqrt", [g.node("Add", [var, eps])])],
               name=prefix + "normalized")
    per_channel = np.array([C] + [1] * (x.ndim - 2), dtype=np.int64)
    shape = g.constant(prefix + "channel_shape", per_channel)
    y = g.node("Mul", [y, g.node("Reshape", [scale, shape])])
    return g.node("Add", [y, g.node("Reshape", [shift, shape])], name=prefix + "batchnorm")


def _pads(padding: tuple[int, int]) -> list[int]:
    """glassnet's symmetric (height, width) padding as ONNX's [top, left, bottom, right]."""
    return [padding[0], padding[1], padding[0], padding[1]]


@register_exporter(nn.Conv2d)
def _export_conv2d(m: nn.Conv2d, g: Graph, x: Value, prefix: str) -> str:
    inputs = [x.name, g.param(prefix + "weight", m.weight)]
    if m.bias is not None:
        inputs.append(g.param(prefix + "bias", m.bias))
    return g.node("Conv", inputs, name=prefix + "conv", kernel_shape=list(m.kernel_size),
                  strides=list(m.stride), pads=_pads(m.padding), dilations=list(m.dilation),
                  group=m.groups)


@register_exporter(nn.MaxPool2d)
def _export_max_pool(m: nn.MaxPool2d, g: Graph, x: Value, prefix: str) -> str:
    return g.node("MaxPool", [x.name], name=prefix + "maxpool", kernel_shape=list(m.kernel_size),
                  strides=list(m.stride), pads=_pads(m.padding), dilations=list(m.dilation))


@register_exporter(nn.AvgPool2d)
def _export_avg_pool(m: nn.AvgPool2d, g: Graph, x: Value, prefix: str) -> str:
    return g.node("AveragePool", [x.name], name=prefix + "avgpool",
                  kernel_shape=list(m.kernel_size), strides=list(m.stride),
                  pads=_pads(m.padding), count_include_pad=1)


@register_exporter(nn.AdaptiveAvgPool2d)
def _export_adaptive_avg_pool(m: nn.AdaptiveAvgPool2d, g: Graph, x: Value, prefix: str) -> str:
    if m.output_size == (1, 1):
        return g.node("GlobalAveragePool", [x.name], name=prefix + "globalavgpool")
    k = [x.shape[2] // m.output_size[0], x.shape[3] // m.output_size[1]]
    return g.node("AveragePool", [x.name], name=prefix + "avgpool", kernel_shape=k, strides=k)


@register_exporter(nn.Sequential)
def _export_sequential(m: nn.Sequential, g: Graph, x: Value, prefix: str) -> str:
    for name, child in m.named_children():
        x = g.module(child, x, f"{prefix}{name}.")
    return x.name


register_exporter(nn.MLP)(_export_sequential)  # its fused Linear + ReLU is the same math


@register_exporter(nn.Residual)
def _export_residual(m: nn.Residual, g: Graph, x: Value, prefix: str) -> str:
    branch = g.module(m.branch, x, prefix + "branch.")
    return g.node("Add", [x.name, branch.name], name=prefix + "residual")


# ---------------------------------------------------------------------- the lecture's models
def _reshape(g: Graph, x: Value, shape: list[int], prefix: str) -> Value:
    target = g.constant(prefix + "shape", np.array(shape, dtype=np.int64))
    name = g.node("Reshape", [x.name, target], name=prefix + "reshape")
    return Value(name, x.array.reshape([d if d else x.shape[i] for i, d in enumerate(shape)]))


def _flat(g: Graph, x: Value, prefix: str) -> Value:
    """``models._flat``: (N, d1, d2, ...) -> (N, d1 * d2 * ...)."""
    if x.ndim <= 2:
        return x
    name = g.node("Flatten", [x.name], name=prefix + "flatten", axis=1)
    return Value(name, x.array.reshape(x.shape[0], -1))


@register_exporter(models.LinearRegression)
def _export_linear_regression(m: Any, g: Graph, x: Value, prefix: str) -> str:
    if x.ndim == 1:
        x = _reshape(g, x, [-1, 1], prefix)
    return g.module(m.linear, x, prefix + "linear.").name


@register_exporter(models.LinearClassifier)
def _export_linear_classifier(m: Any, g: Graph, x: Value, prefix: str) -> str:
    return g.module(m.linear, _flat(g, x, prefix), prefix + "linear.").name


@register_exporter(models.LogisticRegression)
def _export_logistic_regression(m: Any, g: Graph, x: Value, prefix: str) -> str:
    s = g.module(m.linear, _flat(g, x, prefix), prefix + "linear.")
    return _reshape(g, s, [-1], prefix + "score.").name if m.binary else s.name


@register_exporter(models.PolynomialFeatures)
def _export_polynomial_features(m: Any, g: Graph, x: Value, prefix: str) -> str:
    if x.ndim == 1:
        x = _reshape(g, x, [-1, 1], prefix)
    powers = [x.name]
    for k in range(2, m.order + 1):
        powers.append(g.node("Mul", [powers[-1], x.name], name=f"{prefix}power{k}"))
    if len(powers) == 1:
        return g.node("Identity", powers, name=prefix + "powers")
    return g.node("Concat", powers, name=prefix + "powers", axis=1)


@register_exporter(models.QuadraticFeatures)
def _export_quadratic_features(m: Any, g: Graph, x: Value, prefix: str) -> str:
    x = _flat(g, x, prefix)
    i = g.constant(prefix + "i", np.asarray(m._i, dtype=np.int64))
    j = g.constant(prefix + "j", np.asarray(m._j, dtype=np.int64))
    xi = g.node("Gather", [x.name, i], name=prefix + "xi", axis=1)
    xj = g.node("Gather", [x.name, j], name=prefix + "xj", axis=1)
    prod = g.node("Mul", [xi, xj], name=prefix + "products")
    return g.node("Concat", [x.name, prod], name=prefix + "features", axis=1)


def _features_then_linear(m: Any, g: Graph, x: Value, prefix: str) -> str:
    return g.module(m.linear, g.module(m.features, x, prefix + "features."),
                    prefix + "linear.").name


register_exporter(models.PolynomialRegression)(_features_then_linear)
register_exporter(models.QuadraticModel)(_features_then_linear)


# ---------------------------------------------------------------------- export
@register_exporter(models.LeNet)
@register_exporter(models.ConvNet)
def _export_image_model(m: Any, g: Graph, x: Value, prefix: str) -> str:
    """The input as (N, C, H, W) images (a Reshape, and a Transpose for channels-last
    images), then ``features`` and ``classifier``."""
    C, S = m.in_channels, m.image_size
    image = np.asarray(m.image(Tensor(x.array)).data)
    dims = [-1, S, S, C] if m.channels_last else [-1, C, S, S]
    target = g.constant(prefix + "image_shape", np.array(dims, dtype=np.int64))
    name = g.node("Reshape", [x.name, target], name=prefix + "image")
    if m.channels_last:
        name = g.node("Transpose", [name], name=prefix + "channels_first", perm=[0, 3, 1, 2])
    v = g.module(m.features, Value(name, image), prefix + "features.")
    return g.module(m.classifier, v, prefix + "classifier.").name


def _example_array(example_input: Any) -> np.ndarray:
    x = np.asarray(example_input.data if isinstance(example_input, Tensor) else example_input)
    if x.dtype.kind in "iub":
        x = x.astype(np.float32)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"example_input must be a float array, got dtype {x.dtype}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(
            f"example_input must be a batch (N, ...) with N >= 1, got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("example_input contains NaN or infinite values")
    return x


def _model_dtype(model: Any, x: np.ndarray) -> np.dtype:
    for p in model.parameters():
        return np.dtype(p.dtype)
    return x.dtype


def _extra_metadata(model: Any) -> dict[str, str]:
    """The config that rebuilds the model, and the state that no node uses."""
    meta: dict[str, str] = {}
    try:
        meta[CONFIG_KEY] = json.dumps(model.get_config())
    except NotImplementedError:
        return meta
    extra = {k: v.tolist() for k, v in model.state_dict().items()
             if k.endswith("num_batches_tracked")}
    meta[EXTRA_STATE_KEY] = json.dumps(extra)
    return meta


def export(
    model: Any,
    path: str | os.PathLike[str],
    example_input: Any,
    *,
    opset: int = OPSET,
    input_name: str = "input",
    output_name: str = "output",
    dynamic_batch: bool = True,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write ``model`` (in inference mode) as an ONNX file; return the path.

    Parameters
    ----------
    model : glassnet.nn.Module
        Built from the layers in ``EXPORTERS``: Linear, Conv2d, MaxPool2d, AvgPool2d,
        AdaptiveAvgPool2d, the activations, Dropout, Dropout2d, BatchNorm1d and
        BatchNorm2d, Flatten, Identity, Sequential, MLP, Residual and the lecture's
        models (``glassnet.models``).
    path : path-like
        The file to write (``*.onnx``), atomically; its folder must exist.
    example_input : array (N, ...)
        A batch like the ones the model will see: it fixes the dtype and every axis but
        the first, which is named ``N`` and may be any size (``dynamic_batch``).
    opset : int
        ONNX operator set (17 by default; 15 or later).
    metadata : dict, optional
        More ``metadata_props`` entries (strings).

    The graph is checked with ``onnx.checker.check_model`` before it is written. The
    model's train/eval mode is restored afterwards.

    Raises
    ------
    UnsupportedLayerError
        For a layer without an exporter, naming it.
    """
    onnx = _onnx()
    from onnx import helper, numpy_helper

    from glassnet import __version__

    if not isinstance(model, nn.Module):
        raise TypeError(f"export expects a glassnet Module, got {type(model).__name__}")
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < 15:
        raise ValueError(f"opset must be an int >= 15, got {opset!r}")
    x = _example_array(example_input)
    dtype = _model_dtype(model, x)
    x = x.astype(dtype)
    g = Graph(dtype)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = g.module(model, Value(input_name, x))
    finally:
        model.train(was_training)
    g.nodes.append(helper.make_node("Identity", [out.name], [output_name], name=output_name))
    elem = helper.np_dtype_to_tensor_dtype(dtype)

    def shape(a: np.ndarray) -> list[Any]:
        dims: list[Any] = list(a.shape)
        if dynamic_batch and dims:
            dims[0] = "N"
        return dims

    graph = helper.make_graph(
        g.nodes, "glassnet",
        [helper.make_tensor_value_info(input_name, elem, shape(x))],
        [helper.make_tensor_value_info(output_name, elem, shape(out.array))],
        initializer=[numpy_helper.from_array(a, name) for name, a in g.initializers.items()],
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="glassnet",
        producer_version=__version__, doc_string=f"{type(model).__name__} from glassnet",
    )
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, {**_extra_metadata(model), **(metadata or {})})
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as e:  # a bug of an exporter: say which model
        raise OnnxError(f"the ONNX graph of {type(model).__name__} is invalid: {e}") from None
    atomic_write_bytes(path, proto.SerializeToString())
    return Path(path)


def export_checkpoint(
    checkpoint: str | os.PathLike[str],
    path: str | os.PathLike[str],
    input_shape: tuple[int, ...] | None = None,
    opset: int = OPSET,
) -> str:
    """Export the model of a glassnet checkpoint (``glassnet export CKPT model.onnx``).

    The input is what the model takes: the preprocessed features (N, D), D read from the
    model (``in_features``) unless ``input_shape`` (without N) is given. The
    checkpoint's preprocessing (``raw_scale``, ``mean``, ``scale``) is stored in the
    file's metadata under ``glassnet.preprocessing``. Returns a one-line summary.
    """
    from glassnet.checkpoint import load as load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    model = ckpt.model
    if input_shape is None:
        d = getattr(model, "in_features", None)
        if d is None:
            raise ValueError(
                f"cannot tell the input size of {type(model).__name__} in '{checkpoint}': "
                "give --input-shape"
            )
        input_shape = (int(d),)
    example = np.zeros((1, *input_shape), dtype=_model_dtype(model, np.zeros(1, np.float32)))
    meta = ckpt.meta
    prep = {k: np.asarray(meta[k]).tolist() for k in ("raw_scale", "mean", "scale")
            if k in meta}
    for k in ("dataset", "input_shape", "classes"):
        if meta.get(k) is not None:
            prep[k] = meta[k]
    written = export(model, path, example, opset=opset,
                     metadata={PREPROCESSING_KEY: json.dumps(prep)} if prep else None)
    return (f"wrote {written}: {type(model).__name__}, input 'input' (N, "
            f"{', '.join(map(str, input_shape))}) {example.dtype}, opset {opset}")


# ====================================================================== import
class _Context:
    """What an importer sees of the graph: constants, attributes, consumers, shapes."""

    def __init__(self, proto: Any) -> None:
        from onnx import numpy_helper, shape_inference

        graph = proto.graph
        self.constants: dict[str, np.ndarray] = {
            t.name: numpy_helper.to_array(t) for t in graph.initializer
        }
        self.nodes = []
        for node in graph.node:
            if node.op_type == "Constant":
                value = next((a for a in node.attribute if a.name == "value"), None)
                if value is None:
                    raise OnnxError(f"Constant node '{node.name}' has no tensor 'value'")
                self.constants[node.output[0]] = numpy_helper.to_array(value.t)
            elif node.op_type == "Transpose" and node.input[0] in self.constants:
                perm = self.attr(node, "perm")  # a transposed weight: fold it
                self.constants[node.output[0]] = np.transpose(self.constants[node.input[0]],
                                                              perm)
            else:
                self.nodes.append(node)
        self.consumers: dict[str, list[Any]] = {}
        for node in self.nodes:
            for name in dict.fromkeys(node.input):
                if name and name not in self.constants:
                    self.consumers.setdefault(name, []).append(node)
        self.shapes: dict[str, list[int | None]] = {}
        try:
            inferred = shape_inference.infer_shapes(proto).graph
        except Exception:  # noqa: BLE001 - shapes are a help, not a requirement
            inferred = graph
        for vi in [*inferred.input, *inferred.value_info, *inferred.output]:
            t = vi.type.tensor_type
            if t.HasField("shape"):
                self.shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None
                                        for d in t.shape.dim]

    def const(self, node: Any, index: int, what: str) -> np.ndarray:
        name = node.input[index] if index < len(node.input) else ""
        if name not in self.constants:
            raise UnsupportedLayerError(
                f"glassnet.onnx.load: {what} of node '{node.name}' ({node.op_type}) must be a "
                "constant (an initializer) to become a glassnet layer"
            )
        return self.constants[name]

    def has_input(self, node: Any, index: int) -> bool:
        return index < len(node.input) and bool(node.input[index])

    @staticmethod
    def attr(node: Any, name: str, default: Any = None) -> Any:
        from onnx import helper

        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def sole_consumer(self, value: str) -> Any:
        users = self.consumers.get(value, [])
        return users[0] if len(users) == 1 else None


Importer = Callable[[Any, _Context], tuple[Any, str]]
IMPORTERS: dict[str, Importer] = {}


def register_importer(op_type: str) -> Callable[[Importer], Importer]:
    """Register ``fn(node, ctx) -> (glassnet Module or None, output name)`` for an op.

    The importer may take in the nodes after it (``ctx.sole_consumer``), returning the
    output of the last one; None as the module skips the node (Identity).
    """

    def decorate(fn: Importer) -> Importer:
        IMPORTERS[op_type] = fn
        return fn

    return decorate


def _f32(value: Any) -> float:
    """A float32 attribute as the shortest decimal that reads back as it (0.2, not
    0.20000000298...)."""
    return float(str(np.float32(value)))


def _float_dtype(a: np.ndarray) -> np.dtype:
    return a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def _make_linear(weight: np.ndarray, bias: np.ndarray | None) -> nn.Linear:
    out_f, in_f = weight.shape
    layer = nn.Linear(in_f, out_f, bias=bias is not None, dtype=_float_dtype(weight))
    layer.weight.data[...] = weight
    if bias is not None:
        layer.bias.data[...] = np.broadcast_to(bias, (out_f,))
    return layer


@register_importer("Gemm")
def _import_gemm(node: Any, ctx: _Context) -> tuple[Any, str]:
    if ctx.attr(node, "transA", 0):
        raise UnsupportedLayerError(f"Gemm node '{node.name}' with transA=1 is not a Linear")
    B = ctx.const(node, 1, "the weight (input B)")
    W = ctx.attr(node, "alpha", 1.0) * (B if ctx.attr(node, "transB", 0) else B.T)
    C = ctx.const(node, 2, "the bias (input C)") * ctx.attr(node, "beta", 1.0) \
        if ctx.has_input(node, 2) else None
    return _make_linear(W, C), node.output[0]


@register_importer("MatMul")
def _import_matmul(node: Any, ctx: _Context) -> tuple[Any, str]:
    B = ctx.const(node, 1, "the weight (second input)")
    if B.ndim != 2:
        raise UnsupportedLayerError(f"MatMul node '{node.name}' has a {B.ndim}-D weight")
    out = node.output[0]
    add = ctx.sole_consumer(out)
    if add is not None and add.op_type == "Add":
        other = add.input[1] if add.input[0] == out else add.input[0]
        bias = ctx.constants.get(other)
        if bias is not None and bias.size == B.shape[1]:
            return _make_linear(B.T, bias.reshape(-1)), add.output[0]
    return _make_linear(B.T, None), out


def _simple(make: Callable[[Any, _Context], Any]) -> Importer:
    return lambda node, ctx: (make(node, ctx), node.output[0])


for _op, _make in {
    "Relu": lambda n, c: nn.ReLU(),
    "Sigmoid": lambda n, c: nn.Sigmoid(),
    "Tanh": lambda n, c: nn.Tanh(),
    "Softplus": lambda n, c: nn.Softplus(),
    "LeakyRelu": lambda n, c: nn.LeakyReLU(_f32(c.attr(n, "alpha", 0.01))),
    "Softmax": lambda n, c: nn.Softmax(c.attr(n, "axis", -1)),
    "LogSoftmax": lambda n, c: nn.LogSoftmax(c.attr(n, "axis", -1)),
    "Identity": lambda n, c: None,
}.items():
    register_importer(_op)(_simple(_make))


@register_importer("Mul")
def _import_scaled_softplus(node: Any, ctx: _Context) -> tuple[Any, str]:
    """Div(Softplus(Mul(x, beta)), beta): glassnet's Softplus(beta) as ``export`` writes it."""
    beta = ctx.constants.get(node.input[1], np.zeros(0))
    soft = ctx.sole_consumer(node.output[0])
    div = soft is not None and soft.op_type == "Softplus" and ctx.sole_consumer(soft.output[0])
    if beta.size == 1 and div and div.op_type == "Div" and \
            ctx.constants.get(div.input[1], np.zeros(0)).size == 1 and \
            ctx.constants[div.input[1]].item() == beta.item():
        return nn.Softplus(beta.item()), div.output[0]
    raise UnsupportedLayerError(
        f"glassnet.onnx.load: ONNX node '{node.name}' (Mul) is not part of a Softplus(beta); "
        "a multiplication alone has no glassnet layer"
    )


@register_importer("Dropout")
def _import_dropout(node: Any, ctx: _Context) -> tuple[Any, str]:
    p = ctx.const(node, 1, "the ratio").item() if ctx.has_input(node, 1) else \
        ctx.attr(node, "ratio", 0.5)
    return nn.Dropout(_f32(p)), node.output[0]


@register_importer("Flatten")
def _import_flatten(node: Any, ctx: _Context) -> tuple[Any, str]:
    axis = ctx.attr(node, "axis", 1)
    if axis != 1:
        raise UnsupportedLayerError(
            f"Flatten node '{node.name}' with axis={axis}: glassnet's Flatten keeps the batch "
            "axis (axis=1)"
        )
    return nn.Flatten(1, -1), node.output[0]


@register_importer("Reshape")
def _import_reshape(node: Any, ctx: _Context) -> tuple[Any, str]:
    """The reshapes that are a Flatten: [0, ..., 0, -1, d, ...] (what ``export`` writes)."""
    shape = ctx.const(node, 1, "the shape").tolist()
    dims = ctx.shapes.get(node.input[0])
    if -1 in shape and dims is not None:
        start = shape.index(-1)
        kept = shape[start + 1:]
        end = len(dims) - 1 - len(kept)
        if all(d == 0 for d in shape[:start]) and end >= start and \
                dims[end + 1:] == kept:
            return nn.Flatten(start, end), node.output[0]
    raise UnsupportedLayerError(
        f"Reshape node '{node.name}' to {shape} is not a flatten that keeps the batch axis"
    )


def _window_attrs(node: Any, ctx: _Context, k: int = 2) -> dict[str, tuple[int, int]]:
    """kernel_size, stride, padding and dilation of a 2-D Conv or pooling node."""
    if ctx.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or \
            ctx.attr(node, "ceil_mode", 0):
        raise UnsupportedLayerError(
            f"{node.op_type} node '{node.name}': auto_pad and ceil_mode are not supported")
    kernel = ctx.attr(node, "kernel_shape")
    if kernel is None and node.op_type == "Conv":
        kernel = list(ctx.const(node, 1, "the weight").shape[2:])
    pads = list(ctx.attr(node, "pads", [0] * 2 * k))
    if kernel is None or len(kernel) != k or pads[:k] != pads[k:]:
        raise UnsupportedLayerError(
            f"{node.op_type} node '{node.name}': glassnet reads 2-D windows with the same "
            f"padding on both sides, got kernel {kernel} and pads {pads}"
        )
    return {"kernel_size": tuple(kernel), "stride": tuple(ctx.attr(node, "strides", [1] * k)),
            "padding": tuple(pads[:k]), "dilation": tuple(ctx.attr(node, "dilations", [1] * k))}


@register_importer("Conv")
def _import_conv(node: Any, ctx: _Context) -> tuple[Any, str]:
    weight = ctx.const(node, 1, "the weight")
    bias = ctx.const(node, 2, "the bias") if ctx.has_input(node, 2) else None
    attrs = _window_attrs(node, ctx)
    groups = ctx.attr(node, "group", 1)
    layer = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], groups=groups,
                      bias=bias is not None, dtype=_float_dtype(weight), **attrs)
    layer.weight.data[...] = weight
    if bias is not None:
        layer.bias.data[...] = bias
    return layer, node.output[0]


@register_importer("MaxPool")
def _import_max_pool(node: Any, ctx: _Context) -> tuple[Any, str]:
    if len(node.output) > 1 and node.output[1]:
        raise UnsupportedLayerError(f"MaxPool node '{node.name}' also outputs its indices")
    return nn.MaxPool2d(**_window_attrs(node, ctx)), node.output[0]


@register_importer("AveragePool")
def _import_avg_pool(node: Any, ctx: _Context) -> tuple[Any, str]:
    attrs = _window_attrs(node, ctx)
    if attrs.pop("dilation") != (1, 1) or (
            attrs["padding"] != (0, 0) and not ctx.attr(node, "count_include_pad", 0)):
        raise UnsupportedLayerError(
            f"AveragePool node '{node.name}': glassnet's AvgPool2d counts padded zeros "
            "(count_include_pad=1) and has no dilation"
        )
    return nn.AvgPool2d(**attrs), node.output[0]


register_importer("GlobalAveragePool")(_simple(lambda n, c: nn.AdaptiveAvgPool2d(1)))


@register_importer("BatchNormalization")
def _import_batch_norm(node: Any, ctx: _Context) -> tuple[Any, str]:
    if ctx.attr(node, "training_mode", 0):
        raise UnsupportedLayerError(f"BatchNormalization node '{node.name}' is in training mode")
    rank = len(ctx.shapes.get(node.input[0], [0, 0]))
    if rank not in (2, 3, 4):
        raise UnsupportedLayerError(
            f"BatchNormalization node '{node.name}' on {rank}-D input: glassnet has "
            "BatchNorm1d (2-D and 3-D input) and BatchNorm2d (4-D) only"
        )
    scale, shift, mean, var = (ctx.const(node, i, what) for i, what in
                               enumerate(("scale", "bias", "mean", "var"), start=1))
    kind = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
    layer = kind(scale.shape[0], eps=_f32(ctx.attr(node, "epsilon", 1e-5)),
                           momentum=_f32(1.0 - _f32(ctx.attr(node, "momentum", 0.9))),
                           dtype=_float_dtype(scale))
    for target, value in ((layer.weight.data, scale), (layer.bias.data, shift),
                          (layer.running_mean, mean), (layer.running_var, var)):
        target[...] = value
    return layer, node.output[0]


class _Reader:
    """Walks the graph from its input to its output, turning nodes into modules."""

    def __init__(self, ctx: _Context, output: str) -> None:
        self.ctx, self.output = ctx, output

    def _step(self, node: Any) -> tuple[Any, str]:
        fn = IMPORTERS.get(node.op_type)
        if fn is None:
            raise UnsupportedLayerError(
                f"glassnet.onnx.load: ONNX node '{node.name}' ({node.op_type}) has no glassnet "
                f"layer; supported ops: {', '.join(sorted(IMPORTERS))}"
            )
        return fn(node, self.ctx)

    def _residual_add(self, node: Any, value: str) -> str | None:
        """The other input of an ``Add(value, other)`` that closes a residual block."""
        if node.op_type != "Add" or value not in node.input:
            return None
        other = node.input[1] if node.input[0] == value else node.input[0]
        return None if other in self.ctx.constants else other

    def chain(self, value: str, stop: str | None, skip: frozenset[int] = frozenset()
              ) -> tuple[list[Any], str]:
        """The modules from ``value`` up to ``stop`` (the graph output if None)."""
        mods: list[Any] = []
        while value != stop:
            users = [n for n in self.ctx.consumers.get(value, []) if id(n) not in skip]
            if not users:
                if stop is None and value == self.output:
                    break
                raise OnnxError(f"glassnet.onnx.load: value '{value}' leads nowhere")
            adds = [(n, o) for n in users if (o := self._residual_add(n, value)) is not None]
            if len(users) == 1 and not adds:
                module, value = self._step(users[0])
                if module is not None:
                    mods.append(module)
                continue
            if len(adds) == 1 and len(users) <= 2:
                add, other = adds[0]
                if other == value:  # x + x
                    branch: Any = nn.Identity()
                elif len(users) == 2:
                    inner, _ = self.chain(value, other, skip | {id(add)})
                    branch = inner[0] if len(inner) == 1 else nn.Sequential(*inner)
                else:
                    raise OnnxError(
                        f"glassnet.onnx.load: node '{add.name}' adds '{value}' to a value "
                        "computed elsewhere; only residual blocks x + f(x) are supported"
                    )
                mods.append(nn.Residual(branch))
                value = add.output[0]
                continue
            raise OnnxError(
                f"glassnet.onnx.load: value '{value}' is used by "
                f"{', '.join(f'{n.name} ({n.op_type})' for n in users)}; glassnet reads chains "
                "of layers and residual blocks x + f(x)"
            )
        return mods, value


def _read_proto(path: str | os.PathLike[str]) -> Any:
    onnx = _onnx()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"ONNX file '{path}' does not exist")
    if path.is_dir():
        raise OnnxError(f"'{path}' is a directory, not an ONNX file")
    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except Exception as e:  # noqa: BLE001 - protobuf and the checker raise many kinds
        raise OnnxError(f"'{path}' is not a valid ONNX model: {str(e).splitlines()[0]}") \
            from None
    return proto


def _from_metadata(proto: Any, meta: dict[str, str]) -> Any:
    from onnx import numpy_helper

    model = nn.from_config(json.loads(meta[CONFIG_KEY]))
    weights = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    extra = json.loads(meta.get(EXTRA_STATE_KEY, "{}"))
    state = {k: np.asarray(extra[k]) if k in extra else weights.get(k)
             for k in model.state_dict()}
    missing = [k for k, v in state.items() if v is None]
    if missing:
        raise OnnxError(f"the ONNX file lacks the weights {', '.join(missing)} of its config")
    model.load_state_dict(state)
    return model


def load(path: str | os.PathLike[str], *, use_config: bool = True) -> Any:
    """Build a glassnet model (in evaluation mode) from an ONNX file.

    A file written by ``export`` is rebuilt from its stored config, the same classes
    with the file's weights (``use_config=False`` reads its nodes instead). Any other
    file is read node by node: a graph with one input and one output that is a chain of
    the ops in ``IMPORTERS`` (Gemm, MatMul [+ Add], Conv, MaxPool, AveragePool,
    GlobalAveragePool, Relu, LeakyRelu, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax,
    Dropout, BatchNormalization, Flatten, Reshape as a flatten, Identity) and residual
    blocks ``Add(x, f(x))``, into a ``Sequential``.

    Raises
    ------
    FileNotFoundError, OnnxError
        A missing or invalid file, a graph that is not a chain.
    UnsupportedLayerError
        A node without a glassnet layer (named with its op type).
    """
    proto = _read_proto(path)
    meta = {p.key: p.value for p in proto.metadata_props}
    if use_config and CONFIG_KEY in meta:
        return _from_metadata(proto, meta).eval()
    ctx = _Context(proto)
    inputs = [i.name for i in proto.graph.input if i.name not in ctx.constants]
    outputs = [o.name for o in proto.graph.output]
    if len(inputs) != 1 or len(outputs) != 1:
        raise OnnxError(
            f"'{path}' has {len(inputs)} inputs and {len(outputs)} outputs; glassnet reads "
            "models with one of each"
        )
    mods, _ = _Reader(ctx, outputs[0]).chain(inputs[0], None)
    return nn.Sequential(*mods).eval()
