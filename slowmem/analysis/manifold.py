"""The slow manifold itself: slow points where the memory drifts, speed along the memory, the slow direction.

Claim C2 of Ghazizadeh & Ching (2021, Results; Methods, dynamical-systems analysis) is that
slow-manifold networks hold a memory *along* a slow manifold of the autonomous dynamics rather than
*at* a fixed point; the paper's "depth of attractors" is the speed along autonomous runs. The attractor probe
(:mod:`~slowmem.analysis.attractors`) only counts where the long runs end; this module looks at the
memory on its way, with the autonomous field ``F(x)`` of the system (``vector_field``; ``-x + M tanh(x)``
with ``M = net.closed_loop()`` for a rate network, time in units of tau) and the *speed*
``v(x) = |F(x)| / sqrt(N)`` (RMS over units, per tau, like every distance in :class:`~slowmem.config.DynamicsConfig`).

**Memory trajectories** (per network):

* the delay windows (delay 1, delay 2) of the 16 test trials of
  :func:`~slowmem.analysis.activity.activity_profile` (every trial type from every trial-end
  state; no input there, so the state moves with ``dx/dt = F(x)``);
* the autonomous runs from the 4 trial-end states (the paper's "depth of attractors": |F| along
  runs with no input), Euler with the task's ``dt``, for at most ``manifold_trials`` trial
  lengths; the runs stop early once every run of every network in the batch has *settled*.

**Reference speed** ``v_ref``: the median of ``|x(t + dt) - x(t)| / (dt sqrt(N))`` over every step
of the 16 test trials (stimuli included): the speed at which this network works. A state is
**slow** when ``v < manifold_slow_ratio * v_ref`` (default 0.05: twenty times slower than the
network's typical speed) and a run has **settled** (reached its fixed point) once ``v <
manifold_settled_ratio * v_ref`` (default 1e-4). The *slow stretch* of a run is the time it spends
between the two; it is entered at the first recorded state below the slow speed.

**Slow points on the memory** (the q-minimisation of Sussillo & Barak 2013, seeded on the memory):

1. *Seeds*: ``manifold_delay_seeds`` states per delay window per test trial (the last state of the
   window first) and ``manifold_run_seeds`` states per autonomous run (the trial-end state, then
   the first recorded states below speeds spaced geometrically from the slow to the settled
   speed).
2. *Local minimisation of* ``q(x) = 1/2 |F(x)|^2``: ``manifold_lm_steps`` Levenberg-Marquardt
   steps ``dx = -(J^T J + mu I)^{-1} J^T F`` with ``J = -I + M diag(1 - tanh(x)^2)`` and a
   damping ``mu`` that adapts (/4 after a step that lowers q, x4 after one that does not) but never
   falls below ``manifold_damping_rate^2``. Along a direction whose rate (singular value of J) is
   well above the floor this is Newton's step: the fast transients are minimised away. Along
   slower directions -- the manifold -- the step shrinks by ``rate^2 / floor^2``, so the point
   stays where the memory is instead of sliding to the fixed point at the manifold's end (plain
   Newton jumps there, which is why the earlier search found no slow points).
   ``J^T J = I - M D - D M^T + D (M^T M) D`` with ``D`` diagonal costs O(N^2) per point given
   ``M^T M``; each step is one Cholesky factorisation (in float32: an inexact step is still a
   descent direction, and q and the acceptance test stay float64). A point stops early once a
   step lowers q by less than 0.1 %: only the directions the floor holds back are left.
3. *Fixed or slow*: from the minimised point, ``manifold_newton_steps`` Gauss-Newton steps
   (the same solver with its damping at 1e-6). If they reach ``q < tol_fixed`` within RMS
   distance ``manifold_fixed_reach`` of the point, it is that **fixed point**; otherwise, if its
   speed is below the slow speed, it is a **slow point**. Anything else (still fast after the
   minimisation) is dropped.
4. *Merging*: points closer than ``point_tolerance`` (RMS) are one point (fixed points first, then
   slow points by increasing speed; :func:`~slowmem.analysis.attractors.count_distinct`).
5. *Linearisation*: eigenvalues and eigenvectors of J (``torch.linalg.eig``) at every fixed point
   and at up to ``manifold_points`` slow points (those nearest to the runs' drift states, below,
   first, then the slowest). The *leading* eigenvalue is the one with the largest real part.

**The slow direction.** On each run, the *drift state* is its latest seed whose minimised point
is a slow point (the deepest into the slow stretch before a fixed point is within reach). There:
the drift direction ``F(x_d)`` (= ``(x(t + dt) - x(t)) / dt``), the nearest linearised slow point,
the angle between the drift and the real span of that point's leading eigenvector (one direction
for a real eigenvalue, a plane for a complex pair), the *implied* time constant ``-1 / Re(lambda)``
and the *measured* one ``-1 / (d ln v / dt)``, the speed's decay rate fitted over
``manifold_rate_window`` steps either side. At every linearised point also the drift there
itself: the angle of ``F(x*)`` to its leading eigenvector and the local decay rate ``F.JF /
|F|^2``. Where the memory drifts along a slow eigendirection (a line of near-equilibria, say) the
angles are ~0 and the time constants agree; where the Jacobian is far from normal, or the drift
mixes many modes, they need not.

All of it runs in float64 whatever the networks' dtype (speeds span ten decades), on their
device, batched over networks (the linear algebra loops over them).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..config import ConfigError, DynamicsConfig
from ..errors import ShapeError
from ..system import DynamicalSystem
from ..task import SPMTask
from .activity import activity_profile
from .attractors import check_trial_end_states, dynamics_config
from .slowpoints import PointField, SlowPoints
from .speed import (
    DELAYS,
    AutonomousRuns,
    MemoryPoints,
    _f64,
    autonomous_runs,
    field_speed,
    memory_points,
    reference_speed,
    subspace_angle_deg,
)

__all__ = ["SlowManifold", "analyze_manifold", "memory_points", "MemoryPoints", "reference_speed",
           "autonomous_runs", "AutonomousRuns", "field_speed", "subspace_angle_deg", "DELAYS"]

# --------------------------------------------------------------------------- the whole analysis
@dataclass
class SlowManifold:
    """Slow points, speed profiles and slow directions of B networks (see the module docstring).

    Speeds are RMS over units per tau; times in tau. ``(B, 4)`` arrays are indexed by the trial
    type of the trial-end state a run starts from. NaN: not defined (no slow stretch, no slow
    point, not settled within the run).

    Attributes:
        seeds: ``(B,)`` network seeds.
        dt: the time step.
        reference_speed, slow_speed, settled_speed: ``(B,)`` ``v_ref`` and the two thresholds (NaN where the
            test trials do not move).
        trial_types: ``(K,)`` trial type of each test trial (K = 16).
        delay_speed: ``'delay1' / 'delay2' -> (T_d, B, K)`` speed along the delays of the test trials.
        runs: :class:`AutonomousRuns` from the trial-end states (K = 4, by trial type); speeds after a
            network's own stopping step (``run_steps``) are NaN.
        run_steps: ``(B,)`` steps of each network's runs: until the first recorded step at which all
            four had settled, or all ``manifold_trials`` trial lengths.
        entry_step, settle_step: ``(B, 4)`` first step below the slow / the settled speed (-1: never).
        drift_step: ``(B, 4)`` step of the state where the drift is measured (-1: the run never slowed).
        slow_duration: ``(B, 4)`` time spent between the two speeds (a lower bound if not settled).
        n_seeds: ``(B,)`` seeds used.
        point_network: ``(Q,)`` network of each distinct point; point_x ``(Q, N)``; point_speed ``(Q,)``;
            point_fixed ``(Q,)`` bool; point_source ``(Q,)`` ``'delay'`` or ``'run'`` (where its seed was).
        points: :class:`~slowmem.analysis.slowpoints.SlowPoints` of the linearised points (all fixed
            ones, up to ``manifold_points`` slow ones per network), ``q`` = their ``1/2 |F|^2``.
        point_index: ``(P,)`` index of each linearised point among the Q.
        leading_eigenvector: ``(P, N)`` complex, eigenvector of the leading eigenvalue.
        point_drift_angle_deg: ``(P,)`` angle between ``F`` at each point and its leading eigenvector's span.
        point_local_rate: ``(P,)`` ``d ln v / dt = F.JF / |F|^2`` at each point (NaN-free; 0/0 -> 0 at a
            fixed point): the speed's decay rate along the trajectory through it.
        drift_point: ``(B, 4)`` index (into ``points``) of the linearised point nearest the drift state
            (-1: none); ``points.is_fixed`` says whether it is a slow or a fixed point.
        drift_distance: ``(B, 4)`` RMS distance from the drift state to it.
        drift_angle_deg: ``(B, 4)`` angle between the drift and its leading eigenvector's span.
        implied_time_constant: ``(B, 4)`` ``-1 / Re(lambda)`` there (negative: the direction grows).
        measured_time_constant: ``(B, 4)`` ``-1 / (d ln v / dt)`` at the drift state.
        seconds: stage -> wall time.
    """

    seeds: np.ndarray
    dt: float
    reference_speed: np.ndarray
    slow_speed: np.ndarray
    settled_speed: np.ndarray
    trial_types: np.ndarray
    delay_speed: dict[str, np.ndarray]
    runs: AutonomousRuns
    run_steps: np.ndarray
    entry_step: np.ndarray
    settle_step: np.ndarray
    drift_step: np.ndarray
    slow_duration: np.ndarray
    n_seeds: np.ndarray
    point_network: np.ndarray
    point_x: torch.Tensor
    point_speed: np.ndarray
    point_fixed: np.ndarray
    point_source: np.ndarray
    points: SlowPoints
    point_index: np.ndarray
    leading_eigenvector: torch.Tensor
    point_drift_angle_deg: np.ndarray
    point_local_rate: np.ndarray
    drift_point: np.ndarray
    drift_distance: np.ndarray
    drift_angle_deg: np.ndarray
    implied_time_constant: np.ndarray
    measured_time_constant: np.ndarray
    seconds: dict[str, float]

    @property
    def B(self) -> int:
        return len(self.seeds)

    def counts(self) -> dict[str, np.ndarray]:
        """``(B,)`` distinct ``n_fixed`` and ``n_slow`` points on the memory."""
        fixed = self.point_fixed
        return {"n_fixed": np.bincount(self.point_network[fixed], minlength=self.B),
                "n_slow": np.bincount(self.point_network[~fixed], minlength=self.B)}

    def time_to_fixed_point(self) -> np.ndarray:
        """``(B, 4)`` time of the first step below the settled speed (NaN: not within the run)."""
        return np.where(self.settle_step >= 0, self.settle_step * self.dt, np.nan)

    def delay_end_speed(self) -> dict[str, np.ndarray]:
        """``'delay1' / 'delay2' -> (B, 4)`` speed at the delay's last state, median over the trials of each type."""
        out = {}
        for p, v in self.delay_speed.items():
            out[p] = np.stack([np.median(v[-1][:, self.trial_types == k], axis=1) for k in range(4)], 1)
        return out

    def summary(self, b: int) -> dict:
        """JSON-ready numbers of network ``b`` (the ``manifold`` entry of the dynamics summary)."""
        def f(x):
            x = float(x)
            return x if math.isfinite(x) else None

        def med(a):
            a = np.asarray(a, dtype=np.float64)
            a = a[np.isfinite(a)]
            return f(np.median(a)) if a.size else None

        c = self.counts()
        mine = self.points.network.numpy() == b
        drift = self.drift_point[b]
        has = drift >= 0
        lead = self.points.leading_eigenvalue()
        ev = lead[torch.as_tensor(drift[has], dtype=torch.long)] if has.any() else lead[:0]
        ends = self.delay_end_speed()
        vref = self.reference_speed[b]
        delay_all = np.concatenate([v[:, b] for v in self.delay_speed.values()])          # (T_d1 + T_d2, K)
        return {
            "reference_speed": f(vref),
            "slow_speed": f(self.slow_speed[b]),
            "settled_speed": f(self.settled_speed[b]),
            "n_seeds": int(self.n_seeds[b]),
            "n_slow_points_on_memory": int(c["n_slow"][b]),
            "n_slow_points_from_delays": int(((self.point_network == b) & ~self.point_fixed
                                              & (self.point_source == "delay")).sum()),
            "n_fixed_points_on_memory": int(c["n_fixed"][b]),
            "n_linearised": int(mine.sum()),
            "slowest_eigenvalue": med(ev.real.cpu().numpy()) if len(ev) else None,
            "slowest_eigenvalue_imag": med(np.abs(ev.imag.cpu().numpy())) if len(ev) else None,
            "drift_eigenvector_angle_deg": med(self.drift_angle_deg[b]),
            "implied_time_constant": med(self.implied_time_constant[b]),
            "measured_time_constant": med(self.measured_time_constant[b]),
            "drift_distance": med(self.drift_distance[b]),
            "n_drift_at_slow_point": int(sum(not bool(self.points.is_fixed[j]) for j in drift[has])),
            "delay_speed_ratio": med(np.median(delay_all, axis=0) / vref),
            "delay_end_speed_ratio": med(np.concatenate([e[b] for e in ends.values()]) / vref),
            "slow_duration": med(self.slow_duration[b]),
            "time_to_fixed_point": med(self.time_to_fixed_point()[b]),
            "n_runs_settled": int((self.settle_step[b] >= 0).sum()),
            "run_time": f(self.run_steps[b] * self.dt),
            "point_drift_angle_deg": med(self.point_drift_angle_deg[mine & ~self.points.is_fixed.numpy()]),
            "point_local_rate": med(self.point_local_rate[mine & ~self.points.is_fixed.numpy()]),
            # per trial type (the trial-end state a run starts from; the trials of a type for the delays)
            "delay1_end_speed_by_type": [f(v) for v in ends["delay1"][b]],
            "delay2_end_speed_by_type": [f(v) for v in ends["delay2"][b]],
            "slow_duration_by_type": [f(v) for v in self.slow_duration[b]],
            "time_to_fixed_point_by_type": [f(v) for v in self.time_to_fixed_point()[b]],
            "drift_eigenvector_angle_deg_by_type": [f(v) for v in self.drift_angle_deg[b]],
            "implied_time_constant_by_type": [f(v) for v in self.implied_time_constant[b]],
            "measured_time_constant_by_type": [f(v) for v in self.measured_time_constant[b]],
        }


def _delay_seeds(states: torch.Tensor, task: SPMTask, n: int) -> tuple[torch.Tensor, list[str]]:
    """``(B, 2 n K, N)`` seeds from the delay windows of ``states: (T, B, K, N)`` (window-major, then
    the last state first, then trial); their source labels."""
    B, N = states.shape[1], states.shape[-1]
    parts = []
    for p in DELAYS:
        w = task.windows[p]
        at = [w.stop - 1 - int(round(j * (w.stop - w.start) / n)) for j in range(n)]
        parts.append(states[at].movedim(0, 1).reshape(B, -1, N))                 # (B, n K, N)
    seeds = torch.cat(parts, 1)
    return seeds, ["delay"] * seeds.shape[1]


def _run_seeds(runs: AutonomousRuns, slow: np.ndarray, settled: np.ndarray, n: int
               ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """``(B, n K, N)`` seeds along the runs (run-major), their validity ``(B, n K)`` and
    ``(B, K, n)`` their indices among the recorded states (-1: not reached)."""
    R, B, K, N = runs.states.shape
    if n == 0:
        return (runs.states.new_zeros((B, 0, N)), torch.zeros((B, 0), dtype=torch.bool, device=runs.states.device),
                np.zeros((B, K, 0), dtype=np.int64))
    v = runs.speed[runs.record_steps]                                          # (R, B, K)
    pick = np.full((B, K, n), -1, dtype=np.int64)
    pick[:, :, 0] = 0                                                          # the trial-end state
    for b in range(B):
        levels = np.geomspace(slow[b], settled[b], n - 1) if n > 1 else np.zeros(0)
        for k in range(K):
            for j, lev in enumerate(levels):
                below = np.flatnonzero(v[:, b, k] < lev)
                if below.size:
                    pick[b, k, j + 1] = below[0]
    ok = pick >= 0
    idx = torch.as_tensor(np.maximum(pick, 0), device=runs.states.device)    # (B, K, n)
    st = runs.states.permute(1, 2, 0, 3)                                       # (B, K, R, N)
    seeds = torch.gather(st, 2, idx.unsqueeze(-1).expand(B, K, n, N))         # (B, K, n, N)
    return seeds.reshape(B, K * n, N), torch.as_tensor(ok.reshape(B, K * n), device=runs.states.device), pick


def analyze_manifold(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                     test_states: torch.Tensor | None = None, trial_types: np.ndarray | None = None,
                     cfg: DynamicsConfig | None = None) -> SlowManifold:
    """Slow points on the memory, speed profiles and slow directions of B networks (module docstring).

    Args:
        trial_end_states: ``(B, 4, N)`` indexed by trial type.
        test_states: ``(T, B, K, N)`` states of the test trials with their ``trial_types: (K,)``, as
            :func:`~slowmem.analysis.activity.activity_profile` keeps them (``keep_states=True``);
            None runs those trials here.
        cfg: a :class:`~slowmem.config.DynamicsConfig` (defaults if None).
    """
    cfg = dynamics_config(cfg)
    sec: dict[str, float] = {}
    t0 = time.perf_counter()
    ends = check_trial_end_states(net, trial_end_states)
    X, types = _test_states(net, task, ends, test_states, trial_types, cfg)
    B, N, dt, tau = net.B, net.N, task.dt, task.cfg.tau
    M = _f64(net)
    vref = reference_speed(X, dt)
    vref = np.where(np.isfinite(vref) & (vref > 0), vref, np.nan)     # trials that do not move: nothing is slow
    slow, settled = cfg.manifold_slow_ratio * vref, cfg.manifold_settled_ratio * vref
    with torch.no_grad():
        delay_speed = {}
        for p in DELAYS:
            w = X[task.windows[p]]                                               # (T_d, B, K, N)
            _, v = field_speed(M, w.movedim(0, 1).reshape(B, -1, N), tau)
            delay_speed[p] = v.reshape(B, w.shape[0], -1).movedim(1, 0).cpu().numpy()
    sec["speeds"] = time.perf_counter() - t0

    t = time.perf_counter()
    runs = autonomous_runs(net, ends, dt=dt, tau=tau, max_steps=cfg.manifold_trials * task.T, settled_speed=settled,
                           record_every=cfg.manifold_record_every)
    rs_stats = _run_statistics(runs, slow, settled, dt)
    sec["runs"] = time.perf_counter() - t

    t = time.perf_counter()
    ds, src = _delay_seeds(X, task, cfg.manifold_delay_seeds)
    rs, rs_ok, rs_pick = _run_seeds(runs, slow, settled, cfg.manifold_run_seeds)
    seeds = torch.cat([ds, rs], 1)
    valid = torch.cat([torch.ones(ds.shape[:2], dtype=torch.bool, device=ds.device), rs_ok], 1)
    src = np.asarray(src + ["run"] * rs.shape[1])
    mp = memory_points(net, seeds, slow, valid=valid, cfg=cfg, tau=tau)
    sec["points"] = time.perf_counter() - t

    t = time.perf_counter()
    lin = _linearise(net, M, mp, runs, rs_pick, ds.shape[1], cfg, tau)
    drift = _slow_direction(M, runs, lin, rs_stats["own"], dt, tau, cfg.manifold_rate_window, N)
    sec["linearise"] = time.perf_counter() - t
    return SlowManifold(
        seeds=np.asarray(net.seeds), dt=dt, reference_speed=vref, slow_speed=slow, settled_speed=settled,
        trial_types=types, delay_speed=delay_speed, runs=runs, run_steps=rs_stats["own"],
        entry_step=rs_stats["entry_step"], settle_step=rs_stats["settle_step"], drift_step=lin["drift_step"],
        slow_duration=rs_stats["slow_duration"], n_seeds=valid.sum(1).cpu().numpy(), point_network=lin["bi"],
        point_x=lin["point_x"], point_speed=lin["point_speed"], point_fixed=lin["point_fixed"],
        point_source=src[lin["si"]], points=lin["points"], point_index=lin["chosen"],
        leading_eigenvector=lin["vec"], point_drift_angle_deg=lin["point_angle"], point_local_rate=lin["local_rate"],
        drift_point=drift["point"], drift_distance=drift["distance"], drift_angle_deg=drift["angle"],
        implied_time_constant=drift["implied"], measured_time_constant=drift["measured"], seconds=sec)


def _test_states(net: DynamicalSystem, task: SPMTask, ends: torch.Tensor, test_states, trial_types, cfg):
    """The test trials' states ``(T, B, K, N)`` in float64 and their types ``(K,)``, checked (run here if None)."""
    if test_states is None:

        act = activity_profile(net, task, ends, cfg=cfg, keep_states=True)
        test_states, trial_types = act.states, act.trial_types
    X = torch.as_tensor(test_states)
    if X.ndim != 4 or X.shape[0] != task.T or X.shape[1] != net.B or X.shape[3] != net.N:
        raise ShapeError(f"test_states must be (T={task.T}, B={net.B}, K, N={net.N}); got {tuple(X.shape)}")
    if trial_types is None or len(trial_types) != X.shape[2]:
        raise ShapeError(f"trial_types must give the type of each of the K={X.shape[2]} test trials")
    types = np.asarray(trial_types)
    if not set(range(4)) <= set(types.tolist()):
        raise ConfigError(f"the test trials must include every trial type 0..3; got {sorted(set(types.tolist()))}")
    return X.to(device=net.device, dtype=torch.float64), types


def _run_statistics(runs: AutonomousRuns, slow: np.ndarray, settled: np.ndarray, dt: float) -> dict:
    """Each network's own stopping step, entry into the slow stretch, settling step and slow duration.

    The early-exit rule is applied to each network alone: later steps depend on its batch
    neighbours and are blanked (NaN) in ``runs.speed``, so every number is batch-independent.
    """
    rec_v = runs.speed[runs.record_steps]                                      # (R, B, 4)
    done = (rec_v < settled[None, :, None]).all(2)                             # (R, B)
    own = np.where(done.any(0), runs.record_steps[done.argmax(0)] + 1, runs.steps)
    runs.speed[np.arange(runs.steps)[:, None] >= own[None, :]] = np.nan
    below_slow = runs.speed < slow[None, :, None]
    below_settled = runs.speed < settled[None, :, None]

    def first(m):
        return np.where(m.any(0), m.argmax(0), -1)

    entry_rec = first(rec_v < slow[None, :, None])                             # indices into the recorded states
    return {"own": own, "settle_step": first(below_settled),
            "entry_step": np.where(entry_rec >= 0, runs.record_steps[np.maximum(entry_rec, 0)], -1),
            "slow_duration": (below_slow & ~below_settled).sum(0) * dt}


def _linearise(net: DynamicalSystem, M: torch.Tensor | DynamicalSystem, mp: MemoryPoints, runs: AutonomousRuns,
               rs_pick: np.ndarray, n_delay_seeds: int, cfg: DynamicsConfig, tau: float) -> dict:
    """Distinct points, where each run's drift is measured, which points to linearise, and their Jacobians.

    ``M``: the fast path's matrix ``(B, N, N)`` or the system in float64 (:func:`~slowmem.analysis.speed._f64`)."""
    B, N = net.B, net.N
    pf = PointField(net, M) if torch.is_tensor(M) else PointField(M)
    S = mp.leader.shape[1]
    lead = mp.leader == np.arange(S)
    bi, si = np.nonzero(lead)
    point_x = mp.x[torch.as_tensor(bi), torch.as_tensor(si)] if len(bi) else mp.x.new_zeros((0, N))
    point_fixed, point_speed = mp.fixed[bi, si], mp.speed[bi, si]
    # where the drift is measured: on each run, the latest seed whose minimised point is a slow point
    # (deepest into the slow stretch, transients decayed, not yet at a fixed point)
    n_run = cfg.manifold_run_seeds
    drift_rec = np.full((B, 4), -1, dtype=np.int64)
    for b in range(B):
        for k in range(4):
            for j in range(n_run - 1, -1, -1):
                if mp.slow[b, n_delay_seeds + k * n_run + j]:
                    drift_rec[b, k] = rs_pick[b, k, j]
                    break
    drift_step = np.where(drift_rec >= 0, runs.record_steps[np.maximum(drift_rec, 0)], -1)
    ar_b, ar_k = torch.arange(B)[:, None], torch.arange(4)[None, :]
    drift_x = runs.states[torch.as_tensor(np.maximum(drift_rec, 0)), ar_b, ar_k]          # (B, 4, N)
    chosen = _choose_points(bi, point_fixed, point_speed, point_x, drift_x, drift_rec, cfg.manifold_points)
    t = time.perf_counter()
    P = len(chosen)
    eig = torch.empty((P, N), dtype=torch.complex128, device=net.device)
    vec = torch.empty((P, N), dtype=torch.complex128, device=net.device)
    xs = point_x[torch.as_tensor(chosen, dtype=torch.long)] if P else point_x[:0]
    net_of = torch.as_tensor(bi[chosen], dtype=torch.long)
    with torch.no_grad():
        for a in range(0, P, 16):
            sl_ = slice(a, a + 16)
            e, V = torch.linalg.eig(pf.jacobian(net_of[sl_].to(net.device), xs[sl_]))
            o = torch.argsort(e.real, dim=1, descending=True)
            eig[sl_] = torch.gather(e, 1, o)
            vec[sl_] = torch.gather(V, 2, o[:, None, :1].expand(-1, N, 1))[..., 0]
        if P and pf.M is not None:
            F = field_speed(M[net_of.to(net.device)], xs[:, None], tau)[0][:, 0]
        else:
            F = pf.field(net_of.to(net.device), xs) if P else xs
        q = 0.5 * (F ** 2).sum(-1)
        # the drift at each point itself: its angle to the leading eigenvector, and the speed's local decay
        # rate d ln v / dt = F.JF / |F|^2 along the trajectory through it
        JF = torch.stack([pf.jacobian(net_of[i:i + 1].to(net.device), xs[i:i + 1])[0] @ F[i] for i in range(P)]) \
            if P else F
        local_rate = ((F * JF).sum(-1) / (F * F).sum(-1).clamp_min(1e-300) / tau).cpu().numpy()
        point_angle = np.array([subspace_angle_deg(F[i], vec[i]) for i in range(P)])
    points = SlowPoints(np.asarray(net.seeds), net_of.cpu(), xs, q, eig, torch.as_tensor(point_fixed[chosen]),
                        (eig.real.amax(1) < 0).cpu() if P else torch.zeros(0, dtype=torch.bool), int(S),
                        cfg.tol_fixed, float("nan"), time.perf_counter() - t)
    return {"bi": bi, "si": si, "point_x": point_x, "point_fixed": point_fixed, "point_speed": point_speed,
            "chosen": chosen, "xs": xs, "eig": eig, "vec": vec, "points": points, "point_angle": point_angle,
            "local_rate": local_rate, "drift_rec": drift_rec, "drift_step": drift_step, "drift_x": drift_x}


def _choose_points(bi, point_fixed, point_speed, point_x, drift_x, drift_rec, max_points: int) -> np.ndarray:
    """Indices of the points to linearise: every fixed point, then the slow points nearest each run's drift
    state and the slowest others, at most ``max_points`` slow points per network."""
    chosen = []
    for b in range(drift_x.shape[0]):
        mine = np.flatnonzero(bi == b)
        fx, sl = mine[point_fixed[mine]], mine[~point_fixed[mine]]
        pick = list(fx)
        if len(sl) and max_points:
            near = [int(sl[int((point_x[sl] - drift_x[b, k]).norm(dim=-1).argmin())])
                    for k in range(4) if drift_rec[b, k] >= 0]
            rest = sl[np.argsort(point_speed[sl], kind="stable")]
            pick += list(dict.fromkeys(near + [int(i) for i in rest]))[:max_points]
        chosen.extend(sorted(pick, key=lambda i: (not point_fixed[i], point_speed[i])))
    return np.asarray(chosen, dtype=np.int64)


def _slow_direction(M, runs: AutonomousRuns, lin: dict, own: np.ndarray, dt: float, tau: float, w: int,
                    N: int) -> dict:
    """The drift at each run's measurement state against the nearest linearised slow point: angle to its
    slowest eigenvector, the time constant that eigenvalue implies and the one the speed's decay shows."""
    B = own.shape[0]
    point_fixed, chosen, xs, vec, eig = lin["point_fixed"], lin["chosen"], lin["xs"], lin["vec"], lin["eig"]
    drift_step, drift_x = lin["drift_step"], lin["drift_x"]
    out = {"point": np.full((B, 4), -1, dtype=np.int64)}
    for k in ("distance", "angle", "implied", "measured"):
        out[k] = np.full((B, 4), np.nan)
    with torch.no_grad():
        Fd, _ = field_speed(M, drift_x, tau)
    net_chosen = lin["bi"][chosen]
    for b in range(B):
        here = np.flatnonzero((net_chosen == b) & ~point_fixed[chosen])
        for k in range(4):
            e = drift_step[b, k]
            if e < 0:
                continue
            lo, hi = max(0, e - w), min(int(own[b]) - 1, e + w)
            if hi > lo:
                seg = np.log(np.maximum(runs.speed[lo:hi + 1, b, k], 1e-300))
                rate = np.polyfit(np.arange(lo, hi + 1) * dt, seg, 1)[0]
                out["measured"][b, k] = -1.0 / rate if rate != 0 else np.inf
            if not len(here):
                continue
            d = (xs[here] - drift_x[b, k]).norm(dim=-1) / math.sqrt(N)
            j = int(here[int(d.argmin())])
            out["point"][b, k] = j
            out["distance"][b, k] = float(d.min())
            out["angle"][b, k] = subspace_angle_deg(Fd[b, k], vec[j])
            re = float(eig[j, 0].real)
            out["implied"][b, k] = -1.0 / re if re != 0 else np.inf
    return out
