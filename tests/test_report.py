"""The course companion page: built from every experiment in quick mode, checked as HTML
and in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import base64
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli import main
from glassnet.experiments import SECTIONS


class _Page(HTMLParser):
    """The parts of the page the tests look at: ids, links, images, h2 headings."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.sources: list[str] = []  # every src / href
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        for key in ("src", "href"):
            if a.get(key):
                self.sources.append(str(a[key]))
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag == "img":
            self.images.append(str(a.get("src")))
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2 and data.strip():
            self.h2.append(data.strip())
            self._in_h2 = False


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("report")
    from glassnet import report

    rep = report.build(out, quick=True, progress=False)
    return out, rep


def test_every_experiment_is_on_the_page_in_the_lectures_order(
    quick_report: tuple[Path, Any],
) -> None:
    out, rep = quick_report
    assert rep.ok, [(e.name, e.error) for e in rep.entries if e.error]
    page = _Page()
    text = (out / "index.html").read_text(encoding="utf-8")
    page.feed(text)
    names = gn.experiments.names()
    assert [e.name for e in rep.entries] == names
    positions = [page.ids.index(name) for name in names]  # a section per experiment
    assert positions == sorted(positions)
    # section headings in the lecture's numeric order, titled as the lecture's sections
    numbers = [int(h.split(".")[0]) for h in page.h2 if h[0].isdigit()]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers)) >= 5
    for h in page.h2:
        if h[0].isdigit():
            assert h.split(". ", 1)[1] == SECTIONS[h.split(".")[0]]
    # the table of contents links to every experiment, every internal link resolves
    for name in names:
        assert f"#{name}" in page.links
    for link in page.links:
        assert link.startswith("#") and link[1:] in page.ids, link
    # each experiment's reproducing command and call, its numbers
    for e in rep.entries:
        assert f"glassnet experiment {e.name} --seed 0 --quick" in text
        assert f"glassnet.experiments.run(&#x27;{e.name}&#x27;, seed=0, quick=True)" in text
        first_key = next(iter(e.result.numbers))
        assert f"<code>{first_key}</code>" in text
    assert "Python" in text and "numpy" in text and "CPU cores" in text


def test_figures_are_inlined_pngs_and_nothing_is_fetched(
    quick_report: tuple[Path, Any],
) -> None:
    out, rep = quick_report
    page = _Page()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    expected = sum(len(e.result.figures) for e in rep.entries)
    assert expected >= len(rep.entries) and len(page.images) == expected
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for src in page.sources:  # no stylesheet, script, font or image from elsewhere
        assert src.startswith(("#", "data:")), src
    # each experiment's own files are kept beside the page
    for e in rep.entries:
        assert (out / e.name / "numbers.json").exists() and (out / e.name / "summary.md").exists()


def _chromium() -> str:
    path = os.environ.get("GLASSNET_CHROMIUM") or shutil.which("chromium")
    assert path, "the browser test needs Debian's chromium (apt-get install chromium)"
    return path


def test_the_page_in_a_real_browser(quick_report: tuple[Path, Any], tmp_path: Path) -> None:
    """Every figure decodes (naturalWidth > 0), no console error, no request other than
    the page itself, and a screenshot that is not blank."""
    from playwright.sync_api import sync_playwright

    out, rep = quick_report
    index = (out / "index.html").resolve()
    problems: list[str] = []
    requests: list[str] = []
    shot = tmp_path / "page.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(index.as_uri())
            page.wait_for_load_state("load")
            widths = page.evaluate(
                "Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert problems == []
    assert requests == [index.as_uri()], [u[:80] for u in requests]
    assert len(widths) == sum(len(e.result.figures) for e in rep.entries)
    assert all(w > 0 for w in widths), widths
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[1] == 1200 and float(np.std(pixels[..., :3])) > 0.05


def test_a_failing_experiment_is_shown_and_the_command_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from glassnet.experiments import _framework

    module = _framework._module("losses")

    def broken(ctx: Any) -> dict:
        raise RuntimeError("planted failure 42")

    monkeypatch.setattr(module, "compute", broken)
    code = main(["report", "--out", str(tmp_path / "r"), "--quick", "--quiet",
                 "--only", "losses,capacity"])
    err = capsys.readouterr().err
    assert code == 1 and "losses" in err and err.count("\n") == 1
    text = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "planted failure 42" in text and "This experiment failed" in text
    assert 'id="capacity"' in text and "data:image/png;base64," in text  # the other ran


def test_report_command_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--out", str(tmp_path / "r"), "--only", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown experiment 'nope'" in err and "linear-regression" in err
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["report", "--out", str(blocker / "sub"), "--quick", "--quiet",
                 "--only", "losses"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and str(blocker) in err
    assert re.search(r"not a folder|not a directory|cannot", err)
