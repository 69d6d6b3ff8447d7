"""JSON documents: benchmark results, checks and other single-file records kept beside results folders.

Every document written here carries ``created`` (UTC) and the :func:`~.provenance.provenance` stamp, is
written atomically, and reads back only if it is a JSON object; see :func:`write_document`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import ConfigError
from ..errors import StoredFileError
from .files import atomic_write, jsonable, utc_now
from .provenance import provenance

__all__ = ["write_document", "read_document"]


def write_document(path: str | Path, doc: Mapping[str, Any]) -> Path:
    """Write ``doc`` as indented JSON with ``created`` and ``provenance`` first, atomically; returns the path.

    Strict JSON: NaN and infinities are refused (ConfigError), never written as non-standard tokens."""
    path = Path(path)
    if "provenance" in doc or "created" in doc:
        raise ConfigError("a document's 'created' and 'provenance' are written by write_document; leave them out")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"created": utc_now(), "provenance": provenance(), **jsonable(dict(doc))}
    try:
        text = json.dumps(body, indent=2, allow_nan=False) + "\n"
    except ValueError as e:
        raise ConfigError(f"{path}: a document must hold finite numbers only (store inf/NaN as null); {e}") from None
    atomic_write(path, text)
    return path


def read_document(path: str | Path, *, required: tuple[str, ...] = (), what: str = "document") -> dict:
    """The JSON object at ``path``; ConfigError when it is missing, not JSON, not an object, or lacks a key
    of ``required`` (``what`` names the document in the message)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise StoredFileError(f"no {what} at {p}") from None
    except (OSError, ValueError) as e:
        raise StoredFileError(f"{p} is not a readable {what} ({type(e).__name__}: {e})") from None
    if not isinstance(doc, dict):
        raise StoredFileError(f"{p} is not a {what}: a JSON object was expected, got {type(doc).__name__}")
    missing = [k for k in required if k not in doc]
    if missing:
        raise StoredFileError(f"{p} is not a {what}: it lacks {', '.join(missing)}")
    return doc
