"""Results on disk, without pickle: safetensors for arrays, JSON and Parquet for records.

A **run folder** (what ``slowmem train --out DIR`` writes) holds::

    record.json              config, seeds, per-network metrics, timings, version
    networks.safetensors     all weights of the B networks (+ config metadata)
    trial_end_states.safetensors   (B, 4, N) start states of every analysis
    training_log.parquet     per (network, trial) response / memory RMSE

It is written into a temporary sibling folder and renamed into place, so a run
folder is either complete or absent. A folder that already holds a different
run is never overwritten.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from .config import Config, ConfigError
from .network import RateNetworks

__all__ = ["RunFolder", "check_run_target", "write_run", "read_run", "RECORD", "atomic_write_text"]

RECORD = "record.json"
NETWORKS = "networks.safetensors"
END_STATES = "trial_end_states.safetensors"
LOG = "training_log.parquet"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _identity(cfg: Config, seeds: list[int]) -> dict:
    d = cfg.to_dict()
    d["training"] = {k: v for k, v in d["training"].items() if k != "seed"}
    return {"config": d, "seeds": list(seeds)}


def check_run_target(out: Path, cfg: Config, seeds: list[int]) -> bool:
    """Check ``out`` before any work.

    Returns True when ``out`` already holds exactly this run (nothing to do),
    False when it is free; raises :class:`ConfigError` when it holds anything else.
    """
    out = Path(out)
    if not out.exists():
        return False
    if not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder; give a new or empty folder")
    if not any(out.iterdir()):
        return False
    rec = out / RECORD
    if not rec.exists():
        raise ConfigError(f"--out {out} is a non-empty folder that is not a slowmem run; "
                          "give a new or empty folder (nothing was overwritten)")
    try:
        old = json.loads(rec.read_text())
        same = {"config": old["config"], "seeds": old["seeds"]}
        same["config"]["training"] = {k: v for k, v in same["config"]["training"].items() if k != "seed"}
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"--out {out} holds an unreadable {RECORD} ({e}); nothing was overwritten") from None
    if same != _identity(cfg, seeds):
        raise ConfigError(f"--out {out} already holds a different run (other config or seeds); "
                          "choose another folder or remove it (nothing was overwritten)")
    return True


def write_run(out: Path, cfg: Config, seeds: list[int], networks: RateNetworks, end_states: torch.Tensor,
              log: pd.DataFrame, record: dict) -> Path:
    """Write a complete run folder atomically (temporary folder + rename)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        networks.save(tmp / NETWORKS)
        save_file({"trial_end_states": end_states.detach().cpu().contiguous()}, str(tmp / END_STATES))
        log.to_parquet(tmp / LOG, index=False)
        full = {**_identity(cfg, seeds), **record}
        full["config"] = cfg.to_dict()
        (tmp / RECORD).write_text(json.dumps(full, indent=2))
        os.chmod(tmp, 0o777 & ~_umask())   # mkdtemp makes 0700; a run folder is an ordinary folder
        if out.exists():          # an empty folder the user made
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


@dataclass
class RunFolder:
    """A run folder read back: the record, the networks and their trial-end states."""

    path: Path
    record: dict
    config: Config
    networks: RateNetworks
    trial_end_states: torch.Tensor     # (B, 4, N)

    def training_log(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / LOG)


def read_run(path: str | Path, *, device: str = "cpu", dtype: str | None = None) -> RunFolder:
    """Read a run folder; a missing or damaged part raises :class:`ConfigError` naming it."""
    path = Path(path)
    if not (path / RECORD).exists():
        raise ConfigError(f"{path} is not a slowmem run folder (no {RECORD}); make one with `slowmem train --out`")
    try:
        record = json.loads((path / RECORD).read_text())
        cfg = Config.from_dict(record["config"])
    except (ValueError, KeyError) as e:
        raise ConfigError(f"{path / RECORD} is damaged ({e})") from None
    nets = RateNetworks.load(path / NETWORKS, device=device, dtype=dtype)
    try:
        ends = load_file(str(path / END_STATES))["trial_end_states"].to(device=nets.device, dtype=nets.dtype)
    except Exception as e:
        raise ConfigError(f"{path / END_STATES} is damaged or missing ({type(e).__name__}: {e})") from None
    if ends.shape != (nets.B, 4, nets.N):
        raise ConfigError(f"{path / END_STATES} has shape {tuple(ends.shape)}; expected {(nets.B, 4, nets.N)}")
    return RunFolder(path, record, cfg, nets, ends)
