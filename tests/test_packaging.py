"""The wheel: every subpackage and data file of the source tree is inside it (editable installs hide gaps)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _source_files() -> set[str]:
    """Every module and data file under slowmem/ that a user of the package needs."""
    keep = {".py", ".safetensors"}
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "slowmem").rglob("*")
            if p.is_file() and p.suffix in keep and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_wheel_holds_every_subpackage_and_data_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "slowmem", src / "slowmem", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel, = (tmp_path / "dist").glob("slowmem-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    missing = sorted(_source_files() - names)
    assert not missing, f"the wheel lacks {missing}"
    assert {"slowmem/book/exercises/__init__.py", "slowmem/data/digits_vae.safetensors"} <= names
    assert any(n.endswith("entry_points.txt") for n in names)
