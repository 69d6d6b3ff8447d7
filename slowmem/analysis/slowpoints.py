"""Fixed points and slow points of the closed-loop dynamics (Sussillo & Barak 2013; book: Methods, Slow points).

With feedback folded in, a trained network without input is the autonomous
system ``dx/dt = F(x)`` (time in units of tau; any :class:`~slowmem.system.DynamicalSystem`, through
its ``vector_field`` and ``jacobian``). For a rate network ``F(x) = -x + M tanh(x)``, ``M =
net.closed_loop()`` (B, N, N), whose closed forms below are the fast path (:class:`PointField`).
Following Sussillo & Barak (2013) we minimise the *speed*

    q(x) = 1/2 |F(x)|^2,   grad q = J(x)^T F(x),   J(x) = -I + M diag(1 - tanh(x)^2)

from many states sampled along the network's trajectories:

1. **Adam** (optional, ``adam_steps``, default 0): ``torch.optim.Adam`` on
   all ``B x K`` starts at once with the analytic gradient above, learning
   rate decaying geometrically from ``adam_lr`` to ``adam_final_lr``.
2. **Damped Newton** (``newton_steps`` = 40) on every point (or only those
   with ``q < refine_below``): the step ``-J^{-1} F`` (a descent direction of
   q wherever J is invertible), halved until q decreases (up to 10 times).
   A point leaves the batch once ``q < 1e-10 * tol_fixed`` (converged) or
   when no halving helps: it then sits at a positive local minimum of q, a
   *slow point*. Fixed points converge quadratically (q ~ 1e-29 in float64).

   Why Newton and not Adam by default: on a trained N = 300 network
   (``/tmp/rbook3000`` seed 0) 1000 Adam steps from 512 trajectory states
   left the median q at 1.3e-2 (the landscape is badly conditioned along
   the slow directions), while damped Newton converged 431 of the 512 starts
   to q < 1e-10 in ~8 solves each (4043 solves in all) and found 7 fixed
   points (4 stable) against 4 after Adam + Newton.
3. **Selection**: fixed if ``q < tol_fixed``, slow if ``q < tol_slow``; points
   closer than ``point_tolerance`` (RMS over units) are merged keeping the
   lowest q (:func:`~slowmem.analysis.attractors.count_distinct`), and at most
   ``max_points`` per network (lowest q first) are kept.
4. **Linearisation**: eigenvalues of J at every kept point
   (``torch.linalg.eigvals``); *stable* if every real part is negative.

Use float64: ``tol_fixed = 1e-10`` is far below float32 resolution of q.
Newton's Jacobians are processed in chunks of ``max_chunk_elements`` numbers.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..config import ConfigError, DynamicsConfig
from ..errors import ShapeError
from ..runtime import Runtime, as_runtime
from ..system import DynamicalSystem, closed_loop_matrix, field_at, jacobian_at
from ..task import STREAMS, trial_rng
from .attractors import count_distinct, dynamics_config

__all__ = ["SlowPoints", "find_slow_points", "sample_starts", "speed", "jacobian", "PointField"]

_BACKTRACK = 10
#: Newton stops refining a point once q < _CONVERGED * tol_fixed.
_CONVERGED = 1e-10


def speed(M: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The field, its rates and q for ``x: (B, K, N)`` and ``M: (B, N, N)``.

    Returns ``(F (B, K, N), r = tanh(x) (B, K, N), q (B, K))``.
    """
    r = torch.tanh(x)
    F = torch.baddbmm(-x, r, M.transpose(1, 2))
    return F, r, 0.5 * (F * F).sum(-1)


def jacobian(M: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(P, N, N)`` analytic Jacobian ``-I + M diag(1 - tanh(x)^2)`` for ``M: (P, N, N)``, ``x: (P, N)``."""
    d = 1 - torch.tanh(x) ** 2
    J = M * d.unsqueeze(1)
    J.diagonal(dim1=1, dim2=2).sub_(1.0)
    return J


class PointField:
    """The field and Jacobian of a system at points of different systems of its batch.

    A :class:`~slowmem.system.ClosedLoopSystem` (a rate network) uses M's closed forms; any other
    :class:`~slowmem.system.DynamicalSystem` its ``vector_field`` and ``jacobian``.
    """

    def __init__(self, system: DynamicalSystem, M: torch.Tensor | None = None):
        self.system = system
        self.M = closed_loop_matrix(system) if M is None else M

    def field(self, net_index: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(..., P, N)`` the field at ``y: (..., P, N)``, point p of system ``net_index[p]``."""
        if self.M is None:
            return field_at(self.system, net_index, y)
        return -y + torch.einsum("pij,...pj->...pi", self.M[net_index], torch.tanh(y))

    def jacobian(self, net_index: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(P, N, N)`` the Jacobian at ``y: (P, N)``, point p of system ``net_index[p]``."""
        if self.M is None:
            return jacobian_at(self.system, net_index, y)
        return jacobian(self.M[net_index], y)

    def speed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(F (B, K, N), q (B, K))`` at ``x: (B, K, N)`` (:func:`speed` on the fast path)."""
        if self.M is None:
            F = self.system.vector_field(x)
            return F, 0.5 * (F * F).sum(-1)
        F, _, q = speed(self.M, x)
        return F, q


@dataclass
class SlowPoints:
    """Fixed and slow points of B networks. Point arrays share the leading axis P.

    Attributes:
        seeds: ``(B,)`` network seeds.
        network: ``(P,)`` long, index of each point's network in the batch.
        x_star: ``(P, N)`` the points.
        q: ``(P,)`` their speed ``1/2 |F|^2``.
        eigenvalues: ``(P, N)`` complex, of the Jacobian, by decreasing real part.
        is_fixed: ``(P,)`` bool, ``q < tol_fixed`` (the others are slow points).
        is_stable: ``(P,)`` bool, every eigenvalue has a negative real part.
        n_starts: starts per network.
        tol_fixed, tol_slow: the thresholds used.
        seconds: wall time.
    """

    seeds: np.ndarray
    network: torch.Tensor
    x_star: torch.Tensor
    q: torch.Tensor
    eigenvalues: torch.Tensor
    is_fixed: torch.Tensor
    is_stable: torch.Tensor
    n_starts: int
    tol_fixed: float
    tol_slow: float
    seconds: float = float("nan")

    @property
    def B(self) -> int:
        return len(self.seeds)

    def leading_eigenvalue(self) -> torch.Tensor:
        """``(P,)`` complex: the eigenvalue with the largest real part at each point."""
        return self.eigenvalues[:, 0] if self.eigenvalues.shape[1] else torch.zeros(0, dtype=torch.complex128)

    def _count(self, mask: torch.Tensor) -> np.ndarray:
        return torch.bincount(self.network[mask].cpu(), minlength=self.B).numpy()

    def counts(self) -> dict[str, np.ndarray]:
        """Per network ``(B,)`` counts: ``n_fixed, n_fixed_stable, n_slow, n_slow_stable``."""
        f, s = self.is_fixed, self.is_stable
        return {"n_fixed": self._count(f), "n_fixed_stable": self._count(f & s),
                "n_slow": self._count(~f), "n_slow_stable": self._count(~f & s)}

    def select(self, b: int) -> SlowPoints:
        """The points of network ``b`` alone (``network`` becomes all zeros)."""
        m = self.network == b
        return SlowPoints(self.seeds[b:b + 1], torch.zeros(int(m.sum()), dtype=torch.long), self.x_star[m],
                          self.q[m], self.eigenvalues[m], self.is_fixed[m], self.is_stable[m], self.n_starts,
                          self.tol_fixed, self.tol_slow, self.seconds)


def sample_starts(net: DynamicalSystem, candidates: list[torch.Tensor] | torch.Tensor, n: int) -> torch.Tensor:
    """``(B, n, N)`` starts drawn uniformly without replacement from pooled trajectory states.

    Args:
        candidates: tensors ``(..., B, K_i, N)`` (e.g. probe snapshots
            ``(n_snap, B, S, N)`` and test-trial states ``(T, B, K, N)``); all
            their states are pooled per network (non-finite states dropped).
        n: starts per network; if fewer finite candidates exist, some are
            drawn twice.
    The draw uses a child of :func:`~slowmem.task.trial_rng` stream ``"probe"`` of the
    network's seed, so it does not depend on the batch.
    """
    parts = [candidates] if torch.is_tensor(candidates) else list(candidates)
    pool = []
    for c in parts:
        if c.ndim < 3 or c.shape[-3] != net.B or c.shape[-1] != net.N:
            raise ShapeError(f"candidates must be (..., B={net.B}, K, N={net.N}); got {tuple(c.shape)}")
        c = c.to(device=net.device, dtype=net.dtype)
        pool.append(c.movedim(-3, 0).reshape(net.B, -1, net.N))
    pool = torch.cat(pool, 1)                                  # (B, C, N)
    finite = torch.isfinite(pool).all(-1).cpu().numpy()
    idx = []
    for b, s in enumerate(net.seeds):
        rng = trial_rng(s, STREAMS["probe"]).spawn(1)[0]
        ok = np.flatnonzero(finite[b])
        if ok.size == 0:
            raise ConfigError(f"network {b} (seed {s}): no finite candidate state to start the slow-point search")
        pick = rng.choice(ok, size=n, replace=ok.size < n)
        idx.append(np.sort(pick))
    idx = torch.as_tensor(np.stack(idx), device=net.device)
    return pool.gather(1, idx.unsqueeze(-1).expand(-1, -1, net.N))


def _adam(pf: PointField, x0: torch.Tensor, cfg: DynamicsConfig) -> torch.Tensor:
    x = x0.detach().clone().requires_grad_(True)
    if cfg.adam_steps == 0:
        return x.detach()
    opt = torch.optim.Adam([x], lr=cfg.adam_lr)
    gamma = (cfg.adam_final_lr / cfg.adam_lr) ** (1.0 / cfg.adam_steps)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    M = pf.M
    M_T = M.transpose(1, 2) if M is not None else None
    for _ in range(cfg.adam_steps):
        with torch.no_grad():
            if M is None:                                   # any system: grad q = J^T F from its Jacobian
                F = pf.system.vector_field(x)
                x.grad = torch.einsum("bkji,bkj->bki", pf.system.jacobian(x), F)
            else:
                r = torch.tanh(x)
                F = torch.baddbmm(-x, r, M_T)
                x.grad = (1 - r * r) * torch.bmm(F, M) - F      # grad q = J^T F (row convention)
        opt.step()
        sched.step()
    return x.detach()


def _newton(pf: PointField, net_index: torch.Tensor, x: torch.Tensor, steps: int,
            done_below: float) -> tuple[torch.Tensor, int]:
    """Damped Newton on points ``x: (P, N)`` of networks ``net_index: (P,)`` of the field ``pf``.

    A point stops once its q is below ``done_below`` or no halving of its
    step lowers q (it sits at a local minimum of q: a slow point). Returns
    the points and the number of Newton solves done.
    """
    halves = 0.5 ** torch.arange(_BACKTRACK, device=x.device, dtype=x.dtype)        # (L,)

    def q_of(ni, y):                                  # ni: (P,), y: (..., P, N) -> q, F
        F = pf.field(ni, y)
        return 0.5 * (F * F).sum(-1), F

    x = x.clone()
    q, F = q_of(net_index, x)
    active = (q >= done_below).nonzero()[:, 0]
    solves = 0
    for _ in range(steps):
        if active.numel() == 0:
            break
        m, xa, Fa, qa = net_index[active], x[active], F[active], q[active]
        dx, info = torch.linalg.solve_ex(pf.jacobian(m, xa), -Fa)
        solves += len(active)
        dx = torch.where((info == 0).unsqueeze(-1) & torch.isfinite(dx), dx, torch.zeros_like(dx))
        trial = xa.unsqueeze(0) + halves.view(-1, 1, 1) * dx.unsqueeze(0)        # (L, A, N)
        qt, Ft = q_of(m, trial)
        better = qt < qa.unsqueeze(0)                                            # (L, A)
        first = torch.where(better, torch.arange(_BACKTRACK, device=x.device).unsqueeze(1),
                            _BACKTRACK).min(0).values                            # (A,) largest step that helps
        moved = first < _BACKTRACK
        j = first.clamp_max(_BACKTRACK - 1)
        ar = torch.arange(len(active), device=x.device)
        idx = active[moved]
        x[idx], F[idx], q[idx] = trial[j, ar][moved], Ft[j, ar][moved], qt[j, ar][moved]
        active = idx[q[idx] >= done_below]
    return x, solves


def find_slow_points(net: DynamicalSystem, starts: torch.Tensor, *, cfg: DynamicsConfig | None = None,
                     progress: bool = False, runtime: Runtime | None = None) -> SlowPoints:
    """Fixed and slow points of B networks from ``starts: (B, K, N)`` (see the module docstring).

    Args:
        net: B networks (float64 recommended).
        starts: ``(B, K, N)`` initial states, e.g. from :func:`sample_starts`.
        cfg: a :class:`~slowmem.config.DynamicsConfig` (defaults if None).
        progress: a progress bar over the Newton chunks.
        runtime: run settings (:class:`~slowmem.runtime.Runtime`): ``max_chunk_elements`` per chunk of
            Jacobians; None: the defaults.
    Returns:
        :class:`SlowPoints`, points grouped by network and sorted by q within it.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    cfg = dynamics_config(cfg)
    x = torch.as_tensor(starts)
    if x.ndim != 3 or x.shape[0] != net.B or x.shape[2] != net.N:
        raise ShapeError(f"starts must be (B={net.B}, K, N={net.N}); got {tuple(x.shape)}")
    x = x.to(device=net.device, dtype=net.dtype)
    B, K, N = x.shape
    pf = PointField(net)
    x = _adam(pf, x, cfg)
    with torch.no_grad():
        _, q = pf.speed(x)
        # stage 2: Newton on the promising points, in chunks of Jacobians
        todo = (q < (math.inf if cfg.refine_below is None else cfg.refine_below)).nonzero()   # (R, 2): (b, k)
        per = max(1, as_runtime(runtime).max_chunk_elements // (N * N))
        for a in tqdm(range(0, todo.shape[0], per), desc="slow points (Newton)", disable=not progress,
                      unit="chunk"):
            bi, ki = todo[a:a + per].unbind(1)
            x[bi, ki], _ = _newton(pf, bi, x[bi, ki], cfg.newton_steps, _CONVERGED * cfg.tol_fixed)
        _, q = pf.speed(x)
        # stage 3: keep, merge, cap
        q = torch.nan_to_num(q, nan=math.inf)
        keep = q < cfg.tol_slow
        order = torch.argsort(q, dim=1, stable=True)
        _, leader = count_distinct(x, keep, cfg.point_tolerance, order=order)
        lead = leader == torch.arange(K, device=x.device)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(K, device=x.device).expand(B, K))
        # cap: among leaders, keep the max_points lowest q
        lead_rank = torch.where(lead, rank, K)
        kth = torch.sort(lead_rank, dim=1).values[:, min(cfg.max_points, K) - 1:min(cfg.max_points, K)]
        lead &= lead_rank <= kth
        pos = lead.nonzero()                                                     # (P, 2): (b, k)
        bq = q[pos[:, 0], pos[:, 1]]
        srt = torch.argsort(bq, stable=True)
        srt = srt[torch.argsort(pos[srt, 0], stable=True)]                       # by network, then q
        pos, bq = pos[srt], bq[srt]
        xs = x[pos[:, 0], pos[:, 1]]
        eig = torch.empty((len(pos), N), dtype=torch.complex128 if x.dtype == torch.float64 else torch.complex64,
                          device=x.device)
        for a in range(0, len(pos), per):
            e = torch.linalg.eigvals(pf.jacobian(pos[a:a + per, 0], xs[a:a + per]))
            eig[a:a + per] = torch.gather(e, 1, torch.argsort(e.real, dim=1, descending=True))
    return SlowPoints(np.asarray(net.seeds), pos[:, 0].cpu().contiguous(), xs, bq, eig, bq < cfg.tol_fixed,
                      eig.real.amax(1) < 0, K, cfg.tol_fixed, cfg.tol_slow, time.perf_counter() - t0)
