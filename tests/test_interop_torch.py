"""PyTorch weights: Module.load_torch_state_dict / to_torch_state_dict and
glassnet.interop.from_torch, checked against torch's own outputs and gradients."""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import glassnet as gn  # noqa: E402
from glassnet import nn  # noqa: E402
from glassnet.interop import UnsupportedLayerError, from_torch  # noqa: E402

tnn = torch.nn


def _torch_models() -> dict[str, tnn.Module]:
    """One torch model per kind of layer glassnet can take over."""
    torch.manual_seed(0)
    bn = tnn.BatchNorm1d(16)
    return {
        "mlp": tnn.Sequential(tnn.Linear(6, 16), tnn.ReLU(), tnn.Linear(16, 16), tnn.ReLU(),
                              tnn.Linear(16, 3)),
        "activations": tnn.Sequential(
            tnn.Linear(6, 16), tnn.LeakyReLU(0.2), tnn.Linear(16, 16), tnn.Sigmoid(),
            tnn.Linear(16, 16), tnn.Tanh(), tnn.Linear(16, 8), tnn.Softplus(beta=2.0),
            tnn.Linear(8, 4, bias=False), tnn.Identity(), tnn.Softmax(dim=1),
        ),
        "log_softmax": tnn.Sequential(tnn.Linear(6, 5), tnn.LogSoftmax(dim=-1)),
        "batch_norm_dropout": tnn.Sequential(tnn.Linear(6, 16), bn, tnn.ReLU(),
                                             tnn.Dropout(0.3), tnn.Linear(16, 3)),
        "nested_named": tnn.Sequential(OrderedDict([
            ("flatten", tnn.Flatten()),
            ("body", tnn.Sequential(tnn.Linear(6, 8), tnn.ReLU())),
            ("head", tnn.Linear(8, 2)),
        ])),
    }


def _prepare(model: tnn.Module, rng: np.random.Generator, dtype: type) -> None:
    """Give BatchNorm running statistics that are not the initial 0 and 1."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.from_numpy(rng.normal(1.0, 2.0, size=(32, 6)).astype(dtype)))
    model.eval()


@pytest.mark.parametrize("name", list(_torch_models()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_from_torch_gives_the_same_outputs(rng, name, dtype):
    model = _torch_models()[name].to(torch.float64 if dtype == np.float64 else torch.float32)
    _prepare(model, rng, dtype)
    ours = from_torch(model)
    assert not ours.training
    assert list(ours.state_dict()) == list(model.state_dict())
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for n in (1, 7, 64):
        x = rng.normal(size=(n, 6)).astype(dtype)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = ours(gn.tensor(x)).data
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_from_torch_gradients_agree(rng):
    model = _torch_models()["mlp"].double()
    ours = from_torch(model)
    x = rng.normal(size=(10, 6))
    y = rng.integers(0, 3, size=10)
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    mine = gn.losses.softmax_log_likelihood(ours(gn.tensor(x)), y)
    mine.backward()
    assert abs(mine.item() - loss.item()) < 1e-12
    for (name, p), (tname, tp) in zip(ours.named_parameters(), model.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_from_torch_keeps_training_mode_and_dropout_p():
    model = _torch_models()["batch_norm_dropout"]
    ours = from_torch(model.train())
    assert ours.training and ours[3].p == 0.3
    assert ours[1].momentum == 0.1 and ours[1].eps == 1e-5


def test_unsupported_layer_is_named():
    class Custom(tnn.Module):
        def forward(self, x):
            return x * 2

    model = tnn.Sequential(tnn.Linear(3, 4), tnn.Sequential(tnn.ReLU(), tnn.Conv1d(1, 1, 3)))
    with pytest.raises(UnsupportedLayerError, match=r"torch.nn.modules.conv.Conv1d \(at 1.1\)"):
        from_torch(model)
    with pytest.raises(UnsupportedLayerError, match=r"Custom \(at the model itself\)"):
        from_torch(Custom())
    with pytest.raises(UnsupportedLayerError, match="float16 weights"):
        from_torch(tnn.Linear(2, 2).half())
    with pytest.raises(TypeError, match="expects a torch.nn.Module, got int"):
        from_torch(3)


# ---------------------------------------------------------------------- state dicts
def test_glassnet_weights_into_torch(rng):
    ours = nn.MLP(5, [12, 7], 3, batch_norm=True, generator=1)
    ours.train()
    for _ in range(2):
        ours(gn.tensor(rng.normal(size=(20, 5)).astype(np.float32)))
    ours.eval()
    ref = tnn.Sequential(tnn.Linear(5, 12), tnn.BatchNorm1d(12), tnn.ReLU(),
                         tnn.Linear(12, 7), tnn.BatchNorm1d(7), tnn.ReLU(), tnn.Linear(7, 3))
    arrays = ours.to_torch_state_dict()
    assert all(isinstance(v, np.ndarray) and v.flags.c_contiguous for v in arrays.values())
    assert arrays["1.num_batches_tracked"].dtype == np.int64
    ref.load_state_dict(ours.to_torch_state_dict(tensors=True))
    ref.eval()
    x = rng.normal(size=(9, 5)).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(gn.tensor(x)).data, expected, rtol=1e-6, atol=1e-6)
    assert int(ref[1].num_batches_tracked) == 2


def test_load_torch_state_dict_round_trip(rng):
    ref = tnn.Sequential(tnn.Linear(4, 6), tnn.Tanh(), tnn.Linear(6, 2))
    ours = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    ours.load_torch_state_dict(ref.state_dict())
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k], v.numpy())
    back = ours.to_torch_state_dict()
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(back[k], v.numpy())
    x = rng.normal(size=(3, 4)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(ours(gn.tensor(x)).data, ref(torch.from_numpy(x)).numpy(),
                                   rtol=1e-6, atol=1e-6)


def test_load_torch_state_dict_errors():
    ours = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    before = ours.state_dict()
    good = tnn.Sequential(tnn.Linear(4, 6), tnn.ReLU(), tnn.Linear(6, 2)).state_dict()
    with pytest.raises(ValueError, match=r"missing keys: '2.bias'"):
        ours.load_torch_state_dict({k: v for k, v in good.items() if k != "2.bias"})
    wrong = dict(good, **{"0.weight": torch.zeros(6, 5)})
    with pytest.raises(ValueError, match=r"'0.weight': checkpoint shape \(6, 5\), model shape"):
        ours.load_torch_state_dict(wrong)
    with pytest.raises(TypeError, match="'0.bias' must be a tensor or an ndarray, got list"):
        ours.load_torch_state_dict(dict(good, **{"0.bias": [0.0] * 6}))
    with pytest.raises(TypeError, match=r"cannot convert '0.bias' \(torch.bfloat16\)"):
        ours.load_torch_state_dict(dict(good, **{"0.bias": torch.zeros(6).bfloat16()}))
    with pytest.raises(TypeError, match="expects a mapping"):
        ours.load_torch_state_dict([1, 2])
    for k, v in ours.state_dict().items():  # nothing changed by the failed loads
        np.testing.assert_array_equal(v, before[k])
    result = ours.load_torch_state_dict({k: v for k, v in good.items() if k != "2.bias"},
                                        strict=False)
    assert result.missing_keys == ["2.bias"]


def test_core_takes_tensor_like_values_without_torch():
    """The core reads .detach().cpu().numpy(); numpy arrays load as they are."""

    class FakeTensor:
        def __init__(self, a):
            self.a = np.asarray(a)

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a

    lin = nn.Linear(2, 3)
    lin.load_torch_state_dict({"weight": FakeTensor(np.ones((3, 2))), "bias": np.arange(3.0)})
    np.testing.assert_array_equal(lin.weight.data, np.ones((3, 2), np.float32))
    np.testing.assert_array_equal(lin.bias.data, [0, 1, 2])


def test_importing_glassnet_interop_does_not_import_torch():
    code = ("import sys, glassnet.nn, glassnet.interop; "
            "m = glassnet.nn.Linear(2, 2); m.load_torch_state_dict(m.to_torch_state_dict()); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
