"""The population index: one ``population.json`` joining several results folders into one population.

``population.json`` holds ``{"kind": "slowmem-population", "name": ..., "description": ...,
"members": [{"name": ..., "folder": ..., "grid": ..., "shares": true}, ...]}``: each member a results
folder inside the population's folder, the grid file that made it, and whether it counts towards
population shares (``shares``, default true; see :data:`SHARES_COLUMN`). :func:`read_population` reads
either a results folder or such an index into one table; :func:`load_population_networks` rebuilds networks
from whichever member holds them.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from ..config import MECHANISMS, ConfigError, drop_run_settings
from ..errors import StoredFileError
from ..network import RateNetworks
from .documents import read_document
from .folder import read_manifest
from .read import load_networks, load_results
from .schema import MECHANISM

__all__ = ["POPULATION_INDEX", "SHARES_COLUMN", "MEMBER_COLUMN", "StoredPopulation", "read_population_index",
           "read_population", "load_population_networks", "check_labels", "settings_notes"]

#: The file that makes a folder of results folders one population.
POPULATION_INDEX = "population.json"
#: Column of a multi-folder population's table: does the row count towards population shares (claims C1,
#: C2, mechanism tables)? False for members marked ``"shares": false`` -- extra seeds added to some cells
#: only, which would tilt the shares towards those cells; they still count in within-fb comparisons.
SHARES_COLUMN = "in_population_shares"
#: Column naming the member (results folder) each row of a multi-folder population comes from.
MEMBER_COLUMN = "results_folder"


@dataclass(frozen=True)
class StoredPopulation:
    """What :func:`read_population` read: the per-network ``table``, the ``manifest`` (a results folder's, or
    for an index ``{"kind": "slowmem-population", "members": {name: manifest}, "runs": [...],
    "slowmem_version": ...}``), ``members`` (member name -> folder; None for one results folder) and ``notes``
    (what a reader must know before trusting the table, e.g. summaries made with different settings)."""

    path: Path
    table: pd.DataFrame
    manifest: dict
    members: dict[str, Path] | None = None
    notes: tuple[str, ...] = ()


def read_population_index(path: str | Path) -> dict:
    """The checked index ``path/population.json``; a damaged or foreign index, a member outside ``path`` or
    two members of one name is a ConfigError naming it."""
    p = Path(path) / POPULATION_INDEX
    doc = read_document(p, what="population index")
    if doc.get("kind") != "slowmem-population" or not isinstance(doc.get("members"), list) or not doc["members"]:
        raise StoredFileError(f"{p} is not a slowmem population index (kind 'slowmem-population' with a non-empty "
                          "list of members)")
    names = []
    for m in doc["members"]:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or not isinstance(m.get("folder"), str) \
                or not m["name"].strip() or not m["folder"].strip():
            raise StoredFileError(f"{p}: every member needs a non-empty name and folder; got {m!r}")
        if not isinstance(m.get("shares", True), bool):
            raise StoredFileError(f"{p}: member {m['name']!r}: shares must be true or false; got {m['shares']!r}")
        folder = (Path(path) / m["folder"]).resolve()
        if Path(path).resolve() not in folder.parents:
            raise StoredFileError(f"{p}: member folder {m['folder']!r} must lie inside {path}")
        names.append(m["name"])
    if len(set(names)) != len(names):
        raise StoredFileError(f"{p}: member names must be distinct; got {names}")
    return doc


def read_population(path: str | Path) -> StoredPopulation:
    """A results folder, or a folder with a ``population.json`` index (the union of its members)."""
    p = Path(path)
    if not p.is_dir():
        raise ConfigError(f"population {str(path)!r} does not exist or is not a folder; give a results folder "
                          "(slowmem sweep run --out) or a folder with a population.json")
    if (p / POPULATION_INDEX).is_file() and not (p / "manifest.json").exists():
        stored = _read_members(p)
    else:
        stored = StoredPopulation(p, load_results(p), read_manifest(p))   # StoredFileError naming a foreign folder
    check_labels(stored.table, p)
    return replace(stored, notes=settings_notes(stored.table))


def check_labels(table: pd.DataFrame, where: Path | str) -> None:
    """StoredFileError when a mechanism column holds a label outside :data:`slowmem.config.MECHANISMS`."""
    for col in (MECHANISM, "dynamics.mechanism_original"):
        if col in table.columns:
            bad = sorted({str(v) for v in table[col].dropna()} - set(MECHANISMS))
            if bad:
                raise StoredFileError(f"{where}: column {col!r} holds mechanism label(s) {bad}; slowmem knows "
                                      f"{', '.join(MECHANISMS)} (a table edited by hand, or written by another "
                                      "version: rerun the sweep command that made it)")


def settings_notes(table: pd.DataFrame) -> tuple[str, ...]:
    """One note per analysis whose stored summaries were made with more than one setting (run settings aside)."""
    if "analysis_settings" not in table.columns:
        return ()
    seen: dict[str, set[str]] = {}
    for text in table["analysis_settings"].dropna():
        for name, section in json.loads(text or "{}").items():
            seen.setdefault(name, set()).add(json.dumps(drop_run_settings(section), sort_keys=True))
    return tuple(f"the {name!r} summaries of this population were made with {len(v)} different settings: a "
                 "comparison across them mixes results; rerun the sweep command with one grid to make them agree"
                 for name, v in sorted(seen.items()) if len(v) > 1)


def _read_members(path: Path) -> StoredPopulation:
    doc = read_population_index(path)
    members, tables, manifests = {}, [], {}
    for m in doc["members"]:
        folder = path / m["folder"]
        manifests[m["name"]] = read_manifest(folder)
        members[m["name"]] = folder
        tables.append(load_results(folder).assign(**{MEMBER_COLUMN: m["name"],
                                                     SHARES_COLUMN: bool(m.get("shares", True))}))
    table = pd.concat(tables, ignore_index=True)
    dup = table["network_id"][table["network_id"].duplicated()]
    if len(dup):
        twice = table[table["network_id"].isin(dup)]
        raise StoredFileError(f"{path}: network {dup.iloc[0]} is in more than one member "
                          f"({sorted(set(twice[MEMBER_COLUMN]))}); a network belongs to one results folder")
    runs = [r for mf in manifests.values() for r in (mf.get("runs") or [])]
    versions = sorted({str(mf.get("slowmem_version", "?")) for mf in manifests.values()})
    manifest = {"kind": "slowmem-population", "name": doc.get("name", path.name), "members": manifests,
                "runs": runs, "slowmem_version": ", ".join(versions)}
    return StoredPopulation(path, table, manifest, members)


def load_population_networks(population: StoredPopulation, network_ids: Sequence[str], *,
                             device: str | torch.device = "cpu"):
    """``(networks, trial_end_states (B, 4, N), configs)`` of ``network_ids``, in that order, rebuilt and
    verified from the member that holds each (:func:`slowmem.store.load_networks`)."""
    ids = list(network_ids)
    if population.members is None:
        return load_networks(population.path, ids, device=device)
    where = dict(zip(population.table["network_id"], population.table[MEMBER_COLUMN]))
    missing = [i for i in ids if i not in where]
    if missing:
        raise ConfigError(f"network(s) {missing[:3]} are not in the population at {population.path}")
    parts, order = [], []
    for name, folder in population.members.items():
        mine = [i for i in ids if where[i] == name]
        if mine:
            parts.append(load_networks(folder, mine, device=device))
            order += mine
    nets = RateNetworks.concat([p[0] for p in parts])
    ends = torch.cat([p[1] for p in parts])
    cfgs = [c for p in parts for c in p[2]]
    back = [order.index(i) for i in ids]                 # the order asked for
    return nets.select(back), ends[back], [cfgs[i] for i in back]
