"""Neuronal activation profile: phasic or tonic memory? (claim C3; book: Methods)

Test trials: every trial type from every trial-end state (4 x 4 = 16 trials
per network; stimulus images from :func:`~slowmem.task.trial_rng` stream
:data:`~slowmem.task.STREAMS` ``"activity"``), one batched simulation recording the state at
every step. A unit is *saturated* at a step when ``|tanh(x)| > saturation``
(0.8). For every step we take the fraction of saturated units, and average it
over the steps of a period and over the 16 trials:

* ``saturation_delay``: over delay 1 and delay 2 (the memory periods),
* ``saturation_response``: over the response window,
* ``phasic_index = (saturation_response - saturation_delay) /
  (saturation_response + saturation_delay)`` (0 when both are 0).

A *tonic* (persistent) network keeps as many units saturated while it holds
a memory as while it answers: index ~ 0. A *phasic* network saturates units
only transiently, for the stimuli and the answer, and holds the memory in
unsaturated activity during the delays: index > 0 (at most 1). A negative
index means more saturation in the delays than in the response.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..config import PERIODS, DynamicsConfig
from ..system import DynamicalSystem
from ..task import STREAMS, SPMTask, trial_rng
from .attractors import check_trial_end_states, dynamics_config

__all__ = ["ActivityProfile", "activity_profile", "phasic_index"]



def phasic_index(saturation_response: np.ndarray, saturation_delay: np.ndarray) -> np.ndarray:
    """``(r - d) / (r + d)`` elementwise, 0 where both are 0."""
    r = np.asarray(saturation_response, dtype=np.float64)
    d = np.asarray(saturation_delay, dtype=np.float64)
    s = r + d
    return np.where(s > 0, (r - d) / np.where(s > 0, s, 1.0), 0.0)


@dataclass
class ActivityProfile:
    """Saturation of the units during test trials. Arrays share the leading axis B (traces: time first).

    Attributes:
        seeds: ``(B,)`` network seeds.
        start_index: ``(K,)`` trial-end state each test trial starts from.
        trial_types: ``(K,)`` trial type of each test trial.
        saturated_fraction: ``(T, B, K)`` fraction of saturated units at every step.
        period_saturation: period name -> ``(B,)`` mean saturated fraction over that period.
        saturation_delay, saturation_response, phasic_index: ``(B,)`` (module docstring).
        saturation: the threshold on ``|tanh(x)|``.
        states: ``(T, B, K, N)`` the recorded states, if asked for (else None).
        seconds: wall time.
    """

    seeds: np.ndarray
    start_index: np.ndarray
    trial_types: np.ndarray
    saturated_fraction: np.ndarray
    period_saturation: dict[str, np.ndarray]
    saturation_delay: np.ndarray
    saturation_response: np.ndarray
    phasic_index: np.ndarray
    saturation: float
    states: torch.Tensor | None = None
    seconds: float = float("nan")


def activity_profile(net: DynamicalSystem, task: SPMTask, trial_end_states: torch.Tensor, *,
                     cfg: DynamicsConfig | None = None, keep_states: bool = False) -> ActivityProfile:
    """Saturation profile of B networks on test trials (see the module docstring).

    Args:
        trial_end_states: ``(B, 4, N)`` indexed by trial type.
        keep_states: return the ``(T, B, 16, N)`` states too (they seed the
            slow-point finder in :func:`slowmem.analysis.dynamics.summarize`).
    """
    t0 = time.perf_counter()
    cfg = dynamics_config(cfg)
    ends = check_trial_end_states(net, trial_end_states)
    start = np.repeat(np.arange(4), 4)
    types = np.tile(np.arange(4), 4)
    B = net.B
    rngs = [trial_rng(s, STREAMS["activity"]) for s in net.seeds]
    tr = task.make_trials(np.tile(types, (B, 1)), rngs, device=net.device, dtype=net.dtype)
    with torch.no_grad():
        x0 = ends[:, torch.as_tensor(start, device=net.device)]                  # (B, 16, N)
        sim = net.simulate(x0, tr.inputs, dt=task.dt, tau=task.cfg.tau, record_every=1)
        # state before step t is the state after step t - 1; the first is the start state
        states = torch.cat([x0.unsqueeze(0), sim.states[:-1]])                  # (T, B, K, N)
        frac = (torch.tanh(states).abs() > cfg.saturation).to(torch.float64).mean(-1)   # (T, B, K)
    frac_np = frac.cpu().numpy()
    per = {p: _per_network_mean(frac_np[task.windows[p]]) for p in PERIODS}
    delay_steps = np.concatenate([np.arange(task.T)[task.windows[p]] for p in ("delay1", "delay2")])
    sat_delay = _per_network_mean(frac_np[delay_steps])
    sat_resp = per["response"]
    return ActivityProfile(np.asarray(net.seeds), start, types, frac_np, per, sat_delay, sat_resp,
                           phasic_index(sat_resp, sat_delay), cfg.saturation, states if keep_states else None,
                           time.perf_counter() - t0)


def _per_network_mean(x: np.ndarray) -> np.ndarray:
    """``(T, B, K) -> (B,)``: each network's mean over steps and conditions, summed in the same order whatever
    the batch (a mean over axes 0 and 2 of the whole array rounds differently with B)."""
    return np.array([np.ascontiguousarray(x[:, b]).mean() for b in range(x.shape[1])])
