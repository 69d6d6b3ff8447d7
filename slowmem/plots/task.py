"""Figures of the chapter *The task*: stimuli, latents, trial streams."""
from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from ..stimuli import StimulusBank
from ..task import TRIAL_TYPES, SPMTask, Trials
from .style import CLASS_COLORS, MIN_FONT_PT, PERIOD_KEY, legend_below, shade_periods

__all__ = ["digits_and_latents", "trial_streams"]


def digits_and_latents(bank: StimulusBank, images: np.ndarray, labels: np.ndarray, digits=(0, 1),
                       n_examples: int = 6) -> Figure:
    """Example images of the two digits, all latents of the two classes, and decoded class means."""
    fig = plt.figure(figsize=(8.6, 3.6), constrained_layout=True)
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
    for c, d in zip(CLASS_COLORS, digits):
        sel = lab == d
        ax.scatter(lat[sel, 0], lat[sel, 1], s=6, color=c, label=f"digit {d}")
        m = lat[sel].mean(0)
        ax.scatter(*m, s=160, marker="*", color=c, edgecolor="k", zorder=5)
    ax.set_xlabel("latent 1"), ax.set_ylabel("latent 2"), ax.set_title("VAE latents\n(stars: class means)")
    legend_below(fig, [ax], ncols=3, markerscale=2)
    for row, d in enumerate(digits):
        ax = fig.add_subplot(gs[row, -1])
        ax.imshow(bank.decode(bank.class_mean(d)[None])[0], cmap="gray_r")
        ax.set_xticks([]), ax.set_yticks([]), ax.set_title(f"mean {d}", fontsize=MIN_FONT_PT)
    return fig


def trial_streams(task: SPMTask, trials: Trials, network: int = 0) -> Figure:
    """Inputs, memory targets and output target of each trial type (one row per type, three panels each).

    ``trials`` must hold the four types for network ``network``: ``trial_types[network] == [0, 1, 2, 3]``.
    """
    t = np.arange(task.T) * task.dt
    fig, axes = plt.subplots(4, 3, figsize=(8.6, 8), sharex=True, sharey="col", constrained_layout=True)
    for k in range(4):
        shade_periods(axes[k, 0], task, label=k == 0)
        for c in (1, 2):
            shade_periods(axes[k, c], task, label=k == 0)
        axes[k, 0].set_ylabel(f"trial {TRIAL_TYPES[k]}")
        for c in range(2):
            axes[k, 0].plot(t, trials.inputs[:, network, k, c].cpu(), lw=0.8, label=f"latent {c + 1}")
            axes[k, 1].plot(t, trials.memory_target[:, network, k, c].cpu(), lw=1.5, label=f"zd {c + 1} target")
        axes[k, 2].plot(t, trials.output_target[:, network, k, 0].cpu(), "k", lw=1.5)
    for c, name in enumerate(("input u(t)", "memory target", "output target")):
        axes[0, c].set_title(f"{name}\n")
        axes[3, c].set_xlabel("time (tau)")
    legend_below(fig, [axes[0, 0], axes[0, 1]])
    fig.suptitle(PERIOD_KEY, fontsize=MIN_FONT_PT)
    return fig
