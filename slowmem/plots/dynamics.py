"""Figures of the dynamics analyses (attractors, slow points, taxonomy, activity).

Every function takes result objects of :mod:`slowmem.analysis` (or a
DataFrame) and returns a matplotlib Figure. Nothing here simulates or
optimises; the only computation is the projection of states onto their
principal components.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from ..analysis.activity import ActivityProfile
from ..analysis.attractors import AttractorProbe
from ..analysis.slowpoints import SlowPoints
from ..config import MECHANISMS, ConfigError
from ..task import SPMTask
from .style import CENTRE_COLORS, MECHANISM_COLORS, check_frame, group_color, shade_periods

__all__ = ["MECHANISM_COLORS", "CENTRE_COLORS", "pca_trajectories", "eigenvalue_spectra", "autonomous_traces",
           "mechanism_counts", "mechanism_heatmap", "saturation_profile", "by_mechanism"]

#: Colours of the probe's start centres: trial types (0,0), (0,1), (1,0), (1,1), then the origin.


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def _points_of(points: SlowPoints | None, network: int) -> SlowPoints | None:
    if points is None:
        return None
    if not 0 <= network < points.B:
        raise ConfigError(f"network must be in 0..{points.B - 1}; got {network}")
    return points.select(network) if points.B > 1 else points


def pca_trajectories(trajectories, points: SlowPoints | None = None, *, network: int = 0,
                     labels: Sequence[int] | None = None, title: str | None = None) -> Figure:
    """Trajectories of one network in the plane of their first two principal components.

    Args:
        trajectories: ``(T, K, N)`` states of K runs of that network (e.g.
            ``ActivityProfile.states[:, b]`` or ``AttractorProbe.snapshots[:, b]``).
        points: slow points (of a batch; ``network`` picks the one), drawn as
            filled circles (stable fixed), open circles (unstable fixed) and
            crosses (slow points).
        labels: ``(K,)`` ints colouring the runs (e.g. trial types).
    """
    X = _np(trajectories).astype(np.float64)
    if X.ndim != 3:
        raise ConfigError(f"trajectories must be (T, K, N); got shape {X.shape}")
    T, K, N = X.shape
    flat = X.reshape(-1, N)
    flat = flat[np.isfinite(flat).all(1)]
    mean = flat.mean(0)
    _, sv, vt = np.linalg.svd(flat - mean, full_matrices=False)
    pcs = vt[:2].T                                               # (N, 2)
    explained = (sv[:2] ** 2 / max((sv ** 2).sum(), 1e-300))
    Y = (X - mean) @ pcs                                         # (T, K, 2)
    fig, ax = plt.subplots(figsize=(5.5, 4.8), constrained_layout=True)
    lab = np.zeros(K, int) if labels is None else np.asarray(labels)
    for k in range(K):
        c = CENTRE_COLORS[int(lab[k]) % len(CENTRE_COLORS)]
        ax.plot(Y[:, k, 0], Y[:, k, 1], color=c, lw=0.8, alpha=0.7)
        ax.plot(Y[-1, k, 0], Y[-1, k, 1], "s", color=c, ms=3)
    p = _points_of(points, network)
    if p is not None and len(p.q):
        P = (_np(p.x_star) - mean) @ pcs
        fixed, stable = _np(p.is_fixed), _np(p.is_stable)
        for z, (sel, kw, name) in enumerate((                     # stable points drawn last, on top
                (fixed & ~stable, dict(marker="o", mfc="white", mec="k", ms=8, ls=""), "unstable fixed point"),
                (~fixed, dict(marker="x", color="crimson", ms=7, ls=""), "slow point"),
                (fixed & stable, dict(marker="o", color="k", ms=6, ls=""), "stable fixed point"))):
            if sel.any():
                ax.plot(P[sel, 0], P[sel, 1], label=name, zorder=5 + z, **kw)
        ax.legend(fontsize=7, loc="best")
    ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% var.)")
    ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f}% var.)" if len(explained) > 1 else "PC 2")
    ax.set_title(title or "trajectories and slow points (PCA)")
    return fig


def eigenvalue_spectra(points: SlowPoints, *, network: int = 0, max_points: int = 6) -> Figure:
    """Jacobian eigenvalues (complex plane) at up to ``max_points`` points of one network, lowest q first."""
    p = _points_of(points, network)
    n = min(max_points, len(p.q))
    fig, axes = plt.subplots(1, max(n, 1), figsize=(2.8 * max(n, 1), 2.8), constrained_layout=True,
                             squeeze=False)
    if n == 0:
        axes[0, 0].text(0.5, 0.5, "no fixed or slow point found", ha="center", va="center")
        axes[0, 0].set_axis_off()
        return fig
    ev = _np(p.eigenvalues)
    for i in range(n):
        ax = axes[0, i]
        e = ev[i]
        ax.axvline(0, color="0.6", lw=0.8)
        ax.scatter(e.real, e.imag, s=6, c=np.where(e.real < 0, "#1f78b4", "#e31a1c"))
        kind = ("fixed" if bool(p.is_fixed[i]) else "slow") + (", stable" if bool(p.is_stable[i]) else ", unstable")
        ax.set_title(f"point {i}: {kind}\nq = {float(p.q[i]):.1e}, max Re = {e.real.max():.3f}", fontsize=8)
        ax.set_xlabel("Re")
    axes[0, 0].set_ylabel("Im")
    return fig


def autonomous_traces(probe: AttractorProbe, *, network: int = 0, task: SPMTask | None = None,
                      dt: float | None = None, starts: Sequence[int] | None = None) -> Figure:
    """The response z of the probe's long autonomous runs of one network, coloured by start centre.

    ``starts`` picks runs (default: 3 per centre); the analysed window is shaded.
    ``task`` (optional) gives the time step and draws the encodings as dotted
    lines; ``dt`` overrides the time step (default ``task.dt``, else 0.1).
    """
    dt = dt if dt is not None else (task.dt if task is not None else 0.1)
    if not 0 <= network < probe.B:
        raise ConfigError(f"network must be in 0..{probe.B - 1}; got {network}")
    S = probe.z_trace.shape[2]
    if starts is None:
        starts = [int(i) for c in np.unique(probe.start_centre) for i in np.flatnonzero(probe.start_centre == c)[:3]]
    t = probe.trace_steps * dt
    fig, ax = plt.subplots(figsize=(10, 3.2), constrained_layout=True)
    ax.axvspan((probe.steps - probe.window_steps) * dt, probe.steps * dt, color="0.92", lw=0, zorder=0)
    names = ["type 0", "type 1", "type 2", "type 3", "origin"]
    seen = set()
    for s in starts:
        if not 0 <= s < S:
            raise ConfigError(f"starts must be in 0..{S - 1}; got {s}")
        c = int(probe.start_centre[s])
        ax.plot(t, probe.z_trace[:, network, s], color=CENTRE_COLORS[c % 5], lw=0.7,
                label=None if c in seen else f"from {names[c] if c < 5 else c}")
        seen.add(c)
    if task is not None:
        for v in _np(task.encoding):
            ax.axhline(v, color="k", ls=":", lw=0.6)
    ax.set_xlabel("time (tau)")
    ax.set_ylabel("z")
    ax.set_title(f"autonomous runs, seed {int(probe.seeds[network])} (shaded: analysed window)")
    ax.legend(fontsize=7, ncol=5, loc="upper right")
    return fig


def mechanism_counts(df: pd.DataFrame, *, by: Sequence[str] = ("g", "pg", "fb"),
                     column: str = "mechanism") -> Figure:
    """Stacked bars: networks of each mechanism per level of each of ``by`` (one panel each, plus the total)."""
    check_frame(df, [column, *by])
    fig, axes = plt.subplots(1, len(by) + 1, figsize=(3.2 * (len(by) + 1), 3.2), constrained_layout=True,
                             squeeze=False)
    panels = [(None, axes[0, 0])] + [(b, axes[0, i + 1]) for i, b in enumerate(by)]
    for key, ax in panels:
        if key is None:
            tab = df[column].value_counts().reindex(MECHANISMS, fill_value=0).to_frame("all").T
        else:
            tab = pd.crosstab(df[key], df[column]).reindex(columns=MECHANISMS, fill_value=0)
        bottom = np.zeros(len(tab))
        xs = np.arange(len(tab))
        for m in MECHANISMS:
            ax.bar(xs, tab[m].to_numpy(), bottom=bottom, color=MECHANISM_COLORS[m], label=m, width=0.8)
            bottom += tab[m].to_numpy()
        ax.set_xticks(xs, [f"{v:g}" if isinstance(v, (int, float, np.number)) else str(v) for v in tab.index])
        ax.set_xlabel(key or "")
        ax.set_ylabel("networks")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    return fig


def mechanism_heatmap(df: pd.DataFrame, *, mechanism: str = "slow manifold", x: str = "g", y: str = "fb",
                      column: str = "mechanism") -> Figure:
    """Fraction of networks of ``mechanism`` in each (``x``, ``y``) cell (pooled over other settings)."""
    if mechanism not in MECHANISMS:
        raise ConfigError(f"mechanism must be one of {', '.join(map(repr, MECHANISMS))}; got {mechanism!r}")
    check_frame(df, [column, x, y])
    frac = df.assign(_hit=(df[column] == mechanism).astype(float)).pivot_table(
        index=y, columns=x, values="_hit", aggfunc="mean")
    n = df.pivot_table(index=y, columns=x, values=column, aggfunc="count").reindex_like(frac)
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * frac.shape[1], 1.0 + 0.5 * frac.shape[0]), constrained_layout=True)
    im = ax.imshow(frac.to_numpy(), vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
    for i in range(frac.shape[0]):
        for j in range(frac.shape[1]):
            v = frac.iat[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}\n(n={int(n.iat[i, j])})", ha="center", va="center", fontsize=6,
                        color="w" if v < 0.6 else "k")
    ax.set_xticks(range(frac.shape[1]), [f"{v:g}" for v in frac.columns])
    ax.set_yticks(range(frac.shape[0]), [f"{v:g}" for v in frac.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(im, ax=ax, label=f"fraction '{mechanism}'")
    return fig


def saturation_profile(activity: ActivityProfile, task: SPMTask, *, networks: Sequence[int] | None = None,
                       labels: Sequence[str] | None = None) -> Figure:
    """Fraction of saturated units over a test trial (mean over the 16 trials), one line per network."""
    B = activity.saturated_fraction.shape[1]
    nets = range(B) if networks is None else networks
    t = np.arange(activity.saturated_fraction.shape[0]) * task.dt
    fig, ax = plt.subplots(figsize=(7, 3), constrained_layout=True)
    shade_periods(ax, task)
    for i, b in enumerate(nets):
        name = labels[i] if labels is not None else (f"seed {int(activity.seeds[b])}, "
                                                     f"phasic index {activity.phasic_index[b]:.2f}")
        ax.plot(t, activity.saturated_fraction[:, b].mean(-1), lw=1.5, label=name,
                color=group_color(labels[i] if labels is not None else None, i))
    ax.set_xlabel("time in trial (tau)")
    ax.set_ylabel(f"fraction |r| > {activity.saturation:g}")
    top = float(activity.saturated_fraction.mean(-1).max()) if activity.saturated_fraction.size else 1.0
    ax.set_ylim(-0.04 * max(top, 0.05), None)       # a network with no saturated unit stays visible
    ax.legend(fontsize=7)
    return fig


def by_mechanism(df: pd.DataFrame, value: str, *, column: str = "mechanism", ylabel: str | None = None,
                 ax=None) -> Figure:
    """One value per network (e.g. phasic index, efficiency) as points per mechanism, with medians."""
    check_frame(df, [column, value])
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.2), constrained_layout=True)
    else:
        fig = ax.figure
    present = [m for m in MECHANISMS if (df[column] == m).any()]
    for i, m in enumerate(present):
        v = pd.to_numeric(df.loc[df[column] == m, value], errors="coerce").dropna().to_numpy()
        jitter = np.linspace(-0.15, 0.15, len(v)) if len(v) > 1 else np.zeros(len(v))
        ax.scatter(i + jitter, v, s=18, alpha=0.7, color=MECHANISM_COLORS[m])
        if len(v):
            ax.hlines(np.median(v), i - 0.3, i + 0.3, color="k", lw=2)
    ax.set_xticks(range(len(present)), [f"{m}\n(n={int((df[column] == m).sum())})" for m in present])
    ax.set_ylabel(ylabel or value)
    return fig
