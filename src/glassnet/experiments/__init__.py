"""glassnet.experiments: every figure and worked example of the lecture, from real computation.

Each experiment is one module of this package. It computes the lecture's claim on real
data (or the lecture's own numbers), returns the key figures as ``numbers`` and, when an
output folder is given, draws the figure a teacher would put on the slide::

    >>> import glassnet as gn
    >>> "linear-regression" in gn.experiments.names()
    True
    >>> r = gn.experiments.run("linear-regression", quick=True)   # doctest: +SKIP
    >>> round(r.numbers["w"], 3), round(r.numbers["b"], 3)         # doctest: +SKIP
    (0.5, 2.0)

``run(name, out=None, seed=0, quick=False, **options)`` returns a :class:`Result` with
``.numbers`` (JSON-serialisable key figures), ``.figures`` (paths of the PNGs written
into ``out``; none when ``out`` is None) and ``.summary`` (Markdown). The same seed gives
the same numbers. ``quick=True`` is a small size for tests; ``options`` override an
experiment's settings (``options(name)`` lists them with their defaults).

From the command line: ``glassnet experiment list`` and ``glassnet experiment NAME
[--out DIR] [--seed N] [--quick] [--set KEY=VALUE ...]``.
"""

from __future__ import annotations

from glassnet.experiments._framework import (
    SECTIONS,
    Context,
    ExperimentError,
    Result,
    describe,
    info,
    names,
    options,
    parse_options,
    run,
)

__all__ = [
    "SECTIONS", "Context", "ExperimentError", "Result", "describe", "info", "names", "options",
    "parse_options", "run",
]
