"""Summaries as table columns: the one flattening that live tables and stored populations share.

A per-network summary (``{"dynamics": {...}, "memory": {...}}``) becomes flat columns named
``<analysis>.<key>`` (nested keys joined by dots, lists left out), plus :data:`MECHANISM`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MECHANISM", "flatten_summaries"]

#: The column holding a network's mechanism label (a copy of ``dynamics.mechanism``).
MECHANISM = "mechanism"


def _flatten(prefix: str, value: Any, out: dict) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif value is None or isinstance(value, (bool, int, float, str)):
        out[prefix] = value
    # lists stay in the JSON column


def flatten_summaries(summaries: Mapping[str, Mapping | None]) -> dict:
    """``{name: summary}`` -> ``{"<name>.<key>": scalar}`` (nested keys joined by dots; lists left out),
    plus ``mechanism`` when the dynamics summary has one."""
    flat: dict = {}
    for name, s in summaries.items():
        if isinstance(s, Mapping):
            _flatten(name, s, flat)
    if "dynamics.mechanism" in flat:
        flat[MECHANISM] = flat["dynamics.mechanism"]
    return flat
