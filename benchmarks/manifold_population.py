"""The slow manifold on the stored book population (issue 15): slow points, speed profiles, cost.

For every successful network of a stored population (default ``book/data/population``; the stored
manifold_check.json records which) (or ``--limit`` networks of each mechanism, a seeded random sample):
the test trials (:func:`slowmem.analysis.activity.activity_profile`, as the dynamics analysis runs
them) and :func:`slowmem.analysis.manifold.analyze_manifold` with the default settings, one network
at a time on one thread (its CPU time is the cost per network); then the same search under
one-at-a-time changes of its criterion settings (sensitivity). Writes one JSON document:

* ``networks``: per network its grid settings, stored mechanism, memory horizon and the manifold
  summary (default settings), CPU seconds;
* ``share``: per mechanism (and per fb) the share of networks with >= 1 slow point on the memory;
* ``separation``: speed-profile numbers of slow-manifold (SM) against fixed-point (FP) networks:
  difference of medians (SM - FP) with a 95 % bootstrap interval (``scipy.stats.bootstrap``,
  percentile method, 9999 resamples), over all networks and like for like within fb = 1 (every FP
  network has fb = 1);
* ``sensitivity``: the share of SM and FP networks with slow points when one setting changes;
* ``cost``: CPU seconds per network (median, max).

Usage (about 15 minutes on one core for all 72 networks)::

    PYTHONPATH=. python benchmarks/manifold_population.py --json book/data/manifold_check.json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import torch

from slowmem import __version__
from slowmem.analysis.activity import activity_profile
from slowmem.analysis.manifold import analyze_manifold
from slowmem.config import DynamicsConfig
from slowmem.report import load_population
from slowmem.store import write_document

#: One-at-a-time changes of the criterion settings. A fixed-point reach below ``point_tolerance``
#: (0.02) acts as ``point_tolerance`` -- a slow point that close to a fixed point merges into it --
#: so the 0.01 variant shows that it changes nothing.
VARIANTS = {
    "manifold_slow_ratio": (0.02, 0.1),
    "manifold_damping_rate": (0.2, 1.0),
    "manifold_fixed_reach": (0.01, 0.05),
    "manifold_lm_steps": (6, 24),
}
#: Speed-profile numbers compared between SM and FP networks (log10 where marked).
METRICS = {"slow_duration": True, "time_to_fixed_point": True, "delay_end_speed_ratio": True,
           "delay_speed_ratio": True, "n_slow_points_on_memory": False, "slowest_eigenvalue": False,
           "drift_eigenvector_angle_deg": False}


def _bootstrap_diff(a: np.ndarray, b: np.ndarray, seed: int = 0) -> dict:
    from scipy.stats import bootstrap

    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    out = {"n_sm": int(a.size), "n_fp": int(b.size),
           "median_sm": float(np.median(a)) if a.size else None, "median_fp": float(np.median(b)) if b.size else None}
    if a.size < 2 or b.size < 2:
        return {**out, "difference": None, "ci95": None}
    res = bootstrap((a, b), lambda x, y, axis=-1: np.median(x, axis=axis) - np.median(y, axis=axis),
                    n_resamples=9999, method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    return {**out, "difference": float(np.median(a) - np.median(b)),
            "ci95": [float(res.confidence_interval.low), float(res.confidence_interval.high)]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--population", default="book/data/population")
    p.add_argument("--json", default="book/data/manifold_check.json")
    p.add_argument("--limit", type=int, default=None,
                   help="at most this many networks per mechanism (a seeded random sample of each)")
    p.add_argument("--no-variants", action="store_true", help="skip the sensitivity runs")
    a = p.parse_args()
    torch.set_num_threads(1)
    pop = load_population(a.population)
    ok = pop.successful
    label = ok["dynamics.mechanism"]
    if a.limit:   # a seeded random sample per mechanism, so that it spans the feedback scales, not the first folder
        picked = [d.sample(n=min(a.limit, len(d)), random_state=0) for _, d in ok.groupby(label)]
        ok = pd.concat(picked).sort_index().reset_index(drop=True)
    memory = {r.network_id: s for r, s in zip(ok.itertuples(), pop.analysis_summaries("memory", ok))}
    base = DynamicsConfig()
    rows, sens = [], {(k, v): [] for k, vals in VARIANTS.items() for v in vals}
    t_all = time.perf_counter()
    for i, r in enumerate(ok.itertuples()):
        nets, ends, task = pop.networks([r.network_id])
        act = activity_profile(nets, task, ends, cfg=base, keep_states=True)
        c0, w0 = time.process_time(), time.perf_counter()
        res = analyze_manifold(nets, task, ends, test_states=act.states, trial_types=act.trial_types, cfg=base)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        summ = res.summary(0)
        mech = str(ok.loc[i, "dynamics.mechanism"])
        row = {"network_id": r.network_id, "mechanism": mech, "g": float(r.g), "pg": float(r.pg), "fb": float(r.fb),
               "seed": int(r.seed), "memory_horizon": (memory.get(r.network_id) or {}).get("memory_horizon"),
               "cpu_seconds": cpu, "wall_seconds": wall, "stage_seconds": res.seconds,
               **{k: v for k, v in summ.items() if not isinstance(v, list)},
               **{k: v for k, v in summ.items() if isinstance(v, list)}}
        rows.append(row)
        if not a.no_variants:
            for (k, v) in sens:
                cfg = dataclasses.replace(base, **{k: v})
                rv = analyze_manifold(nets, task, ends, test_states=act.states, trial_types=act.trial_types, cfg=cfg)
                sens[(k, v)].append(rv.summary(0)["n_slow_points_on_memory"])
        print(f"[{i + 1}/{len(ok)}] {r.network_id} {mech}: {summ['n_slow_points_on_memory']} slow, "
              f"{summ['n_fixed_points_on_memory']} fixed, {cpu:.2f} s CPU", file=sys.stderr, flush=True)
    mechs = [m for m in ("slow manifold", "fixed points", "limit cycle", "far/mixed") if any(x["mechanism"] == m
                                                                                            for x in rows)]
    share = {}
    for m in mechs:
        mine = [x for x in rows if x["mechanism"] == m]
        by_fb = {}
        for fb in sorted({x["fb"] for x in mine}):
            sub = [x for x in mine if x["fb"] == fb]
            by_fb[f"{fb:g}"] = {"n": len(sub),
                                "n_with_slow_points": sum(x["n_slow_points_on_memory"] >= 1 for x in sub)}
        n_with = sum(x["n_slow_points_on_memory"] >= 1 for x in mine)
        share[m] = {"n": len(mine), "n_with_slow_points": n_with, "share": n_with / len(mine),
                    "median_n_slow_points": float(np.median([x["n_slow_points_on_memory"] for x in mine])),
                    "by_fb": by_fb}
    sm = [x for x in rows if x["mechanism"] == "slow manifold"]
    fp = [x for x in rows if x["mechanism"] == "fixed points"]

    def values(group, key, log):
        v = np.array([np.nan if x.get(key) is None else x[key] for x in group], dtype=float)
        return np.log10(v) if log else v

    separation = {}
    for key, log in METRICS.items():
        separation[key] = {"log10": log, "all": _bootstrap_diff(values(sm, key, log), values(fp, key, log)),
                           "fb1": _bootstrap_diff(values([x for x in sm if x["fb"] == 1], key, log),
                                                  values(fp, key, log))}
    sensitivity = []
    idx = {x["network_id"]: j for j, x in enumerate(rows)}
    for (k, v), counts in sens.items():
        entry = {"parameter": k, "value": v, "default": getattr(base, k)}
        for m in mechs:
            sel = [idx[x["network_id"]] for x in rows if x["mechanism"] == m]
            entry[m] = float(np.mean([counts[j] >= 1 for j in sel])) if counts else None
        sensitivity.append(entry)
    horizon = np.array([np.nan if x["memory_horizon"] is None else x["memory_horizon"] for x in sm], float)
    tm = np.array([np.nan if x["measured_time_constant"] is None else x["measured_time_constant"] for x in sm], float)
    ti = np.array([np.nan if x["implied_time_constant"] is None else x["implied_time_constant"] for x in sm], float)
    from scipy.stats import spearmanr

    def rho(u, w):
        m = np.isfinite(u) & np.isfinite(w)
        return {"n": int(m.sum()), "spearman": float(spearmanr(u[m], w[m]).statistic) if m.sum() > 2 else None}

    cpu = np.array([x["cpu_seconds"] for x in rows])
    doc = {
        "what": "slow points on the memory, speed profiles and slow directions of the stored book population "
                "(issue 15)",
        "command": "PYTHONPATH=. python benchmarks/manifold_population.py " + " ".join(sys.argv[1:]),
        "slowmem_version": __version__,
        "population": a.population,
        "settings": {k: v for k, v in dataclasses.asdict(base).items() if k.startswith("manifold_")
                     or k in ("tol_fixed", "point_tolerance")},
        "n_networks": len(rows),
        "share": share,
        "separation": separation,
        "sensitivity": sensitivity,
        "time_constants_sm": {"implied_vs_measured": rho(ti, tm), "measured_vs_memory_horizon": rho(tm, horizon),
                              "median_implied": float(np.nanmedian(ti)) if np.isfinite(ti).any() else None,
                              "median_measured": float(np.nanmedian(tm)) if np.isfinite(tm).any() else None},
        "cost": {"cpu_seconds_median": float(np.median(cpu)), "cpu_seconds_max": float(cpu.max()),
                 "cpu_seconds_mean": float(cpu.mean()), "threads": 1, "cpus_on_machine": os.cpu_count(),
                 "total_wall_seconds": time.perf_counter() - t_all},
        "networks": rows,
    }
    write_document(a.json, doc)
    print(json.dumps({k: doc[k] for k in ("share", "cost")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
