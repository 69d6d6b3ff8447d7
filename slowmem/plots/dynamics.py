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
from ..errors import ShapeError
from ..task import TRIAL_TYPES, SPMTask
from .style import CENTRE_COLORS, MECHANISM_COLORS, check_frame, group_color, panel_grid, shade_periods

__all__ = ["MECHANISM_COLORS", "CENTRE_COLORS", "pca_trajectories", "eigenvalue_spectra", "autonomous_traces",
           "mechanism_counts", "mechanism_heatmap", "saturation_profile", "by_mechanism",
           "manifold_state_space", "speed_profiles", "slow_point_share"]

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
    The legend names the run colours and only the kinds of points actually drawn.
    """
    X = _np(trajectories).astype(np.float64)
    if X.ndim != 3:
        raise ShapeError(f"trajectories must be (T, K, N); got shape {X.shape}")
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
    named = set()
    for k in range(K):
        c = CENTRE_COLORS[int(lab[k]) % len(CENTRE_COLORS)]
        name = None
        if labels is not None and int(lab[k]) not in named:
            named.add(int(lab[k]))
            name = f"trial type {TRIAL_TYPES[int(lab[k])]}" if 0 <= int(lab[k]) < len(TRIAL_TYPES) else f"{lab[k]}"
        ax.plot(Y[:, k, 0], Y[:, k, 1], color=c, lw=0.8, alpha=0.7, label=name)
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
    _legend_present(ax, fontsize=7, loc="best")
    ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% var.)")
    ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f}% var.)" if len(explained) > 1 else "PC 2")
    ax.set_title(title or "trajectories and slow points (PCA)")
    return fig


def eigenvalue_spectra(points: SlowPoints, *, network: int = 0, max_points: int = 6) -> Figure:
    """Jacobian eigenvalues (complex plane) at up to ``max_points`` points of one network, lowest q first."""
    p = _points_of(points, network)
    n = min(max_points, len(p.q))
    fig, axes = panel_grid(n, panel=(2.9, 2.8))
    if n == 0:
        axes[0].text(0.5, 0.5, "no fixed or slow point found", ha="center", va="center")
        axes[0].set_axis_off()
        return fig
    ev = _np(p.eigenvalues)
    for i in range(n):
        ax = axes[i]
        e = ev[i]
        ax.axvline(0, color="0.6", lw=0.8)
        ax.scatter(e.real, e.imag, s=6, c=np.where(e.real < 0, "#1f78b4", "#e31a1c"))
        kind = ("fixed" if bool(p.is_fixed[i]) else "slow") + (", stable" if bool(p.is_stable[i]) else ", unstable")
        ax.set_title(f"point {i}: {kind}\nq = {float(p.q[i]):.1e}, max Re = {e.real.max():.3f}", fontsize=8)
        ax.set_xlabel("Re")
    for ax in axes[::3]:
        ax.set_ylabel("Im")
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
    fig, axes = panel_grid(len(by) + 1, panel=(3.4, 3.0))
    panels = [(None, axes[0])] + [(b, axes[i + 1]) for i, b in enumerate(by)]
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
    axes[0].legend(fontsize=7, loc="upper left")
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


# --------------------------------------------------------------------------- the slow manifold (issue 15)
def _legend_present(ax, **kw) -> None:
    """A legend of the labelled artists actually drawn (none if there are none)."""
    handles, names = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, names, **kw)


def _speed_segments(Y: np.ndarray, v: np.ndarray):
    """Segments ``(T-1, 2, 2)`` of a 2-D path ``Y: (T, 2)`` and the log10 speed of each (its start's)."""
    seg = np.stack([Y[:-1], Y[1:]], 1)
    ok = np.isfinite(seg).all((1, 2)) & np.isfinite(v[:-1]) & (v[:-1] > 0)
    return seg[ok], np.log10(v[:-1][ok])


def manifold_state_space(manifold, network: int = 0, *, test_states=None, task: SPMTask | None = None,
                         title: str | None = None, ax=None) -> Figure:
    """One network's memory in the plane of its first two principal components, coloured by speed.

    Drawn: the autonomous runs from the four trial-end states (squares: their starts) and, if
    given, ``test_states: (T, K, N)`` (that network's test trials, e.g.
    ``ActivityProfile.states[:, b]``; only their delay windows if ``task`` is given; their speed
    is ``|x(t + dt) - x(t)| / (dt sqrt(N))``), every segment coloured by ``log10(speed /
    reference speed)``; the fixed points found on the memory (filled: stable, open: unstable) and
    its slow points (crosses). The legend lists only the kinds drawn.

    Args:
        manifold: a :class:`~slowmem.analysis.manifold.SlowManifold`.
    """
    from matplotlib.collections import LineCollection

    m = manifold
    if not 0 <= network < m.B:
        raise ConfigError(f"network must be in 0..{m.B - 1}; got {network}")
    b = network
    vref = float(m.reference_speed[b])
    dt = m.dt
    runs = _np(m.runs.states[:, b])                                       # (R, 4, N)
    rv = m.runs.speed[m.runs.record_steps, b]                             # (R, 4)
    last = m.settle_step[b].max() if (m.settle_step[b] >= 0).all() else m.runs.steps
    keep = m.runs.record_steps <= last + 10 * (m.runs.record_steps[1] - m.runs.record_steps[0]
                                              if len(m.runs.record_steps) > 1 else 1)
    runs, rv = runs[keep], rv[keep]
    parts = [runs.reshape(-1, runs.shape[-1])]
    pieces = []                                                           # (T_i, K, N) stretches of test trials
    if test_states is not None:
        T = _np(test_states).astype(np.float64)
        if T.ndim != 3 or T.shape[-1] != runs.shape[-1]:
            raise ShapeError(f"test_states must be (T, K, N={runs.shape[-1]}); got shape {T.shape}")
        pieces = [T[task.windows[p]] for p in ("delay1", "delay2")] if task is not None else [T]
        parts += [p.reshape(-1, p.shape[-1]) for p in pieces]
    mine = m.point_network == b
    P = _np(m.point_x)[mine]
    flat = np.concatenate(parts + [P])
    flat = flat[np.isfinite(flat).all(1)]
    mean = flat.mean(0)
    _, sv, vt = np.linalg.svd(flat - mean, full_matrices=False)
    pcs = vt[:2].T
    expl = sv[:2] ** 2 / max((sv ** 2).sum(), 1e-300)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.2, 4.8), constrained_layout=True)
    else:
        fig = ax.figure
    segs, cols = [], []
    for T in pieces:
        Yt = (T - mean) @ pcs
        vt_ = np.linalg.norm(np.diff(T, axis=0), axis=-1) / (dt * np.sqrt(T.shape[-1]))
        vt_ = np.concatenate([vt_, vt_[-1:]])
        for k in range(T.shape[1]):
            s_, c_ = _speed_segments(Yt[:, k], vt_[:, k] / vref)
            segs.append(s_)
            cols.append(c_)
    Yr = (runs - mean) @ pcs
    for k in range(runs.shape[1]):
        s_, c_ = _speed_segments(Yr[:, k], rv[:, k] / vref)
        segs.append(s_)
        cols.append(c_)
    segs, cols = np.concatenate(segs), np.concatenate(cols)
    lo = np.log10(m.settled_speed[b] / vref) if np.isfinite(m.settled_speed[b]) else cols.min()
    lc = LineCollection(segs, array=cols, cmap="viridis", linewidths=1.2, norm=plt.Normalize(lo, max(cols.max(), 0)))
    ax.add_collection(lc)
    ax.plot(Yr[0, :, 0], Yr[0, :, 1], "s", color="0.3", ms=5, ls="", label="trial-end state (run start)")
    _mark_memory_points(ax, m, mine, (P - mean) @ pcs)
    ax.autoscale_view()
    fig.colorbar(lc, ax=ax, label="log10(speed / reference speed)")
    ax.set_xlabel(f"PC 1 ({100 * expl[0]:.0f}% var.)")
    ax.set_ylabel(f"PC 2 ({100 * expl[1]:.0f}% var.)" if len(expl) > 1 else "PC 2")
    ax.set_title(title or f"memory trajectories and slow points, seed {int(m.seeds[b])}")
    _legend_present(ax, fontsize=7, loc="best")
    return fig


def _mark_memory_points(ax, m, mine: np.ndarray, Q: np.ndarray) -> None:
    """Mark one network's points on the memory (``mine`` selects them, ``Q`` their 2-D projection): only the
    kinds present, each with a legend entry."""
    fixed = m.point_fixed[mine]
    stable_all = np.zeros(len(m.point_fixed), dtype=bool)
    stable_all[m.point_index] = m.points.is_stable.numpy()
    stable = stable_all[mine]
    for z, (sel, kw, name) in enumerate((
            (~fixed, dict(marker="x", color="crimson", ms=7, mew=1.5), "slow point"),
            (fixed & ~stable, dict(marker="o", mfc="white", mec="k", ms=8), "unstable fixed point"),
            (fixed & stable, dict(marker="o", color="k", ms=7), "stable fixed point"))):
        if sel.any():
            ax.plot(Q[sel, 0], Q[sel, 1], ls="", label=name, zorder=5 + z, **kw)


def speed_profiles(manifold, labels: Sequence[str], *, networks: Sequence[int] | None = None) -> Figure:
    """Speed along the memory, relative to each network's reference speed, one line per network.

    Panels: delay 1 and delay 2 of the test trials (median over the 16 trials, time since the
    delay's onset) and the autonomous runs from the trial-end states (median over the 4 runs,
    log-log). Lines are coloured by ``labels[i]`` (the mechanism of network ``networks[i]``);
    dashed lines mark the slow and the settled speed. The legend lists the mechanisms drawn.
    """
    m = manifold
    nets = list(range(m.B)) if networks is None else list(networks)
    if len(labels) != len(nets):
        raise ConfigError(f"labels must give one mechanism per network drawn ({len(nets)}); got {len(labels)}")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), constrained_layout=True,
                             gridspec_kw={"width_ratios": [1, 1, 1.6]})
    seen = set()
    for b, lab in zip(nets, labels):
        if not 0 <= b < m.B:
            raise ConfigError(f"networks must be in 0..{m.B - 1}; got {b}")
        c = MECHANISM_COLORS.get(lab, "k")
        name = None if lab in seen else lab
        seen.add(lab)
        vref = m.reference_speed[b]
        for ax, p in zip(axes[:2], ("delay1", "delay2")):
            v = np.median(m.delay_speed[p][:, b], axis=1) / vref
            ax.semilogy(np.arange(len(v)) * m.dt, v, color=c, lw=1.2, label=name)
        settle = m.settle_step[b]
        stop = int(1.2 * settle.max()) + 1 if (settle >= 0).all() else m.runs.steps      # a little past settling
        v = np.median(m.runs.speed[:stop, b], axis=1) / vref
        t = np.arange(1, len(v) + 1) * m.dt
        axes[2].loglog(t, v, color=c, lw=1.2, label=name)
    ratio_slow = np.nanmedian(m.slow_speed / m.reference_speed)
    ratio_settled = np.nanmedian(m.settled_speed / m.reference_speed)
    for ax in axes:
        ax.axhline(ratio_slow, color="0.4", ls="--", lw=0.8, label="slow speed" if ax is axes[2] else None)
        ax.set_ylabel("speed / reference speed")
    axes[2].axhline(ratio_settled, color="0.4", ls=":", lw=0.8, label="settled speed")
    if np.isfinite(ratio_settled):
        axes[2].set_ylim(bottom=ratio_settled / 30)
    axes[0].set_title("delay 1 (test trials)")
    axes[1].set_title("delay 2 (test trials)")
    axes[2].set_title("autonomous runs from the trial-end states")
    axes[0].set_xlabel("time since delay onset (tau)")
    axes[1].set_xlabel("time since delay onset (tau)")
    axes[2].set_xlabel("time (tau)")
    _legend_present(axes[2], fontsize=7, loc="lower left")
    return fig


def slow_point_share(df: pd.DataFrame, *, by: str = "fb", column: str = "mechanism",
                     value: str = "n_slow_points_on_memory") -> Figure:
    """Share of networks with at least one slow point on the memory, per level of ``by``, one bar per mechanism.

    ``df``: one row per network with columns ``column``, ``by`` and ``value`` (e.g. the networks of
    ``book/data/manifold_check.json``). Bars are annotated with the number of networks.
    """
    check_frame(df, [column, by, value])
    present = [mm for mm in MECHANISMS if (df[column] == mm).any()]
    levels = sorted(df[by].unique())
    fig, ax = plt.subplots(figsize=(1.6 + 0.9 * len(levels), 3.2), constrained_layout=True)
    w = 0.8 / max(len(present), 1)
    for i, mm in enumerate(present):
        sub = df[df[column] == mm]
        label = mm
        for j, lev in enumerate(levels):
            s = sub[sub[by] == lev]
            if not len(s):
                continue
            share = float((pd.to_numeric(s[value], errors="coerce").fillna(0) >= 1).mean())
            x = j + (i - (len(present) - 1) / 2) * w
            ax.bar(x, share, width=w, color=MECHANISM_COLORS[mm], label=label)
            label = None
            ax.text(x, share + 0.02, f"{len(s)}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(levels)), [f"{v:g}" for v in levels])
    ax.set_xlabel(by)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share with >= 1 slow point\non the memory")
    _legend_present(ax, fontsize=7, loc="upper left", ncol=2)
    return fig
