"""Figures of the chapters *The task* and *Training with FORCE*.

Every function takes data (tensors, DataFrames, result objects) and returns a
matplotlib Figure; nothing here trains or simulates.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from .config import PERIODS
from .stimuli import StimulusBank
from .task import TRIAL_TYPES, SPMTask, Trials

__all__ = ["digits_and_latents", "trial_streams", "training_curves", "outputs_on_test_trials", "accuracy_bars",
           "PERIOD_COLORS"]

PERIOD_COLORS = {"stim1": "#fde0c5", "delay1": "#e0ecf4", "stim2": "#fde0c5", "delay2": "#e0ecf4",
                 "response": "#d9f0d3"}
_CLASS_COLORS = ("#1b9e77", "#d95f02")


def _shade_periods(ax, task: SPMTask, offset: float = 0.0, label: bool = True) -> None:
    for p in PERIODS:
        w = task.windows[p]
        a, b = offset + w.start * task.dt, offset + w.stop * task.dt
        ax.axvspan(a, b, color=PERIOD_COLORS[p], zorder=0, lw=0)
        if label:
            ax.text((a + b) / 2, 1.0, p, transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7)


def digits_and_latents(bank: StimulusBank, images: np.ndarray, labels: np.ndarray, digits=(0, 1),
                       n_examples: int = 6) -> Figure:
    """Example images of the two digits, all latents of the two classes, and decoded class means."""
    fig = plt.figure(figsize=(11, 3.8), constrained_layout=True)
    gs = fig.add_gridspec(2, n_examples + 4)
    for row, d in enumerate(digits):
        idx = np.flatnonzero(labels == d)[:n_examples]
        for j, i in enumerate(idx):
            ax = fig.add_subplot(gs[row, j])
            ax.imshow(images[i].reshape(bank.image_shape), cmap="gray_r")
            ax.set_xticks([]), ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(f"digit {d}")
    ax = fig.add_subplot(gs[:, n_examples:n_examples + 3])
    lat, lab = bank.latents.numpy(), bank.labels.numpy()
    ax.scatter(lat[:, 0], lat[:, 1], s=3, c="0.85", label="other digits")
    for c, d in zip(_CLASS_COLORS, digits):
        sel = lab == d
        ax.scatter(lat[sel, 0], lat[sel, 1], s=6, color=c, label=f"digit {d}")
        m = lat[sel].mean(0)
        ax.scatter(*m, s=160, marker="*", color=c, edgecolor="k", zorder=5)
    ax.set_xlabel("latent 1"), ax.set_ylabel("latent 2"), ax.set_title("VAE latents (stars: class means)")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    for row, d in enumerate(digits):
        ax = fig.add_subplot(gs[row, -1])
        ax.imshow(bank.decode(bank.class_mean(d)[None])[0], cmap="gray_r")
        ax.set_xticks([]), ax.set_yticks([]), ax.set_title(f"decoded mean {d}", fontsize=8)
    return fig


def trial_streams(task: SPMTask, trials: Trials, network: int = 0) -> Figure:
    """Inputs, memory targets and output target of each trial type (one column per type).

    ``trials`` must hold the four types for network ``network``: ``trial_types[network] == [0, 1, 2, 3]``.
    """
    t = np.arange(task.T) * task.dt
    fig, axes = plt.subplots(3, 4, figsize=(12, 6), sharex=True, sharey="row", constrained_layout=True)
    for k in range(4):
        _shade_periods(axes[0, k], task)
        for r in (1, 2):
            _shade_periods(axes[r, k], task, label=False)
        axes[0, k].set_title(f"trial {TRIAL_TYPES[k]}\n", fontsize=9)
        for c in range(2):
            axes[0, k].plot(t, trials.inputs[:, network, k, c].cpu(), lw=0.8, label=f"latent {c + 1}")
            axes[1, k].plot(t, trials.memory_target[:, network, k, c].cpu(), lw=1.5, label=f"zd {c + 1} target")
        axes[2, k].plot(t, trials.output_target[:, network, k, 0].cpu(), "k", lw=1.5)
        axes[2, k].set_xlabel("time (tau)")
    axes[0, 0].set_ylabel("input u(t)")
    axes[1, 0].set_ylabel("memory target")
    axes[2, 0].set_ylabel("output target")
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=7)
    return fig


def training_curves(log: pd.DataFrame, window: int = 25, hue: str = "seed", ax=None) -> Figure:
    """Rolling median response and memory RMSE per network over training trials."""
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(11, 3.5), constrained_layout=True)
    else:
        fig = ax[0].figure
    for key, grp in log.groupby(hue):
        grp = grp.sort_values("trial")
        for a, col in zip(ax, ("response_rmse", "memory_rmse")):
            a.plot(grp.trial, grp[col].rolling(window, min_periods=1).median(), lw=1, label=f"{hue} {key}")
    for a, col in zip(ax, ("response RMSE", "memory RMSE")):
        a.set_yscale("log"), a.set_xlabel("training trial"), a.set_ylabel(f"{col} (rolling median)")
    ax[0].legend(fontsize=7, ncol=2)
    return fig


def outputs_on_test_trials(task: SPMTask, test_outputs: torch.Tensor, test_types: np.ndarray, network: int = 0,
                 n_trials: int = 8) -> Figure:
    """Readouts of the first ``n_trials`` back-to-back test trials of one network.

    ``test_outputs: (n, T, B, 3)`` from :class:`~slowmem.evaluation.Evaluation`.
    """
    n = min(n_trials, test_outputs.shape[0])
    T = task.T
    fig, axes = plt.subplots(2, 1, figsize=(12, 4.5), sharex=True, constrained_layout=True)
    values = task.response_values().numpy()
    means = task.class_means.numpy()
    for i in range(n):
        off = i * T * task.dt
        t = off + np.arange(T) * task.dt
        for ax in axes:
            _shade_periods(ax, task, offset=off, label=False)
        k = int(test_types[network, i])
        out = test_outputs[i, :, network].numpy()
        axes[0].plot(t, out[:, 0], "k", lw=1)
        r = task.windows["response"]
        axes[0].plot(t[r], np.full(r.stop - r.start, values[k]), color="C3", lw=2)
        axes[0].text(off + T * task.dt / 2, 1.02, str(TRIAL_TYPES[k]), transform=axes[0].get_xaxis_transform(),
                     ha="center", fontsize=8)
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
    fig, ax = plt.subplots(figsize=(6, 3.2), constrained_layout=True)
    width = 0.8 / len(groups)
    seeds = sorted(summary.seed.unique())
    for j, gname in enumerate(groups):
        s = summary[summary[by] == gname].set_index("seed").reindex(seeds)
        ax.bar(np.arange(len(seeds)) + j * width, s.test_accuracy, width, label=f"{by} = {gname}")
    ax.axhline(0.95, color="k", ls=":", lw=1)
    ax.set_xticks(np.arange(len(seeds)) + width * (len(groups) - 1) / 2, [str(s) for s in seeds])
    ax.set_xlabel("network seed"), ax.set_ylabel("test accuracy"), ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="lower right")
    return fig
