"""glassnet.onnx: every exportable layer checked by onnx's checker and against onnxruntime
on several batch sizes, imported back, and torch.onnx.export files read in."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import glassnet as gn  # noqa: E402
import glassnet.onnx as gx  # noqa: E402
from glassnet import models, nn  # noqa: E402

TOL = 1e-5  # float32, as the issue states: |onnxruntime - glassnet| <= TOL + TOL |glassnet|


def _bn(C: int, kind: type = nn.BatchNorm1d, **kw) -> nn.BatchNorm1d:
    """A BatchNorm1d (or 2d) whose statistics and affine parameters are not the initial
    ones."""
    layer = kind(C, **kw)
    g = np.random.default_rng(C)
    if layer.running_mean is not None:
        layer.running_mean[...] = g.normal(size=C)
        layer.running_var[...] = g.uniform(0.5, 2.0, size=C)
    if layer.affine:
        layer.weight.data[...] = g.uniform(0.5, 1.5, size=C)
        layer.bias.data[...] = g.normal(size=C)
    return layer


# (id, builder, input shape without N, readable node by node by load(use_config=False))
CASES: list[tuple[str, Callable[[], nn.Module], tuple[int, ...], bool]] = [
    ("linear", lambda: nn.Linear(5, 3), (5,), True),
    ("linear-no-bias", lambda: nn.Linear(5, 3, bias=False), (5,), True),
    ("linear-3d-input", lambda: nn.Linear(5, 3), (4, 5), True),
    ("relu", lambda: nn.ReLU(), (6,), True),
    ("leaky-relu", lambda: nn.LeakyReLU(0.2), (6,), True),
    ("sigmoid", lambda: nn.Sigmoid(), (6,), True),
    ("tanh", lambda: nn.Tanh(), (6,), True),
    ("softplus", lambda: nn.Softplus(), (6,), True),
    ("softplus-beta", lambda: nn.Softplus(beta=2.5), (6,), True),
    ("softmax", lambda: nn.Softmax(), (6,), True),
    ("softmax-dim1-3d", lambda: nn.Softmax(dim=1), (3, 4), True),
    ("log-softmax", lambda: nn.LogSoftmax(), (6,), True),
    ("identity", lambda: nn.Identity(), (6,), True),
    ("dropout", lambda: nn.Dropout(0.4), (6,), True),
    ("batch-norm", lambda: _bn(6), (6,), True),
    ("batch-norm-3d", lambda: _bn(3), (3, 5), True),
    ("batch-norm-no-affine", lambda: _bn(6, affine=False), (6,), True),
    ("batch-norm-batch-statistics", lambda: _bn(6, track_running_stats=False), (6,), False),
    ("flatten", lambda: nn.Flatten(), (2, 3, 4), True),
    ("flatten-middle", lambda: nn.Flatten(2, 3), (2, 3, 4, 5), True),
    ("sequential", lambda: nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)), (5,),
     True),
    ("sequential-named", lambda: nn.Sequential({"hidden": nn.Linear(5, 8), "act": nn.ReLU(),
                                                "out": nn.Linear(8, 2)}), (5,), True),
    ("mlp", lambda: nn.MLP(5, [16, 8], 3, generator=0), (5,), True),
    ("mlp-bn-dropout", lambda: nn.MLP(5, [16], 3, dropout=0.3, batch_norm=True,
                                      activation="leaky_relu", generator=0), (5,), True),
    ("residual", lambda: nn.Residual(nn.Sequential(nn.Linear(6, 6), nn.ReLU())), (6,), True),
    ("residual-single-layer", lambda: nn.Residual(nn.Linear(6, 6)), (6,), True),
    ("residual-nested", lambda: nn.Sequential(
        nn.Linear(5, 8),
        nn.Residual(nn.Sequential(nn.Linear(8, 8), nn.Residual(nn.Linear(8, 8)), nn.Tanh()),
                    p_drop=0.5),
        nn.Linear(8, 3)), (5,), True),
    ("conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1, generator=0), (3, 7, 6), True),
    ("conv2d-groups-dilation", lambda: nn.Conv2d(4, 2, (3, 2), dilation=(2, 1), groups=2,
                                                 bias=False, generator=0), (4, 7, 5), True),
    ("max-pool", lambda: nn.MaxPool2d(3, 2, padding=1), (2, 7, 7), True),
    ("avg-pool", lambda: nn.AvgPool2d(2, padding=1), (2, 5, 5), True),
    ("adaptive-avg-pool", lambda: nn.AdaptiveAvgPool2d(1), (3, 4, 5), True),
    ("adaptive-avg-pool-2x2", lambda: nn.AdaptiveAvgPool2d(2), (3, 4, 6), False),
    ("batch-norm-2d", lambda: _bn(3, kind=nn.BatchNorm2d), (3, 4, 4), True),
    ("dropout2d", lambda: nn.Dropout2d(0.3), (2, 3, 3), True),
    ("lenet", lambda: models.LeNet(generator=0), (1, 28, 28), False),
    ("convnet-flat-channels-last", lambda: models.ConvNet(
        (4, 6), 3, in_channels=3, image_size=8, hidden=8, batch_norm=True, channels_last=True,
        generator=0), (192,), False),
    ("linear-regression", lambda: models.LinearRegression(3, 2), (3,), False),
    ("linear-regression-1d", lambda: models.LinearRegression(1), (), False),
    ("polynomial-features", lambda: models.PolynomialFeatures(3), (1,), False),
    ("polynomial-regression", lambda: models.PolynomialRegression(4), (), False),
    ("polynomial-regression-d3", lambda: models.PolynomialRegression(
        3, in_features=3, out_features=2), (3,), False),
    ("quadratic-features", lambda: models.QuadraticFeatures(4), (4,), False),
    ("quadratic-model", lambda: models.QuadraticModel(4, 3), (4,), False),
    ("linear-classifier-images", lambda: models.LinearClassifier(12, 3), (3, 4), False),
    ("logistic-regression-binary", lambda: models.LogisticRegression(5, 2), (5,), False),
    ("logistic-regression-softmax", lambda: models.LogisticRegression(5, 4), (5,), False),
]
IDS = [c[0] for c in CASES]


def _batch(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    return rng.normal(size=(n, *shape)).astype(np.float32)


def _glassnet(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with gn.no_grad():
        return model(gn.tensor(x)).data


def _session(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_every_exporter_has_a_case():
    """A layer registered for export without a case here fails this test."""
    covered = {type(make()) for _, make, _, _ in CASES}
    for _, make, _, _ in CASES:
        covered |= {type(m) for m in make().modules()}
    assert set(gx.EXPORTERS) <= covered, set(gx.EXPORTERS) - covered


@pytest.mark.parametrize(("name", "make", "shape", "_"), CASES, ids=IDS)
def test_export_matches_onnxruntime(tmp_path, rng, name, make, shape, _):
    model = make().eval()
    path = gx.export(model, tmp_path / "m.onnx", _batch(rng, 3, shape))
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    session = _session(path)
    sizes = (2, 5, 64) if "batch-statistics" in name else (1, 4, 37, 256)
    for n in sizes:
        x = _batch(rng, n, shape)
        expected = _glassnet(model, x)
        (got,) = session.run(None, {"input": x})
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=TOL, atol=TOL)


@pytest.mark.parametrize(("name", "make", "shape", "by_nodes"), CASES, ids=IDS)
def test_load_gives_the_model_back(tmp_path, rng, name, make, shape, by_nodes):
    model = make().eval()
    path = gx.export(model, tmp_path / "m.onnx", _batch(rng, 2, shape))
    back = gx.load(path)
    assert type(back) is type(model) and not back.training
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
    x = _batch(rng, 9 if "batch-statistics" in name else 7, shape)
    np.testing.assert_array_equal(_glassnet(back, x), _glassnet(model, x))
    if by_nodes:  # the same graph read node by node, as a file from elsewhere is
        nodes = gx.load(path, use_config=False)
        assert isinstance(nodes, nn.Sequential)
        np.testing.assert_allclose(_glassnet(nodes, x), _glassnet(model, x), rtol=1e-6,
                                   atol=1e-6)


def test_read_node_by_node_keeps_the_structure(tmp_path, rng):
    model = nn.Sequential(nn.Linear(5, 8), nn.Residual(nn.Sequential(nn.Linear(8, 8),
                                                                     nn.Tanh())),
                          _bn(8), nn.LeakyReLU(0.2), nn.Softplus(beta=2.0), nn.Linear(8, 3))
    path = gx.export(model.eval(), tmp_path / "m.onnx", _batch(rng, 2, (5,)))
    back = gx.load(path, use_config=False)
    kinds = [type(m).__name__ for m in back]
    assert kinds == ["Linear", "Residual", "BatchNorm1d", "LeakyReLU", "Softplus", "Linear"]
    assert back[3].negative_slope == 0.2 and back[4].beta == 2.0
    assert back[2].eps == 1e-5 and [type(m).__name__ for m in back[1].branch] == [
        "Linear", "Tanh"]


def test_float64_model(tmp_path, rng):
    model = nn.MLP(4, [8], 2, generator=0).double().eval()
    path = gx.export(model, tmp_path / "m.onnx", rng.normal(size=(2, 4)))
    x = rng.normal(size=(11, 4))
    (got,) = _session(path).run(None, {"input": x})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _glassnet(model, x), rtol=1e-12, atol=1e-12)


def test_export_restores_training_mode_and_opset(tmp_path, rng):
    model = nn.MLP(4, [8], 2, dropout=0.5)
    gx.export(model, tmp_path / "m.onnx", _batch(rng, 2, (4,)), opset=15)
    assert model.training and all(m.training for m in model.modules())
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == 15


def test_fixed_batch_axis(tmp_path, rng):
    path = gx.export(nn.Linear(3, 2), tmp_path / "m.onnx", _batch(rng, 4, (3,)),
                     dynamic_batch=False)
    dim = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_value == 4


# ---------------------------------------------------------------------- errors, files
def test_unsupported_layer_is_named(tmp_path, rng):
    class Doubler(nn.Module):
        def forward(self, x):
            return x * 2

    class MyMLP(nn.MLP):  # a subclass that keeps MLP's forward is exported as an MLP
        pass

    with pytest.raises(gx.UnsupportedLayerError, match="no ONNX exporter for Doubler"):
        gx.export(nn.Sequential(nn.Linear(3, 3), Doubler()), tmp_path / "m.onnx",
                  _batch(rng, 2, (3,)))
    assert not (tmp_path / "m.onnx").exists()
    gx.export(MyMLP(3, [4], 2), tmp_path / "m.onnx", _batch(rng, 2, (3,)))


def test_unsupported_node_on_import_is_named(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Cos", ["r"], ["y"],
                                                                  name="the_cos")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.save(proto, str(tmp_path / "cos.onnx"))
    with pytest.raises(gx.UnsupportedLayerError, match=r"'the_cos' \(Cos\) has no glassnet"):
        gx.load(tmp_path / "cos.onnx")


def test_export_writes_atomically(tmp_path, rng):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    with pytest.raises(gx.UnsupportedLayerError):
        gx.export(nn.Sequential(nn.Linear(3, 3), nn.ModuleList()), path, _batch(rng, 2, (3,)))
    assert path.read_bytes() == b"old"
    gx.export(nn.Linear(3, 3), path, _batch(rng, 2, (3,)))
    assert gx.load(path).in_features == 3
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left
    with pytest.raises(FileNotFoundError, match="folder .*missing' does not exist"):
        gx.export(nn.Linear(3, 3), tmp_path / "missing" / "m.onnx", _batch(rng, 2, (3,)))


@pytest.mark.parametrize(
    ("example", "error", "message"),
    [
        (np.zeros((0, 3), np.float32), ValueError, r"N >= 1, got shape \(0, 3\)"),
        (np.zeros((), np.float32), ValueError, r"got shape \(\)"),
        (np.array([["a", "b", "c"]]), TypeError, "float array, got dtype <U1"),
        (np.full((2, 3), np.nan, np.float32), ValueError, "NaN"),
    ],
)
def test_bad_example_input(tmp_path, example, error, message):
    with pytest.raises(error, match=message):
        gx.export(nn.Linear(3, 2), tmp_path / "m.onnx", example)


def test_load_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx' does not exist"):
        gx.load(tmp_path / "nope.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00not a model at all")
    with pytest.raises(gx.OnnxError, match="junk.onnx' is not a valid ONNX model"):
        gx.load(tmp_path / "junk.onnx")
    with pytest.raises(gx.OnnxError, match="is a directory"):
        gx.load(tmp_path)


# ---------------------------------------------------------------------- from PyTorch
torch_cases = [
    "mlp", "activations", "batch-norm-dropout", "flatten-images",
]


def _torch_model(name: str):
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    if name == "mlp":
        return tnn.Sequential(tnn.Linear(6, 32), tnn.ReLU(), tnn.Linear(32, 16), tnn.ReLU(),
                              tnn.Linear(16, 3)), (6,)
    if name == "activations":
        return tnn.Sequential(tnn.Linear(6, 16), tnn.LeakyReLU(0.2), tnn.Linear(16, 16),
                              tnn.Sigmoid(), tnn.Linear(16, 8), tnn.Tanh(),
                              tnn.Linear(8, 8, bias=False), tnn.Softplus(), tnn.Linear(8, 4),
                              tnn.LogSoftmax(dim=1)), (6,)
    if name == "batch-norm-dropout":
        return tnn.Sequential(tnn.Linear(6, 16), tnn.BatchNorm1d(16), tnn.ReLU(),
                              tnn.Dropout(0.3), tnn.Linear(16, 3), tnn.Softmax(dim=-1)), (6,)
    return tnn.Sequential(tnn.Flatten(), tnn.Linear(12, 8), tnn.ReLU(), tnn.Linear(8, 2)), (3, 4)


@pytest.mark.parametrize("name", torch_cases)
def test_torch_onnx_export_loads_and_agrees(tmp_path, rng, name):
    """torch 2.13's default (dynamo) exporter needs onnxscript, which glassnet does not
    require; the TorchScript exporter (dynamo=False) writes the same standard ops."""
    torch = pytest.importorskip("torch")
    model, shape = _torch_model(name)
    model.train()
    with torch.no_grad():  # running statistics away from 0 and 1
        for _ in range(3):
            model(torch.from_numpy(_batch(rng, 32, shape) * 2 + 1))
    model.eval()
    path = tmp_path / "torch.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice
        torch.onnx.export(model, (torch.from_numpy(_batch(rng, 2, shape)),), str(path),
                          dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    ours = gx.load(path)
    assert isinstance(ours, nn.Sequential) and not ours.training
    for n in (1, 5, 40):
        x = _batch(rng, n, shape)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(_glassnet(ours, x), expected, rtol=1e-6, atol=1e-6)


def test_torch_reads_glassnet_weights_by_name(tmp_path, rng):
    """The initializers carry the state-dict keys, which are PyTorch's too."""
    from onnx import numpy_helper

    model = nn.MLP(4, [8], 2, batch_norm=True, generator=0)
    path = gx.export(model.eval(), tmp_path / "m.onnx", _batch(rng, 2, (4,)))
    names = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    for k, v in model.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            np.testing.assert_array_equal(names[k], v)


# ---------------------------------------------------------------------- the command
def test_export_command(tmp_path, rng, capsys):
    from glassnet.cli import main

    model = nn.MLP(10, [12], 4, generator=0)
    ckpt = gn.save(tmp_path / "last.ckpt", model, raw_scale=255.0, mean=np.zeros(10),
                   scale=np.ones(10), dataset="toy", input_shape=[10])
    out = tmp_path / "model.onnx"
    assert main(["export", str(ckpt), str(out)]) == 0
    assert f"wrote {out}: MLP, input 'input' (N, 10) float32, opset 17" in capsys.readouterr().out
    x = _batch(rng, 6, (10,))
    (got,) = _session(out).run(None, {"input": x})
    np.testing.assert_allclose(got, _glassnet(model.eval(), x), rtol=TOL, atol=TOL)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert '"raw_scale": 255.0' in meta["glassnet.preprocessing"]
    assert main(["export", str(tmp_path / "missing.ckpt"), str(out)]) == 1
    assert "missing.ckpt' does not exist" in capsys.readouterr().err
    assert main(["export", str(ckpt), str(tmp_path / "no" / "m.onnx")]) == 1
    assert "folder" in capsys.readouterr().err


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path, rng):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "glassnet\[onnx\]"'):
        gx.export(nn.Linear(3, 2), tmp_path / "m.onnx", _batch(rng, 2, (3,)))


@pytest.mark.parametrize("name", ["MLPClassifier", "LogisticRegression", "PolynomialRegression"])
def test_a_fitted_estimator_exports(tmp_path, rng, name):
    """The estimators' networks are glassnet models: they export like any other."""
    gs = pytest.importorskip("glassnet.sklearn")
    X = rng.normal(size=(60, 3))
    cls = getattr(gs, name)
    classifier = issubclass(cls, gs.GlassnetClassifier)
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) if classifier else X[:, 0] - X[:, 2] ** 2
    est = cls(epochs=20).fit(X, y)
    path = gx.export(est.model_, tmp_path / "est.onnx", X[:2].astype(np.float32))
    (got,) = _session(path).run(None, {"input": X.astype(np.float32)})
    expected = est.decision_function(X) if classifier else est.predict(X)
    if got.ndim == 2 and got.shape[1] == 2:  # two softmax scores -> their difference
        got = got[:, 1] - got[:, 0]
    np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=TOL, atol=TOL)
