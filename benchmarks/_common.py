"""Pieces shared by the benchmark scripts: the 24-network check grid and atomic JSON output."""
from __future__ import annotations

import argparse
import itertools
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone

import torch

from slowmem.config import Config, NetworkConfig
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
    """Write ``info`` with the creation time and torch version added, atomically (temp file, then rename)."""
    info = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "torch": torch.__version__, **info}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f, indent=2)
    os.replace(tmp, path)
    print(f"wrote {path}")
