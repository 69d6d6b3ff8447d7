"""Run settings (slowmem.runtime.Runtime) never change a result's identity: a complete folder stays complete.

A results folder is built once with the real analyses (at small settings), then the same grid is run again
under other run settings (threads, chunk sizes, simulation precision, engine, device spelling): nothing is
pending, nothing is recomputed, and no file of the folder is rewritten. Rows written by slowmem before 0.3,
whose recorded analysis settings still hold the chunk sizes and the simulation precision, count as complete
too (the stored book folders are such rows).
"""
import json
from pathlib import Path

import pandas as pd
import pytest

from slowmem.config import ConfigError
from slowmem.runtime import Runtime
from slowmem.store.schema import row_hash, unnumpy
from slowmem.sweep import SweepOptions, grid_from_mapping, run_sweep, sweep_status

#: The real analyses at small settings (a few seconds per network on one core).
FAST = {"memory": {"delay_max": 9.0, "summary_delay_step": 4.0, "sigmas": [1.0], "interruption_fractions": [0.5],
                   "n_repeats": 2, "variant_repeats": 1},
        "dynamics": {"probe_trials": 2, "window_trials": 1, "starts_per_centre": 2, "manifold_trials": 2,
                     "manifold_run_seeds": 1, "manifold_points": 2}}
GRID = {"preset": "ci", "N": 30, "trials": 4, "test_trials": 4, "seeds": "0-1", **FAST}

#: Every run setting changed at once, and each alone.
OTHER_RUNTIMES = [
    Runtime(progress=False, threads=1, max_chunk_elements=7, chunk_trials=3, simulation_dtype="float64",
            engine="torch", device=" cpu "),
    Runtime(progress=False, max_chunk_elements=1),
    Runtime(progress=False, chunk_trials=2),
    Runtime(progress=False, simulation_dtype="float64"),
    Runtime(progress=False, threads=2),
    Runtime(progress=False, engine="numba"),
]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """In-process sweeps of tiny networks run on one thread (see conftest)."""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A complete results folder of two tiny networks with both real analyses."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("run_settings") / "sweep"
        grid = grid_from_mapping(dict(GRID), source="test grid", name="tiny")
        s = run_sweep(grid, out, SweepOptions(backend="none", batch=2, analyze="all", runtime=Runtime(progress=False)))
    finally:
        torch.set_num_threads(before)
    assert s["trained"] == 2 and s["done"] == 2 and s["failed"] == 0
    return grid, out


def files(out: Path) -> dict[str, bytes]:
    """Every file of the folder (table, manifest, array files) by relative path."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
            and p.name != ".slowmem.lock"}


def test_the_folder_records_its_run_settings_as_provenance(folder):
    _, out = folder
    df = pd.read_parquet(out / "results.parquet")
    assert (df.analyses_done == '["dynamics", "memory"]').all()
    for cell in df.runtime_json:
        assert json.loads(cell) == Runtime(progress=False).to_dict()
    for cell in df.analysis_settings:                # a summary's identity holds no run setting
        for ident in json.loads(cell).values():
            assert not {"max_chunk_elements", "chunk_trials", "simulation_dtype", "device"} & set(ident["settings"])


@pytest.mark.parametrize("runtime", OTHER_RUNTIMES, ids=lambda r: ",".join(
    f"{k}={v}" for k, v in r.to_dict().items() if v != Runtime().to_dict()[k] and k != "progress"))
def test_other_run_settings_recompute_nothing(folder, runtime):
    grid, out = folder
    before = files(out)
    assert sweep_status(out)["complete"]
    s = run_sweep(grid, out, SweepOptions(backend="none", batch=2, analyze="all", runtime=runtime))
    assert s["ran"] == 0 and s["trained"] == 0 and s["analyzed"] == 0 and not s["recomputed"]
    assert files(out) == before                      # not a byte rewritten: table, manifest, arrays


def test_rows_that_record_old_run_settings_are_not_recomputed(folder, tmp_path):
    """Rows of slowmem before 0.3 list max_chunk_elements, chunk_trials, simulation_dtype among the settings."""
    import shutil

    grid, src = folder
    out = tmp_path / "old"
    shutil.copytree(src, out)
    table = pd.read_parquet(out / "results.parquet")
    old = {"dynamics": {"chunk_trials": 1, "max_chunk_elements": 2 ** 24, "simulation_dtype": "float32"},
           "memory": {"max_chunk_elements": 2 ** 24, "simulation_dtype": "float32"}}
    for i in range(len(table)):
        ident = json.loads(table.loc[i, "analysis_settings"])
        for name, extra in old.items():
            ident[name]["settings"].update(extra)
        table.loc[i, "analysis_settings"] = json.dumps(ident, sort_keys=True)
        table.loc[i, "row_sha256"] = row_hash({k: unnumpy(v) for k, v in table.drop(columns="row_sha256").iloc[i]
                                               .items()})
    table.to_parquet(out / "results.parquet", index=False)
    before = files(out)
    st = sweep_status(out)
    assert st["complete"] and st["analyses_pending"] == 0 and st["damaged"] == 0
    s = run_sweep(grid, out, SweepOptions(backend="none", batch=2, analyze="all", runtime=Runtime(progress=False)))
    assert s["ran"] == 0 and not s["recomputed"]
    assert files(out) == before
    # a science setting that changed still recomputes (and only the analysis it belongs to)
    changed = grid_from_mapping({**GRID, "memory": {**FAST["memory"], "n_repeats": 3}}, source="t", name="tiny")
    s = run_sweep(changed, out, SweepOptions(backend="none", batch=2, analyze="all", runtime=Runtime(progress=False)))
    assert s["analyzed"] == 2 and s["trained"] == 0


@pytest.mark.parametrize("key, value", [("device", "cuda"), ("chunk_trials", 2)])
def test_a_run_setting_in_a_grid_is_refused_with_where_it_goes(key, value):
    for mapping in ({**GRID, key: value}, {**GRID, "dynamics": {**FAST["dynamics"], key: value}}):
        with pytest.raises(ConfigError, match=f"'{key}'.* a run setting.*Runtime"):
            grid_from_mapping(mapping, source="test grid", name="tiny")
    with pytest.raises(ConfigError, match=f"SweepOptions: '{key}' is a run setting"):
        SweepOptions(**{key: value})
