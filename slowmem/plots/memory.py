"""Figures of the chapter *Memory under stress*: forgetting, distraction, interruption.

Every function takes the tidy tables of :mod:`slowmem.analysis.memory`
(:meth:`~slowmem.analysis.memory.MemoryResults.frames` or
:func:`~slowmem.analysis.memory.frames_from_summaries`) and returns a
matplotlib Figure; nothing here simulates. Curves are means over networks with
a bootstrap-over-networks band (:func:`~slowmem.analysis.memory.bootstrap_band`).
``by`` names a grouping column (default: ``mechanism`` when the table has one).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..analysis.memory import bootstrap_band
from ..config import ConfigError
from .style import group_color

__all__ = ["memory_drift", "forgetting_curves", "memory_horizons", "failure_vs_noise", "failure_vs_interruption",
           "failure_types"]


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
    ax.legend(fontsize=8)


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
        ax.text(trained_delay, 1.0, " trained delay", fontsize=7, va="top")
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
    never_x = edges[-1] + max(1.5 * width, 0.08 * edges[-1])
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
    ticks = list(np.linspace(0, edges[-1], 5))
    ax.set_xticks(ticks + [never_x], [f"{t:g}" for t in np.round(ticks, 1)] + ["never"])
    ax.set_xlabel("memory horizon (delay 1 at first failure, time units)")
    ax.set_ylabel("networks")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
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
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of failed trials")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
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
    ax[0].set_xlabel("zd 1"), ax[0].set_ylabel("zd 2"), ax[0].legend(fontsize=8)
    fig.colorbar(sc, ax=ax[0], label="time in delay (tau)")
    ax[1].plot(t, out[:, 0], "k", lw=1, label="response z")
    ax[1].plot(t, np.linalg.norm(out[:, 1:] - target, axis=1), color="C3", lw=1, label="|zd - target|")
    ax[1].axvline(5.0, color="0.5", ls=":", lw=1)
    ax[1].set_xlabel("time in delay (tau); dotted: the trained delay"), ax[1].legend(fontsize=8)
    return fig
