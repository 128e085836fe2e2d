"""Figure style for the experiments: matplotlib (Agg), legible at 100% zoom, and the
Okabe-Ito colour-blind-safe palette."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000"]
BLUE, VERMILION, GREEN, PURPLE, ORANGE, SKY, YELLOW, BLACK = PALETTE
#: sequential and diverging colour maps that stay readable in grey and for colour-blind
#: readers
SEQUENTIAL = "viridis"
DIVERGING = "RdBu_r"

_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 2.0,
    "image.cmap": SEQUENTIAL,
}


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend with glassnet's style; an ImportError
    naming the extra when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "the experiments' figures need matplotlib: pip install 'glassnet[plot]'"
        ) from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update(_STYLE)
    plt.rcParams["axes.prop_cycle"] = cycler(color=PALETTE)
    return plt


def subplots(nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Any, Any]:
    """``plt.subplots`` in the house style (size about 5 x 4 inches per panel)."""
    plt = pyplot()
    kw.setdefault("figsize", (4.8 * ncols, 3.9 * nrows))
    kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kw)


def save_figure(fig: Any, path: Path) -> Path:
    """PNG bytes of ``fig`` written atomically to ``path``; the figure is closed."""
    from glassnet._fileio import atomic_write_bytes

    plt = pyplot()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
