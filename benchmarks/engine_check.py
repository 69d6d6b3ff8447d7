"""Do the two training engines give the same networks? torch vs numba on the float32 check's 24 networks.

    python benchmarks/engine_check.py --json book/data/engine_check.json      # ~10 min on 2 cores

The engines compute the same float64 arithmetic in a different order, so their readouts differ
by rounding at first; FORCE training of a chaotic network can amplify that over 1500 trials.
This trains the 24 networks of benchmarks/float32_check.py in float64 with both engines and
compares what matters downstream: success, test and replay accuracy, and the readouts. As a
yardstick for that sensitivity it also retrains the networks with the numba engine from initial
states moved by one unit in the last place (``numba_x0_ulp``).
"""
from __future__ import annotations

import json
import time

import torch
from _common import check_arguments, check_networks, write_json

from slowmem.evaluation import evaluate
from slowmem.network import RateNetworks
from slowmem.runtime import Runtime
from slowmem.training import train


def main() -> None:
    a = check_arguments(__doc__.splitlines()[0])
    nets = check_networks(a.trials)
    base, combos, cfgs, seeds, task = nets.base, nets.combos, nets.configs, nets.seeds, nets.task
    runs = {}
    for run in ("numba", "torch", "numba_x0_ulp"):
        engine = run.split("_")[0]
        net = RateNetworks.create(cfgs, seeds)
        if run == "numba_x0_ulp":
            net.x0.copy_(torch.nextafter(net.x0, torch.full_like(net.x0, float("inf"))))
        res = train(net, task, base.training, desc=f"train ({run})", runtime=Runtime(engine=engine))
        ev = evaluate(res.networks, task, res.final_state, test_trials=base.training.test_trials,
                      diverged=res.diverged)
        runs[run] = (res, ev)
        print(f"{run}: {len(seeds)} networks in {res.seconds:.0f} s; {int(ev.success.sum())} succeed", flush=True)
    (rn, en), (rt, et), (rp, ep) = runs["numba"], runs["torch"], runs["numba_x0_ulp"]
    rows = []
    for i, (g, pg, fb, s) in enumerate(combos):
        diff = max(float((rn.networks.wo[i] - rt.networks.wo[i]).abs().max()),
                   float((rn.networks.wd[i] - rt.networks.wd[i]).abs().max()))
        rows.append({"g": g, "pg": pg, "fb": fb, "seed": s,
                     "success_numba": bool(en.success[i]), "success_torch": bool(et.success[i]),
                     "test_accuracy_numba": float(en.test_accuracy[i]),
                     "test_accuracy_torch": float(et.test_accuracy[i]),
                     "replay_accuracy_numba": float(en.replay_accuracy[i]),
                     "replay_accuracy_torch": float(et.replay_accuracy[i]), "max_readout_difference": diff,
                     "success_numba_x0_ulp": bool(ep.success[i]),
                     "max_readout_difference_x0_ulp": max(float((rn.networks.wo[i] - rp.networks.wo[i]).abs().max()),
                                                          float((rn.networks.wd[i] - rp.networks.wd[i]).abs().max()))})
    summary = {"networks": len(rows), "success_numba": sum(r["success_numba"] for r in rows),
               "success_torch": sum(r["success_torch"] for r in rows),
               "same_success": sum(r["success_numba"] == r["success_torch"] for r in rows),
               "success_numba_x0_ulp": sum(r["success_numba_x0_ulp"] for r in rows),
               "same_success_x0_ulp": sum(r["success_numba"] == r["success_numba_x0_ulp"] for r in rows),
               "train_seconds_numba": rn.seconds, "train_seconds_torch": rt.seconds,
               "threads": torch.get_num_threads()}
    print(json.dumps(summary, indent=1))
    if a.json:
        cmd = "python benchmarks/engine_check.py" + (f" --trials {a.trials}" if a.trials else "")
        write_json(a.json, {"command": cmd,
                            "summary": summary, "rows": rows})


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"{time.perf_counter() - t0:.0f} s")
