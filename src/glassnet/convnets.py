"""Convolutional networks for images: ``LeNet`` and a small VGG-style ``ConvNet``.

Both read a batch of images (N, C, H, W), or of flattened images (N, C H W) as
``glassnet train`` hands them (the pixels standardized one by one), or of images stored
height x width x channels (CIFAR-10's (N, 32, 32, 3) with ``channels_last=True``), and
return class scores (N, num_classes). Both are ``features`` (convolutions and pooling)
then ``classifier`` (fully connected layers): the same attribute names and state-dict
keys (``features.0.weight``, ...) as the torch twin written with two ``Sequential``s.

Exported from ``glassnet.models``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from glassnet import nn
from glassnet.random import get_generator
from glassnet.tensor import Tensor

__all__ = ["ConvNet", "LeNet", "image_layout"]


def image_layout(input_shape: Sequence[int] | None, what: str = "a CNN") -> tuple[int, int, bool]:
    """(channels, size, channels_last) of square images of shape (H, W), (C, H, W) or
    (H, W, C) with C in 1..4 (the last axis taken for channels when it is that small)."""
    shape = tuple(int(v) for v in input_shape) if input_shape is not None else ()
    if len(shape) == 2 and shape[0] == shape[1]:
        return 1, shape[0], False
    if len(shape) == 3 and shape[2] <= 4 and shape[0] == shape[1]:
        return shape[2], shape[0], True
    if len(shape) == 3 and shape[1] == shape[2]:
        return shape[0], shape[1], False
    raise ValueError(f"{what} needs square images, (H, W), (C, H, W) or (H, W, C); this "
                     f"dataset's samples have shape {shape or 'unknown'}")


def _check_image(in_channels: int, image_size: int) -> None:
    for name, v in (("in_channels", in_channels), ("image_size", image_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")


class _ImageModel(nn.Module):
    """Reshapes the input to (N, C, H, W), then ``features`` and ``classifier``."""

    in_channels: int
    image_size: int
    channels_last: bool

    @property
    def in_features(self) -> int:
        """C H W: the length of a flattened input image."""
        return self.in_channels * self.image_size ** 2

    def image(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        C, S = self.in_channels, self.image_size
        if self.channels_last:
            if x.ndim == 2 or x.shape[1:] == (S, S, C) or x.shape[1:] == (S, S):
                return x.reshape(-1, S, S, C).transpose((0, 3, 1, 2))
        elif x.ndim == 2 or x.shape[1:] in ((C, S, S), (S, S)):
            return x.reshape(-1, C, S, S)
        raise ValueError(
            f"{type(self).__name__} expects images (N, {C}, {S}, {S}) "
            f"{'stored channels last ' if self.channels_last else ''}or their flattened "
            f"(N, {C * S * S}), got {x.shape}"
        )

    def forward(self, x: Any) -> Tensor:
        x = self.image(x)
        if x.shape[0] and x.size // x.shape[0] != self.in_channels * self.image_size ** 2:
            raise ValueError(f"{type(self).__name__}: input of shape {x.shape} is not a batch "
                             "of images of the model's size")
        return self.classifier(self.features(x))


class LeNet(_ImageModel):
    """LeCun's LeNet-5 with ReLU and max pooling: two convolutions, three linear layers.

    features: Conv2d(C, 6, 5, padding=2) ReLU MaxPool2d(2) Conv2d(6, 16, 5) ReLU
    MaxPool2d(2); classifier: Flatten Linear(16 s s, 120) ReLU Linear(120, 84) ReLU
    Linear(84, num_classes), with s = (image_size / 2 - 4) / 2 (5 for 28 x 28 images).
    61,706 parameters for Fashion-MNIST.

    >>> import glassnet as gn
    >>> gn.models.LeNet().num_parameters()
    61706
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
                 channels_last: bool = False, generator: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_image(in_channels, image_size)
        s = (image_size // 2 - 4) // 2
        if s < 1:
            raise ValueError(f"LeNet needs images of at least 12 x 12, got image_size={image_size}")
        self.num_classes, self.in_channels, self.image_size = num_classes, in_channels, image_size
        self.channels_last = bool(channels_last)
        g = get_generator(generator)
        kw = {"generator": g, "dtype": dtype}
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2, **kw), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, **kw), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * s * s, 120, **kw), nn.ReLU(),
            nn.Linear(120, 84, **kw), nn.ReLU(), nn.Linear(84, num_classes, **kw),
        )

    def get_config(self) -> dict[str, Any]:
        return self._config(num_classes=self.num_classes, in_channels=self.in_channels,
                            image_size=self.image_size, channels_last=self.channels_last,
                            dtype=self.classifier[1].weight.dtype)


class ConvNet(_ImageModel):
    """A small VGG-style network: blocks of 3x3 convolution, ReLU and 2x2 max pooling.

    features: for each width c in ``channels``: Conv2d(previous, c, 3, padding=1)
    [BatchNorm2d(c)] ReLU MaxPool2d(2), each block halving the image; classifier:
    Flatten Linear(c_last s s, hidden) ReLU [Dropout(dropout)] Linear(hidden,
    num_classes), s = image_size / 2^len(channels). With ``batch_norm`` the convolutions
    have no bias (the normalisation's shift replaces it).

    ``glassnet train --model cnn`` trains ``ConvNet((16, 32))``, ``--model convnet``
    ``ConvNet((32, 64))``, whose two convolutions on 28 x 28 images are
    (N, 1, 28, 28) -> 32 channels and (N, 32, 14, 14) -> 64 channels.

    >>> import glassnet as gn
    >>> gn.models.ConvNet((8, 16), hidden=32).num_parameters()
    26698
    """

    def __init__(self, channels: Sequence[int] = (32, 64), num_classes: int = 10,
                 in_channels: int = 1, image_size: int = 28, hidden: int = 128,
                 batch_norm: bool = False, dropout: float = 0.0, channels_last: bool = False,
                 generator: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_image(in_channels, image_size)
        channels = [int(c) for c in channels]
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be a non-empty list of positive ints, got {channels}")
        s = image_size >> len(channels)
        if s < 1:
            raise ValueError(f"{len(channels)} pooling blocks halve image_size={image_size} "
                             "to nothing; use fewer blocks or larger images")
        self.channels, self.num_classes, self.hidden = channels, num_classes, hidden
        self.in_channels, self.image_size = in_channels, image_size
        self.batch_norm, self.dropout = bool(batch_norm), float(dropout)
        self.channels_last = bool(channels_last)
        g = get_generator(generator)
        kw = {"generator": g, "dtype": dtype}
        layers: list[nn.Module] = []
        prev = in_channels
        for c in channels:
            layers.append(nn.Conv2d(prev, c, 3, padding=1, bias=not batch_norm, **kw))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c, dtype=dtype))
            layers += [nn.ReLU(), nn.MaxPool2d(2)]
            prev = c
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(prev * s * s, hidden, **kw), nn.ReLU()]
        if dropout > 0:
            head.append(nn.Dropout(dropout, generator=g))
        head.append(nn.Linear(hidden, num_classes, **kw))
        self.classifier = nn.Sequential(*head)

    def get_config(self) -> dict[str, Any]:
        return self._config(channels=list(self.channels), num_classes=self.num_classes,
                            in_channels=self.in_channels, image_size=self.image_size,
                            hidden=self.hidden, batch_norm=self.batch_norm,
                            dropout=self.dropout, channels_last=self.channels_last,
                            dtype=self.classifier[1].weight.dtype)
