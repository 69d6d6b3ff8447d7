"""compare_slices on designed tables whose answer is known."""
import numpy as np
import pandas as pd
import pytest

from slowmem.config import ConfigError
from slowmem.report.slices import compare_slices


def _table(success, mechanisms):
    n = len(success)
    return pd.DataFrame({"g": np.repeat([1.1, 1.2], n // 2), "pg": 0.7, "fb": np.tile([1.0, 10.0], n // 2),
                         "seed": np.arange(n), "success": success, "mechanism": mechanisms})


def test_paired_counts_shares_and_transitions():
    short = _table([True, True, False, False, True, False],
                   ["fixed points", "slow manifold", None, None, "slow manifold", None])
    long = _table([True, True, True, False, True, True],
                  ["fixed points", "fixed points", "slow manifold", None, "slow manifold", "far/mixed"])
    c = compare_slices(short, long, labels=("1500", "3500"))
    assert c.matched == 6 and c.success["succeed"].tolist() == [3, 5]
    assert c.success.loc["1500", "rate_ci_low"] < 0.5 < c.success.loc["1500", "rate_ci_high"]
    assert c.success_pairs.loc[False, True] == 2 and c.success_pairs.loc[True, False] == 0
    assert c.mechanisms[("3500", "networks")].to_dict() == {"fixed points": 2, "slow manifold": 2, "limit cycle": 0,
                                                           "far/mixed": 1}
    assert c.transitions.loc["slow manifold", "fixed points"] == 1 and c.transitions.to_numpy().sum() == 3
    assert c.success_by.loc[10.0, "3500"] == pytest.approx(2 / 3, abs=1e-3)
    assert c.success_by.loc[1.0, "1500"] == pytest.approx(2 / 3, abs=1e-3)


def test_only_shared_cells_count_and_bad_tables_are_refused():
    a = _table([True] * 4, ["fixed points"] * 4).iloc[:3]
    b = _table([True] * 4, ["slow manifold"] * 4).iloc[1:]
    assert compare_slices(a, b).matched == 2
    with pytest.raises(ConfigError, match="share no cell"):
        compare_slices(a, b.assign(seed=[10, 11, 12]))
    with pytest.raises(ConfigError, match="twice"):
        compare_slices(pd.concat([a, a]), b)
    with pytest.raises(ConfigError, match="lacks column"):
        compare_slices(a.drop(columns="success"), b)
    with pytest.raises(ConfigError, match="two different names"):
        compare_slices(a, b, labels=("x", "x"))
