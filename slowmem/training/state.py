"""The training state of a batch of rate networks under FORCE, by name (what every engine reads and updates).

:func:`slowmem.training.train` makes one :class:`TrainingState` (:meth:`TrainingState.fresh`) and hands it to
its engine; the engine updates the tensors in place (the fields are never rebound: the dataclass is frozen).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from ..network import RateNetworks

__all__ = ["TrainingState"]


@dataclass(frozen=True)
class TrainingState:
    """Weights, RLS matrices and states of B networks in training; the fields' tensors are updated in place.

    Fields (one device and dtype; torch tensors, or NumPy views of them after :meth:`numpy`):
        W_T: ``(B, N, N)`` the recurrent matrix, transposed: ``(g J)^T`` (fixed).
        F_T: ``(B, 3, N)`` the feedback, transposed: ``[wf, wfd]^T`` (fixed).
        wi_T: ``(B, 2, N)`` the input weights, transposed (fixed).
        P_out: ``(B, N, N)`` RLS inverse correlation matrix of the response readout wo (the
            original rule: of both readouts).
        P_mem: ``(B, N, N)`` that of the memory readout wd (the original rule: the same tensor as ``P_out``).
        pending: ``(B, 2, 2, N)`` rank-1 updates of (P_out, P_mem) not yet applied:
            ``P -= pending[:, i, 0] pending[:, i, 1]^T`` (the Numba engine defers each update to the
            next pass over P; the torch engine applies updates at once and leaves this zero).
        wout: ``(B, N, 3)`` the readouts ``[wo, wd]`` (learned).
        x: ``(B, N)`` the states.
    """

    W_T: torch.Tensor
    F_T: torch.Tensor
    wi_T: torch.Tensor
    P_out: torch.Tensor
    P_mem: torch.Tensor
    pending: torch.Tensor
    wout: torch.Tensor
    x: torch.Tensor

    @classmethod
    def fresh(cls, net: RateNetworks, *, alpha: float, rule: str) -> TrainingState:
        """The state before the first trial: ``P = I / alpha``, ``wout`` and ``x`` copied from ``net``."""
        B, N, dev, dt = net.B, net.N, net.device, net.dtype
        eye = torch.eye(N, device=dev, dtype=dt) / alpha
        P_out = eye.expand(B, N, N).clone()
        return cls(W_T=net.recurrent().transpose(1, 2).contiguous(),
                   F_T=net.feedback().transpose(1, 2).contiguous(),
                   wi_T=net.wi.transpose(1, 2).contiguous(),
                   P_out=P_out,
                   P_mem=eye.expand(B, N, N).clone() if rule == "modified" else P_out,
                   pending=torch.zeros((B, 2, 2, N), device=dev, dtype=dt),
                   wout=net.readout().clone(),
                   x=net.x0.clone().contiguous())

    @property
    def B(self) -> int:
        return self.x.shape[0]

    @property
    def N(self) -> int:
        return self.x.shape[-1]

    def network(self, b: int) -> TrainingState:
        """Network ``b``'s state as batch-one views ``[b:b+1]`` (writes go to this state)."""
        return TrainingState(**{f.name: getattr(self, f.name)[b:b + 1] for f in fields(self)})

    def numpy(self) -> TrainingState:
        """The same state as NumPy arrays sharing memory with the tensors (CPU only)."""
        views: dict[str, np.ndarray] = {f.name: getattr(self, f.name).numpy() for f in fields(self)}
        return TrainingState(**views)

    def nonfinite(self) -> torch.Tensor:
        """``(B,)`` bool: True where a state or readout holds a NaN or an infinity."""
        if isinstance(self.x, np.ndarray):                           # NumPy: cheaper than PyTorch at this size
            return torch.from_numpy(~(np.isfinite(self.x).all(-1) & np.isfinite(self.wout).all((1, 2))))
        return ~torch.isfinite(self.x).all(-1) | ~torch.isfinite(self.wout).all(-1).all(-1)
