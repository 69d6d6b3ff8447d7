"""The book's Jupyter kernel spec: quiet on start.

ipykernel logs "Kernel is running over TCP without encryption" at WARNING each time a kernel starts,
so every chapter run (``make book``, ``slowmem chapter``, papermill) printed it. The kernel only talks
to the process that started it, over 127.0.0.1, and jupyter-book and papermill do not provision the
CurveZMQ keys the warning asks for, so the warning is silenced where it is made: the kernel spec
starts the kernel with ``--IPKernelApp.log_level=ERROR`` (errors still show). ``make setup`` runs

    python -m slowmem.book.kernel        # rewrites <sys.prefix>/share/jupyter/kernels/python3/kernel.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["QUIET", "quiet_kernel_spec", "main"]

#: The kernel option that silences the start-up warning (and every other log line below ERROR).
QUIET = "--IPKernelApp.log_level=ERROR"


def quiet_kernel_spec(spec: dict) -> dict:
    """``spec`` (a kernel.json) with :data:`QUIET` before ``-f {connection_file}``; idempotent."""
    argv = [a for a in spec.get("argv", []) if not a.startswith("--IPKernelApp.log_level=")]
    at = argv.index("-f") if "-f" in argv else len(argv)
    return {**spec, "argv": argv[:at] + [QUIET] + argv[at:]}


def main(path: str | Path | None = None) -> Path:
    """Rewrite the kernel spec at ``path`` (default: this interpreter's ``python3`` kernel) quietly."""
    p = Path(path) if path else Path(sys.prefix) / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    p.write_text(json.dumps(quiet_kernel_spec(json.loads(p.read_text())), indent=1) + "\n")
    return p


if __name__ == "__main__":
    print(f"quiet kernel spec: {main(sys.argv[1] if len(sys.argv) > 1 else None)}")
