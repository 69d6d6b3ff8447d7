"""Figures of the reproduction report: every claim's effect with its interval, at a glance (forest plots)."""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from ..report.claims import MARGINS
from ..report.slices import group_count
from .style import MECHANISM_COLORS, panel_grid

__all__ = ["VERDICT_COLORS", "claims_forest", "variants_forest", "prevalence_plot", "slice_comparison",
           "effects_comparison"]

#: Verdicts speak another visual language than mechanisms: black and greys with one reddish purple (a colour no
#: mechanism uses, :data:`~slowmem.plots.style.MECHANISM_COLORS`), and a marker shape per verdict, so that a
#: verdict is never read as a mechanism and reads without colour.
VERDICT_COLORS = {"held": "#000000", "contradicted": "#CC79A7", "ruled out": "#666666", "inconclusive": "#B0B0B0"}
_VERDICT_MARKERS = {"held": "o", "contradicted": "X", "ruled out": "s", "inconclusive": "D"}


def _forest(ax, labels: Sequence[str], rows: Sequence[dict], notes: Sequence[str], band: float | None) -> None:
    """Rows of ``{"effect", "lo", "hi", "lo90", "hi90", "verdict"}`` (already signed and scaled); ``band``:
    the margin, shaded as the zone of effects too small to be the claim."""
    y = np.arange(len(labels))[::-1]
    if band is not None:
        ax.axvspan(-band, band, color="#000000", alpha=0.08, lw=0)
    for yi, r, note in zip(y, rows, notes):
        c, mk = VERDICT_COLORS.get(r["verdict"], "k"), _VERDICT_MARKERS.get(r["verdict"], "o")
        ax.text(1.02, yi, textwrap.fill(note, 24), transform=ax.get_yaxis_transform(), va="center", fontsize=10)
        if r["effect"] is None:
            ax.text(0, yi, "no comparison possible", ha="center", va="center", fontsize=9, color=c)
            continue
        if r["lo"] is not None:
            ax.plot([r["lo"], r["hi"]], [yi, yi], color=c, lw=1.6, solid_capstyle="butt")
        if r.get("lo90") is not None:
            ax.plot([r["lo90"], r["hi90"]], [yi, yi], color=c, lw=4.5, solid_capstyle="butt", alpha=0.6)
        ax.plot([r["effect"]], [yi], mk, color=c, ms=8, mec="k", mew=0.6)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [textwrap.fill(lab, 30) for lab in labels], fontsize=11)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    handles = [plt.Line2D([], [], color=c, marker=_VERDICT_MARKERS[v], lw=2.5, mec="k", mew=0.6, label=v)
               for v, c in VERDICT_COLORS.items() if v in {r["verdict"] for r in rows}]
    if band is not None:
        handles.append(plt.Rectangle((0, 0), 1, 1, color="#000000", alpha=0.08, label="inside the margin"))
    ax.legend(handles=handles, fontsize=10, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles),
              frameon=False)
    ax.tick_params(axis="x", labelsize=10)


def _signed(e: dict, sign: int, scale: float = 1.0) -> dict:
    """Effect and intervals turned to the paper's direction (``sign``) and divided by ``scale``."""
    def one(v):
        return None if v is None else sign * v / scale

    def pair(lo, hi):
        return (None, None) if lo is None else tuple(sorted((one(lo), one(hi))))

    lo, hi = pair(e.get("ci_low"), e.get("ci_high"))
    lo90, hi90 = pair(e.get("ci90_low"), e.get("ci90_high"))
    return {"effect": one(e.get("effect")), "lo": lo, "hi": hi, "lo90": lo90, "hi90": hi90, "verdict": e["verdict"]}


def claims_forest(results) -> Figure:
    """Every claim with an interval (C2-C6): the effect in the paper's direction, **in units of the claim's
    margin** (so claims measured in different units share one axis), thick 90 % and thin 95 % intervals, and
    the margin as a shaded band: an interval inside it rules the claim out.

    Args:
        results: :func:`slowmem.report.evaluate_claims` output.
    """
    rows = [r for r in results if r.claim != "C1" and (r.main.ci_low is not None or r.main.effect is None)]
    drawn = [_signed(r.main.to_dict(), r.main.direction, r.main.margin or 1.0) for r in rows]
    notes = [f"{r.main.verdict}; margin ±{r.main.margin:g}; n " + ", ".join(str(v) for v in r.main.n.values())
             if r.main.margin is not None else f"{r.main.verdict}; n " + ", ".join(str(v) for v in r.main.n.values())
             for r in rows]
    fig, ax = plt.subplots(figsize=(8.5, 1.0 * len(rows) + 1.8), constrained_layout=True)
    _forest(ax, [f"{r.claim}: {r.measure}" for r in rows], drawn, notes, band=1.0)
    ax.set_xlabel("effect in the paper's direction, in units of the claim's margin\n(right of 0: as the paper "
                  "says; shaded: too small to be the claim)", fontsize=10)
    return fig


def variants_forest(result, *, same_population: bool = True) -> Figure:
    """One claim's effect under every reading (measure/protocol, stratification; with ``same_population=False``
    also taxonomy and success criterion), in the paper's direction and the claim's own units, with its
    margin shaded. With ``same_population``, only the variants that keep the book's success criterion and
    taxonomy are drawn (the rest are in the table)."""
    m = result.main
    rows = [{"label": f"{m.measure} (default)", **m.to_dict()}]
    for v in result.variants:
        if same_population and (not v["success"].startswith("ours") or v["taxonomy"] != "ours"):
            continue
        within = v.get("strata")
        tag = f" [strata: {within}]" if within and within != "fb and g" else ""
        rows.append({"label": v["measure"] + tag, **v})
    notes = [f"{r['verdict']}; n " + ", ".join(str(x) for x in r["n"].values()) for r in rows]
    fig, ax = plt.subplots(figsize=(8.5, 0.8 * len(rows) + 1.8), constrained_layout=True)
    own = [(r.get("margin", m.margin), r.get("direction", m.direction)) for r in rows]
    if len(set(own)) > 1 and all(g is not None for g, _ in own):
        # readings in different units (C6: log2 tolerance, failure ratio): each in units of its own margin
        drawn = [_signed(r, d, g) for r, (g, d) in zip(rows, own)]
        notes = [f"{n}; margin ±{g:g}" for n, (g, _) in zip(notes, own)]
        _forest(ax, [r["label"] for r in rows], drawn, notes, band=1.0)
        ax.set_xlabel(f"{result.claim}: effect in the direction the paper claims, in units of each reading's "
                      "margin\n(shaded: inside the margin)")
        return fig
    drawn = [_signed(r, m.direction) for r in rows]
    _forest(ax, [r["label"] for r in rows], drawn, notes, band=m.margin)
    unit = f"; shaded: inside the margin ±{m.margin:g}" if m.margin is not None else ""
    ax.set_xlabel(f"{result.claim}: effect in the direction the paper claims{unit}")
    return fig


def prevalence_plot(prevalence) -> Figure:
    """Claim C2 per fb and over the grid: the slow-manifold share minus the largest other share, with its 95 %
    interval, under every reading of :data:`slowmem.report.prevalence.READINGS` (one marker per reading).

    Args:
        prevalence: :func:`slowmem.report.prevalence.prevalence_table` output.
    """
    readings = list(dict.fromkeys(prevalence.index.get_level_values(0)))
    keys = list(dict.fromkeys(prevalence.index.get_level_values(1)))
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(8.0, 4.2), constrained_layout=True)
    ax.axhspan(-MARGINS["C2"][0], MARGINS["C2"][0], color="#000000", alpha=0.08, lw=0)
    ax.axhline(0, color="k", lw=0.8)
    markers = ["o", "s", "^", "D"]
    w = 0.6 / max(len(readings), 1)
    for j, name in enumerate(readings):
        part = prevalence.loc[name].reindex(keys)
        xs = x + (j - (len(readings) - 1) / 2) * w
        ax.errorbar(xs, part["SM lead"], yerr=[part["SM lead"] - part["ci_low"], part["ci_high"] - part["SM lead"]],
                    fmt=markers[j % 4], color=str(0.15 * j), mec="k", ms=7, capsize=2, lw=1.2,
                    label=textwrap.fill(name, 40))
    ax.set_xticks(x, [f"fb {k:g}" if k != "all" else "whole grid" for k in keys], fontsize=10)
    ax.set_ylabel("SM share minus the largest other share", fontsize=10)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    return fig


def slice_comparison(cmp) -> Figure:
    """Success rate and mechanism shares under two settings of the same networks, with 95 % intervals.

    Args:
        cmp: :func:`slowmem.report.slices.compare_slices` output.
    """

    fig, (ax1, ax2) = panel_grid(2, panel=(3.6, 3.0))
    s = cmp.success
    x = np.arange(len(s))
    ax1.bar(x, s["rate"], color="#bbbbbb", edgecolor="k", lw=0.6)
    ax1.errorbar(x, s["rate"], yerr=[s["rate"] - s["rate_ci_low"], s["rate_ci_high"] - s["rate"]], fmt="none",
                 ecolor="k", capsize=3)
    ax1.set_xticks(x, [f"{lab}\n{k} of {n}" for lab, k, n in zip(s.index, s["succeed"], s["networks"])], fontsize=8)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("share that performs the task")
    mech = cmp.mechanisms
    names = list(mech.index)
    w = 0.8 / len(cmp.labels)
    for j, lab in enumerate(cmp.labels):
        t = mech[lab]
        xs = np.arange(len(names)) + (j - (len(cmp.labels) - 1) / 2) * w
        ax2.bar(xs, t["share"], width=w, color=[MECHANISM_COLORS[n] for n in names], edgecolor="k", lw=0.6,
                hatch=None if j == 0 else "//")
        ax2.errorbar(xs, t["share"], yerr=[t["share"] - t["share_ci_low"], t["share_ci_high"] - t["share"]],
                     fmt="none", ecolor="k", capsize=2, lw=0.8)
    ax2.set_xticks(np.arange(len(names)), [n.replace(" ", "\n") for n in names], fontsize=8)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("share of the networks that perform it")
    from matplotlib.patches import Patch

    handles = [Patch(facecolor="white", edgecolor="k", hatch=None if j == 0 else "//",
                     label=f"{lab} (n = {int(mech[lab]['networks'].sum())})") for j, lab in enumerate(cmp.labels)]
    ax2.legend(handles=handles, fontsize=7, frameon=False, loc="upper right")
    return fig


def effects_comparison(effects) -> Figure:
    """The comparative claims' effects under two settings, one row per (claim, setting), drawn as
    :func:`claims_forest`: in the paper's direction and in units of each claim's margin (shaded band).

    Args:
        effects: :func:`slowmem.report.slices.compare_effects` output.
    """

    def num(v):
        return None if v is None or not np.isfinite(v) else float(v)

    rows = list(effects.itertuples())
    drawn, notes = [], []
    for (claim, _), r in zip(effects.index, rows):
        e = {"effect": num(r.effect), "ci_low": num(r.ci_low), "ci_high": num(r.ci_high), "verdict": r.verdict}
        drawn.append(_signed(e, r.direction, MARGINS[claim][0]))
        notes.append(f"{r.verdict}; n SM {group_count(r.n_sm, r.n_sm_all)}, FP {group_count(r.n_fp, r.n_fp_all)}")
    labels = [f"{claim}, {setting}" for claim, setting in effects.index]   # the measures: effects.measure
    fig, ax = plt.subplots(figsize=(8.5, 0.8 * len(rows) + 1.8), constrained_layout=True)
    _forest(ax, labels, drawn, notes, band=1.0)
    ax.set_xlabel("effect in the paper's direction, in units of the claim's margin\n(shaded: too small to be the "
                  "claim)", fontsize=10)
    return fig
