"""The one visual style of the book: colours per mechanism, period and class, figure settings.

Every figure of :mod:`slowmem.plots` takes its colours from here, so a
mechanism has the same colour in every chapter (:data:`MECHANISM_COLORS`),
and :func:`use` sets the figure defaults (resolution, font sizes) once.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import pandas as pd

from ..config import MECHANISMS, PERIODS, ConfigError

__all__ = ["MECHANISM_COLORS", "PERIOD_COLORS", "PERIOD_LABELS", "PERIOD_KEY", "MIN_FONT_PT", "PAGE_WIDTH_IN",
           "legend_below", "font_at_page_width", "CLASS_COLORS", "CENTRE_COLORS", "shade_periods", "check_frame",
           "group_color", "use", "DPI", "PANELS_PER_ROW", "panel_grid"]

#: One colour per mechanism of the taxonomy, everywhere in the book (colour-blind safe, Okabe-Ito).
MECHANISM_COLORS = dict(zip(MECHANISMS, ("#0072B2", "#D55E00", "#009E73", "#999999")))
#: Background shading of the trial periods.
PERIOD_COLORS = {"stim1": "#fde0c5", "delay1": "#e0ecf4", "stim2": "#fde0c5", "delay2": "#e0ecf4",
                 "response": "#d9f0d3"}
#: The short name of each period on a shaded axis (a full name does not fit a 5-tau period of a small panel).
PERIOD_LABELS = {"stim1": "S1", "delay1": "D1", "stim2": "S2", "delay2": "D2", "response": "R"}
#: The key to :data:`PERIOD_LABELS`, for a figure's caption or footnote.
PERIOD_KEY = "S1, S2: the two stimuli; D1, D2: the delays; R: the response window"
#: The smallest font of a figure, in points at the figure's own size (legends, period labels, ticks).
MIN_FONT_PT = 11
#: The width of the book's text column at a 1280 px window (about 690 CSS px at 96 px per inch): a figure is
#: scaled to it, so a W-inch figure shows its fonts at PAGE_WIDTH_IN / W of their size. A figure at most
#: 8.8 in wide keeps MIN_FONT_PT at 9 pt or more on the page.
PAGE_WIDTH_IN = 690 / 96
#: The two digit classes (first, second).
CLASS_COLORS = ("#1b9e77", "#d95f02")
#: The centres of the attractor probe's starts: trial types 0..3, then the origin.
CENTRE_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#666666")
#: Resolution of raster figures (the book embeds PNGs at this many dots per inch).
DPI = 150


def use() -> None:
    """Set the figure defaults of the book (called when :mod:`slowmem.plots` is imported)."""
    mpl.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "font.size": 12, "axes.titlesize": 12,
                         "axes.labelsize": 12, "legend.fontsize": MIN_FONT_PT,
                         "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT,
                         "axes.spines.top": False, "axes.spines.right": False})


#: Panels per row of a multi-panel figure (wider figures shrink below legibility in the book's column).
PANELS_PER_ROW = 3


def font_at_page_width(fig) -> float:
    """The smallest visible text of ``fig`` in points as the page shows it (scaled to the text column)."""
    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text().strip()]
    scale = min(1.0, PAGE_WIDTH_IN / fig.get_figwidth())
    return min(sizes) * scale if sizes else float("inf")


def panel_grid(n: int, panel: tuple[float, float] = (2.9, 2.8), **kw):
    """``(figure, axes)``: ``n`` panels, at most :data:`PANELS_PER_ROW` per row; unused cells hidden."""
    import matplotlib.pyplot as plt

    cols = max(1, min(n, PANELS_PER_ROW))
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(panel[0] * cols, panel[1] * rows), constrained_layout=True,
                             squeeze=False, **kw)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:max(n, 1)]


def group_color(name: Any, j: int) -> str:
    """The colour of group ``name`` (the ``j``-th group): its mechanism colour if it is a mechanism."""
    return MECHANISM_COLORS.get(name, f"C{j}") if isinstance(name, str) else f"C{j}"


def shade_periods(ax, task, offset: float = 0.0, label: bool = True) -> None:
    """Shade the periods of one trial of ``task`` on ``ax`` (time in tau, starting at ``offset``)."""
    for p in PERIODS:
        w = task.windows[p]
        a, b = offset + w.start * task.dt, offset + w.stop * task.dt
        ax.axvspan(a, b, color=PERIOD_COLORS[p], zorder=0, lw=0)
        if label:
            ax.text((a + b) / 2, 1.0, PERIOD_LABELS[p], transform=ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=MIN_FONT_PT)


def legend_below(fig, axes, ncols: int = 4, **kw):
    """One legend for the figure, below its panels, outside every axis (the handles of ``axes``, deduplicated)."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    if not seen:
        return None
    return fig.legend(list(seen.values()), list(seen.keys()), loc="outside lower center",
                      ncols=min(ncols, len(seen)), fontsize=MIN_FONT_PT, frameon=False, **kw)


def check_frame(df: pd.DataFrame, cols: Sequence[str]) -> None:
    """ConfigError unless ``df`` has every column of ``cols``."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ConfigError(f"the table needs columns {list(cols)}; missing {missing}")
