"""The ``slowmem`` command line: the same functions the book uses.

    slowmem train --preset book --seeds 0-7 --out runs/book8
    slowmem train --preset ci --N 150 --g 1.4 --json

Every flag is validated against :mod:`slowmem.config` before any work starts.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from .config import ERROR_THRESHOLDS, PRESETS, Config, ConfigError, parse_seeds

__all__ = ["main", "train_command"]


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="book", help=f"scale preset: {', '.join(PRESETS)} (default book)")
    g = p.add_argument_group("network (defaults from the preset)")
    g.add_argument("--N", help="number of units (integer >= 2)")
    g.add_argument("--g", help="gain of J (0..10)")
    g.add_argument("--pg", help="connection probability of J, in (0, 1]")
    g.add_argument("--fb", help="feedback scale: wf ~ N(0,1)/fb, > 0")
    g.add_argument("--in-scale", dest="in_scale", help="input scale: wi ~ N(0,1)/in_scale, > 0")
    g.add_argument("--init", help="gaussian or uniform")
    t = p.add_argument_group("training")
    t.add_argument("--rule", help="modified (default) or original FORCE")
    t.add_argument("--trials", help="training trials")
    t.add_argument("--test-trials", dest="test_trials", help="test trials after training (>= 4)")
    s = t.add_mutually_exclusive_group()
    s.add_argument("--seed", help="one seed (default 0)")
    s.add_argument("--seeds", help="several seeds trained as one batch: '0-7' or '0,3,5'")
    t.add_argument("--device", help="cpu, cuda or cuda:K")
    t.add_argument("--dtype", help="float64 (default) or float32")
    t.add_argument("--engine", default="auto", help="auto (default: numba on the CPU, torch on CUDA), torch or numba; "
                   "the engines agree to rounding")
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, help="write the run folder here (must be new, empty, or this same run)")
    o.add_argument("--json", action="store_true", help="print the run record as JSON on stdout")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")


def _config_from_args(a: argparse.Namespace) -> tuple[Config, list[int]]:
    flat = {k: getattr(a, k) for k in ("N", "g", "pg", "fb", "in_scale", "init", "rule", "trials",
                                        "test_trials", "device", "dtype")}
    seeds = parse_seeds(a.seeds) if a.seeds is not None else parse_seeds(a.seed if a.seed is not None else "0")
    cfg = Config.from_preset(a.preset, **flat, seed=seeds[0])
    if cfg.training.device != "cpu":
        from .network import resolve_device
        resolve_device(cfg.training.device)
    return cfg, seeds


def train_command(cfg: Config, seeds: list[int], out: Path | None = None, progress: bool = True,
                  engine: str = "auto") -> dict:
    """Train ``seeds`` as one batch, evaluate, optionally write a run folder; return the record."""
    import torch

    from . import __version__
    from .evaluation import evaluate
    from .store import write_run
    from .training import train_from_config

    t0 = time.perf_counter()
    task, res = train_from_config(cfg, seeds, progress=progress, engine=engine)
    t1 = time.perf_counter()
    ev = evaluate(res.networks, task, res.final_state, test_trials=cfg.training.test_trials,
                  diverged=res.diverged)
    t2 = time.perf_counter()
    last = res.log[res.log.trial >= res.log.trial.max() - 99].groupby("seed")[["response_rmse", "memory_rmse"]].median()
    nets = []
    for b, s in enumerate(seeds):
        nets.append({
            "seed": s,
            "success": bool(ev.success[b]),
            "diverged": bool(res.diverged[b]),
            "test_accuracy": float(ev.test_accuracy[b]),
            "replay_accuracy": float(ev.replay_accuracy[b]),
            "error_rates": {f"{thr:g}": float(ev.error_rates[b, j]) for j, thr in enumerate(ERROR_THRESHOLDS)},
            "train_response_rmse_last100": float(last.loc[s, "response_rmse"]) if len(last) else None,
            "train_memory_rmse_last100": float(last.loc[s, "memory_rmse"]) if len(last) else None,
            "fixed_weights_sha256": res.networks.fixed_weights_hash(b),
        })
    record = {
        "slowmem_version": __version__,
        "command": "slowmem " + " ".join(sys.argv[1:]) if sys.argv and "slowmem" in sys.argv[0] else None,
        "networks": nets,
        "n_success": int(ev.success.sum()),
        "timing": {"train_seconds": round(t1 - t0, 3), "evaluate_seconds": round(t2 - t1, 3),
                   "train_seconds_per_trial": round((t1 - t0) / max(cfg.training.trials, 1), 5)},
        "machine": {"platform": platform.platform(), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "device": cfg.training.device, "engine": res.engine},
    }
    if out is not None:
        write_run(out, cfg, seeds, res.networks, ev.trial_end_states, res.log, record)
        record["out"] = str(out)
    record["config"] = cfg.to_dict()
    record["seeds"] = seeds
    return record


def _cmd_train(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .network import resolve_device
    from .store import RECORD, check_run_target
    from .training import resolve_engine

    try:
        cfg, seeds = _config_from_args(a)
        resolve_engine(a.engine, resolve_device(cfg.training.device))
        done = check_run_target(a.out, cfg, seeds) if a.out is not None else False
    except ConfigError as e:
        parser.error(str(e))
    if done:
        record = json.loads((a.out / RECORD).read_text())
        print(f"{a.out} already holds this run; nothing to do", file=sys.stderr)
    else:
        record = train_command(cfg, seeds, a.out, progress=not a.no_progress, engine=a.engine)
    if a.json:
        print(json.dumps(record, indent=2))
    else:
        for n in record["networks"]:
            print(f"seed {n['seed']}: test accuracy {n['test_accuracy']:.2f}, replay accuracy "
                  f"{n['replay_accuracy']:.2f}, success {n['success']}")
        print(f"{record['n_success']}/{len(record['networks'])} networks perform the task; "
              f"training took {record['timing']['train_seconds']:.1f} s")
    return 0


def _cmd_analyze(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .analysis import ANALYSES, get_analysis
    from .store import read_run

    try:
        names = list(ANALYSES) if a.only is None else [n.strip() for n in a.only.split(",") if n.strip()]
        fns = {n: get_analysis(n) for n in names}
        run = read_run(a.run_dir, device=a.device or "cpu")
    except ConfigError as e:
        parser.error(str(e))
    from .task import SPMTask

    task = SPMTask(run.config.task)
    per_net = [{"seed": s} for s in run.networks.seeds]
    for name, fn in fns.items():
        for row, res in zip(per_net, fn(run.networks, task, run.trial_end_states, progress=not a.no_progress)):
            row[name] = res
    out = {"run": str(a.run_dir), "analyses": names, "networks": per_net}
    if a.json:
        print(json.dumps(out, indent=2, default=float))
    else:
        for row in per_net:
            print(json.dumps(row, default=float))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="slowmem", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"slowmem {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a batch of networks with (modified) FORCE",
                        description="Train networks and evaluate them; flags default to the preset.")
    _add_train_flags(tr)
    tr.set_defaults(func=_cmd_train, parser=tr)
    an = sub.add_parser("analyze", help="run the analyses on a run folder written by `slowmem train --out`",
                        description="Analyse every network of a run folder; one JSON record per network.")
    an.add_argument("run_dir", type=Path, help="a folder written by `slowmem train --out`")
    an.add_argument("--only", help="comma-separated subset of analyses (default: all)")
    an.add_argument("--device", help="cpu, cuda or cuda:K (default cpu)")
    an.add_argument("--json", action="store_true", help="print one JSON document")
    an.add_argument("--no-progress", action="store_true", help="no progress bars")
    an.set_defaults(func=_cmd_analyze, parser=an)
    from .sweep import add_sweep_parser
    add_sweep_parser(sub)       # slowmem sweep run|status (all logic in slowmem/sweep.py)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    return a.func(a, a.parser)


if __name__ == "__main__":
    sys.exit(main())
