"""Files on disk: atomic writes, hashes, canonical JSON, safetensors headers. No pickle anywhere.

Every file slowmem writes goes through :func:`atomic_write`: a temporary
sibling, flushed and fsynced, then renamed over the target, so a killed
process leaves either the old file or the new one, never a torn one.
"""
from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import SlowmemError

__all__ = ["atomic_write", "utc_now", "sha256_bytes", "sha256_file", "jsonable", "dumps",
           "safetensors_metadata", "file_mode"]


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    raise TypeError(f"cannot store a {type(x).__name__} in a record; return plain data "
                    "(numbers, strings, lists, dicts, arrays)")


def dumps(x: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) of plain data: equal data, equal bytes."""
    return json.dumps(jsonable(x), sort_keys=True, separators=(",", ":"))


def file_mode() -> int:
    """The mode ``open()`` would give a new file under the current umask (``mkstemp`` alone gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | Path, data: bytes | str | Callable[[Any], None]) -> None:
    """Write ``data`` (bytes, text, or a function writing to a binary file) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    write = data if callable(data) else (lambda f: f.write(data))
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        if e.errno in _DISK_ERRNOS:
            raise _write_error(path, e) from None
        raise
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in _DISK_ERRNOS:
            raise _write_error(path, e) from None
        raise


#: The errors of a full or over-quota disk: a message, not a traceback (the file is left as it was).
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _write_error(path: Path, e: OSError) -> SlowmemError:
    return SlowmemError(f"cannot write {path}: {e.strerror or e} (errno {e.errno}); nothing of it was written and "
                        "what was there is unchanged: free space (or choose another folder) and run the same "
                        "command again, it continues where it stopped")


def safetensors_metadata(data: bytes) -> dict:
    """The ``__metadata__`` of a safetensors blob (ValueError when it is not one)."""
    if len(data) < 8:
        raise ValueError("shorter than a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError("header runs past the end of the file (truncated)")
    return json.loads(data[8:8 + n]).get("__metadata__", {}) or {}
