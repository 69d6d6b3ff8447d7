"""Where one training step of the CPU engine spends its time (microseconds per network-step).

    python benchmarks/step_parts.py --json book/data/step_parts.json     # about 30 s

Times the pieces of :mod:`slowmem.training.numba_engine` on their own, single-threaded, at N = 300 in float64
by default, on matrices of the size training uses:

* ``matvec_alone``: the recurrent product (g J)^T r for one network;
* ``matvec_lockstep``: the same per network when ``--group`` networks share g J and advance in lockstep;
* ``rls_update``: one RLS update (P r, then the rank-1 update of P and the readout), with as many
  P matrices as the group has, taken in turn, as in training;
* ``tanh``: r = tanh(x) for one network;
* ``step_no_update`` / ``step_update_every_2nd``: whole trials of the lockstep kernel with the RLS
  windows switched off, and with an update on every second step of the whole trial.

From these, ``rls_share_in_task`` is the cost per network-step of the updates at the task's own
rate (every second step inside the delay and response windows). Not part of `make test`.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from slowmem.task import SPMTask
from slowmem.training import numba_engine as kernels


def _best(f, repeats: int, rounds: int = 5) -> float:
    """Best-of-``rounds`` seconds per call of ``f`` over ``repeats`` calls (after one warm-up call)."""
    f()
    best = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(repeats):
            f()
        best = min(best, (time.perf_counter() - t0) / repeats)
    return best


def measure(N: int = 300, group: int = 6, dtype: str = "float64", seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    task = SPMTask()
    T = task.T
    W = (rng.standard_normal((N, N)) * 1.2 / np.sqrt(N)).astype(dt)
    scratch = np.zeros((group, 3, N), dt)
    scratch[:, 0] = np.tanh(rng.standard_normal((group, N)))
    one, members = np.zeros(1, np.int64), np.arange(group, dtype=np.int64)
    reps = max(20, int(2e8 / (N * N * group)))
    out = {"N": N, "group": group, "dtype": dtype, "T": T}
    out["matvec_alone"] = _best(lambda: kernels._matvec_shared(W, scratch, one), reps * group)
    out["matvec_lockstep"] = _best(lambda: kernels._matvec_shared(W, scratch, members), reps) / group

    Ps = np.ascontiguousarray(np.broadcast_to(np.eye(N, dtype=dt), (group, N, N)))
    pend, k, wout = np.zeros((2, N), dt), np.zeros(N, dt), np.zeros((N, 3), dt)
    r = scratch[0, 0].copy()
    turn = [0]

    def rls():
        kernels._rls(Ps[turn[0] % group], pend, r, k, wout, 1, 3, 0.0, 0.0, 0.0)
        turn[0] += 1
    out["rls_update"] = _best(rls, reps * group)
    x, rr = rng.standard_normal(N).astype(dt), np.empty(N, dt)
    out["tanh"] = _best(lambda: kernels._tanh_into(x, rr), reps * group)

    F_T = (rng.standard_normal((group, 3, N)) * 0.1).astype(dt)
    wi_T = rng.standard_normal((group, 2, N)).astype(dt)
    P_out, P_mem = Ps.copy(), Ps.copy()
    pends, wouts = np.zeros((group, 2, 2, N), dt), np.zeros((group, N, 3), dt)
    xs = rng.standard_normal((group, N)).astype(dt)
    u, target = (rng.standard_normal((group, T, 2)) * 0.1).astype(dt), np.zeros((group, T, 3), dt)
    outputs = np.zeros((group, T, 3), dt)
    a = np.float64(task.dt / task.cfg.tau).astype(dt)

    def trial(resp, mem):
        kernels._force_trial(W, F_T, wi_T, P_out, P_mem, pends, wouts, xs, u, target, resp, mem, True, 2, 0,
                             a, dt.type(1 - a), outputs, scratch, members)
    none, every = np.zeros(T, bool), np.ones(T, bool)
    out["step_no_update"] = _best(lambda: trial(none, none), 3) / T / group
    out["step_update_every_2nd"] = _best(lambda: trial(none, every), 3) / T / group
    windows = int(task.response_mask.sum() + task.memory_mask.sum())
    out["update_fraction"] = windows / 2 / T
    out["rls_share_in_task"] = out["update_fraction"] * 2 * (out["step_update_every_2nd"] - out["step_no_update"])
    return {k: (v * 1e6 if isinstance(v, float) and k not in ("update_fraction",) else v) for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, default=300)
    p.add_argument("--group", type=int, default=6, help="networks sharing g J in lockstep")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--json", default=None)
    a = p.parse_args()
    res = measure(a.N, a.group, a.dtype)
    for k, v in res.items():
        print(f"{k:>24}: {v:.3f}" if isinstance(v, float) else f"{k:>24}: {v}")
    if a.json:
        import platform

        from _common import write_json
        from throughput import _cpu_name

        write_json(a.json, {"command": "python benchmarks/step_parts.py " + " ".join(
            f"--{k} {v}" for k, v in vars(a).items() if k != "json" and v is not None),
            "machine": platform.platform(), "processor": _cpu_name(), "unit": "microseconds per network-step",
            "parts": res})


if __name__ == "__main__":
    main()
