"""Two populations of the same networks, compared: training length (1,500 vs 3,500 trials), scale (N).

A *slice* is a set of cells (g, pg, fb, seed) trained under two settings. :func:`compare_slices`
matches the two tables on the cells both hold and returns, per setting, the success rate and the
mechanism shares with 95 % Wilson intervals and their n, plus the paired view: how many networks
succeed under one setting and not the other, and, among those that succeed under both, which
mechanism each has under each setting (a transition table). Mechanism shares are of the networks
that perform the task, as everywhere in the book. :func:`compare_effects` measures the comparative
claims (slow-manifold against fixed-point networks) under each setting on the same matched cells.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import MECHANISMS, ConfigError
from ..store import MECHANISM
from .claims import COMPARATIVE, DEFAULT_STRATA, FP, SM, claim_effect

#: The column of :attr:`SliceComparison.mechanisms_by` for networks that do not perform the task.
FAILS = "fails the task"

__all__ = ["FAILS", "SliceComparison", "compare_slices", "compare_effects", "effects_table", "group_count"]


@dataclass(frozen=True)
class SliceComparison:
    """What :func:`compare_slices` returns.

    Attributes:
        labels: the two settings' names, in order.
        matched: networks (cells) in both tables.
        success: one row per setting: ``networks, succeed, rate, rate_ci_low, rate_ci_high``.
        success_by: success rate per value of ``by`` (rows) and setting (columns).
        mechanisms: rows = mechanisms, columns ``(setting, networks | share | share_ci_low | share_ci_high)``.
        mechanisms_by: networks per (value of ``by``, setting) (rows) and mechanism (columns), with a column
            ``fails the task`` for those that do not perform it.
        differences: first setting minus second, for the success rate and each mechanism's share: rows
            ``success`` and the mechanisms, columns ``difference, ci_low, ci_high, p_value`` (Newcombe's 95 %
            interval and Fisher's exact test, the two settings taken as independent samples: right for
            different N, whose seeds draw other networks; for the same networks trained twice, see
            ``success_pairs``).
        success_pairs: 2 x 2 counts, success under the first setting (rows) x the second (columns).
        transitions: mechanism under the first setting (rows) x the second (columns), networks that
            succeed under both.
    """

    labels: tuple[str, str]
    matched: int
    success: pd.DataFrame
    success_by: pd.DataFrame
    mechanisms: pd.DataFrame
    mechanisms_by: pd.DataFrame
    differences: pd.DataFrame
    success_pairs: pd.DataFrame
    transitions: pd.DataFrame


def _wilson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(np.asarray(k), np.maximum(np.asarray(n), 1), alpha=0.05, method="wilson")
    return np.round(lo, 3), np.round(hi, 3)


def compare_slices(a: pd.DataFrame, b: pd.DataFrame, *, labels: Sequence[str] = ("A", "B"),
                   on: Sequence[str] = ("g", "pg", "fb", "seed"), by: str = "fb") -> SliceComparison:
    """Compare two population tables (:attr:`slowmem.report.Population.table`) on the cells both hold.

    Args:
        a, b: tables with the ``on`` columns, ``success`` and ``mechanism``.
        labels: names of the two settings (e.g. ``("1,500 trials", "3,500 trials")``).
        on: the columns that identify a cell (default g, pg, fb, seed).
        by: the column the success rate is also broken down by.
    Raises:
        ConfigError: a column is missing, a cell appears twice in one table, or no cell is in both.
    """
    labels = _two_labels(labels)
    for name, t in zip(labels, (a, b)):
        missing = [c for c in (by, "success") if c not in t.columns]
        if missing:
            raise ConfigError(f"the {name!r} table lacks column(s) {missing}")
    _matched(a, b, on, labels)
    labelled = MECHANISM in a.columns and MECHANISM in b.columns
    keep = list(dict.fromkeys([*on, by, "success", *([MECHANISM] if labelled else [])]))
    m = a[keep].merge(b[[c for c in keep if c in on or c not in (by,)]], on=list(on), suffixes=("_a", "_b"))
    ok = {lab: m[f"success_{s}"].astype(bool) for lab, s in zip(labels, "ab")}
    # each network's mechanism under each setting, FAILS where it does not perform the task
    mech_of = {lab: (m[f"{MECHANISM}_{s}"] if labelled else pd.Series(None, index=m.index)).astype(object)
               .where(ok[lab], FAILS) for lab, s in zip(labels, "ab")}
    k = np.array([int(ok[lab].sum()) for lab in labels])
    lo, hi = _wilson(k, np.full(2, len(m)))
    success = pd.DataFrame({"networks": len(m), "succeed": k, "rate": np.round(k / len(m), 3),
                            "rate_ci_low": lo, "rate_ci_high": hi}, index=list(labels))
    success_by = pd.DataFrame({lab: m.groupby(by)[f"success_{s}"].mean().round(3) for lab, s in zip(labels, "ab")})
    success_by["networks"] = m.groupby(by).size()
    mech = {}
    for lab in labels:
        counts = mech_of[lab][ok[lab]].value_counts().reindex(list(MECHANISMS), fill_value=0)
        n = int(counts.sum())
        clo, chi = _wilson(counts.to_numpy(), np.full(len(counts), n))
        mech[lab] = pd.DataFrame({"networks": counts.astype(int), "share": np.round(counts / max(n, 1), 3),
                                  "share_ci_low": clo, "share_ci_high": chi})
    mechanisms = pd.concat(mech, axis=1)
    by_rows = {}
    for lab in labels:
        for value, part in mech_of[lab].groupby(m[by]):
            by_rows[(value, lab)] = part.value_counts().reindex([*MECHANISMS, FAILS], fill_value=0)
    order = [(v, lab) for v in sorted(m[by].unique()) for lab in labels if (v, lab) in by_rows]
    mechanisms_by = pd.DataFrame({k: by_rows[k] for k in order}).T.rename_axis([by, "setting"]).astype(int)
    pairs = pd.crosstab(ok[labels[0]].rename(labels[0]), ok[labels[1]].rename(labels[1])).reindex(
        index=[False, True], columns=[False, True], fill_value=0)
    both = ok[labels[0]] & ok[labels[1]]
    if labelled:
        tr = pd.crosstab(mech_of[labels[0]][both].rename(labels[0]), mech_of[labels[1]][both].rename(labels[1]))
        tr = tr.reindex(index=list(MECHANISMS), columns=list(MECHANISMS), fill_value=0)
    else:
        tr = pd.DataFrame()
    counts = {"success": (k, np.full(2, len(m)))}
    for name in MECHANISMS:
        counts[name] = (np.array([mechanisms[(lab, "networks")][name] for lab in labels]),
                        np.array([mechanisms[lab]["networks"].sum() for lab in labels]))
    differences = pd.DataFrame({name: _difference(*kn) for name, kn in counts.items()}).T
    return SliceComparison(labels, len(m), success, success_by, mechanisms, mechanisms_by, differences, pairs, tr)


def _difference(k: np.ndarray, n: np.ndarray) -> dict:
    """k[0]/n[0] - k[1]/n[1] with Newcombe's 95 % interval and Fisher's exact two-sided p (NaN if an n is 0)."""
    from scipy.stats import fisher_exact
    from statsmodels.stats.proportion import confint_proportions_2indep

    k, n = (np.asarray(x, dtype=int) for x in (k, n))
    if (n == 0).any():
        return {"difference": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    lo, hi = confint_proportions_2indep(k[0], n[0], k[1], n[1], method="newcomb", compare="diff")
    p = fisher_exact([[k[0], n[0] - k[0]], [k[1], n[1] - k[1]]]).pvalue
    return {"difference": round(float(k[0] / n[0] - k[1] / n[1]), 3), "ci_low": round(float(lo), 3),
            "ci_high": round(float(hi), 3), "p_value": round(float(p), 3)}


def _two_labels(labels: Sequence[str]) -> tuple[str, str]:
    labels = tuple(str(x) for x in labels)
    if len(labels) != 2 or labels[0] == labels[1]:
        raise ConfigError(f"labels must be two different names; got {labels!r}")
    return labels


def _matched(a: pd.DataFrame, b: pd.DataFrame, on: Sequence[str], labels: tuple[str, str]
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    for name, t in zip(labels, (a, b)):
        missing = [c for c in on if c not in t.columns]
        if missing:
            raise ConfigError(f"the {name!r} table lacks column(s) {missing}")
        if t.duplicated(list(on)).any():
            raise ConfigError(f"the {name!r} table holds a cell ({', '.join(on)}) twice; compare one network per cell")
    keys = a[list(on)].merge(b[list(on)], on=list(on))
    if keys.empty:
        raise ConfigError(f"the two tables share no cell ({', '.join(on)}); nothing to compare")
    return a.merge(keys, on=list(on)), b.merge(keys, on=list(on))


def compare_effects(a: pd.DataFrame, b: pd.DataFrame, *, labels: Sequence[str] = ("A", "B"),
                    on: Sequence[str] = ("g", "pg", "fb", "seed"), claims: Sequence[str] = COMPARATIVE,
                    strata: str | None = DEFAULT_STRATA,
                    reference: tuple[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The comparative claims' effects (SM - FP, default reading, within ``strata``) under two settings, each
    measured on the cells both tables hold (:func:`slowmem.report.claim_effect`).

    Args:
        reference: optionally ``(name, table)``: each claim measured on the whole of ``table`` as well (e.g. the
            whole population the slice was taken from), as a third setting ``name``.
    Returns:
        One row per (claim, setting), index ``(claim, setting)``; columns ``measure, effect, ci_low, ci_high,
        direction, n_sm, n_fp, n_sm_all, n_fp_all, verdict, reason`` (``n_sm``, ``n_fp``: networks of each group
        in the usable strata, those the effect rests on; ``n_*_all``: all with a value of the measure).
    Raises:
        ConfigError: as :func:`compare_slices`, or an unknown claim.
    """
    labels = _two_labels(labels)
    tables = dict(zip(labels, _matched(a, b, on, labels)))
    if reference is not None:
        name, table = reference
        if str(name) in tables:
            raise ConfigError(f"the reference's name {name!r} is one of the labels {labels!r}")
        tables[str(name)] = table
    rows = []
    for claim in claims:
        for lab, t in tables.items():
            e = claim_effect(t, claim, strata=strata)
            rows.append({"claim": claim, "setting": lab, "measure": e.measure, "effect": e.effect,
                         "ci_low": e.ci_low, "ci_high": e.ci_high, "direction": e.direction,
                         "n_sm": e.n.get(SM, 0), "n_fp": e.n.get(FP, 0), "n_sm_all": e.n_total.get(SM, 0),
                         "n_fp_all": e.n_total.get(FP, 0), "verdict": e.verdict, "reason": e.reason})
    return pd.DataFrame(rows).set_index(["claim", "setting"])


def group_count(n: int, n_all: int) -> str:
    """'n', or 'n of all' when strata without both groups left networks out."""
    return f"{n}" if n == n_all else f"{n} of {n_all}"


def effects_table(effects: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_effects` output as a narrow table to read: ``effect [95 % CI]``, ``n SM``, ``n FP``
    (``"k of n"`` where only k of the group's n networks are in strata that hold both groups), ``verdict``
    per (claim, setting). An effect reads "no values of this measure" where no network of the setting has
    one (e.g. summaries stored before the measure existed), "no comparison" where the strata leave a side
    empty."""
    def ci(r) -> str:
        if pd.isna(r.effect):   # no network has the measure (stored summaries older than it), or one side lacks it
            return "no values of this measure" if r.n_sm_all == 0 and r.n_fp_all == 0 else "no comparison"
        return f"{r.effect:+.3f}" + ("" if pd.isna(r.ci_low) else f" [{r.ci_low:+.3f}, {r.ci_high:+.3f}]")

    return pd.DataFrame({"effect [95 % CI]": [ci(r) for r in effects.itertuples()],
                         "n SM": [group_count(r.n_sm, r.n_sm_all) for r in effects.itertuples()],
                         "n FP": [group_count(r.n_fp, r.n_fp_all) for r in effects.itertuples()],
                         "verdict": effects["verdict"].to_numpy()}, index=effects.index)
