"""Which networks a comparative verdict compares: the cells of fb x g that hold both mechanisms.

:func:`slowmem.report.claim_effect` compares slow-manifold (SM) with fixed-point
(FP) networks within strata (default: cells of ``fb`` x ``g``) and keeps only the
cells with at least :data:`~slowmem.report.stats.MIN_PER_CELL` networks of each
group. A figure that shows "the verdict's comparison" must show exactly those
networks: :func:`verdict_networks` takes the usable cells from the verdict's own
:class:`~slowmem.report.stats.Effect` (not re-derived) and returns the networks
in them; :func:`describe_selection` says in words what a figure drew.
"""
from __future__ import annotations

import pandas as pd

from ..config import ConfigError
from ..store import MECHANISM
from .claims import DEFAULT_STRATA, FP, SM, STRATA, claim_effect
from .stats import MIN_PER_CELL

__all__ = ["stratum_key", "verdict_cells", "verdict_networks", "describe_selection", "cell_differences"]

#: How each stratification of :data:`~slowmem.report.claims.STRATA` is named in a caption.
_CELL_WORDS = {STRATA["fb and g"]: "cells of fb x g", STRATA["fb"]: "values of fb", None: "one pooled group"}


def stratum_key(table: pd.DataFrame, strata: str | None = DEFAULT_STRATA) -> pd.Series:
    """(rows,) str: each network's stratum label, spelled as the verdict's :class:`Effect` spells it
    (``"1.0 / 0.8"`` for fb = 1, g = 0.8 under the default; ``"all"`` when pooled)."""
    if strata not in STRATA.values():
        raise ConfigError(f"strata must be one of {list(STRATA.values())}; got {strata!r}")
    if strata is None:
        return pd.Series("all", index=table.index)
    if strata == STRATA["fb and g"]:
        return table["fb"].astype(str) + " / " + table["g"].astype(str)
    return table[strata].astype(str)


def verdict_cells(table: pd.DataFrame, claim: str, *, strata: str | None = DEFAULT_STRATA) -> list[str]:
    """The strata the verdict on ``claim`` pools: those of its Effect with at least ``MIN_PER_CELL`` networks
    of each group (sorted labels, as :func:`stratum_key` spells them)."""
    effect = claim_effect(table, claim, strata=strata)
    return sorted(s for s, n in effect.strata.items() if n.get(SM, 0) >= MIN_PER_CELL and n.get(FP, 0) >= MIN_PER_CELL)


def verdict_networks(table: pd.DataFrame, claim: str, *, strata: str | None = DEFAULT_STRATA) -> pd.DataFrame:
    """The networks the verdict on ``claim`` compares: successful SM and FP networks in :func:`verdict_cells`.

    Args:
        table: the population table (one row per network; ``network_id``, ``success``, ``fb``, ``g`` and the
            mechanism column).
        claim: a comparative claim (C3-C6).
    Returns:
        (k, 5) DataFrame ``network_id, mechanism, fb, g, cell``, one row per network, sorted by cell and
        mechanism. Per mechanism its counts equal the verdict's ``Effect.n`` whenever every network has the
        claim's measure.
    Raises:
        ConfigError: a cell of the verdict is not found in ``table`` (the cell spelling changed).
    """
    cells = verdict_cells(table, claim, strata=strata)
    t = table[table["success"].astype(bool)] if "success" in table.columns else table
    t = t[t[MECHANISM].isin([SM, FP])]
    key = stratum_key(t, strata)
    missing = sorted(set(cells) - set(key))
    if missing:
        raise ConfigError(f"verdict cells {missing} of {claim} are not found in the table's {strata!r} labels")
    out = t.loc[key.isin(cells), ["network_id", MECHANISM, "fb", "g"]].assign(cell=key[key.isin(cells)])
    out = out.rename(columns={MECHANISM: "mechanism"})
    return out.sort_values(["cell", "mechanism", "network_id"]).reset_index(drop=True)


def describe_selection(networks: pd.DataFrame, strata: str | None = DEFAULT_STRATA) -> str:
    """What a figure drew, in words: ``"25 SM and 18 FP networks in 3 cells of fb x g"``.

    ``networks``: rows with ``mechanism`` and ``cell`` (e.g. :func:`verdict_networks`, after keeping the
    networks a figure actually drew).
    """
    n_sm = int((networks["mechanism"] == SM).sum())
    n_fp = int((networks["mechanism"] == FP).sum())
    k = int(networks["cell"].nunique())
    words = _CELL_WORDS[strata]
    if strata is not None and k == 1:
        words = words.replace("cells", "cell").replace("values", "value")
    return f"{n_sm} SM and {n_fp} FP networks in {k} {words}" if strata is not None else \
        f"{n_sm} SM and {n_fp} FP networks, {words}"


def cell_differences(frame: pd.DataFrame, networks: pd.DataFrame, x: str, y: str, levels) -> pd.DataFrame:
    """Per verdict cell and level of ``x``: mean ``y`` of SM and FP networks and their difference, SM - FP.

    Args:
        frame: long table ``network_id, x, y`` (e.g. the distraction frame of one distractor).
        networks: :func:`verdict_networks` output (``network_id, mechanism, cell``).
        levels: the values of ``x`` to tabulate.
    Returns:
        DataFrame indexed by ``(cell, x)`` with columns ``SM, FP, SM - FP, n SM, n FP`` (means over networks,
        rounded to 3 decimals).
    """
    t = frame.loc[frame[x].isin(list(levels)), ["network_id", x, y]]
    t = t.merge(networks[["network_id", "mechanism", "cell"]], on="network_id")
    by = t.groupby(["cell", x, "mechanism"])
    mean = by[y].mean().unstack("mechanism").reindex(columns=[SM, FP])
    n = by["network_id"].nunique().unstack("mechanism").reindex(columns=[SM, FP])
    out = pd.DataFrame({"SM": mean[SM], "FP": mean[FP]}, index=mean.index)
    out["SM - FP"] = out["SM"] - out["FP"]
    out["n SM"], out["n FP"] = n[SM].fillna(0).astype(int), n[FP].fillna(0).astype(int)
    return out.round(3)
