"""Analyses of trained networks: shared helpers plus one module per question of the paper.

    attractors.py   the autonomous probe (long runs from noisy trial-end states)
    mechanisms.py   the taxonomy built on the probe (claims C1, C2, C5)
    slowpoints.py   fixed and slow points by q-minimisation, linearisation
    activity.py     saturation during delay and response (claim C3)
    forgetting.py   forgetting curves: stretched delays (claim C4)
    robustness.py   distraction and interruption (claim C6)
    dynamics.py     the per-network "dynamics" summary (probe + taxonomy + slow points + activity)
    memory.py       the per-network "memory" summary (forgetting + distraction + interruption)

Each analysis takes trained networks -- any :class:`~slowmem.system.DynamicalSystem` (vector field,
Jacobian, readouts, simulation, batched; :class:`~slowmem.network.RateNetworks` is one), with its task
and trial-end states -- and returns plain data (tensors, NumPy arrays, DataFrames), never figures
(those live in :mod:`slowmem.plots`).

``ANALYSES`` lists, in order, the analyses that ``slowmem analyze`` and the
sweep's per-network pipeline run. Each maps a name to a function

    summarize(networks: DynamicalSystem, task: SPMTask, trial_end_states: Tensor (B, 4, N),
              *, cfg=None, progress: bool = False, runtime: Runtime | None = None) -> list[dict]

returning one JSON-ready dict per network (same order as ``networks.seeds``).
``cfg`` is the analysis section of the same name of :class:`slowmem.config.Config`
(``dynamics``, ``memory``), or None for an analysis without one. What a stored
summary was computed with is :func:`summary_identity`: the summary format's
version (:data:`SUMMARY_VERSIONS`, bumped whenever the code changes what a
summary means) and the section's settings.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from ..config import ANALYSIS_SECTIONS, ConfigError, drop_run_settings

__all__ = ["ANALYSES", "SUMMARY_VERSIONS", "get_analysis", "summary_identity", "analysis_settings",
           "stored_summary_current"]

#: name -> "module:function" (imported lazily so that importing slowmem stays cheap)
ANALYSES: dict[str, str] = {
    "memory": ".memory:summarize",
    "dynamics": ".dynamics:summarize",
}

#: Version of each summary's format and meaning (1: slowmem 0.1; memory 2: every protocol variant and the
#: per-network forgetting measures; dynamics 2: also the original code's taxonomy rule; memory 4: standard
#: errors over each network's conditions and the noise tolerance; dynamics 4: the authors' start noise and
#: their taxonomy rule read literally).
SUMMARY_VERSIONS: dict[str, int] = {"memory": 4, "dynamics": 4}


def get_analysis(name: str) -> Callable:
    """The ``summarize`` function of analysis ``name``."""
    if name not in ANALYSES:
        raise ConfigError(f"unknown analysis {name!r}; allowed: {', '.join(ANALYSES) or '(none yet)'}")
    mod, fn = ANALYSES[name].split(":")
    return getattr(import_module(mod, __name__), fn)


def analysis_settings(cfg, name: str):
    """The config section analysis ``name`` runs with (``cfg.<name>``), or None if it has none."""

    return getattr(cfg, name) if name in ANALYSIS_SECTIONS else None


def summary_identity(cfg, name: str) -> dict[str, Any]:
    """What a stored summary of ``name`` for a network with config ``cfg`` must record to be reused.

    The summary's version and the science settings of its section only: run settings
    (:class:`slowmem.runtime.Runtime`: chunk sizes, simulation precision, device) are no part of it.
    """
    section = analysis_settings(cfg, name)
    return {"version": SUMMARY_VERSIONS.get(name, 0),
            "settings": section.to_dict() if section is not None else {}}


def stored_summary_current(stored: Any, cfg, name: str) -> bool:
    """Whether a summary recorded with identity ``stored`` (a row's ``analysis_settings[name]``) is current.

    It is when it equals :func:`summary_identity` on the science settings: run settings that
    slowmem before 0.3 recorded among a section's settings (``max_chunk_elements``,
    ``chunk_trials``, ``simulation_dtype``) are left out of the comparison, so stored
    results made with them are reused as they are, never recomputed.
    """
    if not isinstance(stored, dict) or not isinstance(stored.get("settings"), dict):
        return False
    science = {**stored, "settings": drop_run_settings(stored["settings"])}
    return science == summary_identity(cfg, name)
