"""Minibatches: one permutation per epoch, one gather per array per batch."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from glassnet.data._checks import as_generator, check_int


class BatchIterator:
    """Iterate over aligned arrays in minibatches; each ``iter()`` is one epoch.

    Parameters
    ----------
    *arrays : array_like
        One or more arrays with the same length N along axis 0 (e.g. X and y).
    batch_size : int
        Rows per batch (the last batch may be smaller unless ``drop_last``).
    shuffle : bool
        Draw a fresh permutation from ``rng`` at the start of every epoch.
    rng : numpy.random.Generator, int or None
        The source of the permutations; pass a Generator to control and checkpoint it
        (its state advances by one ``permutation(N)`` per epoch). None: fresh OS entropy.
    drop_last : bool
        Skip the final incomplete batch (so every batch has exactly ``batch_size`` rows).

    Yields
    ------
    numpy.ndarray or tuple of numpy.ndarray
        The batch of each array, in the order given; a single array when one was given.

    Notes
    -----
    Without shuffling, batches are slices: views of the input, no copy. With shuffling,
    each batch is one ``ndarray.take`` per array of a contiguous slice of the epoch's
    permutation: a fresh array the caller may keep or modify. (Gathering into reused
    preallocated buffers was measured to be no faster for batches below a few thousand
    rows, and it would make every yielded batch change under the caller's feet.)

    Equivalent: ``torch.utils.data.DataLoader(TensorDataset(*arrays), batch_size,
    shuffle, drop_last=drop_last)`` with the default collation.

    Examples
    --------
    >>> X, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> [yb.tolist() for _, yb in BatchIterator(X, y, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> len(BatchIterator(X, y, batch_size=2, drop_last=True))
    2
    """

    def __init__(
        self,
        *arrays: np.ndarray,
        batch_size: int = 32,
        shuffle: bool = False,
        rng: np.random.Generator | int | None = None,
        drop_last: bool = False,
    ) -> None:
        if not arrays:
            raise TypeError("BatchIterator needs at least one array")
        self.arrays = tuple(np.asarray(a) for a in arrays)
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(f"array {i} is 0-d; batches are taken along axis 0")
        lengths = [len(a) for a in self.arrays]
        if any(length != lengths[0] for length in lengths):
            raise ValueError(f"arrays must have the same length along axis 0, got {lengths}")
        self.n = lengths[0]
        self.batch_size = check_int(batch_size, "batch_size")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be a bool, got {shuffle!r}")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise TypeError(f"drop_last must be a bool, got {drop_last!r}")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = as_generator(rng) if self.shuffle else None

    def __len__(self) -> int:
        """Batches per epoch."""
        if self.drop_last:
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    def __iter__(self) -> Iterator[np.ndarray | tuple[np.ndarray, ...]]:
        order = self.rng.permutation(self.n) if self.rng is not None else None
        single = len(self.arrays) == 1
        stop_at = len(self) * self.batch_size
        for start in range(0, min(stop_at, self.n), self.batch_size):
            stop = min(start + self.batch_size, self.n)
            if order is None:
                batch = tuple(a[start:stop] for a in self.arrays)
            else:
                index = order[start:stop]
                batch = tuple(a.take(index, axis=0) for a in self.arrays)
            yield batch[0] if single else batch

    def __repr__(self) -> str:
        return (
            f"BatchIterator(n={self.n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, batches={len(self)})"
        )


def batches(
    X: np.ndarray,
    y: np.ndarray | None = None,
    batch_size: int = 32,
    shuffle: bool = False,
    rng: np.random.Generator | int | None = None,
    drop_last: bool = False,
) -> Iterator[np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """One epoch of minibatches of ``X`` (and ``y``): ``(X_batch, y_batch)`` or ``X_batch``.

    A shortcut for ``iter(BatchIterator(X, y, batch_size=..., ...))``; see
    :class:`BatchIterator` for the parameters. Arguments are checked at the call, not at
    the first ``next()``.

    Examples
    --------
    >>> [b.tolist() for b in batches(np.arange(5), batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """
    arrays = (X,) if y is None else (X, y)
    return iter(
        BatchIterator(*arrays, batch_size=batch_size, shuffle=shuffle, rng=rng,
                      drop_last=drop_last)
    )
