"""The per-network pipeline's cost: training against each analysis, CPU seconds per network, one run.

    python benchmarks/pipeline.py                      # 2 book-preset networks, N = 300, 3500 trials
    python benchmarks/pipeline.py --networks 6 --trials 1500 --json out.json

Trains ``--networks`` networks of the ``book`` preset as one batch on one thread (as a sweep worker
does), evaluates them, then runs every registered analysis on the same batch, timing each stage's
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


def measure(networks: int, trials: int, N: int, seed: int = 0) -> dict:
    from slowmem import analysis
    from slowmem.analysis import analysis_settings, get_analysis
    from slowmem.config import Config
    from slowmem.evaluation import evaluate
    from slowmem.training import train_from_config

    torch.set_num_threads(1)
    cfg = Config.from_preset("book", N=N, trials=trials, g=1.2, pg=0.7, fb=1.0)
    seeds = list(range(seed, seed + networks))
    stages = {}

    def timed(name, fn):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        stages[name] = {"cpu_s_per_network": (time.process_time() - c0) / networks,
                        "wall_s_per_network": (time.perf_counter() - w0) / networks}
        return out

    task, res = timed("training", lambda: train_from_config(cfg, seeds, progress=False))
    ev = timed("evaluation", lambda: evaluate(res.networks, task, res.final_state, test_trials=cfg.training.test_trials,
                                              diverged=res.diverged))
    for name in analysis.ANALYSES:
        fn = get_analysis(name)
        timed(name, lambda fn=fn, name=name: fn(res.networks, task, ev.trial_end_states,
                                                cfg=analysis_settings(cfg, name)))
    train = stages["training"]["cpu_s_per_network"]
    ana = sum(v["cpu_s_per_network"] for k, v in stages.items() if k in analysis.ANALYSES)
    return {"preset": "book", "N": N, "trials": trials, "networks": networks, "threads": 1, "stages": stages,
            "analysis_cpu_s_per_network": ana, "training_cpu_s_per_network": train,
            "ratio_analysis_to_training": ana / train,
            "networks_per_hour_training_one_core": 3600 / train,
            "networks_per_hour_pipeline_one_core": 3600 / sum(v["cpu_s_per_network"] for v in stages.values())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--networks", type=int, default=2)
    p.add_argument("--trials", type=int, default=3500)
    p.add_argument("--N", type=int, default=300)
    p.add_argument("--json", help="also write the result here")
    a = p.parse_args(argv)
    out = measure(a.networks, a.trials, a.N)
    for k, v in out["stages"].items():
        print(f"{k:>11}: {v['cpu_s_per_network']:7.1f} CPU s per network ({v['wall_s_per_network']:.1f} s wall)")
    print(f"analysis / training = {out['ratio_analysis_to_training']:.2f}; one core trains "
          f"{out['networks_per_hour_training_one_core']:.0f} networks per hour, runs the whole pipeline for "
          f"{out['networks_per_hour_pipeline_one_core']:.0f}")
    if a.json:
        write_json(a.json, {"command": "python benchmarks/pipeline.py " + " ".join(sys.argv[1:]), **out})
    return 0


if __name__ == "__main__":
    sys.exit(main())
