"""One results folder: its manifest, its table and its array files, every read verified.

Rules the folder keeps:

* every write is atomic (:func:`~slowmem.store.files.atomic_write`), so a killed
  process leaves the old file or the new one, never a torn one;
* only one process writes (the one running the sweep); :meth:`ResultsFolder.lock`
  keeps a second writer out and removes temporary files a killed writer left;
* nothing read back is trusted unverified: a row must hash to its
  ``row_sha256``, belong to the manifest's networks and appear once; its array
  file must be the one place its id allows (``arrays/<network_id>.safetensors``),
  match the recorded SHA-256 and carry the row's network id, config and
  fixed-weights hash. Anything else is refused by readers (a message naming the
  file) and recomputed by a rerun, never used.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..config import ConfigError
from ..errors import StoredFileError
from .files import atomic_write, jsonable, sha256_bytes, sha256_file
from .provenance import provenance
from .schema import (
    ARRAYS,
    FORMAT,
    LOCK,
    MANIFEST,
    MANIFEST_KIND,
    TABLE,
    array_relpath,
    row_hash,
    rows_to_frame,
    unnumpy,
    unpack_arrays,
)

__all__ = ["ResultsFolder", "read_manifest", "read_table", "check_output_folder"]

#: Largest manifest / table file read back (a guard against a file that is not ours).
_MAX_MANIFEST_BYTES = 64 << 20


def read_table(path: Path):
    """Read a Parquet table in one ``open()``.

    The file is read into memory first: pyarrow may open a path more than once,
    and a sweep replacing the table in between would hand it two different files.
    """
    import pandas as pd

    with open(path, "rb") as f:
        data = f.read()
    return pd.read_parquet(io.BytesIO(data))


def read_manifest(path: str | Path) -> dict:
    """The manifest of results folder ``path`` (ConfigError naming the file if absent or damaged)."""
    p = Path(path) / MANIFEST
    if not p.is_file():
        raise StoredFileError(f"{path} is not a slowmem results folder (no {MANIFEST}); make one with "
                          "`slowmem sweep run --out` or `slowmem train --out`")
    try:
        if p.stat().st_size > _MAX_MANIFEST_BYTES:
            raise ValueError(f"larger than {_MAX_MANIFEST_BYTES >> 20} MiB")
        m = json.loads(p.read_text())
        if not isinstance(m, dict):
            raise ValueError(f"holds a {type(m).__name__}, not a mapping")
        if m.get("kind") == "slowmem-sweep":
            raise ValueError("it is a slowmem 0.1 sweep folder; convert it once with "
                             f"`python -m slowmem.store.migrate {path}`")
        if m.get("kind") != MANIFEST_KIND:
            raise ValueError(f"kind is {m.get('kind')!r}, expected {MANIFEST_KIND!r}")
        fmt = m.get("format")
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
            raise StoredFileError(f"{p} was written by a newer slowmem ({m.get('slowmem_version', '?')}, results "
                                  f"format {fmt}); this slowmem ({__version__}) reads format {FORMAT}: upgrade "
                                  "slowmem to read it (nothing was changed)")
        if fmt != FORMAT:
            raise ValueError(f"format is {fmt!r}, expected {FORMAT}")
        ids = m.get("network_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError("network_ids is not a list of ids")
    except (ValueError, OSError) as e:
        raise StoredFileError(f"{p} is damaged or not a slowmem manifest ({e})") from None
    return m


def check_output_folder(path: Path) -> None:
    """Refuse, before any work, an output folder that cannot be written: ConfigError saying why.

    Checks: not a file, not under a file, not a symbolic link, the nearest
    existing parent is a writable folder (tested by creating and removing a
    temporary file in it).
    """
    path = Path(path)
    if path.is_symlink():
        raise ConfigError(f"--out {path} is a symbolic link; give a real folder")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} exists and is not a folder; give a new folder or a results folder")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--out {path}: {parent} is a file, so no folder can be made under it")
    import tempfile
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=".slowmem-write-test.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise ConfigError(f"--out {path}: cannot write in {parent} ({e.strerror or e})") from None


class ResultsFolder:
    """A results folder. Reading is free; writing needs :meth:`lock`.

    Rows are ``{network_id: row dict}``; the sweep keeps them in memory and
    writes them whole with :meth:`write_table` after every completed work unit.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def table_path(self) -> Path:
        return self.path / TABLE

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    # ---------------------------------------------------------------- target
    def check_target(self) -> dict | None:
        """Check the folder before any work: its manifest if it is a results folder, None if new or empty.

        Raises :class:`ConfigError` if it cannot be written, is a file, or is a
        non-empty folder that is not a results folder (nothing there is touched).
        A folder holding only what a writer killed during its very first
        write leaves (the lock file, temporary files) counts as empty.
        """
        p = self.path
        check_output_folder(p)
        if not p.exists():
            return None
        if not self.manifest_path.exists():
            leftovers = [q for q in p.iterdir() if not (q.name == LOCK or (q.name.startswith(".")
                                                                           and q.name.endswith(".tmp")))]
            if (p / ARRAYS).is_dir() and not any((p / ARRAYS).iterdir()):
                leftovers = [q for q in leftovers if q.name != ARRAYS]
            if leftovers:
                raise ConfigError(f"--out {p} is a non-empty folder that is not a slowmem results folder "
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
                raise ConfigError(f"another slowmem process is writing to {self.path} right now; wait for it "
                                  "to end (or stop it) before starting a second one on the same folder") from None
            self._clean_temporaries()
            yield
        finally:
            f.close()

    def _clean_temporaries(self) -> None:
        for d in (self.path, self.path / ARRAYS):
            if d.is_dir():
                for t in d.glob(".*.tmp"):
                    t.unlink(missing_ok=True)

    # ---------------------------------------------------------------- manifest
    def write_manifest(self, manifest: dict) -> None:
        atomic_write(self.manifest_path, json.dumps(jsonable(manifest), indent=2) + "\n")

    # ---------------------------------------------------------------- table
    def read_rows(self, network_ids: Iterable[str] | None = None, *,
                  repair: bool = True) -> tuple[dict[str, dict], dict[str, str]]:
        """The verified rows on disk as ``{network_id: row}``, and what was not trusted (id -> why).

        A table that cannot be read is moved aside
        (``results.parquet.damaged-<time>``, nothing is lost) and its networks
        count as not computed; with ``repair=False`` (readers) that is a
        :class:`ConfigError` instead and nothing is touched. Rows that do not hash to their ``row_sha256``,
        appear more than once, or (with ``network_ids``) belong to no network
        of the manifest are left out, each with a note.
        """
        p = self.table_path
        if not p.exists():
            return {}, {}
        try:
            df = read_table(p)
            if "network_id" not in df.columns:
                raise ValueError("no network_id column")
        except Exception as e:
            if not repair:
                raise StoredFileError(f"{p} is damaged ({type(e).__name__}: {e}); rerun the command that made "
                                  "the folder to recompute it") from None
            aside = p.with_name(f"{TABLE}.damaged-{_dt.datetime.now().strftime('%Y%m%dT%H%M%S%f')}")
            os.replace(p, aside)
            return {}, {"": f"{p} could not be read ({type(e).__name__}: {e}); moved to {aside.name}, recomputing"}
        return _verified_rows(df, p, network_ids)

    def write_table(self, rows: Iterable[dict]) -> None:
        """Write all rows as the table, atomically, each with its ``row_sha256``."""
        df = rows_to_frame(list(rows))
        if len(df):
            df["row_sha256"] = [row_hash({k: unnumpy(v) for k, v in r.items()})
                                for r in df.drop(columns=["row_sha256"], errors="ignore").to_dict("records")]
        table = pa.Table.from_pandas(df, preserve_index=False)
        # the provenance stamp rides in the Parquet file's key-value metadata (read it with table_provenance)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"slowmem": json.dumps(provenance(), sort_keys=True).encode()})
        atomic_write(self.table_path, lambda f: pq.write_table(table, f))

    # ---------------------------------------------------------------- arrays
    def write_arrays(self, network_id: str, data: bytes) -> tuple[str, str]:
        """Store one network's array file; returns ``(relative path, sha256)``."""

        rel = array_relpath(network_id)
        atomic_write(self.path / rel, data)
        return rel, sha256_bytes(data)

    def array_problem(self, row: Mapping) -> str | None:
        """Why the array file of ``row`` cannot be trusted, or None when it can."""
        nid, rel, want = row.get("network_id"), row.get("array_file"), row.get("array_sha256")
        if not isinstance(rel, str) or not isinstance(want, str) or not rel or not want:
            return "no array file recorded"
        if not isinstance(nid, str) or rel != array_relpath(nid):
            return f"array file {rel!r} is not {array_relpath(str(nid))!r}, the only place this network's may be"
        p = self.path / rel
        if not p.is_file() or p.is_symlink():
            return f"array file {rel} is missing"
        if sha256_file(p) != want:
            return f"array file {rel} does not match its recorded SHA-256 (truncated or changed)"
        return None

    def read_arrays(self, row: Mapping) -> dict:
        """The tensors of ``row``'s array file, verified (hash, place, metadata against the row)."""
        data = self.read_array_bytes(row)
        return unpack_arrays(data, row, name=str(self.path / row["array_file"]))

    def read_array_bytes(self, row: Mapping) -> bytes:
        """The bytes of ``row``'s array file, verified against its hash and place."""
        problem = self.array_problem(row)
        if problem:
            raise StoredFileError(f"{self.path}: {problem}")
        return (self.path / row["array_file"]).read_bytes()


def _verified_rows(df, path: Path, network_ids: Iterable[str] | None) -> tuple[dict[str, dict], dict[str, str]]:
    wanted = None if network_ids is None else set(network_ids)
    rows: dict[str, dict] = {}
    notes: dict[str, str] = {}
    seen: dict[str, int] = {}
    for rec in df.to_dict("records"):
        row = {k: unnumpy(v) for k, v in rec.items()}
        nid = str(row.get("network_id"))
        seen[nid] = seen.get(nid, 0) + 1
        if wanted is not None and nid not in wanted:
            notes[nid] = f"{path}: row {nid!r} belongs to no network of this folder's grid; ignored"
            continue
        if row.get("row_sha256") != row_hash(row):
            notes[nid] = f"{path}: row {nid!r} was changed after it was written (row_sha256 differs); not trusted"
            continue
        rows[nid] = row
    for nid, n in seen.items():
        if n > 1 and nid in rows:
            del rows[nid]
            notes[nid] = f"{path}: network {nid!r} has {n} rows; none is trusted"
    return rows, notes

