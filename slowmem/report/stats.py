"""Effects with intervals: two groups of networks compared like for like, within strata.

The paper's comparative claims (C3, C4, C6) set slow-manifold (SM) networks
against fixed-point (FP) networks. Both groups are shaped by the same
hyperparameters -- feedback strength ``fb`` above all: strong feedback makes
fixed points and saturates units -- so a plain difference of group means
measures ``fb`` as much as the mechanism. :func:`stratified_effect` therefore
compares the groups **within strata** (default: within each ``fb`` value) and
pools the within-stratum differences:

* **usable strata**: those with at least :data:`MIN_PER_CELL` networks on
  each side (a single network gives no within-stratum spread);
* **effect**: the weighted mean of the within-stratum differences of group
  means, ``sum_s w_s (mean_a,s - mean_b,s) / sum_s w_s`` with
  ``w_s = n_a,s n_b,s / (n_a,s + n_b,s)`` (each stratum weighted by how
  precisely it measures its difference);
* **interval**: 95 % percentile bootstrap over networks, resampling each
  (stratum, group) cell on its own (:func:`scipy.stats.bootstrap` with one
  sample per cell, so resampling keeps every network in its stratum);
* **intervals**: the 95 % interval (for "held" and "contradicted") and the 90 %
  interval (for equivalence), both percentiles of the same bootstrap distribution;
* **test**: ordinary least squares ``value ~ group + C(stratum)`` with
  heteroscedasticity-robust (HC3) standard errors (:mod:`statsmodels`); its
  p-value for the group term is reported beside the interval, and, given a
  margin, the two one-sided tests (TOST) of ``|effect| < margin`` on the same fit.

The verdict (:func:`verdict_of`) uses a **margin** stated before the data: the
smallest effect that would count as the claim.

Everything is deterministic for a given ``seed``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..config import ConfigError

__all__ = ["Effect", "stratified_effect", "MIN_PER_CELL", "MIN_PER_SIDE", "VERDICTS", "verdict_of"]

#: Networks a (stratum, group) cell needs to take part in a comparison.
MIN_PER_CELL = 2
#: Networks each side needs, over the usable strata, for a verdict other than inconclusive.
MIN_PER_SIDE = 10
#: The four verdicts, in the order the book lists them.
VERDICTS = ("held", "contradicted", "ruled out", "inconclusive")


@dataclass(frozen=True)
class Effect:
    """One comparison: ``effect`` = group a minus group b (within strata), its intervals, counts and verdict.

    ``direction`` is +1 when the claim predicts ``effect > 0``, -1 when it predicts ``effect < 0``;
    ``margin`` is the smallest effect that would count as the claim (None: no equivalence test);
    ``ci90_low``/``ci90_high`` the 90 % interval the equivalence test uses; ``tost_p`` the larger
    p-value of the two one-sided tests of ``|effect| < margin``; ``clears_margin`` (for a held claim)
    whether the 95 % interval lies beyond the margin too; ``margin_sensitivity`` the verdict with the
    margin halved and doubled; ``verdict`` follows :func:`verdict_of`.
    """

    measure: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n: dict[str, int]
    n_total: dict[str, int]
    strata: dict[str, dict[str, int]]
    direction: int
    verdict: str
    reason: str
    level: float = 0.95
    notes: list[str] = field(default_factory=list)
    margin: float | None = None
    ci90_low: float | None = None
    ci90_high: float | None = None
    tost_p: float | None = None
    clears_margin: bool | None = None
    margin_sensitivity: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def borderline(self) -> bool:
        """Ruled out by the bootstrap's 90 % interval, but not by the regression form of the same two
        one-sided tests (p >= 0.05)."""
        return self.verdict == "ruled out" and self.tost_p is not None and self.tost_p >= 0.05


def verdict_of(effect: float | None, lo: float | None, hi: float | None, n: dict[str, int], direction: int,
               min_per_side: int = MIN_PER_SIDE, *, margin: float | None = None, lo90: float | None = None,
               hi90: float | None = None) -> tuple[str, str]:
    """The stated rule; returns ``(verdict, reason)``, the verdict one of :data:`VERDICTS`.

    With at least ``min_per_side`` networks per side: **ruled out** when the 90 % interval lies inside
    ``(-margin, +margin)`` (two one-sided tests at 5 %; even if the 95 % interval excludes zero: real but
    too small to be the claim); else **held** when the 95 % interval excludes zero in the claim's
    direction, **contradicted** when it excludes zero against it; **inconclusive** otherwise, with the
    reason (too few networks, or an interval that spans zero and reaches past the margin).
    """
    few = {g: k for g, k in n.items() if k < min_per_side}
    if effect is None or lo is None or hi is None:
        return "inconclusive", f"no stratum has at least {MIN_PER_CELL} networks on each side"
    if few:
        return "inconclusive", "too few networks: " + ", ".join(f"{k} {g}" for g, k in few.items()) + \
            f" (at least {min_per_side} per side needed)"
    if margin is not None and lo90 is not None and -margin < lo90 and hi90 < margin:
        return "ruled out", (f"the 90 % interval lies inside the margin ±{margin:g}: any effect is smaller than "
                             "the claim needs")
    if lo > 0 or hi < 0:
        agrees = (lo > 0) if direction > 0 else (hi < 0)
        if not agrees:
            return "contradicted", "the 95 % interval excludes zero against the claim's direction"
        if margin is None:
            return "held", "the 95 % interval excludes zero in the claim's direction"
        beyond = (lo >= margin) if direction > 0 else (hi <= -margin)
        return "held", ("the 95 % interval excludes zero in the claim's direction" +
                        (f" and lies beyond the margin ±{margin:g}" if beyond else
                         f"; it does not lie wholly beyond the margin ±{margin:g}"))
    if margin is None:
        return "inconclusive", "the interval spans zero"
    return "inconclusive", f"the interval spans zero and reaches past the margin ±{margin:g}"


def _decide(est, lo, hi, lo90, hi90, n, direction, margin) -> tuple[str, str, bool | None, dict[str, str]]:
    """Verdict, reason, whether a held effect clears the margin, and the verdicts at half and double margin."""
    verdict, reason = verdict_of(est, lo, hi, n, direction, margin=margin, lo90=lo90, hi90=hi90)
    clears = None
    if verdict == "held" and margin is not None:
        clears = bool(lo >= margin) if direction > 0 else bool(hi <= -margin)
    sens = {}
    if margin is not None:
        for name, m in (("half margin", margin / 2), ("double margin", margin * 2)):
            sens[name] = verdict_of(est, lo, hi, n, direction, margin=m, lo90=lo90, hi90=hi90)[0]
    return verdict, reason, clears, sens


def stratified_effect(table: pd.DataFrame, value: str, group: str, a: str, b: str, *, strata: str | None = "fb",
                      direction: int = 1, measure: str | None = None, n_resamples: int = 4999, seed: int = 0,
                      level: float = 0.95, margin: float | None = None) -> Effect:
    """Group ``a`` minus group ``b`` of column ``value``, within ``strata`` (see the module docstring).

    Args:
        table: one row per network; NaN values of ``value`` are left out.
        value: the per-network measure.
        group: the column holding the group label; ``a`` and ``b`` its two values.
        strata: the stratifying column, or None for one stratum.
        direction: +1 if the claim predicts a > b, -1 if a < b.
        margin: the smallest effect that would count as the claim (> 0), or None for no equivalence test.
    """
    if margin is not None and not (np.isfinite(margin) and margin > 0):
        raise ConfigError(f"stratified_effect: margin must be a positive number or None; got {margin!r}")
    for c in (value, group) + ((strata,) if strata else ()):
        if c not in table.columns:
            raise ConfigError(f"stratified_effect: no column {c!r} in the table")
    t = table[table[group].isin([a, b])].copy()
    t[value] = pd.to_numeric(t[value], errors="coerce")
    finite = np.isfinite(t[value].to_numpy(dtype=float))
    missing = {g: int(((t[group] == g).to_numpy() & ~finite).sum()) for g in (a, b)}
    notes = [f"{k} {g} network(s) have no finite value of the measure and are left out"
             for g, k in missing.items() if k]
    t = t[finite]
    t["_stratum"] = t[strata].astype(str) if strata else "all"
    n_total = {g: int((t[group] == g).sum()) for g in (a, b)}
    cells, per_stratum, usable = [], {}, []
    for s, g in t.groupby("_stratum", sort=True):
        na, nb = int((g[group] == a).sum()), int((g[group] == b).sum())
        per_stratum[str(s)] = {a: na, b: nb}
        if na >= MIN_PER_CELL and nb >= MIN_PER_CELL:
            usable.append(s)
            cells += [g.loc[g[group] == a, value].to_numpy(float), g.loc[g[group] == b, value].to_numpy(float)]
    n = {a: sum(per_stratum[str(s)][a] for s in usable), b: sum(per_stratum[str(s)][b] for s in usable)}
    name = measure or value
    if not usable:
        verdict, reason = verdict_of(None, None, None, n, direction)
        return Effect(name, None, None, None, None, n, n_total, per_stratum, direction, verdict, reason, level,
                      notes=notes, margin=margin)
    weights = np.array([len(x) * len(y) / (len(x) + len(y)) for x, y in zip(cells[::2], cells[1::2])])

    def pooled(*samples, axis=-1):
        diffs = [np.mean(x, axis=axis) - np.mean(y, axis=axis) for x, y in zip(samples[::2], samples[1::2])]
        return np.tensordot(weights, np.stack(diffs), axes=1) / weights.sum()

    est = float(pooled(*cells))
    if all(np.ptp(c) == 0 for c in cells):           # no spread anywhere: the interval is the point
        lo = hi = lo90 = hi90 = est
    else:
        boot = stats.bootstrap(tuple(cells), pooled, n_resamples=n_resamples, confidence_level=level,
                               method="percentile", vectorized=True, rng=np.random.default_rng(seed))
        lo, hi = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
        lo90, hi90 = (float(v) for v in np.percentile(boot.bootstrap_distribution, [5.0, 95.0]))
    p, tost = _ols_tests(t[t["_stratum"].isin(usable)], value, group, a, margin)
    verdict, reason, clears, sens = _decide(est, lo, hi, lo90, hi90, n, direction, margin)
    e = Effect(name, est, lo, hi, p, n, n_total, per_stratum, direction, verdict, reason, level, notes=notes,
               margin=margin, ci90_low=lo90, ci90_high=hi90, tost_p=tost, clears_margin=clears,
               margin_sensitivity=sens)
    if e.borderline:
        e = replace(e, reason=reason + f"; borderline: the regression form of the two one-sided tests (HC3 errors) "
                                       f"gives p = {tost:.2g}, which alone would not rule it out")
    return e


def _ols_tests(t: pd.DataFrame, value: str, group: str, a: str, margin: float | None
               ) -> tuple[float | None, float | None]:
    """p-values of the group term in ``value ~ group + C(stratum)`` (HC3 standard errors): the test of zero,
    and the larger p of the two one-sided tests of ``|group term| < margin`` (None without a margin);
    ``(None, None)`` when the fit is degenerate."""
    y = t[value].to_numpy(float)
    x = pd.get_dummies(t["_stratum"], drop_first=True, dtype=float)
    x.insert(0, "group", (t[group] == a).astype(float).to_numpy())
    x = sm.add_constant(x, has_constant="add")
    if np.ptp(y) == 0 or len(y) <= x.shape[1]:
        return None, None
    with np.errstate(all="ignore"):
        fit = sm.OLS(y, x.to_numpy()).fit(cov_type="HC3")
    if fit.ssr <= 1e-20 * max(float((y - y.mean()) @ (y - y.mean())), 1e-300):
        return None, None                             # no spread left within groups: a test says nothing
    p = float(fit.pvalues[1])
    tost = None
    if margin is not None and np.isfinite(fit.bse[1]) and fit.bse[1] > 0:
        b, se = float(fit.params[1]), float(fit.bse[1])
        tost = float(max(stats.norm.sf((b + margin) / se), stats.norm.cdf((b - margin) / se)))
    return (p if np.isfinite(p) else None), tost
