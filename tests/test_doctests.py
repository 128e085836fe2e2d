"""Every docstring example of the glassnet package runs and prints what it shows.

The modules are found with ``pkgutil.walk_packages``, so a module added later is checked
without editing this file.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from collections.abc import Iterator

import numpy as np
import pytest

import glassnet as gn

MODULES = sorted(
    {"glassnet"}
    | {info.name for info in pkgutil.walk_packages(gn.__path__, "glassnet.")}
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.fixture
def clean_state() -> Iterator[None]:
    """Each module's examples start from the defaults and may not leak a changed one."""
    options = np.get_printoptions()
    assert gn.get_default_dtype() == np.float32 and gn.is_grad_enabled()
    yield
    np.set_printoptions(**options)
    leaked = (gn.get_default_dtype(), gn.is_grad_enabled())
    gn.set_default_dtype(np.float32)
    gn.set_grad_enabled(True)
    assert leaked == (np.float32, True), f"a doctest left the state changed: {leaked}"


@pytest.mark.usefixtures("clean_state")
@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_walk_finds_the_core_modules() -> None:
    assert {"glassnet.tensor", "glassnet.autograd.functional", "glassnet.ops.reduce"} <= set(
        MODULES
    )


def test_the_runner_detects_a_failing_example() -> None:
    """The negative control: a module with a wrong example is reported as failing."""
    import types

    module = types.ModuleType("fake_glassnet_module")
    module.__doc__ = ">>> 1 + 1\n3\n"
    result = doctest.testmod(module, optionflags=FLAGS, report=False)
    assert (result.attempted, result.failed) == (1, 1)


def test_the_core_has_examples() -> None:
    attempted = sum(
        doctest.testmod(importlib.import_module(name), optionflags=FLAGS).attempted
        for name in ("glassnet.tensor", "glassnet.autograd.functional")
    )
    assert attempted >= 5
