"""What the analyses need of a network: the :class:`DynamicalSystem` protocol (book: Methods, Network).

Every analysis in :mod:`slowmem.analysis` takes a *system*, not a class: B autonomous-with-feedback
dynamical systems of one state size N, advanced together, with states ``x: (B, K, N)`` (K conditions
per system), time in units of tau. :class:`~slowmem.network.RateNetworks` (trained by FORCE) is one;
a network trained another way (backprop through time, a user's own torch RNN) is analysed the same
way once it offers these members:

    B, N, device, dtype, seeds          batch size, state size, where and in what precision; seeds:
                                        one integer per system (it seeds the analyses' random draws)
    vector_field(x)  -> (B, K, N)       dx/dt (tau units) with no input, feedback included
    jacobian(x)      -> (B, K, N, N)    dF/dx at each state
    readouts(x)      -> (B, K, 3)       the response z and the two memory outputs zd at each state
    simulate(x0, inputs, *, steps, dt, tau, record_every, input_mask, outputs, fast) -> Simulation
    select(index), as_dtype(dtype)      a sub-batch; the same systems in another precision

One *optional* fast path: a system whose field is exactly ``F(x) = -x + M tanh(x)`` may say so with
``closed_loop() -> (B, N, N)`` (:class:`ClosedLoopSystem`); the slow-point and speed analyses then use
M's closed forms. Everything else goes through ``vector_field`` and ``jacobian``
(:func:`field_at` and :func:`jacobian_at` for points of different systems).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from .config import ConfigError
from .errors import ShapeError

__all__ = ["DynamicalSystem", "ClosedLoopSystem", "Simulation", "check_system", "closed_loop_matrix",
           "field_at", "jacobian_at", "PROTOCOL_MEMBERS"]


@dataclass
class Simulation:
    """What a system's ``simulate`` recorded.

    Attributes:
        outputs: ``(T, B, K, 3)`` readouts (z, zd_1, zd_2) at each step (only the kept steps:
            see ``outputs`` of :meth:`DynamicalSystem.simulate`).
        final_state: ``(B, K, N)`` state after the last step.
        states: ``(T // record_every, B, K, N)`` or None.
    """

    outputs: torch.Tensor
    final_state: torch.Tensor
    states: torch.Tensor | None = None


@runtime_checkable
class DynamicalSystem(Protocol):
    """B dynamical systems of state size N, batched: everything the analyses use, and nothing more.

    Attributes:
        B: the number of systems.
        N: the state size (units).
        device, dtype: of the states and every tensor returned.
        seeds: ``B`` integers, one per system: the analyses draw their noise from them, so a
            system's results do not depend on its batch neighbours.
    """

    @property
    def B(self) -> int: ...

    @property
    def N(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    @property
    def dtype(self) -> torch.dtype: ...

    @property
    def seeds(self) -> tuple[int, ...]: ...

    def vector_field(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, K, N)``: ``dx/dt`` at ``x: (B, K, N)`` with no input, feedback included, time in units of tau."""
        ...

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, K, N, N)``: ``dF_i/dx_j`` of :meth:`vector_field` at ``x: (B, K, N)``."""
        ...

    def readouts(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, K, 3)``: the response z and the memory outputs zd_1, zd_2 read from ``x: (B, K, N)``."""
        ...

    def simulate(self, x0: torch.Tensor, inputs: torch.Tensor | None = None, *, steps: int | None = None,
                 dt: float = 0.1, tau: float = 1.0, record_every: int = 0,
                 input_mask: torch.Tensor | None = None, outputs: bool | tuple[int, ...] = True,
                 fast: bool = False) -> Simulation:
        """Euler-integrate K conditions per system.

        Args:
            x0: ``(B, K, N)`` start states (``(B, N)``: K = 1).
            inputs: ``(T, B, K, 2)`` inputs, or None for ``steps`` autonomous steps.
            dt, tau: the step and the time constant (``x += dt/tau (F(x) + input drive)``).
            record_every: keep the state every this many steps (0: none).
            input_mask: ``(B, K, N)`` multiplies the input drive per unit (0 silences a unit's input).
            outputs: which steps' readouts to keep: True, False, ``(start, stop)`` or ``(start, stop, step)``.
            fast: the system may use a faster integrator with different rounding.
        Returns:
            :class:`Simulation`: outputs ``(T_kept, B, K, 3)`` (readouts before each step's update),
            final state ``(B, K, N)``, states ``(T // record_every, B, K, N)`` or None.
        """
        ...

    def select(self, index: Sequence[int]) -> DynamicalSystem:
        """The sub-batch of systems ``index``."""
        ...

    def as_dtype(self, dtype: str | torch.dtype) -> DynamicalSystem:
        """The same systems in ``dtype`` (float32 or float64)."""
        ...


@runtime_checkable
class ClosedLoopSystem(Protocol):
    """The optional fast path: a system whose field is exactly ``F(x) = -x + M tanh(x)``."""

    def closed_loop(self) -> torch.Tensor:
        """``(B, N, N)`` the matrix M (for a rate network: recurrence with the feedback folded in)."""
        ...


#: The members :func:`check_system` asks for.
PROTOCOL_MEMBERS = ("B", "N", "device", "dtype", "seeds", "vector_field", "jacobian", "readouts", "simulate",
                    "select", "as_dtype")


def check_system(system) -> DynamicalSystem:
    """``system`` itself; ConfigError naming what is missing unless it has every protocol member."""
    missing = [m for m in PROTOCOL_MEMBERS if not hasattr(system, m)]
    if missing:
        raise ConfigError(f"{type(system).__name__} is not a slowmem.system.DynamicalSystem: it lacks "
                          f"{', '.join(missing)}; a system needs {', '.join(PROTOCOL_MEMBERS)}")
    return system


def closed_loop_matrix(system) -> torch.Tensor | None:
    """``(B, N, N)`` M of a :class:`ClosedLoopSystem` (the fast path), or None for any other system."""
    return system.closed_loop() if isinstance(system, ClosedLoopSystem) else None


def _slots(net_index: torch.Tensor, B: int) -> tuple[torch.Tensor, int]:
    """Each point's position among the points of its system, and the largest count."""
    P = net_index.shape[0]
    if P == 0:
        return net_index, 0
    order = torch.argsort(net_index, stable=True)
    sorted_idx = net_index[order]
    first = torch.searchsorted(sorted_idx, sorted_idx, right=False)
    slot = torch.empty_like(net_index)
    slot[order] = torch.arange(P, device=net_index.device) - first
    return slot, int(torch.bincount(net_index, minlength=B).max())


def _at_points(fn, system, net_index: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply the batched ``fn: (B, K, N) -> (B, K, ...)`` to points ``x: (..., P, N)`` of systems ``net_index``."""
    lead, (P, N) = x.shape[:-2], x.shape[-2:]
    idx = torch.as_tensor(net_index, device=x.device).long()
    if idx.shape != (P,):
        raise ShapeError(f"net_index must give the system of each of the P={P} points of x {tuple(x.shape)}; "
                          f"got shape {tuple(idx.shape)}")
    pts = x.reshape(-1, P, N).transpose(0, 1).reshape(-1, N)              # (P * L, N), point-major
    L = pts.shape[0] // max(P, 1)
    ni = idx.repeat_interleave(L)
    slot, K = _slots(ni, system.B)
    buf = torch.zeros((system.B, max(K, 1), N), device=x.device, dtype=x.dtype)
    buf[ni, slot] = pts
    out = fn(buf)[ni, slot]                                                # (P * L, ...)
    tail = out.shape[1:]
    return out.reshape(P, L, *tail).transpose(0, 1).reshape(*lead, P, *tail)


def field_at(system: DynamicalSystem, net_index: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(..., P, N)``: the vector field at points ``x: (..., P, N)``, point p of system ``net_index[p]``."""
    return _at_points(system.vector_field, system, net_index, x)


def jacobian_at(system: DynamicalSystem, net_index: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(..., P, N, N)``: the Jacobian at points ``x: (..., P, N)``, point p of system ``net_index[p]``."""
    return _at_points(system.jacobian, system, net_index, x)
