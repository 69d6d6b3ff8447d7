"""The torch training engine: FORCE as batched tensor operations (any device; the CUDA path).

One trial is a Python loop over its steps; each step is a handful of batched
matrix products over the B networks (``torch.bmm``), RLS updates included
(:func:`rls_update`). It is the reference implementation of the algorithm in
:mod:`slowmem.training.loop`: each step is :func:`force_step`, the model's one step
(:func:`slowmem.network.rate_step`) plus RLS; the CPU engine
(:mod:`slowmem.training.numba_engine`) agrees with it to rounding (``tests/training/test_step.py``).
"""
from __future__ import annotations

import torch

from ..network import rate_step
from .state import TrainingState

__all__ = ["force_step", "rls_update", "Stepper", "TorchStepper"]


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


#: What :func:`force_step` lets learn: nothing, both readouts with P_out (the original rule), wo with P_out
#: (modified, response window) or wd with P_mem (modified, delay windows).
LEARN = (None, "both", "response", "memory")


def force_step(s: TrainingState, drive: torch.Tensor | None, target: torch.Tensor, a: float,
               learn: str | None) -> torch.Tensor:
    """One FORCE training step of the networks of ``s``, in place: :func:`slowmem.network.rate_step`, then RLS.

    The readouts z at the current state are compared with ``target``; on a ``learn`` step the readouts
    named (see :data:`LEARN`) take one :func:`rls_update` with that error; the state takes the model's
    step, fed back with z as it was before the update.

    Args:
        s: the state (``x (B, N)``, ``wout``, ``P_out``, ``P_mem`` updated).
        drive: ``(B, 1, N)`` input current ``u wi^T`` at this step, or None.
        target: ``(B, 1, 3)`` targets of (z, zd_1, zd_2) at this step.
        a: ``dt / tau``.
        learn: one of :data:`LEARN`.
    Returns:
        ``(B, 1, 3)`` the readouts z at the state before the step.
    """
    x = s.x.unsqueeze(1)                                                         # (B, 1, N) view
    x_next, r, z = rate_step(x, s.W_T, s.F_T, s.wout, drive, a)
    if learn == "both":
        rls_update(s.P_out, r, s.wout, z - target)
    elif learn == "response":
        rls_update(s.P_out, r, s.wout[:, :, 0:1], z[:, :, 0:1] - target[:, :, 0:1])
    elif learn == "memory":
        rls_update(s.P_mem, r, s.wout[:, :, 1:3], z[:, :, 1:3] - target[:, :, 1:3])
    elif learn is not None:
        raise ValueError(f"learn must be one of {LEARN}; got {learn!r}")
    x.copy_(x_next)
    return z


class Stepper:
    """A trial runner used as a context manager (``__exit__`` releases whatever it holds).

    ``nonfinite()``: ``(B,)`` bool on the networks' device, True where a state or readout
    holds a NaN or an infinity.
    """

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class TorchStepper(Stepper):
    """Runs trials with tensor operations on the networks' device, one network at a time.

    Batched matrix products over B networks do not give each network the same
    rounding as a batch of one (the BLAS picks its kernels by batch size; a
    difference of ~1e-12 was measured between a network alone and in a batch
    of 4), so this engine runs each network's trials with batch-one products:
    a network's result is bit for bit the same whatever its batch. Holds
    the training state (:class:`~slowmem.training.state.TrainingState`, updated in
    place); ``stepper(u (B, K T, 2), target (B, K T, 3)) -> outputs (B, K T, 3)``
    runs K trials, one after the other, each step one :func:`force_step`.
    """

    def __init__(self, state: TrainingState, task, cfg, a: float):
        self.state, self.a = state, a
        self.resp, self.mem = task.response_mask.tolist(), task.memory_mask.tolist()
        self.modified, self.every, self.step = cfg.rule == "modified", cfg.update_every, 0
        self.outputs = torch.empty((task.T, 1, 1, 3), device=state.x.device, dtype=state.x.dtype)

    def nonfinite(self) -> torch.Tensor:
        return self.state.nonfinite()

    def __call__(self, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """K trials back to back: ``u (B, K T, 2)``, ``target (B, K T, 3)`` -> outputs ``(B, K T, 3)``."""
        T = len(self.resp)
        outputs = torch.empty((u.shape[0], u.shape[1], 3), device=u.device, dtype=u.dtype)
        step0 = self.step
        for b in range(u.shape[0]):
            one = slice(b, b + 1)
            state = self.state.network(b)
            self.step = step0
            for k in range(u.shape[1] // T):
                part = slice(k * T, (k + 1) * T)
                outputs[one, part] = self._trial(state, u[one, part].contiguous(), target[one, part].contiguous())
        return outputs

    def _learn(self, t: int) -> str | None:
        """What learns at step ``t`` of a trial (see :data:`LEARN`), at the current global step."""
        if self.step % self.every:
            return None
        if not self.modified:
            return "both"
        return "response" if self.resp[t] else ("memory" if self.mem[t] else None)

    def _trial(self, state: TrainingState, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One trial of one network: ``state`` holds its batch-one views; ``u (1, T, 2)``, ``target (1, T, 3)``."""
        drive = torch.bmm(u, state.wi_T)                                             # (1, T, N)
        for t in range(len(self.resp)):
            z = force_step(state, drive[:, t:t + 1, :], target[:, t:t + 1, :], self.a, self._learn(t))
            self.outputs[t].copy_(z)
            self.step += 1
        return self.outputs[:, :, 0, :].transpose(0, 1)
