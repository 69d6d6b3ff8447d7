"""Forgetting curves: stretch delay 1 until the memory is lost (the paper's claim C4).

Every trial type is run from every trial-end state with delay 1 stretched over
a grid of ``delay_min`` to ``delay_max`` time units (the paper: 1 to 200 by
0.5, i.e. 399 delays). Two protocols (:data:`PROTOCOLS`):

* ``replace`` (the book's reading of the paper's text): delay 1 *is* the grid
  value, and a trial fails by the failure rule below, against the target.
* ``extend`` (what the authors' code does): the grid value is added *after*
  the nominal delay 1 (total ``delay1 + d``), and a trial fails when its final
  output (the last step of the response window) differs by more than
  ``failure_tolerance`` from the same condition's final output in the
  unstretched trial -- relative to the network itself, not to the target.
 Networks that store each memory at its own stable fixed point keep
it for ever; networks that store it along a slow manifold drift and eventually
fail (claim C4).

**Failure rule** (the same for forgetting, distraction and interruption, and
the complement of :func:`slowmem.evaluation.is_correct`): a trial fails unless
its *mean response-window output* is nearest the right encoding and within
``failure_tolerance`` (default :data:`~slowmem.config.ACCURACY_TOLERANCE` =
0.1) of the nominal value; a NaN output fails.

**Failure type**: a failed trial is run on autonomously (no input) for
``settle_trials`` trial lengths after its response window. It is
``asymptotic`` if the mean output over the last response-window length of that
run is more than ``asymptotic_tolerance`` (0.3) from nominal (``extend``: from
the unstretched output) -- the state has left for somewhere else for good --
and ``fixed-time`` otherwise: the output was off at the fixed readout time but
comes back near the right value.

**Per-network measures** of a curve (:class:`ForgettingCurve`): the failure
probability at each delay (the primary result), its mean over long delays
(``>= long_delay_from``, 50 tau), the first delay at which it reaches
``half_failure`` (0.5), and the strictest, the memory horizon: the first delay
at which any trial fails (``horizon_threshold`` 0).

**Batching.** Stimulus 1 of a (trial type, start state, stimulus draw)
condition is the same at every delay, so it is simulated once; the delay is
then one autonomous run to the longest delay whose state is snapshotted at
every delay of the grid; stimulus 2, delay 2 and the response of all
snapshots run as one batched simulation of ``delays x conditions`` per
network (split into chunks of at most ``Runtime.max_chunk_elements`` numbers), and so
does the settling run of the failed trials. A whole curve is a handful of
simulations, never a Python loop over networks or conditions.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..config import ConfigError, MemoryConfig, duration_to_steps, section_with_overrides
from ..errors import ShapeError
from ..evaluation import trial_failed
from ..runtime import Runtime, as_runtime
from ..system import DynamicalSystem
from ..task import STREAMS, TRIAL_TYPES, SPMTask, trial_rng

#: The two forgetting protocols (see the module docstring).
PROTOCOLS = ("replace", "extend")

__all__ = ["FAILURE_TYPES", "PROTOCOLS", "ForgettingCurve", "forgetting_curve", "forgetting_curves", "delay_drift",
           "delay_grid", "settle_failure_type", "settled_output", "condition_grid", "check_starts", "memory_config"]

#: Names of the failure types, in the order of their codes 1 and 2 in
#: :attr:`ForgettingCurve.failure_type` (0 = no failure).
FAILURE_TYPES: tuple[str, ...] = ("fixed-time", "asymptotic")



# --------------------------------------------------------------------------- #
# shared helpers (also used by robustness.py)
# --------------------------------------------------------------------------- #
def memory_config(cfg: MemoryConfig | None = None, **overrides) -> MemoryConfig:
    """``cfg`` (default :class:`MemoryConfig`) with the non-None ``overrides`` applied and validated."""
    return section_with_overrides(MemoryConfig, cfg, **overrides)


def check_starts(net: DynamicalSystem, trial_end_states: torch.Tensor) -> torch.Tensor:
    """Validate ``trial_end_states: (B, S, N)`` against ``net``; returns them on its device and dtype."""
    x = torch.as_tensor(trial_end_states)
    if x.ndim != 3 or x.shape[0] != net.B or x.shape[2] != net.N or x.shape[1] < 1:
        raise ShapeError(f"trial_end_states must be (B={net.B}, S, N={net.N}) with S >= 1 start states; "
                          f"got {tuple(x.shape)}")
    return x.to(device=net.device, dtype=net.dtype)


def condition_grid(n_starts: int, n_repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """The conditions of one level: every start state x every trial type x ``n_repeats``.

    Returns ``(start_index, trial_type)``, each ``(n_starts * 4 * n_repeats,)``
    int64, ordered start-major then type then repeat.
    """
    start = np.repeat(np.arange(n_starts), 4 * n_repeats)
    types = np.tile(np.repeat(np.arange(4), n_repeats), n_starts)
    return start.astype(np.int64), types.astype(np.int64)


def delay_grid(task: SPMTask, delays: Sequence[float] | None = None, *, step: float | None = None,
               cfg: MemoryConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The delay-1 durations of a forgetting curve and their step counts.

    Args:
        delays: explicit durations (time units), or None for the grid of
            ``cfg`` (``delay_min`` .. ``delay_max`` by ``step``, default
            ``cfg.delay_step``).
    Returns:
        ``(delays (D,) float64, steps (D,) int64)``, strictly increasing.
        Every delay must be a whole multiple of ``task.dt`` (ConfigError).
    """
    cfg = memory_config(cfg)
    d = np.asarray(cfg.delays(step) if delays is None else list(delays), dtype=np.float64).reshape(-1)
    if d.size == 0:
        raise ConfigError("delays must hold at least one delay (time units > 0)")
    if not np.isfinite(d).all() or (d <= 0).any():
        raise ConfigError(f"delays must be finite durations > 0; got {d.tolist()}")
    steps = np.array([duration_to_steps(f"delays[{i}]", float(v), task.dt) for i, v in enumerate(d)], np.int64)
    if (np.diff(steps) <= 0).any():
        raise ConfigError("delays must be strictly increasing (after rounding to whole steps of dt)")
    return d, steps


def simulate(net: DynamicalSystem, x0: torch.Tensor, inputs: torch.Tensor | None = None, **kw):
    """The system's ``simulate`` with the analyses' fast integrator (one seam for the memory analyses).

    It deliberately does not change torch's thread count: switching it back
    and forth inside one process was seen to corrupt later batched
    ``torch.linalg.solve`` results (used by the slow-point finder).
    """
    return net.simulate(x0, inputs, fast=True, **kw)


def _chunk_size(net: DynamicalSystem, max_chunk_elements: int, per_unit: int) -> int:
    """How many units (each ``per_unit`` conditions) fit in one chunk of ``max_chunk_elements``."""
    return max(1, max_chunk_elements // max(1, net.B * per_unit * net.N))


def _padded_index(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Per network, the positions where ``mask: (B, K)`` is True, padded to a common length F.

    Returns ``(index (B, F) long, valid (B, F) bool)`` or None when no entry is True.
    Padding repeats position 0 and is marked invalid.
    """
    counts = mask.sum(1)
    F = int(counts.max()) if mask.numel() else 0
    if F == 0:
        return None
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)[:, :F]
    valid = torch.arange(F, device=mask.device).unsqueeze(0) < counts.unsqueeze(1)
    return torch.where(valid, order, torch.zeros_like(order)), valid


def settled_output(net: DynamicalSystem, task: SPMTask, x_end: torch.Tensor,
                   cfg: MemoryConfig | None = None) -> torch.Tensor:
    """``(B, F)`` float64 on the CPU: the mean output over the last response-window length of an
    autonomous run of ``settle_trials`` trial lengths from ``x_end: (B, F, N)``."""
    cfg = memory_config(cfg)
    steps = max(1, int(round(cfg.settle_trials * task.T)))
    n_resp = min(steps, task.period_steps["response"])
    sim = simulate(net, x_end, steps=steps, dt=task.dt, tau=task.cfg.tau, outputs=(steps - n_resp, steps))
    return sim.outputs[..., 0].double().mean(0).cpu()


def settle_failure_type(net: DynamicalSystem, task: SPMTask, x_end: torch.Tensor, nominal: torch.Tensor,
                        cfg: MemoryConfig | None = None) -> torch.Tensor:
    """Is each failed trial ``asymptotic``? ``(B, F)`` bool on the CPU.

    Args:
        x_end: ``(B, F, N)`` states at the end of the response window.
        nominal: ``(B, F)`` nominal responses.
    Runs ``x_end`` autonomously for ``settle_trials`` trial lengths and
    compares the mean output over the last response-window length with
    ``nominal`` (NaN counts as asymptotic).
    """
    cfg = memory_config(cfg)
    return _asymptotic(settled_output(net, task, x_end, cfg), nominal, cfg)


def _asymptotic(z: torch.Tensor, nominal: torch.Tensor, cfg: MemoryConfig) -> torch.Tensor:
    return ~((z - nominal.detach().to("cpu", torch.float64)).abs() <= cfg.asymptotic_tolerance)


def _settle_failed(net: DynamicalSystem, task: SPMTask, x_end: torch.Tensor, failed: torch.Tensor,
                   cfg: MemoryConfig, max_chunk_elements: int) -> torch.Tensor:
    """``(B, K)`` settled outputs (:func:`settled_output`; NaN where not failed) of the trials
    ``failed: (B, K)`` ending at ``x_end: (B, K, N)``, each settled once, in chunks."""
    B, K, N = x_end.shape
    out = torch.full((B, K), float("nan"), dtype=torch.float64)
    sel = _padded_index(failed.to(x_end.device))
    if sel is None:
        return out
    idx, valid = sel
    per = max(1, max_chunk_elements // max(1, B * N))
    for c in range(0, idx.shape[1], per):
        ic, vc = idx[:, c:c + per], valid[:, c:c + per]
        z = settled_output(net, task, x_end.gather(1, ic.unsqueeze(-1).expand(-1, -1, N)), cfg)
        vb, vf = vc.cpu().nonzero(as_tuple=True)
        out[vb, ic.cpu()[vb, vf]] = z[vb, vf]
    return out


def _snapshots(net: DynamicalSystem, x: torch.Tensor, offsets: np.ndarray, task: SPMTask,
               budget: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``x: (B, K, N)`` autonomously and keep the state after each of ``offsets`` steps.

    ``offsets`` is non-decreasing and >= 0. Returns ``(snaps (D, B, K, N), x_last)``.
    One simulation recording every ``gcd`` steps when that fits ``budget``
    numbers; otherwise one short simulation per gap.
    """
    D = len(offsets)
    snaps = torch.empty((D, *x.shape), device=x.device, dtype=x.dtype)
    span = int(offsets[-1])
    gaps = np.diff(np.concatenate([[0], offsets])).astype(np.int64)
    pos = gaps[gaps > 0]
    g = int(np.gcd.reduce(pos)) if pos.size else 1
    per_state = x.numel()
    if span > 0 and (span // g) * per_state <= max(budget, 2 * D * per_state):
        sim = simulate(net, x, steps=span, dt=task.dt, tau=task.cfg.tau, record_every=g, outputs=False)
        rec = sim.states                                       # (span // g, B, K, N)
        for j, off in enumerate(offsets):
            snaps[j] = x if off == 0 else rec[int(off) // g - 1]
        return snaps, sim.final_state
    cur = x
    for j, gap in enumerate(gaps):
        if gap > 0:
            cur = simulate(net, cur, steps=int(gap), dt=task.dt, tau=task.cfg.tau, outputs=False).final_state
        snaps[j] = cur
    return snaps, cur


# --------------------------------------------------------------------------- #
# the forgetting curve
# --------------------------------------------------------------------------- #
@dataclass
class ForgettingCurve:
    """Trials with stretched delay 1, for B networks. Arrays have leading axis B.

    Attributes:
        seeds: ``(B,)`` network seeds.
        delays: ``(D,)`` delay-1 durations (time units).
        start_index: ``(K,)`` start state (trial-end state index) of each condition.
        trial_types: ``(K,)`` trial type of each condition.
        mean_response: ``(B, D, K)`` mean response-window output.
        failed: ``(B, D, K)`` bool, the failure rule.
        failure_type: ``(B, D, K)`` int8: 0 no failure, 1 fixed-time, 2 asymptotic
            (names in :data:`FAILURE_TYPES`).
        horizon_threshold: failure probability above which a delay counts as forgotten.
        horizon_from: shortest delay that can define the memory horizon (the
            trained delay-1 duration unless set otherwise; 0 for ``extend``).
        seconds: wall time of the computation.
        protocol: ``replace`` or ``extend`` (:data:`PROTOCOLS`); with ``extend``,
            ``delays`` are the extra delays and ``mean_response`` the final outputs.
    """

    seeds: np.ndarray
    delays: np.ndarray
    start_index: np.ndarray
    trial_types: np.ndarray
    mean_response: np.ndarray
    failed: np.ndarray
    failure_type: np.ndarray
    horizon_threshold: float = 0.0
    horizon_from: float = 0.0
    seconds: float = float("nan")
    protocol: str = "replace"

    def failure_probability(self) -> np.ndarray:
        """``(B, D)`` fraction of failed conditions at each delay."""
        return self.failed.mean(-1)

    def long_delay_failure(self, from_delay: float) -> np.ndarray:
        """``(B,)`` mean failure probability over the delays ``>= from_delay`` (NaN if there are none)."""
        keep = self.delays >= from_delay - 1e-9
        p = self.failure_probability()
        return p[:, keep].mean(1) if keep.any() else np.full(p.shape[0], np.nan)

    def half_failure_delay(self, level: float = 0.5) -> list[float | None]:
        """Per network, the first delay ``>= horizon_from`` whose failure probability reaches ``level``."""
        eligible = self.delays >= self.horizon_from - 1e-9
        out: list[float | None] = []
        for p in self.failure_probability():
            hit = np.flatnonzero((p >= level) & eligible)
            out.append(float(self.delays[hit[0]]) if hit.size else None)
        return out

    def memory_horizon(self) -> list[float | None]:
        """Per network, the memory horizon; None if never forgotten on the grid.

        The horizon is the first delay ``>= horizon_from`` whose failure
        probability exceeds ``horizon_threshold``.
        """
        out: list[float | None] = []
        eligible = self.delays >= self.horizon_from - 1e-9
        for p in self.failure_probability():
            hit = np.flatnonzero((p > self.horizon_threshold) & eligible)
            out.append(float(self.delays[hit[0]]) if hit.size else None)
        return out

    def failure_type_counts(self) -> list[dict[str, int]]:
        """Per network, how many failed trials (over all delays and conditions) are of each type."""
        return [{name: int((ft == code).sum()) for code, name in enumerate(FAILURE_TYPES, start=1)}
                for ft in self.failure_type]

    def to_frame(self) -> pd.DataFrame:
        """Tidy table, one row per (network, delay): ``seed, delay, failure_prob, n_trials,
        n_failed, n_fixed_time, n_asymptotic``."""
        B, D, K = self.failed.shape
        return pd.DataFrame({
            "seed": np.repeat(np.asarray(self.seeds), D),
            "delay": np.tile(self.delays, B),
            "failure_prob": self.failure_probability().reshape(-1),
            "n_trials": np.full(B * D, K, dtype=np.int64),
            "n_failed": self.failed.sum(-1).reshape(-1).astype(np.int64),
            "n_fixed_time": (self.failure_type == 1).sum(-1).reshape(-1).astype(np.int64),
            "n_asymptotic": (self.failure_type == 2).sum(-1).reshape(-1).astype(np.int64),
        })

    def horizon_frame(self) -> pd.DataFrame:
        """One row per network: ``seed, memory_horizon`` (NaN if never forgotten),
        ``forgets`` and the failure-type counts ``n_fixed_time, n_asymptotic``."""
        h = self.memory_horizon()
        counts = self.failure_type_counts()
        return pd.DataFrame({
            "seed": np.asarray(self.seeds),
            "memory_horizon": np.array([np.nan if v is None else v for v in h], dtype=np.float64),
            "forgets": np.array([v is not None for v in h]),
            "n_fixed_time": np.array([c["fixed-time"] for c in counts], dtype=np.int64),
            "n_asymptotic": np.array([c["asymptotic"] for c in counts], dtype=np.int64),
        })


def forgetting_curve(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                     delays: Sequence[float] | None = None, delay_step: float | None = None,
                     n_draws: int | None = None, cfg: MemoryConfig | None = None,
                     protocol: str = "replace", progress: bool = False,
                     runtime: Runtime | None = None) -> ForgettingCurve:
    """Forgetting curves of B networks (claim C4; book: Methods, Forgetting).

    Args:
        net: B trained networks.
        trial_end_states: ``(B, S, N)`` start states (usually the 4 trial-end states).
        delays: explicit delay-1 durations (time units, multiples of dt,
            increasing); default the grid of ``cfg`` with step ``delay_step``
            (default ``cfg.delay_step`` = 0.5, the paper's 399 delays).
        n_draws: stimulus draws per (start, type) (default ``cfg.n_draws``);
            draws come from :func:`~slowmem.task.trial_rng` stream ``"forgetting"``, so a
            network's result does not depend on its batch neighbours.
        cfg: a :class:`~slowmem.config.MemoryConfig` (default settings if None).
        protocol: ``replace`` (delay 1 is the grid value; failure against the
            target) or ``extend`` (the grid value is added after the nominal
            delay 1; failure against the network's own unstretched final output).
        runtime: run settings (:class:`~slowmem.runtime.Runtime`): ``simulation_dtype`` of the trials
            (the network's weights are cast), ``max_chunk_elements``; None: the defaults.
    Returns:
        :class:`ForgettingCurve` with ``K = S * 4 * n_draws`` conditions per delay.
    """
    if protocol not in PROTOCOLS:
        raise ConfigError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {protocol!r}")
    cfg = memory_config(cfg, n_draws=n_draws)
    d, steps = delay_grid(task, delays, step=delay_step, cfg=cfg)
    if protocol == "extend":
        steps = steps + task.period_steps["delay1"]
    return _curves(net, task, trial_end_states, steps, (protocol,), cfg, progress, runtime)[protocol]


def forgetting_curves(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                      delays: Sequence[float] | None = None, delay_step: float | None = None,
                      cfg: MemoryConfig | None = None, protocols: Sequence[str] | None = None,
                      progress: bool = False, runtime: Runtime | None = None) -> dict[str, ForgettingCurve]:
    """Both forgetting protocols from one set of simulations: protocol -> :class:`ForgettingCurve`.

    ``delays`` (or the grid of ``cfg`` with ``delay_step``) are the *total*
    delay-1 durations simulated: the ``replace`` curve is read at all of them,
    the ``extend`` curve at those longer than the nominal delay 1, as extra
    delays ``total - delay1`` (with the nominal 5 and the grid 1, 3, ..., 199:
    2, 4, ..., 194), against the unstretched trial (total = delay 1, simulated
    once more if the grid lacks it). Every stretched trial and every settling
    run is simulated once for both protocols.
    ``protocols`` defaults to ``cfg.forgetting_protocols``; ``runtime`` as in :func:`forgetting_curve`.
    """
    cfg = memory_config(cfg)
    protocols = tuple(cfg.forgetting_protocols if protocols is None else protocols)
    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad or not protocols:
        raise ConfigError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {bad or list(protocols)!r}")
    _, steps = delay_grid(task, delays, step=delay_step, cfg=cfg)
    return _curves(net, task, trial_end_states, steps, protocols, cfg, progress, runtime)


def _curves(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, total_steps: np.ndarray,
            protocols: tuple[str, ...], cfg: MemoryConfig, progress: bool,
            runtime: Runtime | None) -> dict[str, ForgettingCurve]:
    """The forgetting curves of ``protocols`` at total delay-1 lengths ``total_steps`` (see
    :func:`forgetting_curves`; ``extend`` reads the totals beyond the nominal delay 1)."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    runtime = as_runtime(runtime)
    net = net.as_dtype(runtime.simulation_dtype)
    starts = check_starts(net, trial_end_states)
    d1 = task.period_steps["delay1"]
    extend = "extend" in protocols
    steps = np.unique(np.concatenate([total_steps, [d1]])) if extend else np.asarray(total_steps, np.int64)
    B, S, N = starts.shape
    start_idx, types_k = condition_grid(S, cfg.n_draws)
    K0, dev, dtype, w, dt, tau = len(types_k), net.device, net.dtype, task.windows, task.dt, task.cfg.tau

    rngs = [trial_rng(s, STREAMS["forgetting"]) for s in net.seeds]
    tr = task.make_trials(np.tile(types_k, (B, 1)), rngs, device=dev, dtype=dtype)
    after = tr.inputs[w["stim2"].start:]                     # (T2, B, K0, 2): stim2, delay2, response
    T2 = after.shape[0]
    resp = (w["response"].start - w["stim2"].start, T2)      # the response window, in that run's steps
    x0 = starts[:, torch.as_tensor(start_idx, device=dev)]     # (B, K0, N)
    types_t = torch.as_tensor(types_k)
    D = len(steps)

    mean = torch.empty((B, D, K0), dtype=torch.float64)        # mean response-window output
    final = torch.empty((B, D, K0), dtype=torch.float64)       # last output of the response window
    x_end = torch.empty((B, D, K0, N), device=dev, dtype=dtype)
    per_chunk = _chunk_size(net, runtime.max_chunk_elements, K0)
    chunks = [(a, min(a + per_chunk, D)) for a in range(0, D, per_chunk)]
    with torch.no_grad():
        x = simulate(net, x0, tr.inputs[w["stim1"]], dt=dt, tau=tau, outputs=False).final_state  # end of stim 1
        done = 0                                              # delay steps already run on x
        for a, b in tqdm(chunks, desc="forgetting curve", disable=not progress, unit="chunk"):
            Dc = b - a
            snaps, x = _snapshots(net, x, steps[a:b] - done, task, runtime.max_chunk_elements)
            done = int(steps[b - 1])
            xs = snaps.permute(1, 0, 2, 3).reshape(B, Dc * K0, N)
            inp = after.unsqueeze(2).expand(T2, B, Dc, K0, 2).reshape(T2, B, Dc * K0, 2)
            sim = simulate(net, xs, inp, dt=dt, tau=tau, outputs=resp)             # response window only
            z = sim.outputs[..., 0].double().cpu()
            mean[:, a:b] = z.mean(0).reshape(B, Dc, K0)
            final[:, a:b] = z[-1].reshape(B, Dc, K0)
            x_end[:, a:b] = sim.final_state.reshape(B, Dc, K0, N)

        parts = {}                                            # protocol -> (columns, failed, nominal (B, K0))
        if "replace" in protocols:
            cols = np.flatnonzero(np.isin(steps, total_steps))
            f = trial_failed(mean[:, cols], types_t.expand(B, len(cols), K0), task, cfg.failure_tolerance)
            parts["replace"] = (cols, f, task.response_values()[types_t].to(torch.float64).expand(B, K0))
        if extend:
            ref = final[:, int(np.flatnonzero(steps == d1)[0])]                     # the unstretched trial
            cols = np.flatnonzero(steps > d1)
            f = ~((final[:, cols] - ref.unsqueeze(1)).abs() <= cfg.failure_tolerance)
            parts["extend"] = (cols, f, ref)
        any_failed = torch.zeros((B, D, K0), dtype=torch.bool)
        for cols, f, _ in parts.values():
            any_failed[:, cols] |= f
        settled = _settle_failed(net, task, x_end.reshape(B, D * K0, N), any_failed.reshape(B, D * K0),
                                 cfg, runtime.max_chunk_elements).reshape(B, D, K0)
    out = {}
    seconds = time.perf_counter() - t0
    for proto in protocols:
        cols, f, nominal = parts[proto]
        asym = _asymptotic(settled[:, cols], nominal.unsqueeze(1), cfg)
        ftype = torch.where(f, torch.where(asym, 2, 1), 0).to(torch.int8)
        is_ext = proto == "extend"
        delays = (steps[cols] - (d1 if is_ext else 0)) * task.dt
        horizon_from = cfg.horizon_from if cfg.horizon_from is not None else (
            0.0 if is_ext else float(task.cfg.timing["delay1"]))
        m = final[:, cols] if is_ext else mean[:, cols]
        out[proto] = ForgettingCurve(np.asarray(net.seeds), np.round(delays, 10), start_idx, types_k, m.numpy(),
                                     f.numpy(), ftype.numpy(), cfg.horizon_threshold, horizon_from, seconds, proto)
    return out


def delay_drift(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *, trial_type: int = 0,
                start: int = 0, duration: float = 200.0, record_every: int = 10,
                seed_stream: int | str = "forgetting") -> dict:
    """One stimulus, then an unusually long delay: how the memory drifts.

    Runs stimulus 1 of ``trial_type`` from trial-end state ``start`` and then
    the network autonomously for ``duration`` time units, for every network.

    Returns:
        ``time: (T,)`` time since the end of stimulus 1 (tau), ``outputs:
        (T, B, 3)`` readouts (z, zd_1, zd_2) during the delay, ``states:
        (T // record_every, B, N)`` and ``state_time`` their times, ``target:
        (2,)`` the class-mean latent the memory outputs should hold.
    """
    starts = check_starts(net, trial_end_states)
    steps = duration_to_steps("duration", duration, task.dt)
    B = net.B
    types = np.full((B, 1), int(trial_type))
    tr = task.make_trials(types, [trial_rng(s, seed_stream) for s in net.seeds], device=net.device, dtype=net.dtype)
    stim = tr.inputs[task.windows["stim1"]]
    x = net.simulate(starts[:, start:start + 1], stim, dt=task.dt, tau=task.cfg.tau).final_state
    sim = net.simulate(x, steps=steps, dt=task.dt, tau=task.cfg.tau, record_every=record_every)
    first_digit = TRIAL_TYPES[int(trial_type)][0]
    return {"time": np.arange(1, steps + 1) * task.dt, "outputs": sim.outputs[:, :, 0].cpu(),
            "states": sim.states[:, :, 0].cpu() if sim.states is not None else None,
            "state_time": np.arange(1, steps // record_every + 1) * record_every * task.dt,
            "target": task.class_means[first_digit].clone()}
