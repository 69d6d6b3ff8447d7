"""The ``slowmem`` command line: thin parsers over the functions the book uses.

    slowmem train --preset book --seeds 0-7 --out runs/book8     # a results folder, like a sweep's
    slowmem train --preset ci --N 150 --g 1.4 --json             # print the records instead
    slowmem analyze runs/book8 --json
    slowmem sweep run --grid book --out runs/book
    slowmem sweep status runs/book
    slowmem report book/data/population --json

Every flag is validated against :mod:`slowmem.config` before any work starts.
"""
from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path

from . import __version__
from .analysis import ANALYSES, analysis_settings, get_analysis
from .book.chapters import chapter_names, find_chapter, format_parameters, read_parameters, run_chapter
from .book.coursework import add_grade_parser
from .config import (
    DTYPES,
    FIELD_SECTION,
    PARAMS,
    PRESETS,
    Config,
    ConfigError,
    drop_run_settings,
    network_id,
    parse_seeds,
)
from .errors import SlowmemError
from .evaluation import evaluate, network_record
from .report import VERDICT_RULE, evaluate_claims, load_population, mechanism_table
from .report.present import precision_sentence
from .runtime import ENGINES, Runtime, as_runtime
from .store import check_output_folder, load_networks, load_results, read_manifest
from .sweep import Grid, resolve_grid, run_sweep, sweep_status
from .sweep.execute import BACKENDS, JOB_DEFAULTS, SweepOptions
from .sweep.plan import ANALYZE_CHOICES
from .task import SPMTask
from .training import check_training_memory, resolve_engine, train_from_config

__all__ = ["main", "build_parser", "train_command", "analyze_folder", "config_flag_help"]

#: Run-setting flags (slowmem.runtime.Runtime): flag -> (attribute, help). None of them changes a result.
_RUNTIME_FLAGS = {
    "--device": ("device", "cpu (default), cuda or cuda:K"),
    "--engine": ("engine", f"training engine: {', '.join(ENGINES)} (auto, the default: numba on the CPU, torch on "
                           "CUDA); the engines agree to rounding"),
    "--threads": ("threads", "threads of this process for torch and the numba engine (default: torch's)"),
    "--max-chunk-elements": ("max_chunk_elements", "most numbers per chunk of a batched simulation (default 2**24)"),
    "--chunk-trials": ("chunk_trials", "trial lengths per call of the attractor probe (default 1)"),
    "--simulation-dtype": ("simulation_dtype", f"precision of the analyses' long simulations: {', '.join(DTYPES)} "
                                               "(default float32; agrees with float64 within tested bounds)"),
}


def _add_runtime_flags(p: argparse.ArgumentParser, flags: tuple[str, ...]) -> None:
    """The run-setting flags ``flags`` (keys of _RUNTIME_FLAGS) as one argument group of ``p``."""
    g = p.add_argument_group("run settings (never change a result or trigger a recompute)")
    for flag in flags:
        dest, text = _RUNTIME_FLAGS[flag]
        g.add_argument(flag, dest=dest, help=text)


def _runtime_from_args(a: argparse.Namespace) -> Runtime:
    """The :class:`Runtime` the parsed flags describe (flags not given keep their defaults)."""
    given = {dest: getattr(a, dest, None) for dest, _ in _RUNTIME_FLAGS.values()}
    return Runtime(progress=not getattr(a, "no_progress", False)).replace(**given)


#: The config fields ``slowmem train`` sets by flag, by argument group. Their help and range are the fields'
#: declarations (slowmem.config.PARAMS), never typed here.
_TRAIN_FIELDS = {"network (defaults from the preset)": ("N", "g", "pg", "fb", "in_scale", "init"),
                 "training": ("rule", "trials", "test_trials", "dtype")}


def config_flag_help(name: str) -> str:
    """The help of config field ``name``'s flag: its declared help, what is allowed, its default."""
    p = PARAMS[name]
    if any(name in preset for preset in PRESETS.values()):
        default = "the preset's"
    else:
        default = getattr(getattr(Config(), FIELD_SECTION[name]), name)
    return f"{p.help}; {p.describe()} (default {default})"


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="book", help=f"scale preset: {', '.join(PRESETS)} (default book)")
    groups = {title: p.add_argument_group(title) for title in _TRAIN_FIELDS}
    for title, names in _TRAIN_FIELDS.items():
        for name in names:
            groups[title].add_argument("--" + name.replace("_", "-"), dest=name, help=config_flag_help(name))
    s = groups["training"].add_mutually_exclusive_group()
    s.add_argument("--seed", help="one seed (default 0)")
    s.add_argument("--seeds", help="several seeds trained as one batch: '0-7' or '0,3,5'")
    _add_runtime_flags(p, ("--device", "--engine", "--threads"))
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, help="write a results folder here (new, empty, or holding this same run; "
                                            "the same format as `slowmem sweep run --out`)")
    o.add_argument("--json", action="store_true", help="print the run record as JSON on stdout")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")


def _config_from_args(a: argparse.Namespace) -> tuple[Config, list[int], Runtime]:
    flat = {k: getattr(a, k) for names in _TRAIN_FIELDS.values() for k in names}
    seeds = parse_seeds(a.seeds) if a.seeds is not None else parse_seeds(a.seed if a.seed is not None else "0")
    cfg = Config.from_preset(a.preset, **flat, seed=seeds[0])
    runtime = _runtime_from_args(a)

    resolve_engine(runtime.engine, runtime.torch_device())
    check_training_memory(len(seeds), cfg.network.N, cfg.training.dtype, device=runtime.device)
    return cfg, seeds, runtime


_ARGV: list[str] | None = None     # the arguments main() was called with (recorded in results folders)


def _command() -> str | None:
    return None if _ARGV is None else "slowmem " + shlex.join(_ARGV)


def train_command(cfg: Config, seeds: list[int], out: Path | None = None, *,
                  runtime: Runtime | None = None) -> dict:
    """Train ``seeds`` as one batch and evaluate them; with ``out``, into a results folder. Returns the record.

    ``runtime``: the run settings (:class:`slowmem.runtime.Runtime`; None: the defaults).

    The record: ``config``, ``seeds``, ``networks`` (one dict per network:
    ``network_id``, ``seed`` and :func:`slowmem.evaluation.network_record`),
    ``n_success``, ``timing``, ``machine`` and, with ``out``, ``out``.
    """
    import torch

    runtime = as_runtime(runtime)
    runtime.apply_threads()
    if out is not None:

        summary = run_sweep(Grid.from_config(cfg, seeds), out,
                            SweepOptions(backend="none", batch=len(seeds), analyze="none", runtime=runtime,
                                         command=_command()))
        table = load_results(out, flatten=False)
        fields = ["network_id", "seed", "success", "diverged", "test_accuracy", "replay_accuracy",
                  *[c for c in table.columns if c.startswith("error_rate_")],
                  "train_response_rmse_last100", "train_memory_rmse_last100"]
        nets = [{k: (None if v != v else v) for k, v in r.items()} for r in table[fields].to_dict("records")]
        timing = {"train_seconds": float(table["train_seconds"].max()),
                  "evaluate_seconds": float(table["evaluate_seconds"].max()), "this_run_seconds": summary["seconds"]}
        engine_used = runtime.engine
    else:

        t0 = time.perf_counter()
        task, res = train_from_config(cfg, seeds, progress=runtime.progress, runtime=runtime)
        t1 = time.perf_counter()
        ev = evaluate(res.networks, task, res.final_state, test_trials=cfg.training.test_trials,
                      diverged=res.diverged)
        nets = [{"network_id": network_id(cfg.replace(seed=s)), "seed": s, **network_record(b, res, ev)}
                for b, s in enumerate(seeds)]
        timing = {"train_seconds": round(t1 - t0, 3), "evaluate_seconds": round(time.perf_counter() - t1, 3)}
        engine_used = res.engine
    record = {"slowmem_version": __version__, "command": _command(), "config": cfg.to_dict(), "seeds": seeds,
              "networks": nets, "n_success": int(sum(bool(n["success"]) for n in nets)), "timing": timing,
              "machine": {"platform": platform.platform(), "torch": torch.__version__,
                          "threads": torch.get_num_threads(), "device": runtime.device, "engine": engine_used,
                          "runtime": runtime.to_dict()}}
    if out is not None:
        record["out"] = str(out)
    return record


def _cmd_train(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        cfg, seeds, runtime = _config_from_args(a)
        if a.out is not None:
            check_output_folder(a.out)
        record = train_command(cfg, seeds, a.out, runtime=runtime)
    except SlowmemError as e:
        parser.error(str(e))
    if a.json:
        print(json.dumps(record, indent=2))
    else:
        for n in record["networks"]:
            print(f"seed {n['seed']}: test accuracy {n['test_accuracy']:.2f}, replay accuracy "
                  f"{n['replay_accuracy']:.2f}, success {n['success']}")
        print(f"{record['n_success']}/{len(record['networks'])} networks perform the task; "
              f"training took {record['timing']['train_seconds']:.1f} s" + (f"; stored in {a.out}" if a.out else ""))
    return 0


def analyze_folder(path: Path, names: list[str], *, runtime: Runtime | None = None) -> list[dict]:
    """Run analyses ``names`` on every trained (not diverged) network of results folder ``path``.

    Networks are analysed in batches of equal N, each with the analysis
    settings its folder records, under the run settings ``runtime``
    (:class:`slowmem.runtime.Runtime`; None: the defaults, progress bars off).
    Returns one dict per network: ``network_id``, ``seed`` and one summary per analysis name.
    """

    runtime = Runtime(progress=False) if runtime is None else as_runtime(runtime)
    device = runtime.torch_device()
    runtime.apply_threads()
    fns = {n: get_analysis(n) for n in names}
    grid_analysis = {k: drop_run_settings(v) for k, v in read_manifest(path)["grid"].get("analysis", {}).items()}
    table = load_results(path, flatten=False)
    table = table[~table["diverged"].astype(bool) & table["array_file"].notna()]
    out = []
    for _, group in table.groupby("N", sort=False):
        ids = list(group["network_id"])
        nets, ends, cfgs = load_networks(path, ids, device=device)
        cfg = cfgs[0].with_analysis(**grid_analysis)
        task = SPMTask(cfg.task)
        rows = [{"network_id": i, "seed": c.training.seed} for i, c in zip(ids, cfgs)]
        for name, fn in fns.items():
            for row, res in zip(rows, fn(nets, task, ends, cfg=analysis_settings(cfg, name),
                                         progress=runtime.progress, runtime=runtime)):
                row[name] = res
        out += rows
    return out


def _cmd_analyze(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        names = list(ANALYSES) if a.only is None else [n.strip() for n in a.only.split(",") if n.strip()]
        for n in names:
            get_analysis(n)
        per_net = analyze_folder(a.run_dir, names, runtime=_runtime_from_args(a))
    except SlowmemError as e:
        parser.error(str(e))
    out = {"run": str(a.run_dir), "analyses": names, "networks": per_net}
    if a.json:
        print(json.dumps(out, indent=2, default=float))
    else:
        for row in per_net:
            print(json.dumps(row, default=float))
    return 0


_GRID_HELP = """\
grids:
  paper   the paper's sweep (its Methods): g {0.8,0.9,1.1,1.2,1.3,1.4,1.5} x pg {0.4,0.6,0.7,0.9}
          x fb {40,30,20,10,5,1} x seeds {0,1,2,3}, in_scale 50, N 1000, 3500 trials
          (672 networks)
  book    the same g x pg x fb at the book preset's N and trials, seed 0 (168 networks)
  ci      4 networks at the ci preset (g {1.2,1.4} x seeds {0,2})
  FILE    a .yaml/.yml/.json grid file, e.g.
              preset: ci        # scale preset (default book)
              seeds: 0-3        # default 0
              N: 60             # one value: fixed for every network
              trials: 200
              g: [1.2, 1.5]     # a list: an axis; networks are the product of all axes
              pg: [0.4, 0.9]
              memory: {n_repeats: 4}   # analysis settings: a mapping, same for every network
          keys are config field names (see `slowmem train --help`) plus preset,
          seeds, name, memory and dynamics; encoding/digits axes are lists of lists.

The results folder holds manifest.json, results.parquet (one row per network)
and arrays/<network>.safetensors. Running the same command again skips what is
complete, recomputes anything damaged, and adds analyses registered (or asked
for with other settings) since. Read it in Python with slowmem.store.load_results(DIR).
"""


def _add_sweep_parser(sub) -> argparse.ArgumentParser:
    """``slowmem sweep run|status``."""
    sw = sub.add_parser("sweep", help="hyperparameter sweeps over many networks (Dask); results folder status",
                        description="Train, evaluate and analyse a grid of networks; resumable.")
    ssub = sw.add_subparsers(dest="sweep_command", required=True)
    r = ssub.add_parser("run", help="run or continue a sweep into a results folder",
                        description="Run (or continue) a sweep into a results folder.",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_GRID_HELP)
    r.add_argument("--grid", required=True, help="paper, book, ci, or a grid file (.yaml/.yml/.json)")
    r.add_argument("--out", required=True, type=Path, help="results folder (new, or one holding this same grid)")
    r.add_argument("--rule", help=config_flag_help("rule") + ", for every network")
    r.add_argument("--seeds", help="replace the grid's seeds: '0-3' or '0,2,5'")
    r.add_argument("--set", action="append", metavar="KEY=V1[,V2...]",
                   help="replace a grid setting: one value is fixed, several are an axis (repeatable)")
    ex = r.add_argument_group("execution (does not change the results)")
    ex.add_argument("--backend", default="local", choices=BACKENDS,
                    help="local: Dask LocalCluster, one single-threaded worker per core (default); slurm/pbs: "
                         "worker jobs through dask-jobqueue; none: in this process")
    ex.add_argument("--scheduler", metavar="ADDRESS", help="join a running Dask scheduler (tcp://host:8786)")
    ex.add_argument("--workers", help="local worker processes (default: one per core; 1 with --device cuda)")
    ex.add_argument("--batch", help="networks trained together per work unit (default 6 on CPU, 16 on CUDA, "
                                    "fewer if the grid is too small to keep every worker busy)")
    ex.add_argument("--analyze", default="success", choices=ANALYZE_CHOICES,
                    help="run the analyses on networks that perform the task (default), on all that did "
                         "not diverge, or on none (a later run adds them without retraining)")
    ex.add_argument("--only-analyses", metavar="NAMES",
                    help="comma list: run only these analyses now (the others stay pending for a later run)")
    ex.add_argument("--redo-analyses", metavar="NAMES",
                    help="comma list of analyses to recompute where already stored, or 'all'")
    ex.add_argument("--no-progress", action="store_true", help="no progress bar")
    ex.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    jq = r.add_argument_group("SLURM / PBS (--backend slurm|pbs)")
    jq.add_argument("--queue", help="partition / queue")
    jq.add_argument("--account", help="account / project to charge")
    jd = JOB_DEFAULTS
    jq.add_argument("--cores", default=str(jd["cores"]),
                    help=f"cores per job = worker processes per job (default {jd['cores']})")
    jq.add_argument("--memory", default=jd["memory"], help=f"memory per job (default {jd['memory']})")
    jq.add_argument("--walltime", default=jd["walltime"], help=f"per job, HH:MM:SS (default {jd['walltime']})")
    jq.add_argument("--jobs", default=str(jd["jobs"]), help=f"number of jobs to submit (default {jd['jobs']})")
    jq.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                    help="extra scheduler directive, e.g. '--gres=gpu:1' (repeatable)")
    _add_runtime_flags(r, tuple(_RUNTIME_FLAGS))
    r.set_defaults(func=_cmd_run, parser=r)

    s = ssub.add_parser("status", help="done, failed and remaining networks of a results folder",
                        description="Count done, diverged, failed and remaining networks (verifies array files).")
    s.add_argument("dir", type=Path, help="a folder written by `slowmem sweep run --out`")
    s.add_argument("--json", action="store_true", help="print the status as JSON")
    s.set_defaults(func=_cmd_status, parser=s)
    return sw


def _command_line(a: argparse.Namespace) -> str:
    """The ``slowmem sweep run`` command that ``a`` describes (recorded in the manifest)."""
    parts = ["slowmem", "sweep", "run", "--grid", a.grid, "--out", str(a.out)]
    for flag, v in (("--rule", a.rule), ("--seeds", a.seeds), ("--scheduler", a.scheduler),
                    ("--workers", a.workers), ("--batch", a.batch), ("--redo-analyses", a.redo_analyses),
                    ("--only-analyses", a.only_analyses),
                    ("--queue", a.queue), ("--account", a.account)):
        if v is not None:
            parts += [flag, str(v)]
    for v in a.set or ():
        parts += ["--set", v]
    for flag, v, default in (("--backend", a.backend, "local"), ("--analyze", a.analyze, "success")):
        if v != default:
            parts += [flag, v]
    for flag, (dest, _) in _RUNTIME_FLAGS.items():
        if getattr(a, dest, None) is not None:
            parts += [flag, str(getattr(a, dest))]
    if a.backend in ("slurm", "pbs"):
        parts += ["--cores", str(a.cores), "--memory", a.memory, "--walltime", a.walltime, "--jobs", str(a.jobs)]
        for v in a.job_extra:
            parts += ["--job-extra", v]
    return shlex.join(parts)


def _cmd_run(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    redo = tuple(n.strip() for n in (a.redo_analyses or "").split(",") if n.strip())
    only = tuple(n.strip() for n in (a.only_analyses or "").split(",") if n.strip())
    try:
        opts = SweepOptions(backend=a.backend, scheduler=a.scheduler, workers=a.workers, batch=a.batch,
                            analyze=a.analyze, redo_analyses=redo, queue=a.queue, cores=a.cores,
                            memory=a.memory, walltime=a.walltime, jobs=a.jobs, account=a.account,
                            job_extra=tuple(a.job_extra), command=_command_line(a), only_analyses=only,
                            runtime=_runtime_from_args(a))

        grid = resolve_grid(a.grid, sets=a.set, seeds=a.seeds, rule=a.rule)
        opts.validate()
        summary = run_sweep(grid, a.out, opts)
    except SlowmemError as e:
        parser.error(str(e))
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished networks are stored in {a.out}; run the same command to continue",
              file=sys.stderr)
        return 130
    if a.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['out']}: {summary['done']} done ({summary['success']} perform the task), "
              f"{summary['diverged']} diverged, {summary['failed']} failed, {summary['remaining']} remaining "
              f"of {summary['total']}; this run: {summary['trained']} trained, {summary['analyzed']} analysed"
              f" in {summary['seconds']:.1f} s")
    return 0


def _cmd_status(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        st = sweep_status(a.dir)
    except SlowmemError as e:
        parser.error(str(e))
    if a.json:
        print(json.dumps(st, indent=2))
        return 0
    print(f"{st['out']} (grid {st['grid']!r}, {st['total']} networks)")
    print(f"  done       {st['done']}  ({st['success']} perform the task)")
    print(f"  diverged   {st['diverged']}")
    print(f"  failed     {st['failed']}")
    print(f"  remaining  {st['remaining']}" + (f"  ({st['damaged']} damaged, will be recomputed)"
                                              if st["damaged"] else ""))
    print(f"  complete   {'yes' if st['complete'] else 'no'}")
    if st["analyses_pending"]:
        print(f"  {st['analyses_pending']} successful networks miss a registered analysis (re-run to add)")
    for nid, why in list(st["failed_reasons"].items())[:10]:
        print(f"  failed {nid}: {why}")
    return 0


def report_document(path: Path) -> dict:
    """The verdicts on the population in results folder ``path`` as plain data (what ``slowmem report`` prints)."""

    pop = load_population(path)
    return {"population": str(path), "networks": len(pop.table), "analysed": int(pop.successful.shape[0]),
            "notes": list(pop.notes),
            "mechanisms": mechanism_table(pop.table).reset_index(names="mechanism").to_dict("records"),
            "rule": VERDICT_RULE, "claims": [r.to_dict() for r in evaluate_claims(pop.table)]}


def _cmd_report(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        doc = report_document(a.population)
    except SlowmemError as e:
        parser.error(str(e))
    if a.json:
        print(json.dumps(doc, indent=2, allow_nan=False))
        return 0
    print(f"{doc['population']}: {doc['networks']} networks, {doc['analysed']} analysed\n{doc['rule']}")
    for note in doc["notes"]:
        print(f"note: {note}")
    for c in doc["claims"]:
        ci = "" if c["ci_low"] is None else f" [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
        eff = "n/a" if c["effect"] is None else f"{c['effect']:+.3f}{ci}"
        n = ", ".join(f"{k} {v}" for k, v in c["n"].items())
        left = "".join(f"; left out, {g}: {why}" for g, why in (c.get("left_out") or {}).items())
        print(f"{c['claim']} {c['verdict']:>12}: {c['measure']} = {eff} (n: {n}); {c['reason']}{left}"
              + ("; the verdict depends on the reading" if c["depends_on_reading"] else ""))
        if c.get("precision"):
            print(f"   precision: {precision_sentence(c['precision'])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slowmem", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"slowmem {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a batch of networks with (modified) FORCE",
                        description="Train networks and evaluate them; flags default to the preset.")
    _add_train_flags(tr)
    tr.set_defaults(func=_cmd_train, parser=tr)
    an = sub.add_parser("analyze", help="run the analyses on a results folder (slowmem train/sweep --out)",
                        description="Analyse every trained network of a results folder; one JSON record per network.")
    an.add_argument("run_dir", type=Path, help="a folder written by `slowmem train --out` or `slowmem sweep run --out`")
    an.add_argument("--only", help="comma-separated subset of analyses (default: all)")
    an.add_argument("--json", action="store_true", help="print one JSON document")
    an.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_runtime_flags(an, ("--device", "--threads", "--max-chunk-elements", "--chunk-trials", "--simulation-dtype"))
    an.set_defaults(func=_cmd_analyze, parser=an)
    rp = sub.add_parser("report", help="the paper's claims judged on a population (a results folder)",
                        description="Each claim C1-C6: effect, 95 % interval, n per group, verdict by the stated "
                                    "rule, and the verdict under every reading of an ambiguous choice.")
    rp.add_argument("population", type=Path, help="a results folder (slowmem sweep run --out)")
    rp.add_argument("--json", action="store_true", help="print one JSON document")
    rp.set_defaults(func=_cmd_report, parser=rp)
    _add_sweep_parser(sub)
    _add_chapter_parser(sub)
    add_grade_parser(sub)           # slowmem grade NOTEBOOK: the coursework's autograder
    return p


def _add_chapter_parser(sub) -> argparse.ArgumentParser:
    """``slowmem chapter NAME -p KEY VALUE ...`` (the logic: :mod:`slowmem.book.chapters`)."""
    p = sub.add_parser("chapter", add_help=False, help="run a chapter notebook with checked parameters",
                       description="Run book/NAME.ipynb through papermill. Parameters are checked against the "
                                   "chapter's parameters cell before anything runs. `slowmem chapter NAME --help` "
                                   "lists the chapter's parameters.",
                       usage="slowmem chapter NAME [-p KEY VALUE]... [--out OUT.ipynb] [--list-parameters]")
    p.add_argument("name", nargs="?", metavar="NAME", help="chapter: a notebook stem such as 01_task (or task)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   dest="parameters", help="set a parameter (repeatable)")
    p.add_argument("--out", type=Path, help="executed notebook to write (default NAME.out.ipynb here)")
    p.add_argument("--book", type=Path, help="the book folder (default: the checkout's book/)")
    p.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's)")
    p.add_argument("--list-parameters", action="store_true", help="list the chapter's parameters and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-h", "--help", action="store_true", help="show this help (with NAME: its parameters) and exit")
    p.set_defaults(func=_cmd_chapter, parser=p)
    return p


def _cmd_chapter(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        if a.help or a.list_parameters:
            if a.help:
                parser.print_help()
                print(f"\nchapters: {', '.join(chapter_names(a.book))}")
            if a.name is not None:
                params = read_parameters(find_chapter(a.name, a.book))
                print(("\n" if a.help else "") + format_parameters(params))
                return 1 if params.problems else 0
            return 0
        if a.name is None:
            raise ConfigError(f"give a chapter NAME; chapters: {', '.join(chapter_names(a.book))}")
        overrides: dict[str, str] = {}
        for key, value in a.parameters:
            if key in overrides:
                raise ConfigError(f"parameter {key!r} is given twice")
            overrides[key] = value
        out = run_chapter(a.name, overrides, a.out, book_dir=a.book, from_cli=True, kernel_name=a.kernel,
                          progress=not a.no_progress)
    except SlowmemError as e:
        parser.error(str(e))
    print(f"wrote {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    a = parser.parse_args(argv)
    return a.func(a, a.parser)


if __name__ == "__main__":
    sys.exit(main())
