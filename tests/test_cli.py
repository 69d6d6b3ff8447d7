import json
import subprocess
import sys

import pytest

from slowmem.cli import main
from slowmem.store import load_networks, load_results, read_manifest

FAST = ["--preset", "ci", "--N", "40", "--trials", "3", "--test-trials", "4", "--no-progress"]


@pytest.mark.parametrize("flags, word", [
    (["--N", "0"], "N must be an integer"),
    (["--g", "abc"], "g must be a number"),
    (["--rule", "hebb"], "rule must be one of"),
    (["--pg", "1.5"], "pg must be a number in (0, 1]"),
    (["--pg", "0"], "pg must be a number in (0, 1]"),
    (["--seeds", "3-1"], "seeds must be"),
    (["--preset", "huge"], "preset must be one of"),
    (["--device", "cuda"], "CUDA is not available"),
    (["--engine", "fast"], "engine must be one of auto, torch, numba"),
])
def test_bad_flags_fail_before_training(flags, word, capsys, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as e:
        main(["train", *FAST, *flags, "--out", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert word in err and "FORCE" not in err   # no progress bar: training never started
    assert not out.exists()


def test_train_out_json_and_rerun(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(out), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert [n["seed"] for n in rec["networks"]] == [0, 1]
    assert rec["config"]["network"]["N"] == 40 and rec["config"]["training"]["trials"] == 3
    table = load_results(out)
    assert list(table.seed) == [0, 1] and list(table.network_id) == [n["network_id"] for n in rec["networks"]]
    nets, ends, _ = load_networks(out, list(table.network_id))
    assert nets.B == 2 and ends.shape == (2, 4, 40)
    assert read_manifest(out)["runs"][0]["command"] is not None
    # the same command again does nothing and keeps the files
    arrays = sorted((out / "arrays").iterdir())
    before = [p.stat().st_mtime_ns for p in arrays]
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(out)]) == 0
    assert "complete; nothing to do" in capsys.readouterr().err
    assert [p.stat().st_mtime_ns for p in arrays] == before
    # a different run into the same folder is refused, nothing overwritten
    with pytest.raises(SystemExit):
        main(["train", *FAST, "--seeds", "0-1", "--g", "1.4", "--out", str(out)])
    assert "holds results of a different grid" in capsys.readouterr().err
    assert [p.stat().st_mtime_ns for p in arrays] == before


def test_out_non_run_folder_refused(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit):
        main(["train", *FAST, "--out", str(tmp_path / "x")])
    assert "not a slowmem results folder" in capsys.readouterr().err
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"


def test_console_script_entry_point():
    r = subprocess.run([sys.executable, "-m", "slowmem.cli", "train", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--seeds" in r.stdout


def test_analyze_prints_registered_analyses(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *FAST, "--seeds", "0-1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--only", "memory", "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["analyses"] == ["memory"] and [n["seed"] for n in doc["networks"]] == [0, 1]
    mem = doc["networks"][0]["memory"]
    assert {"memory_horizon", "forgetting", "distraction", "interruption", "long_delay_failure"} <= set(mem)
    with pytest.raises(SystemExit):
        main(["analyze", str(out), "--only", "telepathy"])
    assert "unknown analysis 'telepathy'" in capsys.readouterr().err


def test_train_help_lists_each_flags_declared_help_and_range(capsys):
    """The network/training flags are made from the config declarations (slowmem.config.PARAMS)."""
    from slowmem.config import PARAMS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())        # undo argparse's line wrapping
    for name in ("N", "g", "pg", "fb", "in_scale", "init", "rule", "trials", "test_trials", "dtype"):
        flag = "--" + name.replace("_", "-")
        assert f"{flag} {name.upper()} {' '.join(PARAMS[name].help.split())}; {PARAMS[name].describe()}" in text
    assert "integer in [2, 20000]" in text and "number in (0, 1]" in text and "one of modified, original" in text


def test_no_range_of_a_declared_field_is_typed_in_cli_py():
    import ast
    import re
    from pathlib import Path

    import slowmem.cli
    from slowmem.config import PARAMS

    source = Path(slowmem.cli.__file__).read_text()
    for name, p in PARAMS.items():
        if p.interval():
            assert p.interval() not in source, (name, p.interval())
        if p.choices:
            assert " or ".join(p.choices[:2]) not in source and ", ".join(p.choices) not in source, name
    # no flag's help text holds an interval, a comparison or an 'a..b' range
    helps = [c.value for call in ast.walk(ast.parse(source)) if isinstance(call, ast.Call)
             and getattr(call.func, "attr", "") == "add_argument"
             for kw in call.keywords if kw.arg == "help"
             for c in ast.walk(kw.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    assert len(helps) > 20
    assert not [h for h in helps if re.search(r"[\[(]-?[\d.]+, *(?:-?[\d.]+|inf)[\])]|[<>]=? ?\d|\d\.\.\d", h)]
