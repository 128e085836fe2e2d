"""Data augmentation for image batches: random crop with padding, horizontal flip,
normalisation; vectorised over the batch, one call per minibatch.

Every transform maps a batch of images (N, C, H, W) to a new batch of the same shape
(a fresh array; the input is never modified), or, given ``image_shape=(C, H, W)``,
a batch of flattened images (N, C H W) to flattened images (what ``glassnet train``
feeds its models; with ``channels_last=True`` the flattened images are H x W x C, as
CIFAR-10's). ``Compose`` chains them; ``fit(..., transform=...)`` applies one to every
training batch, so each epoch sees new random versions of the images.

>>> import numpy as np
>>> t = Compose([RandomCrop(28, padding=4), RandomHorizontalFlip()], generator=0)
>>> t(np.zeros((8, 1, 28, 28), dtype=np.float32)).shape
(8, 1, 28, 28)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from glassnet.random import get_generator

__all__ = [
    "AUGMENTATIONS", "Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip", "as_images",
    "augmentation",
]


def as_images(x: np.ndarray, image_shape: Sequence[int] | None = None,
              channels_last: bool = False) -> tuple[np.ndarray, Any]:
    """(N, C, H, W) images and a function that gives an image batch the input's layout."""
    x = np.asarray(x)
    if image_shape is None:
        if x.ndim != 4:
            raise ValueError(f"transforms expect images (N, C, H, W), got shape {x.shape}; "
                             "pass image_shape=(C, H, W) for flattened images")
        return x, lambda y: y
    C, H, W = (int(v) for v in image_shape)
    if x.ndim != 2 or x.shape[1] != C * H * W:
        raise ValueError(f"expected flattened images (N, {C * H * W}) of shape {(C, H, W)}, "
                         f"got {x.shape}")
    if channels_last:
        return (x.reshape(-1, H, W, C).transpose(0, 3, 1, 2),
                lambda y: np.ascontiguousarray(y.transpose(0, 2, 3, 1)).reshape(x.shape))
    return x.reshape(-1, C, H, W), lambda y: y.reshape(x.shape)


class _Transform:
    """A batch transform; ``apply`` works on (N, C, H, W) images."""

    def __init__(self, generator: Any = None, image_shape: Sequence[int] | None = None,
                 channels_last: bool = False) -> None:
        self.generator = get_generator(generator) if generator is not None else None
        self.image_shape = None if image_shape is None else tuple(int(v) for v in image_shape)
        self.channels_last = bool(channels_last)

    def _rng(self) -> np.random.Generator:
        return self.generator if self.generator is not None else get_generator(None)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        images, back = as_images(x, self.image_shape, self.channels_last)
        return back(self.apply(images))

    def apply(self, images: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class RandomCrop(_Transform):
    """Pad each image by ``padding`` pixels of ``fill`` on every side, then cut a random
    ``size`` x ``size`` window (a random shift of up to ``padding`` pixels).

    Equivalent: ``torchvision.transforms.RandomCrop(size, padding, fill=fill)``, one
    independent offset per image.
    """

    def __init__(self, size: int | Sequence[int], padding: int = 0, fill: float = 0.0,
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be a non-negative int, got {padding!r}")
        self.padding, self.fill = padding, float(fill)

    def apply(self, images: np.ndarray) -> np.ndarray:
        N, C, H, W = images.shape
        p, (h, w) = self.padding, self.size
        if h > H + 2 * p or w > W + 2 * p:
            raise ValueError(f"RandomCrop: size {self.size} is larger than the padded images "
                             f"{(H + 2 * p, W + 2 * p)} of a batch of shape {images.shape}")
        padded = np.full((N, C, H + 2 * p, W + 2 * p), self.fill, dtype=images.dtype)
        padded[:, :, p:p + H, p:p + W] = images
        rng = self._rng()
        top = rng.integers(0, H + 2 * p - h + 1, N)
        left = rng.integers(0, W + 2 * p - w + 1, N)
        rows = top[:, None] + np.arange(h)  # (N, h)
        cols = left[:, None] + np.arange(w)  # (N, w)
        n = np.arange(N)[:, None, None, None]
        c = np.arange(C)[None, :, None, None]
        return padded[n, c, rows[:, None, :, None], cols[:, None, None, :]]


class RandomHorizontalFlip(_Transform):
    """Mirror each image left to right with probability ``p``.

    Equivalent: ``torchvision.transforms.RandomHorizontalFlip(p)``, one draw per image.
    """

    def __init__(self, p: float = 0.5, **kw: Any) -> None:
        super().__init__(**kw)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)

    def apply(self, images: np.ndarray) -> np.ndarray:
        out = images.copy()
        flip = self._rng().random(images.shape[0]) < self.p
        out[flip] = images[flip][..., ::-1]
        return out


class Normalize(_Transform):
    """Per channel: (x - mean[c]) / std[c].

    Equivalent: ``torchvision.transforms.Normalize(mean, std)``.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], **kw: Any) -> None:
        super().__init__(**kw)
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if self.mean.shape != self.std.shape or np.any(self.std <= 0):
            raise ValueError(f"Normalize: mean {self.mean.tolist()} and std {self.std.tolist()} "
                             "must have one entry per channel and std > 0")

    def apply(self, images: np.ndarray) -> np.ndarray:
        C = images.shape[1]
        if self.mean.size not in (1, C):
            raise ValueError(f"Normalize: {self.mean.size} channel statistics for images of "
                             f"shape {images.shape}")
        dtype = images.dtype if images.dtype.kind == "f" else np.dtype(np.float32)
        mean = self.mean.astype(dtype).reshape(-1, 1, 1)
        std = self.std.astype(dtype).reshape(-1, 1, 1)
        return (images.astype(dtype) - mean) / std


class Compose(_Transform):
    """Apply ``transforms`` in order (their own layouts are ignored: this one's counts).

    ``generator`` (if given) is handed to every transform without a generator of its own.
    """

    def __init__(self, transforms: Sequence[_Transform], **kw: Any) -> None:
        super().__init__(**kw)
        self.transforms = list(transforms)
        for t in self.transforms:
            if t.generator is None:
                t.generator = self.generator

    def apply(self, images: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            images = t.apply(images)
        return images


AUGMENTATIONS = ("crop", "flip")


def augmentation(spec: str, input_shape: Sequence[int], mean: Any = 0.0, scale: Any = 1.0,
                 seed: int | None = 0) -> Any:
    """The per-batch augmentation ``glassnet train --augment SPEC`` applies, or None.

    ``spec``: "", "crop", "flip" or "crop,flip". The batches are flattened images
    standardized pixel by pixel ((raw - mean) / scale); they are augmented in pixel
    space (crop pads with black: 2 pixels on images under 32 x 32, else 4) and
    standardized again.
    """
    from glassnet.convnets import image_layout

    names = [s.strip() for s in spec.split(",") if s.strip()]
    bad = [n for n in names if n not in AUGMENTATIONS]
    if bad:
        raise ValueError(f"unknown augmentation {bad[0]!r}; choose from "
                         f"{', '.join(AUGMENTATIONS)} (comma-separated)")
    if not names:
        return None
    C, S, last = image_layout(input_shape, "--augment")
    parts: list[_Transform] = []
    if "crop" in names:
        parts.append(RandomCrop(S, padding=4 if S >= 32 else 2))
    if "flip" in names:
        parts.append(RandomHorizontalFlip())
    chain = Compose(parts, generator=np.random.default_rng(seed), image_shape=(C, S, S),
                    channels_last=last)
    m = np.asarray(mean, dtype=np.float32)
    s = np.asarray(scale, dtype=np.float32)

    def apply(x: np.ndarray) -> np.ndarray:
        return ((chain(x * s + m) - m) / s).astype(np.float32, copy=False)

    return apply
