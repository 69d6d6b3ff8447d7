"""The book's notebooks: hygiene, parameters, coursework stubs vs solutions, papermill overrides."""
import json
import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def _cells(nb_path):
    return json.loads(nb_path.read_text())["cells"]


def test_toc_lists_every_notebook_and_nothing_missing():
    import yaml

    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert len(set(files)) == len(files)
    for f in files:
        assert (BOOK / f"{f}.ipynb").exists() or (BOOK / f"{f}.md").exists(), f
    assert {p.stem for p in NOTEBOOKS} <= set(files)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_parameters_cell(nb):
    cells = _cells(nb)
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    first_code = code[0]
    assert "parameters" in first_code.get("metadata", {}).get("tags", [])
    # chapters stay short: logic belongs in slowmem
    for c in code:
        assert len("".join(c["source"]).splitlines()) <= 25, "".join(c["source"])[:80]


def _papermill(nb, tmp_path, **params):
    papermill = pytest.importorskip("papermill")
    out = tmp_path / nb
    papermill.execute_notebook(str(BOOK / nb), str(out), parameters=params, kernel_name="python3",
                               progress_bar=False, cwd=str(BOOK))
    return json.loads(out.read_text())


def _text_outputs(nb):
    txt = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            txt.append("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(txt)


@pytest.mark.slow                       # executes a chapter: make test-all
def test_papermill_override_changes_task_chapter(tmp_path):
    base = _text_outputs(_papermill("01_task.ipynb", tmp_path, seed=0))
    longer = _text_outputs(_papermill("01_task.ipynb", tmp_path, seed=0, delay1=20))
    assert "50" in base and "200" in longer and base != longer


@pytest.mark.slow                       # starts a kernel per case: make test-all
@pytest.mark.parametrize("nb, params, word", [
    ("02_training.ipynb", {"pg": 1.5}, "pg must be a number in (0, 1]"),
    ("02_training.ipynb", {"preset": "huge"}, "preset must be one of"),
    ("02_training.ipynb", {"g": "abc"}, "g must be a number"),
    ("01_task.ipynb", {"delay1": 5.05}, "multiple of 0.1; got 5.05"),
    ("01_task.ipynb", {"G": 1.4}, "unknown parameter 'G'"),          # a typo is refused, not run on defaults
    ("04_mechanisms.ipynb", {"population": "no/such/folder"}, "does not exist"),
])
def test_bad_parameter_fails_in_first_cells(tmp_path, nb, params, word):
    papermill = pytest.importorskip("papermill")
    with pytest.raises(papermill.PapermillExecutionError) as e:
        _papermill(nb, tmp_path, **params)
    assert word in str(e.value)


#: A result typed into prose: a signed effect (+0.13, -0.44) or a count of networks ("6 of 8").
TYPED_RESULT = re.compile(r"(?<![\w.$])[+\-\u2212]\d*\.\d+|\b\d+ of \d+\b")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_no_result_is_typed_into_a_chapters_prose(nb):
    """Every number a chapter reports is computed when the book is built; typed numbers go stale."""
    cells = nbformat.read(nb, as_version=4).cells
    typed = [(i, m.group()) for i, c in enumerate(cells) if c.cell_type == "markdown"
             for m in TYPED_RESULT.finditer(c.source)]
    assert not typed, f"{nb.name}: results typed into markdown cells (cell, text): {typed}"


def test_the_typed_result_rule_catches_what_it_should():
    assert TYPED_RESULT.search("C4 +0.19 at both") and TYPED_RESULT.search("2 of the 33, 6 of 29")
    assert TYPED_RESULT.search("an effect of \u22120.44")
    assert not TYPED_RESULT.search("x0 = 0.1 N(0, 1), margin \u00b10.05, N = 300, 1,500 trials")


def _shows_a_value(source: str) -> bool:
    """Whether a cell's last statement is an expression Jupyter would display (not silenced by ``;``)."""
    import ast

    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    tree = ast.parse(code)
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return False
    return not code.rstrip().endswith(";")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_a_numbered_figure_cell_shows_only_its_figure(nb):
    # myst-nb gives a cell's figure label to each of its outputs: a displayed value beside the figure
    # (a bare `fig.suptitle(...)` shows its Text) makes the label a duplicate, which `-W` fails on
    for c in _cells(nb):
        if c["cell_type"] == "code" and c.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name"):
            assert not _shows_a_value("".join(c["source"])), f"{nb.name}: {''.join(c['source'])[-120:]}"


def test_the_figure_cell_rule_catches_a_displayed_value():
    assert _shows_a_value("fig = plot()\nfig.suptitle('x')")
    assert not _shows_a_value("fig = plot()\nfig.suptitle('x');")
    assert not _shows_a_value("fig = plot()")
