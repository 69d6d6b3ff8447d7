"""Verdicts on designed populations where the answer is known (issue 13), and the population reader."""
import json

import numpy as np
import pandas as pd
import pytest

from slowmem.cli import main
from slowmem.report import FP, SM, evaluate_claims, mechanism_table, stratified_effect, verdict_table
from slowmem.store import MECHANISM


def population(n_sm: int, n_fp: int, *, fb_sm=(10.0,), fb_fp=(10.0,), forget_sm=0.8, forget_fp=0.05,
               noise=None, seed: int = 0, others: int = 0) -> pd.DataFrame:
    """A synthetic population table in the stored column vocabulary.

    ``forget_*``: mean long-delay failure probability of each group (per-network values scattered around
    it); ``noise(group, fb) -> mean failure`` sets the distraction measure.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for group, n, fbs, forget in ((SM, n_sm, fb_sm, forget_sm), (FP, n_fp, fb_fp, forget_fp)):
        for i in range(n):
            fb = fbs[i % len(fbs)]
            p = float(np.clip(forget + rng.normal(0, 0.05), 0, 1))
            mean_fail = noise(group, fb) + rng.normal(0, 0.02) if noise else 0.1
            rows.append({"success": True, MECHANISM: group, "dynamics.mechanism_original": group, "fb": fb,
                         "error_rate_0.1": 0.0, "error_rate_0.05": 0.0,
                         "dynamics.activity.saturation_delay": 0.1 if group == SM else 0.5,
                         "dynamics.activity.phasic_index": 0.5 if group == SM else 0.0,
                         "dynamics.efficiency": 1 / 3 if group == SM else 4 / 3,
                         **{f"memory.forgetting.{pr}.long_delay_failure": p for pr in ("replace", "extend")},
                         **{f"memory.forgetting.{pr}.half_failure_delay": 20.0 if p >= 0.5 else None
                            for pr in ("replace", "extend")},
                         **{f"memory.forgetting.{pr}.memory_horizon": 10.0 if p > 0 else None
                            for pr in ("replace", "extend")},
                         **{f"memory.{k}.mean_failure": mean_fail for k in (
                             "distraction.literal", "distraction.zero_mean", "interruption.stim1",
                             "interruption.whole_trial")}})
    for j in range(others):
        rows.append({**rows[0], MECHANISM: ("limit cycle", "far/mixed")[j % 2],
                     "dynamics.mechanism_original": ("limit cycle", "far/mixed")[j % 2]})
    return pd.DataFrame(rows)


def by_claim(table):
    return {r.claim: r for r in evaluate_claims(table)}


def test_sm_forgets_fp_does_not_is_held_with_an_interval():
    r = by_claim(population(30, 20))["C4"]
    assert r.verdict == "held" and r.main.n == {SM: 30, FP: 20}
    assert 0.6 < r.main.effect < 0.9 and 0 < r.main.ci_low < r.main.effect < r.main.ci_high
    assert r.main.p_value < 1e-6


def test_the_same_with_three_fixed_point_networks_is_inconclusive():
    r = by_claim(population(30, 3))["C4"]
    assert r.verdict == "inconclusive" and "too few networks" in r.main.reason and "3 fixed points" in r.main.reason
    assert r.main.effect > 0.5                         # the direction and size are still shown


def test_a_confound_through_fb_gives_no_effect_within_strata():
    """SM networks mostly at fb = 10, FP mostly at fb = 1, and failure depends on fb only: the plain
    difference of means is large, the within-fb effect is not."""
    noise = lambda group, fb: 0.6 if fb == 1.0 else 0.1     # noqa: E731 - the confound, on purpose
    t = population(40, 40, fb_sm=(10.0,) * 9 + (1.0,), fb_fp=(1.0,) * 9 + (10.0,), noise=noise)
    col = "memory.distraction.literal.mean_failure"
    plain = t[t[MECHANISM] == SM][col].mean() - t[t[MECHANISM] == FP][col].mean()
    assert plain < -0.3                                    # naive comparison: "SM far more robust"
    within = stratified_effect(t, col, MECHANISM, SM, FP, strata="fb", direction=-1)
    assert abs(within.effect) < 0.03 and within.ci_low < 0 < within.ci_high
    assert within.verdict == "inconclusive" and within.reason == "the interval spans zero"
    assert by_claim(t)["C6"].verdict == "inconclusive"


def test_against_the_claim_is_not_held_and_strata_need_both_groups():
    r = by_claim(population(20, 20, forget_sm=0.05, forget_fp=0.8))["C4"]
    assert r.verdict == "not held" and r.main.effect < 0
    lonely = population(20, 20, fb_sm=(10.0,), fb_fp=(1.0,))      # no stratum holds both groups
    e = by_claim(lonely)["C4"].main
    assert e.effect is None and e.verdict == "inconclusive" and e.strata == {"1.0": {SM: 0, FP: 20},
                                                                             "10.0": {SM: 20, FP: 0}}


def test_every_claim_has_variants_and_says_when_the_reading_matters():
    t = population(40, 12, others=4)
    t.loc[t[MECHANISM] == FP, "memory.forgetting.extend.long_delay_failure"] = 0.9   # the protocols disagree
    results = {r.claim: r for r in evaluate_claims(t)}
    assert set(results) == {"C1", "C2", "C3", "C4", "C5", "C6"}
    assert results["C1"].verdict == "held" and results["C2"].verdict == "held"
    c4 = results["C4"]
    assert c4.verdict == "held" and c4.depends_on_reading
    extend = [v for v in c4.variants if v["option"] == "extend: long-delay failure" and v["taxonomy"] == "ours"
              and v["success"].startswith("ours")]
    assert extend and extend[0]["verdict"] == "not held"
    n_variants = 2 * 3 * 6 - 1                   # taxonomy x success x (protocol x measure), minus the default
    assert len(c4.variants) == n_variants
    table = verdict_table(list(results.values()))
    assert list(table.index) == ["C1", "C2", "C3", "C4", "C5", "C6"] and table.loc["C4", "depends on reading"] == "yes"
    json.dumps([r.to_dict() for r in results.values()], allow_nan=False)


def test_c3_default_reading_is_delay_saturation_and_the_phasic_index_a_variant():
    r = by_claim(population(30, 20))["C3"]
    assert r.measure == "delay saturation, SM - FP" and r.main.direction == -1 and r.verdict == "held"
    assert r.main.effect == pytest.approx(-0.4)
    assert {v["measure"] for v in r.variants} >= {"phasic index, SM - FP"}


def test_mechanism_table_has_share_intervals():
    mt = mechanism_table(population(30, 10, others=2))
    assert mt.loc[SM, "networks"] == 30 and mt.networks.sum() == 42
    assert (mt.share_ci_low <= mt.share).all() and (mt.share <= mt.share_ci_high).all()


def test_report_command_prints_verdicts_as_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "ci", "--N", "30", "--trials", "4", "--test-trials", "4", "--no-progress",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["report", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["claim"] for c in doc["claims"]] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    for c in doc["claims"]:
        assert {"verdict", "effect", "ci_low", "ci_high", "n", "variants", "depends_on_reading"} <= set(c)
        assert c["verdict"] == "inconclusive"          # one untrained network decides nothing
    assert doc["rule"].startswith("held / not held")


def test_forest_plots_draw_every_claim_and_variant():
    import matplotlib
    matplotlib.use("Agg")
    from slowmem.plots import report as plots_report

    results = evaluate_claims(population(30, 20, others=4))
    fig = plots_report.claims_forest(results)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert [lab.split(":")[0] for lab in labels] == ["C2", "C3", "C4", "C5", "C6"]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert set(legend) <= {r.verdict for r in results}          # no legend entry for a verdict not drawn
    c4 = {r.claim: r for r in results}["C4"]
    fig = plots_report.variants_forest(c4)
    assert len(fig.axes[0].get_yticklabels()) == 6               # default + 5 protocol x measure readings


def test_extra_seeds_count_in_comparisons_not_in_shares():
    """Rows of a member marked shares: false leave C1/C2 and the mechanism table, stay in SM-vs-FP effects."""
    from slowmem.report.population import SHARES_COLUMN

    base = population(20, 20, fb_sm=(1.0,), fb_fp=(1.0,))
    extra = population(0, 30, fb_fp=(1.0,), seed=1)
    t = pd.concat([base.assign(**{SHARES_COLUMN: True}), extra.assign(**{SHARES_COLUMN: False})], ignore_index=True)
    assert mechanism_table(t)["networks"].sum() == mechanism_table(base)["networks"].sum() == 40
    c, b = by_claim(t), by_claim(base)
    assert c["C2"].main.n == b["C2"].main.n and c["C1"].main.n == b["C1"].main.n
    assert c["C4"].main.n[FP] == 50 and c["C4"].main.n[SM] == 20


def test_strata_check_removes_a_confound_through_g():
    """Within fb alone a difference carried by g survives; within fb and g it goes; pooled it is largest."""
    from slowmem.report import strata_check

    rng = np.random.default_rng(3)
    rows = []
    for g, n_sm, n_fp, fail in ((1.1, 4, 16, 0.1), (1.5, 16, 4, 0.6)):       # SM mostly at g 1.5, which forgets more
        for grp, n in ((SM, n_sm), (FP, n_fp)):
            for _ in range(n):
                rows.append({"success": True, MECHANISM: grp, "fb": 1.0, "g": g,
                             "memory.forgetting.replace.long_delay_failure": fail + rng.normal(0, 0.02)})
    t = pd.DataFrame(rows)
    chk = strata_check(t)
    within_fb = chk.loc[("C4", "fb"), "effect"]
    within_fb_g = chk.loc[("C4", "fb and g"), "effect"]
    assert within_fb > 0.2 and abs(within_fb_g) < 0.03
    assert chk.loc[("C4", "fb and g"), "verdict"] != "held"
