"""Hyperparameter sweeps: grids, work-unit planning, the per-network pipeline, execution on Dask.

    grid.py      Grid, the named grids (paper, book, ci), grid files (YAML/JSON), --set overrides
    plan.py      work units (networks that train together) and what each network still needs
    pipeline.py  run_unit: train, evaluate and analyse one unit (runs on a worker)
    execute.py   SweepOptions and where units run: this process, LocalCluster, SLURM/PBS, a scheduler
    run.py       run_sweep (resumable, into a results folder) and sweep_status

    slowmem sweep run --grid book --out runs/book             # every core of this machine
    slowmem sweep run --grid paper --out runs/paper --backend slurm --queue normal --cores 16 --jobs 8
    slowmem sweep status runs/book
"""
from .execute import (
           BACKENDS,
           DEFAULT_BATCH,
           JOB_DEFAULTS,
           SweepOptions,
           default_batch,
           make_jobqueue_cluster,
           pin_workers,
)
from .grid import GRIDS, MAX_NETWORKS, Grid, NetworkSpec, grid_from_mapping, load_grid_file, preset_grid, resolve_grid
from .pipeline import run_unit
from .plan import ANALYZE_CHOICES, grid_hash, plan_units
from .run import run_sweep, sweep_status

__all__ = ["BACKENDS", "DEFAULT_BATCH", "JOB_DEFAULTS", "SweepOptions", "default_batch", "make_jobqueue_cluster",
           "pin_workers", "GRIDS", "MAX_NETWORKS", "Grid", "NetworkSpec", "grid_from_mapping", "load_grid_file",
           "preset_grid", "resolve_grid", "run_unit", "ANALYZE_CHOICES", "grid_hash", "plan_units", "run_sweep",
           "sweep_status"]
