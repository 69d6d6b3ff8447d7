"""Figures of the chapter *Training with FORCE*: training curves, test-trial readouts, accuracies."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from ..task import TRIAL_TYPES, SPMTask
from .style import MIN_FONT_PT, legend_below, shade_periods

__all__ = ["training_curves", "outputs_on_test_trials", "accuracy_bars"]


def training_curves(log: pd.DataFrame, window: int = 25, hue: str = "seed", ax=None) -> Figure:
    """Rolling median response and memory RMSE per network over training trials."""
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(8.6, 3.6), constrained_layout=True)
    else:
        fig = ax[0].figure
    for key, grp in log.groupby(hue):
        grp = grp.sort_values("trial")
        for a, col in zip(ax, ("response_rmse", "memory_rmse")):
            a.plot(grp.trial, grp[col].rolling(window, min_periods=1).median(), lw=1, label=f"{hue} {key}")
    for a, col in zip(ax, ("response RMSE", "memory RMSE")):
        a.set_yscale("log"), a.set_xlabel("training trial"), a.set_ylabel(f"{col} (rolling median)")
    legend_below(fig, ax[:1], ncols=6)
    return fig


def outputs_on_test_trials(task: SPMTask, test_outputs: torch.Tensor, test_types: np.ndarray, network: int = 0,
                 n_trials: int = 8) -> Figure:
    """Readouts of the first ``n_trials`` back-to-back test trials of one network.

    ``test_outputs: (n, T, B, 3)`` from :class:`~slowmem.evaluation.Evaluation`.
    """
    n = min(n_trials, test_outputs.shape[0])
    T = task.T
    fig, axes = plt.subplots(2, 1, figsize=(8.6, 4.5), sharex=True, constrained_layout=True)
    values = task.response_values().numpy()
    means = task.class_means.numpy()
    for i in range(n):
        off = i * T * task.dt
        t = off + np.arange(T) * task.dt
        for ax in axes:
            shade_periods(ax, task, offset=off, label=False)
        k = int(test_types[network, i])
        out = test_outputs[i, :, network].numpy()
        axes[0].plot(t, out[:, 0], "k", lw=1)
        r = task.windows["response"]
        axes[0].plot(t[r], np.full(r.stop - r.start, values[k]), color="C3", lw=2)
        axes[0].text(off + T * task.dt / 2, 1.02, str(TRIAL_TYPES[k]), transform=axes[0].get_xaxis_transform(),
                     ha="center", fontsize=MIN_FONT_PT)
        for c in range(2):
            axes[1].plot(t, out[:, 1 + c], color=f"C{c}", lw=1)
        d1, d2 = TRIAL_TYPES[k]
        for w, d in ((task.windows["delay1"], d1), (task.windows["delay2"], d2)):
            for c in range(2):
                axes[1].plot(t[w], np.full(w.stop - w.start, means[d, c]), color=f"C{c}", lw=2.5, alpha=0.5)
    axes[0].set_ylabel("response z (red: target)")
    axes[1].set_ylabel("memory zd (thick: targets)")
    axes[1].set_xlabel("time (tau), trials back to back")
    return fig


def accuracy_bars(summary: pd.DataFrame, by: str = "rule") -> Figure:
    """Test accuracy of every network, grouped by ``by`` (e.g. the learning rule)."""
    groups = list(summary[by].unique())
    fig, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
    width = 0.8 / len(groups)
    seeds = sorted(summary.seed.unique())
    for j, gname in enumerate(groups):
        s = summary[summary[by] == gname].set_index("seed").reindex(seeds)
        ax.bar(np.arange(len(seeds)) + j * width, s.test_accuracy, width, label=f"{by} = {gname}")
    ax.axhline(0.95, color="k", ls=":", lw=1)
    ax.set_xticks(np.arange(len(seeds)) + width * (len(groups) - 1) / 2, [str(s) for s in seeds])
    ax.set_xlabel("network seed"), ax.set_ylabel("test accuracy"), ax.set_ylim(0, 1.05)
    legend_below(fig, [ax])             # outside the axes: no legend covers a bar
    return fig
