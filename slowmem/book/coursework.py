"""Coursework: the student edition of the book and autograding of submitted notebooks.

One source, two editions. The chapter notebooks in ``book/`` are the single
source and, built as they are (``make book``), the **instructor edition**.
Their ``## Exercises`` sections are marked up for **nbgrader** (cell metadata
``nbgrader``, schema 3), so that the same notebooks also work in an
instructor's own nbgrader course (``nbgrader generate_assignment`` /
``autograde`` / formgrader):

* a *setup* cell (read-only, grade id ``ex-<chapter>-setup``): the imports and
  objects the exercises need; the exercises never depend on the chapter's
  earlier cells, so grading runs the exercise cells alone;
* per exercise ``<c>.<k>`` (grade ids use ``-``, which nbgrader requires): a statement (read-only markdown,
  ``ex-<c>-<k>-statement``), a *solution cell* (``ex-<c>-<k>-solution``) whose
  function bodies sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION``,
  and a *check cell* (``ex-<c>-<k>-check``, an autograder cell with points)
  that calls a check of :mod:`slowmem.book.exercises`: it prints PASS / FAIL per
  part and its value is the score;
* optionally read-only follow-up cells (``ex-<c>-<k>-explore``) and a
  written answer (markdown, graded by hand, ``ex-<c>-<k>-answer``).

In the instructor edition a solution cell carries the tag ``hide-input``, so the
rendered page shows it behind a "Show solution" toggle. Each cell holds one
version of each function, so a check always grades the function above it: the
solution in the instructor edition, the student's code in the student edition.

The **student edition** (:func:`student_notebook`, :func:`build_student_edition`,
``make student``) is made with nbgrader's own preprocessors, the ones
``nbgrader generate_assignment`` runs minus the two that need its gradebook
database (``IncludeHeaderFooter``, ``SaveCells``): solution regions become
``# YOUR CODE HERE`` / ``raise NotImplementedError()``, written answers
``YOUR ANSWER HERE``, outputs are cleared, read-only cells locked and
checksummed. Then the instructor-only toggle tags are dropped so that the
stubs show.

**Grading** (:func:`grade_notebook`, ``slowmem grade NOTEBOOK``): the
exercise cells of a submitted notebook are run headless in a fresh kernel inside a
sandbox (:mod:`slowmem.book.sandbox`: bubblewrap, a temporary folder holding only a
copy of the submission, no network, memory and time limits) -- setup and check
cells taken from the instructor source (so an edited check cannot change a grade),
from the submission's solution cells (matched by grade id) only their definitions
(functions, imports, literal constants; top-level code that could patch the checks
never runs) -- and each check cell is scored outside the sandbox with nbgrader's rule
(an error or stderr output scores 0, otherwise the cell's value is the partial credit;
stricter than nbgrader, a missing or non-numeric value scores 0). A guard after each
check scores 0 a check whose machinery changed while it ran; code that names the
grader or escape hatches is flagged for review. Written answers are listed for
grading by hand. The chapters' other cells are not run, which keeps a grading run to
seconds (chapters 5 and 6 train two small networks).
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from slowmem.book import locate_book
from slowmem.book.sandbox import (
    GUARD_SNAPSHOT,
    GUARD_VERIFY,
    check_memory,
    check_score,
    check_timeout,
    extract_definitions,
    grader_flags,
    run_cells,
    setup_names,
)
from slowmem.config import ConfigError
from slowmem.errors import SlowmemError, StoredFileError

__all__ = ["EXERCISE_CHAPTERS", "INSTRUCTOR_ONLY_TAGS", "exercise_cells", "student_notebook",
           "solution_regions", "build_student_edition", "grade_notebook", "format_grades", "add_grade_parser",
           "add_student_parser", "main"]

#: The book's folder in a source checkout (the instructor edition's source).

#: Chapters with an exercises section, in book order.
EXERCISE_CHAPTERS: tuple[str, ...] = ("01_task", "02_training", "03_fixed_points", "04_mechanisms",
                                      "05_forgetting", "06_robustness")

#: Tags of solution cells that exist only for the instructor edition's rendering (the toggle).
INSTRUCTOR_ONLY_TAGS: tuple[str, ...] = ("hide-input", "hide-cell", "remove-input", "remove-cell")

#: Pages of the book that the student edition leaves out.
INSTRUCTOR_PAGES: tuple[str, ...] = ("instructors",)

_GRADE_ID = re.compile(r"^ex-(?P<chapter>\d+)(?:-(?P<number>\d+))?-(?P<role>[a-z]+)$")


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _role(cell) -> tuple[str | None, str | None]:
    """``(exercise, role)`` from a cell's grade id ``ex-<c>-<k>-<role>`` (exercise ``"<c>.<k>"``) or
    ``ex-<c>-<role>`` (exercise ``"<c>"``, the chapter's intro and setup); (None, None) otherwise."""
    m = _GRADE_ID.match(_nbgrader(cell).get("grade_id", ""))
    if not m:
        return None, None
    return (m["chapter"] + (f".{m['number']}" if m["number"] else "")), m["role"]


def _read(path: str | Path):
    import nbformat

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"no notebook at {p}")
    try:
        return nbformat.read(str(p), as_version=4)
    except Exception as e:
        raise StoredFileError(f"{p} is not a readable Jupyter notebook ({type(e).__name__}: {e})") from None


def exercise_cells(nb) -> list[tuple[int, Any]]:
    """``[(index, cell)]`` of the cells that carry nbgrader metadata (the exercises section)."""
    return [(i, c) for i, c in enumerate(nb.cells) if _nbgrader(c)]


def solution_regions(cell) -> list[str]:
    """The texts between ``BEGIN SOLUTION`` and ``END SOLUTION`` markers of a cell (a whole
    markdown answer cell counts as one region)."""
    if cell.cell_type == "markdown" and _nbgrader(cell).get("solution"):
        return [cell.source]
    out, cur = [], None
    for line in cell.source.splitlines():
        if "BEGIN SOLUTION" in line:
            cur = []
        elif "END SOLUTION" in line:
            out.append("\n".join(cur or []))
            cur = None
        elif cur is not None:
            cur.append(line)
    return out


# --------------------------------------------------------------------------- #
# the student edition
# --------------------------------------------------------------------------- #
def _student_preprocessors() -> list:
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    # the order of nbgrader's GenerateAssignment, without IncludeHeaderFooter / InstantiateTests /
    # SaveCells (they need a course folder and its gradebook database)
    return [LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(), ComputeChecksums(),
            ClearHiddenTests(), ClearMarkScheme(), ComputeChecksums(), CheckCellMetadata()]


def student_notebook(nb):
    """The student version of an instructor notebook (a new notebook; ``nb`` is not changed).

    Notebooks without nbgrader cells come back unchanged except for cleared outputs.
    """
    nb = copy.deepcopy(nb)
    resources: dict = {}
    for pre in _student_preprocessors():
        nb, resources = pre.preprocess(nb, resources)
    for cell in nb.cells:
        if _nbgrader(cell).get("solution"):
            tags = [t for t in cell.metadata.get("tags", []) if t not in INSTRUCTOR_ONLY_TAGS]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
            cell.metadata.pop("mystnb", None)
    left = [c for c in nb.cells if "BEGIN SOLUTION" in c.source or "END SOLUTION" in c.source]
    if left:
        raise ConfigError(f"a solution marker is outside a solution cell: {left[0].source[:80]!r}; "
                          "mark that cell as an nbgrader solution cell")
    return nb


def _student_toc(text: str) -> str:
    import yaml

    toc = yaml.safe_load(text)

    def keep(entries):
        out = []
        for e in entries:
            if isinstance(e, dict) and e.get("file") in INSTRUCTOR_PAGES:
                continue
            if isinstance(e, dict):
                e = dict(e)
                for k in ("chapters", "sections", "parts"):
                    if k in e:
                        e[k] = keep(e[k])
                        if not e[k]:
                            del e[k]
                if "file" not in e and not any(k in e for k in ("chapters", "sections", "parts", "url", "glob")):
                    continue                         # a part left empty
            out.append(e)
        return out

    for k in ("parts", "chapters", "sections"):
        if k in toc:
            toc[k] = keep(toc[k])
    return yaml.safe_dump(toc, sort_keys=False)


def build_student_edition(out: str | Path = "build/student", *, book_dir: str | Path | None = None,
                          html: bool = True, jupyter_book: str | None = None) -> dict:
    """Write the student edition: notebooks and, with ``html``, the rendered book.

    Layout of ``out``:

    * ``notebooks/``: every chapter notebook, exercises as stubs (what students get);
    * ``book/``: a copy of ``book_dir`` (without ``_build`` and the instructor pages) holding
      those notebooks, built with Jupyter Book into ``book/_build/html`` when ``html``.

    Returns ``{"notebooks": [...], "html": path or None, "seconds": float}``.
    """
    import nbformat

    t0 = time.perf_counter()
    book_dir, out = locate_book(book_dir), Path(out)
    if not (book_dir / "_toc.yml").is_file():
        raise ConfigError(f"{book_dir} is not a Jupyter Book folder (no _toc.yml)")
    o, b = out.resolve(), book_dir.resolve()
    if o == b or (b in o.parents and o.relative_to(b).parts[0] != "_build") or o in b.parents:
        raise ConfigError(f"out = {out} would overwrite the book's sources; choose a folder outside {book_dir} "
                          "(or inside its _build)")
    if out.exists():
        shutil.rmtree(out)
    src = out / "book"
    shutil.copytree(book_dir, src, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints", "__pycache__",
                                                                 *(f"{p}.md" for p in INSTRUCTOR_PAGES),
                                                                 *(f"{p}.ipynb" for p in INSTRUCTOR_PAGES)))
    (src / "_toc.yml").write_text(_student_toc((book_dir / "_toc.yml").read_text()))
    (out / "notebooks").mkdir(parents=True)
    written = []
    for path in sorted(book_dir.glob("*.ipynb")):
        if path.stem in INSTRUCTOR_PAGES:
            continue
        nb = student_notebook(_read(path))
        for dest in (src / path.name, out / "notebooks" / path.name):
            nbformat.write(nb, str(dest))
        written.append(str(out / "notebooks" / path.name))
    html_dir = None
    if html:
        exe = jupyter_book or shutil.which("jupyter-book") or str(Path(sys.executable).with_name("jupyter-book"))
        cmd = [exe, "build", str(src), "-W", "--keep-going"]
        print("building the student edition's HTML:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        html_dir = str(src / "_build" / "html")
    return {"notebooks": written, "html": html_dir, "seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------- #
# grading
# --------------------------------------------------------------------------- #
def _source_for(path: Path, source: str | Path | None, submitted=None) -> Path:
    """The instructor notebook: ``source``, else the book chapter of the same file name, else the one
    whose number the submission's grade ids carry (``ex-5-...`` -> ``05_*.ipynb``)."""
    if source is not None:
        return Path(source)
    try:
        book = locate_book()
    except ConfigError:
        raise ConfigError(f"no instructor source for {path.name}: this slowmem has no book folder beside it; "
                          "pass source= (--source), the chapter notebook this notebook was made from") from None
    cand = book / path.name
    if cand.is_file():
        return cand
    chapters = {_GRADE_ID.match(_nbgrader(c).get("grade_id", ""))["chapter"]
                for c in (submitted.cells if submitted is not None else []) if _role(c)[1]}
    if len(chapters) == 1:
        found = sorted(book.glob(f"{int(chapters.pop()):02d}_*.ipynb"))
        if len(found) == 1:
            return found[0]
    raise ConfigError(f"no instructor source for {path.name} in {book} (by file name or by the chapter "
                      "of its exercises); pass source= (the chapter notebook this notebook was made from)")


def _titles(nb) -> dict[str, str]:
    out = {}
    for c in nb.cells:
        ex, role = _role(c)
        if role == "statement":
            m = re.search(r"^#+\s*Exercise\s+[\d.]+\s*[:.]?\s*(.+)$", c.source, re.M)
            out[ex] = m.group(1).strip() if m else ""
    return out


def _validate(nb, path: Path) -> None:
    """StoredFileError unless every cell has text source and mapping metadata, and its nbgrader metadata
    (if any) is a mapping with a text grade id and numeric points."""
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise StoredFileError(f"{path}: the notebook has no list of cells")
    for i, c in enumerate(cells):
        where = f"{path}: cell {i}"
        if not isinstance(c, dict) or not isinstance(c.get("source"), str):
            got = type(c.get("source")).__name__ if isinstance(c, dict) else type(c).__name__
            raise StoredFileError(f"{where} has source of type {got}; a cell's source must be text")
        md = c.get("metadata", {})
        nbg = md.get("nbgrader") if isinstance(md, dict) else None
        if not isinstance(md, dict) or (nbg is not None and not isinstance(nbg, dict)):
            bad = "metadata" if not isinstance(md, dict) else "metadata.nbgrader"
            raise StoredFileError(f"{where}: {bad} is a {type(md if bad == 'metadata' else nbg).__name__}; "
                                  "it must be a mapping (nbgrader's cell metadata, schema 3)")
        if nbg and not isinstance(nbg.get("grade_id", ""), str):
            raise StoredFileError(f"{where}: nbgrader grade_id is {nbg['grade_id']!r}; it must be text "
                                  "(letters, digits, - and _)")
        pts = nbg.get("points", 0) if nbg else 0
        if isinstance(pts, bool) or not isinstance(pts, (int, float)) or not 0 <= pts < float("inf"):
            raise StoredFileError(f"{where}: nbgrader points is {pts!r}; it must be a number >= 0")


def _grading_cells(submitted, source) -> tuple[list[dict], list[dict], list[dict], dict]:
    """The cells to run (``[{"id", "source", "kind"}]``, see :func:`slowmem.book.sandbox.run_cells`):
    setup and checks from ``source``, the definitions of the solution cells from ``submitted``."""
    subs = {_nbgrader(c).get("grade_id"): c for c in submitted.cells
            if _nbgrader(c).get("grade_id") and _nbgrader(c).get("solution")}
    stubs = {_nbgrader(c).get("grade_id"): c for c in student_notebook(source).cells if _nbgrader(c).get("solution")}
    titles = _titles(source)
    reserved = setup_names("\n".join(c.source for c in source.cells if _role(c)[1] == "setup"))
    cells, checks, manual, solutions = [], [], [], {}
    for c in source.cells:
        meta = _nbgrader(c)
        ex, role = _role(c)
        gid = meta.get("grade_id")
        if not meta:
            continue
        if c.cell_type == "markdown":
            if meta.get("solution") and meta.get("grade"):
                got = subs.get(gid)
                answered = got is not None and got.source.strip() not in ("", stubs[gid].source.strip())
                manual.append({"exercise": ex, "grade_id": gid, "title": titles.get(ex, ""),
                               "max_score": float(meta.get("points", 0)), "answered": answered,
                               "answer": got.source if got is not None else None})
            continue
        if meta.get("solution"):
            got = subs.get(gid)
            code, notes = extract_definitions((got if got is not None else stubs[gid]).source, reserved)
            solutions[gid] = {"missing": got is None, "notes": notes,
                              "flags": grader_flags(got.source) if got is not None else []}
            cells.append({"id": gid, "source": code, "kind": "prefix"})
        elif meta.get("grade"):
            cells += [{"id": gid, "source": c.source, "kind": "check"},
                      {"id": f"{gid}:guard", "source": GUARD_VERIFY, "kind": "guard"}]
            checks.append({"exercise": ex, "grade_id": gid, "title": titles.get(ex, ""),
                           "max_score": float(meta.get("points", 0))})
        elif role == "setup":
            cells += [{"id": gid, "source": c.source, "kind": "prefix"},
                      {"id": f"{gid}:snapshot", "source": GUARD_SNAPSHOT, "kind": "prefix"}]
        # other read-only code cells (follow-ups, role "explore") are not needed by the checks
    return cells, checks, manual, solutions


def _text(outputs: list) -> str:
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream" and isinstance(o.get("text"), (str, list)):
            parts.append("".join(o["text"]))
        elif o.get("output_type") == "error":
            parts.append(f"{o.get('ename')}: {o.get('evalue')}\n")
    return "".join(parts)[:20000]


def _row(chk: dict, run: dict, sol: dict) -> dict:
    gid, outs = chk["grade_id"], run["outputs"]
    notes, flags = list(sol.get("notes", [])), list(sol.get("flags", []))
    if gid in run["killed"]:
        score, output, notes = 0.0, "(killed: " + run["killed"][gid] + ")", notes + ["the check " + run["killed"][gid]]
    elif gid not in outs:
        score, output = 0.0, "(not run: " + (run["error"] or "grading stopped before this cell") + ")"
    else:
        score, why = check_score(outs[gid], chk["max_score"])
        output = _text(outs[gid])
        notes += [why] if why else []
        guard = outs.get(f"{gid}:guard")
        value = next((o.get("data", {}).get("text/plain") for o in guard or [] if isinstance(o, dict)
                      and o.get("output_type") == "execute_result"), None)
        if value != "[]":
            what = value or (_text(guard) if guard else "the guard after the check did not run")
            score = 0.0
            flags.append(f"changed the grader while its check ran ({str(what)[:200]}): scored 0")
    return {**chk, "score": score, "passed": score >= chk["max_score"], "missing": bool(sol.get("missing")),
            "output": output, "notes": notes, "flags": flags}


def grade_notebook(path: str | Path, *, source: str | Path | None = None, timeout: float = 300.0,
                   kernel_name: str = "python3", sandbox: bool = True, memory_gb: float = 8.0) -> dict:
    """Grade the exercises of one submitted notebook headless, in a sandbox; see the module docstring
    and :mod:`slowmem.book.sandbox`.

    Args:
        path: the submitted notebook (a student edition notebook, filled in).
        source: the instructor notebook it came from (default: the chapter of the same file name in
            :func:`slowmem.book.locate_book`).
        timeout: seconds allowed per cell, from 1 to 3600 (a cell over it is interrupted, killed
            :data:`~slowmem.book.sandbox.GRACE_S` s later if need be, and scores 0).
        sandbox: run in bubblewrap (ConfigError if it is not installed); False runs the student's code
            with the caller's own access (``--unsandboxed``).
        memory_gb: address space allowed per process of the grading run (GiB).
    Returns:
        ``{"notebook", "source", "exercises": [{"exercise", "title", "grade_id", "score", "max_score",
        "passed", "missing", "output", "notes", "flags"}], "manual": [...], "flags", "score",
        "max_score", "seconds"}``; ``manual`` lists written answers (graded by hand, not in ``score``);
        ``flags`` lists what a reviewer should look at (code touching the grader, escape hatches).
    """
    t0 = time.perf_counter()
    timeout, memory_gb = check_timeout(timeout), check_memory(memory_gb)
    path = Path(path)
    submitted = _read(path)
    _validate(submitted, path)
    src_path = _source_for(path, source, submitted)
    src = _read(src_path)
    _validate(src, src_path)
    if not exercise_cells(src):
        raise ConfigError(f"{src_path} has no exercises (no nbgrader cells)")
    cells, checks, manual, solutions = _grading_cells(submitted, src)
    run = run_cells(cells, path, timeout=timeout, memory_gb=memory_gb, kernel_name=kernel_name, sandbox=sandbox)
    if run["error"]:
        print(f"{path.name}: grading stopped early: {run['error'].splitlines()[0]}", file=sys.stderr)
    rows = [_row(chk, run, solutions.get(chk["grade_id"][:-len("check")] + "solution", {})) for chk in checks]
    flags = [f"exercise {r['exercise']}: {f}" for r in rows for f in r["flags"]]
    return {"notebook": str(path), "source": str(src_path), "exercises": rows, "manual": manual, "flags": flags,
            "score": sum(r["score"] for r in rows), "max_score": sum(r["max_score"] for r in rows),
            "sandboxed": bool(sandbox), "seconds": time.perf_counter() - t0}


def format_grades(result: dict, verbose: bool = False) -> str:
    """A plain-text table of one :func:`grade_notebook` result."""
    lines = [f"{result['notebook']}: graded against {result['source']} in {result['seconds']:.1f} s"
             + ("" if result.get("sandboxed", True) else " (UNSANDBOXED)")]
    for r in result["exercises"]:
        note = " (solution cell missing)" if r["missing"] else ""
        lines.append(f"  exercise {r['exercise']:<5} {r['score']:g} / {r['max_score']:g}  "
                     f"{'PASS' if r['passed'] else 'FAIL'}  {r['title']}{note}")
        lines.extend(f"      note: {n}" for n in r.get("notes", []))
        lines.extend(f"      FLAG: {f}" for f in r.get("flags", []))
        if verbose:
            lines.extend("      " + t for t in r["output"].rstrip().splitlines())
    for m in result["manual"]:
        lines.append(f"  exercise {m['exercise']:<5} ? / {m['max_score']:g}  by hand: written answer "
                     f"{'given' if m['answered'] else 'NOT given'}  {m['title']}")
    lines.append(f"  autograded total: {result['score']:g} / {result['max_score']:g}"
                 + (f"  -- FLAGGED for review ({len(result['flags'])})" if result.get("flags") else ""))
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# command line
# --------------------------------------------------------------------------- #
def _cmd_grade(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if a.source is not None and len(a.notebooks) > 1:
        parser.error("--source names the instructor notebook of one submission; grade one notebook at a time")
    try:                                   # flags are checked before any work
        timeout, memory = check_timeout(a.timeout), check_memory(a.memory)
    except ConfigError as e:
        parser.error(str(e).replace("timeout =", "--timeout").replace("memory =", "--memory"))
    results, failed = [], 0
    for nb in a.notebooks:
        try:
            res = grade_notebook(nb, source=a.source, timeout=timeout, memory_gb=memory, sandbox=not a.unsandboxed)
        except SlowmemError as e:          # one bad notebook does not stop the others
            failed += 1
            print(f"{parser.prog}: error: {nb}: {e}", file=sys.stderr, flush=True)
            res = {"notebook": str(nb), "error": str(e)}
        else:
            if not a.json:
                print(format_grades(res, verbose=a.verbose), flush=True)
        results.append(res)
    if a.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=1))
    return 1 if failed else 0


def add_grade_parser(sub) -> argparse.ArgumentParser:
    """Add ``grade`` to the ``slowmem`` subcommands (``sub`` from ``add_subparsers``)."""
    g = sub.add_parser("grade", help="autograde the exercises of submitted chapter notebooks",
                       description="Run the exercise cells of each notebook headless and print a score per "
                                   "exercise (nbgrader's scoring of the check cells).")
    g.add_argument("notebooks", nargs="+", type=Path, help="submitted notebook(s), e.g. 02_training.ipynb")
    g.add_argument("--source", type=Path, help="the instructor notebook (default: the book chapter of the same "
                   "file name)")
    g.add_argument("--timeout", type=float, default=300.0, help="seconds per cell, 1 to 3600 (default 300): a cell "
                   "over it is interrupted, killed 3 s later, and scores 0")
    g.add_argument("--memory", type=float, default=8.0, help="GiB of address space per process (default 8)")
    g.add_argument("--unsandboxed", action="store_true", help="grade without the bubblewrap sandbox: the "
                   "student's code then runs with your access to your files (use only for trusted notebooks)")
    g.add_argument("--json", action="store_true", help="print the results as JSON")
    g.add_argument("-v", "--verbose", action="store_true", help="also print each check's PASS/FAIL lines")
    g.set_defaults(func=_cmd_grade, parser=g)
    return g


def _cmd_student(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        res = build_student_edition(a.out, book_dir=a.book, html=not a.no_html)
    except SlowmemError as e:
        parser.error(str(e))
    print(f"student edition: {len(res['notebooks'])} notebooks in {Path(a.out) / 'notebooks'}"
          + (f", HTML in {res['html']}" if res["html"] else "") + f" ({res['seconds']:.0f} s)")
    return 0


def add_student_parser(sub) -> argparse.ArgumentParser:
    """Add ``student`` (build the student edition) to a set of subcommands."""
    s = sub.add_parser("student", help="build the student edition (notebooks with stubs, and its HTML)")
    s.add_argument("--out", type=Path, default=Path("build/student"), help="output folder (default build/student)")
    s.add_argument("--book", type=Path, default=None, help="the book's folder (default: this checkout's)")
    s.add_argument("--no-html", action="store_true", help="write the notebooks only")
    s.set_defaults(func=_cmd_student, parser=s)
    return s


def main(argv: list[str] | None = None) -> int:
    """``python -m slowmem.book.coursework student|grade ...`` (the same parsers ``slowmem`` uses)."""
    p = argparse.ArgumentParser(prog="python -m slowmem.book.coursework", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    add_student_parser(sub)
    add_grade_parser(sub)
    a = p.parse_args(argv)
    return a.func(a, a.parser)


if __name__ == "__main__":
    sys.exit(main())
