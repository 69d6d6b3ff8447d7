import numpy as np
import pandas as pd
import torch

from slowmem.config import Config, TrainingConfig
from slowmem.network import RateNetworks
from slowmem.runtime import Runtime
from slowmem.training import rls_update, train, train_from_config


def test_rls_equals_ridge_least_squares():
    """After n updates from w=0, P=I/alpha, RLS gives the ridge solution exactly."""
    g = torch.Generator().manual_seed(0)
    B, N, m, n, alpha = 3, 12, 2, 400, 0.5
    R = torch.randn(B, n, N, generator=g, dtype=torch.float64)
    w_true = torch.randn(B, N, m, generator=g, dtype=torch.float64)
    Y = R @ w_true + 0.1 * torch.randn(B, n, m, generator=g, dtype=torch.float64)
    P = (torch.eye(N, dtype=torch.float64) / alpha).repeat(B, 1, 1)
    w = torch.zeros(B, N, m, dtype=torch.float64)
    for i in range(n):
        r = R[:, i:i + 1, :]
        rls_update(P, r, w, r @ w - Y[:, i:i + 1, :])
    ridge = torch.linalg.solve(alpha * torch.eye(N, dtype=torch.float64) + R.transpose(1, 2) @ R,
                               R.transpose(1, 2) @ Y)
    assert torch.allclose(w, ridge, atol=1e-9)
    assert torch.allclose(P, torch.linalg.inv(alpha * torch.eye(N, dtype=torch.float64) + R.transpose(1, 2) @ R),
                          atol=1e-9)


def _small(rule="modified", trials=3, **kw):
    return Config.from_preset("ci", N=40, trials=trials, rule=rule, **kw)


def test_same_config_and_seed_bit_identical_weights():
    cfg = _small(trials=4)
    _, a = train_from_config(cfg, [0, 1], progress=False)
    _, b = train_from_config(cfg, [0, 1], progress=False)
    assert torch.equal(a.networks.wo, b.networks.wo) and torch.equal(a.networks.wd, b.networks.wd)
    assert torch.equal(a.final_state, b.final_state)
    _, c = train_from_config(cfg, [1], progress=False)
    assert torch.allclose(c.networks.wo[0], a.networks.wo[1], atol=1e-10)   # batch-independent


def test_modified_rule_learns_only_in_windows(task):
    """Modified FORCE: wo changes only through response-window updates, wd only in delays."""
    cfg = _small(trials=0)
    net = RateNetworks.create(cfg.network, [0])
    # a task whose response window is shortened to 0.2 (=2 steps, 1 update)
    from slowmem.config import TaskConfig
    from slowmem.task import SPMTask
    t2 = SPMTask(TaskConfig(timing={"response": 0.2}))
    res = train(net, t2, TrainingConfig(rule="modified", trials=1), progress=False)
    wo_change = (res.networks.wo - net.wo).abs().sum()
    wd_change = (res.networks.wd - net.wd).abs().sum()
    assert wo_change > 0 and wd_change > 0
    # original rule updates everything at every update step; with all-zero targets outside windows
    res_o = train(net, t2, TrainingConfig(rule="original", trials=1), progress=False)
    assert not torch.allclose(res_o.networks.wo, res.networks.wo)


def test_training_reduces_error_and_logs(task):
    cfg = _small(trials=60)
    _, res = train_from_config(cfg.replace(N=120), [0], progress=False)
    log = res.log
    assert list(log.columns) == ["network", "seed", "trial", "trial_type", "response_rmse", "memory_rmse"]
    assert len(log) == 60 and not res.diverged.any()
    early = log.response_rmse.iloc[:5].mean()
    late = log.response_rmse.iloc[-10:].mean()
    assert late < early
    assert log.memory_rmse.iloc[-10:].mean() < log.memory_rmse.iloc[:3].mean()


def test_float32_runs_and_divergence_flagged():
    cfg = _small(trials=2, dtype="float32")
    _, res = train_from_config(cfg, [0], progress=False)
    assert res.networks.wo.dtype == torch.float32
    # a network whose weights hold an inf blows up: flagged as diverged, no exception,
    # and its batch neighbour trains exactly as it would alone
    cfg = _small(trials=3)
    net = RateNetworks.create(cfg.network, [0, 1])
    net.J[0, 0, 1] = float("inf")
    res = train(net, task_of(cfg), cfg.training, progress=False)
    assert res.diverged.tolist() == [True, False]
    assert not np.isfinite(res.log[res.log.seed == 0].response_rmse).all()
    _, alone = train_from_config(cfg, [1], progress=False)
    assert torch.allclose(alone.networks.wo[0], res.networks.wo[1], atol=1e-10)


def task_of(cfg):
    from slowmem.task import SPMTask
    return SPMTask(cfg.task)


# ---------------------------------------------------------------- engines
import pytest  # noqa: E402

from slowmem.config import ConfigError  # noqa: E402
from slowmem.training import resolve_engine  # noqa: E402


@pytest.mark.parametrize("rule", ["modified", "original"])
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-4)])
def test_numba_and_torch_engines_agree(rule, dtype, tol):
    """The compiled CPU kernel and the batched torch code are the same algorithm (sums in another order)."""
    cfg = _small(rule=rule, trials=3, dtype=dtype).replace(N=80)
    _, a = train_from_config(cfg, [0, 3], progress=False, runtime=Runtime(engine="torch"))
    _, b = train_from_config(cfg, [0, 3], progress=False, runtime=Runtime(engine="numba"))
    assert (a.engine, b.engine) == ("torch", "numba")
    assert b.networks.wo.dtype == a.networks.wo.dtype
    assert a.networks.wd.abs().max() > 0.05                      # something was learned
    for t_a, t_b in ((a.networks.wo, b.networks.wo), (a.networks.wd, b.networks.wd), (a.final_state, b.final_state)):
        assert (t_a - t_b).abs().max() < tol
    assert np.allclose(a.log.response_rmse, b.log.response_rmse, atol=tol)


def test_numba_engine_independent_of_batch_and_threads():
    """Each network runs alone in its kernel: batch neighbours and the thread count change nothing."""
    cfg = _small(trials=2).replace(N=60)
    _, many = train_from_config(cfg, [5, 6, 7], progress=False, runtime=Runtime(engine="numba", threads=2))
    _, one = train_from_config(cfg, [6], progress=False, runtime=Runtime(engine="numba"))
    assert torch.equal(many.networks.wo[1], one.networks.wo[0])
    assert torch.equal(many.networks.wd[1], one.networks.wd[0])
    assert torch.equal(many.final_state[1], one.final_state[0])


@pytest.mark.parametrize("rule,threads,N", [("modified", 1, 61), ("original", 2, 64), ("modified", 1, 517)])
def test_networks_sharing_gJ_train_in_lockstep_with_identical_results(rule, threads, N):
    """Same seed, pg and g, different fb: one g J, trained in lockstep; each result equals its solo run.

    Seven networks exercise blocks of three, two and one network (N = 61 the rows left over
    by the four-row blocks, N = 517 two column tiles); an eighth network with another seed
    trains beside them.
    """
    from slowmem.network import RateNetworks
    from slowmem.task import SPMTask

    base = _small(rule=rule, trials=2).replace(N=N)
    fbs = (40.0, 30.0, 20.0, 10.0, 5.0, 1.0, 2.0)
    cfgs = [base.replace(fb=fb).network for fb in fbs] + [base.network]
    net = RateNetworks.create(cfgs, [4] * len(fbs) + [9])
    task = SPMTask(base.task)
    together = train(net, task, base.training, progress=False, runtime=Runtime(engine="numba", threads=threads))
    assert float(together.networks.wd.abs().max()) > 0.01                          # something was learned
    for b in range(net.B):
        alone = train(net.select([b]), task, base.training, progress=False, runtime=Runtime(engine="numba", threads=1))
        assert torch.equal(together.networks.wo[b], alone.networks.wo[0])
        assert torch.equal(together.networks.wd[b], alone.networks.wd[0])
        assert torch.equal(together.final_state[b], alone.final_state[0])


@pytest.mark.parametrize("engine", ["numba", "torch"])
def test_results_do_not_depend_on_trials_per_call(engine, monkeypatch):
    """train() runs TRIALS_PER_CALL trials per engine call; 1, 4 or 10 at a time give the same bits."""
    import slowmem.training.loop as training

    cfg = _small(trials=9).replace(N=40)
    runs = []
    for per_call in (1, 4, 10):
        monkeypatch.setattr(training, "TRIALS_PER_CALL", per_call)
        _, res = train_from_config(cfg, [2, 5], progress=False, runtime=Runtime(engine=engine, threads=1))
        runs.append(res)
    first = runs[0]
    assert float(first.networks.wd.abs().max()) > 0.01
    for res in runs[1:]:
        assert torch.equal(res.networks.wo, first.networks.wo) and torch.equal(res.networks.wd, first.networks.wd)
        assert torch.equal(res.final_state, first.final_state)
        pd.testing.assert_frame_equal(res.log, first.log, check_exact=True)


def test_engine_choice_is_checked():
    assert resolve_engine("auto", torch.device("cpu")) == "numba"
    assert resolve_engine("torch", torch.device("cpu")) == "torch"
    with pytest.raises(ConfigError, match="engine must be one of auto, torch, numba"):
        resolve_engine("fast", torch.device("cpu"))
    with pytest.raises(ConfigError, match="CPU only"):
        resolve_engine("numba", torch.device("cuda"))
