"""The provenance stamp every stored file carries: what made it (package, commit, interpreter, libraries).

One function, :func:`provenance`, so that a results folder's manifest, each of its array files and table,
a network file and a benchmark's JSON all name their maker the same way. The stamp is identical for every
file one checkout writes, so the same results still give the same bytes within a run and a resume.
"""
from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from slowmem import __version__

__all__ = ["provenance", "git_commit"]

#: Libraries whose versions can change a stored number.
LIBRARIES = ("torch", "numpy", "scipy", "numba", "pandas", "pyarrow", "safetensors")


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the source checkout slowmem is imported from (``+dirty`` when it has uncommitted changes
    to tracked files), or None for an installed wheel or where git is missing."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def _stamp() -> tuple[tuple[str, object], ...]:
    libs = {name: _version(name) for name in LIBRARIES}
    return (("slowmem", __version__), ("commit", git_commit()), ("python", platform.python_version()),
            ("libraries", tuple(sorted(libs.items()))))


def provenance() -> dict:
    """``{"slowmem": version, "commit": sha or None, "python": "3.11.7", "libraries": {name: version}}``."""
    d = dict(_stamp())
    d["libraries"] = dict(d["libraries"])
    return d
