"""Seeding: the default random generator that initialisers and dropout draw from.

glassnet never touches NumPy's global random state. Every random draw (weight
initialisation, dropout masks, stochastic depth) takes an explicit ``generator=``
(a ``numpy.random.Generator``); when none is given it uses the *default generator*
held here. ``manual_seed(seed)`` replaces it with a freshly seeded one, so

>>> import glassnet as gn
>>> _ = gn.manual_seed(0)
>>> from glassnet import nn
>>> a = nn.Linear(3, 2).weight.data.copy()
>>> _ = gn.manual_seed(0)
>>> bool((nn.Linear(3, 2).weight.data == a).all())
True

Until ``manual_seed`` is called the default generator is seeded from the operating
system (as NumPy's ``default_rng()``), so runs differ; ``initial_seed()`` tells which
seed was used, so that a run can be repeated.

Equivalent: ``torch.manual_seed``, ``torch.initial_seed``, ``torch.default_generator``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["default_generator", "get_generator", "initial_seed", "manual_seed", "seed"]


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().entropy % (2**63))


_seed = [_fresh_seed()]
_generator = [np.random.default_rng(_seed[0])]


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the default generator with ``seed`` and return it.

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Returns
    -------
    numpy.random.Generator
        The new default generator (``np.random.default_rng(seed)``).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be >= 0, got {seed}")
    _seed[0] = int(seed)
    _generator[0] = np.random.default_rng(int(seed))
    return _generator[0]


def seed() -> int:
    """Reseed the default generator from the operating system; return the new seed."""
    _seed[0] = _fresh_seed()
    _generator[0] = np.random.default_rng(_seed[0])
    return _seed[0]


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return _seed[0]


def default_generator() -> np.random.Generator:
    """The generator used when no ``generator=`` is passed."""
    return _generator[0]


def get_generator(generator: Any = None) -> np.random.Generator:
    """Resolve a ``generator=`` argument.

    None gives the default generator; a ``numpy.random.Generator`` is used as it is; an
    int is a seed for a new generator (``np.random.default_rng(int)``).
    """
    if generator is None:
        return _generator[0]
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"generator must be a numpy.random.Generator, an int seed or None, "
        f"got {type(generator).__name__}"
    )
