"""What one results-folder row and the manifest hold, and how a run's results become them.

A row is one network: its identity columns (:func:`.schema.config_columns`, ``config_json``), the training
record, the array file's place and hash, one JSON column per analysis summary, the settings each summary
was computed with, timings, provenance and a status. The manifest is the folder's identity (its grid and
network ids) plus one entry per run. Sweeps (:mod:`slowmem.sweep`) and ``slowmem train --out`` hand their
results to these functions; nothing else builds a row or a manifest.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from .. import __version__
from ..config import Config, network_identity
from .files import dumps, utc_now
from .folder import ResultsFolder
from .provenance import provenance
from .schema import FORMAT, MANIFEST_KIND, analysis_column, config_columns

__all__ = ["Manifest", "RunEntry", "base_row", "row_status", "merge_result", "failed_row", "new_manifest",
           "add_run"]


class RunEntry(TypedDict, total=False):
    """One run of a command on a folder: ``command``, ``started``/``finished`` (UTC), ``outcome``, the run
    settings (``runtime``, ``backend``, ``scheduler``, ``workers``, ``batch``, ``analyze``), ``pending``
    (networks it set out to compute), the counts it left, and the ``provenance`` stamp of the code."""

    command: str
    started: str
    finished: str | None
    provenance: dict


class Manifest(TypedDict, total=False):
    """``manifest.json``: ``kind``, ``format``, ``grid`` (the grid as given), ``grid_hash``, ``network_ids``,
    ``created``, ``slowmem_version`` (of the last run), ``provenance`` (of the last run) and ``runs``."""

    kind: str
    format: int
    grid: dict
    grid_hash: str
    network_ids: list[str]
    runs: list[RunEntry]


def base_row(network_id: str, seed: int, cfg: Config) -> dict:
    """The identity columns of a network's row."""
    return {"network_id": network_id, "seed": seed, **config_columns(cfg),
            "config_json": dumps(network_identity(cfg))}


def row_status(row: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(status, reason)`` of a row: ``diverged``, ``failed`` (an analysis raised) or ``done``."""
    errs = json.loads(row.get("analysis_errors") or "{}")
    if row.get("diverged"):
        return "diverged", "training diverged: NaN or inf in the state or the learned readouts"
    if errs:
        return "failed", "; ".join(f"analysis {k!r} failed: {v}" for k, v in sorted(errs.items()))
    return "done", None


def merge_result(old: dict | None, result: Mapping[str, Any], folder: ResultsFolder, *, network_id: str,
                 seed: int, cfg: Config, asked: Iterable[str]) -> dict:
    """The new row of one network from a worker's ``result`` (see :func:`slowmem.sweep.pipeline.run_unit`).

    A network trained now starts a fresh row and its array file is written into ``folder``; one only
    re-analysed keeps its stored row. Every analysis in ``asked`` loses its old summary, whatever happens now.
    """
    if result.get("stage") == "trained":
        row = base_row(network_id, seed, cfg)
        row.update(result["record"])
        rel, sha = folder.write_arrays(network_id, result["arrays"])
        row.update(array_file=rel, array_sha256=sha, fixed_weights_hash=result["fixed_weights_hash"],
                   train_seconds=result["train_seconds"], evaluate_seconds=result["evaluate_seconds"],
                   batch_size=result["batch_size"],
                   seconds_per_network=(result["train_seconds"] + result["evaluate_seconds"]) / result["batch_size"])
        done: dict = {}
        seconds: dict = {}
        settings: dict = {}
    else:
        row = dict(old or {})
        done = {n: row.get(analysis_column(n)) for n in json.loads(row.get("analyses_done") or "[]")}
        seconds = json.loads(row.get("analysis_seconds") or "{}")
        settings = json.loads(row.get("analysis_settings") or "{}")
    for name in asked:
        done.pop(name, None)
        settings.pop(name, None)
        row.pop(analysis_column(name), None)
    for name, summary in result.get("analyses", {}).items():
        row[analysis_column(name)] = dumps(summary)
        done[name] = True
        settings[name] = json.loads(result["analysis_settings"][name])
    seconds.update(result.get("analysis_seconds", {}))
    row["analyses_done"] = json.dumps(sorted(done))
    row["analysis_settings"] = dumps(settings)
    row["analysis_errors"] = json.dumps(dict(sorted(result.get("analysis_errors", {}).items())))
    row["analysis_seconds"] = json.dumps(dict(sorted(seconds.items())))
    for k in ("worker", "device", "runtime_json", "slowmem_version", "torch_version"):
        row[k] = result.get(k)
    row["finished_at"] = utc_now()
    row["status"], row["reason"] = row_status(row)
    notes = result.get("notes") or []
    if notes and row["status"] == "done":
        row["reason"] = "; ".join(notes)
    return row


def failed_row(old: dict | None, err: BaseException, *, stage: str, network_id: str, seed: int,
               cfg: Config) -> dict:
    """The row of a network whose work unit raised: stored training results kept, marked failed."""
    msg = f"{type(err).__name__}: {err}".strip()
    if stage == "analyze" and old is not None:
        row = dict(old)
        row["status"], row["reason"] = "failed", f"analysis stage failed: {msg}"
    else:
        row = base_row(network_id, seed, cfg)
        row.update(status="failed", reason=f"training stage failed: {msg}", success=False, diverged=False)
    row["finished_at"] = utc_now()
    return row


def new_manifest(grid: Mapping[str, Any], grid_hash: str, network_ids: Iterable[str]) -> Manifest:
    """The manifest of a new results folder (no runs yet)."""
    return Manifest(kind=MANIFEST_KIND, format=FORMAT, grid=dict(grid), grid_hash=grid_hash,
                    network_ids=list(network_ids), slowmem_version=__version__, created=utc_now(), runs=[])


def add_run(manifest: Manifest, command: str | None, **settings: Any) -> RunEntry:
    """Append an entry for a run starting now (``settings``: the run settings and counts to record) and
    stamp the manifest with this code's version and provenance; returns the entry (fill in ``finished``)."""
    stamp = provenance()
    entry = RunEntry(command=command, started=utc_now(), finished=None, slowmem_version=__version__,
                     provenance=stamp, **settings)
    manifest["runs"] = list(manifest.get("runs", [])) + [entry]
    manifest["slowmem_version"] = __version__
    manifest["provenance"] = stamp
    return entry
