"""The examples reproduce the lecture's claims from real computation."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fit_line_reaches_the_lecture_optimum(capsys: pytest.CaptureFixture[str]) -> None:
    w, b = load("fit_line").fit_line()
    assert w == pytest.approx(0.5, abs=1e-4) and b == pytest.approx(2.0, abs=1e-3)


def test_capacity_under_and_over_fitting(tmp_path: Path) -> None:
    result = load("capacity").main(str(tmp_path / "capacity.png"))
    train = {k: v[0] for k, v in result.items()}
    test = {k: v[1] for k, v in result.items()}
    assert min(train, key=train.get) == 12  # order 12 fits the training set best ...
    assert test[12] > max(test[3], test[4])  # ... and generalizes worse than orders 3-4
    for low in (1, 2):  # under-fitting: worse than 3 and 4 on both sets
        assert min(train[low], test[low]) > max(train[3], train[4])
        assert test[low] > max(test[3], test[4])
    assert (tmp_path / "capacity.png").stat().st_size > 1000


def test_quadratic_features_separate_two_circles() -> None:
    linear, quadratic = load("feature_space").main()
    assert linear < 0.75
    assert quadratic >= 0.99
    assert np.isfinite([linear, quadratic]).all()
