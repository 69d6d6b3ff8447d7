"""Figures of the reproduction report: every claim's effect with its interval, at a glance (forest plots)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from ..report.slices import group_count
from .style import MECHANISM_COLORS, panel_grid

__all__ = ["VERDICT_COLORS", "claims_forest", "variants_forest", "slice_comparison", "effects_comparison"]

#: One colour per verdict.
VERDICT_COLORS = {"held": "#009E73", "not held": "#D55E00", "inconclusive": "#999999"}


def _forest(ax, labels: Sequence[str], effects, lows, highs, verdicts: Sequence[str], notes: Sequence[str]) -> None:
    y = np.arange(len(labels))[::-1]
    for yi, e, lo, hi, v, note in zip(y, effects, lows, highs, verdicts, notes):
        c = VERDICT_COLORS.get(v, "k")
        ax.text(1.02, yi, note, transform=ax.get_yaxis_transform(), va="center", fontsize=8)
        if e is None:
            ax.text(0, yi, "no comparison possible", ha="center", va="center", fontsize=8, color=c)
            continue
        if lo is not None:
            ax.plot([lo, hi], [yi, yi], color=c, lw=2.5, solid_capstyle="butt")
        ax.plot([e], [yi], "o", color=c, ms=7, mec="k", mew=0.6)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    handles = [plt.Line2D([], [], color=c, marker="o", lw=2.5, mec="k", mew=0.6, label=v)
               for v, c in VERDICT_COLORS.items() if v in set(verdicts)]
    ax.legend(handles=handles, fontsize=8, loc="lower right", frameon=False)


def claims_forest(results) -> Figure:
    """The effect of every claim with an interval (C2-C6), signed so that right of zero is the paper's direction.

    Args:
        results: :func:`slowmem.report.evaluate_claims` output.
    """
    rows = [r for r in results if r.main.ci_low is not None or r.main.effect is None]
    rows = [r for r in rows if r.claim != "C1"]
    sign = [r.main.direction for r in rows]
    eff = [None if r.main.effect is None else s * r.main.effect for r, s in zip(rows, sign)]
    lo = [None if r.main.ci_low is None else min(s * r.main.ci_low, s * r.main.ci_high) for r, s in zip(rows, sign)]
    hi = [None if r.main.ci_low is None else max(s * r.main.ci_low, s * r.main.ci_high) for r, s in zip(rows, sign)]
    notes = [f"{r.main.verdict}; n " + ", ".join(str(v) for v in r.main.n.values()) for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(rows) + 1.4), constrained_layout=True)
    _forest(ax, [f"{r.claim}: {r.measure}" for r in rows], eff, lo, hi, [r.verdict for r in rows], notes)
    ax.set_xlabel("effect in the direction the paper claims (right of 0: as the paper says)")
    return fig


def variants_forest(result, *, same_population: bool = True) -> Figure:
    """One claim's effect under every reading (taxonomy, success criterion, measure/protocol), signed as
    :func:`claims_forest`. With ``same_population``, only the variants that keep the book's success
    criterion and taxonomy vary the measure (the rest are in the table)."""
    m = result.main
    rows = [{"label": f"{m.measure} (default)", "effect": m.effect, "ci_low": m.ci_low, "ci_high": m.ci_high,
             "verdict": m.verdict, "n": m.n}]
    for v in result.variants:
        if same_population and (not v["success"].startswith("ours") or v["taxonomy"] != "ours"):
            continue
        rows.append({"label": v["measure"], **{k: v[k] for k in ("effect", "ci_low", "ci_high", "verdict", "n")}})
    s = m.direction
    eff = [None if r["effect"] is None else s * r["effect"] for r in rows]
    lo = [None if r["ci_low"] is None else min(s * r["ci_low"], s * r["ci_high"]) for r in rows]
    hi = [None if r["ci_low"] is None else max(s * r["ci_low"], s * r["ci_high"]) for r in rows]
    notes = [f"{r['verdict']}; n " + ", ".join(str(x) for x in r["n"].values()) for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.4), constrained_layout=True)
    _forest(ax, [r["label"] for r in rows], eff, lo, hi, [r["verdict"] for r in rows], notes)
    ax.set_xlabel(f"{result.claim}: effect in the direction the paper claims")
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
    """The comparative claims' effects under two settings, one row per (claim, setting), signed as
    :func:`claims_forest` (right of zero: as the paper says).

    Args:
        effects: :func:`slowmem.report.slices.compare_effects` output.
    """

    def num(v):
        return None if v is None or not np.isfinite(v) else float(v)

    rows = list(effects.itertuples())
    eff, lo, hi, notes = [], [], [], []
    for r in rows:
        s, e, a, b = r.direction, num(r.effect), num(r.ci_low), num(r.ci_high)
        eff.append(None if e is None else s * e)
        lo.append(None if a is None else min(s * a, s * b))
        hi.append(None if a is None else max(s * a, s * b))
        notes.append(f"{r.verdict}; n SM {group_count(r.n_sm, r.n_sm_all)}, FP {group_count(r.n_fp, r.n_fp_all)}")
    labels = [f"{claim}, {setting}" for claim, setting in effects.index]   # the measures: effects.measure
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 1.4), constrained_layout=True)
    _forest(ax, labels, eff, lo, hi, [r.verdict for r in rows], notes)
    ax.set_xlabel("effect in the direction the paper claims (right of 0: as the paper says)")
    return fig
