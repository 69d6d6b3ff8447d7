"""The results folder of a sweep: one Parquet table plus one array file per network.

A sweep folder (what ``slowmem sweep run --out DIR`` writes) holds::

    manifest.json              the grid (preset, fixed settings, axes, seeds), the
                               network ids it expands to, the commands that ran
                               on the folder and the slowmem version
    results.parquet            one row per network: every config field flat, seed,
                               metrics, analysis summaries (JSON-string columns),
                               timings, status, and the SHA-256 of its array file
    arrays/<network_id>.safetensors
                               what later stages need: trained readouts wo (N, 1)
                               and wd (N, 2), the final training state (N,), the
                               trial-end states (4, N) and the training curves

Fixed random weights are *not* stored: they are regenerated from (config, seed)
with :meth:`slowmem.network.RateNetworks.create` and checked against the row's
``fixed_weights_hash``.

Rules the store keeps:

* every write is atomic (temporary file + ``os.replace``), so a killed sweep
  leaves either the old or the new table, never a torn one;
* only the process that runs the sweep (the Dask client) writes, and a lock
  file keeps a second sweep out of the same folder while one runs;
* an array file is trusted only when its SHA-256 equals the row's
  ``array_sha256``; anything else (missing, truncated, edited) is recomputed;
* no pickle: Parquet, JSON and safetensors only.

The book reads a folder with :func:`load_results` (one row per network, the
analysis summaries flattened into ``<analysis>.<key>`` columns) and, for
networks it wants to simulate again, :func:`load_networks`.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io
import json
import math
import os
import struct
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .config import ERROR_THRESHOLDS, PERIODS, Config, ConfigError

__all__ = [
    "TABLE", "MANIFEST", "ARRAYS", "STATUSES", "ARRAY_FORMAT",
    "ResultsStore", "load_results", "load_networks", "read_manifest",
    "config_columns", "jsonable", "sha256_bytes", "sha256_file", "utc_now",
    "analysis_column", "TIMING_COLUMNS", "read_table",
]

TABLE = "results.parquet"
MANIFEST = "manifest.json"
ARRAYS = "arrays"
LOCK = ".sweep.lock"
MANIFEST_KIND = "slowmem-sweep"
ARRAY_FORMAT = "slowmem-sweep-network/1"

#: Row status: ``done`` (trained, evaluated, every applicable analysis stored),
#: ``diverged`` (training produced NaN/inf; final), ``failed`` (an exception;
#: ``reason`` says which stage; the next run retries it).
STATUSES = ("done", "failed", "diverged")

#: Columns that describe how long things took or where they ran; they differ
#: between two runs of the same grid and are ignored when comparing results.
TIMING_COLUMNS = ("train_seconds", "evaluate_seconds", "analysis_seconds", "seconds_per_network",
                  "batch_size", "worker", "device", "finished_at")

_METRICS = ("test_accuracy", "replay_accuracy",
            *(f"error_rate_{t:g}" for t in ERROR_THRESHOLDS),
            "train_response_rmse_last100", "train_memory_rmse_last100")


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def analysis_column(name: str) -> str:
    """Name of the JSON-string column holding analysis ``name``'s summary."""
    return f"analysis_{name}"


def jsonable(x: Any) -> Any:
    """``x`` with NumPy / torch scalars and arrays turned into plain Python (for JSON)."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (str, bool, int, float)) or x is None:
        return x
    if hasattr(x, "detach"):               # torch tensor
        x = x.detach().cpu().numpy()
    if hasattr(x, "tolist"):               # numpy array / scalar
        return jsonable(x.tolist())
    raise TypeError(f"cannot store a {type(x).__name__} in a sweep record; return plain data "
                    "(numbers, strings, lists, dicts, arrays)")


def dumps(x: Any) -> str:
    """Canonical JSON (sorted keys) of plain data."""
    return json.dumps(jsonable(x), sort_keys=True, separators=(",", ":"))


def config_columns(cfg: Config) -> dict:
    """Every config field as a flat column (``timing_<period>``; tuples as JSON text)."""
    t, n, tr = cfg.task, cfg.network, cfg.training
    cols = {"preset": cfg.preset}
    cols.update({k: v for k, v in n.to_dict().items()})
    cols.update({k: v for k, v in tr.to_dict().items() if k not in ("seed", "device")})
    cols.update({"dt": t.dt, "tau": t.tau})
    cols.update({f"timing_{p}": float(t.timing[p]) for p in PERIODS})
    cols.update({"encoding": json.dumps(list(t.encoding)), "digits": json.dumps(list(t.digits)),
                 "stimuli": t.stimuli})
    return cols


# --------------------------------------------------------------------------- #
# atomic writes
# --------------------------------------------------------------------------- #
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()      # what open() would give; mkstemp alone gives 0600


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write ``path`` through ``write(binary file)`` into a temporary sibling, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic_write(path, lambda f: f.write(data))


def safetensors_metadata(data: bytes) -> dict:
    """The ``__metadata__`` of a safetensors blob (raises ValueError when it is not one)."""
    if len(data) < 8:
        raise ValueError("shorter than a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError("header runs past the end of the file (truncated)")
    return json.loads(data[8:8 + n]).get("__metadata__", {}) or {}


# --------------------------------------------------------------------------- #
# the store
# --------------------------------------------------------------------------- #
class ResultsStore:
    """A sweep results folder. Reading is free; writing needs :meth:`lock`.

    Rows are kept in memory as ``{network_id: row dict}`` by the sweep and
    written whole with :meth:`write_table` after every completed work unit.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # ---------------------------------------------------------------- paths
    @property
    def table_path(self) -> Path:
        return self.path / TABLE

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def array_relpath(self, network_id: str) -> str:
        return f"{ARRAYS}/{network_id}.safetensors"

    # ---------------------------------------------------------------- checks
    def check_target(self) -> dict | None:
        """Check the folder before any work: the manifest if it is a sweep folder, None if new or empty.

        Raises :class:`ConfigError` if it is a file or a non-empty folder that
        is not a sweep folder (nothing there is touched).
        """
        p = self.path
        if not p.exists():
            return None
        if not p.is_dir():
            raise ConfigError(f"--out {p} exists and is not a folder; give a new folder or a sweep folder")
        if not self.manifest_path.exists():
            if any(p.iterdir()):
                raise ConfigError(f"--out {p} is a non-empty folder that is not a slowmem sweep folder "
                                  f"(no {MANIFEST}); give a new folder (nothing was overwritten)")
            return None
        return read_manifest(p)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's write lock (released by the OS if the process dies)."""
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:          # not POSIX: no lock, single writer is up to the user
            yield
            return
        f = open(self.path / LOCK, "a+")
        try:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ConfigError(f"another sweep is writing to {self.path} right now; wait for it to end "
                                  "(or stop it) before starting a second one on the same folder") from None
            self._clean_temporaries()
            yield
        finally:
            f.close()

    def _clean_temporaries(self) -> None:
        """Remove temporary files left by a sweep that was killed mid-write."""
        for d in (self.path, self.path / ARRAYS):
            if d.is_dir():
                for t in d.glob(".*.tmp"):
                    t.unlink(missing_ok=True)

    # ---------------------------------------------------------------- manifest
    def write_manifest(self, manifest: dict) -> None:
        text = json.dumps(jsonable(manifest), indent=2) + "\n"
        _atomic_write(self.manifest_path, lambda f: f.write(text.encode()))

    # ---------------------------------------------------------------- table
    def read_rows(self) -> tuple[dict[str, dict], str | None]:
        """The rows on disk as ``{network_id: row}`` and a note if the table was damaged.

        A table that cannot be read is moved aside (``results.parquet.damaged-<time>``,
        so nothing is lost) and its networks are treated as not computed.
        """
        p = self.table_path
        if not p.exists():
            return {}, None
        try:
            df = read_table(p)
            if "network_id" not in df.columns:
                raise ValueError("no network_id column")
        except Exception as e:
            aside = p.with_name(f"{TABLE}.damaged-{_dt.datetime.now().strftime('%Y%m%dT%H%M%S%f')}")
            os.replace(p, aside)
            return {}, f"{p} could not be read ({type(e).__name__}: {e}); moved to {aside.name}, recomputing"
        rows = {}
        for rec in df.to_dict("records"):
            rows[str(rec["network_id"])] = {k: _unnumpy(v) for k, v in rec.items()}
        return rows, None

    def write_table(self, rows: Iterable[dict]) -> None:
        """Write all rows as the table, atomically."""
        df = rows_to_frame(list(rows))
        _atomic_write(self.table_path, lambda f: df.to_parquet(f, index=False))

    # ---------------------------------------------------------------- arrays
    def write_arrays(self, network_id: str, data: bytes) -> tuple[str, str]:
        """Store one network's array file; returns ``(relative path, sha256)``."""
        rel = self.array_relpath(network_id)
        _atomic_write_bytes(self.path / rel, data)
        return rel, sha256_bytes(data)

    def array_problem(self, row: Mapping) -> str | None:
        """Why the array file of ``row`` cannot be trusted, or None when it can."""
        rel, want = row.get("array_file"), row.get("array_sha256")
        if not isinstance(rel, str) or not isinstance(want, str) or not rel or not want:
            return "no array file recorded"
        p = self.path / rel
        if not p.is_file():
            return f"array file {rel} is missing"
        got = sha256_file(p)
        if got != want:
            return f"array file {rel} does not match its recorded SHA-256 (truncated or changed)"
        return None

    def read_array_bytes(self, row: Mapping) -> bytes:
        """The bytes of ``row``'s array file, verified against its hash."""
        problem = self.array_problem(row)
        if problem:
            raise ConfigError(problem)
        return (self.path / row["array_file"]).read_bytes()


def read_table(path: Path):
    """Read a Parquet table in one ``open()``.

    The file is read into memory first: pyarrow may open a path more than once,
    and a sweep replacing the table in between would hand it two different files.
    """
    import pandas as pd

    with open(path, "rb") as f:
        data = f.read()
    return pd.read_parquet(io.BytesIO(data))


def _unnumpy(v: Any) -> Any:
    """Plain Python value for a cell read back from Parquet (NaN -> None)."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return v
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


# fixed leading columns, in order; analysis columns follow
_LEAD = ("network_id", "seed", "status", "reason", "success", "diverged", *_METRICS,
         "analyses_done", "analysis_errors")
_TAIL = ("fixed_weights_hash", "array_file", "array_sha256", "config_json",
         *TIMING_COLUMNS, "slowmem_version", "torch_version")
_FLOAT_COLS = set(_METRICS) | {"train_seconds", "evaluate_seconds", "seconds_per_network"}
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
# reading for the book
# --------------------------------------------------------------------------- #
def read_manifest(path: str | Path) -> dict:
    """The manifest of sweep folder ``path`` (ConfigError if absent or damaged)."""
    p = Path(path) / MANIFEST
    if not p.exists():
        raise ConfigError(f"{path} is not a slowmem sweep folder (no {MANIFEST}); "
                          "make one with `slowmem sweep run --out`")
    try:
        m = json.loads(p.read_text())
        if m.get("kind") != MANIFEST_KIND:
            raise ValueError(f"kind is {m.get('kind')!r}, expected {MANIFEST_KIND!r}")
    except ValueError as e:
        raise ConfigError(f"{p} is damaged or not a sweep manifest ({e})") from None
    return m


def _flatten(prefix: str, value: Any, out: dict) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif value is None or isinstance(value, (bool, int, float, str)):
        out[prefix] = value
    # lists stay in the JSON column


def load_results(path: str | Path, *, flatten: bool = True, status: str | Sequence[str] | None = None):
    """The results table of sweep folder ``path`` as a pandas DataFrame (one row per network).

    Args:
        flatten: also expand every analysis summary (JSON column
            ``analysis_<name>``) into scalar columns ``<name>.<key>``
            (nested keys joined by dots; lists stay in the JSON column).
        status: keep only rows with this status (or these statuses).
    Returns:
        Config fields (``N``, ``g``, ``pg``, ``fb``, ``rule``, ``trials`` ...),
        ``seed``, ``status``, ``reason``, ``success``, ``test_accuracy``,
        ``replay_accuracy``, ``error_rate_<thr>``, analysis columns, timings,
        ``slowmem_version``.
    """
    import pandas as pd

    path = Path(path)
    read_manifest(path)
    p = path / TABLE
    if not p.exists():
        return rows_to_frame([])
    try:
        df = read_table(p)
    except Exception as e:
        raise ConfigError(f"{p} is damaged ({type(e).__name__}: {e}); re-run the sweep command "
                          "to recompute it") from None
    if status is not None:
        allowed = (status,) if isinstance(status, str) else tuple(status)
        bad = [s for s in allowed if s not in STATUSES]
        if bad:
            raise ConfigError(f"status must be among {', '.join(STATUSES)}; got {bad}")
        df = df[df["status"].isin(allowed)].reset_index(drop=True)
    if flatten:
        extra: list[dict] = []
        ana_cols = [c for c in df.columns if c.startswith("analysis_")
                    and c not in ("analysis_errors", "analysis_seconds")]
        for _, r in df.iterrows():
            flat: dict = {}
            for c in ana_cols:
                v = r[c]
                if isinstance(v, str) and v:
                    _flatten(c[len("analysis_"):], json.loads(v), flat)
            extra.append(flat)
        if any(extra):
            df = pd.concat([df, pd.DataFrame(extra, index=df.index)], axis=1)
    return df


def load_networks(path: str | Path, network_ids: Sequence[str], *, device: str = "cpu",
                  dtype: str | None = None):
    """Trained networks of a sweep folder, rebuilt for further simulation.

    Fixed weights are regenerated from each row's config and seed and checked
    against ``fixed_weights_hash``; wo and wd come from the (hash-checked)
    array files. All ``network_ids`` must share N.

    Returns:
        ``(networks, trial_end_states (B, 4, N), configs)``.
    """
    import torch
    from safetensors.torch import load as st_load

    from .network import RateNetworks

    path = Path(path)
    store = ResultsStore(path)
    rows = _read_rows_readonly(path)
    missing = [i for i in network_ids if i not in rows]
    if missing:
        raise ConfigError(f"{path}: no stored network(s) {missing[:5]}; see load_results(...)['network_id']")
    cfgs, seeds, tensors = [], [], []
    for i in network_ids:
        row = rows[i]
        data = store.read_array_bytes(row)
        cfg = Config.from_dict(json.loads(row["config_json"]))
        cfgs.append(cfg)
        seeds.append(int(row["seed"]))
        tensors.append(st_load(data))
    dt = dtype or cfgs[0].training.dtype
    net = RateNetworks.create([c.network for c in cfgs], seeds, device=device, dtype=dt)
    for b, i in enumerate(network_ids):
        if net.fixed_weights_hash(b) != rows[i]["fixed_weights_hash"]:
            raise ConfigError(f"network {i}: regenerated fixed weights differ from the stored hash "
                              "(slowmem's weight draw changed since the sweep); re-run the sweep")
    from dataclasses import replace
    to = dict(device=net.device, dtype=net.dtype)
    net = replace(net, wo=torch.stack([t["wo"] for t in tensors]).to(**to),
                  wd=torch.stack([t["wd"] for t in tensors]).to(**to))
    ends = torch.stack([t["trial_end_states"] for t in tensors]).to(**to)
    return net, ends, cfgs


def _read_rows_readonly(path: Path) -> dict[str, dict]:
    """Rows as ``{network_id: row}``, without the repair side effect of :meth:`ResultsStore.read_rows`."""
    p = path / TABLE
    if not p.exists():
        return {}
    try:
        df = read_table(p)
    except Exception as e:
        raise ConfigError(f"{p} is damaged ({type(e).__name__}: {e}); re-run the sweep command") from None
    return {str(r["network_id"]): {k: _unnumpy(v) for k, v in r.items()} for r in df.to_dict("records")}
