"""Real data: Fashion-MNIST from Debian's dataset-fashion-mnist, and the bundled digits.

The Fashion-MNIST files are required: CI installs the package (``apt-get install
dataset-fashion-mnist``). Where it is absent these tests FAIL with instructions rather
than skip silently; a developer who cannot install it may set GLASSNET_SKIP_REAL_DATA=1,
which turns them into skips that pytest's ``-ra`` summary lists with the reason.

Expected values are facts about the published data, not outputs of glassnet: 6,000
training and 1,000 test images per class, the first labels of each split (9, 0, 0, 3,
... and 9, 2, 1, 1, ...), and the mean pixel intensity 0.2860 (of [0, 1]) used
everywhere to normalize Fashion-MNIST. An independent minimal reader (gzip + frombuffer)
cross-checks the arrays.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from glassnet.data import (
    FASHION_MNIST_CLASSES,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    locate_dataset,
)

SYSTEM = Path("/usr/share/datasets/fashion-mnist")
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.fixture
def system_fashion_mnist(tmp_path, monkeypatch):
    """The Debian files, found through the real search path (no cache, no $GLASSNET_DATA)."""
    missing = [name for name in FILES if not (SYSTEM / name).is_file()]
    if missing:
        message = (
            f"Fashion-MNIST is not installed: {SYSTEM} lacks {', '.join(missing)}. "
            "Install it with `sudo apt-get install dataset-fashion-mnist` (CI does), or set "
            "GLASSNET_SKIP_REAL_DATA=1 to skip these tests knowingly."
        )
        if os.environ.get("GLASSNET_SKIP_REAL_DATA") == "1":
            pytest.skip(message)
        pytest.fail(message)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.delenv("GLASSNET_MIRROR", raising=False)
    return SYSTEM


def simple_idx(path: Path, header: int) -> np.ndarray:
    """A deliberately minimal reader, as an oracle: skip the header, take the bytes."""
    return np.frombuffer(gzip.decompress(path.read_bytes())[header:], dtype=np.uint8)


@pytest.mark.parametrize(
    "split, prefix, count, first_labels",
    [
        ("train", "train", 60000, [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]),
        ("test", "t10k", 10000, [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]),
    ],
)
def test_fashion_mnist_from_the_debian_package(system_fashion_mnist, split, prefix, count,
                                               first_labels):
    images, labels = load_fashion_mnist(split, download=False)
    assert images.shape == (count, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (count,) and labels.dtype == np.int64
    assert labels[:10].tolist() == first_labels
    assert np.bincount(labels, minlength=10).tolist() == [count // 10] * 10
    assert images.mean() / 255 == pytest.approx(0.2860, abs=0.001)
    np.testing.assert_array_equal(
        images.reshape(-1), simple_idx(system_fashion_mnist / f"{prefix}-images-idx3-ubyte.gz", 16)
    )
    np.testing.assert_array_equal(
        labels, simple_idx(system_fashion_mnist / f"{prefix}-labels-idx1-ubyte.gz", 8)
    )


def test_fashion_mnist_is_located_in_the_system_folder(system_fashion_mnist):
    images, labels = locate_dataset("fashion-mnist", "test")
    assert images == system_fashion_mnist / "t10k-images-idx3-ubyte.gz"
    assert labels == system_fashion_mnist / "t10k-labels-idx1-ubyte.gz"
    assert len(FASHION_MNIST_CLASSES) == 10 and FASHION_MNIST_CLASSES[9] == "Ankle boot"


# ---------------------------------------------------------------- digits (scikit-learn)


def test_digits_all():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(np.unique(images * 16), np.arange(17))  # 0..16 ink counts
    assert labels[:10].tolist() == list(range(10))
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_fixed_stratified_split():
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    assert len(y_train) + len(y_test) == 1797 and len(y_test) == 450
    assert np.abs(np.bincount(y_test) - np.bincount(y_train) / 3).max() < 2
    again_x, again_y = load_digits("test")
    np.testing.assert_array_equal(again_x, x_test)  # the same split every time
    all_images = load_digits()[0].reshape(1797, -1)
    rows = {row.tobytes() for row in all_images}
    assert all(row.tobytes() in rows for row in x_test.reshape(450, -1))
    train_rows = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    test_rows = {row.tobytes() for row in x_test.reshape(450, -1)}
    assert not train_rows & test_rows  # no test image is also a training image
    other = load_digits("test", seed=1)[1]
    assert not np.array_equal(other, y_test)


def test_digits_through_load_dataset():
    images, labels = load_dataset("digits", "train")
    assert images.shape == (1347, 8, 8) and labels.dtype == np.int64


def test_digits_validation():
    with pytest.raises(ValueError, match="split"):
        load_digits("validation")
    with pytest.raises(ValueError, match="test_size"):
        load_digits("test", test_size=-0.5)


def test_digits_without_scikit_learn(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install glassnet\[data\]"):
        load_digits()


def test_load_dataset_validation():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="split"):
        load_dataset("mnist", "dev")
