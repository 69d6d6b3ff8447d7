"""What a chapter shows beside its figures: tables in full, and the sentences that tie a figure to a table.

    full_table(df)                  a table with every cell in full (no "..."), wrapped by the book's CSS
    shares_note(drawn)              why a figure of every network that performs the task counts more than the
                                    shares table above it (the extra seeds count in comparisons, not shares)

Both return HTML computed from the data, so a chapter's prose never types a count that could go stale.
"""
from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML

from slowmem.report.population import SHARES_COLUMN

__all__ = ["full_table", "shares_note"]


def full_table(df: pd.DataFrame, css_class: str = "slowmem-full-table") -> HTML:
    """``df`` as HTML with no cell truncated (pandas cuts text at 50 characters by default) inside a
    ``<div class=css_class>``: book/_static/slowmem.css wraps long cells and lets a wide table scroll
    inside its own box on a phone."""
    with pd.option_context("display.max_colwidth", None, "display.max_columns", None, "display.width", None):
        body = df.to_html(classes="dataframe", border=0, escape=True)
    return HTML(f'<div class="{html.escape(css_class)}">{body}</div>')


def shares_note(drawn: pd.DataFrame) -> HTML:
    """One sentence: how many of the ``drawn`` networks (a figure's) count in the mechanism shares of
    :func:`slowmem.report.mechanism_table` (the rows flagged ``SHARES_COLUMN``), and why the rest do not.
    Empty when the two counts agree."""
    shares = _counts_in_shares(drawn)
    if shares == len(drawn):
        return HTML("")
    extra = len(drawn) - shares
    return HTML(f"<p class=\"slowmem-count-note\"><em>Counts.</em> The figures below draw all {len(drawn)} "
                f"networks that perform the task; the shares table above counts {shares} of them, those of the "
                f"paper's balanced grid. The other {extra} come from the extra seeds added to the comparisons of "
                f"slow-manifold and fixed-point networks; counting them in the shares would weight their cells "
                f"more than the grid does.</p>")


def _counts_in_shares(drawn: pd.DataFrame) -> int:
    if SHARES_COLUMN not in drawn.columns:
        return len(drawn)
    return int(drawn[SHARES_COLUMN].fillna(False).astype(bool).sum())
