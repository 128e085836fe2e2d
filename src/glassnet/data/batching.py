"""Minibatches: one permutation per epoch, one gather per array per batch."""

from __future__ import annotations

import math
import sys
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
    each batch is a gather (``numpy.take``) of the rows named by a contiguous slice of the
    epoch's permutation, into an array the caller may keep or modify: the memory of an
    earlier batch is reused only once nothing refers to it any more (see
    :class:`RowGatherer`), which spares the allocator and the page faults of a fresh
    array per batch.

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
        self._gatherers = tuple(RowGatherer() for _ in self.arrays)

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
                batch = tuple(g.take(a, index) for g, a in zip(self._gatherers, self.arrays))
            yield batch[0] if single else batch

    def __repr__(self) -> str:
        return (
            f"BatchIterator(n={self.n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, batches={len(self)})"
        )


class RowGatherer:
    """``a.take(index, axis=0)`` into recycled memory: each call returns an array of its
    own, but reuses the memory of an array it returned earlier once nothing else refers
    to that array any more.

    A training loop drops each batch (and the graph that held it) one or two batches
    later; a fresh array per batch, as ``a.take`` makes, costs more than the gather
    itself for large batches: the C library hands memory of that size back to the system
    and faults it in again, page by page. Measured on Fashion-MNIST, batches of 128
    float32 rows of 784 (one epoch of the linear model, 469 batches): 35 page faults and
    about 150 us per batch with ``X.take``, under one fault and about 65 us here.

    The gatherer keeps the last ``slots`` arrays it returned and reuses the oldest one
    when Python's reference count shows that only the gatherer holds it: a batch the
    caller keeps (in a list, a Tensor, the graph of a loss, a view of it) is never
    written again. Elsewhere than CPython the count is not reliable, and every call
    returns a fresh array.

    Examples
    --------
    >>> g = RowGatherer()
    >>> X = np.arange(12).reshape(6, 2)
    >>> g.take(X, np.array([4, 0])).tolist()
    [[8, 9], [0, 1]]
    >>> kept = g.take(X, np.array([1]))
    >>> _ = g.take(X, np.array([2])), g.take(X, np.array([3]))
    >>> kept.tolist()  # still held, so never reused
    [[2, 3]]
    """

    def __init__(self, slots: int = 2) -> None:
        self._slots: list[np.ndarray | None] = [None] * slots
        self._next = 0
        # What sys.getrefcount reports for an array held by a slot and a local variable
        # alone, as in ``take`` (the interpreter's own temporary references differ between
        # Python versions, so it is measured rather than assumed).
        probe = np.empty(0)
        self._slots[0] = probe
        self._alone = sys.getrefcount(probe) if sys.implementation.name == "cpython" else -1
        self._slots[0] = None

    def take(self, a: np.ndarray, index: np.ndarray) -> np.ndarray:
        """The rows ``a[index]`` (``index``: integers in ``[0, len(a))``, 1-d)."""
        slot = self._next
        self._next = (slot + 1) % len(self._slots)
        shape = (index.shape[0], *a.shape[1:])
        out = self._slots[slot]
        if (
            out is None
            or out.shape != shape
            or out.dtype != a.dtype
            or sys.getrefcount(out) > self._alone
        ):
            out = self._slots[slot] = np.empty(shape, dtype=a.dtype)
        # mode="wrap": with mode="raise" (the default) NumPy gathers into a temporary and
        # copies it into ``out``; the indices are in range, so wrapping never happens.
        return np.take(a, index, axis=0, out=out, mode="wrap")


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
