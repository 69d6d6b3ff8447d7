"""slowmem.book.chapters: the parameter-line convention, strict checking before any work, papermill runs."""
import json
import re
from pathlib import Path

import nbformat
import pytest

from slowmem.book.chapters import (
    ChapterParameters,
    check_values,
    find_chapter,
    format_parameters,
    parse_cli_value,
    parse_parameter_line,
    read_parameters,
    run_chapter,
)
from slowmem.cli import main as cli_main
from slowmem.config import ConfigError

BOOK = Path(__file__).resolve().parents[2] / "book"

CELL = '''# Parameters (papermill can override any of them)
seed = 0  # int in [0, inf): seed of the example draws
delay1 = 5.0  # float in [0.1, 1000], multiple of 0.1: duration of delay 1 (tau)
preset = "ci"  # choice of ci, book, paper: scale preset
N = None  # int in [2, 20000] or None: number of units (None keeps the preset's)
seeds = "0-3"  # seeds: networks trained together as one batch
compare = True  # bool: also train with the original rule
label = "x"  # str: any text
population = "grid"  # population: a sweep results folder, or "live"
'''


def _notebook(tmp_path: Path, cell: str = CELL, name: str = "01_demo", body: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(cell)
    p.metadata["tags"] = ["parameters"]
    body = body if body is not None else "print(f'delay1={delay1!r} seed={seed!r} seeds={seeds!r} N={N!r}')"
    nb.cells = [nbformat.v4.new_markdown_cell("# demo"), p, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


def _population(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text("{}")
    return folder


# --------------------------------------------------------------------------- #
# the convention
# --------------------------------------------------------------------------- #
def test_every_kind_parses_and_describes_itself(tmp_path):
    params = read_parameters(_notebook(tmp_path))
    assert params.problems == []
    s = params.specs
    assert list(s) == ["seed", "delay1", "preset", "N", "seeds", "compare", "label", "population"]
    assert s["seed"].describe() == "int in [0, inf)" and s["seed"].default == 0
    assert s["delay1"].describe() == "float in [0.1, 1000], multiple of 0.1"
    assert s["delay1"].help == "duration of delay 1 (tau)"
    assert s["preset"].choices == ("ci", "book", "paper")
    assert s["N"].optional and s["N"].describe() == "int in [2, 20000] or None"
    assert s["compare"].kind == "bool" and s["seeds"].kind == "seeds" and s["population"].kind == "population"
    # the description is itself a valid TYPE: parsing it again gives the same spec
    for spec in s.values():
        again = parse_parameter_line(f"{spec.name} = {spec.default!r}  # {spec.describe()}: {spec.help}", spec.line)
        assert again == spec


def test_papermill_sees_the_same_parameters():
    from papermill.translators import PythonTranslator

    cell = nbformat.v4.new_code_cell(CELL)
    found = {p.name: p for p in PythonTranslator.inspect(cell)}
    params = read_parameters(nbformat.v4.new_notebook(cells=[_tag(cell)]))
    assert set(found) == set(params.specs)
    for name, spec in params.specs.items():
        assert eval(found[name].default) == spec.default          # noqa: S307 (literal written by this test)
        assert found[name].help.startswith(spec.describe().split(" ")[0])


def _tag(cell):
    cell.metadata["tags"] = ["parameters"]
    return cell


@pytest.mark.parametrize("line, word", [
    ("delay1 = 5.0  # float in [0.1, 1000]: a multiple of dt = 0.1", "exactly one '='"),
    ("delay1 = 5.0", "no '# TYPE: help' comment"),
    ("delay1 = 5.0  # duration of the delay", "must start with 'TYPE:'"),
    ("delay1 = 5.0  # number: duration", "unknown type 'number'"),
    ("delay1 = 5.0  # float in 0.1..1000: duration", "range must look like"),
    ("delay1 = 5.0  # float in [10, 1]: duration", "is empty"),
    ("delay1 = 5.0  # float in [10, 100]: duration", "does not satisfy its own type"),
    ("n = 2.5  # int: count", "does not satisfy its own type"),
    ("delay1 = 5.05  # float, multiple of 0.1: duration", "nearest allowed: 5"),
    ("preset = 'huge'  # choice of ci, book: scale", "does not satisfy its own type"),
    ("preset = 'ci'  # choice of ci, ci: scale", "distinct plain words"),
    ("x = np.pi  # float: a constant", "not a Python literal"),
    ("label = 'a#b'  # str: text", "no '#' inside DEFAULT"),
    ("flag = 1  # bool: switch", "does not satisfy its own type"),
    ("name = 3  # str in [0, 1]: text", "only int and float take"),
])
def test_lines_that_break_the_convention_are_named(line, word):
    with pytest.raises(ConfigError) as e:
        parse_parameter_line(line, 7)
    assert word in str(e.value) and "line 7" in str(e.value)


def test_a_broken_cell_is_reported_not_raised(tmp_path):
    cell = "a = 1  # int: fine\nb = 2\nimport os\na = 3  # int: again\n"
    params = read_parameters(_notebook(tmp_path, cell))
    assert list(params.specs) == ["a"]
    assert len(params.problems) == 3 and "line 2" in params.problems[0] and "line 4" in params.problems[2]
    with pytest.raises(ConfigError, match="does not follow the convention"):
        check_values(params, {})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1  # int: untagged")])
    assert read_parameters(nb).problems == ["no code cell is tagged 'parameters'"]


def test_the_book_notebooks_are_read_without_crashing():
    """Read-only: every chapter's parameters cell parses; each name papermill finds is a spec or a problem."""
    from papermill.translators import PythonTranslator

    notebooks = sorted(BOOK.glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        params = read_parameters(path)
        assert isinstance(params, ChapterParameters) and params.source
        cell = nbformat.v4.new_code_cell(params.source)
        for p in PythonTranslator.inspect(cell):
            assert p.name in params.specs or any(f"({p.name}):" in q for q in params.problems), (path.name, p.name)
        assert format_parameters(params)        # a listing or the list of problems, never an exception


# --------------------------------------------------------------------------- #
# checking values
# --------------------------------------------------------------------------- #
def test_unknown_names_and_bad_values_are_all_refused_at_once(tmp_path):
    _population(tmp_path / "grid")
    params = read_parameters(_notebook(tmp_path))
    with pytest.raises(ConfigError) as e:
        check_values(params, {"G": "1.4", "delay1": "2000", "preset": "huge", "N": "2.5", "compare": "maybe"},
                     from_cli=True)
    msg = str(e.value)
    assert "unknown parameter 'G'" in msg and "allowed: seed, delay1, preset, N, seeds" in msg
    assert "delay1 must be a number in [0.1, 1000]" in msg
    assert "preset must be one of 'ci', 'book', 'paper'; got 'huge'" in msg
    assert "N must be an integer in [2, 20000], or None; got 2.5" in msg
    assert "compare must be True or False; got 'maybe'" in msg


def test_close_names_are_suggested(tmp_path):
    _population(tmp_path / "grid")
    with pytest.raises(ConfigError, match=r"unknown parameter 'delay'.*did you mean 'delay1'"):
        check_values(read_parameters(_notebook(tmp_path)), {"delay": 3})


@pytest.mark.parametrize("key, text, value", [
    ("delay1", "20", 20.0), ("delay1", "0.3", 0.3), ("seed", "7", 7), ("seed", "7.0", 7), ("N", "None", None),
    ("N", "250", 250), ("compare", "False", False), ("compare", "true", True), ("seeds", "5", "5"),
    ("seeds", "0-3,9", "0-3,9"), ("label", "123", "123"), ("population", "live", "live"), ("preset", "book", "book"),
])
def test_cli_texts_become_checked_values(tmp_path, key, text, value):
    _population(tmp_path / "grid")
    clean = check_values(read_parameters(_notebook(tmp_path)), {key: text}, from_cli=True)
    assert clean == {key: value} and type(clean[key]) is type(value)


@pytest.mark.parametrize("key, value, word", [
    ("delay1", 5.05, "multiple of 0.1"), ("delay1", float("nan"), "must be a number"),
    ("seed", -1, "an integer in [0, inf)"), ("seeds", "3-1", "seeds must be"), ("seeds", True, "seed list"),
    ("label", 5, "must be a text"), ("preset", None, "got None"),
])
def test_bad_python_values(tmp_path, key, value, word):
    _population(tmp_path / "grid")
    with pytest.raises(ConfigError) as e:
        check_values(read_parameters(_notebook(tmp_path)), {key: value})
    assert word in str(e.value)


def test_population_must_exist_and_hold_a_manifest(tmp_path):
    nb = _notebook(tmp_path)
    params = read_parameters(nb)
    with pytest.raises(ConfigError, match=r"population must be .*the folder 'grid' does not exist.*notebook's default"):
        check_values(params, {})                          # the default itself points nowhere
    (tmp_path / "grid").mkdir()
    with pytest.raises(ConfigError, match="has neither manifest.json"):
        check_values(params, {})
    (tmp_path / "grid" / "manifest.json").write_text("{}")
    assert check_values(params, {}) == {}
    with pytest.raises(ConfigError, match="'data/book_grd' does not exist"):
        check_values(params, {"population": "data/book_grd"}, from_cli=True)
    other = _population(tmp_path / "elsewhere" / "pop")
    assert check_values(params, {"population": str(other)}) == {"population": str(other)}
    assert check_values(params, {"population": "live"}) == {"population": "live"}


def test_file_parameters_must_exist(tmp_path):
    (tmp_path / "bench.json").write_text("{}")
    params = read_parameters(_notebook(tmp_path, 'benchmark = "bench.json"  # file: benchmark record\n'))
    assert check_values(params, {}) == {}
    with pytest.raises(ConfigError, match="'nope.json' is not a file"):
        check_values(params, {"benchmark": "nope.json"})


def test_parse_cli_value_reads_like_papermill():
    """papermill's -p rule (its documented behaviour): True / False / None, then int, then float, else the text."""
    expected = {"True": True, "False": False, "None": None, "20": 20, "-3": -3, "2.5": 2.5, "1e3": 1000.0,
                "inf": float("inf"), "0-3": "0-3", "data/x": "data/x", "true": "true", "": ""}
    for text, want in expected.items():
        got = parse_cli_value(text)
        assert got == want and type(got) is type(want), text


def test_find_chapter(tmp_path):
    _notebook(tmp_path, name="01_task")
    _notebook(tmp_path, name="02_training")
    assert find_chapter("task", tmp_path).name == "01_task.ipynb"
    assert find_chapter("02_training.ipynb", tmp_path).name == "02_training.ipynb"
    with pytest.raises(ConfigError, match="unknown chapter 'tsak'; allowed: 01_task, 02_training"):
        find_chapter("tsak", tmp_path)


# --------------------------------------------------------------------------- #
# the command and the papermill run
# --------------------------------------------------------------------------- #
def _cli(argv):
    return cli_main(["chapter", *argv])


def test_cli_refuses_before_any_work(tmp_path, capsys):
    _notebook(tmp_path)
    _population(tmp_path / "grid")
    out = tmp_path / "out.ipynb"
    with pytest.raises(SystemExit) as e:
        _cli(["01_demo", "--book", str(tmp_path), "-p", "G", "1.4", "--out", str(out), "--no-progress"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'G'" in err and "allowed: seed, delay1" in err
    assert not out.exists()                               # papermill never started
    with pytest.raises(SystemExit):
        _cli(["01_demo", "--book", str(tmp_path), "-p", "seed", "1", "-p", "seed", "2"])
    assert "'seed' is given twice" in capsys.readouterr().err


def test_cli_help_lists_every_parameter(tmp_path, capsys):
    _notebook(tmp_path)
    assert _cli(["01_demo", "--book", str(tmp_path), "--help"]) == 0
    text = capsys.readouterr().out
    assert "usage: slowmem chapter NAME" in text and "chapters: 01_demo" in text
    for row in ["delay1", "float in [0.1, 1000], multiple of 0.1", "5.0", "duration of delay 1 (tau)",
                "choice of ci, book, paper", "'ci'", "int in [2, 20000] or None", "population"]:
        assert row in text, row
    assert _cli(["01_demo", "--book", str(tmp_path), "--list-parameters"]) == 0
    assert "help" not in capsys.readouterr().out.split("\n")[0]
    _notebook(tmp_path, "x = 1\n", name="02_bad")
    assert _cli(["02_bad", "--book", str(tmp_path), "--list-parameters"]) == 1
    assert "no '# TYPE: help' comment" in capsys.readouterr().out


def test_run_chapter_injects_checked_values(tmp_path, capsys):
    _notebook(tmp_path)
    _population(tmp_path / "grid")
    out = tmp_path / "ran.ipynb"
    assert _cli(["demo", "--book", str(tmp_path), "-p", "delay1", "20", "-p", "seeds", "5", "-p", "N", "None",
                 "--out", str(out), "--no-progress"]) == 0
    nb = json.loads(out.read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "delay1=20.0 seed=0 seeds='5' N=None" in printed
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1
    with pytest.raises(ConfigError, match="is the chapter itself"):
        run_chapter("demo", {}, tmp_path / "01_demo.ipynb", book_dir=tmp_path)


@pytest.mark.parametrize("nb", sorted(BOOK.glob("*.ipynb")), ids=lambda p: p.stem)
def test_chapter_parameters_follow_the_convention(nb):
    """Every chapter's parameters cell parses, and its defaults pass their own declared types."""
    from slowmem.book.chapters import check_values, read_parameters

    p = read_parameters(nb)
    assert p.problems == []
    check_values(p, {})


def test_nothing_in_the_book_points_outside_it():
    """Chapters and pages cite the book's Methods page and its bibliography, never a file not in the repository."""
    texts = [p.read_text() for p in (*BOOK.glob("*.ipynb"), *BOOK.glob("*.md"))]
    assert not [t for t in texts if "PAPER.md" in t]


# --------------------------------------------------------------------------- #
# `config` parameters: the declared type, range and help of the config field of that name
# --------------------------------------------------------------------------- #
CONFIG_CELL = '''pg = None  # config or None: (None keeps the preset's)
rule = "modified"  # config: the rule of the comparison
'''


def test_a_config_parameter_takes_the_declared_range_and_help(tmp_path):
    from slowmem.config import PARAMS

    params = read_parameters(_notebook(tmp_path, CONFIG_CELL, body="print(pg, rule)"))
    assert params.problems == []
    pg, rule = params.specs["pg"], params.specs["rule"]
    assert (pg.kind, pg.lo, pg.hi, pg.lo_open, pg.hi_open, pg.optional) == ("float", 0, 1, True, False, True)
    assert pg.describe() == "float in (0, 1] or None" and pg.help == f"{PARAMS['pg'].help} (None keeps the preset's)"
    assert rule.describe() == "choice of modified, original" and rule.help.startswith(PARAMS["rule"].help)
    table = format_parameters(params)
    assert "float in (0, 1] or None" in table and PARAMS["pg"].help in table
    # the declared bound is enforced, at its edges
    assert check_values(params, {"pg": "1"}, from_cli=True) == {"pg": 1.0}
    assert check_values(params, {"pg": None}) == {"pg": None}
    for bad in (0, 1.0000001):
        with pytest.raises(ConfigError, match=re.escape("pg must be a number in (0, 1]; got")):
            check_values(params, {"pg": bad})
    with pytest.raises(ConfigError, match="rule must be one of 'modified', 'original'"):
        check_values(params, {"rule": "hebb"})


@pytest.mark.parametrize("line, word", [
    ("gain = 1.0  # config: not a field", "no such number, choice or bool field"),
    ("timing = None  # config or None: composite", "no such number, choice or bool field"),
    ("pg = 2.0  # config: out of range", "the default does not satisfy its own type"),
    ("pg = 0.5  # config in [0, 1]: no range after config", "unknown type 'config'"),
])
def test_bad_config_lines(line, word):
    with pytest.raises(ConfigError, match=re.escape(word)):
        parse_parameter_line(line)


def test_the_book_uses_config_parameters_for_config_fields():
    """01_task's stimuli and 02_training's N, g, pg, fb, trials carry the declared type and help."""
    from slowmem.config import PARAMS

    for chapter, names in (("01_task", ("stimuli",)), ("02_training", ("N", "g", "pg", "fb", "trials"))):
        params = read_parameters(find_chapter(chapter, BOOK))
        assert params.problems == []
        for name in names:
            line = params.source.splitlines()[params.specs[name].line - 1]
            assert "# config" in line and params.specs[name].help.startswith(PARAMS[name].help)


@pytest.mark.slow                       # starts a kernel: make test-all
def test_a_chapter_stopped_by_its_own_check_is_one_message(tmp_path, capsys):
    """A population.json whose member lies outside its folder passes the parameter check (the file exists)
    and stops the chapter's first cell: the command says which cell and why, with no traceback."""
    pop = tmp_path / "pop"
    pop.mkdir()
    (pop / "population.json").write_text(json.dumps(
        {"kind": "slowmem-population", "members": [{"name": "x", "folder": "../elsewhere"}]}))
    with pytest.raises(SystemExit):
        cli_main(["chapter", "07_report", "-p", "population", str(pop), "--out", str(tmp_path / "o.ipynb")])
    err = capsys.readouterr().err
    assert "chapter 07_report stopped in cell" in err and "must lie inside" in err
    assert "Traceback" not in err and (tmp_path / "o.ipynb").is_file()
