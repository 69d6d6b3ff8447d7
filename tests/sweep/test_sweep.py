"""Sweeps: grids, the results store, resuming, damage detection, Dask execution, the CLI."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import slowmem.analysis
import slowmem.training.loop
from slowmem.cli import main
from slowmem.config import Config, ConfigError, network_id
from slowmem.runtime import Runtime
from slowmem.store import (
    TIMING_COLUMNS,
    ResultsFolder,
    load_networks,
    load_results,
    read_manifest,
    read_table,
    sha256_file,
)
from slowmem.store.schema import row_hash, unnumpy
from slowmem.sweep import (
    SweepOptions,
    default_batch,
    load_grid_file,
    make_jobqueue_cluster,
    plan_units,
    preset_grid,
    resolve_grid,
    run_sweep,
    sweep_status,
)

TINY = {"preset": "ci", "N": 30, "trials": 4, "test_trials": 4}


def write_grid(tmp_path: Path, name: str = "tiny", **keys) -> Path:
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps({**TINY, **keys}))
    return p


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """The results without what legitimately differs between runs (timings, host, reasons' notes)."""
    drop = [c for c in TIMING_COLUMNS if c in df.columns] + ["analysis_seconds", "row_sha256"]
    return df.drop(columns=drop, errors="ignore").sort_values("network_id").reset_index(drop=True)


def quiet(**kw) -> SweepOptions:
    return SweepOptions(backend="none", runtime=Runtime(progress=False), **kw)


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """In-process sweeps of tiny networks run on one thread (see conftest)."""


@pytest.fixture
def no_analyses(monkeypatch):
    """An empty analysis registry, whatever other modules have registered meanwhile."""
    monkeypatch.setattr(slowmem.analysis, "ANALYSES", {})


# --------------------------------------------------------------------------- grids
def test_preset_grids_match_the_paper_and_the_book():
    paper = preset_grid("paper").networks()
    assert len(paper) == 7 * 4 * 6 * 4 == 672
    assert {s.config.network.N for s in paper} == {1000}
    assert {s.config.training.trials for s in paper} == {3500}
    assert {s.config.network.in_scale for s in paper} == {50.0}
    assert {s.seed for s in paper} == {0, 1, 2, 3}
    assert sorted({s.config.network.g for s in paper}) == [0.8, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5]
    assert sorted({s.config.network.pg for s in paper}) == [0.4, 0.6, 0.7, 0.9]
    assert sorted({s.config.network.fb for s in paper}) == [1, 5, 10, 20, 30, 40]
    assert len({s.network_id for s in paper}) == 672
    book_cfg = Config.from_preset("book")
    book = preset_grid("book").networks()
    assert len(book) == 168 and {s.seed for s in book} == {0}
    assert {s.config.network.N for s in book} == {book_cfg.network.N}
    assert {s.config.training.trials for s in book} == {book_cfg.training.trials}
    assert len(preset_grid("ci").networks()) == 4
    original = resolve_grid("paper", rule="original").networks()
    assert {s.config.training.rule for s in original} == {"original"}
    assert {s.network_id for s in original}.isdisjoint({s.network_id for s in paper})
    # the same network has the same id whatever grid it comes from
    one = resolve_grid("book", sets=["g=1.2", "pg=0.4", "fb=10"]).networks()
    assert len(one) == 1 and one[0].network_id in {s.network_id for s in book}
    assert one[0].network_id == network_id(Config.from_preset("book", g=1.2, pg=0.4, fb=10, in_scale=50))


def test_units_batch_networks_that_share_n_and_training(tmp_path):
    grid = load_grid_file(write_grid(tmp_path, N=[30, 40], g=[1.2, 1.5], seeds="0-2"))
    units = plan_units(grid.networks(), 4)
    assert sum(len(u) for u in units) == 12
    for u in units:
        assert len(u) <= 4
        assert len({s.config.network.N for s in u}) == 1
    assert [len(u) for u in units] == [4, 2, 4, 2]
    # default batch: 6 on CPU, fewer when a small grid would leave local workers idle
    assert default_batch(SweepOptions(backend="local", workers=2), 4) == 2
    assert default_batch(SweepOptions(backend="local", workers=2), 168) == 6
    assert default_batch(SweepOptions(backend="none"), 4) == 4
    assert default_batch(SweepOptions(backend="slurm"), 2) == 6
    with pytest.raises(ConfigError, match="batch must be >= 1"):
        plan_units(grid.networks(), 0)


def test_units_keep_networks_that_share_gJ_together():
    """In the paper's grid the six fb values of one (g, pg, seed) share g J: one unit, or even pieces."""
    specs = preset_grid("paper").networks()
    key = lambda s: (s.config.network.g, s.config.network.pg, s.seed)   # noqa: E731
    for batch, sizes in ((6, {6}), (4, {3}), (12, {12})):
        units = plan_units(specs, batch)
        assert sorted(s.network_id for u in units for s in u) == sorted(s.network_id for s in specs)
        assert {len(u) for u in units} == sizes
        if batch <= 6:
            assert all(len({key(s) for s in u}) == 1 for u in units)
    # and the engine finds the shared matrix in such a unit
    from slowmem.network import RateNetworks
    from slowmem.training.numba_engine import share_groups

    unit = plan_units(preset_grid("ci").override({"fb": [10, 5, 1]}).networks(), 6)[0]
    assert [key(s) for s in unit] == [(1.2, 0.4, 0)] * 3 + [(1.2, 0.4, 2)] * 3      # two pieces of 3 packed
    net = RateNetworks.create([s.config.network for s in unit], [s.seed for s in unit])
    groups = share_groups(net.recurrent().transpose(1, 2).contiguous().numpy())
    assert [g.tolist() for g in groups] == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("content, words", [
    ({"gg": [1.2]}, ["unknown key 'gg'", "allowed keys", "pg"]),
    ({"g": [1.2, 11]}, ["g must be a number in [0, 10]", "got 11"]),
    ({"pg": 0}, ["pg must be a number in (0, 1]"]),
    ({"rule": ["modified", "hebb"]}, ["rule must be one of"]),
    ({"g": []}, ["g is an empty list"]),
    ({"g": [1.2, 1.2]}, ["g lists a value twice"]),
    ({"seeds": "3-1"}, ["seeds must be"]),
    ({"seed": 3}, ["'seed'", "seeds"]),
    ({"device": "cuda"}, ["'device'", "run setting", "--device"]),
    ({"memory": {"simulation_dtype": "float64"}}, ["'simulation_dtype' is a run setting", "--simulation-dtype"]),
    ({"preset": "huge"}, ["preset must be one of"]),
    ({"timing": {"delay3": 5}}, ["unknown period", "delay3"]),
])
def test_bad_grid_files_fail_before_any_work(tmp_path, capsys, content, words):
    f = write_grid(tmp_path, **content)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        main(["sweep", "run", "--grid", str(f), "--out", str(out), "--backend", "none", "--no-progress"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, (w, err)
    assert str(f) in err          # the message says which file
    assert not out.exists()


def test_bad_grid_syntax_and_flags(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("g: [1.2, 1.4\nN: 30\n")
    with pytest.raises(ConfigError, match="bad.yaml is not valid YAML"):
        load_grid_file(bad)
    with pytest.raises(ConfigError, match="must end in .yaml, .yml or .json"):
        load_grid_file(tmp_path / "grid.txt")
    with pytest.raises(ConfigError, match="unknown key 'gain'"):
        resolve_grid("ci", sets=["gain=1,2"])
    good = write_grid(tmp_path)
    for flags, word in [(["--batch", "0"], "batch must be an integer"),
                        (["--workers", "x"], "workers must be"),
                        (["--backend", "slurm", "--walltime", "3h"], "walltime must be HH:MM:SS"),
                        (["--backend", "pbs", "--memory", "lots"], "memory must be a size"),
                        (["--grid", "huge"], "--grid must be one of"),
                        (["--device", "gpu"], "device must be"),
                        (["--redo-analyses", "nonesuch"], "unknown analysis")]:
        argv = ["sweep", "run", "--grid", str(good), "--out", str(tmp_path / "o"), "--no-progress", *flags]
        with pytest.raises(SystemExit):
            main(argv)
        assert word in capsys.readouterr().err
        assert not (tmp_path / "o").exists()


def test_grid_file_yaml_lists_and_fixed_values(tmp_path):
    f = tmp_path / "g.yaml"
    f.write_text("preset: ci\nseeds: 0-1\nN: 30\ntrials: 4\ng: [1.2, 1.5]\nencoding: [1.0, 0.5, 1.5]\n"
                 "digits: [[0, 1], [3, 8]]\n")
    grid = load_grid_file(f)
    assert grid.name == "g" and grid.size == 8
    specs = grid.networks()
    assert {s.config.task.digits for s in specs} == {(0, 1), (3, 8)}
    assert {s.config.task.encoding for s in specs} == {(1.0, 0.5, 1.5)}


# --------------------------------------------------------------------------- store and resume
def test_damaged_arrays_and_mismatched_hashes_are_recomputed(tmp_path, no_analyses):
    grid = load_grid_file(write_grid(tmp_path, g=[1.2, 1.5], seeds="0-1"))
    out = tmp_path / "sweep"
    s = run_sweep(grid, out, quiet(batch=2))
    assert s["trained"] == 4 and s["done"] + s["diverged"] == 4 and s["remaining"] == 0
    before = load_results(out)
    assert len(before) == 4 and before.network_id.is_unique
    for _, r in before.iterrows():       # the recorded hashes are the files' hashes
        assert sha256_file(out / r.array_file) == r.array_sha256

    a, b = before.network_id[0], before.network_id[1]
    path_a = out / before.array_file[0]
    data = path_a.read_bytes()
    path_a.write_bytes(data[: len(data) // 2])                      # truncated array file
    table = pd.read_parquet(out / "results.parquet")
    table.loc[table.network_id == b, "array_sha256"] = "0" * 64    # row does not match its file
    table.to_parquet(out / "results.parquet", index=False)
    st = sweep_status(out)
    assert st["damaged"] == 2 and st["remaining"] == 2

    s2 = run_sweep(grid, out, quiet(batch=2))
    assert set(s2["recomputed"]) == {a, b} and s2["trained"] == 2
    assert "SHA-256" in s2["recomputed"][a] and "row_sha256" in s2["recomputed"][b]    # edited row: not trusted
    after = load_results(out)
    pd.testing.assert_frame_equal(comparable(after), comparable(before))
    assert run_sweep(grid, out, quiet(batch=2))["ran"] == 0

    # a table that cannot be read is moved aside (kept) and everything recomputed
    (out / "results.parquet").write_bytes(b"PAR1 not really")
    s3 = run_sweep(grid, out, quiet(batch=2))
    assert s3["trained"] == 4
    assert len(list(out.glob("results.parquet.damaged-*"))) == 1
    pd.testing.assert_frame_equal(comparable(load_results(out)), comparable(before))


def test_diverging_network_is_stored_as_failed_and_the_others_complete(tmp_path, no_analyses, capsys):
    f = write_grid(tmp_path, alpha=[1.0, 1e-320], seeds="0-1")
    out = tmp_path / "sweep"
    assert main(["sweep", "run", "--grid", str(f), "--out", str(out), "--backend", "none", "--batch", "4",
                 "--no-progress"]) == 0
    df = load_results(out)
    assert len(df) == 4
    bad = df[df.alpha < 1e-300]
    good = df[df.alpha == 1.0]
    assert (bad.status == "diverged").all() and bad.diverged.all() and (~bad.success).all()
    assert bad.reason.str.contains("diverged").all()
    assert (good.status == "done").all() and (~good.diverged).all()
    assert np.isfinite(good.test_accuracy).all() and np.isfinite(good.train_response_rmse_last100).all()
    capsys.readouterr()
    assert main(["sweep", "status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "diverged   2" in text and "done       2" in text and "remaining  0" in text
    # diverged networks are final: a re-run does nothing
    assert run_sweep(load_grid_file(f), out, quiet(batch=4))["ran"] == 0


def test_folder_checks_and_lock(tmp_path, no_analyses):
    grid = load_grid_file(write_grid(tmp_path))
    other = load_grid_file(write_grid(tmp_path, name="other", g=1.4))
    out = tmp_path / "sweep"
    run_sweep(grid, out, quiet())
    with pytest.raises(ConfigError, match="holds results of a different grid"):
        run_sweep(other, out, quiet())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError, match="not a slowmem results folder"):
        run_sweep(grid, tmp_path / "mine", quiet())
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    # a second writer on the same folder is refused while the first holds it
    table = (out / "results.parquet").read_bytes()
    (out / "results.parquet").unlink()
    with ResultsFolder(out).lock():
        with pytest.raises(ConfigError, match="another slowmem process is writing"):
            run_sweep(grid, out, quiet())
    assert not (out / "results.parquet").exists()
    (out / "results.parquet").write_bytes(table)
    m = read_manifest(out)
    assert m["grid"]["name"] == "tiny" and len(m["network_ids"]) == 1 and m["slowmem_version"]


# --------------------------------------------------------------------------- analyses, stage by stage
def probe_summary(networks, task, trial_end_states, *, cfg=None, progress=False, runtime=None):
    """A stand-in analysis: reads what the pipeline hands over."""
    assert trial_end_states.shape == (networks.B, 4, networks.N)
    return [{"mean_abs_wo": float(networks.wo[b].abs().mean()),
             "end_norm": float(trial_end_states[b].norm()),
             "nested": {"seed": int(networks.seeds[b])}, "curve": [1.0, 2.0]} for b in range(networks.B)]


def broken_summary(networks, task, trial_end_states, *, cfg=None, progress=False, runtime=None):
    raise RuntimeError("probe exploded")


def test_analyses_are_added_later_without_retraining(tmp_path, monkeypatch):
    here = __name__
    monkeypatch.setattr(slowmem.analysis, "ANALYSES", {})
    grid = load_grid_file(write_grid(tmp_path, g=[1.2, 1.5], seeds="0-1"))
    out = tmp_path / "sweep"
    run_sweep(grid, out, quiet(batch=4, analyze="all"))
    first = load_results(out)
    assert (first.analyses_done == "[]").all()

    def no_training(*a, **k):
        raise AssertionError("retrained a stored network")

    monkeypatch.setattr(slowmem.training.loop, "train", no_training)
    monkeypatch.setattr(slowmem.analysis, "ANALYSES", {"probe": f"{here}:probe_summary",
                                                       "broken": f"{here}:broken_summary"})
    # default: analyses only for networks that perform the task -> none of these tiny ones
    assert run_sweep(grid, out, quiet(batch=4))["ran"] == 0
    s = run_sweep(grid, out, quiet(batch=4, analyze="all"))
    assert s["analyzed"] == 4 and s["trained"] == 0
    df = load_results(out)
    assert (df.status == "failed").all() and df.reason.str.contains("probe exploded").all()
    assert (df.analyses_done == '["probe"]').all()
    nets, ends, _ = load_networks(out, list(df.network_id))
    assert np.allclose(df["probe.mean_abs_wo"], nets.wo.abs().mean((1, 2)).numpy())
    assert np.allclose(df["probe.end_norm"], ends.flatten(1).norm(dim=1).numpy())
    assert list(df["probe.nested.seed"]) == list(df.seed)
    assert json.loads(df.analysis_probe[0])["curve"] == [1.0, 2.0]
    assert pd.testing.assert_frame_equal(comparable(df)[["test_accuracy"]], comparable(first)[["test_accuracy"]]) \
        is None
    # the analysis is fixed: the next run retries only it
    monkeypatch.setattr(slowmem.analysis, "ANALYSES", {"probe": f"{here}:probe_summary",
                                                       "broken": f"{here}:probe_summary"})
    s = run_sweep(grid, out, quiet(batch=4, analyze="all"))
    assert s["analyzed"] == 4 and s["trained"] == 0
    df = load_results(out)
    assert (df.status == "done").all() and (df.analyses_done == '["broken", "probe"]').all()
    assert run_sweep(grid, out, quiet(batch=4, analyze="all"))["ran"] == 0

    # stored fixed-weights hash that the regenerated weights do not match -> that network is retrained
    monkeypatch.undo()
    monkeypatch.setattr(slowmem.analysis, "ANALYSES", {"probe": f"{here}:probe_summary"})
    table = pd.read_parquet(out / "results.parquet")
    victim = table.network_id[2]
    right = table.fixed_weights_hash[2]
    table.loc[2, "fixed_weights_hash"] = "f" * 64
    row = {k: unnumpy(v) for k, v in table.drop(columns="row_sha256").iloc[2].items()}
    table.loc[2, "row_sha256"] = row_hash(row)          # a consistent row whose network no longer verifies
    table.to_parquet(out / "results.parquet", index=False)
    s = run_sweep(grid, out, quiet(batch=4, analyze="all", redo_analyses=("probe",)))
    assert s["trained"] == 1 and s["analyzed"] == 3
    df = load_results(out).set_index("network_id")
    assert df.loc[victim, "fixed_weights_hash"] == right and "retrained" in df.loc[victim, "reason"]
    assert np.allclose(df.loc[victim, "test_accuracy"], first.set_index("network_id").loc[victim, "test_accuracy"])


# --------------------------------------------------------------------------- Dask
@pytest.mark.slow                       # a Dask cluster: make test-all
def test_local_cluster_sweep_then_rerun_does_nothing(tmp_path, capsys, no_analyses):
    f = write_grid(tmp_path, g=[1.2, 1.5], pg=[0.4, 0.9], seeds="0-1")
    out = tmp_path / "sweep"
    cmd = ["sweep", "run", "--grid", str(f), "--out", str(out), "--workers", "2", "--batch", "2",
           "--no-progress", "--json"]
    assert main(cmd) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["total"] == 8 and s["trained"] == 8 and s["remaining"] == 0 and s["units"] == 4
    df = load_results(out)
    assert len(df) == 8 and df.network_id.is_unique and set(df.status) <= {"done", "diverged"}
    assert set(df.batch_size) == {2} and df.worker.nunique() >= 1
    m = read_manifest(out)
    assert m["runs"][-1]["command"].startswith("slowmem sweep run --grid") and m["runs"][-1]["outcome"] == "finished"
    mtime = (out / "results.parquet").stat().st_mtime_ns
    assert main(cmd) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ran"] == 0 and "nothing to do" in captured.err
    assert (out / "results.parquet").stat().st_mtime_ns == mtime
    # the backend does not change the results
    run_sweep(load_grid_file(f), tmp_path / "inproc", quiet(batch=2))
    pd.testing.assert_frame_equal(comparable(load_results(tmp_path / "inproc")), comparable(df))


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow                       # a Dask cluster: make test-all
def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path, no_analyses):
    f = write_grid(tmp_path, trials=2000, g=[1.2, 1.5], pg=[0.4, 0.9], seeds="0-2")   # 12 units of ~0.4 s
    grid = load_grid_file(f)
    ref = tmp_path / "reference"
    run_sweep(grid, ref, quiet(batch=1))
    reference = load_results(ref)
    assert len(reference) == 12

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "slowmem.cli", "sweep", "run", "--grid", str(f), "--out", str(out),
           "--workers", "2", "--batch", "1", "--no-progress"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    target, delay = rng.randint(1, 8), rng.uniform(0.0, 0.3)    # kill after `target` rows + `delay` s
    with open(tmp_path / "killed.log", "wb") as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        deadline = time.time() + 120
        n_before = 0
        while time.time() < deadline and p.poll() is None:
            if (out / "results.parquet").exists():
                n_before = len(read_table(out / "results.parquet"))    # while the sweep replaces it
                if n_before >= target:
                    break
            time.sleep(0.01)
        assert n_before >= 1, (tmp_path / "killed.log").read_text()
        time.sleep(delay)
        os.killpg(p.pid, signal.SIGKILL)         # the whole process group: client, scheduler, workers
        p.wait()
        for _ in range(200):
            if not _group_alive(p.pid):
                break
            time.sleep(0.05)
        assert not _group_alive(p.pid)
    stored = pd.read_parquet(out / "results.parquet")
    note = f"random seed {seed}: killed {delay:.2f} s after {target} rows, with {len(stored)} of 12 stored"
    assert 1 <= len(stored) < 12, note

    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    print(f"{note}; restart took {time.time() - t0:.1f} s")
    assert r.returncode == 0, r.stderr
    assert f"{len(stored)} complete" in r.stderr
    final = load_results(out)
    assert len(final) == 12 and final.network_id.is_unique
    pd.testing.assert_frame_equal(comparable(final), comparable(reference))
    assert not list(out.glob(".*.tmp")) and not list((out / "arrays").glob(".*.tmp"))
    m = read_manifest(out)
    # the killed run never recorded an end; the restart did
    assert len(m["runs"]) == 2 and m["runs"][0]["finished"] is None and m["runs"][1]["outcome"] == "finished"


# --------------------------------------------------------------------------- job queues
def test_slurm_and_pbs_job_scripts():
    cluster = make_jobqueue_cluster("slurm", queue="short", cores=4, memory="8GB", walltime="01:30:00",
                                    account="lab42", job_extra=["--gres=gpu:1"])
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for piece in ["#SBATCH -p short", "#SBATCH -A lab42", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=",
                  "#SBATCH -t 01:30:00", "#SBATCH --gres=gpu:1", "export OMP_NUM_THREADS=1",
                  "--nworkers 4", "--nthreads 1"]:
        assert piece in script, (piece, script)
    cluster = make_jobqueue_cluster("pbs", queue="batch", cores=2, memory="4GB", walltime="00:20:00")
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for piece in ["#PBS -q batch", "ncpus=2", "mem=", "walltime=00:20:00", "--nworkers 2", "--nthreads 1"]:
        assert piece in script, (piece, script)
    with pytest.raises(ConfigError, match="'slurm' or 'pbs'"):
        make_jobqueue_cluster("lsf")


def test_sweep_help_documents_the_commands():
    r = subprocess.run([sys.executable, "-m", "slowmem.cli", "sweep", "run", "--help"], capture_output=True,
                       text=True)
    assert r.returncode == 0
    for word in ["--grid", "--backend", "--workers", "--device", "--batch", "--rule", "paper", "book", "ci",
                 "--scheduler", "--walltime", "load_results"]:
        assert word in r.stdout
    r = subprocess.run([sys.executable, "-m", "slowmem.cli", "sweep", "status", "--help"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "remaining" in r.stdout


@pytest.mark.slow                       # a Dask cluster: make test-all
def test_local_workers_are_pinned_one_per_core():
    import logging
    import os

    from distributed import Client, LocalCluster

    from slowmem.sweep import pin_workers

    cores = sorted(os.sched_getaffinity(0))
    n = min(2, len(cores))
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        placed = pin_workers(client)
        seen = client.run(lambda: sorted(os.sched_getaffinity(0)))
    assert len(placed) == n and sorted(placed.values()) == cores[:n]
    assert sorted(map(tuple, seen.values())) == [(c,) for c in cores[:n]]
