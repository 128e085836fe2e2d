"""scikit-learn's bundled 8x8 handwritten digits: glassnet's default, always-offline data."""

from __future__ import annotations

import numpy as np

from glassnet.data._checks import check_float, check_int
from glassnet.data.preprocessing import train_test_split

DIGITS_SPLIT_SEED = 0
"""Seed of the fixed, stratified train/test split of ``load_digits(split=...)``."""


def load_digits(
    split: str | None = None, *, test_size: float = 0.25, seed: int = DIGITS_SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digit images bundled with scikit-learn (UCI optical digits).

    Parameters
    ----------
    split : {None, "train", "test"}
        None returns all 1,797 images in scikit-learn's order. "train" / "test" return
        the two parts of a fixed stratified split (``test_size`` of the images in the
        test part, drawn with ``numpy.random.default_rng(seed)``), so every run and
        every tool that says "digits test set" means the same 450 images.
    test_size : float
        Fraction of the images in the test part (0 < test_size < 1).
    seed : int
        Seed of the split.

    Returns
    -------
    images : numpy.ndarray
        (N, 8, 8) float32 in [0, 1]: scikit-learn's 0..16 ink counts divided by 16.
    labels : numpy.ndarray
        (N,) int64 in 0..9.

    Raises
    ------
    ImportError
        When scikit-learn is missing: ``pip install glassnet[data]``.
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}")
    test_size = check_float(test_size, "test_size")
    check_int(seed, "seed", minimum=0)
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as e:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits: "
            "pip install glassnet[data]"
        ) from e
    bunch = sklearn_load_digits()
    images = (np.asarray(bunch.images, dtype=np.float64) / 16.0).astype(np.float32)
    labels = np.asarray(bunch.target, dtype=np.int64)
    if split is None:
        return images, labels
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, rng=np.random.default_rng(seed), stratify=labels
    )
    return (x_train, y_train) if split == "train" else (x_test, y_test)
