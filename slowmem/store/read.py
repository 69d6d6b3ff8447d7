"""Reading a results folder for the book and for further work: the table, and networks rebuilt.

Both readers verify what they read (see :mod:`slowmem.store.folder`) and refuse,
with a message naming the file, anything that does not verify.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..config import Config, ConfigError
from ..errors import StoredFileError
from ..network import RateNetworks
from .folder import ResultsFolder, read_manifest
from .schema import STATUSES, analysis_column, flatten_summaries, rows_to_frame

__all__ = ["load_results", "load_networks", "verified_rows"]


def verified_rows(path: str | Path) -> dict[str, dict]:
    """The rows of results folder ``path`` as ``{network_id: row}``, read-only; ConfigError if any fails to verify."""
    path = Path(path)
    m = read_manifest(path)
    rows, notes = ResultsFolder(path).read_rows(m["network_ids"], repair=False)
    if notes:
        msgs = list(notes.values())
        raise StoredFileError("; ".join(msgs[:5]) + (f" (and {len(msgs) - 5} more)" if len(msgs) > 5 else "")
                          + "; rerun the command that made the folder to recompute them")
    return rows


def load_results(path: str | Path, *, flatten: bool = True, status: str | Sequence[str] | None = None):
    """The results table of folder ``path`` as a DataFrame, one row per network, in grid order.

    Args:
        flatten: also expand every analysis summary (JSON column
            ``analysis_<name>``) into scalar columns ``<name>.<key>`` and the
            mechanism label into ``mechanism`` (see
            :func:`~slowmem.store.schema.flatten_summaries`).
        status: keep only rows with this status (or these statuses).
    Returns:
        Config fields (``N``, ``g``, ``pg``, ``fb``, ``rule``, ``trials`` ...),
        ``seed``, ``network_id``, ``status``, ``success``, accuracies,
        ``error_rate_<thr>``, analysis columns, timings, versions.
    """
    import pandas as pd

    path = Path(path)
    m = read_manifest(path)
    rows = verified_rows(path)
    order = {nid: k for k, nid in enumerate(m["network_ids"])}
    ordered = sorted(rows.values(), key=lambda r: order[r["network_id"]])
    df = rows_to_frame(ordered)
    if status is not None:
        allowed = (status,) if isinstance(status, str) else tuple(status)
        bad = [s for s in allowed if s not in STATUSES]
        if bad:
            raise ConfigError(f"status must be among {', '.join(STATUSES)}; got {bad}")
        df = df[df["status"].isin(allowed)].reset_index(drop=True)
    if flatten and len(df):
        names = [c[len("analysis_"):] for c in df.columns if c.startswith("analysis_")
                 and c not in ("analysis_errors", "analysis_seconds", "analysis_settings")]
        extra = []
        for _, r in df.iterrows():
            sums = {n: json.loads(r[analysis_column(n)]) for n in names
                    if isinstance(r[analysis_column(n)], str) and r[analysis_column(n)]}
            extra.append(flatten_summaries(sums))
        if any(extra):
            df = pd.concat([df, pd.DataFrame(extra, index=df.index)], axis=1)
    return df


def load_networks(path: str | Path, network_ids: Sequence[str], *, device: str = "cpu",
                  dtype: str | None = None):
    """Trained networks of results folder ``path``, rebuilt for further simulation.

    Fixed weights are regenerated from each row's config and seed and checked
    against ``fixed_weights_hash``; wo and wd come from the verified array
    files. All ``network_ids`` must share N.

    Returns:
        ``(networks, trial_end_states (B, 4, N), configs)``.
    """
    from dataclasses import replace

    import torch

    path = Path(path)
    folder = ResultsFolder(path)
    rows = verified_rows(path)
    network_ids = list(network_ids)
    if not network_ids:
        raise ConfigError("network_ids: give at least one network id")
    missing = [i for i in network_ids if i not in rows]
    if missing:
        raise ConfigError(f"{path}: no stored network(s) {missing[:5]}; see load_results(...)['network_id']")
    cfgs, seeds, tensors = [], [], []
    for i in network_ids:
        row = rows[i]
        tensors.append(folder.read_arrays(row))
        cfg = Config.from_dict(json.loads(row["config_json"]))
        cfgs.append(cfg)
        seeds.append(cfg.training.seed)
    dt = dtype or cfgs[0].training.dtype
    net = RateNetworks.create([c.network for c in cfgs], seeds, device=device, dtype=dt)
    for b, i in enumerate(network_ids):
        if net.fixed_weights_hash(b) != rows[i]["fixed_weights_hash"]:
            raise StoredFileError(f"network {i}: regenerated fixed weights differ from the stored hash "
                              "(slowmem's weight draw changed since it was trained); rerun the command")
    to = dict(device=net.device, dtype=net.dtype)
    net = replace(net, wo=torch.stack([t["wo"] for t in tensors]).to(**to),
                  wd=torch.stack([t["wd"] for t in tensors]).to(**to))
    ends = torch.stack([t["trial_end_states"] for t in tensors]).to(**to)
    return net, ends, cfgs
