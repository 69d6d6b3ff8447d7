"""FORCE and modified FORCE training, batched over networks (the paper's Methods, training; book: Methods, Training).

Only the readouts wo (response) and wd (memory) learn, online, by recursive
least squares. Every ``update_every`` integration steps, for a readout w with
inverse-correlation matrix P and error e = readout - target:

    k = P r;  c = 1 / (1 + r^T k);  P <- P - c k k^T;  w <- w - c k e^T

* ``modified`` FORCE (the paper's main rule): wd updates only inside the delay
  windows, wo only inside the response window; two matrices Pw, Pd.
* ``original`` FORCE: both update at every update step with targets zero
  outside their windows; the two readouts then see the same r at the same
  steps, so one shared P is exactly equivalent to two and is what we use.

Two engines run it: ``torch`` (batched (B, N, N) tensor operations on the
networks' device and dtype; the GPU path) and ``numba`` (a compiled loop per
trial and network, :mod:`slowmem.training.numba_engine`; the CPU default).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from ..config import Config, ConfigError, TrainingConfig
from ..network import RateNetworks
from ..runtime import ENGINES, Runtime, as_runtime
from ..task import STREAMS, SPMTask, trial_rng
from . import numba_engine
from .numba_engine import NumbaStepper
from .state import TrainingState
from .torch_engine import TorchStepper

__all__ = ["ENGINES", "TRIALS_PER_CALL", "train", "TrainingResult", "train_from_config", "resolve_engine"]

#: Trials :func:`train` builds and runs per call of its engine. Only speed depends on it: a
#: network's trials, stimuli and arithmetic are the same whatever the chunking (tested).
TRIALS_PER_CALL = 10


@dataclass
class TrainingResult:
    """Trained networks and how training went.

    Attributes:
        networks: the trained :class:`RateNetworks` (wo, wd learned).
        final_state: ``(B, N)`` state at the end of the last training trial;
            testing continues from here.
        log: one row per (network, trial): ``network`` (the batch index b,
            the key to use: seeds may repeat within a batch), ``seed, trial, trial_type,
            response_rmse, memory_rmse``.
        diverged: ``(B,)`` bool, state or weights became NaN/inf.
        seconds: wall time of training.
        engine: the engine that ran (``torch`` or ``numba``).
    """

    networks: RateNetworks
    final_state: torch.Tensor
    log: pd.DataFrame
    diverged: np.ndarray
    seconds: float
    engine: str = "torch"


def resolve_engine(engine: str, device: torch.device) -> str:
    """``auto`` -> ``numba`` on the CPU when Numba is installed, else ``torch``."""
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "auto":
        return "numba" if device.type == "cpu" and numba_engine.AVAILABLE else "torch"
    if engine == "numba" and device.type != "cpu":
        raise ConfigError(f"engine 'numba' runs on the CPU only; networks are on {device}; use engine='torch'")
    if engine == "numba" and not numba_engine.AVAILABLE:
        raise ConfigError("engine 'numba' needs the numba package (pip install numba); allowed here: torch")
    return engine


def train(net: RateNetworks, task: SPMTask, cfg: TrainingConfig, *, trials: int | None = None,
          progress: bool = True, desc: str | None = None, runtime: Runtime | None = None) -> TrainingResult:
    """Train every network of ``net`` on its own back-to-back stream of SPM trials.

    Network ``b``'s trial order and stimulus draws come from
    :func:`~slowmem.task.trial_rng` (its seed, stream 0), so they do not depend
    on which networks share the batch. ``net`` is not modified; the trained
    copy is returned.

    ``runtime`` (:class:`slowmem.runtime.Runtime`; None: its defaults) gives
    the engine and the threads; the networks stay on their own device.
    ``runtime.engine``: ``torch`` runs batched tensor operations on the networks'
    device; ``numba`` (CPU only) runs :data:`TRIALS_PER_CALL` trials at a
    time as one compiled loop per group of networks that share g J (they
    advance in lockstep and read g J once per step; otherwise a group is one
    network), groups spread over
    ``runtime.threads`` threads (default ``torch.get_num_threads()``); ``auto`` picks
    ``numba`` on the CPU. The two engines implement the same algorithm and
    agree to rounding; with one engine, the same config and seed give
    bit-identical results, whatever the batch.
    """
    from tqdm import tqdm

    n_trials = cfg.trials if trials is None else int(trials)
    if n_trials < 0:
        raise ConfigError(f"trials must be >= 0; got {n_trials}")
    runtime = as_runtime(runtime)
    engine = resolve_engine(runtime.engine, net.device)
    dev, dt_ = net.device, net.dtype
    B, N = net.B, net.N
    rngs = [trial_rng(s, STREAMS["training"]) for s in net.seeds]
    schedules = np.stack([task.schedule(n_trials, r) for r in rngs]) if n_trials else np.zeros((B, 0), int)

    step_trial, state = _stepper(net, task, cfg, engine, runtime.engine_threads())
    resp_i = task.response_mask.nonzero().squeeze(1).to(dev)   # the windows' steps, for the RMSEs
    mem_i = task.memory_mask.nonzero().squeeze(1).to(dev)

    # kept on the networks' device and copied once at the end: no host sync per trial on a GPU
    rmse = torch.zeros((n_trials, B, 2), dtype=torch.float64, device=dev)
    diverged = torch.zeros(B, dtype=torch.bool, device=dev)
    T = task.T
    t0 = time.perf_counter()
    bar = tqdm(total=n_trials, desc=desc or f"FORCE ({cfg.rule}, {engine}, B={B}, N={N})",
               disable=not progress, unit="trial", mininterval=1.0)
    with torch.no_grad(), step_trial, bar:
        # TRIALS_PER_CALL trials at a time: one call builds their inputs, runs them back to back
        # and takes their errors, so the per-call bookkeeping (about 1 ms) is paid once per chunk
        for i in range(0, n_trials, TRIALS_PER_CALL):
            K = min(TRIALS_PER_CALL, n_trials - i)
            tr = task.make_trials(schedules[:, i:i + K], rngs, device=dev, dtype=dt_)      # (T, B, K, .)
            u = tr.inputs.permute(1, 2, 0, 3).reshape(B, K * T, 2)
            target = torch.cat([tr.output_target, tr.memory_target], dim=-1).permute(1, 2, 0, 3).reshape(B, K * T, 3)
            outputs = step_trial(u, target).view(B, K, T, 3)                                # (B, K, T, 3)
            target = target.view(B, K, T, 3)
            rmse[i:i + K, :, 0] = ((outputs[:, :, resp_i, 0] - target[:, :, resp_i, 0]) ** 2).mean(-1).sqrt().T
            rmse[i:i + K, :, 1] = ((outputs[:, :, mem_i, 1:] - target[:, :, mem_i, 1:]) ** 2).mean((-2, -1)).sqrt().T
            diverged |= step_trial.nonfinite()       # a NaN or infinity never goes away: once per chunk suffices
            bar.update(K)
            if progress and ((i // TRIALS_PER_CALL) % 5 == 0 or i + K == n_trials):
                bar.set_postfix(resp_rmse=f"{rmse[i + K - 1, :, 0].nanmedian():.3f}",
                                mem_rmse=f"{rmse[i + K - 1, :, 1].nanmedian():.3f}")
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - t0
    rmse, diverged = rmse.cpu(), diverged.cpu()
    trained = replace(net, wo=state.wout[:, :, 0:1].clone(), wd=state.wout[:, :, 1:3].clone())
    log = pd.DataFrame({
        "network": np.repeat(np.arange(B), n_trials),
        "seed": np.repeat(np.array(net.seeds), n_trials),
        "trial": np.tile(np.arange(n_trials), B),
        "trial_type": schedules.reshape(-1),
        "response_rmse": rmse[:, :, 0].T.reshape(-1).numpy(),
        "memory_rmse": rmse[:, :, 1].T.reshape(-1).numpy(),
    })
    return TrainingResult(trained, state.x.clone(), log, diverged.numpy(), seconds, engine)


def _stepper(net: RateNetworks, task: SPMTask, cfg: TrainingConfig, engine: str, threads: int):
    """The engine's trial runner over fresh training state; returns ``(stepper, state)``.

    ``state`` (:class:`TrainingState`: ``wout (B, N, 3)``, column 0 = wo, 1:3 = wd; ``x (B, N)``; ...)
    is made here, once, and updated in place by the stepper.
    """
    state = TrainingState.fresh(net, alpha=cfg.alpha, rule=cfg.rule)
    a = task.dt / task.cfg.tau
    if engine == "numba":
        return NumbaStepper(state, task, cfg, a, min(threads, net.B)), state
    return TorchStepper(state, task, cfg, a), state


def train_from_config(cfg: Config, seeds: list[int] | None = None, *, progress: bool = True,
                      runtime: Runtime | None = None) -> tuple[SPMTask, TrainingResult]:
    """Create networks for ``seeds`` (default: ``cfg.training.seed``) on ``runtime.device`` and train them as
    one batch (``runtime``: :class:`slowmem.runtime.Runtime`, None for its defaults)."""
    runtime = as_runtime(runtime)
    seeds = [cfg.training.seed] if seeds is None else list(seeds)
    task = SPMTask(cfg.task)
    net = RateNetworks.create(cfg.network, seeds, device=runtime.torch_device(), dtype=cfg.training.dtype)
    return task, train(net, task, cfg.training, progress=progress, runtime=runtime)


def training_bytes(B: int, N: int, dtype: str) -> int:
    """Memory one batch of ``B`` networks of ``N`` units needs to train (bytes, an estimate from above).

    Per network: g J and its transpose, two RLS matrices P, and the random
    matrix J drawn in float64 at creation, each N x N.
    """
    item = 4 if dtype == "float32" else 8
    return int(B) * int(N) ** 2 * (4 * item + 2 * 8)


def _memory_available(device: str) -> int | None:
    """Bytes of memory available for a batch on ``device`` (None when unknown)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        import os
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_training_memory(B: int, N: int, dtype: str, *, device: str = "cpu", where: str = "the batch") -> None:
    """Refuse, before any work, a batch whose training would not fit in the memory available now."""
    need, have = training_bytes(B, N, dtype), _memory_available(device)
    if have is not None and need > have:
        raise ConfigError(f"{where} of {B} network(s) with N = {N} ({dtype}) needs about {need / 2**30:.1f} GiB to "
                          f"train, but {device} has {have / 2**30:.1f} GiB available; use fewer networks per batch "
                          "(--batch, --seeds) or a smaller N")
