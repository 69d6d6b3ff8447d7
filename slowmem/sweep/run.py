"""Running a sweep into a results folder, resumably, and reading where one stands.

:func:`run_sweep` validates everything and checks the output folder before any
work, plans what each network still needs (:mod:`slowmem.sweep.plan`), runs
the work units (:mod:`slowmem.sweep.execute`) and writes each unit's results as
it completes, so a killed sweep keeps what it finished and the same command
continues where it stopped. A rerun only adds what is missing: an analysis
registered, or asked for with other settings, after the networks were trained
runs on the stored readouts without retraining.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .. import analysis
from ..analysis import stored_summary_current
from ..config import Config, ConfigError, drop_run_settings, network_identity
from ..store import ResultsFolder, dumps, read_manifest, utc_now
from ..store.records import add_run, failed_row, merge_result, new_manifest
from ..training import check_training_memory
from .execute import SweepOptions, default_batch, execute
from .grid import Grid, NetworkSpec
from .plan import Pending, grid_hash, plan_pending, plan_units

__all__ = ["run_sweep", "sweep_status"]


def run_sweep(grid: Grid, out: str | Path, opts: SweepOptions | None = None,
              log: Callable[[str], None] | None = None) -> dict:
    """Run (or continue) sweep ``grid`` into results folder ``out``; returns a summary.

    Everything that can be checked is checked before any work and before
    anything is written (:class:`ConfigError`): the grid, the options, the
    output folder, the scheduler or batch system, the memory a work unit needs.
    Networks already complete in ``out`` are skipped; damaged or unverifiable
    ones are recomputed; results are written as units finish.

    Returns:
        ``{"out", "grid", "total", "done", "diverged", "failed", "ran",
        "trained", "analyzed", "recomputed" (id -> reason), "units",
        "seconds"}``; ``ran`` is 0 when there was nothing to do.
    """
    opts = (opts or SweepOptions()).validate()
    say = log or (lambda m: print(m, file=sys.stderr))
    out = Path(out)
    specs = grid.networks()
    if opts.batch is None:
        opts.batch = default_batch(opts, len(specs))
    folder = ResultsFolder(out)
    manifest = _check_folder(folder, grid, specs)
    units_all = plan_units(specs, opts.batch)
    check_training_memory(max(len(u) for u in units_all), specs[0].config.network.N, specs[0].config.training.dtype,
                          device=opts.runtime.device, where="a work unit")
    t_start = time.perf_counter()
    with folder.lock():
        rows, notes = folder.read_rows([s.network_id for s in specs])
        if "" in notes:
            say(notes[""])
        names = [n for n in analysis.ANALYSES if not opts.only_analyses or n in opts.only_analyses] \
            if opts.analyze != "none" else []
        pending, distrusted = plan_pending(specs, rows, folder, names, opts.analyze, opts.redo_analyses)
        ids = {s.network_id for s in specs}
        distrusted.update({nid: why for nid, why in notes.items() if nid in ids})
        summary = {"out": str(out), "grid": grid.name, "total": len(specs), "ran": 0, "trained": 0,
                   "analyzed": 0, "recomputed": dict(distrusted), "units": 0}
        for nid, why in distrusted.items():
            say(f"not trusted, recomputing {nid}: {why}")
        if not pending:
            summary.update(_counts(rows, specs), seconds=round(time.perf_counter() - t_start, 3))
            say(f"{out}: all {len(specs)} networks of {grid.name!r} are complete; nothing to do")
            return summary
        opts.preflight()
        manifest, run_entry = _start_run(folder, manifest, grid, specs, opts, len(pending))
        by_id = {p.spec.network_id: p for p in pending}
        units = [u for u in ([by_id[s.network_id] for s in u if s.network_id in by_id] for u in units_all) if u]
        summary["units"] = len(units)
        n_train = sum(p.stage == "train" for p in pending)
        say(f"{grid.describe()}: {len(specs) - len(pending)} complete, {n_train} to train, "
            f"{len(pending) - n_train} to analyse, in {len(units)} work units "
            f"(backend {opts.scheduler or opts.backend}, batch {opts.batch}) -> {out}")
        status = "interrupted"
        try:
            _run_units(units, rows, folder, specs, names, opts, summary, grid.name)
            status = "finished"
        finally:
            run_entry.update(finished=utc_now(), outcome=status, **_counts(rows, specs))
            folder.write_manifest(manifest)
    summary.update(_counts(rows, specs), seconds=round(time.perf_counter() - t_start, 3))
    return summary


def _check_folder(folder: ResultsFolder, grid: Grid, specs: Sequence[NetworkSpec]) -> dict | None:
    """The folder's manifest (None when new); ConfigError when it holds another grid or cannot be written."""
    manifest = folder.check_target()
    if manifest is not None and manifest.get("grid_hash") != grid_hash(specs):
        old = manifest.get("grid", {})
        raise ConfigError(
            f"--out {folder.path} holds results of a different grid: {old.get('name')!r} with fixed "
            f"{old.get('fixed')}, axes {old.get('axes')}, seeds {old.get('seeds')} "
            f"({len(manifest.get('network_ids', []))} networks); this one has fixed {dict(grid.fixed)}, "
            f"axes {dict((k, list(v)) for k, v in grid.axes.items())}, seeds {list(grid.seeds)}. "
            "Choose another folder (nothing was changed).")
    return manifest


def _start_run(folder: ResultsFolder, manifest: dict | None, grid: Grid, specs: Sequence[NetworkSpec],
               opts: SweepOptions, n_pending: int) -> tuple[dict, dict]:
    """Write the manifest with a new entry for this run (created on the first run); returns both."""
    if manifest is None:
        manifest = new_manifest(grid.to_dict(), grid_hash(specs), [s.network_id for s in specs])
    run_entry = add_run(manifest, opts.command, backend=opts.backend, scheduler=opts.scheduler,
                        workers=opts.workers, runtime=opts.runtime.to_dict(), batch=opts.batch,
                        analyze=opts.analyze, pending=n_pending)
    folder.write_manifest(manifest)
    return manifest, run_entry


def _run_units(units: list[list[Pending]], rows: dict, folder: ResultsFolder, specs: Sequence[NetworkSpec],
               names: Sequence[str], opts: SweepOptions, summary: dict, label: str) -> None:
    """Execute the units and write every unit's rows (and array files) as it completes."""
    from tqdm import tqdm

    order = {s.network_id: k for k, s in enumerate(specs)}
    payloads = [_payload(u, rows, folder, names, opts) for u in units]
    with tqdm(total=sum(map(len, units)), desc=f"sweep {label}", unit="net", disable=not opts.runtime.progress,
              file=sys.stderr, mininterval=0.5) as bar:
        for i, res in execute(payloads, opts):
            unit = units[i]
            got = {} if isinstance(res, BaseException) else {r["network_id"]: r for r in res}
            for p in unit:
                nid = p.spec.network_id
                r = got.get(nid)
                if r is None:
                    err = res if isinstance(res, BaseException) else RuntimeError("no result returned")
                    rows[nid] = failed_row(rows.get(nid), err, stage=p.stage, network_id=nid, seed=p.spec.seed,
                                           cfg=p.spec.config)
                    continue
                rows[nid] = merge_result(rows.get(nid), r, folder, network_id=nid, seed=p.spec.seed,
                                         cfg=p.spec.config, asked=p.analyses)
                summary["trained" if r.get("stage") == "trained" else "analyzed"] += 1
            folder.write_table(sorted(rows.values(), key=lambda r: order.get(r["network_id"], len(order))))
            summary["ran"] += len(unit)
            bar.update(len(unit))
            c = _counts(rows, specs)
            bar.set_postfix(done=c["done"], diverged=c["diverged"], failed=c["failed"])


def _payload(unit: list[Pending], rows: Mapping[str, dict], folder: ResultsFolder, names: Sequence[str],
             opts: SweepOptions) -> dict:
    nets = []
    for p in unit:
        item = {"network_id": p.spec.network_id, "config": p.spec.config.to_dict(),
                "config_json": dumps(network_identity(p.spec.config)), "arrays": None,
                "fixed_weights_hash": None, "success": None, "analyses": []}
        if p.stage == "analyze":
            row = rows[p.spec.network_id]
            item.update(arrays=folder.read_array_bytes(row), fixed_weights_hash=row.get("fixed_weights_hash"),
                        success=bool(row.get("success")), analyses=list(p.analyses))
        nets.append(item)
    in_process = opts.backend == "none" and opts.scheduler is None
    runtime = opts.runtime if in_process or opts.runtime.threads else opts.runtime.replace(threads=1)
    return {"networks": nets, "analyze": opts.analyze, "new_analyses": list(names), "runtime": runtime.to_dict()}


def _counts(rows: Mapping[str, dict], specs: Sequence[NetworkSpec]) -> dict:
    c = {"done": 0, "diverged": 0, "failed": 0}
    for s in specs:
        r = rows.get(s.network_id)
        if r is not None and r.get("status") in c:
            c[r["status"]] += 1
    c["remaining"] = len(specs) - sum(c.values())
    c["success"] = sum(1 for s in specs if (rows.get(s.network_id) or {}).get("success"))
    return c


def sweep_status(path: str | Path) -> dict:
    """Where results folder ``path`` stands (read-only; verifies every row and array file).

    Returns ``{"out", "grid", "total", "done", "diverged", "failed",
    "remaining" (not yet computed, or stored but damaged), "damaged",
    "success", "analyses_pending" (successful networks missing a registered
    analysis), "failed_reasons" (id -> reason)}``.
    """
    path = Path(path)
    m = read_manifest(path)
    ids = list(m["network_ids"])
    folder = ResultsFolder(path)
    rows, notes = folder.read_rows(ids, repair=False)
    st = {"out": str(path), "grid": m.get("grid", {}).get("name"), "total": len(ids), "done": 0,
          "diverged": 0, "failed": 0, "remaining": 0, "damaged": 0, "success": 0, "analyses_pending": 0,
          "failed_reasons": {}}
    for nid in ids:
        r = rows.get(nid)
        if r is None:
            st["remaining"] += 1
            continue
        if r.get("array_file") and folder.array_problem(r):
            st["damaged"] += 1
            st["remaining"] += 1
            continue
        s = r.get("status")
        if s in ("done", "diverged", "failed"):
            st[s] += 1
        if s == "failed":
            st["failed_reasons"][nid] = r.get("reason")
        if r.get("success"):
            st["success"] += 1
            done = set(json.loads(r.get("analyses_done") or "[]"))
            settings = json.loads(r.get("analysis_settings") or "{}")
            grid_analysis = {k: drop_run_settings(v) for k, v in m["grid"].get("analysis", {}).items()}
            cfg = Config.from_dict(json.loads(r["config_json"])).with_analysis(**grid_analysis)
            if any(n not in done or not stored_summary_current(settings.get(n), cfg, n) for n in analysis.ANALYSES):
                st["analyses_pending"] += 1
    st["damaged"] += sum(1 for nid in notes if nid in set(ids))
    st["notes"] = list(notes.values())
    st["complete"] = st["remaining"] == 0 and st["analyses_pending"] == 0 and st["failed"] == 0
    st["last_run"] = (m.get("runs") or [None])[-1]
    return st


