"""How long sweeps take: read the training benchmark, estimate grid costs.

The benchmark (``benchmarks/throughput.py --json``) measures training
throughput in network-steps per second. One network of a preset costs
``trials x T`` network-steps (T steps per trial), so the training time of a
grid follows from the throughput of the hardware it runs on. For a GPU we
have no measurement unless one was lent to us; :func:`roofline_rate` gives
the memory-bandwidth bound instead, labelled as such.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .config import Config, ConfigError
from .task import SPMTask

__all__ = ["read_benchmark", "fastest", "network_steps", "grid_hours", "roofline_rate", "bytes_per_network_step"]

_ROW_KEYS = {"N", "engine", "B", "dtype", "threads", "procs", "cores_used", "net_steps_per_s", "ratio_vs_naive"}


def read_benchmark(path: str | Path) -> tuple[dict, pd.DataFrame]:
    """The machine info and the table (one row per measurement) of a benchmark JSON file.

    Rows from before ``shared_J`` existed (independent networks only) get ``shared_J = False``.
    """
    path = Path(path)
    try:
        info = json.loads(path.read_text())
        rows = pd.DataFrame(info["rows"])
    except FileNotFoundError:
        raise ConfigError(f"no benchmark file at {path}; make one with `make benchmark`") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path} is not a benchmark file written by benchmarks/throughput.py ({e})") from None
    missing = _ROW_KEYS - set(rows.columns)
    if missing:
        raise ConfigError(f"{path}: benchmark rows lack {sorted(missing)}")
    rows["shared_J"] = rows["shared_J"].fillna(False).astype(bool) if "shared_J" in rows else False
    return info, rows


def fastest(table: pd.DataFrame, *, cores: int | None = None, shared: bool | None = None) -> pd.DataFrame:
    """Per (N, dtype, shared_J): the fastest slowmem row.

    ``cores``: only rows using this many cores. ``shared``: only rows whose networks share
    g J (True: slices of a sweep grid, trained in lockstep) or only rows of independent
    networks (False); None keeps both kinds, each with its own fastest row.
    """
    ours = table[table.engine != "numpy"]
    if cores is not None:
        ours = ours[ours.cores_used == cores]
    if shared is not None:
        ours = ours[ours.shared_J == shared]
    best = ours.loc[ours.groupby(["N", "dtype", "shared_J"]).net_steps_per_s.idxmax()]
    cols = ["N", "dtype", "shared_J", "engine", "B", "threads", "procs", "net_steps_per_s", "ratio_vs_naive"]
    return best[cols].reset_index(drop=True)


def network_steps(cfg: Config) -> int:
    """Network-steps of training one network of ``cfg``: trials x steps per trial."""
    return cfg.training.trials * SPMTask(cfg.task).T


def grid_hours(n_networks: int, cfg: Config, rate: float) -> float:
    """Hours to train ``n_networks`` of ``cfg`` at ``rate`` network-steps/s in total."""
    if rate <= 0:
        raise ConfigError(f"rate must be > 0 network-steps/s; got {rate}")
    return n_networks * network_steps(cfg) / rate / 3600


def bytes_per_network_step(N: int, dtype: str, task: SPMTask, update_every: int = 2) -> float:
    """Memory traffic of one training step of the batched torch engine.

    Reading g J once (N^2 numbers) every step, plus on RLS update steps
    reading P for P r and reading and writing it for the rank-1 update
    (3 N^2); readout and vector terms are O(N) and left out. Update steps are
    every ``update_every``-th step inside the delay and response windows
    (modified FORCE).
    """
    size = {"float32": 4, "float64": 8}[dtype]
    windows = int(task.response_mask.sum() + task.memory_mask.sum())
    update_fraction = windows / update_every / task.T
    return N * N * size * (1 + 3 * update_fraction)


def roofline_rate(N: int, dtype: str, bandwidth_gb_s: float, task: SPMTask | None = None) -> float:
    """Network-steps/s at which a device with this memory bandwidth would be saturated."""
    task = SPMTask() if task is None else task
    return bandwidth_gb_s * 1e9 / bytes_per_network_step(N, dtype, task)
