"""Memory under stress, per network: forgetting, distraction, interruption (claims C4, C6; book: Methods).

The entry point of the analysis registry is :func:`summarize` (one JSON-ready
dict per network). :func:`run_memory` returns the full results, whose
:meth:`MemoryResults.frames` are tidy DataFrames for the book's figures;
:func:`frames_from_summaries` rebuilds the same tables from stored summaries
(e.g. a sweep's records), and :func:`bootstrap_band` gives the
bootstrap-over-networks bands drawn by :mod:`slowmem.plots_memory`.

Defaults of :func:`summarize`: the forgetting curve runs on a coarser delay grid
than the paper's (1 to 200 time units by ``summary_delay_step`` = 2, i.e. 100
delays instead of 399) so that one N = 300 network's summary takes seconds,
not a minute; pass ``delay_step=0.5`` for the paper's grid. Distraction and
interruption run their paper levels plus a control level (sigma = 0: no
noise; fraction = 0: nothing silenced).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import ConfigError, MemoryConfig
from ..errors import StoredFileError
from ..runtime import Runtime
from ..system import DynamicalSystem
from ..task import SPMTask
from .forgetting import ForgettingCurve, forgetting_curves, memory_config
from .precision import CENSORING, condition_mean_se, noise_tolerance, noise_tolerance_se
from .robustness import StressTest, distraction, interruptions

__all__ = ["MemoryResults", "run_memory", "summarize", "frames_from_summaries", "bootstrap_band",
           "level_key"]


def level_key(x: float) -> str:
    """The JSON key of a level (sigma, fraction, delay): ``0.25 -> "0.25"``, ``1.0 -> "1"``."""
    return f"{float(x):g}"


@dataclass
class MemoryResults:
    """The memory analyses of B networks, under every protocol asked for.

    Attributes:
        forgetting: protocol (``replace``, ``extend``) -> :class:`ForgettingCurve`.
        distraction: distractor (``literal``, ``zero_mean``) -> :class:`StressTest`.
        interruption: protocol (``stim1``, ``whole_trial``) -> :class:`StressTest`.
        cfg: the settings they were computed with.
    """

    forgetting: dict[str, ForgettingCurve]
    distraction: dict[str, StressTest]
    interruption: dict[str, StressTest]
    cfg: MemoryConfig

    def frames(self) -> dict[str, pd.DataFrame]:
        """Tidy tables with a ``protocol`` / ``distractor`` column: ``forgetting`` (seed, delay,
        failure_prob, ...), ``horizon`` (seed, memory_horizon, forgets, n_fixed_time, n_asymptotic),
        ``distraction`` (seed, sigma, failure_ratio, ...), ``interruption`` (seed, fraction, n_off, ...)."""
        def cat(d, key, fn):
            return pd.concat([fn(v).assign(**{key: k}) for k, v in d.items()], ignore_index=True)
        return {"forgetting": cat(self.forgetting, "protocol", lambda c: c.to_frame()),
                "horizon": cat(self.forgetting, "protocol", lambda c: c.horizon_frame()),
                "distraction": cat(self.distraction, "distractor", lambda t: t.to_frame()),
                "interruption": cat(self.interruption, "protocol", lambda t: t.to_frame())}

    def summaries(self) -> list[dict]:
        """One JSON-ready dict per network (see :func:`summarize`)."""
        cfg = self.cfg
        B = len(next(iter(self.forgetting.values())).seeds)
        out = [{"forgetting": {}, "distraction": {}, "interruption": {}} for _ in range(B)]
        for proto, fc in self.forgetting.items():
            horizon, half = fc.memory_horizon(), fc.half_failure_delay(cfg.half_failure)
            counts, p = fc.failure_type_counts(), fc.failure_probability()
            long_fail, long_se = condition_mean_se(fc.failed, fc.delays >= cfg.long_delay_from - 1e-9)
            for b in range(B):
                out[b]["forgetting"][proto] = {
                    "delays": [float(d) for d in fc.delays], "failure_probability": [float(v) for v in p[b]],
                    "trials_per_delay": int(fc.failed.shape[-1]), "memory_horizon": horizon[b],
                    "half_failure_delay": half[b], "long_delay_failure": _f(long_fail[b]),
                    "long_delay_failure_se": _f(long_se[b]), "failure_types": counts[b]}
        for key, tests in (("distraction", self.distraction), ("interruption", self.interruption)):
            for name, st in tests.items():
                for b, entry in enumerate(_stress_entries(st, cfg, with_tolerance=key == "distraction")):
                    out[b][key][name] = entry
        first = self.forgetting[cfg.forgetting_protocols[0]]
        it = next(iter(self.interruption.values()))
        for b in range(B):
            ours = out[b]["forgetting"][cfg.forgetting_protocols[0]]
            out[b].update(memory_horizon=ours["memory_horizon"], forgets=ours["memory_horizon"] is not None,
                          half_failure_delay=ours["half_failure_delay"], long_delay_failure=ours["long_delay_failure"],
                          long_delay_failure_se=ours["long_delay_failure_se"],
                          n_off_by_fraction={level_key(f): int(n) for f, n in zip(it.levels, it.n_off)},
                          trials_per_level=int(it.failed.shape[-1]), trials_per_delay=int(first.failed.shape[-1]))
        return out


def _f(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _stress_entries(st: StressTest, cfg: MemoryConfig, *, with_tolerance: bool) -> list[dict]:
    """Per network of one stress test: the failure curve, its mean over the disturbed levels with a standard
    error over conditions, and (distraction) the noise tolerance with the standard error of its log2."""
    order = np.argsort(st.levels)
    levels, failed = st.levels[order], st.failed[:, order]
    r = failed.mean(-1)
    disturbed = levels > 0
    mean, se = condition_mean_se(failed, disturbed)
    if with_tolerance and disturbed.any():
        tol, cens = noise_tolerance(levels, r, cfg.tolerance_failure)
        tol_se = noise_tolerance_se(levels, failed, cfg.tolerance_failure, n_resamples=cfg.tolerance_resamples)
    out = []
    for b in range(len(st.seeds)):
        e = {"failure_ratio": {level_key(x): float(v) for x, v in zip(levels, r[b])},
             "mean_failure": _f(mean[b]), "mean_failure_se": _f(se[b]),
             "trials_per_level": int(failed.shape[-1])}
        if with_tolerance and disturbed.any():
            e.update(tolerance=_f(tol[b]), log2_tolerance=_f(np.log2(tol[b])), log2_tolerance_se=_f(tol_se[b]),
                     tolerance_censored=CENSORING[int(cens[b])])
        out.append(e)
    return out


def _with_control(levels: Sequence[float]) -> tuple[float, ...]:
    return tuple(levels) if 0.0 in levels else (0.0, *levels)


def run_memory(networks: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
               cfg: MemoryConfig | None = None, delays: Sequence[float] | None = None,
               delay_step: float | None = None, sigmas: Sequence[float] | None = None,
               fractions: Sequence[float] | None = None, progress: bool = False,
               runtime: Runtime | None = None) -> MemoryResults:
    """Forgetting curve, distraction and interruption of B networks.

    Args:
        trial_end_states: ``(B, 4, N)`` start states.
        delays / delay_step: the grid of total delay-1 durations (default: ``cfg.delay_step`` = 0.5,
            the paper's 399 delays); the ``extend`` protocol reads those beyond the nominal
            delay 1 as extra delays (:func:`~slowmem.analysis.forgetting.forgetting_curves`).
        sigmas: noise levels (default: 0 and ``cfg.sigmas``).
        fractions: silenced fractions (default: 0 and ``cfg.interruption_fractions``).
        runtime: run settings (:class:`~slowmem.runtime.Runtime`: simulation precision, chunk size;
            None: the defaults); never part of the result's identity.
    """
    cfg = memory_config(cfg)
    sig = _with_control(cfg.sigmas) if sigmas is None else sigmas
    fra = _with_control(cfg.interruption_fractions) if fractions is None else fractions
    fc = forgetting_curves(networks, task, trial_end_states, delays=delays, delay_step=delay_step, cfg=cfg,
                           progress=progress, runtime=runtime)
    ds: dict[str, StressTest] = {}
    for d in cfg.distractors:          # the noiseless control is simulated once, for the first distractor
        first = next(iter(ds.values()), None)
        control = first.select_level(0.0) if first is not None and 0.0 in sig else None
        ds[d] = distraction(networks, task, trial_end_states, sigmas=sig, cfg=cfg, distractor=d, progress=progress,
                            control=control, repeats=None if first is None else cfg.variant_repeats, runtime=runtime)
    it = interruptions(networks, task, trial_end_states, fractions=fra, cfg=cfg, progress=progress,
                       repeats={p: cfg.variant_repeats for p in cfg.interruptions[1:]}, runtime=runtime)
    return MemoryResults(fc, ds, it, cfg)


def summarize(networks: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
              progress: bool = False, cfg: MemoryConfig | None = None, delay_step: float | None = None,
              sigmas: Sequence[float] | None = None, fractions: Sequence[float] | None = None,
              runtime: Runtime | None = None) -> list[dict]:
    """Memory under stress, one JSON-ready dict per network (same order as ``networks.seeds``).

    Keys of each dict (summary version 4):

    * ``forgetting``: per protocol of ``cfg.forgetting_protocols`` (``replace``,
      ``extend``): ``delays``, ``failure_probability`` (lists),
      ``trials_per_delay``, ``memory_horizon`` (first delay with a failed
      trial; None if none), ``half_failure_delay`` (first delay whose failure
      probability reaches ``cfg.half_failure``; None if none),
      ``long_delay_failure`` (mean failure probability over delays
      ``>= cfg.long_delay_from``), ``failure_types`` (``{"fixed-time": n,
      "asymptotic": m}`` over all failed trials), ``long_delay_failure_se`` (its standard error over the
      network's conditions, :func:`~slowmem.analysis.precision.condition_mean_se`).
    * ``distraction``: per distractor of ``cfg.distractors`` (``literal``,
      ``zero_mean``): ``failure_ratio`` (``{"0": r, "0.1": r, ...}``, ``"0"``
      the noiseless control), ``mean_failure`` (over the disturbed levels:
      the area under the failure curve, each level weighted alike) and
      ``trials_per_level`` (the readings after the first run
      ``cfg.variant_repeats`` of the draws: fewer trials, the same ones),
      ``mean_failure_se`` (over conditions), ``tolerance`` (the level at which the failure ratio first
      reaches ``cfg.tolerance_failure``, :func:`~slowmem.analysis.precision.noise_tolerance`),
      ``log2_tolerance``, ``log2_tolerance_se`` (resampling the conditions) and
      ``tolerance_censored`` (None, or which bound the tolerance is).
    * ``interruption``: per protocol of ``cfg.interruptions`` (``stim1``,
      ``whole_trial``): the same keys over silenced fractions, without the tolerance.
    * the first protocol's ``memory_horizon``, ``forgets``,
      ``half_failure_delay``, ``long_delay_failure``, ``long_delay_failure_se`` also at the top level;
      ``n_off_by_fraction``, ``trials_per_level``, ``trials_per_delay``.

    The delay grid defaults to ``cfg.summary_delay_step`` (2 time units, 100
    delays) to keep the summary fast; ``delay_step=0.5`` gives the paper's grid.
    ``runtime``: the run settings (:class:`~slowmem.runtime.Runtime`), as in :func:`run_memory`.
    """
    cfg = memory_config(cfg)
    step = cfg.summary_delay_step if delay_step is None else delay_step
    res = run_memory(networks, task, trial_end_states, cfg=cfg, delay_step=step, sigmas=sigmas,
                     fractions=fractions, progress=progress, runtime=runtime)
    return res.summaries()


def frames_from_summaries(summaries: Sequence[Mapping[str, Any]], seeds: Sequence[Any],
                          meta: pd.DataFrame | None = None, *, key: str = "seed") -> dict[str, pd.DataFrame]:
    """The tidy tables of :meth:`MemoryResults.frames` rebuilt from :func:`summarize`'s dicts.

    Args:
        summaries: one ``summarize`` dict per network (summary version 2).
        seeds: the networks' identifiers, same order (seeds, or sweep network ids).
        meta: optional per-network table with a ``key`` column (e.g. a
            ``mechanism`` label); its other columns are merged into every table.
        key: name of the identifier column (``seed``; ``network_id`` for a sweep
            population, where seeds repeat across settings).
    Returns:
        ``{"forgetting", "horizon", "distraction", "interruption"}`` DataFrames,
        each with a ``protocol`` (``distractor``) column.
    """
    if len(summaries) != len(seeds):
        raise ConfigError(f"summaries and seeds must have the same length; got {len(summaries)} and {len(seeds)}")
    fr, hz, ds, it = [], [], [], []
    for s, d in zip(seeds, summaries):
        if not isinstance(d.get("forgetting"), Mapping) or "delays" in d["forgetting"]:
            raise StoredFileError("a stored memory summary is of version 1 (slowmem 0.1); rerun the sweep command "
                              "that made the population to recompute it")
        for proto, f in d["forgetting"].items():
            fr.append(pd.DataFrame({key: s, "protocol": proto, "delay": np.asarray(f["delays"], float),
                                    "failure_prob": np.asarray(f["failure_probability"], float)}))
            h = f["memory_horizon"]
            hz.append({key: s, "protocol": proto, "memory_horizon": np.nan if h is None else float(h),
                       "forgets": h is not None,
                       "half_failure_delay": np.nan if f["half_failure_delay"] is None else f["half_failure_delay"],
                       "long_delay_failure": np.nan if f["long_delay_failure"] is None else f["long_delay_failure"],
                       "n_fixed_time": int(f["failure_types"]["fixed-time"]),
                       "n_asymptotic": int(f["failure_types"]["asymptotic"])})
        for name, t in d["distraction"].items():
            ds.append(pd.DataFrame({key: s, "distractor": name, "sigma": [float(k) for k in t["failure_ratio"]],
                                    "failure_ratio": list(t["failure_ratio"].values())}))
        n_off = d.get("n_off_by_fraction", {})
        for name, t in d["interruption"].items():
            it.append(pd.DataFrame({key: s, "protocol": name, "fraction": [float(k) for k in t["failure_ratio"]],
                                    "n_off": [n_off.get(k, -1) for k in t["failure_ratio"]],
                                    "failure_ratio": list(t["failure_ratio"].values())}))
    out = {"forgetting": pd.concat(fr, ignore_index=True) if fr else pd.DataFrame(),
           "horizon": pd.DataFrame(hz),
           "distraction": pd.concat(ds, ignore_index=True) if ds else pd.DataFrame(),
           "interruption": pd.concat(it, ignore_index=True) if it else pd.DataFrame()}
    if meta is not None:
        if key not in meta.columns:
            raise ConfigError(f"meta must have a {key!r} column")
        out = {k: v.merge(meta, on=key, how="left") if len(v) else v for k, v in out.items()}
    return out


def bootstrap_band(frame: pd.DataFrame, x: str, y: str, *, by: str | None = None, n_boot: int = 1000,
                   level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Mean of ``y`` over networks at each ``x``, with a bootstrap-over-networks band.

    Networks (rows' ``network_id`` if the table has one, else ``seed``) are
    resampled with replacement ``n_boot`` times
    (a fixed generator from ``seed``: the same input gives the same band); the
    band is the central ``level`` interval of the resampled means. NaN values
    are ignored in means.

    Returns:
        One row per (``by`` group,) ``x``: ``[by], x, mean, lo, hi, n_networks``.
    """
    unit = "network_id" if "network_id" in frame.columns else "seed"
    for c in (x, y, unit) + ((by,) if by else ()):
        if c not in frame.columns:
            raise ConfigError(f"bootstrap_band: column {c!r} not in the table; have {list(frame.columns)}")
    if not 0 < level < 1:
        raise ConfigError(f"level must be in (0, 1); got {level}")
    if int(n_boot) < 1:
        raise ConfigError(f"n_boot must be >= 1; got {n_boot}")
    rng = np.random.default_rng(seed)
    parts = []
    groups = frame.groupby(by, sort=True) if by else [(None, frame)]
    for key, g in groups:
        table = g.pivot_table(index=unit, columns=x, values=y, aggfunc="mean")     # networks x levels
        vals = table.to_numpy(dtype=np.float64)
        n = vals.shape[0]
        idx = rng.integers(0, n, size=(int(n_boot), n))
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                boots = np.nanmean(vals[idx], axis=1)                              # (n_boot, n_x)
                lo, hi = np.nanquantile(boots, [(1 - level) / 2, (1 + level) / 2], axis=0)
                mean = np.nanmean(vals, axis=0)
        d = {x: table.columns.to_numpy(), "mean": mean, "lo": lo, "hi": hi,
             "n_networks": np.isfinite(vals).sum(0)}
        if by:
            d = {by: key if not isinstance(key, tuple) else key[0], **d}
        parts.append(pd.DataFrame(d))
    return pd.concat(parts, ignore_index=True)
