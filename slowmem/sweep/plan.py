"""Planning a sweep: which networks train together (work units) and what each network still needs.

Both depend only on the grid, the batch size and what is stored, never on the
order in which earlier units finished, so a resumed sweep trains the remaining
networks in the same batches as an uninterrupted one.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..analysis import stored_summary_current
from ..config import ANALYSIS_SECTIONS, ConfigError, network_identity
from ..store import ResultsFolder
from .grid import NetworkSpec

__all__ = ["plan_units", "Pending", "plan_pending", "grid_hash", "ANALYZE_CHOICES"]

#: Which networks get the analyses: those that perform the task, all that did not diverge, none.
ANALYZE_CHOICES = ("success", "all", "none")


def _unit_key(spec: NetworkSpec) -> str:
    """What networks of one unit must share: N, task, training (but the seed) and the analysis settings."""
    d = network_identity(spec.config)
    d["training"].pop("seed", None)
    return json.dumps({"task": d["task"], "training": d["training"], "N": d["network"]["N"],
                       "analysis": {n: getattr(spec.config, n).to_dict() for n in ANALYSIS_SECTIONS}}, sort_keys=True)


def _recurrent_key(spec: NetworkSpec) -> tuple:
    """What fixes a network's recurrent matrix g J: networks with the same key share it."""
    n = spec.config.network
    return (n.N, n.pg, n.init, n.g, spec.seed)


def plan_units(specs: Sequence[NetworkSpec], batch: int) -> list[list[NetworkSpec]]:
    """Split networks into work units of at most ``batch`` that can train as one batch.

    Networks of one unit share N and every task and training setting (they may
    differ in g, pg, fb, ...). Networks with the same recurrent matrix g J
    (same seed, N, pg, init and g; in the paper's grid, the six fb values) go
    to the same unit where ``batch`` allows, in pieces of near-equal size
    otherwise: the CPU engine trains them in lockstep, reading g J once per
    step for all of them (:func:`slowmem.training.numba_engine.share_groups`). Pieces are
    then packed, in grid order, into units of at most ``batch``. The split
    depends only on the grid and ``batch``, never on what is already done, so
    a resumed sweep trains the remaining networks in the same batches as an
    uninterrupted one.
    """
    if batch < 1:
        raise ConfigError(f"batch must be >= 1; got {batch}")
    groups: dict[str, list[NetworkSpec]] = {}
    for s in specs:
        groups.setdefault(_unit_key(s), []).append(s)
    units = []
    for members in groups.values():
        shared: dict[tuple, list[NetworkSpec]] = {}
        for s in members:
            shared.setdefault(_recurrent_key(s), []).append(s)
        unit: list[NetworkSpec] = []
        for g in shared.values():
            n = -(-len(g) // batch)
            for i in range(n):
                piece = g[i * len(g) // n:(i + 1) * len(g) // n]
                if len(unit) + len(piece) > batch:
                    units.append(unit)
                    unit = []
                unit += piece
        if unit:
            units.append(unit)
    return units


@dataclass
class Pending:
    spec: NetworkSpec
    stage: str            # "train" or "analyze"
    why: str
    analyses: list[str] = field(default_factory=list)


def plan_pending(specs: Sequence[NetworkSpec], rows: Mapping[str, dict], folder: ResultsFolder,
                 names: Sequence[str], analyze: str, redo: Sequence[str] = ()) -> tuple[list[Pending], dict[str, str]]:
    """What each network still needs, and which stored results are not trusted (id -> reason).

    A stored analysis counts as done only when its recorded settings
    (:func:`slowmem.analysis.summary_identity`) equal the ones asked for now: a
    change of settings recomputes that analysis, it never mixes old and new summaries.
    Run settings (:class:`slowmem.runtime.Runtime`) are not part of that identity
    (:func:`slowmem.analysis.stored_summary_current`): changing one recomputes nothing.
    """
    pending, distrusted = [], {}
    for s in specs:
        row = rows.get(s.network_id)
        if row is None:
            pending.append(Pending(s, "train", "new"))
            continue
        problem = folder.array_problem(row)
        if problem:
            if row.get("status") == "failed" and not row.get("array_file"):
                pending.append(Pending(s, "train", f"retry (failed before: {row.get('reason')})"))
            else:
                distrusted[s.network_id] = problem
                pending.append(Pending(s, "train", f"recompute: {problem}"))
            continue
        if row.get("status") == "diverged" or row.get("diverged"):
            continue
        eligible = (analyze == "all") or (analyze == "success" and bool(row.get("success")))
        done = set(json.loads(row.get("analyses_done") or "[]"))
        settings = json.loads(row.get("analysis_settings") or "{}")
        missing = []
        for n in names if eligible else ():
            if n not in done or n in redo:
                missing.append(n)
            elif not stored_summary_current(settings.get(n), s.config, n):
                missing.append(n)
        if missing:
            pending.append(Pending(s, "analyze", "analyses " + ", ".join(missing), missing))
    return pending, distrusted


def grid_hash(specs: Sequence[NetworkSpec]) -> str:
    """SHA-256 of the grid's sorted network ids: two grids with the same networks have the same hash."""
    return hashlib.sha256("\n".join(sorted(s.network_id for s in specs)).encode()).hexdigest()
