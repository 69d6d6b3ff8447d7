"""Memory under disturbance: distraction noise and interruption (the paper's claim C6).

Both tests disturb stimulus 1 only, then let the trial run as usual, and count
failed trials with the failure rule of :mod:`slowmem.analysis.forgetting`
(mean response-window output not within ``failure_tolerance`` = 0.1 of
nominal, or nearest a wrong encoding). Every trial type is run from every
trial-end state ``n_repeats`` times (10) at every disturbance level, all levels
of all networks in one batched simulation (chunked by ``Runtime.max_chunk_elements``).

**Distraction**, two readings (:data:`DISTRACTORS`). ``literal`` (default, as
the authors' code does it): at every step of stimulus 1, each coordinate of
the input latent gets ``uniform(0, 1) * sigma + noise_offset`` added
(``noise_offset`` = 0.5). Note what this is: a random perturbation of spread
``sigma`` (standard deviation ``sigma / sqrt(12)``) **plus a mean offset of**
``sigma / 2 + 0.5`` on both latent coordinates: it tests a constant input bias
as much as noise. ``zero_mean``: ``(uniform(0, 1) - 0.5) * sigma``, the same
spread without the offset: noise alone. ``sigma = 0`` is the noiseless control
in both (nothing added).

**Interruption**, two protocols (:data:`INTERRUPTIONS`): the input to the first
``n_off`` units (``n_off = round(fraction * N)``; the paper: 100..900 of
N = 1000) is silenced through the system's ``simulate``
``input_mask``, either during stimulus 1 only (``stim1``, as the paper
describes it) or for the whole trial, both stimuli (``whole_trial``, what the
authors' code does: it zeroes those input weights in place).
``fraction = 0`` is the uninterrupted control.

Common random numbers: within one network, every level sees the same stimulus
images (and, for distraction, the same uniform draws, scaled by sigma), so
differences between levels are due to the level alone. Draws come from
:func:`~slowmem.task.trial_rng` streams ``"distraction"`` and ``"interruption"``.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..config import ConfigError, MemoryConfig
from ..evaluation import response_stats, trial_failed
from ..runtime import Runtime, as_runtime
from ..system import DynamicalSystem
from ..task import STREAMS, SPMTask, trial_rng
from .forgetting import _chunk_size, check_starts, condition_grid, memory_config, simulate

__all__ = ["StressTest", "distraction", "interruption", "interruptions", "distraction_noise", "silenced_units",
           "DISTRACTORS", "INTERRUPTIONS"]

#: Readings of the distractor: the authors' literal ``uniform * sigma + 0.5``, or zero-mean noise of the same spread.
DISTRACTORS = ("literal", "zero_mean")
#: Interruption protocols: silenced during stimulus 1 (the paper's text) or the whole trial (the authors' code).
INTERRUPTIONS = ("stim1", "whole_trial")


@dataclass
class StressTest:
    """Trials with a disturbed stimulus 1, for B networks at L levels.

    Attributes:
        kind: ``distraction`` or ``interruption``.
        level_name: ``sigma`` or ``fraction``.
        seeds: ``(B,)`` network seeds.
        levels: ``(L,)`` noise levels sigma, or silenced fractions of N.
        n_off: ``(L,)`` silenced units per level (interruption) or None.
        start_index: ``(K,)`` start state of each condition.
        trial_types: ``(K,)`` trial type of each condition.
        mean_response: ``(B, L, K)`` mean response-window output.
        failed: ``(B, L, K)`` bool, the failure rule.
        seconds: wall time.
    """

    kind: str
    level_name: str
    seeds: np.ndarray
    levels: np.ndarray
    n_off: np.ndarray | None
    start_index: np.ndarray
    trial_types: np.ndarray
    mean_response: np.ndarray
    failed: np.ndarray
    seconds: float = float("nan")

    def select_level(self, value: float) -> StressTest:
        """The same test at the one level ``value`` (ConfigError if it was not run)."""
        hit = np.flatnonzero(np.isclose(self.levels, value, rtol=0, atol=1e-12))
        if not hit.size:
            raise ConfigError(f"level {value:g} is not among this test's levels {self.levels.tolist()}")
        i = slice(int(hit[0]), int(hit[0]) + 1)
        return StressTest(self.kind, self.level_name, self.seeds, self.levels[i],
                          None if self.n_off is None else self.n_off[i], self.start_index, self.trial_types,
                          self.mean_response[:, i], self.failed[:, i], self.seconds)

    def failure_ratio(self) -> np.ndarray:
        """``(B, L)`` fraction of failed trials at each level."""
        return self.failed.mean(-1)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table, one row per (network, level): ``seed, <level_name>, [n_off,]
        failure_ratio, n_trials, n_failed``."""
        B, L, K = self.failed.shape
        d = {"seed": np.repeat(np.asarray(self.seeds), L), self.level_name: np.tile(self.levels, B)}
        if self.n_off is not None:
            d["n_off"] = np.tile(self.n_off, B)
        d["failure_ratio"] = self.failure_ratio().reshape(-1)
        d["n_trials"] = np.full(B * L, K, dtype=np.int64)
        d["n_failed"] = self.failed.sum(-1).reshape(-1).astype(np.int64)
        return pd.DataFrame(d)


def distraction_noise(sigmas: torch.Tensor, uniform: torch.Tensor, offset: float,
                      distractor: str = "literal") -> torch.Tensor:
    """The distractor added to stimulus 1, and 0 where ``sigma == 0``.

    ``literal``: ``uniform * sigma + offset``; ``zero_mean``: ``(uniform - 0.5) * sigma``.

    Args:
        sigmas: ``(L,)`` noise levels.
        uniform: ``(T1, B, K, 2)`` draws from uniform(0, 1).
    Returns:
        ``(T1, B, L, K, 2)``.
    """
    if distractor not in DISTRACTORS:
        raise ConfigError(f"distractor must be one of {', '.join(DISTRACTORS)}; got {distractor!r}")
    s = sigmas.to(uniform).view(1, 1, -1, 1, 1)
    u = uniform.unsqueeze(2)
    noise = u * s + offset if distractor == "literal" else (u - 0.5) * s
    return torch.where(s > 0, noise, torch.zeros_like(noise))


def silenced_units(fractions: Sequence[float], N: int) -> np.ndarray:
    """``(L,)`` int64: ``n_off = round(fraction * N)`` units silenced at each level."""
    return np.rint(np.asarray(fractions, dtype=np.float64) * N).astype(np.int64)


def _prepare(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, n_repeats: int, stream: int):
    """Start states, condition grid, stimulus draws and per-condition start states of one stress test."""
    starts = check_starts(net, trial_end_states)
    B, S, N = starts.shape
    start_idx, types_k = condition_grid(S, n_repeats)
    rngs = [trial_rng(s, stream) for s in net.seeds]
    tr = task.make_trials(np.tile(types_k, (B, 1)), rngs, device=net.device, dtype=net.dtype)
    x0 = starts[:, torch.as_tensor(start_idx, device=net.device)]          # (B, K0, N)
    return starts, start_idx, types_k, rngs, tr, x0


def _first_repeats(K: int, n_repeats: int, repeats: int | None) -> np.ndarray:
    """Rows of a :func:`condition_grid` of ``K`` conditions whose repeat index is below ``repeats``."""
    if repeats is None or repeats >= n_repeats:
        return np.arange(K)
    if repeats < 1:
        raise ConfigError(f"repeats must be >= 1; got {repeats}")
    return np.flatnonzero(np.arange(K) % n_repeats < repeats)


def _expand(t: torch.Tensor, L: int, dim: int) -> torch.Tensor:
    """Repeat ``t`` L times as a new axis at ``dim`` and merge it with the next axis (level-major)."""
    shape = list(t.shape)
    e = t.unsqueeze(dim).expand(*shape[:dim], L, *shape[dim:])
    return e.reshape(*shape[:dim], L * shape[dim], *shape[dim + 1:])


def distraction(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                sigmas: Sequence[float] | None = None, n_repeats: int | None = None,
                noise_offset: float | None = None, cfg: MemoryConfig | None = None,
                distractor: str = "literal", progress: bool = False, control: StressTest | None = None,
                repeats: int | None = None, runtime: Runtime | None = None) -> StressTest:
    """Failure under distraction noise on stimulus 1 (claim C6; book: Methods, Distraction).

    Args:
        trial_end_states: ``(B, S, N)`` start states.
        sigmas: noise levels (default ``cfg.sigmas``, the paper's list;
            include 0 for the noiseless control).
        n_repeats: noisy repeats per (start, type) (default 10).
        noise_offset: the constant added with the noise (default 0.5; ``literal`` only).
        distractor: ``literal`` or ``zero_mean`` (:data:`DISTRACTORS`). Both
            use the same uniform draws, so the two curves differ by the offset alone.
        control: the noiseless level (sigma = 0) of the same networks and settings,
            as a :class:`StressTest` with that one level (e.g. another distractor's
            ``select_level(0.0)``): its trials are this distractor's too, so they
            are not simulated again.
        repeats: run only the first ``repeats`` of the ``n_repeats`` draws per
            (start, type) (the same trials as the full test's; default all).
        runtime: run settings (:class:`~slowmem.runtime.Runtime`): ``simulation_dtype`` of the trials
            (the network's weights are cast), ``max_chunk_elements``; None: the defaults.
    Returns:
        :class:`StressTest` with ``levels = sigmas`` and ``K = S * 4 * repeats``.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    cfg = memory_config(cfg, sigmas=sigmas, n_repeats=n_repeats, noise_offset=noise_offset)
    runtime = as_runtime(runtime)
    net = net.as_dtype(runtime.simulation_dtype)
    starts, start_idx, types_k, rngs, tr, x0 = _prepare(net, task, trial_end_states, cfg.n_repeats,
                                                        STREAMS["distraction"])
    n1 = task.period_steps["stim1"]
    u = torch.from_numpy(np.stack([r.random((n1, x0.shape[1], 2)) for r in rngs], axis=1)).to(net.device, net.dtype)
    rows = _first_repeats(x0.shape[1], cfg.n_repeats, repeats)
    K_all = x0.shape[1]
    x0, u, inputs = x0[:, rows], u[:, :, rows], tr.inputs[:, :, rows]
    start_idx, types_k = start_idx[rows], types_k[rows]
    B, K0 = x0.shape[:2]
    all_levels = np.asarray(cfg.sigmas, dtype=np.float64)
    L = len(all_levels)
    types_t = torch.as_tensor(types_k)
    mean = torch.empty((B, L, K0), dtype=torch.float64)
    todo = np.arange(L)
    if control is not None:                     # the noiseless trials are every distractor's: reuse them
        zero = np.flatnonzero(all_levels == 0)
        if zero.size and control.mean_response.shape == (B, 1, K_all):
            mean[:, zero[0]] = torch.from_numpy(control.mean_response[:, 0][:, rows])
            todo = np.delete(todo, zero[0])
    levels = all_levels[todo]
    per_chunk = _chunk_size(net, runtime.max_chunk_elements, K0)
    chunks = [(a, min(a + per_chunk, len(levels))) for a in range(0, len(levels), per_chunk)]
    with torch.no_grad():
        for a, b in tqdm(chunks, desc="distraction", disable=not progress, unit="chunk"):
            Lc = b - a
            inp = inputs.unsqueeze(2).expand(-1, -1, Lc, -1, -1).clone()             # (T, B, Lc, K0, 2)
            inp[:n1] += distraction_noise(torch.as_tensor(levels[a:b]), u, cfg.noise_offset, distractor)
            w = task.windows["response"]
            sim = simulate(net, _expand(x0, Lc, 1), inp.reshape(task.T, B, Lc * K0, 2), dt=task.dt,
                           tau=task.cfg.tau, outputs=(w.start, w.stop))
            m, _ = response_stats(sim.outputs, torch.zeros(()), task, window=slice(None))
            mean[:, todo[a:b]] = m.reshape(B, Lc, K0)
    levels = all_levels
    failed = trial_failed(mean, types_t.expand(B, L, K0), task, cfg.failure_tolerance)
    return StressTest(f"distraction/{distractor}", "sigma", np.asarray(net.seeds), levels, None, start_idx, types_k,
                      mean.numpy(), failed.numpy(), time.perf_counter() - t0)


def interruption(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                 fractions: Sequence[float] | None = None, n_repeats: int | None = None,
                 cfg: MemoryConfig | None = None, protocol: str = "stim1", progress: bool = False,
                 runtime: Runtime | None = None) -> StressTest:
    """Failure when the input to the first ``n_off`` units is silenced (during stimulus 1, or the whole trial).

    Args:
        trial_end_states: ``(B, S, N)`` start states.
        fractions: silenced fractions of N (default ``cfg.interruption_fractions``,
            0.1..0.9; include 0 for the uninterrupted control).
        n_repeats: stimulus draws per (start, type) (default 10).
        protocol: ``stim1`` or ``whole_trial`` (:data:`INTERRUPTIONS`); the
            same stimulus draws in both.
        runtime: run settings, as in :func:`distraction`.
    Returns:
        :class:`StressTest` with ``levels = fractions``, ``n_off = round(fraction * N)``.
    """
    return interruptions(net, task, trial_end_states, fractions=fractions, n_repeats=n_repeats, cfg=cfg,
                         protocols=(protocol,), progress=progress, runtime=runtime)[protocol]


def interruptions(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                  fractions: Sequence[float] | None = None, n_repeats: int | None = None,
                  cfg: MemoryConfig | None = None, protocols: Sequence[str] | None = None,
                  progress: bool = False, repeats: Mapping[str, int | None] | None = None,
                  runtime: Runtime | None = None) -> dict[str, StressTest]:
    """:func:`interruption` under several protocols at once: protocol -> :class:`StressTest`.

    The protocols differ from stimulus 2 on only (delay 1 has no input to
    silence), so stimulus 1 and delay 1 are simulated once for all of them;
    each protocol's result is the one :func:`interruption` gives alone.
    ``protocols`` defaults to ``cfg.interruptions``; ``repeats`` (protocol ->
    number) runs a protocol on the first draws per (start, type) only (the
    same trials as the others'); ``runtime`` as in :func:`distraction`.
    """
    from tqdm import tqdm

    cfg = memory_config(cfg, interruption_fractions=fractions, n_repeats=n_repeats)
    protocols = tuple(cfg.interruptions if protocols is None else protocols)
    bad = [p for p in protocols if p not in INTERRUPTIONS]
    if bad or not protocols:
        raise ConfigError(f"protocol must be one of {', '.join(INTERRUPTIONS)}; got {bad or list(protocols)!r}")
    t0 = time.perf_counter()
    runtime = as_runtime(runtime)
    net = net.as_dtype(runtime.simulation_dtype)
    starts, start_idx, types_k, rngs, tr, x0 = _prepare(net, task, trial_end_states, cfg.n_repeats,
                                                        STREAMS["interruption"])
    B, K0 = x0.shape[:2]
    N = net.N
    levels = np.asarray(cfg.interruption_fractions, dtype=np.float64)
    n_off = silenced_units(levels, N)
    L = len(levels)
    w1, w2 = task.windows["stim1"], task.windows["stim2"]
    resp = (task.windows["response"].start - w2.start, task.T - w2.start)
    types_t = torch.as_tensor(types_k)
    rows = {p: _first_repeats(K0, cfg.n_repeats, (repeats or {}).get(p)) for p in protocols}
    mean = {p: torch.empty((B, L, len(rows[p])), dtype=torch.float64) for p in protocols}
    unit = torch.arange(N, device=net.device)
    per_chunk = _chunk_size(net, runtime.max_chunk_elements, K0)
    chunks = [(a, min(a + per_chunk, L)) for a in range(0, L, per_chunk)]
    kw = dict(dt=task.dt, tau=task.cfg.tau)
    with torch.no_grad():
        for a, b in tqdm(chunks, desc="interruption", disable=not progress, unit="chunk"):
            Lc = b - a
            off = torch.as_tensor(n_off[a:b], device=net.device)
            keep = (unit.unsqueeze(0) >= off.unsqueeze(1)).to(net.dtype)              # (Lc, N)
            mask = keep.view(1, Lc, 1, N).expand(B, Lc, K0, N).reshape(B, Lc * K0, N)
            inp = _expand(tr.inputs, Lc, 2)                                            # (T, B, Lc*K0, 2)
            s1 = simulate(net, _expand(x0, Lc, 1), inp[w1], input_mask=mask, outputs=False, **kw)
            x = simulate(net, s1.final_state, inp[w1.stop:w2.start], outputs=False, **kw).final_state
            for p in protocols:
                sel = torch.as_tensor((np.arange(Lc)[:, None] * K0 + rows[p][None, :]).reshape(-1))
                s2 = simulate(net, x[:, sel], inp[w2.start:, :, sel],
                              input_mask=mask[:, sel] if p == "whole_trial" else None, outputs=resp, **kw)
                m, _ = response_stats(s2.outputs, torch.zeros(()), task, window=slice(None))
                mean[p][:, a:b] = m.reshape(B, Lc, len(rows[p]))
    out = {}
    for p in protocols:
        r = rows[p]
        failed = trial_failed(mean[p], types_t[r].expand(B, L, len(r)), task, cfg.failure_tolerance)
        out[p] = StressTest(f"interruption/{p}", "fraction", np.asarray(net.seeds), levels, n_off, start_idx[r],
                            types_k[r], mean[p].numpy(), failed.numpy(), time.perf_counter() - t0)
    return out
