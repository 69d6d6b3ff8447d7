"""Which mechanism is the most prevalent (claim C2), under every reading of "mixed", per fb and over the grid.

Our taxonomy pools two kinds of network in ``far/mixed``: those with a probe start that leaves the
output range (*far*) and those some of whose starts settle while others oscillate (*mixed*). The authors'
code counts a mixed network as a limit cycle. Prevalence is read four ways (:data:`READINGS`): ours as
stored; ours with mixed as its own class; ours with mixed counted as limit cycles, as the authors count
them; and the authors' rule as their code applies it. Each reading gives, per fb value and over the whole
grid, every class's share and the slow-manifold share minus the largest other share with a bootstrap
interval (:func:`prevalence_table`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import MECHANISMS
from ..store import MECHANISM

__all__ = ["READINGS", "FAR", "MIXED", "mechanism_readings", "sm_lead", "prevalence_table"]

SM, LC, FAR_MIXED = MECHANISMS[1], MECHANISMS[2], MECHANISMS[3]
#: The two classes our ``far/mixed`` pools, when read apart.
FAR, MIXED = "far", "mixed"

#: Readings of prevalence: name -> how the labels are made (see :func:`mechanism_readings`).
READINGS = {
    "ours (far and mixed pooled)": "ours",
    "ours, mixed as its own class": "mixed own",
    "ours, mixed counted as limit cycles (as the authors' code counts them)": "mixed as limit cycle",
    "the authors' rule": "original",
}

_PROBE = "dynamics.probe."


def mechanism_readings(table: pd.DataFrame) -> pd.DataFrame:
    """One label column per reading of :data:`READINGS`, same index as ``table``.

    A far/mixed network is *far* when any probe start left the output range (``dynamics.probe.n_far`` > 0)
    and *mixed* otherwise (some starts settled, others oscillated). Needs ``mechanism``,
    ``dynamics.probe.n_far`` and (for the last reading) ``dynamics.mechanism_original``; a missing
    column leaves that reading's labels missing (NaN).
    """
    ours = table[MECHANISM] if MECHANISM in table.columns else pd.Series(np.nan, index=table.index)
    n_far = pd.to_numeric(table.get(_PROBE + "n_far", pd.Series(np.nan, index=table.index)), errors="coerce")
    pooled = ours == FAR_MIXED
    split = ours.where(~pooled, np.where(n_far > 0, FAR, MIXED)).where(~(pooled & n_far.isna()))
    as_lc = split.replace({MIXED: LC, FAR: FAR_MIXED})
    original = table.get("dynamics.mechanism_original", pd.Series(np.nan, index=table.index))
    cols = {"ours": ours, "mixed own": split, "mixed as limit cycle": as_lc, "original": original}
    return pd.DataFrame({name: cols[key] for name, key in READINGS.items()}, index=table.index)


def sm_lead(labels: np.ndarray) -> float:
    """Slow-manifold share minus the largest share of any other class among ``labels`` ``(n,)``."""
    labels = np.asarray(labels, dtype=object)
    classes, counts = np.unique(labels.astype(str), return_counts=True)
    shares = dict(zip(classes, counts / max(len(labels), 1)))
    others = [v for k, v in shares.items() if k != SM]
    return shares.get(SM, 0.0) - (max(others) if others else 0.0)


def _lead_interval(labels: np.ndarray, n_resamples: int, seed: int) -> tuple[float, float]:
    """95 % percentile bootstrap interval of :func:`sm_lead`, resampling networks."""
    classes, code = np.unique(labels.astype(str), return_inverse=True)
    sm = int(np.flatnonzero(classes == SM)[0]) if SM in classes else -1
    idx = np.random.default_rng(seed).integers(0, len(code), size=(n_resamples, len(code)))
    shares = np.stack([(code[idx] == k).mean(1) for k in range(len(classes))], axis=1)     # (R, classes)
    sm_share = shares[:, sm] if sm >= 0 else np.zeros(n_resamples)
    rest = np.delete(shares, sm, axis=1) if sm >= 0 else shares
    lead = sm_share - (rest.max(1) if rest.shape[1] else 0.0)
    lo, hi = np.percentile(lead, [2.5, 97.5])
    return float(lo), float(hi)


def prevalence_table(table: pd.DataFrame, *, n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Shares of every class and the slow-manifold lead, per reading and per fb value (and ``"all"``).

    Args:
        table: analysed networks (one row each) with ``fb`` and the columns :func:`mechanism_readings` reads.
    Returns:
        Index ``(reading, fb)``; columns ``networks``, one share column per class that occurs, ``most
        prevalent``, ``SM lead`` (SM share minus the largest other) and its 95 % interval ``ci_low``,
        ``ci_high`` (a fixed generator from ``seed``: the same table gives the same intervals).
    """
    readings = mechanism_readings(table)
    fb = table["fb"] if "fb" in table.columns else pd.Series("all", index=table.index)
    rows = []
    for name in READINGS:
        lab = readings[name]
        for key in [*sorted(fb.dropna().unique()), "all"]:
            sel = lab[(fb == key) if key != "all" else slice(None)].dropna().to_numpy(dtype=object)
            if not len(sel):
                continue
            classes, counts = np.unique(sel.astype(str), return_counts=True)
            lo, hi = _lead_interval(sel, n_resamples, seed)
            rows.append({"reading": name, "fb": key if key == "all" else float(key), "networks": len(sel),
                         **{c: k / len(sel) for c, k in zip(classes, counts)},
                         "most prevalent": classes[np.argmax(counts)], "SM lead": sm_lead(sel),
                         "ci_low": lo, "ci_high": hi})
    out = pd.DataFrame(rows)
    share_cols = [c for c in [*MECHANISMS, FAR, MIXED] if c in out.columns]
    out[share_cols] = out[share_cols].fillna(0.0)
    return out.set_index(["reading", "fb"])[["networks", *share_cols, "most prevalent", "SM lead", "ci_low",
                                              "ci_high"]]
