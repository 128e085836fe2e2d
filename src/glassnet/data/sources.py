"""Where the real datasets come from: mirrors, file names, sizes and SHA-256 checksums.

Every downloaded file is checked against the SHA-256 below before it gets its final
name. Where each checksum comes from is documented in ``docs/datasets.md``.

The mirror lists are module-level and may be edited; the environment variable
``GLASSNET_MIRROR`` (one or more base URLs, separated by spaces or commas) replaces them
for every dataset: a file is then fetched from ``<base>/<folder>/<file>``, e.g.
``http://127.0.0.1:8000/mnist/train-images-idx3-ubyte.gz``, which is the layout of the
glassnet cache, so a copy of a cache folder served over HTTP is a complete mirror.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its name, size in bytes and SHA-256 (lower-case hex)."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DatasetSource:
    """A downloadable dataset: its cache folder name, files and the list of mirrors."""

    name: str
    folder: str
    files: dict[str, RemoteFile]
    mirrors: list[str]


MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]
FASHION_MNIST_MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
]
CIFAR10_MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]


def _files(*entries: tuple[str, int, str]) -> dict[str, RemoteFile]:
    return {name: RemoteFile(name, size, sha) for name, size, sha in entries}


MNIST = DatasetSource(
    "mnist",
    "mnist",
    _files(
        ("train-images-idx3-ubyte.gz", 9912422,
         "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        ("train-labels-idx1-ubyte.gz", 28881,
         "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        ("t10k-images-idx3-ubyte.gz", 1648877,
         "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        ("t10k-labels-idx1-ubyte.gz", 4542,
         "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    ),
    MNIST_MIRRORS,
)

FASHION_MNIST = DatasetSource(
    "fashion-mnist",
    "fashion-mnist",
    _files(
        ("train-images-idx3-ubyte.gz", 26421880,
         "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc"),
        ("train-labels-idx1-ubyte.gz", 29515,
         "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc"),
        ("t10k-images-idx3-ubyte.gz", 4422102,
         "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229"),
        ("t10k-labels-idx1-ubyte.gz", 5148,
         "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf"),
    ),
    FASHION_MNIST_MIRRORS,
)

CIFAR10 = DatasetSource(
    "cifar10",
    "cifar-10",
    _files(
        ("cifar-10-binary.tar.gz", 170052171,
         "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
    ),
    CIFAR10_MIRRORS,
)

SOURCES = {source.name: source for source in (MNIST, FASHION_MNIST, CIFAR10)}


def mirror_urls(source: DatasetSource, mirrors: list[str] | tuple[str, ...] | None) -> list[str]:
    """The base URLs to try, in order: ``mirrors`` if given, else ``$GLASSNET_MIRROR``
    (each base + the dataset's folder), else the dataset's default list."""
    if mirrors is not None:
        if isinstance(mirrors, str):
            mirrors = [mirrors]
        bases = list(mirrors)
        if not bases:
            raise ValueError("mirrors must name at least one base URL, got an empty list")
        for base in bases:
            if not isinstance(base, str) or not re.match(r"^(https?|file)://", base):
                raise ValueError(f"mirror {base!r} is not an http(s):// or file:// URL")
        return [_slash(base) for base in bases]
    env = os.environ.get("GLASSNET_MIRROR", "").strip()
    if env:
        return [_slash(base) + source.folder + "/" for base in re.split(r"[\s,]+", env) if base]
    return [_slash(base) for base in source.mirrors]


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
