"""Pieces shared by the benchmark scripts: the 24-network check grid and their JSON output (via the store)."""
from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass

from slowmem.config import Config, NetworkConfig
from slowmem.store import write_document
from slowmem.task import SPMTask

#: The part of the book grid where networks do learn: 2 x 2 x 2 x 3 seeds = 24 networks.
CHECK_GRID = {"g": (0.8, 1.2), "pg": (0.4, 0.9), "fb": (1.0, 10.0), "seed": (0, 1, 2)}


@dataclass
class CheckNetworks:
    """The check grid at the book preset: ``combos[i] = (g, pg, fb, seed)`` describes network i."""

    base: Config
    combos: list[tuple]
    configs: list[NetworkConfig]
    seeds: list[int]
    task: SPMTask


def check_arguments(description: str) -> argparse.Namespace:
    """``--json PATH`` and ``--trials N``, the options every check script takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", default=None, help="write the per-network table here")
    p.add_argument("--trials", type=int, default=None, help="training trials (default: the book preset's)")
    return p.parse_args()


def check_networks(trials: int | None = None) -> CheckNetworks:
    base = Config.from_preset("book")
    if trials is not None:
        base = base.replace(trials=trials)
    combos = list(itertools.product(*CHECK_GRID.values()))
    configs = [base.replace(g=g, pg=pg, fb=fb).network for g, pg, fb, _ in combos]
    return CheckNetworks(base, combos, configs, [s for *_, s in combos], SPMTask(base.task))


def write_json(path: str, info: dict) -> None:
    """Write ``info`` through the store (creation time and provenance stamp added, atomic)."""
    write_document(path, info)
    print(f"wrote {path}")
