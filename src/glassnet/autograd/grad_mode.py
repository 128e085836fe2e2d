"""Whether operations record a graph: ``no_grad`` and ``enable_grad``.

The flag lives in a one-element list so the hot path (``Function.apply``) reads it
with a single index instead of a function call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_enabled = [True]


def is_grad_enabled() -> bool:
    """Return True when new operations record the graph for ``backward``."""
    return _enabled[0]


def set_grad_enabled(mode: bool) -> None:
    """Switch graph recording on or off globally."""
    _enabled[0] = bool(mode)


class _GradMode:
    """Context manager and decorator that sets the grad mode for its extent."""

    _mode: bool

    def __new__(cls, func: Any = None) -> Any:
        # ``@no_grad`` without parentheses decorates directly, as in PyTorch.
        self = super().__new__(cls)
        return self if func is None else self(func)

    def __enter__(self) -> None:
        self._prev = _enabled[0]
        _enabled[0] = self._mode

    def __exit__(self, *exc: object) -> None:
        _enabled[0] = self._prev

    def __call__(self, func: F) -> F:
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _enabled[0]
            _enabled[0] = mode
            try:
                return func(*args, **kwargs)
            finally:
                _enabled[0] = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Operations inside record no graph (evaluation, optimizer updates).

    Use as ``with glassnet.no_grad(): ...`` or as the decorator ``@glassnet.no_grad()``.
    """

    _mode = False


class enable_grad(_GradMode):
    """Operations inside record the graph, even within ``no_grad``."""

    _mode = True
