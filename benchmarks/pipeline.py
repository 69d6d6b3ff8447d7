"""The per-network pipeline's cost: training against each analysis, CPU seconds per network, one run.

    python benchmarks/pipeline.py                      # 6 networks of the book population's grid, 3500 trials
    python benchmarks/pipeline.py --networks 2 --trials 1500 --json out.json

Trains ``--networks`` networks of the ``book`` preset (N = 300) as one batch on one thread (as a sweep
worker does), one per cell of :data:`CELLS` in turn -- cells of the paper's grid chosen so that the
batch holds every mechanism the population has (fixed points and slow manifolds at fb = 1, limit
cycles at fb = 5, slow manifolds at fb = 10 and 20, far/mixed at g = 1.4) -- evaluates them, then runs
every registered analysis on the networks that perform the task (as a sweep does), timing each stage's
CPU time (``time.process_time``: what a core spends, whatever else the machine is doing) and wall
time. Prints, per network, the training and evaluation cost, each analysis's cost, book-preset
networks per hour for training alone and for the whole pipeline, and the ratio analysis / training
(the target of issue 14: at most 1).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_json  # noqa: E402

#: (g, pg, fb) of the benchmark's networks, used in turn.
CELLS = ((1.2, 0.7, 1.0), (1.3, 0.6, 1.0), (0.8, 0.4, 10.0), (0.9, 0.4, 5.0), (1.4, 0.7, 1.0), (1.1, 0.7, 20.0))


def measure(networks: int, trials: int, N: int, seed: int = 0) -> dict:
    from slowmem import analysis
    from slowmem.analysis import analysis_settings, get_analysis
    from slowmem.config import Config
    from slowmem.evaluation import evaluate, network_record
    from slowmem.network import RateNetworks
    from slowmem.task import SPMTask
    from slowmem.training import train

    torch.set_num_threads(1)
    cells = [CELLS[i % len(CELLS)] for i in range(networks)]
    cfgs = [Config.from_preset("book", N=N, trials=trials, g=g, pg=pg, fb=fb) for g, pg, fb in cells]
    cfg = cfgs[0]
    seeds = list(range(seed, seed + networks))
    stages = {}

    def timed(name, fn, n):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        stages[name] = {"cpu_s_per_network": (time.process_time() - c0) / n,
                        "wall_s_per_network": (time.perf_counter() - w0) / n, "networks": n}
        return out

    task = SPMTask(cfg.task)
    net = RateNetworks.create([c.network for c in cfgs], seeds)
    res = timed("training", lambda: train(net, task, cfg.training, progress=False), networks)
    ev = timed("evaluation", lambda: evaluate(res.networks, task, res.final_state,
                                              test_trials=cfg.training.test_trials, diverged=res.diverged), networks)
    ok = [b for b in range(networks) if network_record(b, res, ev)["success"]]
    if not ok:
        raise SystemExit("no network of the benchmark performs the task; nothing to analyse")
    nets, ends = res.networks.select(ok), ev.trial_end_states[ok]
    mechanisms = []
    for name in analysis.ANALYSES:
        fn = get_analysis(name)
        out = timed(name, lambda fn=fn, name=name: fn(nets, task, ends, cfg=analysis_settings(cfg, name)), len(ok))
        if name == "dynamics":
            mechanisms = [o["mechanism"] for o in out]
    train_cpu = stages["training"]["cpu_s_per_network"]
    ana = sum(v["cpu_s_per_network"] for k, v in stages.items() if k in analysis.ANALYSES)
    return {"preset": "book", "N": N, "trials": trials, "networks": networks, "threads": 1,
            "cells": [list(c) for c in cells], "analysed": len(ok), "mechanisms": mechanisms, "stages": stages,
            "analysis_cpu_s_per_network": ana, "training_cpu_s_per_network": train_cpu,
            "ratio_analysis_to_training": ana / train_cpu,
            "networks_per_hour_training_one_core": 3600 / train_cpu,
            "networks_per_hour_pipeline_one_core": 3600 / sum(v["cpu_s_per_network"] for v in stages.values())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--networks", type=int, default=6)
    p.add_argument("--trials", type=int, default=3500)
    p.add_argument("--N", type=int, default=300)
    p.add_argument("--json", help="also write the result here")
    a = p.parse_args(argv)
    out = measure(a.networks, a.trials, a.N)
    for k, v in out["stages"].items():
        print(f"{k:>11}: {v['cpu_s_per_network']:7.1f} CPU s per network ({v['wall_s_per_network']:.1f} s wall, "
              f"{v['networks']} networks)")
    print(f"mechanisms of the analysed networks: {out['mechanisms']}")
    print(f"analysis / training = {out['ratio_analysis_to_training']:.2f}; one core trains "
          f"{out['networks_per_hour_training_one_core']:.0f} networks per hour, runs the whole pipeline for "
          f"{out['networks_per_hour_pipeline_one_core']:.0f}")
    if a.json:
        write_json(a.json, {"command": "python benchmarks/pipeline.py " + " ".join(sys.argv[1:]), **out})
    return 0


if __name__ == "__main__":
    sys.exit(main())
