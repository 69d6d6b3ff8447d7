"""The coursework edition: exercises in chapters 1-6, the student edition, and autograding.

Consistency (issue 16): every solution passes its check, every untouched stub fails it, the student
edition holds no solution code, and grading scores the student edition 0 and the instructor edition
full marks on every exercise.
"""
import ast
import json
import re
from concurrent.futures import ThreadPoolExecutor

import nbformat
import numpy as np
import pytest

from slowmem.book import coursework as cw
from slowmem.book import exercises as ex
from slowmem.book import locate_book
from slowmem.config import ConfigError

BOOK = locate_book()
CHAPTERS = cw.EXERCISE_CHAPTERS


def _nb(name):
    return nbformat.read(str(BOOK / f"{name}.ipynb"), as_version=4)


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def _by_role(nb):
    out = {}
    for c in nb.cells:
        exn, role = cw._role(c)
        if role:
            out.setdefault(exn, {})[role] = c
    return out


def _functions(source):
    return [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]


@pytest.mark.parametrize("name", CHAPTERS)
def test_each_chapter_ends_with_at_least_two_complete_exercises(name):
    nb = _nb(name)
    idx = [i for i, c in enumerate(nb.cells) if _meta(c)]
    # the exercises section is one block at the end of the chapter, opened by its heading
    assert idx and idx == list(range(idx[0], len(nb.cells)))
    assert nb.cells[idx[0]].source.startswith("## Exercises")
    roles = _by_role(nb)
    chapter = str(int(name[:2]))
    assert "setup" in roles[chapter]
    exercises = [k for k in roles if "." in k]
    assert len(exercises) >= 2
    for k in exercises:
        r = roles[k]
        assert k.startswith(chapter + ".")
        st = r["statement"].source + (r["measure"].source if "measure" in r else "")
        assert re.search(rf"^### Exercise {re.escape(k)}: \S", st, re.M), st[:80]
        assert re.search(r"About \d+ minutes", st) and "Learning goal" in st and "**Check**" in st
        sol, chk = r["solution"], r["check"]
        assert _meta(sol)["solution"] and not _meta(sol)["locked"]
        assert "hide-input" in sol.metadata["tags"]            # the instructor page's toggle
        assert cw.solution_regions(sol) and all(reg.strip() for reg in cw.solution_regions(sol))
        assert _meta(chk)["grade"] and _meta(chk)["points"] > 0 and _meta(chk)["locked"]
        assert nb.cells.index(sol) < nb.cells.index(chk)
        # the check calls a check of slowmem.book.exercises with the functions the solution cell defines
        call = ast.parse(chk.source).body[-1].value
        assert isinstance(call, ast.Call) and ast.unparse(call.func).startswith("ex.check_")
        defined = {f.name for f in _functions(sol.source)}
        assert {a.id for a in call.args if isinstance(a, ast.Name)} & defined
    # grade ids are unique and valid for nbgrader
    ids = [_meta(c)["grade_id"] for c in nb.cells if _meta(c)]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-zA-Z0-9_\-]+", i) for i in ids)


@pytest.mark.parametrize("name", CHAPTERS)
def test_student_edition_has_stubs_and_no_solution_code(name):
    src = _nb(name)
    stu = cw.student_notebook(src)
    text = "\n".join(c.source for c in stu.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text and "Sample answer" not in text
    assert all(not c.get("outputs") for c in stu.cells if c.cell_type == "code")
    src_roles, stu_roles = _by_role(src), _by_role(stu)
    given = "\n".join(c.source for c in src.cells if not _meta(c).get("solution"))   # statements may quote code
    n_lines = 0
    for k, r in src_roles.items():
        for role in ("solution", "answer"):
            if role not in r:
                continue
            for region in cw.solution_regions(r[role]):
                for line in region.splitlines():
                    line = line.strip()
                    if len(line) >= 12 and not line.startswith("#") and line not in given:
                        assert line not in text, f"{name} {k}: solution line left in the student edition: {line}"
                        n_lines += 1
        if "solution" in r:
            stub = stu_roles[k]["solution"]
            assert "hide-input" not in stub.metadata.get("tags", [])
            sol_fns, stub_fns = _functions(r["solution"].source), _functions(stub.source)
            assert [f.name for f in stub_fns] == [f.name for f in sol_fns]
            for f_sol, f_stub in zip(sol_fns, stub_fns):
                assert ast.dump(f_sol.args) == ast.dump(f_stub.args)
                assert ast.get_docstring(f_stub) == ast.get_docstring(f_sol)
                # every stub raises NotImplementedError and does nothing else
                body = [n for n in f_stub.body if not isinstance(n, ast.Expr)]
                assert len(body) == 1 and isinstance(body[0], ast.Raise)
                assert "NotImplementedError" in ast.unparse(body[0])
    assert n_lines >= 5
    # the chapter's other cells are unchanged
    assert [c.source for c in src.cells if not _meta(c)] == [c.source for c in stu.cells if not _meta(c)]


def _solution_namespace(name):
    """Run a chapter's exercise setup and solution cells in one namespace (no kernel)."""
    ns = {}
    for c in _nb(name).cells:
        exn, role = cw._role(c)
        if role in ("setup", "solution"):
            exec(compile(c.source, f"{name}:{role}", "exec"), ns)
    return ns


def test_checks_fail_wrong_solutions(capsys):
    """Each check can fail: plausible mistakes score less than full marks."""
    ns = _solution_namespace("01_task")

    def floor_steps(timing, dt=0.1):         # truncates 0.3 / 0.1 = 2.9999999999999996 to 2
        return sum(int(d / dt) for d in timing.values())

    assert ex.check_trial_steps(floor_steps) == 0.0          # and it never refuses a duration
    assert ex.check_trial_steps(lambda timing, dt=0.1: sum(round(d / dt) for d in timing.values())) == 1.0
    assert ex.check_targets(lambda task, k: ns["targets"](task, 3 - k), ns["task_ex"]) == 0.0

    ns2 = _solution_namespace("02_training")

    def not_in_place(P, r, w, e):
        P2, w2 = P.clone(), w.clone()
        ns2["my_rls_update"](P2, r, w2, e)

    assert ex.check_rls_update(not_in_place) == 0.0
    swapped = lambda task, rule, every=2: ns2["learning_steps"](task, "original" if rule == "modified"  # noqa: E731
                                                                 else "modified", every)
    assert ex.check_learning_steps(swapped, ns2["task_ex"]) == 0.0

    def no_mirror_folding(z, settled, tolerance=0.05):        # counts z and -z as two attractors
        leaders = []
        for v, ok in zip(z, settled):
            if ok and np.isfinite(v) and all(abs(v - lead) > tolerance for lead in leaders):
                leaders.append(v)
        return len(leaders)

    assert ex.check_count_attractors(no_mirror_folding) == 0.0
    out = capsys.readouterr().out
    assert "FAIL" in out and "PASS" in out and "Traceback" not in out


def test_toy_system_has_fixed_and_slow_points():
    pts = ex.toy_points()
    assert pts["fixed"].shape == (3, 2) and pts["stable"].sum() == 1
    assert 1e-10 < pts["q_slow"] < 1e-4


def _grade_all(paths_and_sources):
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda ps: cw.grade_notebook(ps[0], source=ps[1], timeout=600), paths_and_sources))


@pytest.mark.slow
def test_grading_scores_instructor_full_marks_and_student_zero(tmp_path):
    """Both editions of all six chapters graded headless: full marks and 0 on every exercise."""
    res = cw.build_student_edition(tmp_path / "student", html=False)
    assert len(res["notebooks"]) == len(list(BOOK.glob("*.ipynb")))
    toc = (tmp_path / "student" / "book" / "_toc.yml").read_text()
    assert "instructors" not in toc and not (tmp_path / "student" / "book" / "_build").exists()
    jobs = [(BOOK / f"{n}.ipynb", None) for n in CHAPTERS]
    jobs += [(tmp_path / "student" / "notebooks" / f"{n}.ipynb", BOOK / f"{n}.ipynb") for n in CHAPTERS]
    results = _grade_all(jobs)
    n_ex = 0
    for r in results[:len(CHAPTERS)]:
        for e in r["exercises"]:
            assert e["score"] == e["max_score"] > 0, (r["notebook"], e["exercise"], e["output"])
            assert "FAIL" not in e["output"]
            n_ex += 1
    for r in results[len(CHAPTERS):]:
        for e in r["exercises"]:
            assert e["score"] == 0 and e["max_score"] > 0, (r["notebook"], e["exercise"], e["output"])
            assert "not implemented yet" in e["output"] and "PASS" not in e["output"]
        assert all(not m["answered"] for m in r["manual"])
    assert n_ex >= 2 * len(CHAPTERS)
    assert sum(len(r["manual"]) for r in results[len(CHAPTERS):]) >= 1


def test_grading_uses_the_source_checks_and_reports_per_exercise(tmp_path, capsys):
    """A submission that edits its check cells cannot change its grade; the CLI prints every exercise."""
    nb = cw.student_notebook(_nb("01_task"))
    for c in nb.cells:
        if _meta(c).get("grade"):
            c.source = 'print("PASS")\n2.0'
        if _meta(c).get("grade_id") == "ex-1-2-solution":        # one exercise answered correctly
            c.source = next(s.source for s in _nb("01_task").cells if _meta(s).get("grade_id") == c.metadata[
                "nbgrader"]["grade_id"])
    sub = tmp_path / "01_task.ipynb"
    nbformat.write(nb, str(sub))
    assert cw.main(["grade", str(sub), "--source", str(BOOK / "01_task.ipynb"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    scores = {e["exercise"]: e["score"] for e in res["exercises"]}
    assert scores == {"1.1": 0.0, "1.2": 2.0, "1.3": 0.0}
    assert res["score"] == 2.0 and res["max_score"] == 6.0
    table = cw.format_grades(res)
    assert "exercise 1.2" in table and "2 / 2  PASS" in table and "autograded total: 2 / 6" in table


def test_grading_needs_a_source(tmp_path):
    p = tmp_path / "homework.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(p))
    with pytest.raises(ConfigError, match="no instructor source"):
        cw.grade_notebook(p)
    renamed = tmp_path / "alice-chapter5.ipynb"            # found by the chapter of its exercises
    nbformat.write(cw.student_notebook(_nb("05_forgetting")), str(renamed))
    assert cw._source_for(renamed, None, nbformat.read(str(renamed), as_version=4)) == BOOK / "05_forgetting.ipynb"
    with pytest.raises(ConfigError, match="no notebook"):
        cw.grade_notebook(tmp_path / "absent.ipynb", source=BOOK / "01_task.ipynb")
    with pytest.raises(ConfigError, match="would overwrite the book"):
        cw.build_student_edition(BOOK, html=False)


def test_grade_parser_plugs_into_a_cli():
    import argparse

    p = argparse.ArgumentParser(prog="slowmem")
    sub = p.add_subparsers(dest="command", required=True)
    cw.add_grade_parser(sub)
    a = p.parse_args(["grade", "a.ipynb", "b.ipynb", "--timeout", "60", "-v"])
    assert a.func is cw._cmd_grade and [str(n) for n in a.notebooks] == ["a.ipynb", "b.ipynb"] and a.verbose


def test_grades_name_each_submission_by_its_path():
    res = {"notebook": "alice/01_task.ipynb", "source": "book/01_task.ipynb", "seconds": 1.0, "exercises": [],
           "manual": [], "score": 0, "max_score": 6}
    text = cw.format_grades(res) + "\n" + cw.format_grades({**res, "notebook": "bob/01_task.ipynb"})
    assert text.count("alice/01_task.ipynb: graded") == 1 and text.count("bob/01_task.ipynb: graded") == 1
