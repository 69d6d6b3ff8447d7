"""The population a chapter reads: a stored one, or -- only when asked for -- a small one trained now.

A chapter's ``population`` parameter names a results folder (or a folder with ``population.json``); a
relative name that does not exist where the chapter runs is also looked up in the book's folder of a source
checkout, so chapters find their data whether papermill runs them from the repository root or from
``book/``. Only the value :data:`LIVE` trains a population, with the sweep pipeline in this process.
"""
from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slowmem.book import locate_book
from slowmem.config import ConfigError
from slowmem.report.population import Population, load_population
from slowmem.runtime import Runtime
from slowmem.sweep import SweepOptions, grid_from_mapping, run_sweep

__all__ = ["LIVE", "LIVE_GRID", "load_chapter_population"]

#: The value of a chapter's ``population`` parameter that asks for a live population.
LIVE = "live"

#: The small grid trained live when asked for (a few minutes on a 2-core CPU).
LIVE_GRID: Mapping[str, Any] = {"name": "live_ci", "preset": "ci", "seeds": "0-3", "g": [1.2, 1.5]}


def load_chapter_population(population: str | Path, *, live_grid: Mapping[str, Any] | None = None,
                            workdir: str | Path | None = None, progress: bool = False) -> Population:
    """The :class:`~slowmem.report.Population` a chapter reports on.

    Args:
        population: a results folder or population folder, or ``"live"``. A folder that does not exist is an
            error naming it (nothing is trained in its place).
        live_grid: grid mapping for ``"live"`` (default :data:`LIVE_GRID`).
        workdir: where the live population is written (default: a new temporary folder).
        progress: progress bars while training live.
    """
    if population is None:
        raise ConfigError(f"population must be a results folder or {LIVE!r}; got None")
    if str(population) == LIVE:
        grid = grid_from_mapping(dict(live_grid or LIVE_GRID), source="live population", name="live")
        out = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="slowmem-live-")) / "population"
        run_sweep(grid, out, SweepOptions(backend="none", runtime=Runtime(progress=progress),
                                          command="slowmem.book.live.load_chapter_population('live')"))
        return load_population(out, source="live")
    p = Path(population)
    if not p.is_absolute() and not p.exists():
        try:
            in_book = locate_book() / p
        except ConfigError:
            in_book = None
        if in_book is not None and in_book.exists():
            p = in_book
    if not p.is_dir():
        raise ConfigError(f"population {str(population)!r} does not exist; give a results folder (e.g. "
                          f"data/population) or {LIVE!r} to train a small population now")
    return load_population(p)
