"""Shared fixtures: a seeded generator per test and float64 helpers."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed, so every test is reproducible on its own."""
    return np.random.default_rng(12345)
