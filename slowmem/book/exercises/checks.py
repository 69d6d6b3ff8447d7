"""Shared machinery of the exercise checks: PASS / FAIL reporting, never raising, tolerances."""
from __future__ import annotations

import contextlib
import textwrap
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from slowmem.config import TaskConfig
from slowmem.task import SPMTask


# --------------------------------------------------------------------------- #
# reporting
# --------------------------------------------------------------------------- #
class _Check:
    """Collects the parts of one check and prints them; see the module docstring."""

    def __init__(self, exercise: str, title: str):
        self.exercise, self.title = exercise, title
        self.results: list[bool] = []
        self.lines: list[str] = []

    def part(self, description: str, fn: Callable[[], tuple[bool, str]]) -> bool:
        """Run one part: ``fn() -> (ok, detail)``; any exception of the student's code is a FAIL."""
        try:
            ok, detail = fn()
            ok = bool(ok)
        except NotImplementedError:
            ok, detail = False, "not implemented yet (the function still raises NotImplementedError)"
        except Exception as e:            # the student's code may fail in any way: report, never raise
            ok, detail = False, f"your code raised {type(e).__name__}: {e}"
        self.results.append(ok)
        self.lines.append(f"  {'PASS' if ok else 'FAIL'}  {description}")
        self.lines.extend(textwrap.wrap(detail, width=88, initial_indent=" " * 8, subsequent_indent=" " * 8,
                                        break_on_hyphens=False))
        return ok

    def finish(self) -> float:
        score = float(sum(self.results))
        print(f"Exercise {self.exercise} ({self.title})")
        print("\n".join(self.lines))
        verdict = "all parts pass" if all(self.results) else "not yet"
        print(f"  Score: {score:g} of {len(self.results)} points ({verdict})")
        return score


@contextlib.contextmanager
def _quiet():
    """Record warnings instead of printing them to stderr (see the module docstring)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if caught:
        print(f"  ({len(caught)} warning(s) raised while checking, e.g. {caught[0].category.__name__}: "
              f"{str(caught[0].message)[:120]})")


def _run(exercise: str, title: str, parts: Sequence[tuple[str, Callable[[], tuple[bool, str]]]]) -> float:
    chk = _Check(exercise, title)
    with _quiet():
        for description, fn in parts:
            chk.part(description, fn)
    return chk.finish()


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu").numpy()
    return np.asarray(x)


def _max_diff(a: Any, b: Any) -> float:
    a, b = _np(a).astype(np.float64), _np(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape {a.shape} where {b.shape} is expected")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _close(a: Any, b: Any, tol: float, what: str) -> tuple[bool, str]:
    d = _max_diff(a, b)
    return d <= tol, f"largest difference in {what} {d:.2g} (tolerance {tol:g})"


def _task(**task_kw):
    return SPMTask(TaskConfig(**task_kw))
