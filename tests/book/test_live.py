"""slowmem.book.live: the population a chapter reads, stored or (only when asked for) trained now; and
populations of several results folders joined by a population.json index."""
from __future__ import annotations

import json

import pytest
import torch

from slowmem.book.live import load_chapter_population
from slowmem.errors import SlowmemError, StoredFileError
from slowmem.report import load_population
from slowmem.store.population import POPULATION_INDEX, SHARES_COLUMN


def test_live_population_only_when_asked_for(tmp_path):
    grid = {"name": "tiny", "preset": "ci", "N": 30, "trials": 3, "test_trials": 4, "seeds": "0-1"}
    for bad in (None, tmp_path / "no_such_folder", tmp_path):        # never a silent live fallback
        with pytest.raises(SlowmemError, match="does not exist|results folder|got None"):
            load_chapter_population(bad, live_grid=grid, workdir=tmp_path / "never")
    assert not (tmp_path / "never").exists()
    pop = load_chapter_population("live", live_grid=grid, workdir=tmp_path / "live")
    assert pop.source == "live" and len(pop.table) == 2
    assert "trained live" in pop.describe()
    nets, ends, task = pop.networks(list(pop.table.network_id))
    assert nets.B == 2 and ends.shape == (2, 4, 30) and nets.seeds == (0, 1)
    again = load_population(tmp_path / "live")
    assert again.source == "stored" and again.table.network_id.tolist() == pop.table.network_id.tolist()
    with pytest.raises(Exception, match="no 'memory' analysis stored|no stored"):
        again.analysis_summaries("memory")


def test_population_of_several_results_folders(tmp_path):
    """A population.json index joins results folders into one population: one table with the member of each
    row, networks rebuilt from the right folder in the order asked for; a network in two members, a member
    outside the folder or a damaged index is refused naming it."""
    base = {"preset": "ci", "N": 30, "trials": 3, "test_trials": 4}
    root = tmp_path / "pop"
    load_chapter_population("live", live_grid={**base, "name": "a", "seeds": "0-1"}, workdir=root / "a")
    load_chapter_population("live", live_grid={**base, "name": "b", "seeds": "2"}, workdir=root / "b")
    index = {"kind": "slowmem-population", "name": "test", "members": [{"name": "a", "folder": "a"},
                                                                       {"name": "b", "folder": "b"}]}
    (root / POPULATION_INDEX).write_text(json.dumps(index))
    pop = load_population(root)
    assert pop.members is not None and pop.table.results_folder.tolist() == ["a", "a", "b"]
    assert len(pop.manifest["runs"]) == 2 and "3 networks" in pop.describe()
    ids = pop.table.network_id.tolist()
    nets, ends, _ = pop.networks([ids[2], ids[0]])
    alone, alone_ends, _ = load_population(root / "b").networks([ids[2]])
    assert nets.seeds == (2, 0) and torch.equal(nets.wo[0], alone.wo[0]) and torch.equal(ends[0], alone_ends[0])
    assert pop.table[SHARES_COLUMN].all()
    extra = {**index, "members": [index["members"][0], {"name": "b", "folder": "b", "shares": False}]}
    (root / POPULATION_INDEX).write_text(json.dumps(extra))
    assert load_population(root).table[SHARES_COLUMN].tolist() == [True, True, False]
    (root / POPULATION_INDEX).write_text(json.dumps({**index, "members": [*index["members"],
                                                                           {"name": "a2", "folder": "a"}]}))
    with pytest.raises(StoredFileError, match="more than one member"):
        load_population(root)
    (root / POPULATION_INDEX).write_text(json.dumps({**index, "members": [{"name": "x", "folder": "../a"}]}))
    with pytest.raises(StoredFileError, match="must lie inside"):
        load_population(root)
    (root / POPULATION_INDEX).write_text("{not json")
    with pytest.raises(StoredFileError, match="not a readable population index"):
        load_population(root)
