"""Grading in a sandbox: run a submission's exercise cells where they cannot reach the instructor's files.

:func:`slowmem.book.coursework.grade_notebook` prepares the cells (setup and checks from the instructor
source, the student's *definitions* from the submission) and :func:`run_cells` runs them:

* **Sandbox** (bubblewrap, ``bwrap``): the runner (``python -m slowmem.book.sandbox``: nbclient and
  its kernel, both inside, since the sandbox has its own network namespace and loopback) sees a
  read-only ``/usr``, a few files of ``/etc``, the Python installation, the virtual environment and
  the ``slowmem`` package -- nothing else of the machine: not the book folder, not ``--source``, not
  ``.git``, not the home folder, not other submissions. Its only writable places are a fresh temporary
  folder holding a copy of the submission (the working directory, ``/submission``), a private
  ``/tmp`` (also ``$HOME``) and the folder the runner writes its result to. No network
  (``--unshare-net``), its own process and IPC namespaces, no capabilities, a new session (no
  terminal injection), killed with its parent. Limits (set by the runner on itself, so the kernel
  inherits them, hard limits the sandbox cannot raise): address space ``memory_gb`` per process,
  files of at most 1 GiB, no core dumps.
* **Time**: the parent watches which cell runs. A cell past ``timeout`` is interrupted (SIGINT, by
  nbclient); one still running ``GRACE_S`` seconds later is killed with the whole sandbox (SIGKILL to
  bwrap's process group; ``--die-with-parent`` and the PID namespace take every process inside with
  it). The killed check scores 0, is reported, and the checks after it run again in a fresh sandbox.
* **Definitions only**: :func:`extract_definitions` keeps the top-level ``def`` s, imports and
  literal constants of a solution cell, without decorators or annotations (which run at definition
  time) and without rebinding a name the setup cell defines; every other top-level statement is
  dropped and reported. Code that monkeypatches the checks at the top level of a cell therefore never
  runs. Code inside a function runs when the check calls it, in the check's process, so it can still
  try: :func:`grader_flags` lists every use of the grader's names or of escape hatches (``setattr``,
  ``sys``, ``os``, ``open``, ...) for review, and a guard cell after each check compares the check
  machinery with a snapshot taken before any student code ran (a change scores 0 and is reported).
* **Scores** are read by the parent, outside the sandbox: a check's value must be a number between 0
  and its points; an error or stderr output scores 0 (nbgrader's rule), and so does a missing or
  unreadable value (where nbgrader would give full credit).
"""
from __future__ import annotations

import ast
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from slowmem.config import ConfigError

__all__ = ["MAX_TIMEOUT_S", "GRACE_S", "check_timeout", "check_memory", "extract_definitions", "grader_flags",
           "check_score", "bwrap_command", "run_cells"]

#: The longest ``--timeout`` allowed (seconds per cell).
MAX_TIMEOUT_S = 3600.0
#: Seconds between the interrupt at the timeout and the kill of the sandbox.
GRACE_S = 3.0
#: Seconds allowed for the sandbox and its kernel to start.
STARTUP_S = 120.0
#: Largest file the sandbox may write, and largest result the parent reads.
MAX_FILE_BYTES = 1 << 30
MAX_RESULT_BYTES = 64 << 20

#: Names whose use in a solution cell is reported: the grader's own, and ways around a check.
GRADER_NAMES = frozenset({"exercises", "checks", "_Check", "_run", "_quiet", "finish", "part"})
ESCAPE_NAMES = frozenset({"setattr", "delattr", "globals", "locals", "vars", "__dict__", "__builtins__", "builtins",
                          "sys", "os", "gc", "inspect", "ctypes", "importlib", "__import__", "exec", "eval",
                          "compile", "open", "subprocess", "signal", "socket", "get_ipython", "_exit",
                          "__class__", "__globals__", "__code__", "__subclasses__", "shutil", "pathlib"})

# The guard: a snapshot of the check machinery before any student code (references, so that no id is reused),
# compared by identity after each check.
GUARD_SNAPSHOT = """\
def _slowmem_grader_state():
    import sys as _s
    _m = {n: m for n, m in list(_s.modules.items()) if n.startswith("slowmem.book.exercises")}
    _st = {(n, k): v for n, m in _m.items() for k, v in list(vars(m).items())}
    _c = _m["slowmem.book.exercises.checks"]._Check
    _st.update({("_Check", k): v for k, v in list(vars(_c).items())})
    _st[("ex",)] = globals().get("ex")
    return _st
_slowmem_grader_before = _slowmem_grader_state()
"""
GUARD_VERIFY = ("sorted('.'.join(map(str, k)) for k, v in _slowmem_grader_before.items() "
                "if _slowmem_grader_state().get(k, _slowmem_grader_state) is not v)")


# --------------------------------------------------------------------------- #
# settings
# --------------------------------------------------------------------------- #
def check_timeout(timeout: Any) -> float:
    """``timeout`` as seconds per cell: a finite number from 1 to :data:`MAX_TIMEOUT_S`, else ConfigError."""
    try:
        t = float(timeout)
    except (TypeError, ValueError):
        t = math.nan
    if isinstance(timeout, bool) or not (1.0 <= t <= MAX_TIMEOUT_S):
        raise ConfigError(f"timeout = {timeout!r}: allowed are seconds per cell from 1 to {MAX_TIMEOUT_S:g} "
                          "(a finite number; there is no 'no limit')")
    return t


def check_memory(memory_gb: Any) -> float:
    """``memory_gb`` (GiB of address space per process): a finite number from 1 to 1024, else ConfigError."""
    try:
        m = float(memory_gb)
    except (TypeError, ValueError):
        m = math.nan
    if isinstance(memory_gb, bool) or not (1.0 <= m <= 1024.0):
        raise ConfigError(f"memory = {memory_gb!r}: allowed are 1 to 1024 GiB of address space per process")
    return m


# --------------------------------------------------------------------------- #
# what a solution cell may define
# --------------------------------------------------------------------------- #
def _bound(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return []


def _plain_default(node: ast.expr) -> bool:
    """A default value that runs no code: a literal, a name or a dotted name (``np.pi``)."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_plain_default(e) for e in node.elts)
    while isinstance(node, ast.Attribute):
        node = node.value
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    return isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _keep(node: ast.stmt, reserved: frozenset[str]) -> str | None:
    """None if ``node`` is kept (possibly stripped in place), else why it is dropped."""
    names = _bound(node)
    clash = [n for n in names if n in reserved or n.startswith("_slowmem")]
    if clash:
        return f"rebinds {', '.join(clash)} (defined by the setup cell)"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        if not all(_plain_default(d) for d in a.defaults + [d for d in a.kw_defaults if d is not None]):
            return f"function {node.name}: a default value that is not a literal or a name"
        node.decorator_list = []
        node.returns = None
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]:
            arg.annotation = None
        return None
    if isinstance(node, ast.Assign) and len(names) == len(node.targets) and _literal(node.value):
        return None
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return ""                                        # a bare string (a comment): dropped silently
    return f"{type(node).__name__} statement"


def extract_definitions(source: str, reserved: frozenset[str] | set[str] = frozenset()) -> tuple[str, list[str]]:
    """The part of a solution cell the grader runs, and notes on what it left out.

    Kept: top-level ``def`` s (without decorators and annotations; default values must be literals or
    names), ``import`` s and ``NAME = literal``; none may rebind a name in ``reserved`` (the setup
    cell's). Dropped, with a note: everything else (calls, assignments of computed values, classes,
    loops, ...). Magics are translated by IPython first; a cell that does not parse becomes a cell
    that raises the SyntaxError.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError as e:
        msg = f"line {e.lineno}: {e.msg}"
        return f"raise SyntaxError({('your solution cell does not parse: ' + msg)!r})\n", [f"syntax error ({msg})"]
    kept, notes = [], []
    for node in tree.body:
        why = _keep(node, frozenset(reserved))
        if why is None:
            kept.append(node)
        elif why:
            notes.append(f"line {node.lineno}: {why}")
    if notes:
        notes = ["not run by the grader (only definitions are): " + "; ".join(notes)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) + "\n", notes


def setup_names(source: str) -> frozenset[str]:
    """The names the setup cell binds at its top level (plus the check cell's ``ex``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset({"ex"})
    return frozenset({n for node in tree.body for n in _bound(node)} | {"ex"})


def grader_flags(source: str) -> list[str]:
    """Uses in a solution cell of the grader's names or of escape hatches, for review (empty if none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    grader, escape = set(), set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Name):
            names = [node.id]
            if node.id == "ex" and isinstance(node.ctx, (ast.Store, ast.Del)):
                grader.add("assigns ex")
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                root = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id == "ex":
                    grader.add("assigns an attribute of ex")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [p for a in node.names for p in a.name.split(".")] + (
                node.module.split(".") if isinstance(node, ast.ImportFrom) and node.module else [])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names = list(node.names)
            grader.update(f"declares global {n}" for n in node.names if n == "ex")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "exercises" in node.value:
            grader.add("a string naming the exercises module")
        grader.update(n for n in names if n in GRADER_NAMES)
        escape.update(n for n in names if n in ESCAPE_NAMES)
    out = [f"touches the grader: {', '.join(sorted(grader))}"] if grader else []
    return out + ([f"uses {', '.join(sorted(escape))}"] if escape else [])


def check_score(outputs: Any, max_score: float) -> tuple[float, str]:
    """The score of a check cell from its outputs, and a note when it is 0 for a reason of its own."""
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        return 0.0, "the check's outputs are unreadable"
    for o in outputs:
        if o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr"):
            return 0.0, ""                                # nbgrader's rule: an error or stderr output scores 0
    values = [o for o in outputs if o.get("output_type") == "execute_result"]
    if len(values) != 1:
        return 0.0, "the check returned no score"
    text = (values[0].get("data") or {}).get("text/plain")
    text = "".join(text) if isinstance(text, list) else text
    try:
        score = float(text)
    except (TypeError, ValueError):
        score = math.nan
    if not (0.0 <= score <= max_score):
        return 0.0, f"the check's value {str(text)[:40]!r} is not a score from 0 to {max_score:g}"
    return score, ""


# --------------------------------------------------------------------------- #
# the sandbox
# --------------------------------------------------------------------------- #
def _package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def bwrap_command(work: Path, job_dir: Path, out_dir: Path, bwrap: str = "bwrap") -> list[str]:
    """The bubblewrap command line (without the command it runs); see the module docstring."""
    cmd = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / top
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            cmd += ["--ro-bind", str(p), str(p)]
    for f in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime",
              "hosts", "alternatives"):
        if (Path("/etc") / f).exists():
            cmd += ["--ro-bind", f"/etc/{f}", f"/etc/{f}"]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    seen: list[Path] = []
    for p in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
              Path(sys.executable).resolve().parent.parent, _package_dir()):
        p = Path(p).resolve()
        if p.is_dir() and p != Path("/") and not any(s == p or s in p.parents for s in seen):
            seen.append(p)
            cmd += ["--ro-bind", str(p), str(p)]
    cmd += ["--ro-bind", str(job_dir), "/grader", "--bind", str(out_dir), "/grader-out",
            "--bind", str(work), "/submission", "--chdir", "/submission", "--clearenv"]
    env = {"HOME": "/tmp/home", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SLOWMEM_GRADER_JOB": work.name}
    env.update({k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
                if k in os.environ})
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    return cmd


def _launch(cells: list[dict], copy_of: Path, opts: dict, tmp: Path) -> tuple[subprocess.Popen, Path, Path]:
    job, out, work = tmp / "job", tmp / "out", tmp / "work"
    for d in (job, out, work):
        d.mkdir()
    shutil.copy2(copy_of, work / copy_of.name)
    (job / "job.json").write_text(json.dumps({"cells": cells, **opts}))
    runner = [sys.executable, "-m", "slowmem.book.sandbox"]
    if opts["sandbox"]:
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise ConfigError("grading needs bubblewrap (bwrap), which is not installed: install it "
                              "(apt-get install bubblewrap), or pass --unsandboxed (sandbox=False) to grade "
                              "without a sandbox, where the student's code runs with your own access")
        cmd = bwrap_command(work, job, out, bwrap) + runner + ["/grader/job.json", "/grader-out"]
        env = None
    else:
        cmd = runner + [str(job / "job.json"), str(out)]
        env = {**os.environ, "MPLBACKEND": "Agg", "SLOWMEM_GRADER_JOB": work.name}
    log = (tmp / "runner.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)
    log.close()
    return proc, out, tmp / "runner.log"


def _read_int(p: Path) -> int | None:
    try:
        return int(p.read_text()[:20])
    except (OSError, ValueError):
        return None


def _watch(proc: subprocess.Popen, out: Path, n: int, timeout: float, sandbox: bool) -> dict:
    """Wait for the runner; kill it when a cell outlives ``timeout`` + :data:`GRACE_S`. Returns
    ``{"killed_at": cell index or None, "reason": str}``."""
    t0 = time.monotonic()
    seen, cell_t0 = -1, None
    total = STARTUP_S + n * (timeout + GRACE_S)
    while proc.poll() is None:
        time.sleep(0.1)
        now = time.monotonic()
        idx = _read_int(out / "progress")
        if idx is not None and seen < idx < n:
            seen, cell_t0 = idx, now
        reason = None
        if cell_t0 is None and now - t0 > STARTUP_S:
            reason = f"the kernel did not start within {STARTUP_S:g} s"
        elif cell_t0 is not None and now - cell_t0 > timeout + GRACE_S:
            reason = (f"ran past the time limit ({timeout:g} s); killed {now - cell_t0 - timeout:.1f} s after "
                      "the limit")
        elif now - t0 > total:
            reason = "the whole run took longer than its cells' time limits allow"
        if reason:
            if not sandbox:
                kp = _read_int(out / "kernel_pid")
                if kp and kp > 1:
                    try:
                        os.killpg(kp, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            return {"killed_at": seen if cell_t0 is not None else None, "reason": reason}
    return {"killed_at": None, "reason": ""}


def _result(out: Path) -> dict:
    p = out / "result.json"
    try:
        if p.stat().st_size > MAX_RESULT_BYTES:
            return {}
        res = json.loads(p.read_text())
    except (OSError, ValueError):
        return {}
    return res if isinstance(res, dict) and isinstance(res.get("outputs"), dict) else {}


def _run_once(cells: list[dict], copy_of: Path, opts: dict) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="slowmem-grade-"))
    try:
        proc, out, log = _launch(cells, copy_of, opts, tmp)
        watch = _watch(proc, out, len(cells), opts["timeout"], opts["sandbox"])
        res = _result(out)
        outputs = {k: v for k, v in res.get("outputs", {}).items() if isinstance(v, list)}
        killed, error = {}, ""
        if watch["killed_at"] is not None:
            killed[cells[watch["killed_at"]]["id"]] = watch["reason"]
            outputs.pop(cells[watch["killed_at"]]["id"], None)
        elif watch["reason"]:
            error = watch["reason"]
        elif not outputs and proc.returncode:
            tail = log.read_bytes()[-1500:].decode("utf-8", "replace").strip()
            if opts["sandbox"] and "bwrap:" in tail:
                raise ConfigError(f"the grading sandbox (bubblewrap) failed to start: {tail.splitlines()[-1]}; "
                                  "fix bubblewrap, or pass --unsandboxed to grade without a sandbox")
            error = f"the grading kernel failed (exit status {proc.returncode}): {tail[-600:]}"
        elif isinstance(res.get("error"), str):
            error = res["error"][:600]
        return {"outputs": outputs, "killed": killed, "error": error, "killed_at": watch["killed_at"]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_cells(cells: list[dict], copy_of: str | Path, *, timeout: float, memory_gb: float = 8.0,
              kernel_name: str = "python3", sandbox: bool = True) -> dict:
    """Run ``cells`` (``[{"id", "source", "kind"}]``) in a fresh kernel, in the sandbox unless ``sandbox``
    is False; ``kind`` is ``"prefix"`` (setup and definitions), ``"check"`` or ``"guard"`` (after a check).

    The working directory is a fresh temporary folder holding a copy of ``copy_of`` (the submission).
    A check killed at its time limit is reported and the checks after it run again in a fresh sandbox
    (the prefix first). Returns ``{"outputs": {id: [output dicts]}, "killed": {id: reason}, "error": str,
    "runs": int}``: cells that did not run are absent from ``outputs``; ``error`` says why a run stopped
    early, if it did.
    """
    timeout, memory_gb = check_timeout(timeout), check_memory(memory_gb)
    opts = {"timeout": timeout, "memory_bytes": int(memory_gb * (1 << 30)), "kernel_name": kernel_name,
            "sandbox": bool(sandbox)}
    prefix = [c for c in cells if c["kind"] == "prefix"]
    todo, outputs, killed, error, runs = list(cells), {}, {}, "", 0
    while todo:
        run = _run_once(todo, Path(copy_of), opts)
        runs += 1
        outputs.update(run["outputs"])
        killed.update(run["killed"])
        error = error or run["error"]
        k = run["killed_at"]
        if k is None or todo[k]["kind"] == "prefix":
            if k is not None:
                error = error or f"{todo[k]['id']} {run['killed'][todo[k]['id']]}"
            break
        rest = todo[k + 1:]
        while rest and rest[0]["kind"] == "guard":
            rest = rest[1:]
        todo = prefix + rest if rest else []
    return {"outputs": outputs, "killed": killed, "error": error, "runs": runs}


# --------------------------------------------------------------------------- #
# the runner (inside the sandbox)
# --------------------------------------------------------------------------- #
def _write_atomic(p: Path, text: str) -> None:
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, p)


def _limit(memory_bytes: int) -> None:
    for res, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_FSIZE, MAX_FILE_BYTES),
                       (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(res, (value, value))


def _run_job(job_file: str, out_dir: str) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellControlSignal, CellTimeoutError, DeadKernelError

    job, out = json.loads(Path(job_file).read_text()), Path(out_dir)
    _limit(int(job["memory_bytes"]))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c["source"]) for c in job["cells"]])
    client = NotebookClient(nb, timeout=int(math.ceil(job["timeout"])), kernel_name=job["kernel_name"],
                            allow_errors=True, interrupt_on_timeout=True,
                            resources={"metadata": {"path": os.getcwd()}})
    outputs: dict[str, list] = {}
    result = {"outputs": outputs}
    client.reset_execution_trackers()
    try:
        with client.setup_kernel(env={**os.environ, "MPLBACKEND": "Agg"}):
            pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            if pid:
                _write_atomic(out / "kernel_pid", str(pid))
            for i, (spec, cell) in enumerate(zip(job["cells"], nb.cells)):
                _write_atomic(out / "progress", str(i))
                try:
                    client.execute_cell(cell, i)
                except CellTimeoutError:
                    pass
                outputs[spec["id"]] = [dict(o) for o in cell.get("outputs", [])]
                _write_atomic(out / "result.json", json.dumps(result))
    except (DeadKernelError, CellControlSignal, RuntimeError) as e:
        result["error"] = f"the kernel stopped: {type(e).__name__}: {str(e)[:300]}"
        _write_atomic(out / "result.json", json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_run_job(sys.argv[1], sys.argv[2]))
