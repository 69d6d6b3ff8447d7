"""Does a trained network perform the task? Accuracy, the paper's error rates, trial-end states.

* **Test trials**: ``test_trials`` back-to-back trials with frozen weights,
  continuing from the end of training (a balanced shuffled schedule, so every
  trial type occurs). A trial is *correct* when its mean response-window output
  is nearest the right encoding and within :data:`~slowmem.config.ACCURACY_TOLERANCE`.
* **Trial-end states**: the state at the end of the last test trial of each
  type -- the memory the next trial starts from, and the start states of every
  analysis. ``(B, 4, N)``, indexed by trial type.
* **Replay** (the paper's criterion): every trial type is re-run from every
  trial-end state with :data:`~slowmem.config.REPLAY_SEEDS` stimulus draws,
  all in one batched simulation; the fraction of replays whose response RMSE
  exceeds each of :data:`~slowmem.config.ERROR_THRESHOLDS` is the error rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .config import ACCURACY_TOLERANCE, ERROR_THRESHOLDS, REPLAY_SEEDS, SUCCESS_ACCURACY
from .network import RateNetworks
from .task import SPMTask, trial_rng

__all__ = ["Evaluation", "evaluate", "run_trials", "response_stats", "is_correct", "replay"]


def response_stats(outputs: torch.Tensor, value: torch.Tensor, task: SPMTask,
                   window: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean response and response RMSE in the response window.

    Args:
        outputs: ``(T, *batch, 3)`` readouts of whole trials.
        value: ``(*batch,)`` nominal response.
        window: steps of the response window (default: the task's).
    Returns:
        ``(mean, rmse)`` each ``(*batch,)`` float64 on the CPU.
    """
    w = task.windows["response"] if window is None else window
    z = outputs[w, ..., 0].double()
    v = value.to(z.device, torch.float64)
    return z.mean(0).cpu(), ((z - v) ** 2).mean(0).sqrt().cpu()


def is_correct(mean_response: torch.Tensor, trial_types: torch.Tensor, task: SPMTask) -> torch.Tensor:
    """``(*batch,)`` bool: nearest encoding is the right one and within the tolerance."""
    values = task.response_values()                       # (4,)
    right = values[trial_types.cpu()]
    enc = task.encoding                                   # (3,)
    nearest = enc[(mean_response.unsqueeze(-1) - enc).abs().argmin(-1)]
    return (nearest == right) & ((mean_response - right).abs() < ACCURACY_TOLERANCE)


def run_trials(net: RateNetworks, task: SPMTask, x_start: torch.Tensor, types: np.ndarray,
               rngs: list[np.random.Generator]) -> dict[str, torch.Tensor]:
    """Back-to-back trials ``types: (B, n)`` with frozen weights from ``x_start: (B, N)``.

    Returns ``mean_response, rmse: (B, n)``, ``end_states: (B, n, N)`` and
    ``outputs: (n, T, B, 3)`` (on the CPU).
    """
    x = x_start.unsqueeze(1)
    means, rmses, ends, outs = [], [], [], []
    for i in range(types.shape[1]):
        tr = task.make_trials(types[:, i:i + 1], rngs, device=net.device, dtype=net.dtype)
        sim = net.simulate(x, tr.inputs, dt=task.dt, tau=task.cfg.tau)
        m, e = response_stats(sim.outputs, tr.response_value, task)
        means.append(m[:, 0])
        rmses.append(e[:, 0])
        x = sim.final_state
        ends.append(x[:, 0].cpu())
        outs.append(sim.outputs[:, :, 0].cpu())
    return {"mean_response": torch.stack(means, 1), "rmse": torch.stack(rmses, 1),
            "end_states": torch.stack(ends, 1), "outputs": torch.stack(outs)}


def replay(net: RateNetworks, task: SPMTask, starts: torch.Tensor, n_seeds: int = REPLAY_SEEDS
           ) -> dict[str, torch.Tensor]:
    """Every trial type from every start state, ``n_seeds`` stimulus draws each, in one simulation.

    Args:
        starts: ``(B, S, N)`` start states (usually the 4 trial-end states).
    Returns:
        ``mean_response, rmse, correct``: ``(B, S, 4, n_seeds)``.
    """
    B, S, N = starts.shape
    types = torch.arange(4).view(1, 1, 4, 1).expand(B, S, 4, n_seeds).reshape(B, -1)
    rngs = [trial_rng(s, 2) for s in net.seeds]
    tr = task.make_trials(types, rngs, device=net.device, dtype=net.dtype)
    x0 = starts.to(net.device, net.dtype).unsqueeze(2).expand(B, S, 4 * n_seeds, N).reshape(B, -1, N)
    sim = net.simulate(x0, tr.inputs, dt=task.dt, tau=task.cfg.tau)
    mean, rmse = response_stats(sim.outputs, tr.response_value, task)
    correct = is_correct(mean, types, task)
    shape = (B, S, 4, n_seeds)
    return {"mean_response": mean.reshape(shape), "rmse": rmse.reshape(shape), "correct": correct.reshape(shape)}


@dataclass
class Evaluation:
    """How well B trained networks do the task. Every array has leading axis B.

    Attributes:
        seeds: ``(B,)`` network seeds.
        test_types: ``(B, n)`` trial types of the test trials.
        test_response: ``(B, n)`` mean response-window output per test trial.
        test_outputs: ``(n, T, B, 3)`` readouts of the test trials.
        test_accuracy: ``(B,)`` fraction of correct test trials.
        trial_end_states: ``(B, 4, N)`` state after the last test trial of each type.
        replay_rmse: ``(B, 4, 4, REPLAY_SEEDS)`` response RMSE per (start, type, draw).
        replay_accuracy: ``(B,)`` fraction of correct replays.
        error_rates: ``(B, len(ERROR_THRESHOLDS))`` fraction of replays with RMSE above each threshold.
        success: ``(B,)`` both accuracies >= SUCCESS_ACCURACY and nothing diverged.
    """

    seeds: np.ndarray
    test_types: np.ndarray
    test_response: np.ndarray
    test_outputs: torch.Tensor
    test_accuracy: np.ndarray
    trial_end_states: torch.Tensor
    replay_rmse: np.ndarray
    replay_accuracy: np.ndarray
    error_rates: np.ndarray
    success: np.ndarray

    def summary(self) -> pd.DataFrame:
        """One row per network: seed, accuracies, error rates, success."""
        d = {"seed": self.seeds, "test_accuracy": self.test_accuracy, "replay_accuracy": self.replay_accuracy}
        for j, thr in enumerate(ERROR_THRESHOLDS):
            d[f"error_rate_{thr:g}"] = self.error_rates[:, j]
        d["success"] = self.success
        return pd.DataFrame(d)


def evaluate(net: RateNetworks, task: SPMTask, x_start: torch.Tensor, *, test_trials: int = 20,
             n_seeds: int = REPLAY_SEEDS, diverged: np.ndarray | None = None) -> Evaluation:
    """Test trials from ``x_start: (B, N)`` (the end of training), then the replay test."""
    rngs = [trial_rng(s, 1) for s in net.seeds]
    types = np.stack([task.schedule(test_trials, r) for r in rngs])      # (B, n)
    with torch.no_grad():
        run = run_trials(net, task, x_start, types, rngs)
        t = torch.as_tensor(types)
        correct = is_correct(run["mean_response"], t, task)
        # last test trial of each type -> its end state
        B = net.B
        last = np.array([[np.flatnonzero(types[b] == k)[-1] for k in range(4)] for b in range(B)])
        ends = run["end_states"][torch.arange(B)[:, None], torch.as_tensor(last)]   # (B, 4, N)
        rep = replay(net, task, ends, n_seeds)
    finite = torch.isfinite(ends).all(-1).all(-1).numpy()
    rmse = rep["rmse"].numpy()
    flat = rmse.reshape(B, -1)
    err = np.stack([(~(flat <= thr)).mean(1) for thr in ERROR_THRESHOLDS], 1)   # NaN counts as error
    test_acc = correct.double().mean(1).numpy()
    rep_acc = rep["correct"].reshape(B, -1).double().mean(1).numpy()
    ok = (test_acc >= SUCCESS_ACCURACY) & (rep_acc >= SUCCESS_ACCURACY) & finite
    if diverged is not None:
        ok &= ~np.asarray(diverged, bool)
    return Evaluation(np.array(net.seeds), types, run["mean_response"].numpy(), run["outputs"], test_acc,
                      ends, rmse, rep_acc, err, ok)
