"""Every dataset by name: one entry point for tools such as the ``glassnet`` command."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from glassnet.data._checks import check_split
from glassnet.data.cifar import load_cifar10, locate_cifar10
from glassnet.data.digits import load_digits
from glassnet.data.mnist import load_fashion_mnist, load_mnist, locate_mnist

_LOADERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
}

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
"""Names accepted by :func:`load_dataset` (image classification, 10 classes each)."""


def load_dataset(
    name: str,
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    **kwargs: object,
) -> tuple[np.ndarray, np.ndarray]:
    """Load ``split`` of a dataset by name: ``(images, labels)``.

    ``name`` is one of ``DATASETS``. "digits" ignores ``root`` and ``download`` (the data
    ship with scikit-learn) and uses its fixed stratified split; the others forward every
    argument to :func:`load_mnist`, :func:`load_fashion_mnist` or :func:`load_cifar10`.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    split = check_split(split)
    if name == "digits":
        return load_digits(split)
    return _LOADERS[name](split, root=root, download=download, **kwargs)


def locate_dataset(
    name: str, split: str = "train", root: str | os.PathLike | None = None
) -> Path | tuple[Path, Path] | None:
    """Where ``load_dataset(name, split, root)`` would read from, without reading or
    downloading: the (images, labels) files for MNIST-like sets, a folder or the archive
    for CIFAR-10, the scikit-learn data folder for digits; None if not available locally."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    split = check_split(split)
    if name == "digits":
        try:
            import sklearn.datasets
        except ImportError:
            return None
        return Path(sklearn.datasets.__file__).parent / "data"
    if name == "cifar10":
        return locate_cifar10(split, root)
    return locate_mnist(split, root, fashion=name == "fashion-mnist")
