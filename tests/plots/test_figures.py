"""Figures that read at a glance (issue 27): page-width font sizes, legends outside the data, no overlapping
period labels, verdicts in another visual language than mechanisms."""
import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from slowmem.plots import report as plots_report
from slowmem.plots import task as plots_task
from slowmem.plots import training as plots_training
from slowmem.plots.style import MECHANISM_COLORS, PERIOD_LABELS, font_at_page_width, legend_below
from slowmem.task import trial_rng


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _trial_streams(task):
    trials = task.make_trials(np.arange(4)[None, :], [trial_rng(0, 1)])
    return plots_task.trial_streams(task, trials)


def _summary():
    rows = [{"rule": r, "seed": s, "test_accuracy": a} for r, acc in (("modified", (1.0, 0.99, 0.2, 1.0)),
                                                                      ("original", (0.5, 0.97, 0.1, 0.3)))
            for s, a in enumerate(acc)]
    return pd.DataFrame(rows)


def test_chapter_1_and_2_figures_read_at_page_width(task):
    log = pd.DataFrame({"seed": np.repeat([0, 1], 50), "trial": np.tile(np.arange(50), 2),
                        "response_rmse": np.linspace(1, 0.01, 100), "memory_rmse": np.linspace(1, 0.02, 100)})
    for fig in (_trial_streams(task), plots_training.accuracy_bars(_summary()),
                plots_training.training_curves(log)):
        assert font_at_page_width(fig) >= 9, fig.get_figwidth()


def test_period_labels_are_short_and_do_not_overlap(task):
    fig = _trial_streams(task)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text() in PERIOD_LABELS.values()]
    assert [t.get_text() for t in labels] == list(PERIOD_LABELS.values())
    boxes = sorted((t.get_window_extent(r) for t in labels), key=lambda b: b.x0)
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), [(b.x0, b.x1) for b in boxes]


def test_legends_sit_outside_the_axes(task):
    for fig in (_trial_streams(task), plots_training.accuracy_bars(_summary())):
        assert not any(ax.get_legend() for ax in fig.axes)          # no legend inside a panel
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        (legend,) = fig.legends
        lb = legend.get_window_extent(r)
        for ax in fig.axes:
            if ax.get_visible():
                assert not lb.overlaps(ax.get_window_extent(r))


def test_accuracy_bars_no_bar_under_the_legend():
    fig = plots_training.accuracy_bars(_summary())
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    lb = fig.legends[0].get_window_extent(r)
    bars = [p for p in fig.axes[0].patches]
    assert bars and not any(lb.overlaps(p.get_window_extent(r)) for p in bars)


def test_legend_below_deduplicates_and_handles_no_handles():
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([0, 1], label="x"), b.plot([0, 1], label="x"), b.plot([1, 0], label="y")
    leg = legend_below(fig, [a, b])
    assert [t.get_text() for t in leg.get_texts()] == ["x", "y"]
    fig2, c = plt.subplots()
    assert legend_below(fig2, [c]) is None


def test_verdicts_never_use_a_mechanism_colour():
    mech = {c.lower() for c in MECHANISM_COLORS.values()}
    verdict = {c.lower() for c in plots_report.VERDICT_COLORS.values()}
    assert not mech & verdict
    assert len(verdict) == len(plots_report.VERDICT_COLORS)


def test_memory_horizon_ticks_are_round_and_never_touch_the_never_column():
    from slowmem.plots import memory as plots_memory

    h = pd.DataFrame({"seed": np.arange(8), "mechanism": ["fixed points"] * 4 + ["slow manifold"] * 4,
                      "memory_horizon": [5.0, 12.5, np.nan, np.nan, 20.0, 60.0, 175.0, np.nan]})
    fig = plots_memory.memory_horizons(h, by="mechanism")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-1] == "never" and all(float(x) % 5 == 0 for x in labels[:-1]), labels
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.get_xticklabels()]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:])), [(b.x0, b.x1) for b in boxes]
