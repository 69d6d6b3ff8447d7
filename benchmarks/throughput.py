"""Training throughput of batched (modified) FORCE, in network-steps per second.

    python benchmarks/throughput.py                       # N 300 and 1000, a few batch sizes, 1 and 2 threads
    python benchmarks/throughput.py --N 300 --B 1 8 32 --dtype float32 --threads 2 --json out.json

network-steps/s = networks x integration steps / wall second, RLS updates included, over whole
trials (modified FORCE: updates every 2nd step inside the delay and response windows). A plain
one-network NumPy float64 loop of the same algorithm runs in the same process as the reference,
and every row reports its ratio to it. Not part of `make test`.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import numpy as np
import torch

from slowmem.config import NetworkConfig, TrainingConfig
from slowmem.network import RateNetworks
from slowmem.task import SPMTask, trial_rng
from slowmem.training import train


def naive_numpy(task: SPMTask, N: int, trials: int, dtype=np.float64, seed: int = 0) -> float:
    """Seconds per trial of a straightforward one-network NumPy loop (modified FORCE)."""
    net = RateNetworks.create(NetworkConfig(N=N), seed)
    W = (net.g[0] * net.J[0]).numpy().astype(dtype)
    wf, wfd, wi = (t[0].numpy().astype(dtype) for t in (net.wf, net.wfd, net.wi))
    x = net.x0[0].numpy().astype(dtype).copy()
    wo, wd = np.zeros((N, 1), dtype), np.zeros((N, 2), dtype)
    Pw, Pd = np.eye(N, dtype=dtype), np.eye(N, dtype=dtype)
    resp, mem = task.response_mask.numpy(), task.memory_mask.numpy()
    rng = trial_rng(seed, 0)
    a = task.dt
    types = task.schedule(trials, rng)
    t0 = time.perf_counter()
    step = 0
    for i in range(trials):
        tr = task.make_trials(types[i:i + 1], [rng])
        u = tr.inputs[:, 0].numpy().astype(dtype)
        target = np.concatenate([tr.output_target[:, 0], tr.memory_target[:, 0]], -1).astype(dtype)
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
    return (time.perf_counter() - t0) / trials


def torch_batched(task: SPMTask, N: int, B: int, dtype: str, device: str, trials: int) -> float:
    """Seconds per trial for a batch of B networks (after one warm-up trial)."""
    net = RateNetworks.create(NetworkConfig(N=N), list(range(B)), device=device, dtype=dtype)
    cfg = TrainingConfig(trials=1, dtype=dtype, device=device)
    train(net, task, cfg, progress=False)                    # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train(net, task, cfg, trials=trials, progress=False)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / trials


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, nargs="+", default=[300, 1000])
    p.add_argument("--B", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--dtype", nargs="+", default=["float64", "float32"], choices=["float32", "float64"])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--device", default="cpu")
    p.add_argument("--trials", type=int, default=3, help="timed trials per measurement")
    p.add_argument("--naive-trials", type=int, default=2)
    p.add_argument("--json", default=None, help="write the table here as JSON")
    a = p.parse_args()
    task = SPMTask()
    rows = []
    for N in a.N:
        naive = naive_numpy(task, N, a.naive_trials)
        naive_rate = task.T / naive
        rows.append({"N": N, "impl": "numpy naive", "B": 1, "dtype": "float64", "threads": "numpy default",
                     "net_steps_per_s": naive_rate, "ratio_vs_naive": 1.0, "s_per_trial": naive})
        print(f"N={N} naive numpy float64: {naive_rate:,.0f} network-steps/s ({naive:.3f} s/trial)", flush=True)
        for dt in a.dtype:
            for th in a.threads:
                torch.set_num_threads(th)
                for B in a.B:
                    s = torch_batched(task, N, B, dt, a.device, a.trials)
                    rate = B * task.T / s
                    row = {"N": N, "impl": f"slowmem {a.device}", "B": B, "dtype": dt, "threads": th,
                           "net_steps_per_s": rate, "ratio_vs_naive": rate / naive_rate, "s_per_trial": s}
                    rows.append(row)
                    print(f"N={N} B={B:>3} {dt} threads={th}: {rate:>12,.0f} network-steps/s  "
                          f"x{rate / naive_rate:5.1f} vs naive", flush=True)
    info = {"machine": platform.platform(), "processor": platform.processor(), "torch": torch.__version__,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rows": rows}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(info, f, indent=2)
    print(f"peak RSS of this process: {info['max_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
