"""Figures: one style module and one module per topic. Nothing here trains or simulates.

    style.py     one colour per mechanism (the same in every chapter), periods, classes; figure defaults
    task.py      stimuli and trial streams (chapter *The task*)
    training.py  training curves, test-trial readouts, accuracies (chapter *Training with FORCE*)
    dynamics.py  trajectories, fixed and slow points, probe traces, mechanism counts, activity
    memory.py    forgetting curves, horizons, distraction and interruption failures, drift
    report.py    forest plots: every claim's effect with its interval, and one claim under every reading

Every function takes data (tensors, DataFrames, result objects) and returns a matplotlib Figure.
"""
from . import dynamics, memory, report, style, task, training

style.use()

__all__ = ["dynamics", "memory", "report", "style", "task", "training"]
