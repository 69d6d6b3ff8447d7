"""The population of trained networks a chapter reports on, as a table with its exemplars.

The book's population chapters (*Fixed points*, *Four mechanisms*, *Forgetting*, *Robustness*, the
reproduction report) read a stored population (:func:`slowmem.store.read_population`: a results folder or a
``population.json`` index of several) committed under ``book/data/``. :func:`load_population` turns it into a
:class:`Population`: the per-network table, its exemplars, and the trained networks on demand. Training a
population live for a chapter is book tooling (:func:`slowmem.book.live.load_chapter_population`).
"""
from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..analysis.memory import frames_from_summaries
from ..config import MECHANISMS, ConfigError
from ..runtime import Runtime, as_runtime
from ..store import MECHANISM
from ..store.population import (
    POPULATION_INDEX,
    SHARES_COLUMN,
    StoredPopulation,
    load_population_networks,
    read_population,
    read_population_index,
)
from ..task import SPMTask

__all__ = ["Population", "load_population", "read_population_index", "POPULATION_INDEX", "SHARES_COLUMN"]


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
        notes: what a reader must know before trusting the table (see :func:`slowmem.store.read_population`).
    """

    table: pd.DataFrame
    path: Path
    source: str
    manifest: dict
    members: dict[str, Path] | None = None
    notes: tuple[str, ...] = ()

    @property
    def successful(self) -> pd.DataFrame:
        """Rows of networks that perform the task (the ones analysed)."""
        return self.table[self.table["success"].astype(bool)].reset_index(drop=True)

    def _provenance(self) -> tuple[str, str, int, list[str]]:
        """What :meth:`describe` and :meth:`describe_html` say: where the results come from, the grid settings
        present, how many networks perform the task, and the commands that made them (in order, once each)."""
        t = self.table
        runs = self.manifest.get("runs") or []
        cmds = list(dict.fromkeys(r.get("command") for r in runs if r.get("command")))
        n_ok = int(t["success"].astype(bool).sum()) if len(t) else 0
        settings = ", ".join(f"{k} {sorted(t[k].unique().tolist())}" for k in ("N", "g", "pg", "fb", "trials")
                             if k in t.columns and len(t))
        what = "stored results" if self.source == "stored" else "a population trained live just now"
        return what, settings, n_ok, cmds

    def describe(self, width: int = 100) -> str:
        """One sentence (wrapped at ``width``): which population, how big, how it was made."""
        what, settings, n_ok, cmds = self._provenance()
        cmd = "`, then `".join(cmds) if cmds else "(command not recorded)"
        text = (f"This chapter uses {what} in `{self.path}`: {len(self.table)} networks ({settings}), "
                f"{n_ok} of which perform the task; made by `{cmd}` "
                f"with slowmem {self.manifest.get('slowmem_version', '?')}.")
        text += "".join(f" Note: {n}." for n in self.notes)
        return textwrap.fill(text, width=width, break_on_hyphens=False, break_long_words=False)

    def describe_html(self) -> str:
        """:meth:`describe` for a page: the sentence without the commands, which follow in a collapsed list
        (a population made in several runs has a long one)."""
        what, settings, n_ok, cmds = self._provenance()
        text = (f"This chapter uses {what} in <code>{html.escape(str(self.path))}</code>: {len(self.table)} networks "
                f"({html.escape(settings)}), {n_ok} of which perform the task; made with slowmem "
                f"{html.escape(str(self.manifest.get('slowmem_version', '?')))}.")
        text += "".join(f" Note: {html.escape(n)}." for n in self.notes)
        items = "".join(f"<li><code>{html.escape(c)}</code></li>" for c in cmds) or "<li>(not recorded)</li>"
        return (f"<p>{text}</p><details><summary>The {len(cmds)} command{'s' if len(cmds) != 1 else ''} that "
                f"made it, in order</summary><ol>{items}</ol></details>")

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

    def networks(self, network_ids: Sequence[str], *, runtime: Runtime | None = None):
        """``(networks, trial_end_states (B, 4, N), task)`` rebuilt from the stored files (verified), in the
        order asked for, on ``runtime.device`` (:class:`slowmem.runtime.Runtime`; None: the CPU)."""
        stored = StoredPopulation(self.path, self.table, self.manifest, self.members)
        nets, ends, cfgs = load_population_networks(stored, network_ids, device=as_runtime(runtime).torch_device())
        return nets, ends, SPMTask(cfgs[0].task)

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
        rows = self.successful
        sums = self.analysis_summaries("memory", rows)
        keep = [s is not None for s in sums]
        rows = rows[keep]
        meta = rows[["network_id", *meta_columns]].copy()
        return frames_from_summaries([s for s in sums if s is not None], list(rows["network_id"]), meta,
                                     key="network_id")


def load_population(path: str | Path, *, source: str = "stored") -> Population:
    """The stored population at ``path`` (a results folder or a folder with ``population.json``).

    A path that is not a results folder or population is a ConfigError naming it: nothing is trained in its
    place. ``source`` says how the folder came to be (``stored``, or ``live`` for one trained just now).
    """
    if path is None:
        raise ConfigError("population must be a results folder; got None")
    stored = read_population(path)
    return Population(stored.table, stored.path, source, stored.manifest, stored.members, stored.notes)
