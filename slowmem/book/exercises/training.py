"""Exercise checks of chapter 2: training."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from slowmem.book.exercises.checks import _close, _max_diff, _np, _run, _task
from slowmem.config import NetworkConfig, TrainingConfig
from slowmem.network import RateNetworks
from slowmem.runtime import Runtime
from slowmem.task import trial_rng
from slowmem.training import rls_update, train


# --------------------------------------------------------------------------- #
# chapter 2: training
# --------------------------------------------------------------------------- #
def check_rls_update(my_rls_update: Callable) -> float:
    """Exercise 2.1: one batched RLS step, in place, vs slowmem.training.rls_update and ridge regression."""

    def versus_package():
        g = torch.Generator().manual_seed(1)
        P = torch.eye(6, dtype=torch.float64).repeat(2, 1, 1)
        w = torch.zeros(2, 6, 3, dtype=torch.float64)
        P2, w2 = P.clone(), w.clone()
        for _ in range(20):
            r = torch.randn(2, 1, 6, generator=g, dtype=torch.float64)
            e = torch.randn(2, 1, 3, generator=g, dtype=torch.float64)
            before = P.clone()
            my_rls_update(P, r, w, e)
            if torch.equal(P, before):
                return False, "P did not change: update P and w in place (P -= ..., w -= ...)"
            rls_update(P2, r, w2, e)
        d = max(_max_diff(P, P2), _max_diff(w, w2))
        return d <= 1e-10, f"20 steps, largest difference in P and w {d:.2g} (tolerance 1e-10)"

    def versus_ridge(B=2, N=8, n=200, alpha=1.0):
        gen = torch.Generator().manual_seed(0)
        R = torch.randn(B, n, N, generator=gen, dtype=torch.float64)
        Y = R @ torch.randn(B, N, 1, generator=gen, dtype=torch.float64)
        P = torch.eye(N, dtype=torch.float64).repeat(B, 1, 1) / alpha
        w = torch.zeros(B, N, 1, dtype=torch.float64)
        for i in range(n):
            r = R[:, i:i + 1]
            my_rls_update(P, r, w, r @ w - Y[:, i:i + 1])
        ridge = torch.linalg.solve(alpha * torch.eye(N, dtype=torch.float64) + R.mT @ R, R.mT @ Y)
        return _close(w, ridge, 1e-8, "w after 200 steps vs (alpha I + R^T R)^-1 R^T Y")

    return _run("2.1", "one RLS step", [("same as slowmem.training.rls_update", versus_package),
                                        ("reaches the ridge-regression solution", versus_ridge)])


def _learning_steps_reference(task, rule: str, update_every: int) -> tuple[np.ndarray, np.ndarray]:
    upd = np.arange(task.T) % update_every == 0
    if rule == "original":
        return upd, upd.copy()
    return upd & task.response_mask.numpy(), upd & task.memory_mask.numpy()


def check_learning_steps(learning_steps: Callable, task=None) -> float:
    """Exercise 2.2: the steps of a trial at which each readout learns, per rule."""
    task = task if task is not None else _task()
    longer = _task(timing={"delay1": 8.0})          # 380 steps: a multiple of 5

    def compare(rule):
        def fn():
            for tk, every in ((task, 2), (longer, 5)):
                got = learning_steps(tk, rule, every)
                want = _learning_steps_reference(tk, rule, every)
                if not (isinstance(got, (tuple, list)) and len(got) == 2):
                    return False, "return a pair (wo_steps, wd_steps)"
                for g_, w_, name in zip(got, want, ("wo", "wd")):
                    g_ = _np(g_).astype(bool).reshape(-1)
                    if g_.shape != w_.shape or (g_ != w_).any():
                        n_bad = int((g_ != w_).sum()) if g_.shape == w_.shape else "all"
                        return False, (f"{name} steps differ at {n_bad} steps (trial of {tk.T} steps, "
                                       f"update_every = {every})")
            wo, wd = want = _learning_steps_reference(task, rule, 2)
            return True, f"exact; per 350-step trial wo learns at {wo.sum()} steps and wd at {wd.sum()}"
        return fn

    return _run("2.2", "which steps teach which readout", [("modified FORCE", compare("modified")),
                                                           ("original FORCE", compare("original"))])


def check_force_trial(modified_force_trial: Callable) -> float:
    """Exercise 2.3: one trial of modified FORCE on one network vs slowmem.training.train (torch engine)."""

    task = _task()
    seed = 3
    net = RateNetworks.create(NetworkConfig(N=60, g=1.2, pg=0.5, fb=5.0), seed)
    res = train(net, task, TrainingConfig(rule="modified", trials=1), progress=False,
                runtime=Runtime(engine="torch"))
    rng = trial_rng(seed, 0)                       # what train() draws for network `seed`: order, then stimuli
    types = task.schedule(1, rng)
    trial = task.make_trials(types[None, :], [rng])
    state = {}

    def readouts():
        mine = replace(net, wo=net.wo.clone(), wd=net.wd.clone())
        x_end = modified_force_trial(mine, task, trial, net.x0[0].clone())
        state["x"] = x_end
        if torch.equal(mine.wo, net.wo) and torch.equal(mine.wd, net.wd):
            return False, "the readouts did not change: update net.wo and net.wd in place"
        ok_o, d_o = _close(mine.wo, res.networks.wo, 1e-9, "wo")
        ok_d, d_d = _close(mine.wd, res.networks.wd, 1e-9, "wd")
        return ok_o and ok_d, f"{d_o}; {d_d}"

    def end_state():
        if "x" not in state or state["x"] is None:
            return False, "no end state returned"
        x = _np(state["x"]).reshape(-1)
        return _close(x, res.final_state[0], 1e-9, "the state at the end of the trial")

    return _run("2.3", "one trial of modified FORCE", [("readouts after one trial equal train()'s", readouts),
                                                       ("end state equals train()'s", end_state)])
