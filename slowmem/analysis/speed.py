"""Speeds and slow points along the memory: the building blocks of :mod:`slowmem.analysis.manifold`.

Vector-field speeds of the closed-loop dynamics, autonomous runs from trial-end states with early
exit once every run has settled, and the damped (Levenberg-Marquardt) q-minimisation that turns
seeds along the memory into slow and fixed points. :mod:`slowmem.analysis.manifold` states the
criteria and puts them together.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..config import ConfigError, DynamicsConfig
from ..errors import ShapeError
from ..system import DynamicalSystem, closed_loop_matrix, field_at, jacobian_at
from .attractors import count_distinct, dynamics_config

__all__ = ["memory_points", "MemoryPoints", "reference_speed", "autonomous_runs", "AutonomousRuns", "field_speed",
           "subspace_angle_deg", "DELAYS"]

#: The memory periods whose test-trial states seed the search.
DELAYS = ("delay1", "delay2")
#: The LM damping starts here (rate 1 / tau, the leak).
_MU0 = 1.0


def _f64(net: DynamicalSystem) -> torch.Tensor | DynamicalSystem:
    """The fast path's ``M: (B, N, N)`` in float64 (:func:`~slowmem.system.closed_loop_matrix`), or else the
    system itself in float64 (its ``vector_field`` and ``jacobian``)."""
    M = closed_loop_matrix(net)
    return net.as_dtype(torch.float64) if M is None else M.to(torch.float64)


def field_speed(M: torch.Tensor | DynamicalSystem, x: torch.Tensor,
                tau: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(F, v)`` at ``x: (B, K, N)``: the field and the speed ``|F| / (tau sqrt(N))`` ``(B, K)``.

    ``M``: a matrix ``(B, N, N)`` (the field ``-x + M tanh(x)``) or a system (its ``vector_field``)."""
    if torch.is_tensor(M):
        F = torch.baddbmm(-x, torch.tanh(x), M.transpose(1, 2))
    else:
        F = M.vector_field(x)
    return F, F.norm(dim=-1) / (tau * math.sqrt(x.shape[-1]))


def reference_speed(states: torch.Tensor, dt: float) -> np.ndarray:
    """``(B,)`` median of ``|x(t + dt) - x(t)| / (dt sqrt(N))`` over the steps and runs of ``states: (T, B, K, N)``."""
    x = torch.as_tensor(states)
    if x.ndim != 4 or x.shape[0] < 2:
        raise ShapeError(f"states must be (T >= 2, B, K, N); got {tuple(x.shape)}")
    v = (x[1:] - x[:-1]).to(torch.float64).norm(dim=-1) / (dt * math.sqrt(x.shape[-1]))   # (T-1, B, K)
    v = v.movedim(1, 0).reshape(x.shape[1], -1).cpu().numpy()
    out = []
    for row in v:
        row = row[np.isfinite(row)]
        out.append(float(np.median(row)) if row.size else math.nan)
    return np.asarray(out)


def subspace_angle_deg(d: torch.Tensor, v: torch.Tensor) -> float:
    """Angle (degrees, 0..90) between the real vector ``d: (N,)`` and the real span of ``v: (N,)`` complex.

    For an eigenvector of a real eigenvalue ``Re v`` and ``Im v`` are parallel (one direction); for a
    complex pair they span the plane the flow rotates in.
    """
    d = d.to(torch.float64)
    basis = torch.stack([v.real, v.imag], 1).to(torch.float64)                 # (N, 2)
    u, s, _ = torch.linalg.svd(basis, full_matrices=False)
    u = u[:, s > 1e-9 * s.max().clamp_min(1e-300)]
    nd = float(d.norm())
    if nd == 0 or u.shape[1] == 0:
        return math.nan
    c = min(1.0, float((u.T @ d).norm()) / nd)
    return math.degrees(math.acos(c))


# --------------------------------------------------------------------------- autonomous runs
@dataclass
class AutonomousRuns:
    """Autonomous runs of B networks from K starts each, with their speed at every step.

    Attributes:
        speed: ``(T, B, K)`` float64, ``v(x_t)`` for the states ``x_0 .. x_{T-1}`` (``x_0`` the start).
        states: ``(R, B, K, N)`` float64, the states at ``record_steps``.
        record_steps: ``(R,)`` steps ``0, record_every, ...`` (< T).
        steps: T, the steps run (fewer than asked once every run settled).
        dt: the time step (tau units).
    """

    speed: np.ndarray
    states: torch.Tensor
    record_steps: np.ndarray
    steps: int
    dt: float


def autonomous_runs(net: DynamicalSystem, starts: torch.Tensor, *, dt: float, tau: float = 1.0, max_steps: int,
                    settled_speed: np.ndarray | None = None, record_every: int = 10) -> AutonomousRuns:
    """Run B networks with no input from ``starts: (B, K, N)`` (Euler, ``x += dt/tau F(x)``), in float64.

    ``settled_speed: (B,)``: the runs stop at the first recorded step at which every run of every
    network is slower than its network's value (a settled run cannot change any more); None runs
    all ``max_steps``.
    """
    M = _f64(net)
    x = torch.as_tensor(starts).to(device=net.device, dtype=torch.float64)
    if x.ndim != 3 or x.shape[0] != net.B or x.shape[2] != net.N:
        raise ShapeError(f"starts must be (B={net.B}, K, N={net.N}); got {tuple(x.shape)}")
    x = x.clone()
    thr = None if settled_speed is None else torch.as_tensor(np.asarray(settled_speed, dtype=np.float64),
                                                           device=x.device).unsqueeze(1)
    speed = torch.empty((max_steps,) + x.shape[:2], dtype=torch.float64, device=x.device)
    rec, rec_steps = [], []
    M_T = M.transpose(1, 2).contiguous() if torch.is_tensor(M) else None
    a = dt / tau
    t = 0
    with torch.no_grad():
        while t < max_steps:
            F = torch.baddbmm(-x, torch.tanh(x), M_T) if M_T is not None else M.vector_field(x)
            v = F.norm(dim=-1) / (tau * math.sqrt(net.N))
            speed[t] = v
            if t % record_every == 0:
                rec.append(x.clone())
                rec_steps.append(t)
                if thr is not None and bool((v < thr).all()):
                    t += 1
                    break
            x.add_(F, alpha=a)
            t += 1
    return AutonomousRuns(speed[:t].cpu().numpy(), torch.stack(rec), np.asarray(rec_steps), t, dt)


# --------------------------------------------------------------------------- the local q-minimisation
class _OneField:
    """System ``b``'s field at points ``(K, N)`` and the Levenberg-Marquardt system: M's closed forms
    (``M: (B, N, N)``) on the fast path, else the float64 system's ``vector_field`` and ``jacobian``."""

    def __init__(self, M: torch.Tensor | DynamicalSystem, b: int):
        self.fast = torch.is_tensor(M)
        if self.fast:
            self.M = M[b]
            self.G = self.M.T @ self.M
            self.M32, self.G32, self.MT32 = self.M.float(), self.G.float(), self.M.T.float()
        else:
            self.system, self.b = M, b

    def _index(self, y: torch.Tensor) -> torch.Tensor:
        return torch.full((y.shape[-2],), self.b, dtype=torch.long, device=y.device)

    def field(self, y: torch.Tensor) -> torch.Tensor:
        """``(K, N)`` the field at ``y: (K, N)``."""
        return -y + torch.tanh(y) @ self.M.T if self.fast else field_at(self.system, self._index(y), y)

    def speed(self, y: torch.Tensor, tau: float) -> torch.Tensor:
        """``(K,)`` the speed at ``y: (K, N)`` (:func:`field_speed`)."""
        if self.fast:
            return field_speed(self.M[None], y[None], tau)[1][0]
        return self.field(y).norm(dim=-1) / (tau * math.sqrt(y.shape[-1]))

    def normal(self, xa: torch.Tensor, Fa: torch.Tensor, ma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(J^T J + mu I (A, N, N) float32, J^T F (A, N))`` at the points ``xa: (A, N)``."""
        if not self.fast:
            J = jacobian_at(self.system, self._index(xa), xa)
            A = (J.mT @ J).float()
            A.diagonal(dim1=1, dim2=2).add_(ma.float().unsqueeze(1))
            return A, torch.einsum("aji,aj->ai", J, Fa)
        d = 1 - torch.tanh(xa) ** 2                                        # (A, N)
        g = -Fa + d * (Fa @ self.M)                                        # J^T F
        d32 = d.float()
        A = self.G32 * d32.unsqueeze(1)                                    # G_ij d_j
        A.sub_(self.MT32).mul_(d32.unsqueeze(2))                           # d_i G_ij d_j - d_i M_ji
        A.addcmul_(self.M32.expand_as(A), d32.unsqueeze(1), value=-1.0)    # - M_ij d_j: A = J^T J - I
        A.diagonal(dim1=1, dim2=2).add_((1.0 + ma).float().unsqueeze(1))
        return A, g


def _lm(f: _OneField, x: torch.Tensor, *, floor: float, mu0: float, steps: int,
        done_below: float, stall: float) -> torch.Tensor:
    """Levenberg-Marquardt on ``q`` for points ``x: (K, N)`` of one network (its field ``f``).

    The damping starts at ``mu0``, is divided by 4 after a step that lowers q and multiplied by 4
    after one that does not, and never falls below ``floor``. A point stops once ``q <
    done_below``, or once an accepted step lowered q by less than the fraction ``stall`` (only the
    directions the floor holds back are left to move). The field and q are float64; the step's
    linear system is factorised in float32 (an inexact step is still a descent direction, and the
    acceptance test is exact), which halves the cost.
    """
    x = x.clone()
    K, N = x.shape
    F = f.field(x)
    q = 0.5 * (F * F).sum(-1)
    mu = torch.full((K,), max(mu0, floor), dtype=x.dtype, device=x.device)
    active = torch.nonzero(q >= done_below)[:, 0]
    for _ in range(steps):
        if active.numel() == 0:
            break
        xa, Fa, qa, ma = x[active], F[active], q[active], mu[active]
        A, g = f.normal(xa, Fa, ma)
        L, info = torch.linalg.cholesky_ex(A)
        y = torch.linalg.solve_triangular(L, -g.float().unsqueeze(-1), upper=False)
        dx = torch.linalg.solve_triangular(L.mT, y, upper=True).squeeze(-1).to(x.dtype)
        xn = xa + dx
        Fn = f.field(xn)
        qn = 0.5 * (Fn * Fn).sum(-1)
        ok = (info == 0) & torch.isfinite(qn) & (qn < qa)
        idx = active[ok]
        x[idx], F[idx], q[idx] = xn[ok], Fn[ok], qn[ok]
        mu[active] = torch.where(ok, (ma / 4).clamp_min(floor), ma * 4)
        go = (q[active] >= done_below) & ~(ok & (qa - qn < stall * qa))
        active = active[go]
    return x


#: An LM step that lowers q by less than this fraction ends the search for that point.
_STALL = 1e-3
#: Damping of the fixed-point test (a rate of 1e-3 / tau): Gauss-Newton, kept just above float32's
#: resolution of J^T J, whose largest eigenvalues are O(1 - 10).
_POLISH_MU = 1e-6


@dataclass
class MemoryPoints:
    """What the local q-minimisation made of the seeds of B networks. Arrays ``(B, S)`` follow the seeds.

    Attributes:
        x: ``(B, S, N)`` float64, the minimised points (the fixed point itself where one was reached).
        speed: ``(B, S)`` their speed.
        fixed: ``(B, S)`` bool, a fixed point within reach.
        slow: ``(B, S)`` bool, not fixed and slower than the slow speed.
        leader: ``(B, S)`` long, the seed index of the distinct point each kept seed merged into (-1: dropped).
        n_fixed, n_slow: ``(B,)`` distinct fixed and slow points.
    """

    x: torch.Tensor
    speed: np.ndarray
    fixed: np.ndarray
    slow: np.ndarray
    leader: np.ndarray
    n_fixed: np.ndarray
    n_slow: np.ndarray


def memory_points(net: DynamicalSystem, seeds: torch.Tensor, slow_speed, *, valid: torch.Tensor | None = None,
                  cfg: DynamicsConfig | None = None, tau: float = 1.0) -> MemoryPoints:
    """Fixed and slow points next to ``seeds: (B, S, N)`` (steps 2-4 of the module docstring).

    Args:
        slow_speed: ``(B,)`` (or a scalar) speed below which a point is slow (NaN: none is).
        valid: ``(B, S)`` bool, the seeds to use (default: the finite ones).
        cfg: ``manifold_damping_rate``, ``manifold_lm_steps``, ``manifold_newton_steps``,
            ``manifold_fixed_reach``, ``tol_fixed`` and ``point_tolerance`` are read.
    """
    cfg = dynamics_config(cfg)
    x0 = torch.as_tensor(seeds)
    if x0.ndim != 3 or x0.shape[0] != net.B or x0.shape[2] != net.N:
        raise ShapeError(f"seeds must be (B={net.B}, S, N={net.N}); got {tuple(x0.shape)}")
    x0 = x0.to(device=net.device, dtype=torch.float64)
    B, S, N = x0.shape
    ok = torch.isfinite(x0).all(-1)
    if valid is not None:
        valid = torch.as_tensor(valid, device=net.device)
        if valid.shape != (B, S):
            raise ShapeError(f"valid must be (B={B}, S={S}); got {tuple(valid.shape)}")
        ok &= valid.bool()
    vs = np.broadcast_to(np.asarray(slow_speed, dtype=np.float64), (B,)).copy()
    if (vs <= 0).any():
        raise ConfigError(f"slow_speed must be positive (NaN: nothing is slow) for every network; got {vs.tolist()}")
    M = _f64(net)
    x = torch.nan_to_num(x0.clone())
    fixed = torch.zeros((B, S), dtype=torch.bool, device=net.device)
    floor = cfg.manifold_damping_rate ** 2
    with torch.no_grad():
        for b in range(B):
            idx = torch.nonzero(ok[b])[:, 0]
            if idx.numel() == 0:
                continue
            f = _OneField(M, b)
            y = _lm(f, x[b, idx], floor=floor, mu0=_MU0, steps=cfg.manifold_lm_steps, done_below=cfg.tol_fixed,
                    stall=_STALL)
            x[b, idx] = y
            cand = torch.nonzero(f.speed(y, tau) < float(vs[b]))[:, 0]                   # only these can be kept
            if cand.numel() == 0:
                continue
            # is there a fixed point right here? undamped (floor 0) steps from the minimised point
            z = _lm(f, y[cand], floor=_POLISH_MU, mu0=_POLISH_MU, steps=cfg.manifold_newton_steps,
                    done_below=1e-10 * cfg.tol_fixed, stall=0.0)
            Fz = f.field(z)
            near = (z - y[cand]).norm(dim=-1) / math.sqrt(N) <= cfg.manifold_fixed_reach
            hit = (0.5 * (Fz * Fz).sum(-1) < cfg.tol_fixed) & near
            x[b, idx[cand[hit]]] = z[hit]
            fixed[b, idx[cand[hit]]] = True
        F, v = field_speed(M, x, tau)
        q = 0.5 * (F * F).sum(-1)
        fixed &= ok & (q < cfg.tol_fixed)
        slow = ok & ~fixed & (v < torch.as_tensor(vs, device=net.device).unsqueeze(1))
        # merge: fixed points first (by q), then slow points by speed
        key = torch.where(fixed, q - 1.0, torch.where(slow, v, torch.full_like(v, math.inf)))
        order = torch.argsort(key, dim=1, stable=True)
        _, leader = count_distinct(x, fixed | slow, cfg.point_tolerance, order=order)
    leader = leader.cpu().numpy()
    lead = leader == np.arange(S)
    fixed_np, slow_np = fixed.cpu().numpy(), slow.cpu().numpy()
    return MemoryPoints(x, v.cpu().numpy(), fixed_np, slow_np, leader, (lead & fixed_np).sum(1),
                        (lead & slow_np).sum(1))
