"""What a results folder holds: file names, the row schema (one column vocabulary), the array file.

A **results folder** (written by ``slowmem sweep run --out DIR`` and by
``slowmem train --out DIR`` alike)::

    manifest.json                 kind, format, the grid, its network ids, every command that ran
    results.parquet               one row per network (columns below)
    arrays/<network_id>.safetensors   what later stages need of one network (below)

**Row columns.** ``network_id``, ``seed``, ``status`` (:data:`STATUSES`),
``reason``, ``success``, ``diverged``, the metrics :data:`METRICS`, every
config field flat (:func:`config_columns`), ``config_json`` (the network's
identity, :func:`slowmem.config.network_identity`), one JSON column
``analysis_<name>`` per analysis summary, ``analysis_settings`` (name -> the
science settings each summary was computed with: its identity), ``analyses_done``,
``analysis_errors``, ``analysis_seconds``, timings (:data:`TIMING_COLUMNS`),
``runtime_json`` (the run settings of the run that last wrote the row,
:meth:`slowmem.runtime.Runtime.to_dict`: provenance only, never compared),
versions, the array file's name and SHA-256, ``fixed_weights_hash`` and
``row_sha256`` (a hash of the row itself, so an edited row is noticed).
Readers flatten each summary into ``<name>.<key>`` columns
(:func:`flatten_summaries`); the live analyses name their columns the same
way, and the mechanism label is also the plain column ``mechanism``.

**Array file** (safetensors; metadata is one key, ``slowmem``, holding sorted
JSON, so identical results give identical bytes): ``wo (N, 1)``, ``wd (N, 2)``,
``final_state (N,)``, ``trial_end_states (4, N)``, ``train_response_rmse
(trials,)``, ``train_memory_rmse (trials,)``; metadata ``format``,
``network_id``, ``seed``, ``config`` (the identity), ``fixed_weights_hash``.
Fixed random weights are not stored: they are regenerated from (config, seed)
and checked against ``fixed_weights_hash``.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..analysis.tables import MECHANISM, flatten_summaries
from ..config import ERROR_THRESHOLDS, PERIODS, Config, network_identity
from ..errors import StoredFileError
from .files import dumps, safetensors_metadata, sha256_bytes
from .provenance import provenance

__all__ = ["TABLE", "MANIFEST", "ARRAYS", "LOCK", "MANIFEST_KIND", "FORMAT", "ARRAY_FORMAT", "STATUSES",
           "METRICS", "TIMING_COLUMNS", "MECHANISM", "analysis_column", "config_columns", "rows_to_frame",
           "row_hash", "unnumpy", "pack_arrays", "unpack_arrays", "flatten_summaries", "array_relpath"]

TABLE = "results.parquet"
MANIFEST = "manifest.json"
ARRAYS = "arrays"
LOCK = ".slowmem.lock"
MANIFEST_KIND = "slowmem-results"
#: Version of the folder format (1: slowmem 0.1 sweep folders; 2: this one).
FORMAT = 2
ARRAY_FORMAT = "slowmem-network-arrays/2"

#: Row status: ``done`` (trained, evaluated, every applicable analysis stored),
#: ``diverged`` (training produced NaN/inf; final), ``failed`` (an exception;
#: ``reason`` says which stage; the next run retries it).
STATUSES = ("done", "failed", "diverged")

#: Per-network metrics of training and evaluation (built by :func:`slowmem.evaluation.network_record`).
METRICS = ("test_accuracy", "replay_accuracy", *(f"error_rate_{t:g}" for t in ERROR_THRESHOLDS),
           "train_response_rmse_last100", "train_memory_rmse_last100")

#: Columns that say how long things took or where and how they ran (``runtime_json``: the run
#: settings): they differ between two runs of the same grid and are left out when comparing results.
TIMING_COLUMNS = ("train_seconds", "evaluate_seconds", "analysis_seconds", "seconds_per_network",
                  "batch_size", "worker", "device", "runtime_json", "finished_at")

#: The mechanism label column (promoted from ``dynamics.mechanism`` by the readers).

_ARRAY_KEYS = ("wo", "wd", "final_state", "trial_end_states", "train_response_rmse", "train_memory_rmse")


def analysis_column(name: str) -> str:
    """Name of the JSON column holding analysis ``name``'s summary."""
    return f"analysis_{name}"


def array_relpath(network_id: str) -> str:
    """Where a network's array file lives inside the folder: the only place a row may point to."""
    return f"{ARRAYS}/{network_id}.safetensors"


def config_columns(cfg: Config) -> dict:
    """Every identity field of ``cfg`` as a flat column (``timing_<period>``; tuples as JSON text)."""
    t, n, tr = cfg.task, cfg.network, cfg.training
    cols: dict[str, Any] = {"preset": cfg.preset}
    cols.update(n.to_dict())
    cols.update({k: v for k, v in tr.to_dict().items() if k != "seed"})
    cols.update({"dt": t.dt, "tau": t.tau})
    cols.update({f"timing_{p}": float(t.timing[p]) for p in PERIODS})
    cols.update({"encoding": json.dumps(list(t.encoding)), "digits": json.dumps(list(t.digits)),
                 "stimuli": t.stimuli})
    return cols


def unnumpy(v: Any) -> Any:
    """Plain Python value for a cell read back from Parquet (NaN -> None)."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return v
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of a row's non-empty cells (``row_sha256`` itself left out), as read back from Parquet."""
    return sha256_bytes(dumps({k: v for k, v in row.items() if v is not None and k != "row_sha256"}).encode())


# fixed leading columns, in order; analysis columns follow
_LEAD = ("network_id", "seed", "status", "reason", "success", "diverged", *METRICS,
         "analyses_done", "analysis_errors")
_TAIL = ("analysis_settings", "fixed_weights_hash", "array_file", "array_sha256", "config_json",
         *TIMING_COLUMNS, "slowmem_version", "torch_version", "row_sha256")
_FLOAT_COLS = set(METRICS) | {"train_seconds", "evaluate_seconds", "seconds_per_network"}
_BOOL_COLS = {"success", "diverged"}


def rows_to_frame(rows: Sequence[Mapping]):
    """A DataFrame with a stable column order and dtypes (metrics float, flags bool)."""
    import pandas as pd

    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    lead = [c for c in _LEAD if c in cols]
    tail = [c for c in _TAIL if c in cols]
    ana = sorted(c for c in cols if c.startswith("analysis_") and c not in lead + tail)
    middle = [c for c in cols if c not in lead + tail + ana]
    order = lead + middle + ana + tail
    df = pd.DataFrame.from_records([{c: r.get(c) for c in order} for r in rows], columns=order)
    for c in order:
        if c in _FLOAT_COLS:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
        elif c in _BOOL_COLS:
            df[c] = df[c].fillna(False).astype(bool)
        elif c == "batch_size":
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    return df


# --------------------------------------------------------------------------- #
# the array file of one network
# --------------------------------------------------------------------------- #
def pack_arrays(network_id: str, cfg: Config, fixed_weights_hash: str, arrays: Mapping[str, Any]) -> bytes:
    """The safetensors bytes of one network's array file (keys in the module docstring)."""
    import torch
    from safetensors.torch import save

    missing = [k for k in _ARRAY_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"array file of {network_id}: missing {missing}")
    tensors = {k: torch.as_tensor(arrays[k]).detach().to("cpu").contiguous() for k in _ARRAY_KEYS}
    meta = {"format": ARRAY_FORMAT, "network_id": network_id, "seed": str(cfg.training.seed),
            "config": dumps(network_identity(cfg)), "fixed_weights_hash": fixed_weights_hash,
            "provenance": provenance()}
    # one metadata key: safetensors keeps metadata in a hash map, so several keys would come out in
    # a random order and identical results would hash differently
    return save(tensors, metadata={"slowmem": json.dumps(meta, sort_keys=True)})


def unpack_arrays(data: bytes, row: Mapping[str, Any] | None = None, *, name: str = "array file") -> dict:
    """Tensors of an array file, checked against its own metadata and (if given) the table ``row``.

    Raises :class:`ConfigError` naming ``name`` when the bytes are not an
    array file of this format, or when the file's network id, config or
    fixed-weights hash differ from the row's.
    """
    from safetensors.torch import load

    try:
        meta = json.loads(safetensors_metadata(data).get("slowmem") or "{}")
        tensors = load(bytes(data))
    except Exception as e:
        raise StoredFileError(f"{name} is damaged or not a slowmem array file ({type(e).__name__}: {e})") from None
    if meta.get("format") != ARRAY_FORMAT:
        raise StoredFileError(f"{name} has format {meta.get('format')!r}; expected {ARRAY_FORMAT!r}")
    missing = [k for k in _ARRAY_KEYS if k not in tensors]
    if missing:
        raise StoredFileError(f"{name} lacks {missing}")
    if row is not None:
        for key, col in (("network_id", "network_id"), ("fixed_weights_hash", "fixed_weights_hash")):
            if meta.get(key) != row.get(col):
                raise StoredFileError(f"{name}: its {key} {meta.get(key)!r} differs from the table's {row.get(col)!r}")
        try:
            same = json.loads(meta.get("config", "null")) == json.loads(row.get("config_json") or "null")
        except ValueError:
            same = False
        if not same:
            raise StoredFileError(f"{name}: the config it was made with differs from the table row's config_json")
        n_trials = json.loads(row["config_json"])["training"]["trials"]
        for k in ("train_response_rmse", "train_memory_rmse"):
            if tensors[k].shape != (n_trials,):
                raise StoredFileError(f"{name}: {k} has shape {tuple(tensors[k].shape)}; expected ({n_trials},) "
                                  "for one network's training curve")
    return tensors
