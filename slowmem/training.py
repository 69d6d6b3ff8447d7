"""FORCE and modified FORCE training, batched over networks (PAPER.md section 4).

Only the readouts wo (response) and wd (memory) learn, online, by recursive
least squares. Every ``update_every`` integration steps, for a readout w with
inverse-correlation matrix P and error e = readout - target:

    k = P r;  c = 1 / (1 + r^T k);  P <- P - c k k^T;  w <- w - c k e^T

* ``modified`` FORCE (the paper's main rule): wd updates only inside the delay
  windows, wo only inside the response window; two matrices Pw, Pd.
* ``original`` FORCE: both update at every update step with targets zero
  outside their windows; the two readouts then see the same r at the same
  steps, so one shared P is exactly equivalent to two and is what we use.

Everything runs on (B, N, N) tensors on the networks' device and dtype.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from .config import Config, ConfigError, TrainingConfig
from .network import RateNetworks
from .task import SPMTask, trial_rng

__all__ = ["rls_update", "train", "TrainingResult", "train_from_config"]


def rls_update(P: torch.Tensor, r: torch.Tensor, w: torch.Tensor, e: torch.Tensor) -> None:
    """One batched RLS step, in place.

    Args:
        P: ``(B, N, N)`` inverse correlation matrices (symmetric).
        r: ``(B, 1, N)`` rates at this step.
        w: ``(B, N, m)`` readout weights.
        e: ``(B, 1, m)`` error (readout - target) computed with the current w.
    """
    k = torch.bmm(r, P)                                   # (B,1,N) = (P r)^T since P = P^T
    c = 1.0 / (1.0 + torch.bmm(k, r.transpose(1, 2)))     # (B,1,1)
    kc = (k * c).transpose(1, 2)                          # (B,N,1)
    P.baddbmm_(kc, k, alpha=-1.0)
    w.baddbmm_(kc, e, alpha=-1.0)


@dataclass
class TrainingResult:
    """Trained networks and how training went.

    Attributes:
        networks: the trained :class:`RateNetworks` (wo, wd learned).
        final_state: ``(B, N)`` state at the end of the last training trial;
            testing continues from here.
        log: one row per (network, trial): ``seed, trial, trial_type,
            response_rmse, memory_rmse``.
        diverged: ``(B,)`` bool, state or weights became NaN/inf.
        seconds: wall time of training.
    """

    networks: RateNetworks
    final_state: torch.Tensor
    log: pd.DataFrame
    diverged: np.ndarray
    seconds: float


def train(net: RateNetworks, task: SPMTask, cfg: TrainingConfig, *, trials: int | None = None,
          progress: bool = True, desc: str | None = None) -> TrainingResult:
    """Train every network of ``net`` on its own back-to-back stream of SPM trials.

    Network ``b``'s trial order and stimulus draws come from
    :func:`~slowmem.task.trial_rng` (its seed, stream 0), so they do not depend
    on which networks share the batch. ``net`` is not modified; the trained
    copy is returned.
    """
    from tqdm import tqdm

    n_trials = cfg.trials if trials is None else int(trials)
    if n_trials < 0:
        raise ConfigError(f"trials must be >= 0; got {n_trials}")
    dev, dt_ = net.device, net.dtype
    B, N = net.B, net.N
    rngs = [trial_rng(s, 0) for s in net.seeds]
    schedules = np.stack([task.schedule(n_trials, r) for r in rngs]) if n_trials else np.zeros((B, 0), int)

    eye = torch.eye(N, device=dev, dtype=dt_) / cfg.alpha
    modified = cfg.rule == "modified"
    P_out = eye.expand(B, N, N).clone()
    P_mem = eye.expand(B, N, N).clone() if modified else P_out
    wout = net.readout().clone()                   # (B, N, 3): column 0 = wo, 1:3 = wd
    wo, wd = wout[:, :, 0:1], wout[:, :, 1:3]      # views into wout
    W_T = net.recurrent().transpose(1, 2).contiguous()
    F_T = net.feedback().transpose(1, 2).contiguous()   # (B, 3, N)
    wi_T = net.wi.transpose(1, 2).contiguous()          # (B, 2, N)
    x = net.x0.clone().unsqueeze(1)                      # (B, 1, N)
    a = task.dt / task.cfg.tau
    T = task.T
    resp = task.response_mask.tolist()
    mem = task.memory_mask.tolist()
    resp_m = task.response_mask.to(dev)
    mem_m = task.memory_mask.to(dev)
    every = cfg.update_every

    rmse = torch.zeros((n_trials, B, 2), dtype=torch.float64)
    diverged = torch.zeros(B, dtype=torch.bool)
    outputs = torch.empty((T, B, 1, 3), device=dev, dtype=dt_)
    step = 0
    t0 = time.perf_counter()
    bar = tqdm(range(n_trials), desc=desc or f"FORCE ({cfg.rule}, B={B}, N={N})", disable=not progress,
               unit="trial", mininterval=1.0)
    with torch.no_grad():
        for i in bar:
            tr = task.make_trials(schedules[:, i], rngs, device=dev, dtype=dt_)
            drive_in = torch.bmm(tr.inputs.transpose(0, 1), wi_T).transpose(0, 1)   # (T, B, N)
            target = torch.cat([tr.output_target, tr.memory_target], dim=-1)       # (T, B, 3)
            for t in range(T):
                r = torch.tanh(x)
                z = torch.bmm(r, wout, out=outputs[t])                                # (B, 1, 3)
                if step % every == 0:
                    if modified:
                        if resp[t]:
                            rls_update(P_out, r, wo, z[:, :, 0:1] - target[t, :, None, 0:1])
                        elif mem[t]:
                            rls_update(P_mem, r, wd, z[:, :, 1:3] - target[t, :, None, 1:3])
                    else:
                        rls_update(P_out, r, wout, z - target[t, :, None, :])
                rec = torch.baddbmm(drive_in[t].unsqueeze(1), r, W_T)
                rec.baddbmm_(z, F_T)
                x.mul_(1 - a).add_(rec, alpha=a)
                step += 1
            err = (outputs[:, :, 0, :] - target) ** 2                              # (T, B, 3)
            rmse[i, :, 0] = err[resp_m, :, 0].mean(0).sqrt().double().cpu()
            rmse[i, :, 1] = err[mem_m, :, 1:].mean((0, 2)).sqrt().double().cpu()
            bad = ~torch.isfinite(x).all(-1).all(-1).cpu() | ~torch.isfinite(wout).all(-1).all(-1).cpu()
            diverged |= bad
            if progress and (i % 50 == 0 or i == n_trials - 1):
                bar.set_postfix(resp_rmse=f"{rmse[i, :, 0].nanmedian():.3f}",
                                mem_rmse=f"{rmse[i, :, 1].nanmedian():.3f}")
    seconds = time.perf_counter() - t0
    trained = replace(net, wo=wout[:, :, 0:1].clone(), wd=wout[:, :, 1:3].clone())
    log = pd.DataFrame({
        "seed": np.repeat(np.array(net.seeds), n_trials),
        "trial": np.tile(np.arange(n_trials), B),
        "trial_type": schedules.reshape(-1),
        "response_rmse": rmse[:, :, 0].T.reshape(-1).numpy(),
        "memory_rmse": rmse[:, :, 1].T.reshape(-1).numpy(),
    })
    return TrainingResult(trained, x.squeeze(1), log, diverged.numpy(), seconds)


def train_from_config(cfg: Config, seeds: list[int] | None = None, *, progress: bool = True
                      ) -> tuple[SPMTask, TrainingResult]:
    """Create networks for ``seeds`` (default: ``cfg.training.seed``) and train them as one batch."""
    seeds = [cfg.training.seed] if seeds is None else list(seeds)
    task = SPMTask(cfg.task)
    net = RateNetworks.create(cfg.network, seeds, device=cfg.training.device, dtype=cfg.training.dtype)
    return task, train(net, task, cfg.training, progress=progress)
