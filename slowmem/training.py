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

Two engines run it: ``torch`` (batched (B, N, N) tensor operations on the
networks' device and dtype; the GPU path) and ``numba`` (a compiled loop per
trial and network, :mod:`slowmem.kernels`; the CPU default).
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

__all__ = ["ENGINES", "rls_update", "train", "TrainingResult", "train_from_config", "resolve_engine"]

#: Trials :func:`train` builds and runs per call of its engine. Only speed depends on it: a
#: network's trials, stimuli and arithmetic are the same whatever the chunking (tested).
TRIALS_PER_CALL = 10


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
        engine: the engine that ran (``torch`` or ``numba``).
    """

    networks: RateNetworks
    final_state: torch.Tensor
    log: pd.DataFrame
    diverged: np.ndarray
    seconds: float
    engine: str = "torch"


#: Training engines: ``torch`` (batched tensor ops; any device) and ``numba``
#: (compiled per-network trial loop; CPU only, several times faster there).
ENGINES = ("auto", "torch", "numba")


def resolve_engine(engine: str, device: torch.device) -> str:
    """``auto`` -> ``numba`` on the CPU when Numba is installed, else ``torch``."""
    from . import kernels

    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "auto":
        return "numba" if device.type == "cpu" and kernels.AVAILABLE else "torch"
    if engine == "numba" and device.type != "cpu":
        raise ConfigError(f"engine 'numba' runs on the CPU only; networks are on {device}; use engine='torch'")
    if engine == "numba" and not kernels.AVAILABLE:
        raise ConfigError("engine 'numba' needs the numba package (pip install numba); allowed here: torch")
    return engine


def train(net: RateNetworks, task: SPMTask, cfg: TrainingConfig, *, trials: int | None = None,
          progress: bool = True, desc: str | None = None, engine: str = "auto",
          threads: int | None = None) -> TrainingResult:
    """Train every network of ``net`` on its own back-to-back stream of SPM trials.

    Network ``b``'s trial order and stimulus draws come from
    :func:`~slowmem.task.trial_rng` (its seed, stream 0), so they do not depend
    on which networks share the batch. ``net`` is not modified; the trained
    copy is returned.

    ``engine``: ``torch`` runs batched tensor operations on the networks'
    device; ``numba`` (CPU only) runs :data:`TRIALS_PER_CALL` trials at a
    time as one compiled loop per group of networks that share g J (they
    advance in lockstep and read g J once per step; otherwise a group is one
    network), groups spread over
    ``threads`` threads (default ``torch.get_num_threads()``); ``auto`` picks
    ``numba`` on the CPU. The two engines implement the same algorithm and
    agree to rounding; with one engine, the same config and seed give
    bit-identical results, whatever the batch.
    """
    from tqdm import tqdm

    n_trials = cfg.trials if trials is None else int(trials)
    if n_trials < 0:
        raise ConfigError(f"trials must be >= 0; got {n_trials}")
    engine = resolve_engine(engine, net.device)
    dev, dt_ = net.device, net.dtype
    B, N = net.B, net.N
    rngs = [trial_rng(s, 0) for s in net.seeds]
    schedules = np.stack([task.schedule(n_trials, r) for r in rngs]) if n_trials else np.zeros((B, 0), int)

    eye = torch.eye(N, device=dev, dtype=dt_) / cfg.alpha
    modified = cfg.rule == "modified"
    P_out = eye.expand(B, N, N).clone()
    P_mem = eye.expand(B, N, N).clone() if modified else P_out
    wout = net.readout().clone()                   # (B, N, 3): column 0 = wo, 1:3 = wd
    W_T = net.recurrent().transpose(1, 2).contiguous()
    F_T = net.feedback().transpose(1, 2).contiguous()   # (B, 3, N)
    wi_T = net.wi.transpose(1, 2).contiguous()          # (B, 2, N)
    x = net.x0.clone().contiguous()                      # (B, N)
    a = task.dt / task.cfg.tau
    resp_i = task.response_mask.nonzero().squeeze(1).to(dev)   # the windows' steps, for the RMSEs
    mem_i = task.memory_mask.nonzero().squeeze(1).to(dev)
    if engine == "numba":
        n_threads = torch.get_num_threads() if threads is None else int(threads)
        if n_threads < 1:
            raise ConfigError(f"threads must be >= 1; got {threads}")
        step_trial = _numba_stepper(W_T, F_T, wi_T, P_out, P_mem, wout, x, task, cfg, a, min(n_threads, B))
    else:
        step_trial = _torch_stepper(W_T, F_T, wi_T, P_out, P_mem, wout, x, task, cfg, a)

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
    trained = replace(net, wo=wout[:, :, 0:1].clone(), wd=wout[:, :, 1:3].clone())
    log = pd.DataFrame({
        "seed": np.repeat(np.array(net.seeds), n_trials),
        "trial": np.tile(np.arange(n_trials), B),
        "trial_type": schedules.reshape(-1),
        "response_rmse": rmse[:, :, 0].T.reshape(-1).numpy(),
        "memory_rmse": rmse[:, :, 1].T.reshape(-1).numpy(),
    })
    return TrainingResult(trained, x.clone(), log, diverged.numpy(), seconds, engine)


class _Stepper:
    """A trial runner used as a context manager (``__exit__`` releases whatever it holds).

    ``nonfinite()``: ``(B,)`` bool on the networks' device, True where a state or readout
    holds a NaN or an infinity.
    """

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _torch_stepper(_Stepper):
    """Runs trials for the whole batch with batched tensor operations (any device).

    Holds references to the training state (updated in place) and preallocated
    buffers; ``stepper(u (B, K T, 2), target (B, K T, 3)) -> outputs (B, K T, 3)``
    runs K trials, one after the other.
    """

    def __init__(self, W_T, F_T, wi_T, P_out, P_mem, wout, x, task, cfg, a):
        self.W_T, self.F_T, self.wi_T, self.P_out, self.P_mem, self.wout, self.a = W_T, F_T, wi_T, P_out, P_mem, wout, a
        self.x = x.unsqueeze(1)                                     # (B, 1, N) view of the caller's x
        self.resp, self.mem = task.response_mask.tolist(), task.memory_mask.tolist()
        self.modified, self.every, self.step = cfg.rule == "modified", cfg.update_every, 0
        self.outputs = torch.empty((task.T, x.shape[0], 1, 3), device=x.device, dtype=x.dtype)

    def nonfinite(self) -> torch.Tensor:
        return ~torch.isfinite(self.x[:, 0]).all(-1) | ~torch.isfinite(self.wout).all(-1).all(-1)

    def __call__(self, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """K trials back to back: ``u (B, K T, 2)``, ``target (B, K T, 3)`` -> outputs ``(B, K T, 3)``."""
        T = len(self.resp)
        outputs = torch.empty((u.shape[0], u.shape[1], 3), device=u.device, dtype=u.dtype)
        for k in range(u.shape[1] // T):
            part = slice(k * T, (k + 1) * T)
            outputs[:, part] = self._trial(u[:, part].contiguous(), target[:, part].contiguous())
        return outputs

    def _trial(self, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        wout, x, a, outputs = self.wout, self.x, self.a, self.outputs
        drive = torch.bmm(u, self.wi_T)                                              # (B, T, N)
        wo, wd = wout[:, :, 0:1], wout[:, :, 1:3]
        for t in range(len(self.resp)):
            r = torch.tanh(x)
            z = torch.bmm(r, wout, out=outputs[t])                                  # (B, 1, 3)
            if self.step % self.every == 0:
                if not self.modified:
                    rls_update(self.P_out, r, wout, z - target[:, t:t + 1, :])
                elif self.resp[t]:
                    rls_update(self.P_out, r, wo, z[:, :, 0:1] - target[:, t:t + 1, 0:1])
                elif self.mem[t]:
                    rls_update(self.P_mem, r, wd, z[:, :, 1:3] - target[:, t:t + 1, 1:3])
            rec = torch.baddbmm(drive[:, t:t + 1, :], r, self.W_T)
            rec.baddbmm_(z, self.F_T)
            x.mul_(1 - a).add_(rec, alpha=a)
            self.step += 1
        return outputs[:, :, 0, :].transpose(0, 1)


class _numba_stepper(_Stepper):
    """Runs K trials per network in one call of the compiled kernel of :mod:`slowmem.kernels` (CPU).

    Works on NumPy views of the caller's tensors (shared memory, updated in
    place); groups of networks sharing g J (:func:`slowmem.kernels.share_groups`)
    are spread over ``threads`` threads.
    """

    def __init__(self, W_T, F_T, wi_T, P_out, P_mem, wout, x, task, cfg, a, threads):
        from concurrent.futures import ThreadPoolExecutor

        from .kernels import share_groups

        B, N = x.shape
        pending = np.zeros((B, 2, 2, N), dtype=x.numpy().dtype)     # deferred RLS updates (kernels._rls)
        self.arrays = [W_T.numpy(), F_T.numpy(), wi_T.numpy(), P_out.numpy(), P_mem.numpy(), pending, wout.numpy(), x.numpy()]
        self.resp, self.mem = task.response_mask.numpy(), task.memory_mask.numpy()
        self.modified, self.every, self.step, self.a = cfg.rule == "modified", cfg.update_every, 0, a
        self.buffers: dict[int, tuple] = {}                           # K -> (outputs, resp, mem) for K trials
        self.scratch = np.empty((B, 3, N), dtype=self.arrays[0].dtype)
        self.groups = share_groups(self.arrays[0], threads)        # networks sharing g J train in lockstep
        self.pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 and len(self.groups) > 1 else None

    def nonfinite(self) -> torch.Tensor:
        x, wout = self.arrays[7], self.arrays[6]                    # NumPy: cheaper than PyTorch at this size
        return torch.from_numpy(~(np.isfinite(x).all(-1) & np.isfinite(wout).all((1, 2))))

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown()
        return False

    def __call__(self, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """K trials back to back (one kernel call): ``u (B, K T, 2)``, ``target (B, K T, 3)`` -> ``(B, K T, 3)``."""
        from .kernels import force_trials

        K = u.shape[1] // len(self.resp)
        if K not in self.buffers:
            self.buffers[K] = (torch.empty((u.shape[0], u.shape[1], 3), dtype=u.dtype),
                               np.tile(self.resp, K), np.tile(self.mem, K))
        outputs, resp, mem = self.buffers[K]
        self.step = force_trials(*self.arrays, u.numpy(), target.numpy(), resp, mem,
                                 modified=self.modified, every=self.every, step0=self.step, a=self.a,
                                 outputs=outputs.numpy(), scratch=self.scratch, groups=self.groups,
                                 pool=self.pool)
        return outputs


def train_from_config(cfg: Config, seeds: list[int] | None = None, *, progress: bool = True,
                      engine: str = "auto", threads: int | None = None) -> tuple[SPMTask, TrainingResult]:
    """Create networks for ``seeds`` (default: ``cfg.training.seed``) and train them as one batch."""
    seeds = [cfg.training.seed] if seeds is None else list(seeds)
    task = SPMTask(cfg.task)
    net = RateNetworks.create(cfg.network, seeds, device=cfg.training.device, dtype=cfg.training.dtype)
    return task, train(net, task, cfg.training, progress=progress, engine=engine, threads=threads)
