"""All dynamical-systems analyses of a batch of trained networks, and their summary.

:func:`analyze_dynamics` runs, on B networks at once,

1. the attractor probe (:mod:`~slowmem.analysis.attractors`, book: Methods, Taxonomy),
2. the taxonomy (:mod:`~slowmem.analysis.mechanisms`, claims C1, C2) and the
   efficiency (C5),
3. the activation profile on test trials (:mod:`~slowmem.analysis.activity`, C3),
4. only with ``cfg.sampled_slow_points`` (off by default; chapter 3 turns it
   on): the sampled slow-point finder (:mod:`~slowmem.analysis.slowpoints`),
   started from states along the probe's runs (its snapshots) and along the
   test trials of step 3, and the slow-manifold cross-check,
5. the slow manifold on the memory (:mod:`~slowmem.analysis.manifold`):
   slow points seeded along the delays of the test trials of step 3 and
   along autonomous runs from the trial-end states, the speed profiles, and
   the drift direction against the slowest eigenvector.

:func:`summarize` is the registry entry (``ANALYSES["dynamics"]``): one
JSON-ready dict per network. :func:`dynamics_table` is one row per network.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..config import PERIODS, DynamicsConfig, NetworkConfig
from ..runtime import Runtime
from ..system import DynamicalSystem
from ..task import SPMTask
from .activity import ActivityProfile, activity_profile
from .attractors import AttractorProbe, dynamics_config, probe_attractors
from .manifold import SlowManifold, analyze_manifold
from .mechanisms import Mechanisms, OriginalRule, classify, original_rule, slow_manifold_check
from .slowpoints import SlowPoints, find_slow_points, sample_starts
from .tables import flatten_summaries

__all__ = ["DynamicsResult", "analyze_dynamics", "summarize", "dynamics_table"]


@dataclass
class DynamicsResult:
    """Everything the dynamics analyses found for B networks.

    Attributes:
        seeds: ``(B,)``; configs: the B network configs of a system that has them (a
            :class:`~slowmem.network.RateNetworks`), else B times None.
        probe, mechanisms, activity: the first three results.
        slow_points: the sampled slow-point search, or None unless ``cfg.sampled_slow_points``.
        slow_manifold: ``(B,)`` bool, :func:`~slowmem.analysis.mechanisms.slow_manifold_check` (None with
            ``slow_points``).
        seconds: stage name -> wall time.
        manifold: :class:`~slowmem.analysis.manifold.SlowManifold` (slow points on the memory, speed
            profiles, slow directions).
        mechanism_original: ``(B,)`` labels by the authors' literal rule
            (:func:`~slowmem.analysis.mechanisms.classify_original`).
        original: the authors' rule in full (:class:`~slowmem.analysis.mechanisms.OriginalRule`: its
            branch, e.g. far vs mixed, and the counts behind it).
    """

    seeds: np.ndarray
    configs: tuple[NetworkConfig | None, ...]
    probe: AttractorProbe
    mechanisms: Mechanisms
    activity: ActivityProfile
    slow_points: SlowPoints | None
    slow_manifold: np.ndarray | None
    seconds: dict[str, float]
    manifold: SlowManifold | None = None
    mechanism_original: np.ndarray | None = None
    original: OriginalRule | None = None


def analyze_dynamics(networks: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                     cfg: DynamicsConfig | None = None, progress: bool = False,
                     runtime: Runtime | None = None) -> DynamicsResult:
    """Probe, classify, profile and find the slow points of B networks (see the module docstring).

    Args:
        trial_end_states: ``(B, 4, N)`` indexed by trial type.
        cfg: a :class:`~slowmem.config.DynamicsConfig` (defaults if None).
        runtime: run settings (:class:`~slowmem.runtime.Runtime`: the probe's simulation precision and
            chunking, the Newton stage's chunk size; None: the defaults); never part of the result's identity.
    """
    cfg = dynamics_config(cfg)
    sec = {}
    t = time.perf_counter()
    probe = probe_attractors(networks, task, trial_end_states, cfg=cfg, progress=progress, runtime=runtime)
    mech = classify(probe, task, cfg=cfg)
    sec["probe"] = time.perf_counter() - t
    t = time.perf_counter()
    act = activity_profile(networks, task, trial_end_states, cfg=cfg, keep_states=True)
    sec["activity"] = time.perf_counter() - t
    t = time.perf_counter()
    manifold = analyze_manifold(networks, task, trial_end_states, test_states=act.states, trial_types=act.trial_types,
                                cfg=cfg)
    sec["manifold"] = time.perf_counter() - t
    points = check = None
    if cfg.sampled_slow_points:
        t = time.perf_counter()
        snaps = probe.snapshots.to(act.states.dtype)
        starts = sample_starts(networks, [snaps, act.states], cfg.slow_starts)
        points = find_slow_points(networks, starts, cfg=cfg, progress=progress, runtime=runtime)
        check = slow_manifold_check(points, cfg=cfg)
        sec["slow_points"] = time.perf_counter() - t
    act.states = None                                        # the largest array; not needed any more
    configs = tuple(getattr(networks, "configs", None) or (None,) * networks.B)
    orig = original_rule(probe, task, cfg=cfg)
    return DynamicsResult(np.asarray(networks.seeds), configs, probe, mech, act, points,
                          check, sec, manifold, orig.label, orig)


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _summaries(res: DynamicsResult) -> list[dict]:
    p, m, a, s = res.probe, res.mechanisms, res.activity, res.slow_points
    if s is not None:
        counts = s.counts()
        lead = s.leading_eigenvalue().real.cpu().numpy()
        net = s.network.numpy()
    var = [v[f] for v, f in zip(p.output_variance, p.finite)]          # finite starts only
    original = res.mechanism_original if res.mechanism_original is not None else [None] * len(res.seeds)
    o = res.original
    out = []
    for b in range(len(res.seeds)):
        if s is not None:
            mine = net == b
            fixed = s.is_fixed.numpy()[mine]
            sampled = {"slow_points": {
                "n_starts": int(s.n_starts),
                **{k: int(v[b]) for k, v in counts.items()},
                "slow_manifold": bool(res.slow_manifold[b]),
                "leading_eigenvalue_fixed": [float(v) for v in lead[mine][fixed]],
                "leading_eigenvalue_slow": [float(v) for v in lead[mine][~fixed]],
            }}
        else:
            sampled = {}
        out.append({
            "mechanism": str(m.label[b]),
            "mechanism_original": str(original[b]),
            **({"original_rule": {"branch": str(o.branch[b]), "settled": bool(o.settled[b]),
                                  "n_signed_outputs": int(o.n_signed_outputs[b]),
                                  "n_distinct_means": int(o.n_distinct_means[b])}} if o is not None else {}),
            "n_memories": int(m.n_memories),
            "efficiency": _f(m.efficiency[b]),
            "probe": {
                "n_starts": int(p.finite.shape[1]),
                "n_settled": int(m.n_settled[b]),
                "n_oscillating": int(m.n_oscillating[b]),
                "n_far": int(m.n_far[b]),
                "n_attractors": int(m.n_attractors[b]),
                "n_distinct_outputs": int(p.n_distinct_outputs[b]),
                "n_distinct_states": int(p.n_distinct_states[b]),
                "n_distinct_means": int(m.n_distinct_means[b]),
                "max_output_variance": _f(var[b].max() if var[b].size else np.nan),
                "median_output_variance": _f(np.median(var[b]) if var[b].size else np.nan),
                "output_min": _f(np.min(p.output_min[b])),
                "output_max": _f(np.max(p.output_max[b])),
                "final_outputs": sorted({round(float(v), 3) for v in p.final_output[b][p.settled[b]]}),
            },
            **sampled,
            "activity": {
                "saturation_delay": _f(a.saturation_delay[b]),
                "saturation_response": _f(a.saturation_response[b]),
                "phasic_index": _f(a.phasic_index[b]),
                **{f"saturation_{per}": _f(a.period_saturation[per][b]) for per in PERIODS},
            },
            **({"manifold": res.manifold.summary(b)} if res.manifold is not None else {}),
        })
    return out


def summarize(networks: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
              progress: bool = False, cfg: DynamicsConfig | None = None,
              runtime: Runtime | None = None) -> list[dict]:
    """One JSON-ready dict per network (the :data:`slowmem.analysis.ANALYSES` contract).

    Keys: ``mechanism``, ``mechanism_original`` and ``original_rule`` (the authors' literal rule: its
    ``branch``, ``settled``, ``n_signed_outputs``, ``n_distinct_means``), ``n_memories``, ``efficiency``
    (None unless every probe start settled), ``probe`` (start counts, attractor counts,
    variance, output range, the distinct settled final outputs),
    ``slow_points`` (only with ``cfg.sampled_slow_points``: ``n_fixed``,
    ``n_fixed_stable``, ``n_slow``, ``n_slow_stable``, ``slow_manifold`` and
    the leading eigenvalues' real parts), ``activity`` (saturated fractions, ``phasic_index``), ``manifold``
    (:meth:`slowmem.analysis.manifold.SlowManifold.summary`: slow and fixed
    points on the memory, the slowest eigenvalue there, the drift/eigenvector
    angle, implied and measured time constants, the speed profile's summary
    numbers overall and per trial type). ``cfg``: a
    :class:`~slowmem.config.DynamicsConfig` (defaults if None, which is what
    ``slowmem analyze`` and the sweep use). ``runtime``: the run settings, as in :func:`analyze_dynamics`.
    """
    return _summaries(analyze_dynamics(networks, task, trial_end_states, cfg=cfg, progress=progress,
                                       runtime=runtime))


def dynamics_table(result: DynamicsResult) -> pd.DataFrame:
    """One row per network: ``seed, N, g, pg, fb`` (where the system has configs), ``mechanism``, then the
    scalar entries of :func:`summarize`.

    Column names are those of a stored population table
    (:func:`slowmem.store.load_results`; both use :func:`.tables.flatten_summaries`): ``dynamics.<key>``, nested
    keys joined by dots (``dynamics.probe.n_settled``), lists left out, and the
    label also as ``mechanism``; so live and stored tables feed the same plots.
    """
    rows = []
    for c, seed, summ in zip(result.configs, result.seeds, _summaries(result)):
        known = {"N": c.N, "g": c.g, "pg": c.pg, "fb": c.fb} if c is not None else {}
        rows.append({"seed": int(seed), **known, **flatten_summaries({"dynamics": summ})})
    return pd.DataFrame(rows)
