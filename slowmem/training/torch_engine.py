"""The torch training engine: FORCE as batched tensor operations (any device; the CUDA path).

One trial is a Python loop over its steps; each step is a handful of batched
matrix products over the B networks (``torch.bmm``), RLS updates included
(:func:`rls_update`). It is the reference implementation of the algorithm in
:mod:`slowmem.training.loop`; the CPU engine (:mod:`slowmem.training.numba_engine`)
agrees with it to rounding.
"""
from __future__ import annotations

import torch

__all__ = ["rls_update", "Stepper", "TorchStepper"]


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
    references to the training state (updated in place) and preallocated
    buffers; ``stepper(u (B, K T, 2), target (B, K T, 3)) -> outputs (B, K T, 3)``
    runs K trials, one after the other.
    """

    def __init__(self, W_T, F_T, wi_T, P_out, P_mem, wout, x, task, cfg, a):
        self.W_T, self.F_T, self.wi_T, self.P_out, self.P_mem, self.wout, self.a = W_T, F_T, wi_T, P_out, P_mem, wout, a
        self.x = x.unsqueeze(1)                                     # (B, 1, N) view of the caller's x
        self.resp, self.mem = task.response_mask.tolist(), task.memory_mask.tolist()
        self.modified, self.every, self.step = cfg.rule == "modified", cfg.update_every, 0
        self.outputs = torch.empty((task.T, 1, 1, 3), device=x.device, dtype=x.dtype)

    def nonfinite(self) -> torch.Tensor:
        return ~torch.isfinite(self.x[:, 0]).all(-1) | ~torch.isfinite(self.wout).all(-1).all(-1)

    def __call__(self, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """K trials back to back: ``u (B, K T, 2)``, ``target (B, K T, 3)`` -> outputs ``(B, K T, 3)``."""
        T = len(self.resp)
        outputs = torch.empty((u.shape[0], u.shape[1], 3), device=u.device, dtype=u.dtype)
        step0 = self.step
        for b in range(u.shape[0]):
            one = slice(b, b + 1)
            state = (self.W_T[one], self.F_T[one], self.wi_T[one], self.P_out[one], self.P_mem[one],
                     self.wout[one], self.x[one])
            self.step = step0
            for k in range(u.shape[1] // T):
                part = slice(k * T, (k + 1) * T)
                outputs[one, part] = self._trial(state, u[one, part].contiguous(), target[one, part].contiguous())
        return outputs

    def _trial(self, state, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One trial of one network: ``state`` holds its batch-one views; ``u (1, T, 2)``, ``target (1, T, 3)``."""
        W_T, F_T, wi_T, P_out, P_mem, wout, x = state
        a, outputs = self.a, self.outputs
        drive = torch.bmm(u, wi_T)                                                   # (1, T, N)
        wo, wd = wout[:, :, 0:1], wout[:, :, 1:3]
        for t in range(len(self.resp)):
            r = torch.tanh(x)
            z = torch.bmm(r, wout, out=outputs[t])                                  # (1, 1, 3)
            if self.step % self.every == 0:
                if not self.modified:
                    rls_update(P_out, r, wout, z - target[:, t:t + 1, :])
                elif self.resp[t]:
                    rls_update(P_out, r, wo, z[:, :, 0:1] - target[:, t:t + 1, 0:1])
                elif self.mem[t]:
                    rls_update(P_mem, r, wd, z[:, :, 1:3] - target[:, t:t + 1, 1:3])
            rec = torch.baddbmm(drive[:, t:t + 1, :], r, W_T)
            rec.baddbmm_(z, F_T)
            x.mul_(1 - a).add_(rec, alpha=a)
            self.step += 1
        return outputs[:, :, 0, :].transpose(0, 1)
