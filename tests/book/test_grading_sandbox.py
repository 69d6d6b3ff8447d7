"""Grading you can trust (issue 28): hostile submissions built from chapter 1's student edition cannot read
the solutions, change a file outside their folder, outlive --timeout, or score above their own functions;
bad flags and malformed notebooks give a message, not a traceback."""
import json
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from slowmem.book import coursework as cw
from slowmem.book import locate_book
from slowmem.book import sandbox as sb
from slowmem.config import ConfigError
from slowmem.errors import StoredFileError

BOOK = locate_book()
SOURCE = BOOK / "01_task.ipynb"
SOLUTION_LINE = "2.25 tau is 22.5"          # a comment that exists only in the instructor's solution of 1.1
def _require_bwrap():
    """The sandbox tests need bubblewrap (.ci/run installs it): without it they fail saying so, never skip."""
    assert shutil.which("bwrap"), "bubblewrap is not installed: apt-get install -y bubblewrap (as .ci/run does)"


def _submission(folder: Path, sources: dict, name: str = "01_task.ipynb") -> Path:
    """Chapter 1's student edition with the solution cells ``sources`` (grade id -> source) filled in."""
    nb = cw.student_notebook(nbformat.read(str(SOURCE), as_version=4))
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in sources:
            c.source = sources[gid]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / name))
    return folder / name


def _solution(gid: str) -> str:
    return next(c.source for c in nbformat.read(str(SOURCE), as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _grader_processes() -> list[int]:
    """Live processes started by a grading run (they carry SLOWMEM_GRADER_JOB in their environment)."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and b"SLOWMEM_GRADER_JOB=" in (d / "environ").read_bytes():
                out.append(int(d.name))
        except OSError:
            pass
    return out


# --------------------------------------------------------------------------- #
# fast: flags, notebooks and code, no kernel
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("value", ["0.001", "0", "-5", "nan", "inf", "4000"])
def test_bad_timeout_is_refused_before_any_work(value, capsys):
    with pytest.raises(SystemExit) as e:
        cw.main(["grade", "absent.ipynb", "--timeout", value])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--timeout" in err and "from 1 to 3600" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="from 1 to 3600"):
        cw.grade_notebook("absent.ipynb", timeout=float(value))


def _raw_submission(tmp_path, edit) -> Path:
    nb = json.loads(nbformat.writes(cw.student_notebook(nbformat.read(str(SOURCE), as_version=4))))
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex-1-2-solution")
    edit(cell)
    p = tmp_path / "01_task.ipynb"
    p.write_text(json.dumps(nb))
    return p


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["metadata"]["nbgrader"].update(grade_id=["ex-1-2-solution"]), "grade_id is .*must be text"),
    (lambda c: c["metadata"].update(nbgrader="solution"), "metadata.nbgrader is a str; it must be a mapping"),
    (lambda c: c.update(source=None), "source of type NoneType; a cell's source must be text"),
    (lambda c: c["metadata"]["nbgrader"].update(points="lots"), "points is 'lots'; it must be a number"),
])
def test_malformed_nbgrader_metadata_is_a_message_per_notebook(tmp_path, capsys, edit, message):
    p = _raw_submission(tmp_path, edit)
    with pytest.raises(StoredFileError, match=message):
        cw.grade_notebook(p, source=SOURCE)
    assert cw.main(["grade", str(p), "--source", str(SOURCE)]) == 1
    err = capsys.readouterr().err
    assert re.search(message, err) and str(p) in err and "Traceback" not in err


def test_only_definitions_of_a_solution_cell_run():
    src = ("import math\nfrom slowmem.book.exercises.checks import _Check\nLIMIT = 3\n"
           "ex.check_trial_steps = lambda *a: 2.0\nex = None\n_Check.finish = lambda self: 2.0\n"
           "print(open('/etc/passwd').read())\nclass Helper:\n    x = setattr(ex, 'a', 1)\n"
           "@(lambda f: f)\ndef f(x: print('annotation') = 1, *, y=np.pi) -> print('ret'):\n    return x\n"
           "def g(x=print('default')):\n    return x\n"
           "def task_ex():\n    pass\n")
    reserved = sb.setup_names("from slowmem.book import exercises as ex\nimport numpy as np\ntask_ex = 1\n")
    code, notes = sb.extract_definitions(src, reserved)
    assert [line for line in code.splitlines() if line] == [
        "import math", "from slowmem.book.exercises.checks import _Check", "LIMIT = 3", "def f(x=1, *, y=np.pi):",
        "    return x"]
    text = notes[0]
    for dropped in ("line 4: Assign", "line 5: rebinds ex", "line 6: Assign", "line 7: Expr", "line 8: ClassDef",
                    "function g: a default value", "rebinds task_ex"):
        assert dropped in text
    assert sb.extract_definitions("def f(:\n")[0].startswith("raise SyntaxError(")
    assert sb.extract_definitions("%time x = 1\ndef f():\n    return 1\n")[0] == "def f():\n    return 1\n"
    flags = sb.grader_flags(src)
    assert "_Check" in flags[0] and "assigns an attribute of ex" in flags[0] and "assigns ex" in flags[0]
    assert sb.grader_flags(_solution("ex-1-1-solution")) == []


def test_a_check_value_must_be_a_score():
    res = lambda v: [{"output_type": "execute_result", "data": {"text/plain": v}}]  # noqa: E731
    assert sb.check_score(res("1.0"), 2.0) == (1.0, "")
    for bad in ("'PASS'", "nan", "-1.0", "3.0", ["1.0", "2.0"]):
        assert sb.check_score(res(bad), 2.0)[0] == 0.0
    assert sb.check_score([], 2.0) == (0.0, "the check returned no score")          # nbgrader: full credit
    assert sb.check_score([{"output_type": "stream", "name": "stderr", "text": "x"}] + res("2.0"), 2.0)[0] == 0


def test_the_sandbox_sees_no_book_and_grading_needs_bwrap(tmp_path, monkeypatch):
    cmd = sb.bwrap_command(tmp_path / "w", tmp_path / "j", tmp_path / "o")
    binds = [cmd[i + 1] for i, a in enumerate(cmd) if a in ("--bind", "--ro-bind")]
    assert "/" not in binds and not any(Path(b) in (BOOK, BOOK.parent, Path.home()) for b in binds)
    assert not any(Path(b) in BOOK.parents or Path(b) == BOOK or BOOK in Path(b).parents for b in binds
                   if Path(b) not in (Path("/usr"),) and not str(b).startswith("/etc"))
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in cmd
    monkeypatch.setattr(sb.shutil, "which", lambda name: None)
    sub = _submission(tmp_path / "s", {})
    with pytest.raises(ConfigError, match="bubblewrap.*--unsandboxed"):
        cw.grade_notebook(sub, source=SOURCE, timeout=10)


# --------------------------------------------------------------------------- #
# slow: hostile submissions graded in the sandbox (a kernel each)
# --------------------------------------------------------------------------- #
READ_AND_RUN = '''
def {name}({args}):
    import json, os
    seen = {{"cwd": sorted(os.listdir(".")), "parent": sorted(os.listdir(".."))}}
    for p in {paths!r}:
        try:
            cells = json.load(open(p))["cells"]
        except Exception as e:
            seen[p] = type(e).__name__
            continue
        for c in cells:
            if c["metadata"].get("nbgrader", {{}}).get("grade_id") == "{gid}":
                g = {{}}
                exec("".join(c["source"]), g)
                return g["{name}"]({args})
    raise RuntimeError("found no solutions: " + json.dumps(seen))
'''


@pytest.mark.slow
def test_a_submission_cannot_read_or_run_the_solutions(tmp_path):
    _require_bwrap()
    src = tmp_path / "instructor" / "01_task.ipynb"
    src.parent.mkdir()
    shutil.copy(SOURCE, src)
    paths = [str(SOURCE), str(src), "../01_task.ipynb", "../book/01_task.ipynb", "/work/main/book/01_task.ipynb"]
    top = f"import json\ng = {{}}\nexec(json.load(open({str(SOURCE)!r}))['cells'][0]['source'], g)\n"
    sub = _submission(tmp_path / "alice", {
        "ex-1-1-solution": READ_AND_RUN.format(name="trial_steps", args="timing, dt=0.1", paths=paths,
                                               gid="ex-1-1-solution").replace("({args})", "(timing, dt)"),
        "ex-1-2-solution": READ_AND_RUN.format(name="targets", args="task, trial_type", paths=paths,
                                               gid="ex-1-2-solution"),
        "ex-1-3-solution": top + _solution("ex-1-3-solution").replace("### BEGIN SOLUTION", "")})
    res = cw.grade_notebook(sub, source=src, timeout=60)
    rows = {r["exercise"]: r for r in res["exercises"]}
    assert rows["1.1"]["score"] == rows["1.2"]["score"] == 0, res
    assert rows["1.3"]["score"] == 2.0                       # its own (correct) function still earns its points
    out = "".join(rows["1.1"]["output"].split())                # the check wraps its lines
    assert "foundnosolutions" in out and '"cwd":["01_task.ipynb"]' in out and "".join(SOLUTION_LINE.split()) not in out
    assert all(p in out for p in paths[:2])                  # both tried, neither found
    assert any("not run by the grader" in n for n in rows["1.3"]["notes"])


@pytest.mark.slow
def test_a_submission_cannot_change_files_outside_its_folder(tmp_path):
    _require_bwrap()
    src = tmp_path / "instructor" / "01_task.ipynb"
    src.parent.mkdir()
    shutil.copy(SOURCE, src)
    before = src.read_bytes()
    token = f"slowmem-pwned-{os.getpid()}-{time.time_ns()}"
    targets = [src.parent / token, Path("/tmp") / token, Path.home() / token, BOOK / token]
    body = ("def trial_steps(timing, dt=0.1):\n    import os\n    log = []\n"
            f"    for p in {[str(t) for t in targets]!r}:\n"
            "        try:\n            open(p, 'w').write('x')\n            log.append('wrote ' + p)\n"
            "        except OSError as e:\n            log.append(type(e).__name__)\n"
            f"    for p in [{str(src)!r}]:\n"
            "        try:\n            os.remove(p)\n            log.append('deleted ' + p)\n"
            "        except OSError as e:\n            log.append(type(e).__name__)\n"
            "    open('mine.txt', 'w').write('x')\n"                    # its own folder is writable
            "    raise RuntimeError(str(log) + ' own folder: ' + str(sorted(os.listdir('.'))))\n")
    sub = _submission(tmp_path / "bob", {"ex-1-1-solution": body, "ex-1-2-solution": _solution("ex-1-2-solution")})
    res = cw.grade_notebook(sub, source=src, timeout=60)
    rows = {r["exercise"]: r for r in res["exercises"]}
    assert src.read_bytes() == before and not any(t.exists() for t in targets), rows["1.1"]["output"]
    out = "".join(rows["1.1"]["output"].split())
    # /tmp and $HOME inside are the sandbox's own (thrown away); the source folder and the book are not there
    assert f"wrote{src.parent}" not in out and f"wrote{BOOK}" not in out and "deleted" not in out
    assert "'01_task.ipynb','mine.txt'" in "".join(rows["1.1"]["output"].split())
    assert rows["1.1"]["score"] == 0 and rows["1.2"]["score"] == 2.0
    assert sorted(p.name for p in (tmp_path / "bob").iterdir()) == ["01_task.ipynb"]     # a copy was graded


@pytest.mark.slow
def test_a_loop_that_ignores_sigint_is_killed_at_the_deadline(tmp_path, capsys):
    _require_bwrap()
    loop = ("def trial_steps(timing, dt=0.1):\n    import signal\n"
            "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n    while True:\n        pass\n")
    sub = _submission(tmp_path / "carol", {"ex-1-1-solution": loop, "ex-1-2-solution": _solution("ex-1-2-solution")})
    t0 = time.monotonic()
    assert cw.main(["grade", str(sub), "--source", str(SOURCE), "--timeout", "5", "--json"]) == 0
    elapsed = time.monotonic() - t0
    res = json.loads(capsys.readouterr().out)
    rows = {r["exercise"]: r for r in res["exercises"]}
    assert rows["1.1"]["score"] == 0 and rows["1.1"]["output"].startswith("(killed: ran past the time limit (5 s)")
    late = float(re.search(r"killed ([\d.]+) s after the limit", rows["1.1"]["output"]).group(1))
    assert late <= sb.GRACE_S + 1.0, late
    assert rows["1.2"]["score"] == 2.0                        # the checks after it ran in a fresh sandbox
    assert not _grader_processes()
    print(f"SIGINT-ignoring loop: killed {late:.1f} s after --timeout 5; whole grading {elapsed:.1f} s")


@pytest.mark.slow
def test_patching_the_checks_scores_nothing(tmp_path):
    _require_bwrap()
    stub = cw.student_notebook(nbformat.read(str(SOURCE), as_version=4))
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in stub.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    sub = _submission(tmp_path / "dave", {
        "ex-1-1-solution": stubs["ex-1-1-solution"] + "\nex.check_trial_steps = lambda *a, **k: 2.0\n",
        "ex-1-2-solution": stubs["ex-1-2-solution"] + "\nimport types\nex = types.SimpleNamespace("
                           "check_targets=lambda *a, **k: 2.0, check_classify_draws=lambda *a, **k: 2.0)\n",
        "ex-1-3-solution": "from slowmem.book.exercises.checks import _Check\n_Check.finish = lambda self: 2.0\n"
                           "def classify_draws(latents, class_means):\n"
                           "    import slowmem.book.exercises.checks as c\n"
                           "    c._Check.finish = lambda self: 2.0\n    raise NotImplementedError()\n"})
    res = cw.grade_notebook(sub, source=SOURCE, timeout=60)
    rows = {r["exercise"]: r for r in res["exercises"]}
    assert res["score"] == 0 and res["max_score"] == 6, [(r["exercise"], r["score"], r["flags"]) for r in rows.values()]
    assert "not implemented yet" in rows["1.1"]["output"] and "not implemented yet" in rows["1.2"]["output"]
    assert any("assigns an attribute of ex" in f for f in rows["1.1"]["flags"])
    assert any("assigns ex" in f for f in rows["1.2"]["flags"])
    assert any("changed the grader while its check ran" in f for f in rows["1.3"]["flags"])
    assert "FLAGGED for review" in cw.format_grades(res)
