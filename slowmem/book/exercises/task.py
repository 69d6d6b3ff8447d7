"""Exercise checks of chapter 1: the task."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from slowmem.book.exercises.checks import _close, _np, _run, _task
from slowmem.config import DEFAULT_TIMING, TaskConfig
from slowmem.task import trial_rng


# --------------------------------------------------------------------------- #
# chapter 1: the task
# --------------------------------------------------------------------------- #
def check_trial_steps(trial_steps: Callable) -> float:
    """Exercise 1.1: ``trial_steps(timing, dt) -> int`` or ``ValueError``; compared with TaskConfig."""

    legal = [({}, 0.1), ({"delay1": 3.0}, 0.1), ({"delay1": 2.2, "response": 7.5}, 0.1),
             ({"delay1": 2.25}, 0.05), ({"stim1": 0.3, "stim2": 0.7}, 0.1)]
    illegal = [({"delay1": 2.25}, 0.1), ({"stim1": 10.05}, 0.1), ({"response": 0.125}, 0.05)]

    def values():
        for over, dt in legal:
            timing = {**DEFAULT_TIMING, **over}
            want = TaskConfig(timing=timing, dt=dt).trial_steps
            got = trial_steps(dict(timing), dt)
            if not isinstance(got, (int, np.integer)) or got != want:
                return False, f"timing {over or 'of the paper'} with dt = {dt}: got {got!r}, want the integer {want}"
        return True, f"{len(legal)} legal timings give the step counts of slowmem.config.TaskConfig (exact)"

    def refusals():
        for over, dt in illegal:
            timing = {**DEFAULT_TIMING, **over}
            try:
                got = trial_steps(dict(timing), dt)
            except ValueError:
                continue
            return False, f"timing {over} with dt = {dt} returned {got!r}; it must raise ValueError"
        return True, f"{len(illegal)} durations that are not whole multiples of dt raise ValueError"

    return _run("1.1", "steps of a trial", [("legal timings", values), ("refused timings", refusals)])


def check_targets(targets: Callable, task=None) -> float:
    """Exercise 1.2: ``targets(task, trial_type) -> (output (T, 1), memory (T, 2))`` vs SPMTask.make_trials."""

    task = task if task is not None else _task()
    other = _task(timing={"delay1": 8.0, "response": 3.0}, encoding=(0.2, 0.6, 1.0))

    def compare(tk):
        def fn():
            for k in range(4):
                tr = tk.make_trials(np.array([[k]]), [trial_rng(0, 1)])
                out, mem = targets(tk, k)
                for got, want, name in ((out, tr.output_target[:, 0, 0], "response target"),
                                        (mem, tr.memory_target[:, 0, 0], "memory targets")):
                    got = _np(got).reshape(_np(want).shape) if _np(got).size == _np(want).size else _np(got)
                    ok, detail = _close(got, want, 1e-12, f"{name} of trial type {k}")
                    if not ok:
                        return ok, detail
            return True, "all 4 trial types equal SPMTask.make_trials (tolerance 1e-12)"
        return fn

    return _run("1.2", "the targets of one trial", [
        ("the paper's task", compare(task)),
        ("a task with delay1 = 8, response = 3 and encoding (0.2, 0.6, 1.0)", compare(other))])


def check_classify_draws(classify_draws: Callable, task=None) -> float:
    """Exercise 1.3: nearest-class-mean reading of single stimulus draws."""
    task = task if task is not None else _task()
    means = task.class_means.double()
    gen = torch.Generator().manual_seed(13)
    pts = means[torch.randint(0, 2, (400,), generator=gen)] + 1.5 * torch.randn(400, 2, generator=gen,
                                                                                 dtype=torch.float64)

    def reference(lat):
        return torch.cdist(lat, means).argmin(1).numpy()

    def random_points():
        got = _np(classify_draws(pts.clone(), means.clone())).reshape(-1)
        want = reference(pts)
        if got.shape != want.shape:
            return False, f"{got.shape} labels for {len(want)} latents"
        wrong = int((got != want).sum())
        return wrong == 0, f"{wrong} of {len(want)} random latents labelled differently from the nearest mean"

    def digits():
        acc = []
        for c, d in enumerate(task.cfg.digits):
            lat = task.bank.class_latents(d).double()
            got = _np(classify_draws(lat.clone(), means.clone())).reshape(-1)
            if got.shape != (len(lat),) or (got != reference(lat)).any():
                return False, f"labels of the digit-{d} latents differ from the nearest class mean"
            acc.append(f"digit {d}: {100 * (got == c).mean():.1f} %")
        return True, "single draws read correctly: " + ", ".join(acc)

    return _run("1.3", "one draw is (almost) enough", [("random latents", random_points),
                                                        ("the stimulus bank", digits)])
