"""Grid files and grids: refused early, with a message, whatever a careless or hostile file holds (issue 18)."""
import time

import pytest

from slowmem.config import ConfigError, TaskConfig
from slowmem.errors import StoredFileError
from slowmem.sweep import MAX_NETWORKS, Grid, load_grid_file


def test_key_given_twice_is_refused_in_yaml_and_json(tmp_path):
    y = tmp_path / "g.yaml"
    y.write_text("preset: ci\nN: 30\ng: 1.2\ng: 1.5\n")
    with pytest.raises(ConfigError, match=r"\['g'\] given more than once"):
        load_grid_file(y)
    j = tmp_path / "g.json"
    j.write_text('{"preset": "ci", "N": 30, "fb": 10, "fb": 20}')
    with pytest.raises(ConfigError, match=r"\['fb'\] given more than once"):
        load_grid_file(j)


def test_yaml_alias_bomb_is_refused_at_once(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for k in "bcdefghi":
        prev = chr(ord(k) - 1)
        lines.append(f"{k}: &{k} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="aliases"):
        load_grid_file(p)
    assert time.perf_counter() - t0 < 2


def test_a_million_networks_are_refused_before_expansion():
    g = Grid("big", "ci", {}, {"g": tuple(round(0.5 + i / 1000, 4) for i in range(1000))}, tuple(range(1000)))
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=f"at most {MAX_NETWORKS}"):
        g.networks()
    assert time.perf_counter() - t0 < 1


def test_absurd_durations_and_missing_stimuli_are_refused_at_validation(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="at most 100000 steps per trial"):
        TaskConfig(timing={"delay1": 1.0e9})
    p = tmp_path / "g.yaml"
    p.write_text("preset: ci\nN: 30\ntiming: {delay1: 1.0e9}\n")
    with pytest.raises(ConfigError, match="steps per trial"):
        load_grid_file(p)
    monkeypatch.setenv("SLOWMEM_STIMULI_DIR", str(tmp_path / "no_latents_here"))
    p.write_text("preset: ci\nN: 30\nstimuli: mnist\n")
    with pytest.raises(StoredFileError, match="stimuli 'mnist': no latents"):
        load_grid_file(p)


def test_analysis_sections_in_a_grid_file(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("preset: ci\nN: 30\nmemory: {n_repeats: 3}\n")
    spec = load_grid_file(p).networks()[0]
    assert spec.config.memory.n_repeats == 3
    p.write_text("preset: ci\nN: 30\nmemory: {n_repeets: 3}\n")
    with pytest.raises(ConfigError, match="n_repeets"):
        load_grid_file(p)
    p.write_text("preset: ci\nN: 30\nmemory: 3\n")
    with pytest.raises(ConfigError, match="memory must be a mapping"):
        load_grid_file(p)


def test_repeated_set_keys_and_seeds_are_refused():
    """A repeat would silently keep one value (--set) or drop a network (seeds): both are named instead."""
    from slowmem.config import parse_seeds
    from slowmem.sweep.grid import parse_set

    with pytest.raises(ConfigError, match="--set N is given twice"):
        parse_set(["N=40", "N=50"])
    assert parse_set(["N=40", "g=1.2,1.4"]) == {"N": [40], "g": [1.2, 1.4]}
    for spec, twice in (("0,0", "0"), ("0-3,2", "2"), ([1, 1], "1")):
        with pytest.raises(ConfigError, match=f"seeds: {twice} given more than once"):
            parse_seeds(spec)
    assert parse_seeds("0-3,8") == [0, 1, 2, 3, 8]


def test_settings_text_reads_the_grid_file(tmp_path):
    p = tmp_path / "cells.yaml"
    p.write_text("name: cells\npreset: ci\ng: [0.8, 1.1, 1.2]\npg: 0.4\nfb: 1.0\nseeds: [0, 1, 2, 3, 7]\n")
    grid = load_grid_file(p)
    assert grid.settings_text() == "fb = 1; g = 0.8, 1.1, 1.2; pg = 0.4; seeds 0-3, 7: 15 networks"
    assert grid.size == 15
    again = Grid.from_dict(grid.to_dict())
    assert again.settings_text() == grid.settings_text() and again.size == grid.size
    with pytest.raises(ConfigError, match="needs name, preset"):
        Grid.from_dict({"name": "x"})
