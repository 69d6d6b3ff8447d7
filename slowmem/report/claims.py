"""Did each claim of the paper hold? Effects with intervals, like-for-like, under every reading.

Each claim C1-C6 (:data:`CLAIMS`) is measured on a population table
(:func:`slowmem.store.load_results`: one row per network, the analysis
summaries flattened) as an **effect with a 95 % interval and n per group**
(:mod:`slowmem.report.stats`), and given a verdict by one stated rule
(:data:`VERDICT_RULE`) against a margin fixed before the data (:data:`MARGINS`).
Comparisons of slow-manifold (SM) with fixed-point (FP) networks are made
within cells of ``fb`` and ``g``, the two settings that shape both the
mechanism and the memory (within ``fb`` alone, and pooled, are variants).
Claim C5 is true by the taxonomy's definition; its verdict rests on a measure
that could come out either way (:data:`DEFINITIONAL`). Every choice the paper or its
code leaves open is a **variant** (:data:`VARIANTS`): the claim is evaluated
under each, and a claim whose verdict changes between readings says so
(``depends_on_reading``). Nothing here is hard-coded: another population gives
other verdicts.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..config import MECHANISMS, ConfigError
from ..store import MECHANISM
from .population import SHARES_COLUMN
from .prevalence import READINGS, mechanism_readings
from .stats import MIN_PER_CELL, MIN_PER_SIDE, Effect, stratified_effect, verdict_of

__all__ = ["STRATA", "DEFAULT_STRATA", "MARGINS", "VARIANT_MARGINS", "DEFINITIONAL", "strata_check", "COMPARATIVE",
           "claim_effect", "CLAIMS", "VERDICT_RULE", "VARIANTS", "ClaimResult", "evaluate_claims",
           "mechanism_table", "verdict_table", "dashboard_table", "depends_on", "measurement_precision",
           "share_networks", "NO_STANDARD_ERROR", "default_reading",
           "SM", "FP"]

SM, FP = "slow manifold", "fixed points"

CLAIMS = {
    "C1": "Four distinct dynamical mechanisms emerge across trained networks.",
    "C2": "The most prevalent mechanism encodes memories along slow stable manifolds.",
    "C3": "Slow-manifold networks are phasic in the delay; fixed-point networks are tonic.",
    "C4": "Slow-manifold networks forget when the delay is extended; fixed-point networks do not.",
    "C5": "Slow-manifold networks use fewer attractors than memories (efficiency).",
    "C6": "Slow-manifold networks are more robust to distraction noise than fixed-point networks.",
}

#: The smallest effect that would count as each claim, fixed before any result (book: Methods, Verdicts):
#: claim -> (margin, the measure's unit, why). A 90 % interval inside +-margin rules the claim out.
MARGINS: dict[str, tuple[float, str, str]] = {
    "C2": (0.05, "share of networks", "'the most prevalent' mechanism must outnumber the next by more than a "
           "twentieth of the population; closer shares are a tie"),
    "C3": (0.05, "fraction of units saturated in the delays", "'tonic' against 'phasic' means a visibly larger "
           "share of units held saturated through the delay; a twentieth of the units is the least that a raster "
           "would show"),
    "C4": (0.10, "probability that a long-delay trial fails", "'forget' against 'do not forget' means one group "
           "fails long delays clearly more often: one trial in ten or more"),
    "C5": (1.0, "fixed points on the memory", "'fewer attractors than memories' must mean at least one attractor "
           "fewer on the memory, a whole fixed point"),
    "C6": (0.585, "log2 of the distractor level a network tolerates", "'considerably more robust' means tolerating "
           "at least half as much noise again (1.5 times the level, log2 1.5 = 0.585) before failing half as often as "
           "chance"),
}

#: Margins of the variant measures whose unit is not the claim's default one: (claim, summary) -> (margin, unit).
#: C6's all-level mean failure: at least one trial in ten fewer failures at the same noise.
VARIANT_MARGINS: dict[tuple[str, str], tuple[float, str]] = {
    ("C6", "mean_failure"): (0.10, "failure ratio, mean over the disturbed levels"),
}

#: C5 as the paper measures it is fixed by the taxonomy: a network is "slow manifold" when it has fewer
#: attractors than memories (2 x 3 encodings), so attractors per memory is at most 2/3 for SM and at least
#: 1 for FP whatever the data. The book reports it without an interval and grades C5 on the number of fixed
#: points the slow-point search finds on the memory, which the probe's labels do not fix.
DEFINITIONAL = {"C5": "attractors per memory (SM - FP) is set by the taxonomy's definition (SM < 1 <= FP): it is "
                      "reported without an interval and grades nothing; the verdict uses the fixed points the "
                      "slow-point search finds on the memory, which could come out either way"}

VERDICT_RULE = (f"held: the 95 % interval of the effect excludes zero in the claim's direction; contradicted: it "
                f"excludes zero against it; ruled out: the 90 % interval lies inside plus or minus the claim's "
                f"margin, stated in advance (the bootstrap form of two one-sided tests at 5 %; where their regression "
                f"form, with HC3 errors, disagrees, the verdict says borderline), even if it excludes zero; "
                f"inconclusive: otherwise (too few networks, fewer than {MIN_PER_SIDE} per side, or an interval "
                f"that spans zero and reaches past the margin). SM-vs-FP effects are pooled within cells of fb "
                f"and g that hold at least 2 networks of each group.")

#: The readings of every ambiguous choice: name -> options (the first is the book's default).
VARIANTS = {
    "taxonomy": {"ours": MECHANISM, "original rule": "dynamics.mechanism_original"},
    "success": {"ours (accuracy >= 0.95)": None, "original, no replay RMSE > 0.1": ("error_rate_0.1", 0.0),
                "original, <= 5 % of replays RMSE > 0.05": ("error_rate_0.05", 0.05)},
    "forgetting": {f"{p}: {m}": (p, m) for p, m in itertools.product(
        ("replace", "extend"), ("long-delay failure", "reaches half failure", "any failure"))},
    "noise": {"distraction, literal (uniform*sigma + 0.5): log2 noise tolerance": ("distraction.literal",
                                                                                  "log2_tolerance"),
              "distraction, zero-mean: log2 noise tolerance": ("distraction.zero_mean", "log2_tolerance"),
              "distraction, literal: mean failure over all levels": ("distraction.literal", "mean_failure"),
              "distraction, zero-mean: mean failure over all levels": ("distraction.zero_mean", "mean_failure"),
              "interruption, stimulus 1: mean failure": ("interruption.stim1", "mean_failure"),
              "interruption, whole trial: mean failure": ("interruption.whole_trial", "mean_failure")},
    "activity": {"delay saturation (FP - SM)": "saturation", "phasic index (SM - FP)": "phasic"},
}


@dataclass
class ClaimResult:
    """One claim: the paper's statement, the default reading's effect, and the effect under every variant."""

    claim: str
    statement: str
    measure: str
    main: Effect
    variants: list[dict] = field(default_factory=list)
    note: str | None = None
    precision: dict | None = None

    @property
    def verdict(self) -> str:
        return self.main.verdict

    @property
    def depends_on_reading(self) -> bool:
        """True when the verdict is not the same under every variant."""
        return len({v["verdict"] for v in self.variants} | {self.main.verdict}) > 1

    def to_dict(self) -> dict:
        m = self.main
        return {"claim": self.claim, "statement": self.statement, "measure": self.measure, "verdict": m.verdict,
                "reason": m.reason, "effect": m.effect, "ci_low": m.ci_low, "ci_high": m.ci_high,
                "p_value": m.p_value, "n": m.n, "n_total": m.n_total, "strata": m.strata,
                "direction": m.direction, "margin": m.margin, "ci90_low": m.ci90_low, "ci90_high": m.ci90_high,
                "tost_p": m.tost_p, "clears_margin": m.clears_margin, "margin_sensitivity": m.margin_sensitivity,
                "adjustment": _ADJUSTMENT.get(self.claim), "left_out": _left_out(m), "note": self.note,
                "depends_on_reading": self.depends_on_reading, "precision": self.precision,
                "variants": self.variants}


# --------------------------------------------------------------------------- population subsets
def _balanced(t: pd.DataFrame) -> pd.DataFrame:
    """The rows that count towards population shares (:data:`~slowmem.report.population.SHARES_COLUMN`)."""

    return t[t[SHARES_COLUMN].astype(bool)] if SHARES_COLUMN in t.columns else t


def _analysed(table: pd.DataFrame, success: str) -> pd.DataFrame:
    """Networks counted as performing the task under ``success`` that have analysis summaries."""
    rule = VARIANTS["success"][success]
    t = table[table["success"].astype(bool)] if "success" in table.columns else table
    if MECHANISM in t.columns:
        t = t[t[MECHANISM].notna()]
    if rule is not None:
        col, limit = rule
        if col not in t.columns:
            raise ConfigError(f"the population has no column {col!r} (success variant {success!r})")
        t = t[pd.to_numeric(t[col], errors="coerce") <= limit]
    return t


def share_networks(table: pd.DataFrame) -> pd.DataFrame:
    """The networks population shares (C1, C2) count: analysed, performing the task by the book's criterion,
    and in a member that counts towards shares (extra seeds left out)."""
    return _balanced(_analysed(table, next(iter(VARIANTS["success"]))))


def mechanism_table(table: pd.DataFrame, *, taxonomy: str = "ours", success: str = "ours (accuracy >= 0.95)"
                    ) -> pd.DataFrame:
    """Networks and share of each mechanism, with a 95 % Wilson interval of the share (extra seeds left out)."""
    from statsmodels.stats.proportion import proportion_confint

    t = _balanced(_analysed(table, success))
    col = VARIANTS["taxonomy"][taxonomy]
    counts = (t[col].value_counts() if col in t.columns else pd.Series(dtype=int)).reindex(list(MECHANISMS),
                                                                                           fill_value=0)
    total = int(counts.sum())
    lo, hi = proportion_confint(counts.to_numpy(), max(total, 1), alpha=0.05, method="wilson")
    return pd.DataFrame({"networks": counts.astype(int), "share": (counts / max(total, 1)).round(3),
                         "share_ci_low": np.round(lo, 3), "share_ci_high": np.round(hi, 3)})


# --------------------------------------------------------------------------- the per-network measures
def _forgetting_measure(t: pd.DataFrame, protocol: str, measure: str) -> pd.Series:
    base = f"memory.forgetting.{protocol}"
    if measure == "long-delay failure":
        return pd.to_numeric(t.get(f"{base}.long_delay_failure"), errors="coerce")
    col = f"{base}.half_failure_delay" if measure == "reaches half failure" else f"{base}.memory_horizon"
    if col not in t.columns:
        return pd.Series(np.nan, index=t.index)
    ok = t[f"{base}.long_delay_failure"].notna() if f"{base}.long_delay_failure" in t.columns else True
    return t[col].notna().astype(float).where(ok)


def _with(t: pd.DataFrame, values: pd.Series | None) -> pd.DataFrame:
    return t.assign(_value=np.nan if values is None else values)


#: How SM-vs-FP comparisons can be stratified (:func:`strata_check`): the book's rule is within fb and g.
STRATA: dict[str, str | None] = {"fb and g": "_fb_g", "fb": "fb", "none (pooled)": None}
#: The default: cells of fb x g, the two settings that shape both the mechanism and the memory.
DEFAULT_STRATA = STRATA["fb and g"]


def _compare(t: pd.DataFrame, group_col: str, values: pd.Series | None, direction: int, measure: str,
             a: str = SM, b: str = FP, strata: str | None = DEFAULT_STRATA, margin: float | None = None) -> Effect:
    tt = _with(t, values)
    if group_col not in tt.columns:
        tt = tt.assign(**{group_col: None})
    if strata == STRATA["fb and g"]:
        tt = tt.assign(**{strata: tt["fb"].astype(str) + " / " + tt["g"].astype(str)})
    return stratified_effect(tt, "_value", group_col, a, b, direction=direction, measure=measure, strata=strata,
                             margin=margin)


def _left_out(e: Effect) -> dict[str, str]:
    """Per group: how many networks the strata left out, and why."""
    out = {}
    for g, total in e.n_total.items():
        k = total - e.n.get(g, 0)
        if k:
            out[g] = f"{k} of {total}: in strata without {MIN_PER_CELL} networks of each group"
    if e.notes:
        out["no value"] = "; ".join(e.notes)
    return out


# --------------------------------------------------------------------------- the claims
def _claim_c1(t: pd.DataFrame, group_col: str) -> Effect:
    counts = t[group_col].value_counts().reindex(list(MECHANISMS), fill_value=0) if group_col in t else \
        pd.Series(0, index=list(MECHANISMS))
    n = int(counts.sum())
    present = int((counts > 0).sum())
    ns = {m: int(counts[m]) for m in MECHANISMS}
    if n < MIN_PER_SIDE:
        verdict, reason = "inconclusive", f"too few networks ({n} analysed; at least {MIN_PER_SIDE} needed)"
    elif present == 4:
        verdict, reason = "held", "every mechanism occurs"
    elif n >= 50:
        verdict, reason = "contradicted", f"{4 - present} mechanism(s) absent among {n} networks"
    else:
        verdict, reason = "inconclusive", f"{4 - present} mechanism(s) absent, but only {n} networks"
    return Effect("mechanisms present", float(present), None, None, None, ns, ns, {}, 1, verdict, reason)


def _claim_c2(t: pd.DataFrame, group_col: str, seed: int = 0) -> Effect:
    labels = t[group_col].to_numpy() if group_col in t else np.array([])
    n = len(labels)
    ns = {m: int((labels == m).sum()) for m in [*MECHANISMS, *sorted({str(x) for x in labels} - set(MECHANISMS))]}
    if n < 2:
        return Effect("SM share - largest other share", None, None, None, None, ns, ns, {}, 1,
                      *verdict_of(None, None, None, {"networks": n}, 1))
    classes = list(MECHANISMS) + sorted({str(x) for x in labels} - set(MECHANISMS))   # e.g. "far", "mixed" apart
    code = np.array([classes.index(str(x)) for x in labels])
    sm = classes.index(SM)

    def margin(x, axis=-1):
        shares = np.stack([(x == k).mean(axis=axis) for k in range(len(classes))])
        return shares[sm] - np.max(np.delete(shares, sm, axis=0), axis=0)

    est = float(margin(code))
    if np.ptp(code) == 0:
        lo = hi = lo90 = hi90 = est
    else:
        boot = stats.bootstrap((code,), margin, n_resamples=4999, method="percentile", vectorized=True,
                               rng=np.random.default_rng(seed))
        lo, hi = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
        lo90, hi90 = (float(v) for v in np.percentile(boot.bootstrap_distribution, [5.0, 95.0]))
    m = MARGINS["C2"][0]
    verdict, reason = verdict_of(est, lo, hi, {"networks": n}, 1, margin=m, lo90=lo90, hi90=hi90)
    return Effect("SM share - largest other share", est, lo, hi, None, ns, ns, {}, 1, verdict, reason, margin=m,
                  ci90_low=lo90, ci90_high=hi90)


def _claim_measure(claim: str, t: pd.DataFrame, group_col: str, option: str,
                   strata: str | None = DEFAULT_STRATA) -> Effect:
    kw = dict(strata=strata, margin=MARGINS[claim][0] if claim in MARGINS else None)
    if claim == "C3":
        if VARIANTS["activity"][option] == "saturation":
            return _compare(t, group_col, t.get("dynamics.activity.saturation_delay"), -1,
                            "delay saturation, SM - FP", **kw)
        return _compare(t, group_col, t.get("dynamics.activity.phasic_index"), 1, "phasic index, SM - FP",
                        **{**kw, "margin": None})                   # an index without a stated unit: no margin
    if claim == "C4":
        protocol, measure = VARIANTS["forgetting"][option]       # every measure a probability: one margin
        return _compare(t, group_col, _forgetting_measure(t, protocol, measure), 1, f"{option}, SM - FP", **kw)
    if claim == "C5":
        return _compare(t, group_col, t.get("dynamics.manifold.n_fixed_points_on_memory"), -1,
                        "fixed points on the memory (slow-point search), SM - FP", **kw)
    if claim == "C6":
        test, summary = VARIANTS["noise"][option]
        if summary == "log2_tolerance":                          # more robust: a larger tolerated level
            return _compare(t, group_col, t.get(f"memory.{test}.log2_tolerance"), 1, f"{option}, SM - FP", **kw)
        kw["margin"] = VARIANT_MARGINS[("C6", summary)][0]
        return _compare(t, group_col, t.get(f"memory.{test}.{summary}"), -1, f"{option}, SM - FP", **kw)
    raise ConfigError(f"unknown claim {claim!r}")


#: The stored standard error of each per-network measure (:mod:`slowmem.analysis.precision`), by value column.
_SE_SUFFIX = {"long_delay_failure": "long_delay_failure_se", "log2_tolerance": "log2_tolerance_se",
              "mean_failure": "mean_failure_se"}


def _value_columns(claim: str, option: str | None) -> tuple[str, str] | None:
    """The (value, standard error) columns of a claim's reading, where the measure has a per-network SE."""
    if claim == "C4":
        protocol, measure = VARIANTS["forgetting"][option]
        if measure != "long-delay failure":
            return None
        base = f"memory.forgetting.{protocol}.long_delay_failure"
        return base, f"{base}_se"
    if claim == "C6":
        test, summary = VARIANTS["noise"][option]
        return f"memory.{test}.{summary}", f"memory.{test}.{_SE_SUFFIX[summary]}"
    return None


#: Why a comparative claim's default measure has no per-network standard error.
NO_STANDARD_ERROR = {
    "C3": "delay saturation is stored as one number per network, the mean over its 16 test trials, not their "
          "spread",
    "C5": "the fixed points the slow-point search finds on the memory are a count from a deterministic search, "
          "with no sampling error (chapter 3 shows how it moves with the search's settings)",
}


def _effect_se(e: Effect) -> float | None:
    """The effect's standard error read off its 95 % interval (half-width / 1.96); None without one."""
    return None if e.ci_low is None or e.ci_high is None else (e.ci_high - e.ci_low) / 2 / 1.96


def _precision_bound(claim: str, e: Effect) -> dict | None:
    """For a measure without a per-network SE: the bound the effect's own standard error sets on it (the
    bootstrap over networks resamples each network's measurement noise with it, so that noise adds at most
    the effect's standard error)."""
    effect_se = _effect_se(e)
    if effect_se is None:
        return None
    return {"se_column": None, "why_none": NO_STANDARD_ERROR[claim], "effect_se": effect_se,
            "effect_se_share_of_margin": None if not e.margin else effect_se / e.margin}


def measurement_precision(t: pd.DataFrame, group_col: str, claim: str, option: str | None,
                          e: Effect) -> dict | None:
    """How much each network's own measurement noise weighs against the group comparison of ``e``.

    Over the networks ``e`` compares (cells of fb x g with at least :data:`~slowmem.report.stats.MIN_PER_CELL`
    of each group): the median and largest per-network standard error per group, and the standard error that
    measurement noise alone gives the difference of group means, ``sqrt(mean(se_SM^2)/n_SM +
    mean(se_FP^2)/n_FP)``, beside the effect's own (the 95 % half-width / 1.96). None where the measure has
    no stored standard error (populations summarised before memory summary version 4). For C3 and C5,
    whose measures have none by construction, the reason and the bound the effect's own standard error
    sets (``why_none``, ``effect_se``, ``effect_se_share_of_margin``).
    """
    if claim in NO_STANDARD_ERROR:
        return _precision_bound(claim, e)
    cols = _value_columns(claim, option)
    if cols is None or cols[1] not in t.columns or group_col not in t.columns:
        return None
    value, se = cols
    tt = t.assign(_v=pd.to_numeric(t.get(value), errors="coerce"), _se=pd.to_numeric(t[se], errors="coerce"),
                  _cell=t["fb"].astype(str) + " / " + t["g"].astype(str))
    tt = tt[tt[group_col].isin([SM, FP]) & tt["_v"].notna() & tt["_se"].notna()]
    counts = tt.groupby(["_cell", group_col]).size().unstack(fill_value=0).reindex(columns=[SM, FP], fill_value=0)
    cells = counts.index[(counts[SM] >= MIN_PER_CELL) & (counts[FP] >= MIN_PER_CELL)]
    tt = tt[tt["_cell"].isin(cells)]
    if tt.empty:
        return None
    per = {g: tt.loc[tt[group_col] == g, "_se"].to_numpy(float) for g in (SM, FP)}
    noise = float(np.sqrt(sum((v ** 2).mean() / len(v) for v in per.values() if len(v))))
    effect_se = _effect_se(e)
    return {"se_column": se, "median_se": {g: float(np.median(v)) for g, v in per.items() if len(v)},
            "max_se": {g: float(v.max()) for g, v in per.items() if len(v)},
            "measurement_se_of_difference": noise, "effect_se": effect_se,
            "share_of_effect_se": None if not effect_se else noise / effect_se}


#: What each comparative claim's default comparison adjusts for.
_ADJUSTMENT = {c: "within cells of fb and g (each cell with at least 2 networks of each group), pooled with "
                  "weights n_SM n_FP / (n_SM + n_FP)" for c in ("C3", "C4", "C5", "C6")}


def strata_check(table: pd.DataFrame) -> pd.DataFrame:
    """The default reading of C3-C6 under each stratification of :data:`STRATA`, one row per (claim, strata).

    Within cells of fb and g is the book's rule; within fb alone lets g differ between the groups (more
    networks enter); pooled shows what the stratification changes. Columns: ``measure, effect, ci_low,
    ci_high, n, verdict``.
    """
    rows = []
    for claim in COMPARATIVE:
        for name, strata in STRATA.items():
            e = claim_effect(table, claim, strata=strata)
            rows.append({"claim": claim, "strata": name, "measure": e.measure, "effect": e.effect,
                         "ci_low": e.ci_low, "ci_high": e.ci_high,
                         "n": ", ".join(f"{k} {v}" for k, v in e.n.items()), "verdict": e.verdict})
    return pd.DataFrame(rows).set_index(["claim", "strata"])


_OPTIONS = {"C3": "activity", "C4": "forgetting", "C6": "noise"}

#: The claims that compare slow-manifold with fixed-point networks.
COMPARATIVE = ("C3", "C4", "C5", "C6")


def default_reading(claim: str) -> dict[str, str | None]:
    """The book's default reading of ``claim``: its taxonomy, success criterion and option (measure or
    protocol; None for a claim without one), as the variants name them."""
    return {"taxonomy": next(iter(VARIANTS["taxonomy"])), "success": next(iter(VARIANTS["success"])),
            "option": next(iter(VARIANTS[_OPTIONS[claim]])) if claim in _OPTIONS else None}


def claim_effect(table: pd.DataFrame, claim: str, *, strata: str | None = DEFAULT_STRATA) -> Effect:
    """One comparative claim (:data:`COMPARATIVE`) under the book's default reading (first taxonomy, success
    criterion and measure of :data:`VARIANTS`), SM - FP within ``strata`` (a value of :data:`STRATA`).

    Raises:
        ConfigError: ``claim`` is not comparative, or ``strata`` is not one of :data:`STRATA`.
    """
    if claim not in COMPARATIVE:
        raise ConfigError(f"claim_effect compares SM with FP networks: claim must be one of {list(COMPARATIVE)}; "
                          f"got {claim!r}")
    if strata not in STRATA.values():
        raise ConfigError(f"strata must be one of {list(STRATA.values())}; got {strata!r}")
    taxonomy, success = next(iter(VARIANTS["taxonomy"])), next(iter(VARIANTS["success"]))
    option = next(iter(VARIANTS[_OPTIONS[claim]])) if claim in _OPTIONS else None
    return _claim_measure(claim, _analysed(table, success), VARIANTS["taxonomy"][taxonomy], option, strata)


def _evaluate(claim: str, table: pd.DataFrame, taxonomy: str, success: str, option: str | None) -> Effect:
    t = _analysed(table, success)
    col = VARIANTS["taxonomy"][taxonomy]
    if claim in ("C1", "C2"):            # shares of the population: the balanced grid only, not the extra seeds
        t = _balanced(t)
        return _claim_c1(t, col) if claim == "C1" else _claim_c2(t, col)
    return _claim_measure(claim, t, col, option)


def evaluate_claims(table: pd.DataFrame) -> list[ClaimResult]:
    """Every claim under the default reading, with the effect under every variant of every ambiguous choice
    (taxonomy, success criterion, measure) and, for the comparative claims, under the other stratifications."""
    out = []
    taxonomies, successes = list(VARIANTS["taxonomy"]), list(VARIANTS["success"])
    default_strata = next(k for k, v in STRATA.items() if v == DEFAULT_STRATA)
    for claim, statement in CLAIMS.items():
        options = list(VARIANTS[_OPTIONS[claim]]) if claim in _OPTIONS else [None]
        main = _evaluate(claim, table, taxonomies[0], successes[0], options[0])
        variants = []
        for tax, suc, opt in itertools.product(taxonomies, successes, options):
            if (tax, suc, opt) == (taxonomies[0], successes[0], options[0]):
                continue
            variants.append(_variant(_evaluate(claim, table, tax, suc, opt), tax, suc, opt, default_strata))
        if claim in COMPARATIVE:
            t = _analysed(table, successes[0])
            for name, strata in STRATA.items():
                if strata != DEFAULT_STRATA:
                    e = _claim_measure(claim, t, VARIANTS["taxonomy"][taxonomies[0]], options[0], strata)
                    variants.append(_variant(e, taxonomies[0], successes[0], options[0], name))
        note = DEFINITIONAL.get(claim)
        if claim == "C2":
            note = _c2_readings(main, _evaluate(claim, table, taxonomies[1], successes[0], None))
            variants += _mixed_readings(table, successes[0], default_strata)
        precision = measurement_precision(_analysed(table, successes[0]), VARIANTS["taxonomy"][taxonomies[0]],
                                          claim, options[0], main) if claim in COMPARATIVE else None
        out.append(ClaimResult(claim, statement, main.measure, main, variants, note, precision))
    return out


def _mixed_readings(table: pd.DataFrame, success: str, strata: str) -> list[dict]:
    """C2 with our far/mixed class read apart: mixed as its own class, and mixed counted as limit cycles."""
    t = _balanced(_analysed(table, success))
    readings = mechanism_readings(t)
    out = []
    for name in list(READINGS)[1:3]:
        e = _claim_c2(t.assign(_reading=readings[name]).dropna(subset=["_reading"]), "_reading")
        out.append(_variant(e, name, success, None, strata))
    return out


def _c2_readings(ours: Effect, original: Effect) -> str:
    """C2's two co-primary readings side by side: prevalence under our taxonomy and under the authors' rule."""
    def one(e: Effect) -> str:
        ci = "" if e.ci_low is None else f" [{e.ci_low:+.3f}, {e.ci_high:+.3f}]"
        eff = "n/a" if e.effect is None else f"{e.effect:+.3f}{ci}"
        return f"{e.verdict} ({eff})"

    same = ours.verdict == original.verdict
    return (f"prevalence is read under both taxonomies as co-primary readings: ours {one(ours)}, the authors' rule "
            f"{one(original)}" + ("" if same else "; the verdict depends on the taxonomy (the two rules differ in "
                                  "networks some of whose starts settle and some oscillate: far/mixed for us, "
                                  "limit cycles for the authors' code)"))


def _variant(e: Effect, taxonomy: str, success: str, option: str | None, strata: str) -> dict:
    return {"taxonomy": taxonomy, "success": success, "option": option, "strata": strata, "measure": e.measure,
            "effect": e.effect, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n, "verdict": e.verdict,
            "reason": e.reason, "margin": e.margin, "direction": e.direction}


def verdict_table(results: list[ClaimResult]) -> pd.DataFrame:
    """One narrow row per claim: measure, effect [interval], n per side, verdict, whether it depends on the reading."""
    rows = []
    for r in results:
        m = r.main
        ci = "" if m.ci_low is None else f" [{m.ci_low:+.3f}, {m.ci_high:+.3f}]"
        eff = "" if m.effect is None else (f"{m.effect:+.3f}{ci}" if m.ci_low is not None else f"{m.effect:g}")
        rows.append({"claim": r.claim, "measure": r.measure, "effect [95 % CI]": eff,
                     "margin": "" if m.margin is None else f"±{m.margin:g}",
                     "n": ", ".join(f"{k} {v}" for k, v in m.n.items()), "verdict": m.verdict,
                     "depends on reading": "yes" if r.depends_on_reading else "no"})
    return pd.DataFrame(rows).set_index("claim")


#: The choices a reading can differ in, as the dashboard names them.
_CHOICE_NAMES = {"taxonomy": "taxonomy", "success": "success criterion", "option": "measure", "strata": "adjustment"}


def depends_on(result: ClaimResult) -> list[str]:
    """The choices (taxonomy, success criterion, measure, adjustment) under which some reading of ``result``
    gets another verdict than the default reading."""
    default = {"taxonomy": next(iter(VARIANTS["taxonomy"])), "success": next(iter(VARIANTS["success"])),
               "option": next(iter(VARIANTS[_OPTIONS[result.claim]])) if result.claim in _OPTIONS else None,
               "strata": next(k for k, v in STRATA.items() if v == DEFAULT_STRATA)}
    out = []
    for v in result.variants:
        if v["verdict"] == result.main.verdict:
            continue
        for choice, name in _CHOICE_NAMES.items():
            if v.get(choice, default[choice]) != default[choice] and name not in out:
                out.append(name)
    return out


def dashboard_table(results: list[ClaimResult]) -> pd.DataFrame:
    """The book's first-page summary, one row per claim: verdict, measure, effect [95 % interval], margin,
    networks (SM / FP for the comparative claims, all analysed for C1 and C2), and the choices the verdict
    depends on ("none": the same under every reading)."""
    rows = []
    for r in results:
        m = r.main
        ci = "" if m.ci_low is None else f" [{m.ci_low:+.3f}, {m.ci_high:+.3f}]"
        eff = "" if m.effect is None else (f"{m.effect:+.3f}{ci}" if m.ci_low is not None else f"{m.effect:g}")
        n = " / ".join(str(m.n.get(g, 0)) for g in (SM, FP)) if r.claim in COMPARATIVE else str(sum(m.n.values()))
        rows.append({"claim": r.claim, "verdict": m.verdict, "measure": r.measure, "effect [95 % CI]": eff,
                     "margin": "" if m.margin is None else f"±{m.margin:g}", "networks": n,
                     "depends on": ", ".join(depends_on(r)) or "none"})
    return pd.DataFrame(rows).set_index("claim")
