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
exercise cells of a submitted notebook are run headless in a fresh kernel --
setup and check cells taken from the instructor source (so an edited check
cannot change a grade), solution cells from the submission (matched by grade
id) -- and each check cell is scored with nbgrader's rule
(:func:`nbgrader.utils.determine_grade`: an error or stderr output scores 0,
otherwise the cell's value is the partial credit). Written answers are listed
for grading by hand. The chapters' other cells are not run, which keeps a
grading run to seconds (chapters 5 and 6 train two small networks).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from slowmem.book import locate_book
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


def _grading_notebook(submitted, source) -> tuple[Any, list[dict], list[dict]]:
    """The cells to run: setup and checks from ``source``, solutions from ``submitted``."""
    import nbformat

    subs = {}
    for c in submitted.cells:
        gid = _nbgrader(c).get("grade_id")
        if gid and _nbgrader(c).get("solution"):
            subs[gid] = c
    stub = student_notebook(source)
    stubs = {_nbgrader(c).get("grade_id"): c for c in stub.cells if _nbgrader(c).get("solution")}
    titles = _titles(source)
    cells, checks, manual = [], [], []
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
            cell = nbformat.v4.new_code_cell((got if got is not None else stubs[gid]).source)
            cell.metadata["nbgrader"] = dict(meta)
            cell.metadata["slowmem_missing"] = got is None
            cells.append(cell)
        elif meta.get("grade"):
            cell = nbformat.v4.new_code_cell(c.source)
            cell.metadata["nbgrader"] = dict(meta)
            cells.append(cell)
            checks.append({"exercise": ex, "grade_id": gid, "title": titles.get(ex, ""),
                           "max_score": float(meta.get("points", 0))})
        elif role == "setup":
            cell = nbformat.v4.new_code_cell(c.source)
            cell.metadata["nbgrader"] = dict(meta)
            cells.append(cell)
        # other read-only code cells (follow-ups, role "explore") are not needed by the checks
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
    return nb, checks, manual


def _text(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif o.get("output_type") == "error":
            parts.append(f"{o.get('ename')}: {o.get('evalue')}\n")
    return "".join(parts)


def grade_notebook(path: str | Path, *, source: str | Path | None = None, timeout: float = 300.0,
                   kernel_name: str = "python3") -> dict:
    """Grade the exercises of one submitted notebook headless; see the module docstring.

    Args:
        path: the submitted notebook (a student edition notebook, filled in).
        source: the instructor notebook it came from (default: the chapter of the same file name in
            :func:`slowmem.book.locate_book`).
        timeout: seconds allowed per cell (a cell over it is interrupted and scores 0).
    Returns:
        ``{"notebook", "source", "exercises": [{"exercise", "title", "grade_id", "score", "max_score",
        "passed", "missing", "output"}], "manual": [...], "score", "max_score", "seconds"}``;
        ``manual`` lists written answers (graded by hand, not in ``score``).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbgrader.utils import determine_grade

    t0 = time.perf_counter()
    path = Path(path)
    submitted = _read(path)
    src_path = _source_for(path, source, submitted)
    src = _read(src_path)
    if not exercise_cells(src):
        raise ConfigError(f"{src_path} has no exercises (no nbgrader cells)")
    nb, checks, manual = _grading_notebook(submitted, src)
    env_cwd = str(src_path.resolve().parent)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": env_cwd}})
    try:
        client.execute(env={**os.environ, "MPLBACKEND": "Agg"})
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:   # errors are allowed: a timeout or crash
        print(f"grading stopped early: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
    by_id = {_nbgrader(c)["grade_id"]: c for c in nb.cells}
    rows = []
    for chk in checks:
        cell = by_id[chk["grade_id"]]
        sol = by_id.get(chk["grade_id"][:-len("check")] + "solution")
        ran = any(o.get("output_type") in ("stream", "execute_result", "error") for o in cell.get("outputs", []))
        score, max_score = determine_grade(cell) if ran else (0.0, chk["max_score"])
        score = float(score or 0.0)
        rows.append({**chk, "score": score, "max_score": float(max_score), "passed": score >= float(max_score),
                     "missing": bool(sol is not None and sol.metadata.get("slowmem_missing")),
                     "output": _text(cell) if ran else "(not run: grading stopped before this cell)"})
    return {"notebook": str(path), "source": str(src_path), "exercises": rows, "manual": manual,
            "score": sum(r["score"] for r in rows), "max_score": sum(r["max_score"] for r in rows),
            "seconds": time.perf_counter() - t0}


def format_grades(result: dict, verbose: bool = False) -> str:
    """A plain-text table of one :func:`grade_notebook` result."""
    lines = [f"{Path(result['notebook']).name}: graded against {result['source']} in {result['seconds']:.1f} s"]
    for r in result["exercises"]:
        note = " (solution cell missing)" if r["missing"] else ""
        lines.append(f"  exercise {r['exercise']:<5} {r['score']:g} / {r['max_score']:g}  "
                     f"{'PASS' if r['passed'] else 'FAIL'}  {r['title']}{note}")
        if verbose:
            lines.extend("      " + t for t in r["output"].rstrip().splitlines())
    for m in result["manual"]:
        lines.append(f"  exercise {m['exercise']:<5} ? / {m['max_score']:g}  by hand: written answer "
                     f"{'given' if m['answered'] else 'NOT given'}  {m['title']}")
    lines.append(f"  autograded total: {result['score']:g} / {result['max_score']:g}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# command line
# --------------------------------------------------------------------------- #
def _cmd_grade(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if a.source is not None and len(a.notebooks) > 1:
        parser.error("--source names the instructor notebook of one submission; grade one notebook at a time")
    results = []
    for nb in a.notebooks:
        try:
            res = grade_notebook(nb, source=a.source, timeout=a.timeout)
        except SlowmemError as e:
            parser.error(str(e))
        results.append(res)
        if not a.json:
            print(format_grades(res, verbose=a.verbose), flush=True)
    if a.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=1))
    return 0


def add_grade_parser(sub) -> argparse.ArgumentParser:
    """Add ``grade`` to the ``slowmem`` subcommands (``sub`` from ``add_subparsers``)."""
    g = sub.add_parser("grade", help="autograde the exercises of submitted chapter notebooks",
                       description="Run the exercise cells of each notebook headless and print a score per "
                                   "exercise (nbgrader's scoring of the check cells).")
    g.add_argument("notebooks", nargs="+", type=Path, help="submitted notebook(s), e.g. 02_training.ipynb")
    g.add_argument("--source", type=Path, help="the instructor notebook (default: the book chapter of the same "
                   "file name)")
    g.add_argument("--timeout", type=float, default=300.0, help="seconds per cell (default 300)")
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
