"""Do the fast analyses (issue 14) say what the slow ones said? Per-network summaries, old against new.

    python benchmarks/analysis_agreement.py --json book/data/analysis_agreement.json

Takes up to ``--per-mechanism`` successful networks of each mechanism from a stored population whose
summaries were computed by slowmem 0.2's first analyses (``book/data/book_grid``, removed after this
check; float64 throughout, torch's integrator, every reading on 10 draws, the extend protocol on extra
delays 1, 3, ..., 199),
reruns today's memory and dynamics summaries on the same networks (float32 approach with NumPy/BLAS,
probe stopping at rest, variants on 5 of the 10 draws, the extend protocol on extra delays 2, 4, ...,
194), and reports per measure how often the labels agree and how far the numbers moved (largest and
median absolute difference, and the mean difference, which is what a population comparison sees).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_json  # noqa: E402

#: (name, path into the summary) of the numbers compared.
MEASURES = (
    ("forgetting replace: long-delay failure", ("memory", "forgetting", "replace", "long_delay_failure")),
    ("forgetting extend: long-delay failure", ("memory", "forgetting", "extend", "long_delay_failure")),
    ("distraction literal: mean failure", ("memory", "distraction", "literal", "mean_failure")),
    ("distraction zero-mean: mean failure", ("memory", "distraction", "zero_mean", "mean_failure")),
    ("interruption stim1: mean failure", ("memory", "interruption", "stim1", "mean_failure")),
    ("interruption whole trial: mean failure", ("memory", "interruption", "whole_trial", "mean_failure")),
    ("delay saturation", ("dynamics", "activity", "saturation_delay")),
    ("probe: attractors", ("dynamics", "probe", "n_attractors")),
)
LABELS = (("mechanism", ("dynamics", "mechanism")), ("mechanism (authors' rule)", ("dynamics", "mechanism_original")),
          ("slow point on the memory", ("dynamics", "manifold", "n_slow_points_on_memory")))


def _get(d, path):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def main(argv=None) -> int:
    from slowmem.analysis import analysis_settings, get_analysis
    from slowmem.config import Config
    from slowmem.report.population import load_population

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--population", default="book/data/book_grid")
    p.add_argument("--per-mechanism", type=int, default=6)
    p.add_argument("--json", help="also write the result here")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    pop = load_population(a.population)
    ok = pop.successful
    rows = ok.groupby("mechanism", sort=True).head(a.per_mechanism)
    ids = list(rows["network_id"])
    nets, ends, task = pop.networks(ids)
    cfg = Config.from_dict(json.loads(rows.iloc[0]["config_json"]))
    old = {name: [json.loads(v) for v in rows[f"analysis_{name}"]] for name in ("memory", "dynamics")}
    new, cpu = {}, {}
    for name in ("memory", "dynamics"):
        c0 = time.process_time()
        new[name] = get_analysis(name)(nets, task, ends, cfg=analysis_settings(cfg, name))
        cpu[name] = (time.process_time() - c0) / len(ids)
    per_net = [{"network_id": i, **{n: {"old": old[n][k], "new": new[n][k]} for n in old}} for k, i in enumerate(ids)]
    out = {"population": a.population, "networks": len(ids), "cpu_s_per_network_now": cpu,
           "mechanisms": rows["mechanism"].value_counts().to_dict(), "labels": {}, "measures": {}}
    for label, path in LABELS:
        o = [_get({"dynamics": d}, path) for d in old["dynamics"]]
        n = [_get({"dynamics": d}, path) for d in new["dynamics"]]
        if label.startswith("slow point"):
            o, n = [bool(v) for v in o], [bool(v) for v in n]
        same = [x == y for x, y in zip(o, n)]
        out["labels"][label] = {"agree": int(sum(same)), "of": len(same),
                                "changed": [{"network_id": ids[k], "old": o[k], "new": n[k]}
                                            for k in range(len(ids)) if not same[k]]}
    for label, path in MEASURES:
        pairs = [(_get({path[0]: old[path[0]][k]}, path), _get({path[0]: new[path[0]][k]}, path))
                 for k in range(len(ids))]
        pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
        d = np.array([y - x for x, y in pairs], dtype=float)
        out["measures"][label] = {"n": len(d), "max_abs_difference": float(np.abs(d).max()) if d.size else None,
                                  "median_abs_difference": float(np.median(np.abs(d))) if d.size else None,
                                  "mean_difference": float(d.mean()) if d.size else None}
    for label, v in out["labels"].items():
        print(f"{label:>40}: {v['agree']} of {v['of']} agree")
    for label, v in out["measures"].items():
        print(f"{label:>40}: n {v['n']}, max |d| {v['max_abs_difference']:.3g}, median |d| "
              f"{v['median_abs_difference']:.3g}, mean d {v['mean_difference']:+.3g}")
    print(f"now: {cpu['memory']:.1f} + {cpu['dynamics']:.1f} CPU s per network")
    if a.json:
        write_json(a.json, {"command": "python benchmarks/analysis_agreement.py " + " ".join(sys.argv[1:]), **out,
                            "per_network": per_net})
    return 0


if __name__ == "__main__":
    sys.exit(main())
