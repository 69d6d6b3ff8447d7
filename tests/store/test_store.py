"""The one results-folder format: one reader for train --out and sweeps, verification of everything read,
settings that never mix, same bytes for the same seed (issues 12 and 18)."""
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import slowmem
import slowmem.analysis
from slowmem.cli import main
from slowmem.config import Config, ConfigError, NetworkConfig
from slowmem.errors import StoredFileError
from slowmem.network import RateNetworks
from slowmem.runtime import Runtime
from slowmem.store import ResultsFolder, load_networks, load_results, read_manifest
from slowmem.store.files import safetensors_metadata
from slowmem.store.networks import read_networks, save_networks
from slowmem.store.provenance import provenance
from slowmem.store.schema import row_hash, unnumpy
from slowmem.sweep import SweepOptions, grid_from_mapping, run_sweep, sweep_status

TINY = {"preset": "ci", "N": 30, "trials": 6, "test_trials": 4}
FAST = ["--preset", "ci", "--N", "30", "--trials", "6", "--test-trials", "4", "--no-progress"]


def quiet(**kw) -> SweepOptions:
    return SweepOptions(backend="none", runtime=Runtime(progress=False), **kw)


def grid(**keys):
    return grid_from_mapping({**TINY, **keys}, source="test grid", name="tiny")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """In-process sweeps of tiny networks run on one thread (see conftest)."""


def edit_table(out: Path, fn, rehash: bool = False) -> None:
    """Change the stored table with ``fn(DataFrame)``, as a user with pandas would (optionally re-hashing rows)."""
    t = pd.read_parquet(out / "results.parquet")
    t = fn(t)
    if rehash:
        t["row_sha256"] = [row_hash({k: unnumpy(v) for k, v in r.items()})
                           for r in t.drop(columns="row_sha256").to_dict("records")]
    t.to_parquet(out / "results.parquet", index=False)


# --------------------------------------------------------------------------- one format, one reader
def test_train_out_and_sweep_write_the_same_format_read_by_the_same_reader(tmp_path, capsys):
    a, b = tmp_path / "train", tmp_path / "sweep"
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(a)]) == 0
    run_sweep(grid(seeds="0-1"), b, quiet(analyze="none"))
    ta, tb = load_results(a), load_results(b)
    assert read_manifest(a)["kind"] == read_manifest(b)["kind"] == "slowmem-results"
    assert list(ta.network_id) == list(tb.network_id)          # the same networks, the same ids
    assert set(ta.columns) == set(tb.columns)
    # the same networks give the same array files, byte for byte, whichever command made them
    for nid in ta.network_id:
        assert (a / "arrays" / f"{nid}.safetensors").read_bytes() == (b / "arrays" / f"{nid}.safetensors").read_bytes()
    na, ea, _ = load_networks(a, list(ta.network_id))
    nb, eb, _ = load_networks(b, list(tb.network_id))
    assert torch.equal(na.wo, nb.wo) and torch.equal(ea, eb)


def test_same_seed_same_bytes_whatever_the_batch(tmp_path):
    """Issue 18.1 and 18.4: each network's record and curve are its own; identical runs give identical bytes."""
    g = grid(fb=[10, 20], seeds=0)                            # two networks that share the seed
    run_sweep(g, tmp_path / "b2", quiet(batch=2, analyze="none"))
    run_sweep(g, tmp_path / "b1", quiet(batch=1, analyze="none"))
    run_sweep(g, tmp_path / "b2again", quiet(batch=2, analyze="none"))
    t2, t1 = load_results(tmp_path / "b2"), load_results(tmp_path / "b1")
    for nid in t2.network_id:
        blobs = [(tmp_path / d / "arrays" / f"{nid}.safetensors").read_bytes() for d in ("b2", "b1", "b2again")]
        assert blobs[0] == blobs[1] == blobs[2]
        arrays = ResultsFolder(tmp_path / "b2").read_arrays(t2.set_index("network_id").loc[nid].to_dict() |
                                                             {"network_id": nid})
        assert arrays["train_response_rmse"].shape == (6,)      # one network's curve, not two
    assert t2.train_response_rmse_last100.nunique() == 2       # the two networks differ
    pd.testing.assert_series_equal(t2.set_index("network_id").train_response_rmse_last100,
                                   t1.set_index("network_id").train_response_rmse_last100)


@pytest.mark.parametrize("engine", ["torch", "numba"])
def test_engines_are_batch_independent(engine):
    from slowmem.training import train_from_config

    cfg = Config.from_preset("ci", N=120, trials=4)
    _, alone = train_from_config(cfg, [2], progress=False, runtime=Runtime(engine=engine))
    _, batch = train_from_config(cfg, [0, 1, 2, 3], progress=False, runtime=Runtime(engine=engine))
    assert torch.equal(alone.networks.wo[0], batch.networks.wo[2])
    assert torch.equal(alone.final_state[0], batch.final_state[2])


def test_network_file_bytes_are_deterministic(tmp_path):
    nets = RateNetworks.create(Config.from_preset("ci", N=20).network, [0, 1])
    save_networks(nets, tmp_path / "a.safetensors", extra_meta={"b": 1, "a": 2, "c": [3]})
    save_networks(nets, tmp_path / "b.safetensors", extra_meta={"c": [3], "a": 2, "b": 1})
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    assert read_networks(tmp_path / "a.safetensors").same_weights(nets)


def test_network_file_roundtrip_provenance_and_damage(tmp_path):
    net = RateNetworks.create(NetworkConfig(N=25, g=1.1), [5, 6], dtype="float32")
    net.wo.normal_()
    p = save_networks(net, tmp_path / "n.safetensors")
    back = read_networks(p)
    assert back.same_weights(net) and back.dtype == torch.float32
    assert read_networks(p, dtype="float64").dtype == torch.float64
    stamp = json.loads(safetensors_metadata(p.read_bytes())["slowmem"])["provenance"]
    assert stamp == provenance() and stamp["slowmem"] == slowmem.__version__ and stamp["libraries"]["torch"]
    data = p.read_bytes()
    (tmp_path / "bad.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(StoredFileError, match="damaged"):
        read_networks(tmp_path / "bad.safetensors")
    with pytest.raises(StoredFileError, match="no network file"):
        read_networks(tmp_path / "missing.safetensors")


def test_provenance_names_the_checkout_commit():
    stamp = provenance()
    assert set(stamp) == {"slowmem", "commit", "python", "libraries"}
    if (Path(slowmem.__file__).resolve().parents[1] / ".git").exists():
        assert stamp["commit"] is not None and len(stamp["commit"].split("+")[0]) == 40


# --------------------------------------------------------------------------- analysis settings never mix
def probe(networks, task, trial_end_states, *, cfg=None, progress=False, runtime=None):
    """A cheap stand-in analysis whose summary records the setting it ran with."""
    return [{"n_repeats": cfg.n_repeats, "wo": float(networks.wo[b].abs().sum())} for b in range(networks.B)]


_CALLS = {"n": 0}


def dies_after_one_unit(*a, **k):
    """:func:`probe`, then a KeyboardInterrupt (a user's ^C) from the second work unit on."""
    _CALLS["n"] += 1
    if _CALLS["n"] > 1:
        raise KeyboardInterrupt
    return probe(*a, **k)


def test_resumed_sweep_after_a_settings_change_recomputes_never_mixes(tmp_path, monkeypatch):
    monkeypatch.setattr(slowmem.analysis, "ANALYSES", {"memory": f"{__name__}:probe"})
    out = tmp_path / "sweep"
    run_sweep(grid(seeds="0-3"), out, quiet(analyze="all", batch=2))
    first = load_results(out)
    assert (first["memory.n_repeats"] == 10).all()
    # the same grid with another memory setting: same networks (same folder), summaries recomputed
    s = run_sweep(grid(seeds="0-3", memory={"n_repeats": 3}), out, quiet(analyze="all", batch=2))
    assert s["trained"] == 0 and s["analyzed"] == 4
    after = load_results(out)
    assert (after["memory.n_repeats"] == 3).all()
    settings = [json.loads(v)["memory"]["settings"]["n_repeats"] for v in after.analysis_settings]
    assert settings == [3, 3, 3, 3]
    # killed half-way through a settings change: what is stored is old-and-labelled-old or new, never mixed
    _CALLS["n"] = 0
    monkeypatch.setattr(slowmem.analysis, "ANALYSES", {"memory": f"{__name__}:dies_after_one_unit"})
    with pytest.raises(KeyboardInterrupt):
        run_sweep(grid(seeds="0-3", memory={"n_repeats": 5}), out, quiet(analyze="all", batch=2))
    mixed = load_results(out)
    for v, rec in zip(mixed["memory.n_repeats"], mixed.analysis_settings):
        assert json.loads(rec)["memory"]["settings"]["n_repeats"] == v
    assert sweep_status(out)["analyses_pending"] == 0     # status judges against the folder's own grid


# --------------------------------------------------------------------------- nothing on disk is trusted unverified
def test_flipped_byte_edited_row_and_deleted_arrays_are_refused_then_recomputed(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(out)]) == 0
    table = load_results(out)
    nid = table.network_id[0]
    f = out / "arrays" / f"{nid}.safetensors"
    good = f.read_bytes()
    bad = bytearray(good)
    bad[-5] ^= 0xFF                                          # one flipped byte in the trained readouts
    f.write_bytes(bytes(bad))
    with pytest.raises(StoredFileError, match="does not match its recorded SHA-256"):
        load_networks(out, [nid])
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(out)]) == 0    # the rerun recomputes it
    assert "recomputing" in capsys.readouterr().err and f.read_bytes() == good
    edit_table(out, lambda t: t.assign(g=np.where(t.network_id == nid, 9.0, t.g)))   # an edited record
    with pytest.raises(StoredFileError, match="changed after it was written"):
        load_results(out)
    f.unlink()                                                # deleted array file
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(out)]) == 0
    assert "nothing to do" not in capsys.readouterr().err and f.read_bytes() == good
    assert load_results(out).g.tolist() == [1.2, 1.2]


def test_array_file_is_confined_and_checked_against_its_row(tmp_path):
    out = tmp_path / "sweep"
    run_sweep(grid(seeds="0-1"), out, quiet(analyze="none"))
    secret = tmp_path / "outside_secret.txt"
    secret.write_bytes(b"not yours")
    from slowmem.store import sha256_file
    edit_table(out, lambda t: t.assign(array_file=["../../outside_secret.txt", t.array_file[1]],
                                       array_sha256=[sha256_file(secret), t.array_sha256[1]]), rehash=True)
    rows = load_results(out, flatten=False)
    folder = ResultsFolder(out)
    assert "the only place" in folder.array_problem(rows.iloc[0].to_dict())
    with pytest.raises(StoredFileError, match="the only place"):
        folder.read_array_bytes(rows.iloc[0].to_dict())
    assert sweep_status(out)["damaged"] == 1
    # an array file swapped for another network's (hash re-recorded) is caught by its metadata
    run_sweep(grid(seeds="0-1"), out, quiet(analyze="none"))
    t = load_results(out, flatten=False)
    swap = t.array_file[1], t.array_sha256[1]
    edit_table(out, lambda t: t.assign(array_file=[t.array_file[0], t.array_file[0]]), rehash=False)
    (out / t.array_file[0]).write_bytes((out / swap[0]).read_bytes())
    edit_table(out, lambda t: t.assign(array_file=t.array_file.where(t.index != 0, swap[0]).where(
        t.index != 0, t.array_file), array_sha256=[swap[1], swap[1]]), rehash=True)
    with pytest.raises(StoredFileError):
        load_networks(out, list(t.network_id))


def test_duplicate_and_foreign_rows_are_not_trusted(tmp_path):
    out = tmp_path / "sweep"
    run_sweep(grid(seeds="0-1"), out, quiet(analyze="none"))
    other = tmp_path / "other"
    run_sweep(grid(seeds="5"), other, quiet(analyze="none"))
    foreign = pd.read_parquet(other / "results.parquet")
    edit_table(out, lambda t: pd.concat([t, t.iloc[[0]], foreign], ignore_index=True))
    with pytest.raises(StoredFileError, match="rows; none is trusted|belongs to no network"):
        load_results(out)
    s = run_sweep(grid(seeds="0-1"), out, quiet(analyze="none"))
    assert s["trained"] == 1 and len(load_results(out)) == 2      # the duplicated one recomputed, foreign dropped


def test_damaged_manifest_and_table_are_messages_not_tracebacks(tmp_path, capsys):
    out = tmp_path / "sweep"
    run_sweep(grid(seeds="0"), out, quiet(analyze="none"))
    (out / "manifest.json").write_text("[]")
    with pytest.raises(StoredFileError, match="not a mapping"):
        load_results(out)
    with pytest.raises(SystemExit):
        main(["sweep", "status", str(out)])
    assert "manifest.json" in capsys.readouterr().err


def test_first_manifest_write_killed_is_resumable(tmp_path):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / ".slowmem.lock").write_text("")
    (out / ".manifest.json.abc.tmp").write_text("{")         # what a SIGKILL during the first write leaves
    (out / "arrays").mkdir()
    s = run_sweep(grid(seeds="0"), out, quiet(analyze="none"))
    assert s["trained"] == 1 and not list(out.glob(".*.tmp"))


# --------------------------------------------------------------------------- refused before any work
def test_output_folder_problems_are_found_before_training(tmp_path, capsys):
    afile = tmp_path / "file"
    afile.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    cases = [(afile / "sub", "is a file"), (afile, "not a folder"), (link, "symbolic link")]
    if os.geteuid() != 0:                                     # root may write anywhere
        cases.append((ro / "out", "cannot write"))
    for out, word in cases:
        with pytest.raises(SystemExit):
            main(["train", *FAST, "--out", str(out)])
        err = capsys.readouterr().err
        assert word in err and "FORCE" not in err
    ro.chmod(0o700)


def test_bad_scheduler_and_missing_batch_system_fail_before_the_manifest(tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    with pytest.raises(ConfigError, match="no Dask scheduler answers"):
        run_sweep(grid(seeds="0"), out, SweepOptions(scheduler="tcp://127.0.0.1:9",
                                                             runtime=Runtime(progress=False)))
    assert not (out / "manifest.json").exists()
    monkeypatch.setenv("PATH", str(tmp_path))                 # no sbatch here
    pytest.importorskip("dask_jobqueue")
    with pytest.raises(ConfigError, match="sbatch"):
        run_sweep(grid(seeds="0"), out, SweepOptions(backend="slurm", runtime=Runtime(progress=False)))
    assert not (out / "manifest.json").exists()


@pytest.mark.parametrize("flags, word", [
    (["--seeds", "0,100000000000000000000"], "seeds must be in [0, "),
    (["--seeds", "0-1000000000000"], "at most 100000 networks"),
    (["--N", "20000", "--seeds", "0-99999"], "GiB to train"),
])
def test_train_size_limits_are_messages(flags, word, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--preset", "ci", "--trials", "1", "--no-progress", *flags])
    assert word in capsys.readouterr().err


def test_analyze_bad_device_is_a_message(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    with pytest.raises(SystemExit):
        main(["analyze", str(out), "--device", "gpu"])
    assert "device must be" in capsys.readouterr().err


# --------------------------------------------------------------------------- what a report must not read silently
def test_report_refuses_unknown_labels_and_notes_mixed_settings(tmp_path, capsys):
    """An unknown mechanism label is a message naming it (no traceback); summaries made with different
    analysis settings are a visible note; a measure missing for some networks says how many."""
    out = tmp_path / "run"
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(out)]) == 0
    capsys.readouterr()
    edit_table(out, lambda t: t.assign(analysis_settings=['{"memory": {"n_repeats": 4}}',
                                                          '{"memory": {"n_repeats": 8, "chunk_trials": 3}}']),
               rehash=True)
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "note: the 'memory' summaries of this population were made with 2 different settings" in text
    edit_table(out, lambda t: t.assign(analysis_settings='{"memory": {"n_repeats": 4, "chunk_trials": 3}}'),
               rehash=True)
    assert main(["report", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == []        # run settings do not make settings differ
    edit_table(out, lambda t: t.assign(analysis_dynamics='{"mechanism": "banana"}'), rehash=True)
    with pytest.raises(SystemExit):
        main(["report", str(out)])
    err = capsys.readouterr().err
    assert "mechanism label(s) ['banana']" in err and "Traceback" not in err


def test_missing_values_and_empty_member_names_are_named(tmp_path):
    from slowmem.report import FP, SM, stratified_effect
    from slowmem.store.population import read_population_index

    t = pd.DataFrame({"m": [SM] * 12 + [FP] * 12, "v": [0.1] * 10 + [np.nan] * 2 + [0.2] * 12, "fb": 1.0})
    e = stratified_effect(t, "v", "m", SM, FP, strata="fb", margin=0.1)
    assert e.n == {SM: 10, FP: 12} and e.notes == [f"2 {SM} network(s) have no finite value of the measure and "
                                                   "are left out"]
    (tmp_path / "population.json").write_text(json.dumps(
        {"kind": "slowmem-population", "members": [{"name": " ", "folder": "a"}]}))
    with pytest.raises(StoredFileError, match="non-empty name and folder"):
        read_population_index(tmp_path)


def test_a_full_disk_is_a_message_and_the_folder_resumes(tmp_path, capsys, monkeypatch):
    import errno

    import slowmem.store.files as files

    out = tmp_path / "run"
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_fsync = files.os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(SystemExit):
        main(["train", *FAST, "--seeds", "0-2", "--out", str(tmp_path / "more")])
    err = capsys.readouterr().err
    assert "No space left on device" in err and "run the same command again" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    monkeypatch.setattr(files.os, "fsync", real_fsync)
    assert main(["train", *FAST, "--seeds", "0-2", "--out", str(tmp_path / "more")]) == 0
    assert sweep_status(tmp_path / "more")["complete"]
