"""Analyses of trained networks: one module per question of the paper.

Each analysis takes trained networks (a :class:`~slowmem.network.RateNetworks`
batch with its task and trial-end states) and returns plain data -- tensors,
NumPy arrays, DataFrames -- never figures (those live in :mod:`slowmem.plots`).

``ANALYSES`` lists, in order, the analyses that ``slowmem analyze RUN_DIR``
and the sweep's per-network pipeline run. Each entry maps a name to a function

    summarize(networks: RateNetworks, task: SPMTask, trial_end_states: Tensor (B, 4, N),
              *, progress: bool = False) -> list[dict]

returning one JSON-ready dict per network (same order as ``networks.seeds``).
"""
from __future__ import annotations

from importlib import import_module
from typing import Callable

__all__ = ["ANALYSES", "get_analysis"]

#: name -> "module:function" (imported lazily so that importing slowmem stays cheap)
ANALYSES: dict[str, str] = {
    "memory": ".memory:summarize",
    "dynamics": ".dynamics:summarize",
}


def get_analysis(name: str) -> Callable:
    """The ``summarize`` function of analysis ``name``."""
    if name not in ANALYSES:
        from ..config import ConfigError
        raise ConfigError(f"unknown analysis {name!r}; allowed: {', '.join(ANALYSES) or '(none yet)'}")
    mod, fn = ANALYSES[name].split(":")
    return getattr(import_module(mod, __name__), fn)
