"""How the book shows a verdict: a narrow admonition box per claim, and the paper's own words beside it."""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..store import read_document
from .claims import ClaimResult

__all__ = ["verdict_box", "read_paper_statements", "paper_box", "variants_table"]

_KIND = {"held": "tip", "not held": "danger", "inconclusive": "warning"}


def _fmt(x: float | None, signed: bool = True) -> str:
    return "n/a" if x is None else (f"{x:+.3f}" if signed else f"{x:.3f}")


def verdict_box(result: ClaimResult, *, scale: str | None = None) -> str:
    """HTML of one claim's verdict: an admonition (green held, red not held, grey-yellow inconclusive)."""
    m = result.main
    ci = "" if m.ci_low is None else f", 95 % interval [{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]"
    p = "" if m.p_value is None else f", p = {m.p_value:.2g} (OLS with fb strata)"
    n = ", ".join(f"{v} {html.escape(str(k))}" for k, v in m.n.items())
    lines = [f"<p><b>Claim.</b> {html.escape(result.statement)}</p>",
             f"<p><b>Measured.</b> {html.escape(result.measure)} = {_fmt(m.effect)}{ci}{p}; networks: {n}"
             + (f" ({html.escape(scale)})" if scale else "") + ".</p>",
             f"<p><b>Verdict: {html.escape(m.verdict)}</b> &mdash; {html.escape(m.reason)}.</p>"]
    if result.depends_on_reading:
        others = sorted({v["verdict"] for v in result.variants} - {m.verdict})
        lines.append(f"<p><b>Depends on the reading:</b> other readings give {html.escape(', '.join(others))} "
                     "(see the variant table).</p>")
    kind = _KIND.get(m.verdict, "note")
    return (f'<div class="admonition {kind}"><p class="admonition-title">{result.claim}: '
            f'{html.escape(m.verdict)}</p>{"".join(lines)}</div>')


def read_paper_statements(path: str | Path) -> dict:
    """The paper's own words per claim (``book/data/paper_statements.json``): ``{claim: {...}}`` and notes."""
    doc = read_document(path, required=("claims",), what="paper-statements file")
    return {"claims": doc["claims"], "source_notes": doc.get("source_notes", "")}


def paper_box(claim: str, statements: dict) -> str:
    """HTML: what the paper states for ``claim`` (a short verbatim quote, where, figure and numbers if known)."""
    s = statements["claims"].get(claim) or {}
    quote = s.get("paper_says")
    where = s.get("where") or "not known"
    fig = s.get("figure") or "not known to us"
    nums = s.get("numbers") or "none that we could read"
    body = (f"<p>&ldquo;{html.escape(quote)}&rdquo; ({html.escape(where)})</p>" if quote else
            "<p>We could not find the paper's own words for this claim.</p>")
    body += f"<p>Figure: {html.escape(fig)}. Numbers the paper gives: {html.escape(nums)}.</p>"
    if s.get("note"):
        body += f"<p><i>{html.escape(s['note'])}</i></p>"
    return f'<div class="admonition note"><p class="admonition-title">{claim}: what the paper says</p>{body}</div>'


def variants_table(result: ClaimResult) -> pd.DataFrame:
    """One row per reading of the ambiguous choices: taxonomy, success, measure, effect [interval], n, verdict."""
    m = result.main
    rows = [{"taxonomy": "ours", "success": "ours", "measure": m.measure, "effect": m.effect, "ci_low": m.ci_low,
             "ci_high": m.ci_high, "n": ", ".join(str(v) for v in m.n.values()), "verdict": m.verdict}]
    for v in result.variants:
        rows.append({"taxonomy": v["taxonomy"], "success": v["success"].split(",")[0].split(" (")[0]
                     if v["success"].startswith("ours") else v["success"].replace("original, ", "orig. "),
                     "measure": v["measure"], "effect": v["effect"], "ci_low": v["ci_low"], "ci_high": v["ci_high"],
                     "n": ", ".join(str(x) for x in v["n"].values()), "verdict": v["verdict"]})
    t = pd.DataFrame(rows)
    for c in ("effect", "ci_low", "ci_high"):
        t[c] = t[c].map(lambda x: "" if x is None or x != x else f"{x:+.2f}")
    return t
