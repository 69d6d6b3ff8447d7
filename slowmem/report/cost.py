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

from ..config import Config, ConfigError
from ..errors import StoredFileError
from ..store import read_document
from ..task import SPMTask

__all__ = ["read_benchmark", "fastest", "network_steps", "grid_hours", "roofline_rate", "bytes_per_network_step",
           "grid_cost_table", "sweep_rate", "stored_compute"]

_ROW_KEYS = {"N", "engine", "B", "dtype", "threads", "procs", "cores_used", "net_steps_per_s", "ratio_vs_naive"}


def read_benchmark(path: str | Path) -> tuple[dict, pd.DataFrame]:
    """The machine info and the table (one row per measurement) of a benchmark JSON file.

    Rows from before ``shared_J`` existed (independent networks only) get ``shared_J = False``.
    """
    path = Path(path)
    try:
        info = read_document(path, required=("rows",), what="benchmark file (make one with `make benchmark`)")
    except StoredFileError as e:
        raise StoredFileError(f"{e}; benchmarks/throughput.py writes it") from None
    try:
        rows = pd.DataFrame(info["rows"])
    except (ValueError, TypeError) as e:
        raise StoredFileError(f"{path} is not a benchmark file written by benchmarks/throughput.py ({e})") from None
    missing = _ROW_KEYS - set(rows.columns)
    if missing:
        raise StoredFileError(f"{path}: benchmark rows lack {sorted(missing)}")
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


def grid_cost_table(table: pd.DataFrame, info: dict, *, n_networks: int = 672, cluster_cores: int = 128,
                    gpu_bandwidth_gb_s: float = 3350.0, N: int = 1000) -> pd.DataFrame:
    """Hours to train the paper's grid (``n_networks`` at the ``paper`` preset, N = ``N``) in three places.

    Rows per dtype: this machine (its fastest measured configuration on all
    its cores), ``cluster_cores`` cores (one core's measured rate times the
    core count: an upper bound, see the appendix), one GPU (the memory-bandwidth
    bound :func:`roofline_rate`, an estimate, not a measurement).
    """
    paper = Config.from_preset("paper", N=N)
    best = fastest(table, cores=info["cpus"])
    per_core = table[(table.cores_used == 1) & (table.N == N)]
    lines = []
    for dtype in ("float64", "float32"):
        here = best[(best.N == N) & (best.dtype == dtype)].net_steps_per_s.max()
        rates = {f"this machine ({info['cpus']} cores)": here,
                 f"{cluster_cores} cores": per_core[per_core.dtype == dtype].net_steps_per_s.max() * cluster_cores,
                 "one GPU, bandwidth bound (estimate)": roofline_rate(N, dtype, gpu_bandwidth_gb_s)}
        for where, rate in rates.items():
            lines.append({"dtype": dtype, "where": where, "network_steps_per_s": round(float(rate)),
                          f"hours_for_{n_networks}_networks": round(grid_hours(n_networks, paper, float(rate)), 1)})
    return pd.DataFrame(lines)


def sweep_rate(table: pd.DataFrame, info: dict, preset: str = "book", **overrides) -> dict:
    """Seconds per network alone on one core, and networks per hour of a CPU sweep (shared g J), at ``preset``."""
    cfg = Config.from_preset(preset, **overrides)
    best = fastest(table, cores=info["cpus"])
    N = cfg.network.N
    shared = best[(best.N == N) & (best.dtype == "float64") & best.shared_J].net_steps_per_s.max()
    core = table[(table.cores_used == 1) & (table.N == N) & (table.dtype == "float64")]
    one = core[~core.shared_J].net_steps_per_s.max()
    steps = network_steps(cfg)
    return {"seconds_one_network_one_core": steps / one, "networks_per_hour_sweep": 3600 * shared / steps}


def stored_compute(table: pd.DataFrame) -> dict:
    """What a stored population cost, from the timings every network row carries.

    ``train_seconds`` is its work unit's training time (the same on every row of a unit of ``batch_size``
    networks), ``analysis_seconds`` a JSON object of seconds per analysis. Returns ``networks``, ``succeed``,
    ``batch`` (median unit size), ``train_seconds_median`` (per unit), ``train_hours`` (worker time),
    ``analysis_seconds_median`` (per network that performs the task) and ``analysis_hours``.
    """
    ok = table[table["success"].astype(bool)]
    analyses = ok["analysis_seconds"].map(lambda s: sum(json.loads(s or "{}").values()))
    batch = int(table["batch_size"].median())
    return {"networks": len(table), "succeed": len(ok), "batch": batch,
            "train_seconds_median": float(table["train_seconds"].median()),
            "train_hours": float(table["train_seconds"].sum() / batch / 3600),
            "analysis_seconds_median": float(analyses.median()), "analysis_hours": float(analyses.sum() / 3600)}
