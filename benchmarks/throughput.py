"""Training throughput of batched (modified) FORCE, in network-steps per second.

    python benchmarks/throughput.py                         # the default table (about 20 min on 2 cores)
    python benchmarks/throughput.py --N 300 --B 1 8 --dtype float32 --threads 2 --engine numba --json out.json
    python benchmarks/throughput.py --device cuda --engine torch --B 1 16 64 256   # on a GPU machine

network-steps/s = networks x integration steps / wall second, RLS updates included, over whole
trials of the SPM task (modified FORCE: an RLS update every 2nd step inside the delay and response
windows). The reference is a plain one-network NumPy float64 loop of the same algorithm, run on
the same machine in the same invocation; every row reports its ratio to the reference of its N.

Every row runs in fresh subprocesses: the thread count is fixed once per process (PyTorch must not
switch it back and forth). `threads` counts threads inside one process; `procs` > 1 runs that many
single-threaded processes at once, each with B networks and pinned to a core of its own, the way a
sweep uses the cores (one Dask worker per core, pinned: :func:`slowmem.sweep.pin_workers`), and
reports their total. A process's peak RSS, less its RSS before the networks
existed, divided by B is the reported memory per network (on CUDA: peak allocated bytes / B).
Not part of `make test`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def naive_numpy(N: int, seconds: float, seed: int = 0) -> dict:
    """A straightforward one-network NumPy float64 loop (modified FORCE); seconds per trial over >= ``seconds``."""
    import numpy as np

    from slowmem.config import NetworkConfig
    from slowmem.network import RateNetworks
    from slowmem.task import SPMTask, trial_rng

    task = SPMTask()
    net = RateNetworks.create(NetworkConfig(N=N), seed)
    W = (net.g[0] * net.J[0]).numpy().copy()
    wf, wfd, wi = (t[0].numpy().copy() for t in (net.wf, net.wfd, net.wi))
    x = net.x0[0].numpy().copy()
    wo, wd = np.zeros((N, 1)), np.zeros((N, 2))
    Pw, Pd = np.eye(N), np.eye(N)
    resp, mem = task.response_mask.numpy(), task.memory_mask.numpy()
    rng = trial_rng(seed, 0)
    a = task.dt / task.cfg.tau
    types = task.schedule(100_000, rng)
    t0 = time.perf_counter()
    step = 0
    for i in range(len(types)):
        if i >= 2 and time.perf_counter() - t0 >= seconds:
            break
        tr = task.make_trials(types[i:i + 1], [rng])
        u = tr.inputs[:, 0].numpy()
        target = np.concatenate([tr.output_target[:, 0], tr.memory_target[:, 0]], -1)
        for t in range(task.T):
            r = np.tanh(x)
            z, zd = wo.T @ r, wd.T @ r
            if step % 2 == 0 and (resp[t] or mem[t]):
                P, w, e = (Pw, wo, z - target[t, :1]) if resp[t] else (Pd, wd, zd - target[t, 1:])
                k = P @ r
                c = 1.0 / (1.0 + r @ k)
                P -= c * np.outer(k, k)
                w -= c * np.outer(k, e)
            x += a * (-x + W @ r + wf @ z + wfd @ zd + wi @ u[t])
            step += 1
    return {"s_per_trial": (time.perf_counter() - t0) / i, "T": task.T, "trials": i}


def slowmem_row(N: int, B: int, dtype: str, device: str, engine: str, threads: int, seconds: float,
                share: bool = False) -> dict:
    """Seconds per trial of slowmem's trainer for B networks, timed over about ``seconds`` (after a warm-up).

    ``share``: the B networks are one slice of a sweep grid (same seed, g and pg, so the same g J;
    fb takes the paper's six values), which the numba engine trains in lockstep where the cache
    has room (:func:`slowmem.training.numba_engine.share_groups`).
    Otherwise they are B seeds of one config.
    """
    import resource

    import torch

    from slowmem.config import NetworkConfig, TrainingConfig
    from slowmem.network import RateNetworks
    from slowmem.runtime import Runtime
    from slowmem.sweep.grid import PAPER_FB
    from slowmem.task import SPMTask
    from slowmem.training import train

    torch.set_num_threads(threads)                         # once, before any work in this process
    task = SPMTask()
    tiny = RateNetworks.create(NetworkConfig(N=8), [0], device=device, dtype=dtype)
    runtime = Runtime(device=device, engine=engine, threads=threads)
    train(tiny, task, TrainingConfig(trials=1, dtype=dtype), progress=False,
          runtime=runtime)                                 # libraries and compiled code loaded: not per network
    rss0 = _rss_mb()
    if share:
        fbs = list(PAPER_FB) + [float(v) for v in range(2, B + 6) if v not in PAPER_FB]   # the paper's six, then others
        net = RateNetworks.create([NetworkConfig(N=N, fb=fb) for fb in fbs[:B]], [0] * B, device=device, dtype=dtype)
    else:
        net = RateNetworks.create(NetworkConfig(N=N), list(range(B)), device=device, dtype=dtype)
    cfg = TrainingConfig(trials=1, dtype=dtype)
    cuda = device.startswith("cuda")
    res = train(net, task, cfg, trials=2, progress=False, runtime=runtime)   # warm-up, compilation
    trials = int(min(500, max(3, seconds / (res.seconds / 2))))
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    res = train(net, task, cfg, trials=trials, progress=False, runtime=runtime)
    if cuda:
        torch.cuda.synchronize()
    s = (time.perf_counter() - t0) / trials
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mem = torch.cuda.max_memory_allocated() / 2**20 / B if cuda else (peak - rss0) / B
    return {"s_per_trial": s, "T": task.T, "engine": res.engine, "mb_per_network": mem, "peak_rss_mb": peak,
            "trials": trials}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(spec: dict, threads: int, procs: int = 1) -> list[dict]:
    """Run one measurement in ``procs`` fresh interpreters at once, BLAS/OpenMP limited to ``threads`` each."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = procs > 1 and procs <= len(cores)            # one process per core, as a sweep pins its workers
    cmds = [[sys.executable, __file__, "--_child", json.dumps(dict(spec, pin=cores[k] if pin else None))]
            for k in range(procs)]
    running = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for cmd in cmds]
    results = []
    for p in running:
        out, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"benchmark row {spec} failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, nargs="+", default=[300, 1000])
    p.add_argument("--B", type=int, nargs="+", default=[1, 2, 6])
    p.add_argument("--dtype", nargs="+", default=["float64", "float32"], choices=["float32", "float64"])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--engine", nargs="+", default=["numba", "torch"], choices=["numba", "torch"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2],
                   help="concurrent single-threaded processes (>1: how a sweep uses the cores, one worker each)")
    p.add_argument("--share", nargs="+", default=["no", "yes"], choices=["no", "yes"],
                   help="yes: the B networks of a row share g J as in one sweep slice (same seed, g, pg; fb varies); "
                        "only numba-engine rows with B > 1 are shared")
    p.add_argument("--seconds", type=float, default=3.0, help="time each measurement over about this long")
    p.add_argument("--naive-threads", type=int, default=1, help="BLAS threads of the NumPy reference")
    p.add_argument("--repeat", type=int, default=1,
                   help="measure the reference and every row this many times and report medians (this machine's "
                        "speed drifts by 10-40 %% with its neighbours' load)")
    p.add_argument("--json", default=None, help="write machine info and the table here as JSON")
    p.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a._child:
        spec = json.loads(a._child)
        kind, pin = spec.pop("kind"), spec.pop("pin", None)
        if pin is not None:
            os.sched_setaffinity(0, {pin})
        print(json.dumps(naive_numpy(**spec) if kind == "naive" else slowmem_row(**spec)))
        return
    if a.device.startswith("cuda") and "numba" in a.engine:
        a.engine = [e for e in a.engine if e != "numba"] or ["torch"]
    if a.repeat < 1:
        p.error(f"--repeat must be >= 1; got {a.repeat}")
    rows = []
    started = time.perf_counter()
    layouts = [(th, 1) for th in a.threads] + [(1, pr) for pr in a.procs if pr > 1]
    # sharing g J matters to the numba engine only (torch multiplies every network's own copy)
    specs = [(engine, dt, th, procs, B, s == "yes") for engine in a.engine for dt in a.dtype for th, procs in layouts
             for B in a.B for s in a.share if s == "no" or (B > 1 and engine == "numba")]
    for N in a.N:
        refs, runs = [], {spec: [] for spec in specs}
        for k in range(a.repeat):            # each repetition re-measures the reference, then every row
            ref = _child({"kind": "naive", "N": N, "seconds": 2 * a.seconds}, a.naive_threads)[0]
            refs.append(ref["T"] / ref["s_per_trial"])
            T = ref["T"]
            print(f"N={N:<5} numpy naive  B=  1 float64 threads={a.naive_threads}: {refs[-1]:>10,.0f} network-steps/s"
                  + (f"   (repetition {k + 1} of {a.repeat})" if a.repeat > 1 else ""), flush=True)
            for spec in specs:
                engine, dt, th, procs, B, share = spec
                rs = _child({"kind": "row", "N": N, "B": B, "dtype": dt, "device": a.device,
                             "engine": engine, "threads": th, "seconds": a.seconds, "share": share}, th, procs)
                s = max(r["s_per_trial"] for r in rs)
                rate = procs * B * T / s
                mb = sum(r["mb_per_network"] for r in rs) / procs
                runs[spec].append({"rate": rate, "ratio": rate / refs[-1], "s": s, "mb": mb, "trials": rs[0]["trials"],
                                   "engine": rs[0]["engine"]})
                print(f"N={N:<5} {engine:<6} {a.device:<5} B={B:>3}{'s' if share else ' '} {dt} threads={th} "
                      f"procs={procs}: {rate:>10,.0f} network-steps/s  x{rate / refs[-1]:5.1f} vs naive  "
                      f"{mb:7.1f} MB/network", flush=True)
        ref_rate = statistics.median(refs)
        rows.append({"N": N, "impl": "numpy naive", "engine": "numpy", "B": 1, "dtype": "float64",
                     "threads": a.naive_threads, "procs": 1, "cores_used": a.naive_threads, "shared_J": False,
                     "net_steps_per_s": ref_rate, "ratio_vs_naive": 1.0, "s_per_trial": T / ref_rate,
                     "mb_per_network": None, "repeats": a.repeat, "rate_min": min(refs), "rate_max": max(refs)})
        for (_engine, dt, th, procs, B, share), rr in runs.items():
            ratios = [r["ratio"] for r in rr]
            rows.append({"N": N, "impl": f"slowmem {a.device}", "engine": rr[0]["engine"], "B": B, "dtype": dt,
                         "threads": th, "procs": procs, "cores_used": th * procs, "shared_J": share,
                         "net_steps_per_s": statistics.median(r["rate"] for r in rr),
                         "ratio_vs_naive": statistics.median(ratios), "ratio_min": min(ratios),
                         "ratio_max": max(ratios), "repeats": a.repeat,
                         "s_per_trial": statistics.median(r["s"] for r in rr), "trials": rr[0]["trials"],
                         "mb_per_network": statistics.median(r["mb"] for r in rr)})
        if a.repeat > 1:
            print(f"N={N}: medians over {a.repeat} repetitions "
                  "(ratio: median of each repetition's row / its reference)")
            for r in rows:
                if r["N"] == N and r["engine"] != "numpy":
                    print(f"  {r['engine']:<6} B={r['B']:>3}{'s' if r['shared_J'] else ' '} {r['dtype']} "
                          f"threads={r['threads']} procs={r['procs']}: {r['net_steps_per_s']:>10,.0f}  "
                          f"x{r['ratio_vs_naive']:5.1f} (x{r['ratio_min']:.1f} to x{r['ratio_max']:.1f})")
    import torch
    from _common import write_json

    if a.json:
        write_json(a.json, {"command": " ".join(sys.argv), "machine": platform.platform(), "processor": _cpu_name(),
                            "cpus": os.cpu_count(),
                            "cuda": torch.cuda.get_device_name() if a.device.startswith("cuda") else None,
                            "wall_seconds": time.perf_counter() - started, "rows": rows})


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
