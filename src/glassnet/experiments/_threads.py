"""A cap on the threads of NumPy's BLAS and of OpenMP for the length of an experiment.

On a machine whose cores are busy, a multi-threaded BLAS or OpenMP loop waits for cores
it does not get: small matrix products and k-means then run several times slower than
on one thread. Experiments whose numbers include times, or whose work is many small
products, run under this cap (an option of theirs, default 1).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def limited_threads(limit: int, name: str) -> Iterator[None]:
    """At most ``limit`` BLAS / OpenMP threads inside the block (through threadpoolctl,
    which scikit-learn brings; without it the block runs unchanged)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"{name}: the thread limit must be an integer >= 1, got {limit!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=limit):
        yield
