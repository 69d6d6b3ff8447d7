"""compare_slices on designed tables whose answer is known."""
import numpy as np
import pandas as pd
import pytest

from slowmem.config import ConfigError
from slowmem.report.slices import compare_effects, compare_slices, effects_table


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
    by = c.mechanisms_by
    assert by.loc[(10.0, "1500")].to_dict() == {"fixed points": 0, "slow manifold": 1, "limit cycle": 0,
                                                "far/mixed": 0, "fails the task": 2}
    assert by.loc[(1.0, "3500"), "slow manifold"] == 2 and by.to_numpy().sum() == 12
    assert list(by.index) == [(1.0, "1500"), (1.0, "3500"), (10.0, "1500"), (10.0, "3500")]
    d = c.differences
    assert d.loc["success", "difference"] == pytest.approx(3 / 6 - 5 / 6, abs=1e-3)
    assert d.loc["success", "ci_low"] < d.loc["success", "difference"] < d.loc["success", "ci_high"]
    assert d.loc["fixed points", "difference"] == pytest.approx(1 / 3 - 2 / 5, abs=1e-3)
    assert d.loc["success", "p_value"] > 0.05          # 3 of 6 against 5 of 6 decides nothing


def test_differences_of_many_networks_are_decided():
    a = _table([True] * 40 + [False] * 60, ["slow manifold"] * 40 + [None] * 60)
    b = _table([True] * 90 + [False] * 10, ["fixed points"] * 45 + ["slow manifold"] * 45 + [None] * 10)
    d = compare_slices(a, b, labels=("a", "b")).differences
    assert d.loc["success", "difference"] == -0.5 and d.loc["success", "ci_high"] < 0 and d.loc["success",
                                                                                                 "p_value"] < 1e-6
    assert d.loc["fixed points", "difference"] == -0.5 and d.loc["slow manifold", "difference"] == 0.5
    assert np.isnan(compare_slices(a.assign(success=False), b).differences.loc["limit cycle", "difference"])


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


def _effects_table(n_sm, n_fp, forget_sm, forget_fp, seed=0):
    """SM and FP networks at fb = 1, one per seed, with a long-delay failure around ``forget_*``."""
    from slowmem.report import FP, SM

    rng = np.random.default_rng(seed)
    groups = [SM] * n_sm + [FP] * n_fp
    fail = [float(np.clip((forget_sm if g == SM else forget_fp) + rng.normal(0, 0.03), 0, 1)) for g in groups]
    return pd.DataFrame({"g": 1.2, "pg": 0.7, "fb": 1.0, "seed": np.arange(len(groups)), "success": True,
                         "mechanism": groups, "memory.forgetting.replace.long_delay_failure": fail})


def test_compare_effects_measures_each_setting_on_the_shared_cells_only():
    from slowmem.report import SM

    big = _effects_table(12, 12, 0.8, 0.1)                 # SM forget, FP do not: held with 12 per side
    other = _effects_table(12, 12, 0.1, 0.1, seed=1)       # no difference, tightly measured: ruled out
    extra = _effects_table(20, 0, 0.1, 0.1).assign(seed=lambda d: d.seed + 100)   # only in one table
    eff = compare_effects(pd.concat([big, extra]), other, labels=("N = 1000", "N = 300"), claims=("C4",))
    row = eff.loc[("C4", "N = 1000")]
    assert (row.n_sm, row.n_fp) == (12, 12)                # the 20 unmatched SM networks are left out
    assert row.verdict == "held" and 0.6 < row.effect < 0.8 and row.ci_low > 0 and row.direction == 1
    assert eff.loc[("C4", "N = 300"), "verdict"] == "ruled out"
    small = compare_effects(big.iloc[8:20], big.iloc[8:20].assign(mechanism=SM), labels=("a", "b"), claims=("C4",))
    assert small.loc[("C4", "a"), "verdict"] == "inconclusive" and small.loc[("C4", "a"), "n_fp"] == 8
    assert pd.isna(small.loc[("C4", "b"), "effect"]) and small.loc[("C4", "b"), "n_fp"] == 0
    assert effects_table(small).loc[("C4", "b"), "n SM"] == "0 of 12"
    ref = compare_effects(big, other, labels=("x", "y"), claims=("C4",), reference=("whole", pd.concat([big, extra])))
    assert ref.loc[("C4", "whole"), "n_sm"] == 32 and ref.loc[("C4", "x"), "n_sm"] == 12
    shown = effects_table(ref)
    assert shown.loc[("C4", "x"), "effect [95 % CI]"].startswith("+0.") and shown.loc[("C4", "x"), "n FP"] == "12"
    assert ref.loc[("C4", "whole"), "n_sm_all"] == 32
    assert effects_table(small).loc[("C4", "b"), "effect [95 % CI]"] == "no comparison"
    unmeasured = compare_effects(big, other.drop(columns="memory.forgetting.replace.long_delay_failure"),
                                 labels=("x", "y"), claims=("C4",))
    assert effects_table(unmeasured).loc[("C4", "y"), "effect [95 % CI]"] == "no values of this measure"
    with pytest.raises(ConfigError, match="one of the labels"):
        compare_effects(big, other, labels=("x", "y"), reference=("x", big))
    with pytest.raises(ConfigError, match="share no cell"):
        compare_effects(big, other.assign(seed=other.seed + 1000))
    with pytest.raises(ConfigError, match="claim must be one of"):
        compare_effects(big, other, claims=("C2",))


def test_effects_comparison_draws_one_row_per_claim_and_setting():
    import matplotlib
    matplotlib.use("Agg")
    from slowmem.plots.report import effects_comparison

    t = _effects_table(12, 12, 0.8, 0.1)
    eff = compare_effects(t, t.assign(mechanism="slow manifold"), labels=("x", "y"), claims=("C4", "C6"))
    fig = effects_comparison(eff)
    labels = [lab.get_text() for lab in fig.axes[0].get_yticklabels()]
    assert [lab.split(":")[0] for lab in labels] == ["C4, x", "C4, y", "C6, x", "C6, y"]
    texts = [x.get_text().replace("\n", " ") for x in fig.axes[0].texts]   # notes wrap; compare unwrapped
    assert texts.count("no comparison possible") == 3       # C4 y, and C6 in both (no distraction measure)
    assert texts.count("inconclusive; n SM 0 of 24, FP 0") == 1   # every row says its verdict and n, drawn or not
