"""The headline figures of the forgetting and robustness chapters show the verdict's comparison: the networks
in cells of fb x g that hold both mechanisms, their counts in the legend and title, and SM - FP signs."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from slowmem.plots import memory as pm
from slowmem.report import FP, SM, claim_effect, evaluate_claims
from slowmem.report.cells import cell_differences, describe_selection, verdict_cells, verdict_networks
from slowmem.store import MECHANISM

#: (mechanism, fb, g, how many): one cell with both mechanisms (fb 1, g 0.8), one with a single FP network
#: (fb 1, g 1.1), and SM networks at fb 10 where no FP network is.
LAYOUT = [(SM, 1.0, 0.8, 3), (FP, 1.0, 0.8, 4), (SM, 1.0, 1.1, 2), (FP, 1.0, 1.1, 1), (SM, 10.0, 1.5, 5)]


def table(sm_forget=0.8, fp_forget=0.1, sm_noise=0.1, fp_noise=0.5):
    rows = []
    for mech, fb, g, n in LAYOUT:
        for i in range(n):
            sm = mech == SM
            rows.append({"network_id": f"{mech[:2]}-{fb:g}-{g:g}-{i}", "success": True, MECHANISM: mech,
                         "dynamics.mechanism_original": mech, "error_rate_0.1": 0.0, "error_rate_0.05": 0.0,
                         "fb": fb, "g": g,
                         "memory.forgetting.replace.long_delay_failure": (sm_forget if sm else fp_forget) + 0.01 * i,
                         "memory.distraction.literal.mean_failure": (sm_noise if sm else fp_noise) + 0.01 * i,
                         "memory.distraction.literal.log2_tolerance": (2.0 if sm else 0.5) + 0.01 * i})
    rows.append({**rows[0], "network_id": "failed", "success": False})
    return pd.DataFrame(rows)


def curves(t, x="delay", y="failure_prob"):
    """One curve per network: its table value at every level (so the SM median is known)."""
    levels = np.array([0.0, 5.0, 50.0, 100.0])
    return pd.concat([pd.DataFrame({"network_id": r.network_id, x: levels,
                                    y: r["memory.forgetting.replace.long_delay_failure"]}) for _, r in t.iterrows()])


def test_the_selection_is_the_verdicts_cells_and_counts():
    t = table()
    sel = verdict_networks(t, "C4")
    assert verdict_cells(t, "C4") == ["1.0 / 0.8"]
    assert set(sel.cell) == {"1.0 / 0.8"} and "failed" not in set(sel.network_id)
    e = claim_effect(t, "C4")
    assert sel.groupby("mechanism").size().to_dict() == e.n == {SM: 3, FP: 4}
    assert describe_selection(sel) == "3 SM and 4 FP networks in 1 cell of fb x g"


def test_the_headline_curves_draw_only_the_verdicts_networks_with_n_in_the_legend():
    t = table()
    sel = verdict_networks(t, "C4")
    fig = pm.forgetting_verdict(curves(t), sel, exemplars=2)
    ax = fig.axes[0]
    gids = [ln.get_gid() for ln in ax.lines if ln.get_gid()]
    exemplars = [g.split(":", 1)[1] for g in gids if g.startswith("exemplar:")]
    assert len(exemplars) == 4 and set(exemplars) <= set(sel.network_id)          # 2 per mechanism, only these
    assert not any(e.startswith("sl-10") for e in exemplars)                        # fb 10 has no FP: not drawn
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("slow manifold" in s and "n = 3" in s for s in labels)
    assert any("fixed points" in s and "n = 4" in s for s in labels)
    assert "3 SM and 4 FP networks in 1 cell of fb x g" in ax.get_title(loc="left")
    median = {g.split(":", 1)[1]: ln for ln in ax.lines if (g := ln.get_gid() or "").startswith("median:")}
    assert np.allclose(median[SM].get_ydata(), 0.81) and np.allclose(median[FP].get_ydata(), 0.115)
    assert len(fig.drawn) == 7


def test_a_network_without_a_curve_is_not_counted():
    t = table()
    sel = verdict_networks(t, "C4")
    c = curves(t)
    gone = sel.loc[sel.mechanism == FP, "network_id"].iloc[0]
    fig = pm.noise_verdict(c[c.network_id != gone].rename(
        columns={"delay": "sigma", "failure_prob": "failure_ratio"}), sel, exemplars=0)
    assert "3 SM and 3 FP networks in 1 cell" in fig.axes[0].get_title(loc="left")
    assert len(fig.drawn) == 6 and fig.axes[0].get_xscale() == "symlog"
    with pytest.raises(Exception, match="exemplars"):
        pm.verdict_curves(c, sel, "delay", "failure_prob", exemplars=5)


@pytest.mark.parametrize("claim", ["C4", "C6"])
def test_the_difference_forest_is_sm_minus_fp_whatever_the_claims_direction(claim):
    r = {x.claim: x for x in evaluate_claims(table())}[claim]
    assert r.main.effect is not None
    fig = pm.difference_forest(r)
    ax = fig.axes[0]
    points = [ln for ln in ax.lines if len(ln.get_xdata()) == 1 and ln.get_marker() not in (None, "None", "")]
    assert np.isclose(points[0].get_xdata()[0], r.main.effect)     # drawn as measured, never flipped
    drawn = [p.get_xdata()[0] for p in points]
    for v in r.variants:                                            # every reading of these networks, unflipped
        if v["taxonomy"] == "ours" and v["success"].startswith("ours") and v["effect"] is not None:
            assert any(np.isclose(x, v["effect"]) for x in drawn)
    assert "SM - FP" in ax.get_xlabel()
    notes = [t.get_text() for t in ax.texts]
    sign = ">" if r.main.direction > 0 else "<"
    assert f"claim: {sign} 0" in notes[0].replace("\n", " ")


def test_sm_minus_fp_keeps_the_sign_of_the_data():
    """SM networks forget more here (C4 > 0) and fail distraction less (mean failure < 0): no flip either way."""
    r = {x.claim: x for x in evaluate_claims(table())}
    assert r["C4"].main.effect > 0
    mean_failure = [v for v in r["C6"].variants if "mean failure" in v["measure"] and v["strata"] == "fb and g"
                    and v["taxonomy"] == "ours" and v["success"].startswith("ours") and "literal" in v["measure"]]
    assert mean_failure and all(v["effect"] < 0 for v in mean_failure if v["effect"] is not None)


def test_no_cell_with_both_mechanisms_draws_nothing_and_says_so():
    t = table()
    sel = verdict_networks(t[t.fb == 10.0], "C4")
    fig = pm.forgetting_verdict(curves(t), sel)
    assert sel.empty and "0 SM and 0 FP networks in 0 cells" in fig.axes[0].get_title(loc="left")
    assert any("no networks" in x.get_text() for x in fig.axes[0].texts)


def test_cell_differences_are_sm_minus_fp():
    t = table()
    sel = verdict_networks(t, "C6")
    c = curves(t)
    out = cell_differences(c, sel, "delay", "failure_prob", [5.0, 50.0])
    assert list(out.index.get_level_values(0).unique()) == ["1.0 / 0.8"]
    assert np.allclose(out["SM - FP"], out["SM"] - out["FP"]) and (out["SM - FP"] > 0).all()
    assert (out["n SM"] == 3).all() and (out["n FP"] == 4).all()
    empty = cell_differences(c, sel.iloc[:0], "delay", "failure_prob", [5.0])
    assert empty.empty and list(empty.columns) == ["SM", "FP", "SM - FP", "n SM", "n FP"]
