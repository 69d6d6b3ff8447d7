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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .config import ACCURACY_TOLERANCE, ERROR_THRESHOLDS, REPLAY_SEEDS, SUCCESS_ACCURACY
from .network import RateNetworks
from .task import STREAMS, SPMTask, trial_rng

__all__ = ["Evaluation", "evaluate", "run_trials", "response_stats", "is_correct", "trial_failed", "replay",
           "network_record", "training_curves"]


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


def is_correct(mean_response: torch.Tensor, trial_types: torch.Tensor, task: SPMTask,
               tolerance: float = ACCURACY_TOLERANCE) -> torch.Tensor:
    """The one correctness rule of slowmem: ``(*batch,)`` bool on the CPU.

    Args:
        mean_response: ``(*batch,)`` mean response-window output.
        trial_types: ``(*batch,)`` trial type indices 0..3.
        tolerance: largest allowed distance from the nominal value (exclusive).
    Returns:
        True where the encoding nearest the output is the right one and the
        output is less than ``tolerance`` from it; a NaN or infinite output is
        never correct.
    """
    mean = mean_response.detach().to("cpu", torch.float64)
    right = task.response_values()[trial_types.detach().cpu()]
    enc = task.encoding                                   # (3,)
    nearest = enc[(mean.unsqueeze(-1) - enc).abs().nan_to_num(math.inf).argmin(-1)]
    return (nearest == right) & ((mean - right).abs() < tolerance)


def trial_failed(mean_response: torch.Tensor, trial_types: torch.Tensor, task: SPMTask,
                 tolerance: float = ACCURACY_TOLERANCE) -> torch.Tensor:
    """The failure rule of every stress test (forgetting, distraction, interruption): ``~is_correct``."""
    return ~is_correct(mean_response, trial_types, task, tolerance)


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
    rngs = [trial_rng(s, STREAMS["replay"]) for s in net.seeds]
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
    rngs = [trial_rng(s, STREAMS["testing"]) for s in net.seeds]
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


def network_record(b: int, result, evaluation: Evaluation) -> dict:
    """The per-network record of training and evaluation: network ``b`` of a batch, from its own slot only.

    Args:
        b: the network's index in the batch (never its seed: seeds repeat
            when networks differ only in other settings).
        result: the :class:`~slowmem.training.TrainingResult` of the batch.
        evaluation: the :class:`Evaluation` of the same batch.
    Returns:
        ``success``, ``diverged``, ``test_accuracy``, ``replay_accuracy``,
        ``error_rate_<thr>`` for each of :data:`~slowmem.config.ERROR_THRESHOLDS`,
        ``train_response_rmse_last100`` and ``train_memory_rmse_last100``
        (medians over the last 100 training trials; None without training).
    """
    log = result.log[result.log["network"] == b]
    n_trials = int(log["trial"].max()) + 1 if len(log) else 0
    last = log[log["trial"] >= n_trials - 100]
    rec = {
        "success": bool(evaluation.success[b]),
        "diverged": bool(result.diverged[b]),
        "test_accuracy": float(evaluation.test_accuracy[b]),
        "replay_accuracy": float(evaluation.replay_accuracy[b]),
        **{f"error_rate_{thr:g}": float(evaluation.error_rates[b, j]) for j, thr in enumerate(ERROR_THRESHOLDS)},
        "train_response_rmse_last100": float(np.median(last["response_rmse"])) if len(last) else None,
        "train_memory_rmse_last100": float(np.median(last["memory_rmse"])) if len(last) else None,
    }
    return rec


def training_curves(b: int, result) -> dict[str, torch.Tensor]:
    """Network ``b``'s own training curves: ``train_response_rmse``, ``train_memory_rmse``, each ``(trials,)``."""
    log = result.log[result.log["network"] == b].sort_values("trial")
    return {"train_response_rmse": torch.tensor(log["response_rmse"].to_numpy(), dtype=torch.float64),
            "train_memory_rmse": torch.tensor(log["memory_rmse"].to_numpy(), dtype=torch.float64)}
