"""Figures of the chapter *Memory under stress*: forgetting, distraction, interruption.

Every function takes the tidy tables of :mod:`slowmem.analysis.memory`
(:meth:`~slowmem.analysis.memory.MemoryResults.frames` or
:func:`~slowmem.analysis.memory.frames_from_summaries`) and returns a
matplotlib Figure; nothing here simulates. Curves are means over networks with
a bootstrap-over-networks band (:func:`~slowmem.analysis.memory.bootstrap_band`).
``by`` names a grouping column (default: ``mechanism`` when the table has one).

The chapters' headline figures show the verdict's comparison instead (:func:`verdict_curves`,
:func:`forgetting_verdict`, :func:`noise_verdict`, :func:`interruption_verdict`): only the networks in the
cells of fb x g that the verdict pools (:func:`slowmem.report.cells.verdict_networks`), median and 25-75 %
band per mechanism, the counts in legend and title; pooled views are secondary (:data:`POOLED_NOTE`).
:func:`difference_forest` draws a claim's readings as SM - FP, never flipped to the paper's direction.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..analysis.memory import bootstrap_band
from ..config import ConfigError
from ..report.cells import describe_selection
from ..report.claims import DEFAULT_STRATA, FP, SM
from .report import _forest, _signed
from .style import MECHANISM_COLORS, group_color

__all__ = ["memory_drift", "forgetting_curves", "memory_horizons", "failure_vs_noise", "failure_vs_interruption",
           "failure_types", "verdict_curves", "forgetting_verdict", "noise_verdict", "interruption_verdict",
           "difference_forest",
           "POOLED_NOTE"]

#: The title line of a pooled (secondary) view: every fb and g together, which the verdict does not compare.
POOLED_NOTE = "pooled over every fb and g: not the verdict's comparison"


def _group_col(frame: pd.DataFrame, by: str | None) -> str | None:
    if by is None:
        return "mechanism" if "mechanism" in frame.columns else None
    if by not in frame.columns:
        raise ConfigError(f"by={by!r} is not a column of the table; have {list(frame.columns)}")
    return by


def _groups(frame: pd.DataFrame, by: str | None):
    if by is None:
        return [("all networks", frame)]
    return [(k, g) for k, g in frame.groupby(by, sort=True)]


def _outside_legend(ax, ncol: int = 2) -> None:
    """The legend of ``ax`` below the figure (outside the data) when the figure lays itself out, else inside."""
    fig = ax.figure
    if fig.get_layout_engine() is not None and fig.axes[0] is ax and len(fig.axes) == 1:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=ncol, fontsize=9,
                   frameon=False)
    else:
        ax.legend(fontsize=9)


def _band_plot(ax, frame: pd.DataFrame, x: str, y: str, by: str | None, n_boot: int, seed: int,
               individual: bool) -> None:
    unit = "network_id" if "network_id" in frame.columns else "seed"
    for j, (name, g) in enumerate(_groups(frame, by)):
        color = group_color(name, j)
        if individual:
            for _, one in g.groupby(unit):
                one = one.sort_values(x)
                ax.plot(one[x], one[y], color=color, lw=0.5, alpha=0.3)
        band = bootstrap_band(g, x, y, n_boot=n_boot, seed=seed).sort_values(x)
        n = int(g[unit].nunique())
        ax.fill_between(band[x], band.lo, band.hi, color=color, alpha=0.25, lw=0)
        ax.plot(band[x], band["mean"], color=color, lw=2, marker="o" if len(band) < 30 else None, ms=3,
                label=f"{name} (n={n})")
    ax.set_ylim(-0.03, 1.03)
    _outside_legend(ax)


def forgetting_curves(frame: pd.DataFrame, by: str | None = None, *, trained_delay: float | None = 5.0,
                      individual: bool = True, n_boot: int = 1000, seed: int = 0, ax=None) -> Figure:
    """Failure probability vs delay-1 duration (claim C4), mean and 95% band per group.

    ``frame``: ``seed, delay, failure_prob`` (+ ``by``). Thin lines: single networks.
    """
    by = _group_col(frame, by)
    fig, ax = (plt.subplots(figsize=(7, 3.6), constrained_layout=True) if ax is None else (ax.figure, ax))
    _band_plot(ax, frame, "delay", "failure_prob", by, n_boot, seed, individual)
    if trained_delay is not None:
        ax.axvline(trained_delay, color="k", ls=":", lw=1)
        ax.text(trained_delay, 1.0, " trained delay", fontsize=9, va="top")
    ax.set_xlabel("delay 1 (time units)")
    ax.set_ylabel("failure probability")
    ax.set_title("forgetting curves")
    return fig


def memory_horizons(horizons: pd.DataFrame, by: str | None = None, *, bins: int = 20,
                    max_delay: float | None = None, ax=None) -> Figure:
    """Distribution of memory horizons; networks that never forget are counted at the right ("never").

    ``horizons``: ``seed, memory_horizon`` (NaN = never) (+ ``by``).
    """
    by = _group_col(horizons, by)
    fig, ax = (plt.subplots(figsize=(6.5, 3.4), constrained_layout=True) if ax is None else (ax.figure, ax))
    h = horizons.memory_horizon.to_numpy(dtype=float)
    finite = h[np.isfinite(h)]
    top = max_delay if max_delay is not None else (float(finite.max()) if finite.size else 1.0)
    edges = np.linspace(0, top * 1.0001 if top > 0 else 1.0, bins + 1)
    width = edges[1] - edges[0]
    never_x = edges[-1] + max(2.5 * width, 0.12 * edges[-1])   # apart from the last bin, so labels do not touch
    groups = _groups(horizons, by)
    bottom_hist = np.zeros(bins)
    bottom_never = 0.0
    for j, (name, g) in enumerate(groups):
        v = g.memory_horizon.to_numpy(dtype=float)
        counts, _ = np.histogram(v[np.isfinite(v)], bins=edges)
        never = float((~np.isfinite(v)).sum())
        ax.bar(edges[:-1], counts, width=width, align="edge", bottom=bottom_hist, color=group_color(name, j),
               label=f"{name} (n={len(g)})")
        ax.bar([never_x], [never], width=width, bottom=bottom_never, color=group_color(name, j), hatch="//",
               edgecolor="w")
        bottom_hist += counts
        bottom_never += never
    ticks = [float(t) for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(0, edges[-1])
             if 0 <= t <= edges[-1] * 1.0001]   # round numbers within the bins, then the "never" column
    ax.set_xticks(ticks + [never_x], [f"{t:g}" for t in ticks] + ["never"])
    ax.set_xlabel("memory horizon (delay 1 at first failure, time units)")
    ax.set_ylabel("networks")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _outside_legend(ax)
    return fig


def failure_vs_noise(frame: pd.DataFrame, by: str | None = None, *, individual: bool = False,
                     n_boot: int = 1000, seed: int = 0, ax=None) -> Figure:
    """Failure ratio vs distraction noise sigma (claim C6); symlog axis so sigma = 0 shows.

    ``frame``: ``seed, sigma, failure_ratio`` (+ ``by``). The noise is
    ``uniform(0,1) * sigma + 0.5`` (mean offset ``sigma/2 + 0.5``); sigma = 0 is the noiseless control.
    """
    by = _group_col(frame, by)
    fig, ax = (plt.subplots(figsize=(6.5, 3.4), constrained_layout=True) if ax is None else (ax.figure, ax))
    _band_plot(ax, frame, "sigma", "failure_ratio", by, n_boot, seed, individual)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlim(left=0)
    ax.set_xlabel("noise level sigma (stimulus 1 + uniform(0,1)*sigma + 0.5)")
    ax.set_ylabel("failure ratio")
    ax.set_title("distraction")
    return fig


def failure_vs_interruption(frame: pd.DataFrame, by: str | None = None, *, individual: bool = False,
                            n_boot: int = 1000, seed: int = 0, ax=None) -> Figure:
    """Failure ratio vs fraction of units whose input is silenced during stimulus 1 (book: Methods, Interruption).

    ``frame``: ``seed, fraction, failure_ratio`` (+ ``by``).
    """
    by = _group_col(frame, by)
    fig, ax = (plt.subplots(figsize=(6.5, 3.4), constrained_layout=True) if ax is None else (ax.figure, ax))
    _band_plot(ax, frame, "fraction", "failure_ratio", by, n_boot, seed, individual)
    ax.set_xlabel("fraction of units with input silenced during stimulus 1")
    ax.set_ylabel("failure ratio")
    ax.set_title("interruption")
    return fig


def failure_types(horizons: pd.DataFrame, by: str | None = None, ax=None) -> Figure:
    """Share of fixed-time vs asymptotic failures among all failed stretched-delay trials, per group.

    ``horizons``: ``seed, n_fixed_time, n_asymptotic`` (+ ``by``).
    """
    by = _group_col(horizons, by)
    fig, ax = (plt.subplots(figsize=(5, 3.2), constrained_layout=True) if ax is None else (ax.figure, ax))
    names, fixed, asym = [], [], []
    for name, g in _groups(horizons, by):
        f, a = float(g.n_fixed_time.sum()), float(g.n_asymptotic.sum())
        tot = f + a
        names.append(f"{name}\n({int(tot)} failed)")
        fixed.append(f / tot if tot else 0.0)
        asym.append(a / tot if tot else 0.0)
    x = np.arange(len(names))
    ax.bar(x, fixed, color="C0", label="fixed-time")
    ax.bar(x, asym, bottom=fixed, color="C3", label="asymptotic")
    ax.set_xticks(x, names, fontsize=9)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of failed trials")
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return fig


# --------------------------------------------------------------------------- the verdict's comparison
def _curves(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """(networks, levels) table of ``y``: one row per ``network_id``, one column per value of ``x``."""
    return frame.pivot_table(index="network_id", columns=x, values=y, aggfunc="mean").sort_index(axis=1)


def _typical(curves: pd.DataFrame, k: int) -> list:
    """The ``k`` networks whose curves lie closest to the median curve (mean absolute distance; ties by id)."""
    dist = (curves - curves.median(axis=0)).abs().mean(axis=1)
    return list(dist.sort_values(kind="stable").index[:k])


def verdict_curves(frame: pd.DataFrame, networks: pd.DataFrame, x: str, y: str, *, exemplars: int = 2,
                   strata: str | None = DEFAULT_STRATA, ax=None) -> Figure:
    """The verdict's comparison as curves: per mechanism (SM, FP) the median over networks, a 25-75 % band
    and ``exemplars`` thin single networks (the ones closest to the median), only for ``networks``.

    Args:
        frame: long table ``network_id, x, y`` (one curve per network).
        networks: the networks the verdict compares (:func:`slowmem.report.cells.verdict_networks`:
            ``network_id, mechanism, cell``); networks without a curve in ``frame`` are not drawn.
        exemplars: single-network lines per mechanism, 0 to 3.
    Returns:
        The Figure; ``fig.drawn`` holds the rows of ``networks`` that were drawn (k, 5) and the title says
        what they are (:func:`slowmem.report.cells.describe_selection`).
    """
    if not 0 <= exemplars <= 3:
        raise ConfigError(f"exemplars must be 0 to 3 thin lines per mechanism; got {exemplars}")
    fig, ax = (plt.subplots(figsize=(6.4, 4.0), constrained_layout=True) if ax is None else (ax.figure, ax))
    drawn = networks[networks["network_id"].isin(set(frame["network_id"]))]
    for name in (SM, FP):
        ids = set(drawn.loc[drawn["mechanism"] == name, "network_id"])
        if not ids:
            continue
        curves = _curves(frame[frame["network_id"].isin(ids)], x, y)
        color, lev = MECHANISM_COLORS[name], curves.columns.to_numpy(dtype=float)
        for nid in _typical(curves, exemplars):
            ax.plot(lev, curves.loc[nid].to_numpy(float), color=color, lw=0.8, alpha=0.7, gid=f"exemplar:{nid}")
        q25, q50, q75 = (np.nanpercentile(curves.to_numpy(float), q, axis=0) for q in (25, 50, 75))
        ax.fill_between(lev, q25, q75, color=color, alpha=0.25, lw=0)
        ax.plot(lev, q50, color=color, lw=2.5, gid=f"median:{name}",
                label=f"{name}: median, 25-75 % band (n = {len(curves)})")
    if drawn.empty:
        ax.text(0.5, 0.5, "the verdict compares no networks here:\nno cell of fb x g holds both mechanisms with "
                "the verdict's measure", transform=ax.transAxes, ha="center", va="center", fontsize=10)
    elif exemplars:
        ax.plot([], [], color="0.4", lw=0.8, label=f"thin: {exemplars} single networks per mechanism "
                "(closest to the median)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("The verdict's comparison: " + describe_selection(drawn, strata), fontsize=10, loc="left")
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncol=1, fontsize=9, frameon=False)
    ax.tick_params(labelsize=9)
    fig.drawn = drawn
    return fig


def forgetting_verdict(frame: pd.DataFrame, networks: pd.DataFrame, *, trained_delay: float | None = 5.0,
                       exemplars: int = 2, xlabel: str = "delay 1 (time units)", ax=None) -> Figure:
    """C4's comparison: failure probability against delay for the verdict's ``networks`` (:func:`verdict_curves`).

    ``frame``: ``network_id, delay, failure_prob`` (one protocol).
    """
    fig = verdict_curves(frame, networks, "delay", "failure_prob", exemplars=exemplars, ax=ax)
    ax = fig.axes[0]
    if trained_delay is not None:
        ax.axvline(trained_delay, color="k", ls=":", lw=1)
        ax.text(trained_delay, 1.0, " trained delay", fontsize=9, va="top")
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_ylabel("failure probability", fontsize=10)
    return fig


def noise_verdict(frame: pd.DataFrame, networks: pd.DataFrame, *, exemplars: int = 2, ax=None) -> Figure:
    """C6's comparison: failure ratio against distraction sigma (symlog axis, sigma = 0 shows) for the verdict's
    ``networks`` (:func:`verdict_curves`). ``frame``: ``network_id, sigma, failure_ratio`` (one distractor)."""
    fig = verdict_curves(frame, networks, "sigma", "failure_ratio", exemplars=exemplars, ax=ax)
    ax = fig.axes[0]
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlim(left=0)
    ax.set_xlabel("noise level sigma on stimulus 1", fontsize=10)
    ax.set_ylabel("failure ratio", fontsize=10)
    return fig


def interruption_verdict(frame: pd.DataFrame, networks: pd.DataFrame, *, exemplars: int = 2, ax=None) -> Figure:
    """The interruption test for the verdict's ``networks`` (:func:`verdict_curves`): failure ratio against the
    fraction of units whose input is silenced. ``frame``: ``network_id, fraction, failure_ratio`` (one protocol)."""
    fig = verdict_curves(frame, networks, "fraction", "failure_ratio", exemplars=exemplars, ax=ax)
    fig.axes[0].set_xlabel("fraction of units with input silenced", fontsize=10)
    fig.axes[0].set_ylabel("failure ratio", fontsize=10)
    return fig


def difference_forest(result) -> Figure:
    """One comparative claim under every reading of the same networks, **SM - FP** in each reading's own units
    (never turned to the paper's direction): effect, 90 % (thick) and 95 % (thin) intervals, each reading's
    margin shaded on its own row, and beside it the verdict, n per group and the sign the claim predicts.

    Args:
        result: a :class:`slowmem.report.ClaimResult` of C3-C6.
    """
    m = result.main
    rows = [{"label": f"{m.measure} (default)", **m.to_dict()}]
    for v in result.variants:
        if v["success"].startswith("ours") and v["taxonomy"] == "ours":
            within = v.get("strata")
            rows.append({"label": v["measure"] + (f" [strata: {within}]" if within and within != "fb and g" else ""),
                         **v})
    drawn = [_signed(r, +1) for r in rows]
    notes = [f"{r['verdict']}; n " + ", ".join(str(x) for x in r["n"].values())
             + f"; claim: {'>' if r.get('direction', m.direction) > 0 else '<'} 0" for r in rows]
    fig, ax = plt.subplots(figsize=(7.0, 0.8 * len(rows) + 2.0), constrained_layout=True)
    _forest(ax, [r["label"] for r in rows], drawn, notes, band=None)
    for yi, r in zip(np.arange(len(rows))[::-1], rows):
        margin = r.get("margin", m.margin)
        if margin is not None:
            ax.fill_betweenx([yi - 0.4, yi + 0.4], -margin, margin, color="#000000", alpha=0.08, lw=0)
    ax.set_xlabel(f"{result.claim}: SM - FP in each reading's units (claim: the sign C{result.claim[1:]} "
                  "predicts;\nshaded: inside that reading's margin)", fontsize=10)
    return fig


def memory_drift(drift: dict, class_means, *, network: int = 0, ax=None) -> Figure:
    """The memory outputs during a long delay (from :func:`slowmem.analysis.forgetting.delay_drift`).

    Left: (zd_1, zd_2) in the latent plane, coloured by time, with the two
    class means (stars) the memory outputs are trained to hold. Right: the
    response z and the distance of zd from its target over time.
    """
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    else:
        fig = ax[0].figure
    out = np.asarray(drift["outputs"][:, network])
    t = np.asarray(drift["time"])
    means = np.asarray(class_means)
    target = np.asarray(drift["target"])
    sc = ax[0].scatter(out[:, 1], out[:, 2], c=t, s=4, cmap="viridis")
    for k, m in enumerate(means):
        ax[0].scatter(*m, marker="*", s=200, color=f"C{k}", edgecolor="k", zorder=5, label=f"class mean {k}")
    ax[0].set_xlabel("zd 1"), ax[0].set_ylabel("zd 2"), ax[0].legend(fontsize=9)
    fig.colorbar(sc, ax=ax[0], label="time in delay (tau)")
    ax[1].plot(t, out[:, 0], "k", lw=1, label="response z")
    ax[1].plot(t, np.linalg.norm(out[:, 1:] - target, axis=1), color="C3", lw=1, label="|zd - target|")
    ax[1].axvline(5.0, color="0.5", ls=":", lw=1)
    ax[1].set_xlabel("time in delay (tau); dotted: the trained delay"), ax[1].legend(fontsize=9)
    return fig
