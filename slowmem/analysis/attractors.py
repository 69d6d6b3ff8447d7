"""Attractor probing: where does a trained network go when left alone? (the paper's taxonomy; book: Methods, Taxonomy)

Every network runs **autonomously** (no input, feedback on) for
``probe_trials`` trial lengths (50 x 350 steps by default) from ``S`` start
states: ``starts_per_centre`` (20) noisy copies of each *centre* -- the 4
trial-end states and the origin -- with independent Normal noise of std
``start_noise`` (0.5) on every unit: 100 starts per network. The noise is,
by default (``start_draws = "authors"``), the authors' own: a fresh numpy
``RandomState(1)`` per network, one row of N standard-normal draws per start,
consumed by the origin's 20 starts first and then by those of trial types 0..3
(:func:`authors_start_noise`), so every network of the same N starts from the
same noise; with ``start_draws = "network"`` it comes from
:func:`~slowmem.task.trial_rng` stream 3 of the network's seed. Either way a
network's probe does not depend on its batch neighbours.

All B x S runs advance together in one batched simulation, split in time
into chunks of ``Runtime.chunk_trials`` trial lengths so that only what is needed is
kept: the response z at full resolution over the last ``window_trials`` (2)
trial lengths, z every ``trace_every`` steps over the whole run (the long
output traces of the figures), and the states at ``n_snapshots``
geometrically spaced times (seeds for the slow-point finder).

Over the window, per start: variance, mean, minimum and maximum of z, and its
last sample (z at step ``steps - 1``, the authors' "final" output); at the
end: the final output (z after the last step) and final state. Distinct attractors are counted by
greedy clustering (:func:`count_distinct`) of the final outputs (tolerance
``output_tolerance``) and of the final states (RMS distance
``state_tolerance``) of the starts that *settled* (window variance below
``variance_tolerance``). Reading these numbers as mechanisms is
:mod:`slowmem.analysis.mechanisms`'s job.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..config import DynamicsConfig, section_with_overrides
from ..errors import ShapeError
from ..runtime import Runtime, as_runtime
from ..system import DynamicalSystem, check_system
from ..task import STREAMS, SPMTask, trial_rng

__all__ = ["AttractorProbe", "probe_attractors", "probe_starts", "authors_start_noise", "count_distinct",
           "dynamics_config", "check_trial_end_states", "is_settled"]



def dynamics_config(cfg: DynamicsConfig | None = None, **overrides) -> DynamicsConfig:
    """``cfg`` (default :class:`~slowmem.config.DynamicsConfig`) with the non-None ``overrides`` applied."""
    return section_with_overrides(DynamicsConfig, cfg, **overrides)


def check_trial_end_states(net: DynamicalSystem, trial_end_states: torch.Tensor) -> torch.Tensor:
    """Validate ``net`` (a :class:`~slowmem.system.DynamicalSystem`) and ``trial_end_states: (B, 4, N)``;
    returns them on the system's device and dtype."""
    check_system(net)
    x = torch.as_tensor(trial_end_states)
    if x.ndim != 3 or x.shape != (net.B, 4, net.N):
        raise ShapeError(f"trial_end_states must be (B={net.B}, 4, N={net.N}), one state per trial type; "
                          f"got {tuple(x.shape)}")
    return x.to(device=net.device, dtype=net.dtype)


def count_distinct(points: torch.Tensor, valid: torch.Tensor, tolerance: float,
                   order: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy ("leader") clustering of K points per network, batched over networks.

    Points are visited in ``order`` (default: index order); a valid point
    farther than ``tolerance`` from every leader so far becomes a leader, else
    it joins the first leader within ``tolerance``. Distances are RMS over the
    last axis, ``|a - b| / sqrt(D)`` (plain ``|a - b|`` for scalars).

    Args:
        points: ``(B, K, D)`` (or ``(B, K)`` scalars).
        valid: ``(B, K)`` bool; invalid points get label -1 and lead nothing.
        order: ``(B, K)`` long, a permutation of ``0..K-1`` per network.
    Returns:
        ``(n (B,) long, leader (B, K) long)``: the number of clusters, and for
        every point the index of its cluster's leader (-1 if invalid).
    """
    p = points.unsqueeze(-1) if points.ndim == 2 else points
    B, K, D = p.shape
    dev = p.device
    if order is None:
        order = torch.arange(K, device=dev).expand(B, K)
    order = order.to(dev)
    p = p.gather(1, order.unsqueeze(-1).expand(B, K, D))
    ok = (valid.to(dev).gather(1, order) & torch.isfinite(p).all(-1)).cpu().numpy()
    near = (torch.cdist(torch.nan_to_num(p), torch.nan_to_num(p)) / math.sqrt(D) <= tolerance).cpu().numpy()
    # the visit is sequential by nature (batched over networks); NumPy keeps its many tiny steps cheap
    leads = np.zeros((B, K), dtype=bool)
    label = np.full((B, K), -1, dtype=np.int64)
    for i in range(K):
        cand = near[:, i] & leads                               # (B, K) leaders within reach
        joined = cand.any(1)
        new = ok[:, i] & ~joined
        leads[:, i] = new
        label[:, i] = np.where(new, i, np.where(ok[:, i] & joined, cand.argmax(1), -1))
    # back to the caller's indexing: labels are positions in visiting order
    order_np = order.cpu().numpy()
    leader = np.where(label >= 0, np.take_along_axis(order_np, np.maximum(label, 0), 1), -1)
    out = np.empty_like(leader)
    np.put_along_axis(out, order_np, leader, 1)
    return torch.from_numpy(leads.sum(1)).to(dev), torch.from_numpy(out).to(dev)


@dataclass
class AttractorProbe:
    """Autonomous runs of B networks from S start states each. Arrays share the leading axis B.

    Attributes:
        seeds: ``(B,)`` network seeds.
        start_centre: ``(S,)`` centre of each start: trial type 0..3 (its
            trial-end state) or 4 (the origin).
        starts: ``(B, S, N)`` start states.
        output_variance, output_mean, output_min, output_max: ``(B, S)`` of
            the response z over the window (the last ``window_steps`` steps).
        final_output: ``(B, S)`` z of the final state.
        final_state: ``(B, S, N)`` state after ``steps`` steps.
        finite: ``(B, S)`` bool: the run stayed finite.
        settled: ``(B, S)`` bool: finite and window variance below ``variance_tolerance``.
        n_distinct_outputs: ``(B,)`` distinct final outputs of the settled starts.
        n_distinct_states: ``(B,)`` distinct final states of the settled starts.
        trace_steps: ``(Tt,)`` steps at which ``z_trace`` was sampled.
        z_trace: ``(Tt, B, S)`` z over the whole run, every ``trace_every`` steps.
        snapshot_steps: ``(n_snap,)`` steps at which ``snapshots`` were taken.
        snapshots: ``(n_snap, B, S, N)`` states along the runs.
        steps, window_steps: length of the run and of the window (steps).
        variance_tolerance, output_tolerance, state_tolerance: the settings used.
        seconds: wall time.
        simulated_steps: ``(B,)`` steps actually simulated per network: ``steps``,
            or fewer when all its runs came to rest (:func:`_at_rest`), so that the
            rest of that phase (the approach in ``simulation_dtype``, or the end in
            the network's precision) is known without simulating it.
        last_output: ``(B, S)`` z at the last step of the window (step ``steps - 1``, before the
            last update): the "final output" of the authors' rule (None in probes made without it:
            ``final_output`` stands in).
    """

    seeds: np.ndarray
    start_centre: np.ndarray
    starts: torch.Tensor
    output_variance: np.ndarray
    output_mean: np.ndarray
    output_min: np.ndarray
    output_max: np.ndarray
    final_output: np.ndarray
    final_state: torch.Tensor
    finite: np.ndarray
    settled: np.ndarray
    n_distinct_outputs: np.ndarray
    n_distinct_states: np.ndarray
    trace_steps: np.ndarray
    z_trace: np.ndarray
    snapshot_steps: np.ndarray
    snapshots: torch.Tensor
    steps: int
    window_steps: int
    variance_tolerance: float
    output_tolerance: float
    state_tolerance: float
    seconds: float = float("nan")
    simulated_steps: np.ndarray | None = None
    last_output: np.ndarray | None = None

    @property
    def B(self) -> int:
        return len(self.seeds)

    def distinct_outputs(self, *, variance_tolerance: float | None = None,
                         output_tolerance: float | None = None) -> np.ndarray:
        """``(B,)`` distinct final outputs of the settled starts, with other tolerances than stored."""
        vt = self.variance_tolerance if variance_tolerance is None else variance_tolerance
        ot = self.output_tolerance if output_tolerance is None else output_tolerance
        settled = torch.as_tensor(is_settled(self.finite, self.output_variance, vt))
        n, _ = count_distinct(torch.as_tensor(self.final_output), settled, ot)
        return n.numpy()

    def distinct_states(self, *, variance_tolerance: float | None = None,
                        state_tolerance: float | None = None) -> np.ndarray:
        """``(B,)`` distinct final states of the settled starts, with other tolerances than stored."""
        vt = self.variance_tolerance if variance_tolerance is None else variance_tolerance
        st = self.state_tolerance if state_tolerance is None else state_tolerance
        settled = torch.as_tensor(is_settled(self.finite, self.output_variance, vt), device=self.final_state.device)
        n, _ = count_distinct(self.final_state, settled, st)
        return n.cpu().numpy()


def is_settled(finite, output_variance, variance_tolerance: float):
    """The one definition of a *settled* start: finite, and the window variance of z below the tolerance.

    Works elementwise on NumPy arrays or tensors of the same shape, e.g. ``(B, S)``.
    """
    return finite & (output_variance < variance_tolerance)


def authors_start_noise(cfg: DynamicsConfig, N: int) -> np.ndarray:
    """``(S, N)`` float64 standard-normal start noise as the authors' code draws it, in this probe's start order.

    Their code seeds ``numpy.random.RandomState(cfg.start_seed)`` afresh for every network and draws one
    row of N values per start (``randn(1, N)``, which equals one ``randn(S, N)``): first the
    ``starts_per_centre`` starts of the origin (with ``include_origin``), then those of trial types 0..3.
    The rows are returned reordered to this probe's centre-major order (types 0..3, then the origin), so
    that start ``s`` gets the draw the authors' code gives the same start of the same centre. Unscaled:
    the probe multiplies by ``start_noise``.
    """
    k, n_c = cfg.starts_per_centre, cfg.n_centres
    draws = np.random.RandomState(cfg.start_seed).standard_normal((n_c * k, N)).reshape(n_c, k, N)
    theirs = [(c + 1) % n_c if cfg.include_origin else c for c in range(n_c)]    # their block of our centre c
    return draws[theirs].reshape(n_c * k, N)


def probe_starts(net: DynamicalSystem, trial_end_states: torch.Tensor, cfg: DynamicsConfig | None = None
                 ) -> tuple[torch.Tensor, np.ndarray]:
    """The probe's start states.

    Returns ``(starts (B, S, N), centre (S,))`` with ``S = n_centres *
    starts_per_centre``, centre-major: the trial-end state of type 0 plus
    noise 20 times, then type 1, ..., then the origin plus noise. Noise:
    ``start_noise * Normal(0, 1)`` drawn in float64 on the CPU, by
    ``cfg.start_draws``: :func:`authors_start_noise` (the same for every
    network), or :func:`~slowmem.task.trial_rng` stream ``"probe"`` of each
    network's seed.
    """
    cfg = dynamics_config(cfg)
    ends = check_trial_end_states(net, trial_end_states)
    centres = ends if not cfg.include_origin else torch.cat([ends, torch.zeros_like(ends[:, :1])], 1)
    centre = np.repeat(np.arange(cfg.n_centres), cfg.starts_per_centre)
    S = len(centre)
    if cfg.start_draws == "authors":
        noise = torch.from_numpy(authors_start_noise(cfg, net.N)).expand(net.B, S, net.N)
    else:
        noise = torch.stack([torch.from_numpy(trial_rng(s, STREAMS["probe"]).standard_normal((S, net.N)))
                             for s in net.seeds])
    noise = noise.to(device=net.device, dtype=net.dtype)
    return centres[:, torch.as_tensor(centre, device=net.device)] + cfg.start_noise * noise, centre


def _snapshot_steps(total: int, first: int, n: int) -> np.ndarray:
    """``n`` distinct steps spaced geometrically from ``first`` to ``total`` (fewer if they collide)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    s = np.unique(np.round(np.geomspace(max(1, min(first, total)), total, n)).astype(np.int64))
    return s


def _record(z: torch.Tensor, a: int, every: int, w0: int, trace: list, z_window: torch.Tensor) -> None:
    """Keep what the probe needs of ``z: (n, B, S)``, the outputs at steps ``a .. a + n - 1``."""
    trace.append(z[(-a) % every::every])
    b = a + z.shape[0]
    if b > w0:
        lo = max(a, w0)
        z_window[lo - w0:b - w0] = z[lo - a:]


#: A probe run is *at rest* when no unit moved by more than this many units in the last place
#: (of the largest |x|, at least 1) over a whole chunk: rounding jitter, no drift.
REST_ULPS = 64


def _at_rest(x_before: torch.Tensor, x_after: torch.Tensor) -> bool:
    """Whether a chunk of steps moved no unit of any start beyond rounding jitter (:data:`REST_ULPS`).

    Over a chunk (a trial length) a drift of even 1e-7 per step adds up to 3.5e-5 and is caught;
    what passes is a state that sits at a fixed point of the Euler map up to its rounding noise,
    where every later step keeps it (the rest of its run is then known without simulating it).
    """
    scale = max(1.0, float(x_after.abs().max()))
    tol = REST_ULPS * torch.finfo(x_after.dtype).eps * scale
    return bool(torch.isfinite(x_after).all()) and float((x_after - x_before).abs().max()) <= tol


@dataclass(frozen=True)
class _ProbePlan:
    """The probe's schedule: chunk boundaries ``cuts``, the step ``switch`` from the fast to the network's
    precision, the window start ``w0``, the run length ``total``, the trace stride and the snapshot steps."""

    cuts: np.ndarray
    switch: int
    w0: int
    total: int
    trace_every: int
    snaps_at: np.ndarray


def _probe_one(one: DynamicalSystem, one_fast: DynamicalSystem, xk: torch.Tensor, plan: _ProbePlan, task: SPMTask,
               zk: torch.Tensor, snaps_k: torch.Tensor, bar) -> tuple[torch.Tensor, torch.Tensor, int]:
    """One network's probe runs ``xk: (1, S, N)``: fills its window ``zk: (W, 1, S)`` and snapshots
    ``snaps_k: (n_snap, S, N)`` in place; returns ``(final state, trace (Tt, 1, S), steps simulated)``."""
    kw = dict(dt=task.dt, tau=task.cfg.tau, fast=True)
    dtype, S = one.dtype, xk.shape[1]
    every, w0, snaps_at = plan.trace_every, plan.w0, plan.snaps_at
    trace, t, simulated = [], 0, 0
    for a, b in zip(plan.cuts[:-1], plan.cuts[1:]):
        a, b = int(a), int(b)
        if a < t:                                            # skipped: the runs were at rest
            continue
        n = one_fast if a < plan.switch else one
        xk = xk.to(n.dtype)
        if b <= w0:                                          # before the window: the trace's steps only
            sim = n.simulate(xk, steps=b - a, outputs=((-a) % every, b - a, every), **kw)
            trace.append(sim.outputs[..., 0].to(dtype))
        else:
            sim = n.simulate(xk, steps=b - a, **kw)
            _record(sim.outputs[..., 0].to(dtype), a, every, w0, trace, zk)
        simulated += b - a
        before, xk = xk, sim.final_state
        snaps_k[torch.as_tensor(snaps_at == b)] = xk[0].to(dtype)
        t = b
        end = plan.switch if b < plan.switch else plan.total    # at rest: so to the end of its phase
        if b < end and _at_rest(before, xk):
            z_now = n.readouts(xk)[..., 0].to(dtype)                                          # (1, S)
            _record(z_now.unsqueeze(0).expand(end - b, 1, S), b, every, w0, trace, zk)
            snaps_k[torch.as_tensor((snaps_at > b) & (snaps_at <= end))] = xk[0].to(dtype)
            t = end
        bar.update(t - a)
    return xk.to(dtype), torch.cat(trace), simulated


def probe_attractors(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                     cfg: DynamicsConfig | None = None, probe_trials: int | None = None,
                     progress: bool = False, runtime: Runtime | None = None) -> AttractorProbe:
    """Run B networks autonomously from noisy trial-end states and the origin (book: Methods, Taxonomy).

    Args:
        net: B networks.
        trial_end_states: ``(B, 4, N)`` indexed by trial type.
        cfg: a :class:`~slowmem.config.DynamicsConfig` (defaults if None).
        probe_trials: override of ``cfg.probe_trials`` (trial lengths to run).
        runtime: run settings (:class:`~slowmem.runtime.Runtime`): ``simulation_dtype`` of the long
            approach, ``chunk_trials`` per call; None: the defaults.
    Returns:
        :class:`AttractorProbe`.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    cfg = dynamics_config(cfg, probe_trials=probe_trials)
    runtime = as_runtime(runtime)
    x, centre = probe_starts(net, trial_end_states, cfg)
    starts = x.clone()
    total = cfg.probe_trials * task.T
    window = cfg.window_trials * task.T
    w0 = total - window
    # the long approach runs in runtime.simulation_dtype; one trial length before the window, and the window, in
    # the network's own precision (the window's variance and final outputs are what the taxonomy reads)
    switch = max(0, w0 - task.T)
    fast_net = net.as_dtype(runtime.simulation_dtype)
    snaps_at = _snapshot_steps(total, task.period_steps["response"], cfg.n_snapshots)
    chunk = runtime.chunk_trials * task.T
    cuts = np.unique(np.concatenate([np.arange(0, total, chunk), [switch, w0, total], snaps_at]))
    B, S, N = x.shape
    dev = net.device
    z_window = torch.empty((window, B, S), device=dev, dtype=net.dtype)
    trace = []
    snaps = torch.empty((len(snaps_at), B, S, N), device=dev, dtype=net.dtype)
    plan = _ProbePlan(cuts, switch, w0, total, cfg.trace_every, snaps_at)
    simulated = np.zeros(B, dtype=np.int64)
    finals, traces = [], []
    with torch.no_grad():
        bar = tqdm(total=B * total, desc="attractor probe", disable=not progress, unit="step")
        for k in range(B):          # one network at a time, so that each stops when its own runs are at rest
            xk, trace, simulated[k] = _probe_one(net.select([k]), fast_net.select([k]), x[k:k + 1], plan,
                                                 task, z_window[:, k:k + 1], snaps[:, k], bar)
            finals.append(xk)
            traces.append(trace)
        bar.close()
    x = torch.cat(finals)
    trace = [torch.cat(traces, dim=1)]
    final_z = net.readouts(x)[..., 0]                          # (B, S)
    finite = torch.isfinite(x).all(-1) & torch.isfinite(z_window).all(0)
    var = z_window.var(0, unbiased=False)
    settled = is_settled(finite, var, cfg.variance_tolerance)
    n_out, _ = count_distinct(final_z, settled, cfg.output_tolerance)
    n_state, _ = count_distinct(x, settled, cfg.state_tolerance)
    np_ = lambda t: t.detach().to("cpu", torch.float64).numpy()    # noqa: E731
    trace_steps = np.arange(0, total, cfg.trace_every)
    return AttractorProbe(
        seeds=np.asarray(net.seeds), start_centre=centre, starts=starts,
        output_variance=np_(var), output_mean=np_(z_window.mean(0)), output_min=np_(z_window.amin(0)),
        output_max=np_(z_window.amax(0)), final_output=np_(final_z), final_state=x,
        finite=finite.cpu().numpy(), settled=settled.cpu().numpy(),
        n_distinct_outputs=n_out.cpu().numpy(), n_distinct_states=n_state.cpu().numpy(),
        trace_steps=trace_steps, z_trace=np_(torch.cat(trace)), snapshot_steps=snaps_at, snapshots=snaps,
        steps=total, window_steps=window, variance_tolerance=cfg.variance_tolerance,
        output_tolerance=cfg.output_tolerance, state_tolerance=cfg.state_tolerance,
        seconds=time.perf_counter() - t0, simulated_steps=simulated, last_output=np_(z_window[-1]))
