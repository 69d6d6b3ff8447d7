import numpy as np
import pandas as pd
import pytest

from slowmem import report
from slowmem.config import ConfigError
from slowmem.report import load_population
from slowmem.store import MECHANISM


def _table(labels, horizons=None, phasic=None, eff=None, fr1=None, sat=None):
    n = len(labels)
    d = {"success": [True] * n, MECHANISM: labels,
         "memory.memory_horizon": horizons if horizons is not None else [np.nan] * n,
         "dynamics.activity.phasic_index": phasic if phasic is not None else [0.0] * n,
         "dynamics.efficiency": eff if eff is not None else [1.0] * n,
         "dynamics.activity.saturation_delay": sat if sat is not None else [0.0] * n,
         "memory.failure_ratio_by_sigma.1": fr1 if fr1 is not None else [0.0] * n}
    return pd.DataFrame(d)


def test_c1_c2_count_mechanisms():
    t = _table(["slow manifold"] * 3 + ["fixed points", "limit cycle", "far/mixed"])
    assert report.claim_c1(t).outcome == "held"
    assert report.claim_c2(t).outcome == "held"
    t2 = _table(["fixed points"] * 3 + ["slow manifold"])
    assert report.claim_c1(t2).outcome == "partly" and report.claim_c2(t2).outcome == "did not hold"
    assert report.mechanism_table(t2).loc["fixed points", "networks"] == 3


def test_c4_needs_both_sides_and_compares_forgetting():
    held = _table(["slow manifold", "slow manifold", "fixed points"], horizons=[8.0, 10.0, np.nan])
    assert report.claim_c4(held).outcome == "held"
    not_held = _table(["slow manifold", "fixed points"], horizons=[np.nan, 7.0])
    assert report.claim_c4(not_held).outcome == "did not hold"
    only_sm = _table(["slow manifold"] * 2, horizons=[8.0, 9.0])
    v = report.claim_c4(only_sm)
    assert v.outcome == "partly" and "no fixed-point network" in v.evidence


def test_c3_c5_c6():
    t = _table(["slow manifold", "fixed points"], phasic=[0.4, -0.2], eff=[0.67, 1.0], fr1=[0.1, 0.6],
               sat=[0.01, 0.5])
    assert report.claim_c3(t).outcome == "held"
    # less tonic but not more phasic: partly; neither: did not hold
    assert report.claim_c3(_table(["slow manifold", "fixed points"], phasic=[0.0, 0.0], sat=[0.0, 0.5])).outcome \
        == "partly"
    assert report.claim_c3(_table(["slow manifold", "fixed points"], phasic=[-0.5, 0.0], sat=[0.6, 0.5])).outcome \
        == "did not hold"
    assert report.claim_c5(t).outcome == "held"
    assert report.claim_c6(t, sigma="1").outcome == "held"
    t2 = _table(["slow manifold", "fixed points"], fr1=[0.7, 0.2])
    assert report.claim_c6(t2, sigma="1").outcome == "did not hold"
    assert list(report.all_claims(t).index) == ["C1", "C2", "C3", "C4", "C5", "C6"]


def test_unsuccessful_networks_are_ignored():
    t = _table(["fixed points", "slow manifold", "slow manifold"])
    t.loc[1:, "success"] = False
    assert report.claim_c2(t).outcome == "did not hold"


def test_live_population_only_when_asked_for(tmp_path):
    grid = {"name": "tiny", "preset": "ci", "N": 30, "trials": 3, "test_trials": 4, "seeds": "0-1"}
    for bad in (None, tmp_path / "no_such_folder", tmp_path):        # never a silent live fallback
        with pytest.raises(ConfigError, match="does not exist|results folder|got None"):
            load_population(bad, live_grid=grid, workdir=tmp_path / "never")
    assert not (tmp_path / "never").exists()
    pop = load_population("live", live_grid=grid, workdir=tmp_path / "live")
    assert pop.source == "live" and len(pop.table) == 2
    assert "trained live" in pop.describe()
    nets, ends, task = pop.networks(list(pop.table.network_id))
    assert nets.B == 2 and ends.shape == (2, 4, 30) and nets.seeds == (0, 1)
    again = load_population(tmp_path / "live")
    assert again.source == "stored" and again.table.network_id.tolist() == pop.table.network_id.tolist()
    with pytest.raises(Exception, match="no 'memory' analysis stored|no stored"):
        again.analysis_summaries("memory")
