"""Job-queue sweeps whose batch jobs all end (scancel, walltime) give up the waiting units instead of hanging."""
import time

import pytest

import slowmem.sweep.execute as ex
from slowmem.sweep import SweepOptions
from slowmem.sweep.execute import JobsGone, _JobWatch


class FakeClient:
    def __init__(self):
        self.names: list = []

    def scheduler_info(self, n_workers=5):
        assert n_workers == -1                       # every worker, not the first five
        return {"workers": {f"tcp://h:{k}": {"name": n} for k, n in enumerate(self.names)}}


class FakeCluster:
    worker_spec = {"SLURMCluster-0": {}, "SLURMCluster-1": {}}


def test_job_watch_waits_for_pending_jobs_and_restarts_then_sees_them_gone():
    client, now = FakeClient(), [0.0]
    watch = _JobWatch(client, FakeCluster(), grace=10, clock=lambda: now[0])
    assert not watch.all_gone()                                          # both jobs still pending in the queue
    client.names = ["SLURMCluster-0-0", "SLURMCluster-0-1"]                # job 0 runs two workers
    assert not watch.all_gone()
    client.names = []
    now[0] = 100.0
    assert not watch.all_gone()                                          # job 1 never started: it may yet
    client.names = ["SLURMCluster-1-0", "SLURMCluster-10-0", "other"]    # other names belong to no job
    assert not watch.all_gone() and watch.seen == {"SLURMCluster-0", "SLURMCluster-1"}
    client.names = []
    assert not watch.all_gone()                                          # gone, but not for `grace` yet
    now[0] = 105.0
    client.names = ["SLURMCluster-1-1"]                                  # a nanny restarted a worker
    assert not watch.all_gone()
    client.names = []
    now[0] = 106.0
    assert not watch.all_gone()
    now[0] = 116.0
    assert watch.all_gone()


class JobCluster:
    """A LocalCluster posing as a dask-jobqueue cluster (its one worker spec = one job)."""

    def __new__(cls, **kw):
        from distributed import LocalCluster

        class _C(LocalCluster):
            def scale(self, n=0, jobs=0, **k):
                return super().scale(jobs or n)

        return _C(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)


@pytest.mark.slow                       # a Dask cluster: make test-all
def test_sweep_units_fail_instead_of_hanging_when_every_job_is_gone(monkeypatch):
    made = []
    monkeypatch.setattr(ex, "make_jobqueue_cluster", lambda backend, **kw: made.append(JobCluster(**kw)) or made[-1])
    monkeypatch.setattr(ex, "JOBS_GONE_GRACE_S", 0.5)
    monkeypatch.setattr(ex, "JOBS_POLL_S", 0.2)

    def unit(p):                        # defined here so that it is pickled by value to the worker process
        import time as t
        t.sleep(p["sleep"])
        return p["i"]

    monkeypatch.setattr(ex, "run_unit", unit)
    payloads = [{"i": 0, "sleep": 0}, {"i": 1, "sleep": 600}, {"i": 2, "sleep": 600}]
    t0 = time.monotonic()
    gen = ex.execute(payloads, SweepOptions(backend="slurm"))
    assert next(gen) == (0, 0)
    made[0].scale(0)                    # the job is cancelled: its worker goes away for good
    rest = list(gen)
    assert sorted(i for i, _ in rest) == [1, 2]
    assert all(isinstance(r, JobsGone) and "run the same command again" in str(r) for _, r in rest)
    assert time.monotonic() - t0 < 60
