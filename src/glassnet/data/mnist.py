"""MNIST and Fashion-MNIST: find the IDX files locally, else download and verify them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glassnet.data._checks import check_split
from glassnet.data.download import download_file
from glassnet.data.errors import DatasetError, DatasetNotFoundError
from glassnet.data.idx import read_idx
from glassnet.data.paths import describe_search, download_dir, search_dirs
from glassnet.data.sources import FASHION_MNIST, MNIST, DatasetSource, mirror_urls

_PREFIX = {"train": "train", "test": "t10k"}
_KINDS = {"images": "idx3", "labels": "idx1"}
_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
"""Fashion-MNIST's class names, by label."""


def file_names(split: str, kind: str) -> list[str]:
    """Accepted names of one file, preferred first, e.g. for ("train", "images"):
    ``train-images-idx3-ubyte``, ``train-images-idx3-ubyte.gz``, ``train-images.idx3-ubyte``,
    ``train-images.idx3-ubyte.gz`` (the dotted form is how some archives unpack)."""
    prefix, idx = _PREFIX[check_split(split)], _KINDS[kind]
    stems = [f"{prefix}-{kind}-{idx}-ubyte", f"{prefix}-{kind}.{idx}-ubyte"]
    return [stem + ext for stem in stems for ext in ("", ".gz")]


def find_idx_pair(directory: Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of ``split`` in ``directory``, or None unless both exist."""
    pair = []
    for kind in ("images", "labels"):
        hit = next((directory / n for n in file_names(split, kind) if (directory / n).is_file()),
                   None)
        if hit is None:
            return None
        pair.append(hit)
    return pair[0], pair[1]


def locate_mnist(
    split: str = "train", root: str | os.PathLike | None = None, *, fashion: bool = False
) -> tuple[Path, Path] | None:
    """Where ``load_mnist`` (or, with ``fashion=True``, ``load_fashion_mnist``) would read
    ``split`` from, without reading or downloading anything; None if not found locally."""
    source = FASHION_MNIST if fashion else MNIST
    for directory, _ in search_dirs(source.folder, root):
        pair = find_idx_pair(directory, split)
        if pair is not None:
            return pair
    return None


def load_mnist(
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28.

    Parameters
    ----------
    split : {"train", "test"}
    root : str or os.PathLike, optional
        A folder holding the files (directly or in a ``mnist/`` subfolder); searched
        first, and the download target when given.
    download : bool
        Download the files when they are not found locally (SHA-256 checked, atomic).
    mirrors : sequence of str, optional
        Base URLs to download from instead of ``$GLASSNET_MIRROR`` or the defaults.
    progress : bool or None
        Progress bar for downloads; None: only on a terminal with tqdm installed.

    Returns
    -------
    images : numpy.ndarray
        (N, 28, 28) uint8, 0 = background.
    labels : numpy.ndarray
        (N,) int64 in 0..9.

    Raises
    ------
    ValueError
        For a bad ``split``.
    DatasetNotFoundError
        When ``download=False`` and the files are nowhere; the message lists every folder
        searched and how to get the data.
    DatasetError
        For a damaged file, images and labels of different counts, a label outside 0..9,
        or a failed download.

    Notes
    -----
    Search order and file names: see ``glassnet.data.paths`` and ``docs/datasets.md``.
    Both ``.gz`` and uncompressed files are read.
    """
    return _load_idx_dataset(MNIST, split, root, download, mirrors, progress)


def load_fashion_mnist(
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Zalando's Fashion-MNIST: 60,000 + 10,000 clothing images, 28x28, 10 classes.

    The same interface, file names and return values as :func:`load_mnist` (class names:
    ``FASHION_MNIST_CLASSES``). Besides ``root``, ``$GLASSNET_DATA`` and the user cache,
    it also looks in ``/usr/share/datasets/fashion-mnist``, where Debian's
    ``dataset-fashion-mnist`` package installs the four files, and uses ``fashion-mnist/``
    as the subfolder name.
    """
    return _load_idx_dataset(FASHION_MNIST, split, root, download, mirrors, progress)


def _load_idx_dataset(
    source: DatasetSource,
    split: str,
    root: str | os.PathLike | None,
    download: bool,
    mirrors: Sequence[str] | None,
    progress: bool | None,
) -> tuple[np.ndarray, np.ndarray]:
    split = check_split(split)
    title = _TITLES[source.name]
    dirs = search_dirs(source.folder, root)
    pair = next((p for p in (find_idx_pair(d, split) for d, _ in dirs) if p is not None), None)
    if pair is None and download:
        pair = _download_pair(source, split, root, mirrors, progress)
    if pair is None:
        raise DatasetNotFoundError(_not_found_message(source, title, split, dirs, root))
    images_path, labels_path = pair
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(
            f"{images_path}: expected {title} images of shape (N, 28, 28) uint8, "
            f"got {images.shape} {images.dtype}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetError(
            f"{labels_path}: expected {title} labels of shape (N,) uint8, "
            f"got {labels.shape} {labels.dtype}"
        )
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels"
        )
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DatasetError(
            f"{labels_path}: label {labels[bad]} at index {bad} is outside 0..9"
        )
    return images, labels.astype(np.int64)


def _download_pair(
    source: DatasetSource,
    split: str,
    root: str | os.PathLike | None,
    mirrors: Sequence[str] | None,
    progress: bool | None,
) -> tuple[Path, Path] | None:
    dest = download_dir(source.folder, root)
    bases = mirror_urls(source, mirrors)
    for kind in ("images", "labels"):
        if any((dest / n).is_file() for n in file_names(split, kind)):
            continue
        remote = source.files[file_names(split, kind)[1]]
        download_file(
            [base + remote.name for base in bases],
            dest / remote.name,
            sha256=remote.sha256,
            size=remote.size,
            progress=progress,
        )
    return find_idx_pair(dest, split)


def _not_found_message(
    source: DatasetSource,
    title: str,
    split: str,
    dirs: list[tuple[Path, str]],
    root: str | os.PathLike | None,
) -> str:
    images, labels = file_names(split, "images"), file_names(split, "labels")
    where = describe_search(dirs)
    loader = "load_fashion_mnist" if source is FASHION_MNIST else "load_mnist"
    hints = [
        f"allow the download ({loader}(..., download=True); on the command line, leave "
        f"out --no-download) to fetch it into {download_dir(source.folder, root)}",
        f"or copy {images[1]} and {labels[1]} (or the uncompressed files) into one of the "
        f"folders above, e.g. $GLASSNET_DATA/{source.folder}/",
    ]
    if source is FASHION_MNIST:
        hints.append("or install Debian's package: sudo apt-get install dataset-fashion-mnist")
    return (
        f"{title} ({split} split) not found: looked for {images[1]} and {labels[1]} "
        f"(also uncompressed) in:\n{where}\nTo get it: " + "; ".join(hints)
        + " (see docs/datasets.md)"
    )
