"""glassnet.nn without PyTorch: Module mechanics, configs, initialisers, the fused layer
primitives against their composites, Dropout, BatchNorm1d, Residual, MLP and seeding.

PyTorch as the oracle is in tests/test_nn_torch.py; the op-registry specs of LinearFn
and BatchNormFn (gradcheck, gradgradcheck, torch) are in tests/op_specs_nn.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.nn import functional as F
from glassnet.nn import init
from glassnet.ops.nn import BatchNormFn, LinearFn


def _t(a: np.ndarray, requires_grad: bool = True) -> gn.Tensor:
    return gn.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# ---------------------------------------------------------------------------- seeding
def test_manual_seed_makes_initialisation_reproducible() -> None:
    gn.manual_seed(7)
    a = nn.Linear(5, 4)
    gn.manual_seed(7)
    b = nn.Linear(5, 4)
    c = nn.Linear(5, 4)  # the generator moved on
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(b.weight.data, c.weight.data)


def test_manual_seed_returns_the_default_generator() -> None:
    g = gn.manual_seed(3)
    assert g is gn.random.default_generator()
    assert isinstance(g, np.random.Generator)
    assert gn.random.initial_seed() == 3
    np.testing.assert_array_equal(g.random(3), np.random.default_rng(3).random(3))


def test_explicit_generator_ignores_the_default() -> None:
    a = nn.Linear(4, 3, generator=np.random.default_rng(1))
    gn.manual_seed(99)
    b = nn.Linear(4, 3, generator=np.random.default_rng(1))
    c = nn.Linear(4, 3, generator=1)  # an int is a seed
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.weight.data, c.weight.data)


@pytest.mark.parametrize(
    ("seed", "error", "text"),
    [(-1, ValueError, "-1"), (1.5, TypeError, "1.5"), ("3", TypeError, "'3'"),
     (True, TypeError, "True")],
)
def test_manual_seed_rejects_bad_seeds(seed: object, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        gn.manual_seed(seed)  # type: ignore[arg-type]


def test_bad_generator_argument() -> None:
    with pytest.raises(TypeError, match="generator must be"):
        nn.Linear(2, 2, generator="rng")


# ---------------------------------------------------------------------------- Module mechanics
class Net(nn.Module):
    """Parameters through an attribute, a plain list, a plain dict and containers."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(np.ones(3))
        self.first = nn.Linear(3, 4)
        self.blocks = [nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4, bias=False)]
        self.heads = {"a": nn.Linear(4, 2), "b": nn.Linear(4, 1)}
        self.extra = nn.ModuleList([nn.Linear(2, 2)])
        self.named = nn.ModuleDict({"out": nn.Linear(2, 2)})
        self.note = "not a module"
        self.plain = gn.tensor([1.0, 2.0])  # a Tensor, not a Parameter: not trained

    def forward(self, x: gn.Tensor) -> gn.Tensor:
        h = self.first(x * self.scale)
        for layer in self.blocks:
            h = layer(h)
        return self.heads["a"](h)


EXPECTED_NAMES = [
    "scale", "first.weight", "first.bias", "blocks.0.weight", "blocks.0.bias",
    "blocks.2.weight", "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias",
    "extra.0.weight", "extra.0.bias", "named.out.weight", "named.out.bias",
]


def test_named_parameters_through_attributes_lists_and_dicts() -> None:
    net = Net()
    assert [n for n, _ in net.named_parameters()] == EXPECTED_NAMES
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert net.blocks[0].weight is dict(net.named_parameters())["blocks.0.weight"]


def test_children_and_modules() -> None:
    net = Net()
    names = [n for n, _ in net.named_children()]
    assert names == ["first", "blocks.0", "blocks.1", "blocks.2", "heads.a", "heads.b",
                     "extra", "named"]
    assert list(net.children())[1] is net.blocks[0]
    mods = list(net.modules())
    assert mods[0] is net
    assert len(mods) == 1 + 8 + 2  # net, 8 children, two grandchildren in the containers
    assert [n for n, _ in net.named_modules()][-2:] == ["named", "named.out"]


def test_a_list_filled_after_assignment_is_found() -> None:
    class Late(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = []
            for _ in range(2):
                self.layers.append(nn.Linear(2, 2))

    assert [n for n, _ in Late().named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]


def test_shared_parameters_are_listed_once() -> None:
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert net.num_parameters() == 12
    assert len(list(net.modules())) == 3


def test_sequential_parameter_names_follow_pytorch() -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                       "2.bias"]
    assert [n for n, _ in net.named_parameters(prefix="model")][0] == "model.0.weight"
    assert list(nn.Linear(2, 2).named_parameters(recurse=False))[0][0] == "weight"


def test_num_parameters_and_count_parameters() -> None:
    net = nn.MLP(784, [100], 10)
    expected = 784 * 100 + 100 + 100 * 10 + 10
    assert net.num_parameters() == expected
    assert nn.count_parameters(net) == expected
    assert nn.count_parameters(net.parameters()) == expected
    net[0].requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == 100 * 10 + 10
    assert nn.count_parameters(net, trainable_only=True) == 1010


def test_train_and_eval_recurse() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.blocks[1].training is False and net.named["out"].training is False
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(TypeError, match="bool"):
        net.train("no")  # type: ignore[arg-type]


def test_zero_grad_sets_gradients_to_none() -> None:
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    net(gn.tensor(np.ones((4, 3), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_assigning_a_plain_tensor_to_a_parameter_is_an_error() -> None:
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight' of Linear"):
        lin.weight = gn.tensor(np.zeros((2, 2)))
    lin.weight = nn.Parameter(np.zeros((2, 2)))  # a new Parameter is fine
    assert not lin.weight.data.any()


def test_register_buffer_and_buffers() -> None:
    m = nn.Module()
    m.register_buffer("stat", np.zeros(3))
    m.register_buffer("tmp", np.ones(2), persistent=False)
    m.register_buffer("nothing", None)
    assert [n for n, _ in m.named_buffers()] == ["stat", "tmp"]
    assert list(m.state_dict()) == ["stat"]
    assert not list(m.parameters())
    m.stat = gn.tensor([1.0, 2.0, 3.0])  # a Tensor assigned to a buffer is stored as array
    assert isinstance(m.stat, np.ndarray)
    with pytest.raises(TypeError, match="buffer 'stat'"):
        m.stat = [1, 2, 3]
    with pytest.raises(ValueError, match="identifier"):
        m.register_buffer("a.b", np.zeros(1))


def test_forward_is_required() -> None:
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1)


def test_call_runs_forward() -> None:
    class Twice(nn.Module):
        def forward(self, x: gn.Tensor, factor: float = 2.0) -> gn.Tensor:
            return x * factor

    assert Twice()(gn.tensor([1.0]), factor=3.0).item() == 3.0


def test_apply_visits_every_module() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Sequential", "Linear", "Sequential"]


# ---------------------------------------------------------------------------- state dict
def test_state_dict_is_a_copy() -> None:
    lin = nn.Linear(3, 2)
    sd = lin.state_dict()
    assert list(sd) == ["weight", "bias"]
    assert isinstance(sd["weight"], np.ndarray)
    before = lin.weight.data.copy()
    sd["weight"][...] = 123.0
    np.testing.assert_array_equal(lin.weight.data, before)
    lin.weight.data[...] = -1.0
    assert (sd["weight"] == 123.0).all()


def test_state_dict_includes_batchnorm_buffers_in_pytorch_order() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert list(net.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked"]
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                       "1.bias"]


def test_load_state_dict_round_trip_in_place_with_dtype_cast(rng: np.random.Generator) -> None:
    src = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    src(gn.tensor(rng.standard_normal((8, 3)).astype(np.float32)))  # moves running stats
    dst = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    weight, weight_data = dst[0].weight, dst[0].weight.data
    running = dst[1].running_mean
    sd = {k: v.astype(np.float64) if v.dtype.kind == "f" else v
          for k, v in src.state_dict().items()}
    result = dst.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst[0].weight is weight and dst[0].weight.data is weight_data  # in place
    assert dst[1].running_mean is running
    assert dst[0].weight.dtype == np.float32
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(dst.state_dict()[k], v)
    assert int(dst[1].num_batches_tracked) == 1


def test_load_state_dict_accepts_tensors_and_lists() -> None:
    lin = nn.Linear(2, 1)
    lin.load_state_dict({"weight": gn.tensor([[1.0, 2.0]]), "bias": [3.0]})
    assert lin.weight.data.tolist() == [[1.0, 2.0]] and lin.bias.data.tolist() == [3.0]


def test_load_state_dict_lists_missing_and_unexpected_keys() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    sd = net.state_dict()
    del sd["1.bias"]
    del sd["0.weight"]
    sd["2.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match="missing keys") as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert "'0.weight'" in msg and "'1.bias'" in msg
    assert "unexpected keys: '2.weight'" in msg


def test_load_state_dict_not_strict_reports_keys() -> None:
    net = nn.Sequential(nn.Linear(2, 2))
    result = net.load_state_dict({"0.weight": np.ones((2, 2)), "extra": np.ones(1)},
                                 strict=False)
    assert result.missing_keys == ["0.bias"]
    assert result.unexpected_keys == ["extra"]
    assert (net[0].weight.data == 1).all()


def test_load_state_dict_shape_mismatch_names_key_and_shapes() -> None:
    net = nn.Sequential(nn.Linear(2, 3))
    before = net.state_dict()
    sd = net.state_dict()
    sd["0.bias"] = np.full(3, 7.0)
    sd["0.weight"] = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"'0.weight': checkpoint shape \(2, 3\), model "
                                         r"shape \(3, 2\)"):
        net.load_state_dict(sd)
    with pytest.raises(ValueError, match="0.weight"):
        net.load_state_dict(sd, strict=False)  # a shape mismatch is never ignored
    for k, v in before.items():  # nothing was half loaded
        np.testing.assert_array_equal(net.state_dict()[k], v)


def test_load_state_dict_rejects_a_non_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        nn.Linear(2, 2).load_state_dict([("weight", np.zeros((2, 2)))])  # type: ignore


# ---------------------------------------------------------------------------- dtypes
def test_default_dtype_float32_and_set_default_dtype() -> None:
    assert nn.Linear(2, 2).weight.dtype == np.float32
    assert nn.BatchNorm1d(2).running_var.dtype == np.float32
    gn.set_default_dtype(np.float64)
    try:
        assert nn.Linear(2, 2).weight.dtype == np.float64
        assert nn.BatchNorm1d(2).running_mean.dtype == np.float64
    finally:
        gn.set_default_dtype(np.float32)
    assert nn.Linear(2, 2, dtype=np.float64).bias.dtype == np.float64


def test_to_double_and_float_convert_parameters_and_buffers() -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    params = list(net.parameters())
    assert net.double() is net
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]  # same objects
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64  # integer buffers stay
    y = net(gn.tensor(np.ones((4, 2))))
    assert y.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    with pytest.raises(TypeError, match="int32"):
        net.to(np.int32)


# ---------------------------------------------------------------------------- repr
def test_repr_matches_pytorch_layout() -> None:
    net = nn.Sequential(
        nn.Linear(784, 10), nn.ReLU(), nn.Sequential(nn.Dropout(0.5), nn.LeakyReLU(0.2)),
        nn.BatchNorm1d(10), nn.Softmax(dim=1), nn.Flatten(),
    )
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=10, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.5)\n"
        "    (1): LeakyReLU(negative_slope=0.2)\n"
        "  )\n"
        "  (3): BatchNorm1d(10, eps=1e-05, momentum=0.1, affine=True, "
        "track_running_stats=True)\n"
        "  (4): Softmax(dim=1)\n"
        "  (5): Flatten(start_dim=1, end_dim=-1)\n"
        ")"
    )
    assert repr(nn.Linear(3, 1, bias=False)) == "Linear(in_features=3, out_features=1, bias=False)"


def test_repr_of_a_custom_module_with_a_list() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = [nn.Linear(1, 1), nn.Tanh()]

    assert repr(Two()) == (
        "Two(\n  (layers.0): Linear(in_features=1, out_features=1, bias=True)\n"
        "  (layers.1): Tanh()\n)"
    )


# ---------------------------------------------------------------------------- configs
BUILT_INS = {
    "Linear": lambda: nn.Linear(3, 4),
    "Linear_options": lambda: nn.Linear(3, 2, bias=False, init="xavier_normal",
                                        dtype=np.float64),
    "ReLU": nn.ReLU,
    "LeakyReLU": lambda: nn.LeakyReLU(0.2),
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "Softplus": lambda: nn.Softplus(2.0),
    "Softmax": lambda: nn.Softmax(dim=0),
    "LogSoftmax": lambda: nn.LogSoftmax(axis=1),
    "Identity": nn.Identity,
    "Flatten": lambda: nn.Flatten(0, -1),
    "Dropout": lambda: nn.Dropout(0.25),
    "BatchNorm1d": lambda: nn.BatchNorm1d(3, eps=1e-3, momentum=None, affine=False),
    "BatchNorm1d_untracked": lambda: nn.BatchNorm1d(3, track_running_stats=False),
    "Residual": lambda: nn.Residual(nn.Sequential(nn.Linear(3, 3), nn.Tanh()), 0.2, "row"),
    "Sequential": lambda: nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2)),
    "Sequential_named": lambda: nn.Sequential({"hidden": nn.Linear(3, 2), "act": nn.Tanh()}),
    "MLP": lambda: nn.MLP(3, [5, 4], 2, activation="tanh", dropout=0.1, batch_norm=True),
    "ModuleList": lambda: nn.ModuleList([nn.Linear(3, 3), nn.ReLU()]),
    "ModuleDict": lambda: nn.ModuleDict({"a": nn.Linear(3, 3), "b": nn.Sigmoid()}),
    "Conv2d": lambda: nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, bias=False),
    "MaxPool2d": lambda: nn.MaxPool2d(3, 2, padding=1, dilation=1),
    "AvgPool2d": lambda: nn.AvgPool2d(2),
    "AdaptiveAvgPool2d": lambda: nn.AdaptiveAvgPool2d(2),
    "BatchNorm2d": lambda: nn.BatchNorm2d(3, momentum=0.2),
    "Dropout2d": lambda: nn.Dropout2d(0.3),
}
IMAGE_LAYERS = {"Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d",
                "Dropout2d"}  # run on (N, C, H, W) images


def test_every_built_in_layer_has_a_config_case() -> None:
    classes = {name for name in nn.__all__
               if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module)
               and name != "Module"}
    covered = {type(make()).__name__ for make in BUILT_INS.values()}
    assert classes <= covered, f"layers without a config test: {classes - covered}"


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_config_round_trip(name: str, rng: np.random.Generator) -> None:
    module = BUILT_INS[name]()
    cfg = module.get_config()
    text = json.dumps(cfg)  # JSON-able
    rebuilt = nn.from_config(json.loads(text))
    assert type(rebuilt) is type(module)
    assert rebuilt.get_config() == cfg
    assert repr(rebuilt) == repr(module)
    assert nn.from_config(text).get_config() == cfg  # a JSON string works too
    shapes = {k: v.shape for k, v in module.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes
    rebuilt.load_state_dict(module.state_dict())
    if isinstance(module, (nn.ModuleList, nn.ModuleDict)):
        return
    module.eval()
    rebuilt.eval()
    x = gn.tensor(rng.standard_normal((2, 3, 6, 6) if name in IMAGE_LAYERS else (4, 3)))
    np.testing.assert_array_equal(rebuilt(x).data, module(x).data)


def test_config_keeps_the_dtype() -> None:
    cfg = nn.Linear(2, 2, dtype=np.float64).get_config()
    assert cfg == {"class": "Linear", "kwargs": {"in_features": 2, "out_features": 2,
                                                 "bias": True, "init": "default",
                                                 "dtype": "float64"}}
    assert nn.from_config(cfg).weight.dtype == np.float64


class Scaled(nn.Module):
    """A user-defined module with a config."""

    def __init__(self, inner: nn.Module, factor: float) -> None:
        super().__init__()
        self.inner, self.factor = inner, factor

    def forward(self, x: gn.Tensor) -> gn.Tensor:
        return self.inner(x) * self.factor

    def get_config(self) -> dict:
        return self._config(inner=self.inner, factor=self.factor)


def test_config_of_a_user_module() -> None:
    m = Scaled(nn.Linear(2, 2), 3.0)
    cfg = m.get_config()
    assert cfg["class"] == f"{__name__}.Scaled"
    rebuilt = nn.from_config(json.loads(json.dumps(cfg)))
    assert isinstance(rebuilt, Scaled) and rebuilt.factor == 3.0
    assert isinstance(rebuilt.inner, nn.Linear)


def test_config_errors() -> None:
    class NoConfig(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoConfig does not define get_config"):
        NoConfig().get_config()
    with pytest.raises(ValueError, match="unknown module class 'os.system'"):
        nn.from_config({"class": "os.system", "kwargs": {}})
    with pytest.raises(ValueError, match="exactly the keys 'class' and 'kwargs'"):
        nn.from_config({"name": "Linear"})


# ---------------------------------------------------------------------------- containers
def test_sequential_indexing_and_mutation() -> None:
    a, b, c = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)
    net = nn.Sequential(a, b)
    assert len(net) == 2 and net[0] is a and net[-1] is b
    assert list(net) == [a, b]
    net.append(c)
    assert net[2] is c
    head = net[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    net.insert(0, nn.Identity())
    assert [n for n, _ in net.named_children()] == ["0", "1", "2", "3"]
    assert net[1] is a
    del net[0]
    assert list(net) == [a, b, c]
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        net[3]
    with pytest.raises(TypeError, match="Sequential holds Modules, got int"):
        net.append(3)  # type: ignore[arg-type]


def test_sequential_forward_chains(rng: np.random.Generator) -> None:
    l1, l2 = nn.Linear(3, 4, dtype=np.float64), nn.Linear(4, 2, dtype=np.float64)
    x = gn.tensor(rng.standard_normal((5, 3)))
    np.testing.assert_allclose(nn.Sequential(l1, nn.Tanh(), l2)(x).data,
                               l2(l1(x).tanh()).data, rtol=1e-15)


def test_sequential_with_names() -> None:
    net = nn.Sequential({"hidden": nn.Linear(2, 3), "act": nn.ReLU()})
    assert [n for n, _ in net.named_parameters()] == ["hidden.weight", "hidden.bias"]
    assert isinstance(net["act"], nn.ReLU) and isinstance(net[1], nn.ReLU)


def test_module_list_and_dict() -> None:
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    assert len(ml) == 2 and isinstance(ml[-1], nn.Linear)
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                      "1.bias"]
    with pytest.raises(TypeError, match="ModuleList holds Modules"):
        ml.append("x")  # type: ignore[arg-type]
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    md["y"] = nn.Tanh()
    assert list(md) == ["x", "y"] and "y" in md and len(md) == 2
    with pytest.raises(ValueError, match="'a.b'"):
        md["a.b"] = nn.Tanh()


# ---------------------------------------------------------------------------- Linear
@pytest.mark.parametrize("x_shape", [(5, 3), (3,), (2, 4, 3), (1, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_the_composite(
    x_shape: tuple[int, ...], bias: bool, rng: np.random.Generator
) -> None:
    lin = nn.Linear(3, 4, bias=bias, dtype=np.float64)
    x = _t(rng.standard_normal(x_shape))
    y = lin(x)
    assert y.shape == x_shape[:-1] + (4,)
    assert y.grad_fn is not None and y.grad_fn.name == "LinearFn"  # one fused node
    xc, Wc = _t(x.data), _t(lin.weight.data)
    yc = xc @ Wc.T
    if bias:
        bc = _t(lin.bias.data)
        yc = yc + bc
    np.testing.assert_allclose(y.data, yc.data, rtol=1e-13, atol=1e-14)
    u = rng.standard_normal(y.shape)
    y.backward(u)
    yc.backward(u)
    np.testing.assert_allclose(x.grad.data, xc.grad.data, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(lin.weight.grad.data, Wc.grad.data, rtol=1e-13, atol=1e-14)
    if bias:
        np.testing.assert_allclose(lin.bias.grad.data, bc.grad.data, rtol=1e-13, atol=1e-14)


def test_linear_weight_layout_is_out_by_in() -> None:
    lin = nn.Linear(784, 10)
    assert lin.weight.shape == (10, 784) and lin.bias.shape == (10,)
    assert lin.bias is not None and nn.Linear(2, 3, bias=False).bias is None


def test_linear_is_the_lecture_w_x_plus_b() -> None:
    lin = nn.Linear(2, 3, dtype=np.float64)
    lin.load_state_dict({"weight": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "bias": [1, 0, -1]})
    x = np.array([1.0, -1.0])
    expected = np.array([[1, 2], [3, 4], [5, 6]]) @ x + np.array([1, 0, -1])
    np.testing.assert_array_equal(lin(gn.tensor(x)).data, expected)


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [({"in_features": -1, "out_features": 2}, ValueError, "in_features must be"),
     ({"in_features": 2.5, "out_features": 2}, ValueError, "2.5"),
     ({"in_features": 2, "out_features": 2, "init": "he"}, ValueError, "'he'"),
     ({"in_features": 2, "out_features": 2, "bias": 1}, TypeError, "bias must be"),
     ({"in_features": 2, "out_features": 2, "dtype": np.int32}, TypeError, "int32")],
)
def test_linear_validates_arguments(kwargs: dict, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        nn.Linear(**kwargs)


def test_linear_rejects_a_wrong_input_width() -> None:
    with pytest.raises(ValueError, match=r"in_features=3 .* shape \(2, 4\)"):
        nn.Linear(3, 1)(gn.tensor(np.ones((2, 4))))


def test_linear_fn_naive_loop_oracle(rng: np.random.Generator) -> None:
    """CS231n style: the vectorised fused gradients against per-sample loops."""
    x, W, b = rng.standard_normal((6, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    dout = rng.standard_normal((6, 4))
    xt, Wt, bt = _t(x), _t(W), _t(b)
    LinearFn.apply(xt, Wt, bt).backward(dout)
    dx = np.zeros_like(x)
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    for n in range(6):
        for h in range(4):
            for d in range(3):
                dx[n, d] += dout[n, h] * W[h, d]
                dW[h, d] += dout[n, h] * x[n, d]
            db[h] += dout[n, h]
    assert rel_error(xt.grad.data, dx) < 1e-12
    assert rel_error(Wt.grad.data, dW) < 1e-12
    assert rel_error(bt.grad.data, db) < 1e-12


@pytest.mark.parametrize("x_shape", [(4, 3), (3,), (2, 2, 3)])
def test_linear_fn_gradcheck_and_gradgradcheck(
    x_shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    x, W, b = rng.standard_normal(x_shape), rng.standard_normal((2, 3)), rng.standard_normal(2)
    f = lambda x, W, b: LinearFn.apply(x, W, b)  # noqa: E731
    assert gn.gradcheck(f, x, W, b).ok
    assert gn.gradgradcheck(f, x, W, b).ok


# ---------------------------------------------------------------------------- init
N_OUT, N_IN = 300, 400


def _stats_case(scheme: str) -> tuple[float, float, str]:
    """(bound or 0, expected std, distribution) of each Linear init scheme."""
    fan_in, fan_out = N_IN, N_OUT
    if scheme == "default":
        b = 1 / math.sqrt(fan_in)
        return b, b / math.sqrt(3), "uniform"
    if scheme == "xavier_uniform":
        b = math.sqrt(6 / (fan_in + fan_out))
        return b, b / math.sqrt(3), "uniform"
    if scheme == "xavier_normal":
        return 0.0, math.sqrt(2 / (fan_in + fan_out)), "normal"
    if scheme == "kaiming_uniform":
        b = math.sqrt(6 / fan_in)
        return b, b / math.sqrt(3), "uniform"
    return 0.0, math.sqrt(2 / fan_in), "normal"


@pytest.mark.parametrize("scheme", nn.linear.INITS)
def test_linear_init_distributions(scheme: str) -> None:
    lin = nn.Linear(N_IN, N_OUT, init=scheme, generator=np.random.default_rng(0))
    W = lin.weight.data.astype(np.float64)
    bound, std, kind = _stats_case(scheme)
    n = W.size
    assert abs(W.mean()) < 4 * std / math.sqrt(n)
    assert W.std() == pytest.approx(std, rel=0.01)
    if kind == "uniform":
        assert np.abs(W).max() <= bound
        assert np.abs(W).max() > 0.999 * bound
        # a uniform's fourth moment: E w^4 = b^4 / 5
        assert (W**4).mean() == pytest.approx(bound**4 / 5, rel=0.03)
    else:
        assert (np.abs(W) > 2 * std).mean() == pytest.approx(0.0455, abs=0.003)
        assert (W**4).mean() == pytest.approx(3 * std**4, rel=0.03)


def test_linear_default_bias_and_other_schemes_zero_bias() -> None:
    lin = nn.Linear(16, 5000, generator=np.random.default_rng(0))
    b = lin.bias.data
    assert np.abs(b).max() <= 0.25 and np.abs(b).max() > 0.249
    assert b.std() == pytest.approx(0.25 / math.sqrt(3), rel=0.03)
    for scheme in nn.linear.INITS[1:]:
        assert not nn.Linear(4, 3, init=scheme).bias.data.any()


@pytest.mark.parametrize(
    ("name", "param", "gain"),
    [("linear", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
     ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
     ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)), ("selu", None, 0.75)],
)
def test_calculate_gain(name: str, param: float | None, gain: float) -> None:
    assert init.calculate_gain(name, param) == pytest.approx(gain, rel=1e-15)


def test_init_functions_fill_in_place_and_validate() -> None:
    W = nn.Parameter(np.zeros((3, 5)))
    data = W.data
    assert init.kaiming_uniform_(W, generator=0) is W and W.data is data
    assert np.abs(W.data).max() <= math.sqrt(3) * math.sqrt(2 / (1 + 0.0)) / math.sqrt(5)
    init.constant_(W, 2.5)
    assert (W.data == 2.5).all()
    assert init.fan_in_and_fan_out((4, 3, 2, 2)) == (12, 16)
    with pytest.raises(ValueError, match=r"at least 2 axes, got shape \(3,\)"):
        init.xavier_uniform_(np.zeros(3))
    with pytest.raises(ValueError, match="'fan_avg'"):
        init.kaiming_normal_(np.zeros((2, 2)), mode="fan_avg")
    with pytest.raises(ValueError, match="'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(TypeError, match="float array"):
        init.uniform_(np.zeros(3, dtype=np.int64))


def test_init_draws_from_the_given_generator() -> None:
    a = init.normal_(np.zeros(5), generator=np.random.default_rng(4))
    np.testing.assert_array_equal(a, np.random.default_rng(4).normal(0.0, 1.0, 5))


# ---------------------------------------------------------------------------- activations
ACTIVATION_CASES = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.Softmax(dim=0), lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
    (nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    (nn.Identity(), lambda x: x),
]


@pytest.mark.parametrize(("module", "formula"), ACTIVATION_CASES,
                         ids=lambda v: repr(v) if isinstance(v, nn.Module) else "")
def test_activation_values(module: nn.Module, formula, rng: np.random.Generator) -> None:
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(module(gn.tensor(x)).data, formula(x), rtol=1e-12, atol=1e-15)


def test_activation_validation() -> None:
    with pytest.raises(TypeError, match="negative_slope"):
        nn.LeakyReLU("0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="beta must be a positive number, got -1"):
        nn.Softplus(-1)
    with pytest.raises(ValueError, match="not both"):
        nn.Softmax(dim=0, axis=1)


def test_flatten(rng: np.random.Generator) -> None:
    x = gn.tensor(rng.standard_normal((2, 3, 4, 5)))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(2)(x).shape == (2, 3, 20)
    with pytest.raises(ValueError, match="start_dim=5 is out of range"):
        nn.Flatten(5)(x)


# ---------------------------------------------------------------------------- Dropout
def test_dropout_statistics() -> None:
    p = 0.3
    drop = nn.Dropout(p, generator=np.random.default_rng(0))
    x = gn.tensor(np.ones((400, 500)))
    y = drop(x).data
    dropped = (y == 0).mean()
    assert dropped == pytest.approx(p, abs=0.005)
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / (1 - p)])
    np.testing.assert_array_equal(y != 0, drop.last_mask)


def test_dropout_gradient_is_the_scaled_mask(rng: np.random.Generator) -> None:
    p = 0.5
    drop = nn.Dropout(p, generator=rng)
    x = _t(rng.standard_normal((6, 5)))
    u = rng.standard_normal((6, 5))
    y = drop(x)
    y.backward(u)
    np.testing.assert_array_equal(y.data, x.data * drop.last_mask / (1 - p))
    np.testing.assert_array_equal(x.grad.data, u * drop.last_mask / (1 - p))


def test_dropout_is_identity_in_eval_and_for_p_zero(rng: np.random.Generator) -> None:
    x = gn.tensor(rng.standard_normal((3, 4)))
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x and drop.last_mask is None
    assert nn.Dropout(0.0)(x) is x


def test_dropout_same_generator_same_mask() -> None:
    x = gn.tensor(np.ones((5, 5)))
    a = nn.Dropout(0.4, generator=np.random.default_rng(3))(x).data
    b = nn.Dropout(0.4, generator=np.random.default_rng(3))(x).data
    np.testing.assert_array_equal(a, b)


def test_functional_dropout_with_a_given_mask() -> None:
    x = _t(np.arange(4.0))
    mask = np.array([True, False, True, False])
    np.testing.assert_array_equal(F.dropout(x, 0.5, mask=mask).data, [0.0, 0.0, 4.0, 0.0])
    assert F.dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_validates_p(p: float) -> None:
    with pytest.raises(ValueError, match=rf"p must be in \[0, 1\), got {p}"):
        nn.Dropout(p)


# ---------------------------------------------------------------------------- BatchNorm
def bn_composite(x: gn.Tensor, g: gn.Tensor | None, b: gn.Tensor | None,
                 eps: float) -> gn.Tensor:
    """Batch norm built from primitives (mean, var, sqrt): the oracle of BatchNormFn."""
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (-1,) if x.ndim == 2 else (-1, 1)
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # biased
    out = (x - mu) / (var + eps).sqrt()
    if g is not None:
        out = out * g.reshape(shape)
    if b is not None:
        out = out + b.reshape(shape)
    return out


def bn_naive(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """A looped reference: each channel normalised on its own."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        v = x[:, c]
        mu = sum(v.ravel()) / v.size
        var = sum((t - mu) ** 2 for t in v.ravel()) / v.size
        out[:, c] = (v - mu) / math.sqrt(var + eps) * g[c] + b[c]
    return out


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 1), (3, 2, 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_fn_matches_composite_to_second_order(
    shape: tuple[int, ...], affine: bool, rng: np.random.Generator
) -> None:
    C = shape[1]
    x0 = rng.standard_normal(shape) * 2 + 1
    g0, b0 = rng.standard_normal(C) + 1, rng.standard_normal(C)
    eps = 1e-3
    u = rng.standard_normal(shape)
    results = []
    for f in (lambda x, g, b: BatchNormFn.apply(x, g, b, eps=eps), lambda x, g, b:
              bn_composite(x, g, b, eps)):
        x, g, b = _t(x0), (_t(g0) if affine else None), (_t(b0) if affine else None)
        y = f(x, g, b)
        leaves = [t for t in (x, g, b) if t is not None]
        grads = gn.gradients(y, leaves, u, create_graph=True)
        s = sum(((gr * gn.tensor(np.cos(np.arange(gr.size)).reshape(gr.shape))).sum()
                 for gr in grads), gn.tensor(0.0, dtype=np.float64))
        hv = gn.gradients(s, leaves)
        hv = [np.zeros(t.shape) if h is None else h.data for h, t in zip(hv, leaves)]
        results.append((y.data, [gr.data for gr in grads], hv))
    (y1, g1, h1), (y2, g2, h2) = results
    np.testing.assert_allclose(y1, y2, rtol=1e-12, atol=1e-12)
    for a, c in zip(g1 + h1, g2 + h2):
        np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-11)
    if affine:
        np.testing.assert_allclose(y1, bn_naive(x0, g0, b0, eps), rtol=1e-12, atol=1e-12)


def test_batchnorm_fn_gradcheck(rng: np.random.Generator) -> None:
    x, g, b = rng.standard_normal((4, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)
    f = lambda x, g, b: BatchNormFn.apply(x, g, b, eps=1e-5)  # noqa: E731
    assert gn.gradcheck(f, x, g, b).ok
    assert gn.gradgradcheck(f, x, g, b).ok


def test_batchnorm_running_statistics_numpy_oracle(rng: np.random.Generator) -> None:
    bn = nn.BatchNorm1d(3, momentum=0.2, dtype=np.float64)
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(4):
        x = rng.standard_normal((5, 3, 2)) * 3 + 1
        bn(gn.tensor(x))
        m = x.shape[0] * x.shape[2]
        mean = x.mean(axis=(0, 2))
        unbiased = ((x - mean[None, :, None]) ** 2).sum(axis=(0, 2)) / (m - 1)
        rm = 0.8 * rm + 0.2 * mean
        rv = 0.8 * rv + 0.2 * unbiased
    np.testing.assert_allclose(bn.running_mean, rm, rtol=1e-13)
    np.testing.assert_allclose(bn.running_var, rv, rtol=1e-13)
    assert int(bn.num_batches_tracked) == 4
    bn.eval()
    x = rng.standard_normal((2, 3, 2))
    expected = (x - rm[None, :, None]) / np.sqrt(rv[None, :, None] + 1e-5)
    np.testing.assert_allclose(bn(gn.tensor(x)).data, expected, rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean, rm, rtol=1e-13)  # eval does not update


def test_batchnorm_momentum_none_is_a_cumulative_average(rng: np.random.Generator) -> None:
    bn = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    xs = [rng.standard_normal((4, 2)) for _ in range(3)]
    for x in xs:
        bn(gn.tensor(x))
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(0) for x in xs], axis=0),
                               rtol=1e-13)


def test_batchnorm_validation() -> None:
    with pytest.raises(ValueError, match=r"\(N, 3\) or \(N, 3, L\), got \(4, 2\)"):
        nn.BatchNorm1d(3)(gn.tensor(np.ones((4, 2))))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(2)(gn.tensor(np.ones((1, 2))))
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm1d(2, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be a positive number, got 0"):
        nn.BatchNorm1d(2, eps=0)


def test_batchnorm_one_sample_is_fine_in_eval() -> None:
    bn = nn.BatchNorm1d(2).eval()
    assert bn(gn.tensor(np.ones((1, 2), dtype=np.float32))).shape == (1, 2)


# ---------------------------------------------------------------------------- Residual
class Add1(nn.Module):
    def forward(self, x: gn.Tensor) -> gn.Tensor:
        return x + 1.0


def test_residual_eval_is_x_plus_branch(rng: np.random.Generator) -> None:
    branch = nn.Sequential(nn.Linear(3, 3, dtype=np.float64), nn.Tanh())
    block = nn.Residual(branch, p_drop=0.5).eval()
    x = gn.tensor(rng.standard_normal((4, 3)))
    np.testing.assert_array_equal(block(x).data, (x + branch(x)).data)
    assert block.last_mask is None


def test_residual_batch_mode_drops_the_whole_branch() -> None:
    p = 0.25
    block = nn.Residual(Add1(), p_drop=p, generator=np.random.default_rng(0))
    x = gn.tensor(np.zeros((3, 2)))
    outs = [block(x).data for _ in range(2000)]
    kept = np.array([o.max() > 0 for o in outs])
    assert kept.mean() == pytest.approx(1 - p, abs=0.03)
    for o, k in zip(outs[:50], kept[:50]):
        np.testing.assert_allclose(o, np.full((3, 2), 1 / (1 - p) if k else 0.0))
    # the draws are the generator's: U >= p means kept
    expected = np.random.default_rng(0).random(2000) >= p
    np.testing.assert_array_equal(kept, expected)


def test_residual_row_mode_drops_per_sample() -> None:
    p = 0.5
    block = nn.Residual(Add1(), p_drop=p, mode="row", generator=np.random.default_rng(1))
    x = gn.tensor(np.zeros((1000, 2)))
    y = block(x).data
    assert block.last_mask.shape == (1000, 1)
    np.testing.assert_array_equal(y, np.broadcast_to(block.last_mask * 2.0, (1000, 2)))
    assert block.last_mask.mean() == pytest.approx(0.5, abs=0.05)


def test_residual_gradient_through_kept_and_dropped_branch() -> None:
    lin = nn.Linear(2, 2, dtype=np.float64)
    block = nn.Residual(lin, p_drop=0.5, mode="row", generator=np.random.default_rng(2))
    x = _t(np.ones((6, 2)))
    block(x).sum().backward()
    keep = block.last_mask.astype(float) / 0.5  # (6, 1)
    expected_dx = 1.0 + keep * lin.weight.data.sum(axis=0)
    np.testing.assert_allclose(x.grad.data, expected_dx, rtol=1e-14)
    np.testing.assert_allclose(lin.bias.grad.data, np.full(2, keep.sum()), rtol=1e-14)


def test_residual_p_one_is_identity_in_training() -> None:
    block = nn.Residual(Add1(), p_drop=1.0, mode="row")
    np.testing.assert_array_equal(block(gn.tensor(np.zeros((3, 2)))).data, np.zeros((3, 2)))


def test_residual_validation() -> None:
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        nn.Residual(Add1(), p_drop=1.5)
    with pytest.raises(ValueError, match="'col'"):
        nn.Residual(Add1(), mode="col")
    with pytest.raises(TypeError, match="branch must be a Module"):
        nn.Residual(lambda x: x)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- MLP
def test_mlp_structure() -> None:
    net = nn.MLP(4, [8, 6], 3, activation="tanh", dropout=0.2, batch_norm=True)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Dropout"] * 2 + ["Linear"]
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [8, 6, 3]
    assert nn.MLP(4, [], 2)[0].in_features == 4 and len(nn.MLP(4, [], 2)) == 1
    assert [n for n, _ in nn.MLP(2, [16], 3).named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]


def test_mlp_forward_shape_and_modes(rng: np.random.Generator) -> None:
    net = nn.MLP(4, [8], 3, dropout=0.5, batch_norm=True)
    x = gn.tensor(rng.standard_normal((10, 4)).astype(np.float32))
    assert net(x).shape == (10, 3) and net(x).dtype == np.float32
    net.eval()
    np.testing.assert_array_equal(net(x).data, net(x).data)  # deterministic in eval


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [({"hidden_sizes": 8}, TypeError, "sequence of ints"),
     ({"hidden_sizes": [8, -1]}, ValueError, "hidden size must be a non-negative int, got -1"),
     ({"hidden_sizes": [8], "activation": "gelu"}, ValueError, "'gelu'"),
     ({"hidden_sizes": [8], "dropout": 1.0}, ValueError, "dropout must be in")],
)
def test_mlp_validation(kwargs: dict, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        nn.MLP(4, out_features=2, **kwargs)
