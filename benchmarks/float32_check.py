"""Does float32 training change results? Train the same networks in float64 and float32, compare.

    python benchmarks/float32_check.py --json book/data/float32_check.json     # ~20 min on 2 cores

24 `book`-preset networks (g {0.8, 1.2} x pg {0.4, 0.9} x fb {1, 10} x seeds {0, 1, 2}: the part
of the book grid where networks do learn) are trained twice with the CPU engine, once in each
precision. To isolate the effect of the training precision, both trained copies are then cast to
float64 and tested, and every network that performs the task in either precision gets the
mechanism probe (slowmem.analysis.dynamics) in float64. Reported per network: success and test
accuracy in each precision, mechanism label in each, and the largest readout difference.
"""
from __future__ import annotations

import json
import time

import numpy as np
from _common import check_arguments, check_networks, write_json

from slowmem.analysis.dynamics import summarize as dynamics_summary
from slowmem.evaluation import evaluate
from slowmem.network import RateNetworks
from slowmem.training import train


def main() -> None:
    a = check_arguments(__doc__.splitlines()[0])
    nets = check_networks(a.trials)
    base, combos, cfgs, seeds, task = nets.base, nets.combos, nets.configs, nets.seeds, nets.task
    t0 = time.perf_counter()
    runs = {}
    for dtype in ("float64", "float32"):
        net = RateNetworks.create(cfgs, seeds, dtype=dtype)
        res = train(net, task, base.training, desc=f"train {dtype}")
        trained64 = res.networks.to(dtype="float64")
        ev = evaluate(trained64, task, res.final_state.double(), test_trials=base.training.test_trials,
                      diverged=res.diverged)
        runs[dtype] = (res, trained64, ev)
        print(f"{dtype}: trained {len(seeds)} networks in {res.seconds:.0f} s; {int(ev.success.sum())} succeed",
              flush=True)
    either = np.flatnonzero(runs["float64"][2].success | runs["float32"][2].success)
    labels = {}
    for dtype, (_, trained64, ev) in runs.items():
        if len(either):
            out = dynamics_summary(trained64.select(either.tolist()), task, ev.trial_end_states[either],
                                   progress=True)
            labels[dtype] = {int(i): o["mechanism"] for i, o in zip(either, out)}
    rows = []
    for i, (g, pg, fb, s) in enumerate(combos):
        r64, r32 = runs["float64"], runs["float32"]
        diff = max(float((r64[1].wo[i] - r32[1].wo[i]).abs().max()), float((r64[1].wd[i] - r32[1].wd[i]).abs().max()))
        rows.append({"g": g, "pg": pg, "fb": fb, "seed": s,
                     "success_float64": bool(r64[2].success[i]), "success_float32": bool(r32[2].success[i]),
                     "accuracy_float64": float(r64[2].test_accuracy[i]),
                     "accuracy_float32": float(r32[2].test_accuracy[i]),
                     "mechanism_float64": labels.get("float64", {}).get(i),
                     "mechanism_float32": labels.get("float32", {}).get(i),
                     "max_readout_difference": diff})
    same_success = sum(r["success_float64"] == r["success_float32"] for r in rows)
    both = [r for r in rows if r["success_float64"] and r["success_float32"]]
    same_label = sum(r["mechanism_float64"] == r["mechanism_float32"] for r in both)
    summary = {"networks": len(rows), "success_float64": sum(r["success_float64"] for r in rows),
               "success_float32": sum(r["success_float32"] for r in rows), "same_success": same_success,
               "both_succeed": len(both), "same_mechanism_where_both_succeed": same_label,
               "train_seconds_float64": runs["float64"][0].seconds, "train_seconds_float32": runs["float32"][0].seconds,
               "engine": runs["float64"][0].engine, "wall_seconds": time.perf_counter() - t0}
    for r in rows:
        print(f"g={r['g']:<4} pg={r['pg']:<4} fb={r['fb']:<5g} seed={r['seed']}: success {r['success_float64']!s:5}/"
              f"{r['success_float32']!s:5}  mechanism {r['mechanism_float64']} / {r['mechanism_float32']}")
    print(json.dumps(summary, indent=1))
    if a.json:
        cmd = "python benchmarks/float32_check.py" + (f" --trials {a.trials}" if a.trials else "")
        write_json(a.json, {"command": cmd,
                            "summary": summary, "rows": rows})


if __name__ == "__main__":
    main()
