"""The population of trained networks a chapter reports on: stored sweep results, or a live one.

The book's population chapters (*Fixed points*, *Four mechanisms*,
*Forgetting*, *Robustness*, the reproduction report) read a results folder
(:mod:`slowmem.store`) committed under ``book/data/``. A reader may point a
chapter at another folder; a folder that does not exist is an error. Only when
asked for (``population="live"``) do they train a small population live, with
the same sweep pipeline in this process, and say so. Either way the chapter
gets a :class:`Population`: the per-network table, its exemplars, and the
trained networks on demand.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import MECHANISMS, ConfigError
from ..store import MECHANISM

__all__ = ["Population", "load_population", "read_population_index", "LIVE_GRID", "LIVE", "POPULATION_INDEX",
           "SHARES_COLUMN"]

#: The file that makes a folder of results folders one population (see :func:`read_population_index`).
POPULATION_INDEX = "population.json"
#: Column of a multi-folder population's table: does the row count towards population shares (claims C1,
#: C2, mechanism tables)? False for members marked ``"shares": false`` -- extra seeds added to some cells
#: only, which would tilt the shares towards those cells; they still count in within-fb comparisons.
SHARES_COLUMN = "in_population_shares"

#: The value of a chapter's ``population`` parameter that asks for a live population.
LIVE = "live"

_BOOK_DIR = Path(__file__).resolve().parents[1] / "book"

#: The small grid trained live when no stored population is available
#: (a few minutes on a 2-core CPU).
LIVE_GRID: Mapping[str, Any] = {"name": "live_ci", "preset": "ci", "seeds": "0-3", "g": [1.2, 1.5]}


@dataclass
class Population:
    """A table of networks (one row each) and where it came from.

    Attributes:
        table: :func:`slowmem.store.load_results` of the folder: config
            columns, ``seed``, ``network_id``, ``success``, accuracies, the
            flattened analysis summaries (``dynamics.*``, ``memory.*``) and
            the mechanism label ``mechanism``.
        path: the results folder.
        source: ``stored`` (read from disk) or ``live`` (made just now).
        manifest: the folder's manifest (grid, command, version); for a population of
            several results folders, ``{"kind": "slowmem-population", "members": {name:
            manifest}, "runs": [every member's runs], "slowmem_version": ...}``.
        members: for such a population, member name -> results folder (the table's
            ``results_folder`` column names each row's member); None for one folder.
    """

    table: pd.DataFrame
    path: Path
    source: str
    manifest: dict
    members: dict[str, Path] | None = None

    @property
    def successful(self) -> pd.DataFrame:
        """Rows of networks that perform the task (the ones analysed)."""
        return self.table[self.table["success"].astype(bool)].reset_index(drop=True)

    def describe(self, width: int = 100) -> str:
        """One sentence (wrapped at ``width``): which population, how big, how it was made."""
        import textwrap

        t = self.table
        runs = self.manifest.get("runs") or []
        cmds = list(dict.fromkeys(r.get("command") for r in runs if r.get("command")))
        cmd = "`, then `".join(cmds) if cmds else "(command not recorded)"
        n_ok = int(t["success"].astype(bool).sum()) if len(t) else 0
        settings = ", ".join(f"{k} {sorted(t[k].unique().tolist())}" for k in ("N", "g", "pg", "fb", "trials")
                             if k in t.columns and len(t))
        what = "stored results" if self.source == "stored" else "a population trained live just now"
        text = (f"This chapter uses {what} in `{self.path}`: {len(t)} networks ({settings}), "
                f"{n_ok} of which perform the task; made by `{cmd}` "
                f"with slowmem {self.manifest.get('slowmem_version', '?')}.")
        return textwrap.fill(text, width=width, break_on_hyphens=False, break_long_words=False)

    def exemplars(self, by: str = MECHANISM, rank: str = "replay_accuracy") -> pd.DataFrame:
        """One network per value of ``by`` (default: per mechanism, in the taxonomy's order): the one that
        performs the task best by ``rank`` (ties: grid order). The chapters' example networks."""
        ok = self.successful
        if by not in ok.columns:
            raise ConfigError(f"the population has no column {by!r}; have {list(ok.columns)[:20]}...")
        ok = ok[ok[by].notna()]
        best = ok.sort_values(rank, ascending=False, kind="stable").groupby(by, sort=False).head(1)
        if by == MECHANISM:
            best = best.set_index(by).reindex([m for m in MECHANISMS if m in set(best[by])]).reset_index()
        return best.reset_index(drop=True)

    def networks(self, network_ids: Sequence[str], device: str = "cpu"):
        """``(networks, trial_end_states (B, 4, N), task)`` rebuilt from the folder (verified)."""
        from ..store import load_networks
        from ..task import SPMTask

        ids = list(network_ids)
        if self.members is None:
            nets, ends, cfgs = load_networks(self.path, ids, device=device)
            return nets, ends, SPMTask(cfgs[0].task)
        import torch

        from ..network import RateNetworks

        where = dict(zip(self.table["network_id"], self.table["results_folder"]))
        missing = [i for i in ids if i not in where]
        if missing:
            raise ConfigError(f"network(s) {missing[:3]} are not in the population at {self.path}")
        parts, order = [], []
        for name, folder in self.members.items():
            mine = [i for i in ids if where[i] == name]
            if mine:
                parts.append(load_networks(folder, mine, device=device))
                order += mine
        nets = RateNetworks.concat([p[0] for p in parts])
        ends = torch.cat([p[1] for p in parts])
        cfgs = [c for p in parts for c in p[2]]
        back = [order.index(i) for i in ids]                 # the order asked for
        return nets.select(back), ends[back], SPMTask(cfgs[0].task)

    def analysis_summaries(self, name: str, rows: pd.DataFrame | None = None) -> list[dict]:
        """The stored summary dicts of analysis ``name`` for ``rows`` (default: successful networks)."""
        rows = self.successful if rows is None else rows
        col = f"analysis_{name}"
        if col not in rows.columns:
            raise ConfigError(f"the population has no {name!r} analysis stored; run the sweep command again "
                              "to add it")
        out = []
        for v in rows[col]:
            out.append(json.loads(v) if isinstance(v, str) else (v if isinstance(v, dict) else None))
        return out

    def memory_frames(self, meta_columns: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
        """Tidy forgetting / horizon / distraction / interruption tables of the analysed networks.

        Each table has a ``network_id`` column plus ``meta_columns`` (e.g. the
        mechanism label, g, pg, fb) taken from :attr:`table`.
        """
        from ..analysis.memory import frames_from_summaries

        rows = self.successful
        sums = self.analysis_summaries("memory", rows)
        keep = [s is not None for s in sums]
        rows = rows[keep]
        meta = rows[["network_id", *meta_columns]].copy()
        return frames_from_summaries([s for s in sums if s is not None], list(rows["network_id"]), meta,
                                     key="network_id")


def load_population(path: str | Path, *, live_grid: Mapping[str, Any] | None = None,
                    workdir: str | Path | None = None, progress: bool = False) -> Population:
    """The stored population at ``path``, or -- only when ``path`` is ``"live"`` -- a small one trained now.

    Args:
        path: a results folder (``slowmem sweep run --out``). A relative path
            that does not exist is also looked up in the book's folder of a
            source checkout, so chapters find their data whether papermill runs
            them from the repository root or from ``book/``. A path that is not a
            results folder is an error (nothing is trained in its place).
        live_grid: grid mapping for ``"live"`` (default :data:`LIVE_GRID`).
        workdir: where the live population is written (default: a new temporary folder).
    """
    from ..store import load_results, read_manifest

    if path is None:
        raise ConfigError(f"population must be a results folder or {LIVE!r}; got None")
    if str(path) != LIVE:
        p = Path(path)
        if not p.is_absolute() and not p.exists() and (_BOOK_DIR / p).exists():
            p = _BOOK_DIR / p        # a chapter run from the repository root (papermill book/...)
        if not p.is_dir():
            raise ConfigError(f"population {str(path)!r} does not exist; give a results folder (e.g. "
                              f"data/population) or {LIVE!r} to train a small population now")
        if (p / POPULATION_INDEX).is_file() and not (p / "manifest.json").exists():
            return _load_members(p)
        manifest = read_manifest(p)  # ConfigError naming the file when it is not a results folder
        return Population(load_results(p), p, "stored", manifest)
    from ..sweep import SweepOptions, grid_from_mapping, run_sweep

    grid = grid_from_mapping(dict(live_grid or LIVE_GRID), source="live population", name="live")
    out = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="slowmem-live-")) / "population"
    run_sweep(grid, out, SweepOptions(backend="none", progress=progress,
                                      command="slowmem.report.load_population('live')"))
    return Population(load_results(out), out, "live", read_manifest(out))


def read_population_index(path: str | Path) -> dict:
    """The index of a population made of several results folders: ``path/population.json``.

    It holds ``{"kind": "slowmem-population", "name": ..., "description": ...,
    "members": [{"name": ..., "folder": ..., "grid": ..., "shares": true}, ...]}``: each
    member a results folder (relative to ``path``), the grid file that made it and whether
    it counts towards population shares (``shares``, default true; see :data:`SHARES_COLUMN`). A damaged
    or foreign index, or a member that is not a results folder, is a ConfigError
    naming it.
    """
    p = Path(path) / POPULATION_INDEX
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{p} is not a readable population index ({e})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "slowmem-population" or not isinstance(
            doc.get("members"), list) or not doc["members"]:
        raise ConfigError(f"{p} is not a slowmem population index (kind 'slowmem-population' with a non-empty "
                          "list of members)")
    names = []
    for m in doc["members"]:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or not isinstance(m.get("folder"), str):
            raise ConfigError(f"{p}: every member needs a name and a folder; got {m!r}")
        if not isinstance(m.get("shares", True), bool):
            raise ConfigError(f"{p}: member {m['name']!r}: shares must be true or false; got {m['shares']!r}")
        folder = (Path(path) / m["folder"]).resolve()
        if Path(path).resolve() not in folder.parents:
            raise ConfigError(f"{p}: member folder {m['folder']!r} must lie inside {path}")
        names.append(m["name"])
    if len(set(names)) != len(names):
        raise ConfigError(f"{p}: member names must be distinct; got {names}")
    return doc


def _load_members(path: Path) -> Population:
    """The union of the results folders listed in ``path/population.json``."""
    from ..store import load_results, read_manifest

    doc = read_population_index(path)
    members, tables, manifests = {}, [], {}
    for m in doc["members"]:
        folder = path / m["folder"]
        manifests[m["name"]] = read_manifest(folder)
        members[m["name"]] = folder
        tables.append(load_results(folder).assign(results_folder=m["name"],
                                                  **{SHARES_COLUMN: bool(m.get("shares", True))}))
    table = pd.concat(tables, ignore_index=True)
    dup = table["network_id"][table["network_id"].duplicated()]
    if len(dup):
        twice = table[table["network_id"].isin(dup)]
        raise ConfigError(f"{path}: network {dup.iloc[0]} is in more than one member "
                          f"({sorted(set(twice['results_folder']))}); a network belongs to one results folder")
    runs = [r for mf in manifests.values() for r in (mf.get("runs") or [])]
    versions = sorted({str(mf.get("slowmem_version", "?")) for mf in manifests.values()})
    manifest = {"kind": "slowmem-population", "name": doc.get("name", path.name), "members": manifests,
                "runs": runs, "slowmem_version": ", ".join(versions)}
    return Population(table, path, "stored", manifest, members)
