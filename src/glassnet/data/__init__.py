"""glassnet.data: datasets, toy problems, splitting, standardization and minibatches.

Real data (NumPy and the standard library only; nothing is ever unpickled):

- :func:`load_digits` -- scikit-learn's bundled 8x8 digits, the default offline data;
- :func:`load_mnist`, :func:`load_fashion_mnist` -- IDX files found locally (``root``,
  ``$GLASSNET_DATA``, ``~/.cache/glassnet``, and for Fashion-MNIST
  ``/usr/share/datasets/fashion-mnist``) or downloaded with SHA-256 checks;
- :func:`load_cifar10` -- the CIFAR-10 binary distribution, from ``.bin`` files or
  straight from ``cifar-10-binary.tar.gz``;
- :func:`read_idx` / :func:`write_idx`, :func:`read_cifar10_batch` -- strict readers that
  raise :class:`DatasetError` naming the file and the fault.

Toy sets: :func:`lecture_points`, :func:`noisy_curve`, :func:`two_circles`,
:func:`two_moons`, :func:`xor`, :func:`spirals`, :func:`gaussian_blobs`.

Utilities: :func:`train_test_split`, :class:`Standardizer`, :func:`one_hot`,
:class:`BatchIterator` / :func:`batches`.

See ``docs/datasets.md`` for the search order, file layouts and checksums.
"""

from glassnet.data.batching import BatchIterator, RowGatherer, batches
from glassnet.data.catalog import DATASETS, load_dataset, locate_dataset
from glassnet.data.cifar import (
    CIFAR10_CLASSES,
    load_cifar10,
    locate_cifar10,
    read_cifar10_archive,
    read_cifar10_batch,
)
from glassnet.data.digits import load_digits
from glassnet.data.download import download_file
from glassnet.data.errors import DatasetError, DatasetNotFoundError, DownloadError
from glassnet.data.idx import read_idx, write_idx
from glassnet.data.mnist import (
    FASHION_MNIST_CLASSES,
    load_fashion_mnist,
    load_mnist,
    locate_mnist,
)
from glassnet.data.paths import cache_dir, search_dirs
from glassnet.data.preprocessing import Standardizer, one_hot, train_test_split
from glassnet.data.toy import (
    TOY_DATASETS,
    gaussian_blobs,
    lecture_points,
    noisy_curve,
    smooth_curve,
    spirals,
    two_circles,
    two_moons,
    xor,
)

__all__ = [
    "CIFAR10_CLASSES", "DATASETS", "FASHION_MNIST_CLASSES", "TOY_DATASETS", "BatchIterator",
    "DatasetError", "DatasetNotFoundError", "DownloadError", "RowGatherer", "Standardizer",
    "batches", "cache_dir", "download_file", "gaussian_blobs", "lecture_points", "load_cifar10",
    "load_dataset", "load_digits", "load_fashion_mnist", "load_mnist", "locate_cifar10",
    "locate_dataset", "locate_mnist", "noisy_curve", "one_hot", "read_cifar10_archive",
    "read_cifar10_batch", "read_idx", "search_dirs", "smooth_curve", "spirals",
    "train_test_split", "two_circles", "two_moons", "write_idx", "xor",
]
