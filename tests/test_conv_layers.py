"""The convolutional layers, models and augmentations against PyTorch: init, state-dict
keys, a torch CNN's weights loaded and run, from_torch, ONNX both ways, BatchNorm2d's
statistics, Dropout2d, LeNet/ConvNet, ``glassnet.data.transforms``, ``fit(transform=)``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn

import glassnet as gn
from glassnet import models, nn
from glassnet.data import transforms as T
from glassnet.interop import UnsupportedLayerError, from_torch


def _run(model, x: np.ndarray) -> np.ndarray:
    with gn.no_grad():
        return model(gn.tensor(x)).data


def _torch_cnn(bn: bool = True) -> tnn.Module:
    torch.manual_seed(0)
    layers = [tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8) if bn else tnn.Identity(),
              tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2),
              tnn.ReLU(), tnn.AvgPool2d(2), tnn.Dropout2d(0.2), tnn.AdaptiveAvgPool2d(1),
              tnn.Flatten(), tnn.Linear(8, 4)]
    return tnn.Sequential(*layers)


def test_conv2d_init_and_state_dict_as_pytorch() -> None:
    layer = nn.Conv2d(6, 16, 5, groups=2, generator=0)
    torch_layer = tnn.Conv2d(6, 16, 5, groups=2)
    assert list(layer.state_dict()) == list(torch_layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.shape == tuple(torch_layer.weight.shape) == (16, 3, 5, 5)
    bound = 1 / np.sqrt(3 * 25)  # U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 3 * 5 * 5
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    assert np.abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.1 * bound
    assert nn.Conv2d(2, 2, 3, bias=False).bias is None


def test_bn2d_state_dict_and_running_statistics_as_pytorch(rng: np.random.Generator) -> None:
    ours, theirs = nn.BatchNorm2d(3), tnn.BatchNorm2d(3)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(3):
        x = rng.normal(1.0, 2.0, (4, 3, 5, 5)).astype(np.float32)
        np.testing.assert_allclose(_run(ours.train(), x), theirs.train()(torch.tensor(x))
                                   .detach().numpy(), rtol=1e-4, atol=1e-5)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=1e-5, atol=1e-6)
    x = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(_run(ours.eval(), x), theirs.eval()(torch.tensor(x))
                               .detach().numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects input of shape "
                                         r"\(N, 3, H, W\), got \(2, 3\)"):
        ours(gn.tensor(np.zeros((2, 3), dtype=np.float32)))


def test_bn2d_gradient_matches_torch(rng: np.random.Generator) -> None:
    x = rng.normal(size=(3, 2, 4, 4))
    ours = nn.BatchNorm2d(2, dtype=np.float64)
    theirs = tnn.BatchNorm2d(2).double()
    gx, tx = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    u = rng.normal(size=x.shape)
    ours(gx).backward(u)
    theirs(tx).backward(torch.tensor(u))
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-10)


def test_torch_cnn_weights_load_and_agree(rng: np.random.Generator) -> None:
    torch_model = _torch_cnn().eval()
    ours = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Dropout2d(0.2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)).eval()
    with torch.no_grad():  # running statistics that are not the initial ones
        torch_model[1].running_mean.uniform_(-1, 1)
        torch_model[1].running_var.uniform_(0.5, 2)
    ours.load_torch_state_dict(torch_model.state_dict())
    x = rng.normal(size=(5, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.tensor(x)).numpy()
    np.testing.assert_allclose(_run(ours, x), expected, rtol=1e-5, atol=1e-5)
    converted = from_torch(torch_model)
    assert isinstance(converted[0], nn.Conv2d) and converted[4].groups == 2
    np.testing.assert_allclose(_run(converted, x), expected, rtol=1e-5, atol=1e-5)


def test_from_torch_refuses_what_glassnet_pools_differently() -> None:
    with pytest.raises(UnsupportedLayerError, match="ceil_mode"):
        from_torch(tnn.Sequential(tnn.MaxPool2d(2, ceil_mode=True)))
    with pytest.raises(UnsupportedLayerError, match="padding_mode='reflect'"):
        from_torch(tnn.Sequential(tnn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")))


def test_torch_onnx_export_of_a_cnn_loads(tmp_path, rng: np.random.Generator) -> None:
    onnx = pytest.importorskip("onnx")
    import glassnet.onnx as gx

    del onnx
    torch_model = _torch_cnn().eval()
    path = tmp_path / "cnn.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(torch_model, (torch.zeros(2, 3, 16, 16),), str(path), dynamo=False,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    ours = gx.load(path)
    x = rng.normal(size=(3, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.tensor(x)).numpy()
    assert any(isinstance(m, nn.Conv2d) for m in ours.modules())
    np.testing.assert_allclose(_run(ours, x), expected, rtol=1e-5, atol=1e-5)


def test_dropout2d_layer(rng: np.random.Generator) -> None:
    layer = nn.Dropout2d(0.5, generator=0)
    x = gn.tensor(rng.normal(size=(4, 6, 3, 3)).astype(np.float32) + 3)
    y = layer(x).data
    assert layer.last_mask.shape == (4, 6, 1, 1)
    np.testing.assert_array_equal(y, x.data * layer.last_mask * 2)
    assert layer.eval()(x) is x
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got \(4, 6\)"):
        layer.train()(gn.tensor(np.zeros((4, 6), dtype=np.float32)))


# ---------------------------------------------------------------------------- models
def _torch_lenet() -> tnn.Module:
    class TorchLeNet(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Sequential(
                tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84),
                tnn.ReLU(), tnn.Linear(84, 10))

        def forward(self, v: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.features(v))

    torch.manual_seed(0)
    return TorchLeNet()


def test_lenet_is_torch_lenet(rng: np.random.Generator) -> None:
    theirs = _torch_lenet()
    ours = models.LeNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters()) == 61706
    ours.load_torch_state_dict(theirs.state_dict())
    x = rng.normal(size=(4, 1, 28, 28)).astype(np.float32)
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(_run(ours, x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_run(ours, x.reshape(4, 784)), expected, rtol=1e-5, atol=1e-5)


def test_models_rebuild_from_config_and_read_channels_last(rng: np.random.Generator) -> None:
    net = models.ConvNet((4, 8), num_classes=3, in_channels=3, image_size=8, hidden=16,
                         batch_norm=True, dropout=0.2, channels_last=True, generator=0).eval()
    back = nn.from_config(net.get_config())
    back.load_state_dict(net.state_dict())
    x = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(_run(back.eval(), x), _run(net, x))
    np.testing.assert_allclose(_run(net, x.reshape(2, -1)), _run(net, x.transpose(0, 3, 1, 2)
                                                                  .copy().reshape(2, 3, 8, 8)
                                                                  .transpose(0, 2, 3, 1)))
    with pytest.raises(ValueError, match=r"expects images \(N, 3, 8, 8\)"):
        net(gn.tensor(np.zeros((2, 3, 9, 9), dtype=np.float32)))
    with pytest.raises(ValueError, match="halve image_size=8 to nothing"):
        models.ConvNet((4, 4, 4, 4), image_size=8)


def test_lenet_learns_a_few_batches(rng: np.random.Generator) -> None:
    """Two classes that differ by a bright top half: SGD separates them in a few steps."""
    x = rng.normal(size=(64, 1, 16, 16)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    x[y == 1, :, :8] += 2.0
    model = models.LeNet(num_classes=2, image_size=16, generator=0)
    opt = gn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    first = None
    for _ in range(30):
        loss = gn.losses.softmax_log_likelihood(model(gn.tensor(x)), y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first


# ---------------------------------------------------------------------------- transforms
def test_random_crop_shifts_each_image_within_the_padding(rng: np.random.Generator) -> None:
    x = rng.normal(size=(50, 2, 6, 6)).astype(np.float32) + 10  # no zero in the images
    out = T.RandomCrop(6, padding=2, generator=0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    shifts = set()
    for k in range(50):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.array_equal(
                     out[k][:, max(0, dy):6 + min(0, dy), max(0, dx):6 + min(0, dx)],
                     x[k][:, max(0, -dy):6 + min(0, -dy), max(0, -dx):6 + min(0, -dx)])]
        assert found, f"image {k} is not a shifted copy"
        shifts.add(found[0])
    assert len(shifts) > 5


def test_flip_and_normalize(rng: np.random.Generator) -> None:
    x = rng.normal(size=(200, 3, 4, 5)).astype(np.float32)
    out = T.RandomHorizontalFlip(generator=1)(x)
    flipped = np.array([np.array_equal(o, a[..., ::-1]) for o, a in zip(out, x)])
    kept = np.array([np.array_equal(o, a) for o, a in zip(out, x)])
    assert np.all(flipped | kept) and 60 < flipped.sum() < 140
    norm = T.Normalize([1.0, 2.0, 3.0], [2.0, 2.0, 4.0])(x)
    np.testing.assert_allclose(norm[:, 2], (x[:, 2] - 3.0) / 4.0, rtol=1e-6)
    with pytest.raises(ValueError, match="std > 0"):
        T.Normalize([0.0], [0.0])


def test_flattened_channels_last_batches_keep_their_layout(rng: np.random.Generator) -> None:
    images = rng.normal(size=(3, 4, 4, 3)).astype(np.float32)  # (N, H, W, C)
    flip = T.RandomHorizontalFlip(p=1.0, image_shape=(3, 4, 4), channels_last=True)
    out = flip(images.reshape(3, -1))
    np.testing.assert_array_equal(out.reshape(3, 4, 4, 3), images[:, :, ::-1, :])
    with pytest.raises(ValueError, match=r"flattened images \(N, 48\)"):
        flip(np.zeros((3, 47), dtype=np.float32))


def test_augmentation_works_in_pixel_space() -> None:
    mean, scale = np.full(16, 0.5), np.full(16, 0.25)
    aug = T.augmentation("crop,flip", (4, 4), mean, scale, seed=0)
    raw = np.ones((20, 16), dtype=np.float32)  # white images: a crop brings black edges in
    out = aug(((raw - 0.5) / 0.25).astype(np.float32))
    values = set(np.round(out.ravel(), 4).tolist())
    assert values <= {2.0, -2.0} and -2.0 in values  # white (1) and black (0), standardized
    assert T.augmentation("", (4, 4)) is None
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        T.augmentation("crop,rotate", (4, 4))


def test_fit_applies_the_transform_to_training_batches_only(rng: np.random.Generator) -> None:
    seen = []

    def spy(xb: np.ndarray) -> np.ndarray:
        seen.append(xb.shape[0])
        return xb

    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    model = nn.Linear(4, 2)
    gn.training.fit(model, gn.losses.softmax_log_likelihood,
                    gn.optim.SGD(model.parameters(), lr=0.1), (X, y), (X[:10], y[:10]),
                    epochs=2, batch_size=16, verbose=0, transform=spy)
    assert seen == [16, 16, 8, 16, 16, 8]
