"""Where a sweep's work units run: in this process, a local Dask cluster, SLURM/PBS, or a running scheduler.

``local`` (default) starts a ``distributed.LocalCluster`` with one
single-threaded worker process per core, each pinned to its core;
``slurm`` / ``pbs`` submit worker jobs through dask-jobqueue; ``--scheduler``
joins a running Dask cluster; ``none`` runs everything in this process.
Workers receive only config dicts and, for the analysis stage, the small stored
readout arrays. :meth:`SweepOptions.validate` and :meth:`SweepOptions.preflight`
check everything that can be checked before any work (the scheduler reachable,
the batch system's command present).
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .. import analysis
from ..config import ConfigError, check_choice, check_number
from ..config.checks import RefusesRunSettings
from ..runtime import Runtime, as_runtime
from .pipeline import run_unit
from .plan import ANALYZE_CHOICES

__all__ = ["SweepOptions", "JobsGone", "BACKENDS", "JOB_DEFAULTS", "DEFAULT_BATCH", "make_jobqueue_cluster",
           "pin_workers", "execute", "default_batch"]

BACKENDS = ("local", "slurm", "pbs", "none")
#: Networks per work unit when --batch is not given (CPU: the six fb values of one g J train in lockstep).
DEFAULT_BATCH = MappingProxyType({"cpu": 6, "cuda": 16})
#: Per-job defaults of the SLURM / PBS backends (the one place they are written).
JOB_DEFAULTS = MappingProxyType({"cores": 4, "memory": "16GB", "walltime": "04:00:00", "jobs": 1})
#: The command each job-queue backend submits with.
_SUBMIT = {"slurm": "sbatch", "pbs": "qsub"}
#: Seconds every batch job's workers must stay gone before the units still waiting are given up (a nanny
#: restarting a worker leaves a gap of a second or so), and how often a job-queue sweep looks.
JOBS_GONE_GRACE_S = 20.0
JOBS_POLL_S = 2.0


@dataclass
class SweepOptions(RefusesRunSettings):
    """How to run a sweep (none of this changes the results).

    Attributes:
        runtime: the run settings (:class:`slowmem.runtime.Runtime`: device,
            training engine, threads, chunk sizes, simulation precision,
            progress bar); workers get them with each work unit, and every row
            written records them (``runtime_json``). Local Dask workers run one
            thread each unless ``runtime.threads`` says otherwise.
        backend: ``local``, ``slurm``, ``pbs`` or ``none``.
        scheduler: address of a running Dask scheduler (overrides backend).
        workers: local worker processes (default: one per core; 1 on CUDA).
        batch: networks per work unit (default 6 on CPU, 16 on CUDA; fewer when
            the grid is too small to keep every local worker busy).
        analyze: which networks get analyses: ``success`` (default), ``all``
            (also those that do not perform the task), ``none`` (train only;
            a later run adds them).
        redo_analyses: analyses to recompute even where stored.
        queue, cores, memory, walltime, jobs, account, job_extra: SLURM/PBS.
        command: the command line, recorded in the manifest.
        only_analyses: run only these registered analyses in this run (the
            others stay pending for a later run); empty: all.
    """

    backend: str = "local"
    scheduler: str | None = None
    workers: int | None = None
    batch: int | None = None
    analyze: str = "success"
    redo_analyses: tuple[str, ...] = ()
    queue: str | None = None
    cores: int = JOB_DEFAULTS["cores"]
    memory: str = JOB_DEFAULTS["memory"]
    walltime: str = JOB_DEFAULTS["walltime"]
    jobs: int = JOB_DEFAULTS["jobs"]
    account: str | None = None
    job_extra: tuple[str, ...] = ()
    command: str | None = None
    only_analyses: tuple[str, ...] = ()
    runtime: Runtime = field(default_factory=Runtime)

    def validate(self) -> SweepOptions:
        check_choice("backend", self.backend, BACKENDS)
        check_choice("analyze", self.analyze, ANALYZE_CHOICES)
        self.runtime = as_runtime(self.runtime)
        if self.scheduler is not None and self.backend not in ("local",):
            raise ConfigError(f"--scheduler joins a running Dask cluster; it cannot be combined with "
                              f"--backend {self.backend} (leave --backend out)")
        if self.runtime.is_cuda and self.scheduler is None and self.backend in ("local", "none"):
            self.runtime.torch_device()            # the device must exist where the work runs
        if self.workers is not None:
            self.workers = check_number("workers", self.workers, lo=1, hi=4096, integer=True)
        if self.batch is not None:
            self.batch = check_number("batch", self.batch, lo=1, hi=100000, integer=True)
        if self.backend in ("slurm", "pbs"):
            self.cores = check_number("cores", self.cores, lo=1, hi=4096, integer=True)
            self.jobs = check_number("jobs", self.jobs, lo=1, hi=100000, integer=True)
            if not isinstance(self.memory, str) or not re.fullmatch(r"\s*\d+(\.\d+)?\s*[kKmMgGtT]i?[bB]?\s*",
                                                                    self.memory):
                raise ConfigError(f"memory must be a size per job such as '16GB' or '500MB'; got {self.memory!r}")
            if not isinstance(self.walltime, str) or not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}(:\d{2})?",
                                                                      self.walltime):
                raise ConfigError(f"walltime must be HH:MM:SS (or D-HH:MM:SS); got {self.walltime!r}")
        if self.backend != "none" or self.scheduler is not None:
            need = ["distributed"] + (["dask_jobqueue"] if self.backend in ("slurm", "pbs") else [])
            missing = [m for m in need if importlib.util.find_spec(m) is None]
            if missing:
                raise ConfigError(f"backend {self.backend} needs {', '.join(missing)} (pip install "
                                  "'slowmem[dist]'); or run in this process with --backend none")
        self.redo_analyses = tuple(self.redo_analyses or ())
        self.only_analyses = tuple(self.only_analyses or ())
        bad = [n for n in self.only_analyses if n not in analysis.ANALYSES]
        if bad:
            raise ConfigError(f"only-analyses: unknown analysis {bad}; allowed: {', '.join(analysis.ANALYSES)}")
        if self.redo_analyses:
            names = list(analysis.ANALYSES) if self.redo_analyses == ("all",) else list(self.redo_analyses)
            bad = [n for n in names if n not in analysis.ANALYSES]
            if bad:
                raise ConfigError(f"redo-analyses: unknown analysis {bad}; allowed: "
                                  f"{', '.join(analysis.ANALYSES) or '(none registered)'}, or 'all'")
            self.redo_analyses = tuple(names)
        return self

    def preflight(self, timeout: float = 5.0) -> None:
        """Checks that need the outside world, run before anything is written: ConfigError saying what is wrong.

        ``--scheduler``: the address parses and accepts a TCP connection within
        ``timeout`` seconds. ``slurm`` / ``pbs``: the batch system's submit
        command (``sbatch`` / ``qsub``) is on the PATH.
        """
        if self.scheduler is not None:
            m = re.fullmatch(r"(?:tcp://)?\[?([^\]/]+?)\]?:(\d{1,5})/?", str(self.scheduler).strip())
            if not m:
                raise ConfigError(f"--scheduler must be an address such as tcp://host:8786; got {self.scheduler!r}")
            try:
                socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout).close()
            except OSError as e:
                raise ConfigError(f"--scheduler {self.scheduler}: no Dask scheduler answers there "
                                  f"({e.strerror or e}); start one (dask scheduler) or leave --scheduler out") from None
        if self.backend in _SUBMIT and shutil.which(_SUBMIT[self.backend]) is None:
            raise ConfigError(f"--backend {self.backend} submits jobs with `{_SUBMIT[self.backend]}`, which is not on "
                              "this machine's PATH; run where the batch system is installed, or use --backend local")


def make_jobqueue_cluster(backend: str, *, queue: str | None = None, cores: int = JOB_DEFAULTS["cores"],
                          memory: str = JOB_DEFAULTS["memory"], walltime: str = JOB_DEFAULTS["walltime"],
                          account: str | None = None, job_extra: Sequence[str] = ()):
    """A dask-jobqueue cluster (SLURM or PBS) of single-threaded workers, one per core; no job submitted yet.

    Each job runs ``cores`` worker processes with one thread each and
    OMP/MKL threads set to 1; call ``cluster.scale(jobs=K)`` to submit jobs.
    """
    from dask_jobqueue import PBSCluster, SLURMCluster

    cls = {"slurm": SLURMCluster, "pbs": PBSCluster}.get(backend)
    if cls is None:
        raise ConfigError(f"backend must be 'slurm' or 'pbs' for a job-queue cluster; got {backend!r}")
    return cls(queue=queue, account=account, cores=int(cores), processes=int(cores), memory=memory,
               walltime=walltime, job_name="slowmem-sweep", job_extra_directives=list(job_extra),
               job_script_prologue=["export OMP_NUM_THREADS=1", "export MKL_NUM_THREADS=1",
                                    "export OPENBLAS_NUM_THREADS=1"])


def _cores() -> int:
    """Cores this process may use (respects CPU affinity, e.g. inside a batch job)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def _local_workers(opts: SweepOptions) -> int | None:
    """Workers of the cluster this sweep starts itself (None when unknown: job queues, --scheduler)."""
    if opts.scheduler is not None or opts.backend in ("slurm", "pbs"):
        return None
    if opts.backend == "none":
        return 1
    return opts.workers or (1 if opts.runtime.is_cuda else _cores())


def default_batch(opts: SweepOptions, n_networks: int) -> int:
    """``DEFAULT_BATCH`` (6 on CPU, 16 on CUDA), smaller when a small grid would leave local workers idle.

    Depends only on the grid size and the worker count, not on what is already
    done, so a resumed sweep with the same settings forms the same work units.
    """
    b = DEFAULT_BATCH["cuda" if opts.runtime.is_cuda else "cpu"]
    w = _local_workers(opts)
    if w:
        b = min(b, max(1, -(-n_networks // w)))
    return b


def execute(payloads: list[dict], opts: SweepOptions) -> Iterator[tuple[int, Any]]:
    """Run work units; yield ``(index, results or the exception)`` as each completes."""
    if opts.backend == "none" and opts.scheduler is None:
        for i, p in enumerate(payloads):
            try:
                res = run_unit(p)
            except Exception as e:                        # noqa: BLE001 - stored as the reason
                res = e
            yield i, res
        return
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if opts.scheduler is not None:
        client = Client(opts.scheduler)
    elif opts.backend == "local":
        n = _local_workers(opts)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        if not opts.runtime.is_cuda:
            pin_workers(client)
    else:
        cluster = make_jobqueue_cluster(opts.backend, queue=opts.queue, cores=opts.cores, memory=opts.memory,
                                        walltime=opts.walltime, account=opts.account, job_extra=opts.job_extra)
        cluster.scale(jobs=opts.jobs)
        client = Client(cluster)
    try:
        token = uuid.uuid4().hex[:8]
        futures = {client.submit(run_unit, p, key=f"slowmem-unit-{token}-{i}", pure=False): i
                   for i, p in enumerate(payloads)}
        if cluster is None or opts.backend == "local":
            finished = ((fut, None) for fut in as_completed(futures))
        else:                                             # job-queue workers can all go away: do not wait for ever
            finished = _until_jobs_gone(client, futures, _JobWatch(client, cluster))
        for fut, gone in finished:
            i = futures[fut]
            try:
                res = gone if gone is not None else fut.result()
            except Exception as e:                        # noqa: BLE001 - stored as the reason
                res = e
            fut.release()
            yield i, res
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class JobsGone(RuntimeError):
    """Every batch job of the sweep ended (cancelled, past its walltime, killed) with work units still waiting."""


class _JobWatch:
    """Says when every job a job-queue cluster submitted has had its workers connect and then lose them all.

    Nothing resubmits a job that ended, so the units still waiting would wait for ever. A job counts as gone
    only after its workers were seen (a job still pending in the queue is waited for) and once all jobs have
    been gone for ``grace`` seconds.
    """

    def __init__(self, client, cluster, grace: float | None = None, clock=time.monotonic):
        self.client, self.clock = client, clock
        self.grace = JOBS_GONE_GRACE_S if grace is None else grace
        self.jobs = {str(name) for name in cluster.worker_spec}    # one spec per job: name or name-<k> workers
        self.seen: set[str] = set()
        self.gone_since: float | None = None

    def _job(self, worker_name) -> str | None:
        name = str(worker_name)
        return next((j for j in self.jobs if name == j or name.startswith(j + "-")), None)

    def all_gone(self) -> bool:
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        alive = {self._job(w.get("name")) for w in workers} - {None}
        self.seen |= alive
        if alive or not self.jobs or self.seen != self.jobs:
            self.gone_since = None
            return False
        if self.gone_since is None:
            self.gone_since = self.clock()
        return self.clock() - self.gone_since >= self.grace


def _until_jobs_gone(client, futures, watch: _JobWatch, poll: float | None = None) -> Iterator[tuple[Any, Any]]:
    """``(future, None)`` as each completes; once ``watch`` says every job is gone, ``(future, JobsGone)`` for each
    of the rest."""
    from distributed import wait

    pending = set(futures)
    while pending:
        try:
            finished = wait(pending, timeout=JOBS_POLL_S if poll is None else poll, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            finished = set()
        gone = watch.all_gone()                          # every round, so that no job's workers go unseen
        for fut in finished:
            pending.discard(fut)
            yield fut, None
        if pending and not finished and gone:
            client.cancel(list(pending))
            err = JobsGone("every batch job of this sweep ended (cancelled, past its walltime or killed) before "
                           "this unit ran to the end; run the same command again to continue")
            for fut in list(pending):
                yield fut, err
            return


def _pin_to(core: int) -> list[int]:
    os.sched_setaffinity(0, {core})
    return sorted(os.sched_getaffinity(0))


def pin_workers(client) -> dict[str, int]:
    """Pin each worker process of a local cluster to a core of its own (Linux; elsewhere a no-op).

    One single-threaded worker per core, each kept on its core, keeps a
    network's matrices in that core's cache. Returns ``worker address -> core``;
    empty when pinning is not possible (no ``sched_setaffinity``, or more
    workers than cores).
    """
    if not hasattr(os, "sched_setaffinity"):
        return {}
    workers = sorted(client.scheduler_info()["workers"])
    cores = sorted(os.sched_getaffinity(0))
    if len(workers) > len(cores):
        return {}
    for addr, core in zip(workers, cores):
        client.run(_pin_to, core, workers=[addr])
    return dict(zip(workers, cores))


