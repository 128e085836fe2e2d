"""The course companion: every experiment of the lecture on one self-contained page.

``glassnet report --out DIR [--quick]`` (or :func:`build`) runs each experiment of
:mod:`glassnet.experiments`, writes its figures, ``numbers.json`` and ``summary.md`` into
``DIR/NAME/`` and ``DIR/index.html``: one page in the lecture's order, a section per
lecture topic, each experiment with its figures (inlined, so the page needs no network
and no other file), its numbers and the call that reproduces it, a table of contents,
and the date, versions and machine it was made on.

This module only arranges what the experiments computed; it holds no maths of its own.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INDEX_NAME = "index.html"


@dataclass
class Entry:
    """One experiment on the page: its result, or the error that stopped it."""

    name: str
    title: str
    section: str
    result: Any = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Report:
    """What :func:`build` wrote: the page, and each experiment's entry."""

    path: Path
    entries: list[Entry] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every experiment ran."""
        return all(e.error is None for e in self.entries)

    @property
    def failed(self) -> list[str]:
        return [e.name for e in self.entries if e.error is not None]


def _markdown() -> Callable[[str], str]:
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        raise ImportError("the companion page needs markdown-it-py: "
                          'pip install "glassnet[report]"') from None
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return md.render


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="experiments", unit="exp", file=sys.stderr,
                dynamic_ncols=True)


def build(out: str | os.PathLike[str], quick: bool = False, seed: int = 0,
          only: Sequence[str] | None = None, progress: bool = True,
          log: Callable[[str], None] | None = None) -> Report:
    """Run the experiments and write ``out/index.html``.

    Parameters
    ----------
    out : path
        The folder for the page and each experiment's files (``out/NAME/``).
    quick : bool
        Every experiment at its small size (seconds each).
    seed : int
        The seed of every experiment.
    only : names, optional
        A subset of the experiments (default: all, in the lecture's order).
    progress : bool
        A progress bar on the terminal (tqdm) while the experiments run.
    log : callable, optional
        Called with a line per experiment (name, time, or the error).

    An experiment that raises is shown on the page with its error; the others still run.
    ``Report.ok`` tells whether all ran.
    """
    from glassnet import experiments
    from glassnet.pipeline import check_writable

    render = _markdown()  # fail before any work when the extra is missing
    folder = check_writable(out)
    chosen = experiments.names()
    if only is not None:
        unknown = [n for n in only if n not in chosen]
        if unknown:
            raise experiments.ExperimentError(
                f"unknown experiment {unknown[0]!r}; valid: {', '.join(chosen)}")
        chosen = [n for n in chosen if n in set(only)]
    t0 = time.perf_counter()
    entries: list[Entry] = []
    bar = _progress(len(chosen), progress)
    for name in chosen:
        meta = experiments.info(name)
        entry = Entry(name=name, title=meta["title"], section=meta["section"])
        if bar is not None:
            bar.set_postfix_str(name)
        t1 = time.perf_counter()
        try:
            entry.result = experiments.run(name, out=folder / name, seed=seed, quick=quick)
        except Exception as e:  # shown on the page; the other experiments still run
            entry.error = "".join(traceback.format_exception_only(type(e), e)).strip()
        entry.seconds = time.perf_counter() - t1
        entries.append(entry)
        if bar is not None:
            bar.update(1)
        if log is not None:
            line = f"{name}: " + (f"{entry.seconds:.1f} s" if entry.error is None
                                  else f"FAILED ({entry.error.splitlines()[-1]})")
            (bar.write if bar is not None else log)(line)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    page = render_page(entries, quick=quick, seed=seed, seconds=seconds, render=render)
    from glassnet._fileio import atomic_write_bytes

    path = folder / INDEX_NAME
    atomic_write_bytes(path, page.encode("utf-8"))
    return Report(path=path, entries=entries, seconds=seconds)


# ---------------------------------------------------------------------- the page
def _versions() -> list[tuple[str, str]]:
    from importlib import metadata

    import glassnet

    rows = [("glassnet", glassnet.__version__), ("Python", platform.python_version())]
    for dist in ("numpy", "matplotlib", "scikit-learn", "scikit-image"):
        try:
            rows.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            continue
    return rows


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPU cores"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    alt = html.escape(Path(path).stem.replace("_", " "))
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
            f"<figcaption>{alt}</figcaption></figure>")


def _summary_body(summary: str) -> str:
    """The experiment's Markdown summary without its own heading (the page has one)."""
    lines = summary.splitlines()
    if lines and lines[0].startswith("## "):
        lines = lines[1:]
    return "\n".join(lines)


def _entry_html(e: Entry, render: Callable[[str], str]) -> str:
    head = (f'<section class="experiment" id="{_slug(e.name)}">'
            f"<h3>{html.escape(e.title)} <code>{html.escape(e.name)}</code></h3>")
    if e.error is not None:
        return (head + '<div class="error"><strong>This experiment failed:</strong>'
                f"<pre>{html.escape(e.error)}</pre></div></section>")
    r = e.result
    figures = "".join(_image(p) for p in r.figures)
    reproduce = (f'<div class="reproduce"><span>Reproduce:</span>'
                 f"<pre><code>{html.escape(r.command())}</code></pre>"
                 f"<pre><code>{html.escape(r.call())}</code></pre></div>")
    return (head + f'<div class="figures">{figures}</div>'
            + f'<div class="summary">{render(_summary_body(r.summary))}</div>'
            + reproduce + "</section>")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1a1a1a;background:#fff;line-height:1.5}
main{max-width:1100px;margin:0 auto;padding:1.5rem 2rem 4rem}
header{border-bottom:2px solid #0072B2;margin-bottom:1rem}
h1{margin:.2rem 0}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.5rem}
h3 code{font-size:.8em;color:#555;margin-left:.4rem}
nav .toc{columns:2;list-style:none;padding-left:0}nav li{margin:.1rem 0}
nav .toc>li{break-inside:avoid;margin-bottom:.4rem}nav .toc ul{padding-left:1.2rem}
.meta{color:#444;font-size:.9rem}.meta td{padding:0 .8rem 0 0}
figure{margin:.6rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.8rem;color:#666}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f7fb}
pre{background:#f6f6f6;padding:.4rem .6rem;overflow-x:auto;margin:.2rem 0}
.reproduce span{font-weight:600}
.error{border-left:4px solid #D55E00;background:#fff4ee;padding:.4rem .8rem}
.failed{color:#D55E00}
"""


def render_page(entries: Sequence[Entry], *, quick: bool, seed: int, seconds: float,
                render: Callable[[str], str] | None = None) -> str:
    """The HTML of the companion page for ``entries`` (in the order given)."""
    from glassnet.experiments import SECTIONS

    render = render or _markdown()
    by_section: dict[str, list[Entry]] = {}
    for e in entries:
        by_section.setdefault(e.section, []).append(e)
    toc, body = [], []
    for section, items in by_section.items():
        title = SECTIONS.get(section, "")
        anchor = f"section-{_slug(section)}"
        links = "".join(
            f'<li><a href="#{_slug(e.name)}">{html.escape(e.title)}</a>'
            + (' <span class="failed">(failed)</span>' if e.error else "") + "</li>"
            for e in items)
        toc.append(f'<li><a href="#{anchor}">{html.escape(section)}. '
                   f"{html.escape(title)}</a><ul>{links}</ul></li>")
        body.append(f'<h2 id="{anchor}">{html.escape(section)}. {html.escape(title)}</h2>'
                    + "".join(_entry_html(e, render) for e in items))
    failed = [e.name for e in entries if e.error]
    versions = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                       for k, v in _versions())
    when = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    size = "quick (small sizes, for tests)" if quick else "full size"
    status = (f'<p class="failed">{len(failed)} experiment(s) failed: '
              f"{html.escape(', '.join(failed))}</p>" if failed else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>glassnet: the lecture, reproduced</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>glassnet: the lecture, reproduced</h1>
<p>Every figure and worked example of the course, computed by glassnet on this machine.
Change a setting with <code>glassnet experiment NAME --set KEY=VALUE</code> and watch the
numbers move.</p>
<table class="meta">
<tr><td>made</td><td>{html.escape(when)}</td></tr>
<tr><td>size</td><td>{html.escape(size)}, seed {seed}, {len(entries)} experiments in
{seconds:.0f} s</td></tr>
<tr><td>machine</td><td>{html.escape(_machine())}</td></tr>
{versions}
</table>
{status}
</header>
<nav><h2>Contents</h2><ul class="toc">{"".join(toc)}</ul></nav>
{"".join(body)}
</main>
</body>
</html>
"""


def main_command(out: str, quick: bool, seed: int, only: Sequence[str] | None,
                 quiet: bool) -> int:
    """What ``glassnet report`` runs; returns the exit status (1 if an experiment failed)."""
    say = (lambda *a: None) if quiet else print
    rep = build(out, quick=quick, seed=seed, only=only, progress=not quiet,
                log=None if quiet else (lambda line: print(line, file=sys.stderr)))
    say(f"wrote {rep.path} ({len(rep.entries)} experiments, {rep.seconds:.0f} s)")
    if not rep.ok:
        print(f"glassnet: error: experiment(s) failed: {', '.join(rep.failed)} "
              f"(their errors are on the page)", file=sys.stderr)
        return 1
    return 0
