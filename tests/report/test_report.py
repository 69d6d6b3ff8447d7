"""Verdicts on designed populations where the answer is known (issue 13), and the population reader."""
import json

import numpy as np
import pandas as pd
import pytest

from slowmem.cli import main
from slowmem.report import FP, MARGINS, SM, evaluate_claims, mechanism_table, stratified_effect, verdict_table
from slowmem.report.claims import VARIANT_MARGINS
from slowmem.store import MECHANISM


def population(n_sm: int, n_fp: int, *, fb_sm=(10.0,), fb_fp=(10.0,), forget_sm=0.8, forget_fp=0.05,
               noise=None, seed: int = 0, others: int = 0, g_sm=(1.0,), g_fp=(1.0,)) -> pd.DataFrame:
    """A synthetic population table in the stored column vocabulary.

    ``forget_*``: mean long-delay failure probability of each group (per-network values scattered around
    it); ``noise(group, fb) -> mean failure`` sets the distraction measure; ``g_*`` cycle like ``fb_*``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for group, n, fbs, gs, forget in ((SM, n_sm, fb_sm, g_sm, forget_sm), (FP, n_fp, fb_fp, g_fp, forget_fp)):
        for i in range(n):
            fb, g = fbs[i % len(fbs)], gs[i % len(gs)]
            p = float(np.clip(forget + rng.normal(0, 0.05), 0, 1))
            mean_fail = noise(group, fb) + rng.normal(0, 0.02) if noise else 0.1
            rows.append({"success": True, MECHANISM: group, "dynamics.mechanism_original": group, "fb": fb, "g": g,
                         "dynamics.manifold.n_fixed_points_on_memory": (0 if group == SM else 4) + i % 2,
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
                             "interruption.whole_trial")},
                         **{f"memory.{k}.mean_failure_se": 0.02 for k in (
                             "distraction.literal", "distraction.zero_mean", "interruption.stim1",
                             "interruption.whole_trial")},
                         # more failure, less tolerated noise: log2 tolerance falls with the mean failure
                         **{f"memory.distraction.{k}.log2_tolerance": 2.0 - 4.0 * mean_fail
                            for k in ("literal", "zero_mean")},
                         **{f"memory.distraction.{k}.log2_tolerance_se": 0.1 for k in ("literal", "zero_mean")},
                         **{f"memory.forgetting.{pr}.long_delay_failure_se": 0.03 for pr in ("replace", "extend")}})
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
    assert within.verdict == "inconclusive" and within.reason == "the interval spans zero"   # no margin: no TOST
    r6 = by_claim(t)["C6"]                              # the claim's margin rules a tight null out
    c6, m = r6.main, MARGINS["C6"][0]
    assert c6.margin == m and c6.direction == 1 and "tolerance" in c6.measure
    assert c6.verdict == "ruled out" and -m < c6.ci90_low < c6.ci90_high < m and c6.tost_p < 0.05
    # the all-level mean failure is a variant in its own unit, with its own margin (0.10), and rules it out too
    mean = [v for v in r6.variants if v["option"] == "distraction, literal: mean failure over all levels"
            and v["strata"] == "fb and g" and v["success"].startswith("ours") and v["taxonomy"] == "ours"]
    assert len(mean) == 1 and mean[0]["margin"] == VARIANT_MARGINS[("C6", "mean_failure")][0]
    assert mean[0]["direction"] == -1 and mean[0]["verdict"] == "ruled out"


def test_per_network_standard_errors_are_summarised_against_the_effect():
    t = population(30, 20)
    r = by_claim(t)
    p4 = r["C4"].precision
    assert p4["se_column"] == "memory.forgetting.replace.long_delay_failure_se"
    assert p4["median_se"] == {SM: 0.03, FP: 0.03}
    assert p4["measurement_se_of_difference"] == pytest.approx(np.sqrt(0.03 ** 2 / 30 + 0.03 ** 2 / 20))
    assert 0 < p4["share_of_effect_se"] < 1
    assert r["C6"].precision["median_se"][SM] == 0.1
    p3 = r["C3"].precision                               # no per-network SE for the saturation fraction: a bound
    assert p3["se_column"] is None and "16 test trials" in p3["why_none"]
    assert p3["effect_se"] == pytest.approx((r["C3"].main.ci_high - r["C3"].main.ci_low) / 2 / 1.96)
    assert p3["effect_se_share_of_margin"] == pytest.approx(p3["effect_se"] / 0.05)
    assert "deterministic search" in r["C5"].precision["why_none"]
    assert json.loads(json.dumps(r["C4"].to_dict()))["precision"]["max_se"][FP] == 0.03


def test_against_the_claim_is_not_held_and_strata_need_both_groups():
    r = by_claim(population(20, 20, forget_sm=0.05, forget_fp=0.8))["C4"]
    assert r.verdict == "contradicted" and r.main.effect < 0
    lonely = population(20, 20, fb_sm=(10.0,), fb_fp=(1.0,))      # no stratum holds both groups
    e = by_claim(lonely)["C4"].main
    assert e.effect is None and e.verdict == "inconclusive" and e.strata == {"1.0 / 1.0": {SM: 0, FP: 20},
                                                                             "10.0 / 1.0": {SM: 20, FP: 0}}


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
    assert extend and extend[0]["verdict"] == "contradicted"
    n_variants = 2 * 3 * 6 - 1 + 2     # taxonomy x success x (protocol x measure), minus the default; 2 strata
    assert len(c4.variants) == n_variants
    table = verdict_table(list(results.values()))
    assert list(table.index) == ["C1", "C2", "C3", "C4", "C5", "C6"] and table.loc["C4", "depends on reading"] == "yes"
    json.dumps([r.to_dict() for r in results.values()], allow_nan=False)


def test_an_effect_inside_the_margin_is_ruled_out_even_when_it_excludes_zero():
    """SM fail long delays about 0.06 more often than FP, measured tightly: real, but under C4's margin (0.10)."""
    r = by_claim(population(60, 60, forget_sm=0.12, forget_fp=0.05))["C4"].main
    assert r.ci_low > 0 and r.ci90_high < r.margin == 0.1
    assert r.verdict == "ruled out" and "inside the margin" in r.reason and r.tost_p < 0.05
    assert r.margin_sensitivity == {"half margin": "held", "double margin": "ruled out"}


def test_held_says_whether_the_effect_clears_the_margin():
    clear = by_claim(population(40, 40, forget_sm=0.8, forget_fp=0.05))["C4"].main
    assert clear.verdict == "held" and clear.clears_margin and "beyond the margin" in clear.reason
    near = by_claim(population(40, 40, forget_sm=0.16, forget_fp=0.05))["C4"].main
    assert near.verdict == "held" and near.ci_low < 0.1 < near.ci_high and near.clears_margin is False
    assert "does not lie wholly beyond" in near.reason


def test_the_default_comparison_is_within_fb_and_g():
    """Failure depends on g only; FP networks sit at low g, SM at high g, all at one fb: within fb the groups
    differ, within cells of fb and g they do not; the within-fb reading is a variant that says so."""
    noise = lambda group, fb: 0.1                           # noqa: E731
    t = population(40, 40, g_sm=(1.5,) * 9 + (0.8,), g_fp=(0.8,) * 9 + (1.5,), noise=noise)
    t["memory.forgetting.replace.long_delay_failure"] = np.where(t["g"] > 1, 0.7, 0.1)
    r = by_claim(t)["C4"]
    assert r.main.strata.keys() == {"10.0 / 0.8", "10.0 / 1.5"} and abs(r.main.effect) < 1e-9
    assert r.verdict == "ruled out" and r.to_dict()["adjustment"].startswith("within cells of fb and g")
    fb_only = [v for v in r.variants if v["strata"] == "fb"][0]
    assert fb_only["verdict"] == "held" and fb_only["effect"] > 0.4 and r.depends_on_reading
    assert r.to_dict()["left_out"] == {}


def test_c5_is_graded_on_a_measure_the_taxonomy_does_not_fix():
    r = by_claim(population(30, 20))["C5"]
    assert r.measure.startswith("fixed points on the memory") and r.verdict == "held" and r.main.effect < -3
    assert "definition" in r.note and r.to_dict()["note"] == r.note


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
    assert doc["rule"].startswith("held: ") and "ruled out: the 90 % interval" in doc["rule"]


def test_forest_plots_draw_every_claim_and_variant():
    import matplotlib
    matplotlib.use("Agg")
    from slowmem.plots import report as plots_report

    results = evaluate_claims(population(30, 20, others=4))
    fig = plots_report.claims_forest(results)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert [lab.split(":")[0] for lab in labels] == ["C2", "C3", "C4", "C5", "C6"]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert set(legend) - {"inside the margin"} <= {r.verdict for r in results}   # no entry for a verdict not drawn
    assert "inside the margin" in legend                                         # the margin is drawn
    c4 = {r.claim: r for r in results}["C4"]
    fig = plots_report.variants_forest(c4)
    assert len(fig.axes[0].get_yticklabels()) == 8    # default + 5 protocol x measure readings + 2 stratifications
    c6 = {r.claim: r for r in results}["C6"]          # readings in two units: each drawn in its own margin's units
    fig = plots_report.variants_forest(c6)
    assert "each reading's margin" in fig.axes[0].get_xlabel()
    notes = [t.get_text().replace("\n", " ") for t in fig.axes[0].texts]
    assert any("margin ±0.585" in n for n in notes) and any("margin ±0.1" in n for n in notes)


def test_prevalence_plot_draws_every_reading_per_fb():
    import matplotlib

    matplotlib.use("Agg")
    from slowmem.plots import report as plots_report
    from slowmem.report.prevalence import READINGS, prevalence_table

    t = population(30, 10, fb_sm=(1.0, 10.0), fb_fp=(1.0,), others=6).assign(**{"dynamics.probe.n_far": 0})
    fig = plots_report.prevalence_plot(prevalence_table(t, n_resamples=200))
    ax = fig.axes[0]
    assert [x.get_text() for x in ax.get_xticklabels()] == ["fb 1", "fb 10", "whole grid"]
    assert len(ax.get_legend().get_texts()) == len(READINGS)


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


def test_the_methods_page_states_every_margin_the_code_uses():
    """The margins are stated before the results (book: Methods); the page and the code must agree."""
    import re
    from pathlib import Path

    from slowmem.report import MARGINS

    text = (Path(__file__).resolve().parents[2] / "book" / "methods.md").read_text()
    rows = dict(re.findall(r"^\s*\| (C\d) \| ([0-9.]+) \|", text, flags=re.M))
    assert set(rows) == set(MARGINS)
    for claim, (margin, unit, _) in MARGINS.items():
        assert float(rows[claim]) == margin, claim
        assert unit in text


def test_the_dashboard_has_one_row_per_claim_and_names_what_a_verdict_depends_on():
    from slowmem.report import dashboard_table

    t = population(40, 12, others=4)
    t.loc[t[MECHANISM] == FP, "memory.forgetting.extend.long_delay_failure"] = 0.9   # the protocols disagree
    d = dashboard_table(evaluate_claims(t))
    assert list(d.index) == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert d.loc["C4", "verdict"] == "held" and "measure" in d.loc["C4", "depends on"]
    assert d.loc["C4", "margin"] == "±0.1" and d.loc["C4", "networks"] == "40 / 12"
    assert d.loc["C4", "effect [95 % CI]"].startswith("+0.")


def test_c2_states_both_taxonomies_as_co_primary_readings():
    t = population(40, 12, others=4)
    t.loc[t[MECHANISM] == SM, "dynamics.mechanism_original"] = "limit cycle"      # the authors' rule disagrees
    c2 = by_claim(t)["C2"]
    assert c2.verdict == "held" and "ours held" in c2.note and "the authors' rule contradicted" in c2.note
    assert "depends on the taxonomy" in c2.note and c2.depends_on_reading


def test_prevalence_reads_mixed_networks_apart_and_per_fb():
    """Mixed networks (some starts settle, some oscillate) decide C2: counted as limit cycles they outnumber SM."""
    from slowmem.report.prevalence import READINGS, mechanism_readings, prevalence_table

    rows = ([{"fb": 1.0, MECHANISM: SM, "dynamics.probe.n_far": 0}] * 40
            + [{"fb": 1.0, MECHANISM: "limit cycle", "dynamics.probe.n_far": 0}] * 25
            + [{"fb": 1.0, MECHANISM: "far/mixed", "dynamics.probe.n_far": 0}] * 30       # mixed
            + [{"fb": 10.0, MECHANISM: "far/mixed", "dynamics.probe.n_far": 3}] * 5)       # far
    t = pd.DataFrame(rows).assign(**{"dynamics.mechanism_original": lambda d: d[MECHANISM]})
    r = mechanism_readings(t)
    split, as_lc = list(READINGS)[1:3]
    assert (r[split] == "mixed").sum() == 30 and (r[split] == "far").sum() == 5
    assert (r[as_lc] == "limit cycle").sum() == 55 and (r[as_lc] == "far/mixed").sum() == 5
    p = prevalence_table(t, n_resamples=500)
    assert p.loc[(split, 1.0), "SM lead"] == pytest.approx((40 - 30) / 95)
    assert p.loc[(as_lc, "all"), "most prevalent"] == "limit cycle"
    assert p.loc[(as_lc, "all"), "SM lead"] == pytest.approx((40 - 55) / 100)
    assert p.loc[(as_lc, "all"), "ci_low"] < p.loc[(as_lc, "all"), "SM lead"] < p.loc[(as_lc, "all"), "ci_high"]
    assert p.loc[(split, 10.0), "far"] == 1.0 and p.loc[(split, 10.0), "SM lead"] == -1.0


def test_c2_reports_the_mixed_readings_as_variants():
    t = population(40, 5, others=0)
    extra = pd.DataFrame([{**t.iloc[0].to_dict(), MECHANISM: "far/mixed", "dynamics.mechanism_original": "limit cycle",
                           "dynamics.probe.n_far": 0}] * 80)
    t = pd.concat([t.assign(**{"dynamics.probe.n_far": 0}), extra], ignore_index=True)
    r = by_claim(t)["C2"]
    names = {v["taxonomy"]: v for v in r.variants}
    own = names["ours, mixed as its own class"]
    assert own["n"]["mixed"] == 80 and own["effect"] == pytest.approx((40 - 80) / 125)
    lc = names["ours, mixed counted as limit cycles (as the authors' code counts them)"]
    assert lc["n"]["limit cycle"] == 80 and lc["verdict"] == "contradicted"
    assert r.verdict == "contradicted" and lc["strata"] == "fb and g"


def test_the_verdict_box_states_the_measurement_precision():
    from slowmem.report import verdict_box

    r = by_claim(population(30, 20))
    box = verdict_box(r["C4"])
    assert "Precision." in box and "slow manifold 0.030" in box and "0.009, against 0.012" in box
    assert "Precision.</b> No per-network standard error: delay saturation" in verdict_box(r["C3"])


def test_conclusions_say_what_the_data_support_in_computed_words():
    from slowmem.report.present import conclusion

    r = by_claim(population(30, 20))
    c4 = conclusion(r["C4"])
    assert c4.startswith("C4 held: ") and "30 slow manifold, 20 fixed points" in c4
    assert f"{r['C4'].main.effect:+.3f}" in c4 and "wholly beyond the margin ±0.1" in c4
    noise = lambda group, fb: 0.3                                         # noqa: E731 - no difference at all
    r6 = by_claim(population(40, 40, noise=noise))["C6"]
    assert r6.verdict == "ruled out"
    assert conclusion(r6).startswith("C6 ruled out: the difference is too small") and "inside ±0.585" in conclusion(r6)
    few = by_claim(population(30, 3))["C4"]
    assert conclusion(few).startswith("C4 inconclusive: the data cannot decide: too few networks")


def test_a_ruled_out_verdict_the_regression_test_does_not_confirm_says_borderline():
    """Twelve networks a side, no true difference, spread 0.35 against a margin of 0.3: the bootstrap's 90 %
    interval lies inside the margin for these draws, the HC3 regression's two one-sided tests fall short."""
    def effect(seed):
        rng = np.random.default_rng(seed)
        t = pd.DataFrame({"v": np.r_[rng.normal(0, 0.35, 12), rng.normal(0, 0.35, 12)], "grp": ["A"] * 12 + ["B"] * 12})
        return stratified_effect(t, "v", "grp", "A", "B", strata=None, margin=0.3)

    borderline, clear = effect(0), effect(1)
    assert borderline.verdict == "ruled out" and borderline.tost_p >= 0.05 and "borderline" in borderline.reason
    assert clear.verdict == "ruled out" and clear.tost_p < 0.05 and "borderline" not in clear.reason


def test_describe_html_lists_the_commands_collapsed(tmp_path):
    from slowmem.report import Population

    table = pd.DataFrame({"network_id": ["a", "b"], "success": [True, False], "N": 30, "g": 1.2, "pg": 0.9,
                          "fb": 1.0, "trials": 10})
    manifest = {"slowmem_version": "0.2.0", "runs": [{"command": "slowmem sweep run --grid <g>.yaml"},
                                                    {"command": "slowmem sweep run --grid <g>.yaml"},
                                                    {"command": "slowmem sweep run --redo-analyses all"}]}
    pop = Population(path=tmp_path, table=table, manifest=manifest, source="stored")
    text = pop.describe_html()
    assert "2 networks" in text and "1 of which perform the task" in text
    assert "<details><summary>The 2 commands that made it, in order</summary><ol>" in text
    assert "&lt;g&gt;.yaml" in text and "<g>" not in text          # escaped
