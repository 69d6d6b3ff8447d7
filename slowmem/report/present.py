"""How the book shows a verdict: a narrow admonition box per claim, and the paper's own words beside it."""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..store import read_document
from .claims import DEFINITIONAL, ClaimResult, default_reading

__all__ = ["verdict_box", "precision_sentence", "conclusion", "read_paper_statements", "paper_box", "variants_table"]

_KIND = {"held": "tip", "contradicted": "danger", "ruled out": "important", "inconclusive": "warning"}


def _fmt(x: float | None, signed: bool = True) -> str:
    return "n/a" if x is None else (f"{x:+.3f}" if signed else f"{x:.3f}")


def verdict_box(result: ClaimResult, *, scale: str | None = None) -> str:
    """HTML of one claim's verdict: an admonition (held, contradicted, ruled out, inconclusive) with the
    effect, its 95 % and 90 % intervals, the margin and what halving or doubling it changes, the adjustment,
    the networks left out and, for a claim true by definition, the note that says so."""
    m = result.main
    ci = "" if m.ci_low is None else f", 95 % interval [{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]"
    ci90 = "" if m.ci90_low is None else f", 90 % [{_fmt(m.ci90_low)}, {_fmt(m.ci90_high)}]"
    p = "" if m.p_value is None else f", p = {m.p_value:.2g} (OLS, HC3, with the strata)"
    n = ", ".join(f"{v} {html.escape(str(k))}" for k, v in m.n.items())
    d = result.to_dict()
    lines = [f"<p><b>Claim.</b> {html.escape(result.statement)}</p>",
             f"<p><b>Measured.</b> {html.escape(result.measure)} = {_fmt(m.effect)}{ci}{ci90}{p}; networks: {n}"
             + (f" ({html.escape(scale)})" if scale else "") + ".</p>"]
    if m.margin is not None:
        sens = "; ".join(f"{k}: {v}" for k, v in m.margin_sensitivity.items())
        tost = "" if m.tost_p is None else f", two one-sided tests p = {m.tost_p:.2g}"
        lines.append(f"<p><b>Margin</b> ±{m.margin:g} (stated in advance{tost}); {html.escape(sens)}.</p>")
    if d.get("adjustment"):
        left = "; ".join(f"{html.escape(g)}: {html.escape(w)}" for g, w in d["left_out"].items())
        lines.append(f"<p><b>Compared</b> {html.escape(d['adjustment'])}"
                     + (f". <b>Left out</b>: {left}" if left else "") + ".</p>")
    if result.precision:
        lines.append(f"<p><b>Precision.</b> {html.escape(precision_sentence(result.precision))}</p>")
    if result.note:
        label = "By definition." if result.claim in DEFINITIONAL else "Readings."
        lines.append(f"<p><b>{label}</b> {html.escape(result.note)}.</p>")
    lines.append(f"<p><b>Verdict: {html.escape(m.verdict)}</b> &mdash; {html.escape(m.reason)}.</p>")
    if result.depends_on_reading:
        others = sorted({v["verdict"] for v in result.variants} - {m.verdict})
        lines.append(f"<p><b>Depends on the reading:</b> other readings give {html.escape(', '.join(others))} "
                     "(see the variant table).</p>")
    kind = _KIND.get(m.verdict, "note")
    return (f'<div class="admonition {kind}"><p class="admonition-title">{result.claim}: '
            f'{html.escape(m.verdict)}</p>{"".join(lines)}</div>')


def precision_sentence(precision: dict) -> str:
    """One sentence from :attr:`ClaimResult.precision`: each group's median per-network standard error and how
    much of the effect's standard error measurement noise alone would explain; for a measure without one, why
    and the bound the effect's standard error sets."""
    if precision.get("why_none"):
        share = precision.get("effect_se_share_of_margin")
        of_margin = "" if share is None else f", {share:.0%} of the margin"
        return (f"No per-network standard error: {precision['why_none']}. Measurement noise can add at most the "
                f"effect's own standard error, {precision['effect_se']:.3f}{of_margin}.")
    med = ", ".join(f"{k} {v:.3f}" for k, v in precision["median_se"].items())
    share = precision.get("share_of_effect_se")
    tail = "" if share is None else (f"; measurement noise alone would give the difference of group means a "
                                     f"standard error of {precision['measurement_se_of_difference']:.3f}, "
                                     f"against {precision['effect_se']:.3f} for the effect as measured "
                                     f"({share:.0%})")
    return f"Median standard error of a network's own measure: {med}{tail}."


def _interval(lo: float | None, hi: float | None) -> str:
    return "" if lo is None else f" [{lo:+.3f}, {hi:+.3f}]"


def conclusion(result: ClaimResult) -> str:
    """What the data support for one claim, in one or two plain sentences computed from ``result``: the
    verdict, the effect with its 95 % interval (its 90 % interval for a ruled-out claim) against the margin, n
    per side, and the readings under which the verdict differs."""
    m = result.main
    n = ", ".join(f"{v} {k}" for k, v in m.n.items())
    eff = "" if m.effect is None else f"{m.effect:+.3f}"
    if result.claim == "C1":
        text = f"{int(m.effect or 0)} of 4 mechanisms occur among the {sum(m.n.values())} networks ({m.reason})"
    elif m.verdict == "ruled out":
        text = (f"the difference is too small to be the claim: {m.measure} {eff}, 90 % interval"
                f"{_interval(m.ci90_low, m.ci90_high)} inside ±{m.margin:g} (n: {n})")
        if m.borderline:
            text += (f"; borderline: the regression form of the test gives p = {m.tost_p:.2g}, and with the margin "
                     f"halved the verdict is {m.margin_sensitivity.get('half margin', 'unknown')}")
    elif m.verdict == "held":
        beyond = "" if m.margin is None else (f", wholly beyond the margin ±{m.margin:g}" if m.clears_margin else
                                              f", though not wholly beyond the margin ±{m.margin:g}")
        text = f"{m.measure} {eff}{_interval(m.ci_low, m.ci_high)}{beyond} (n: {n})"
    elif m.verdict == "contradicted":
        text = f"the effect goes against the claim: {m.measure} {eff}{_interval(m.ci_low, m.ci_high)} (n: {n})"
    else:
        text = f"the data cannot decide: {m.reason}" + (f"; {m.measure} {eff}{_interval(m.ci_low, m.ci_high)}"
                                                         if m.effect is not None else "")
    others = {}
    for v in result.variants:
        if v["verdict"] != m.verdict:
            others.setdefault(v["verdict"], []).append(_reading_label(v, result.claim))
    tail = "".join(f" {verdict.capitalize()} under {len(r)} other reading{'s' if len(r) > 1 else ''} "
                   f"(e.g. {r[0]})." for verdict, r in others.items())
    return f"{result.claim} {m.verdict}: {text}.{tail}"


def _reading_label(variant: dict, claim: str) -> str:
    """What a variant reads differently from the default: its strata, or its option, taxonomy and success
    criterion where they differ (e.g. "original rule + success original, no replay RMSE > 0.1")."""
    if variant.get("strata") != "fb and g":
        return f"strata {variant.get('strata')}"
    default = default_reading(claim)
    parts = [("" if key == "option" else f"{key} ") + str(variant[key]) for key in ("option", "taxonomy", "success")
             if variant.get(key) is not None and variant.get(key) != default[key]]
    return " + ".join(parts) or "the default reading"


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
    """One row per reading of the ambiguous choices: taxonomy, success, strata, measure, effect [interval], n,
    verdict."""
    m = result.main
    rows = [{"taxonomy": "ours", "success": "ours", "strata": "fb and g" if result.claim in ("C3", "C4", "C5", "C6")
             else "", "measure": m.measure, "effect": m.effect, "ci_low": m.ci_low,
             "ci_high": m.ci_high, "n": ", ".join(str(v) for v in m.n.values()), "verdict": m.verdict}]
    for v in result.variants:
        rows.append({"taxonomy": v["taxonomy"], "success": v["success"].split(",")[0].split(" (")[0]
                     if v["success"].startswith("ours") else v["success"].replace("original, ", "orig. "),
                     "strata": v.get("strata", ""), "measure": v["measure"], "effect": v["effect"],
                     "ci_low": v["ci_low"], "ci_high": v["ci_high"],
                     "n": ", ".join(str(x) for x in v["n"].values()), "verdict": v["verdict"]})
    t = pd.DataFrame(rows)
    for c in ("effect", "ci_low", "ci_high"):
        t[c] = t[c].map(lambda x: "" if x is None or x != x else f"{x:+.2f}")
    return t
