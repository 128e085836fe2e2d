"""docs/lecture-map.md names real APIs, experiments and tests, for every lecture section."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import glassnet as gn

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "lecture-map.md"


def _rows() -> list[tuple[str, list[str]]]:
    """(section number, the four cells) of every table row below a section heading."""
    rows, section = [], ""
    for line in MAP.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## (\d+)\. ", line)
        if heading:
            section = heading.group(1)
        elif line.startswith("| ") and section and not line.startswith(("| ---", "| Lecture")):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append((section, cells))
    return rows


def _names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    assert parts[0] == "glassnet", f"{dotted!r} is not a glassnet name"
    obj: object = gn
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_lecture_section_has_rows() -> None:
    text = MAP.read_text(encoding="utf-8")
    for number, title in gn.experiments.SECTIONS.items():
        assert f"## {number}. {title}" in text, f"section {number} missing from the map"
    assert {s for s, _ in _rows()} == set(gn.experiments.SECTIONS)
    assert all(len(cells) == 4 for _, cells in _rows())


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r[1][0][:40])
def test_apis_experiments_and_tests_named_exist(row: tuple[str, list[str]]) -> None:
    _, (item, apis, experiments, tests) = row
    assert _names(apis), f"{item!r}: no API named"
    for dotted in _names(apis):
        _resolve(dotted)
    valid = set(gn.experiments.names())
    for name in _names(experiments):
        assert name in valid, f"{item!r}: no experiment {name!r}"
    assert experiments == "-" or _names(experiments), f"{item!r}: experiment cell {experiments!r}"
    named = _names(tests)
    assert named, f"{item!r}: no test named"
    for ref in named:
        file, _, function = ref.partition("::")
        path = ROOT / file
        assert path.is_file(), f"{item!r}: {file} does not exist"
        assert function in _test_functions(path), f"{item!r}: {ref} does not exist"


def test_every_experiment_is_on_the_map() -> None:
    mapped = {n for _, cells in _rows() for n in _names(cells[2])}
    assert set(gn.experiments.names()) <= mapped


def test_a_missing_name_is_caught() -> None:
    with pytest.raises((AttributeError, ModuleNotFoundError)):
        _resolve("glassnet.losses.no_such_loss")
    assert "no_such_test" not in _test_functions(ROOT / "tests" / "test_losses.py")
