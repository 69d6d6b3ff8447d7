"""Did each claim of the paper hold? Verdicts computed from a population table.

Each ``claim_*`` function takes the per-network table of a
:class:`~slowmem.report.Population` (successful networks with their
``dynamics.*`` and ``memory.*`` columns) and returns a :class:`Verdict`: the
claim, one of ``held`` / ``did not hold`` / ``partly`` / ``not testable here``,
and the numbers behind it. Chapters print them; the reproduction report
tabulates them. Nothing here is hard-coded: change the population and the
verdicts follow.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import MECHANISMS
from ..store import MECHANISM

__all__ = ["Verdict", "MECHANISM", "mechanism_table", "claim_c1", "claim_c2", "claim_c3", "claim_c4",
           "claim_c5", "claim_c6", "all_claims"]

SM, FP = "slow manifold", "fixed points"

CLAIMS = {
    "C1": "Four distinct dynamical mechanisms emerge across trained networks.",
    "C2": "The most prevalent mechanism encodes memories along slow stable manifolds.",
    "C3": "Slow-manifold networks are phasic in the delay; fixed-point networks are tonic.",
    "C4": "Slow-manifold networks forget when the delay is extended; fixed-point networks do not.",
    "C5": "Slow-manifold networks use fewer attractors than memories (efficiency).",
    "C6": "Slow-manifold networks are more robust to distraction noise than fixed-point networks.",
}


@dataclass(frozen=True)
class Verdict:
    claim: str
    statement: str
    outcome: str        # held | did not hold | partly | not testable here
    evidence: str

    def __str__(self) -> str:
        import textwrap

        return textwrap.fill(f"{self.claim} ({self.outcome}): {self.evidence}", width=100,
                             subsequent_indent="    ")


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    ok = table[table["success"].astype(bool)] if "success" in table.columns else table
    if MECHANISM not in ok.columns:
        return ok.iloc[0:0].assign(**{MECHANISM: pd.Series(dtype=object)})
    return ok[ok[MECHANISM].notna()]


def mechanism_table(table: pd.DataFrame) -> pd.DataFrame:
    """Counts and shares of each mechanism among the successful, analysed networks."""
    t = _labelled(table)
    counts = t[MECHANISM].value_counts().reindex(list(MECHANISMS), fill_value=0)
    total = int(counts.sum())
    return pd.DataFrame({"networks": counts, "share": (counts / total).round(3) if total else np.nan})


#: Fewer networks than this on a side of a comparison get a caution in the evidence.
FEW = 3


def _v(claim: str, outcome: str, evidence: str, n_compared: dict[str, int] | None = None) -> Verdict:
    few = {m: n for m, n in (n_compared or {}).items() if n < FEW}
    if few and outcome in ("held", "did not hold", "partly"):
        evidence += " -- caution: only " + ", ".join(f"{n} {m} network{'s' if n != 1 else ''}"
                                                   for m, n in few.items()) + "; weak evidence"
    return Verdict(claim, CLAIMS[claim], outcome, evidence)


def claim_c1(table: pd.DataFrame) -> Verdict:
    mt = mechanism_table(table)
    present = [m for m in mt.index if mt.loc[m, "networks"] > 0]
    n = int(mt["networks"].sum())
    if n == 0:
        return _v("C1", "not testable here", "no analysed network that performs the task")
    ev = f"{len(present)} of 4 mechanisms among {n} networks: " + ", ".join(
        f"{m} {int(mt.loc[m, 'networks'])}" for m in mt.index)
    return _v("C1", "held" if len(present) == 4 else ("partly" if len(present) > 1 else "did not hold"), ev)


def claim_c2(table: pd.DataFrame) -> Verdict:
    mt = mechanism_table(table)
    n = int(mt["networks"].sum())
    if n == 0:
        return _v("C2", "not testable here", "no analysed network that performs the task")
    top = mt["networks"].idxmax()
    ev = f"most prevalent: {top} ({int(mt.loc[top, 'networks'])} of {n}, {mt.loc[top, 'share']:.0%})"
    return _v("C2", "held" if top == SM else "did not hold", ev)


def _by_mech(table: pd.DataFrame, col: str) -> dict[str, np.ndarray]:
    t = _labelled(table)
    if col not in t.columns:
        return {}
    return {m: pd.to_numeric(g[col], errors="coerce").to_numpy(float) for m, g in t.groupby(MECHANISM)}


def claim_c3(table: pd.DataFrame) -> Verdict:
    """Tonic = many units saturated (|r| > 0.8) throughout the delay; phasic = few in the delay.

    Two measures, both reported: the fraction of saturated units during the
    delays (persistence), and the phasic index (response - delay) / (response +
    delay). The claim holds when slow-manifold networks have both less delay
    saturation and a larger phasic index than fixed-point networks; "partly"
    when only one of the two differs in that direction.
    """
    sat = _by_mech(table, "dynamics.activity.saturation_delay")
    idx = _by_mech(table, "dynamics.activity.phasic_index")
    if SM not in sat or SM not in idx:
        return _v("C3", "not testable here", "no slow-manifold network with an activity profile")

    def desc(m: str) -> str:
        return (f"{m}: median delay saturation {np.nanmedian(sat[m]):.3f}, "
                f"phasic index {np.nanmedian(idx[m]):+.2f} (n={len(sat[m])})")

    if FP not in sat:
        return _v("C3", "not testable here", desc(SM) + "; no fixed-point network to compare with")
    less_tonic = np.nanmedian(sat[SM]) < np.nanmedian(sat[FP])
    more_phasic = np.nanmedian(idx[SM]) > np.nanmedian(idx[FP])
    outcome = "held" if less_tonic and more_phasic else ("partly" if less_tonic or more_phasic else "did not hold")
    return _v("C3", outcome, desc(SM) + "; " + desc(FP), {SM: len(sat[SM]), FP: len(sat[FP])})


def claim_c4(table: pd.DataFrame) -> Verdict:
    t = _labelled(table)
    if "memory.memory_horizon" not in t.columns:
        return _v("C4", "not testable here", "no forgetting curves stored")
    horizon = pd.to_numeric(t["memory.memory_horizon"], errors="coerce")
    forgets = horizon.notna()
    parts, frac = [], {}
    for m, idx in t.groupby(MECHANISM).groups.items():
        f = forgets.loc[idx]
        frac[m] = float(f.mean())
        med = horizon.loc[idx].median()
        parts.append(f"{m}: {int(f.sum())} of {len(f)} forget" + (f" (median horizon {med:.1f} tau)"
                                                                  if f.any() else ""))
    ev = "; ".join(parts)
    if SM not in frac:
        return _v("C4", "not testable here", ev or "no slow-manifold network")
    if FP not in frac:
        return _v("C4", "partly" if frac[SM] > 0.5 else "did not hold",
                  ev + "; no fixed-point network to compare with")
    counts = t[MECHANISM].value_counts()
    return _v("C4", "held" if frac[SM] > 0.5 and frac[FP] < 0.5 else "did not hold", ev,
              {SM: int(counts[SM]), FP: int(counts[FP])})


def claim_c5(table: pd.DataFrame) -> Verdict:
    d = _by_mech(table, "dynamics.efficiency")
    if not d:
        return _v("C5", "not testable here", "no efficiency figures stored")
    ev = "; ".join(f"{m}: median {np.nanmedian(v):.2f} attractors per memory (n={len(v)})" for m, v in d.items()
                   if np.isfinite(v).any())
    if SM not in d:
        return _v("C5", "not testable here", ev)
    ok = np.nanmedian(d[SM]) < 1
    ev += ". (Fewer attractors than memories is part of the slow-manifold definition, so this is a " \
          "consistency check; the substance is how few.)"
    return _v("C5", "held" if ok else "did not hold", ev)


def claim_c6(table: pd.DataFrame, sigma: str = "1") -> Verdict:
    col = f"memory.failure_ratio_by_sigma.{sigma}"
    d = _by_mech(table, col)
    if SM not in d:
        return _v("C6", "not testable here", f"no slow-manifold network with distraction results ({col})")
    ev = "; ".join(f"{m}: mean failure ratio {np.nanmean(v):.2f} at sigma {sigma} (n={len(v)})" for m, v in d.items())
    if FP not in d:
        return _v("C6", "not testable here", ev + "; no fixed-point network to compare with")
    return _v("C6", "held" if np.nanmean(d[SM]) < np.nanmean(d[FP]) else "did not hold", ev,
              {SM: len(d[SM]), FP: len(d[FP])})


def all_claims(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: statement, outcome, evidence."""
    vs = [f(table) for f in (claim_c1, claim_c2, claim_c3, claim_c4, claim_c5, claim_c6)]
    return pd.DataFrame([{"claim": v.claim, "statement": v.statement, "outcome": v.outcome, "evidence": v.evidence}
                         for v in vs]).set_index("claim")
