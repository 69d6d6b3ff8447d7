"""The slow-manifold analysis against networks whose manifold is known by construction.

Designed rate networks (closed loop M, no feedback, N = 8), u = (1, ..., 1) / sqrt(N):

* **line**: ``M = (1 - eps) u u^T - FAST (I - u u^T)``. ``tanh`` maps the line ``x = s u`` into
  itself, so the line is invariant with ``ds/dt = -s + (1 - eps) sqrt(N) tanh(s / sqrt(N))``: a line
  of near-equilibria through one stable fixed point (the origin), drifting at ``~eps |s|``. At
  ``s u`` the Jacobian ``-I + sech^2(a) M`` (``a = s / sqrt(N)``, the value of every unit) has the
  eigenvector u with eigenvalue ``-1 + (1 - eps) sech^2(a)`` (``-eps`` at the origin), and
  ``-1 - FAST sech^2(a)`` across.
* **stable**: ``M = -FAST I``, one strongly stable fixed point and nothing slow.

The input drives the states off the line only, so the delays of the test trials relax back onto it.
Everything true is computed here from these formulas, independently of the finder.
"""
import json
import math

import numpy as np
import pytest
import torch

from slowmem.analysis.activity import activity_profile
from slowmem.analysis.manifold import (
    analyze_manifold,
    autonomous_runs,
    field_speed,
    memory_points,
    reference_speed,
    subspace_angle_deg,
)
from slowmem.config import ConfigError, DynamicsConfig, NetworkConfig, TaskConfig
from slowmem.errors import ShapeError
from slowmem.network import RateNetworks
from slowmem.task import SPMTask

N = 8
FAST = 0.5
EPSILONS = (0.02, 0.01)                       # drift rates of the two line networks
U = np.ones(N) / math.sqrt(N)
ENDS_A = np.array([0.05, 0.1, -0.05, -0.1])   # unit values a of the four trial-end states, on the line


def line_matrix(eps: float) -> np.ndarray:
    return (1 - eps) * np.outer(U, U) - FAST * (np.eye(N) - np.outer(U, U))


def designed(Ms, dtype="float64") -> RateNetworks:
    B = len(Ms)
    net = RateNetworks.create(NetworkConfig(N=N), list(range(B)), dtype=dtype)
    wi = (np.eye(N) - np.outer(U, U)) @ np.random.default_rng(0).standard_normal((N, 2))   # off the line only
    to = dict(dtype=net.dtype)
    net.J = torch.tensor(np.asarray(Ms), **to)
    net.g = torch.ones(B, **to)
    for k in ("wf", "wfd", "wd"):
        setattr(net, k, torch.zeros_like(getattr(net, k)))
    net.wi = torch.tensor(np.stack([wi] * B), **to)
    net.wo = torch.tensor(np.tile(U, (B, 1)), **to).reshape(B, N, 1)
    return net


def slow_eigenvalue(eps: float, a) -> np.ndarray:
    """Eigenvalue along u at the point ``a u sqrt(N)`` of the line network ``eps``."""
    return -1 + (1 - eps) / np.cosh(np.asarray(a)) ** 2


@pytest.fixture(scope="module")
def task():
    """dt = 0.5 (70 steps a trial) keeps the runs cheap; Euler stays stable for every rate here."""
    return SPMTask(TaskConfig(dt=0.5))


def ends_for(B: int) -> torch.Tensor:
    return torch.tensor(np.stack([np.outer(ENDS_A * math.sqrt(N), U)] * B))


@pytest.fixture(scope="module")
def gt(task):
    net = designed([line_matrix(EPSILONS[0]), line_matrix(EPSILONS[1]), -FAST * np.eye(N)])
    ends = ends_for(3)
    act = activity_profile(net, task, ends, keep_states=True)
    res = analyze_manifold(net, task, ends, test_states=act.states, trial_types=act.trial_types)
    return net, ends, act, res


def _mine(res, b):
    return res.points.select(b), res.points.network.numpy() == b


# --------------------------------------------------------------------------- ground truth: the line
@pytest.mark.parametrize("b", [0, 1])
def test_slow_points_lie_on_the_line_and_span_the_memory(gt, b):
    net, ends, act, res = gt
    x = res.point_x.numpy()[res.point_network == b]
    fixed = res.point_fixed[res.point_network == b]
    s = x @ U
    off = np.linalg.norm(x - s[:, None] * U, axis=1)
    assert (off < 1e-4).all()                                                  # every point on the line
    a = s[~fixed] / math.sqrt(N)
    assert (~fixed).sum() >= 4                                                 # the manifold, not one point
    assert a.min() < -0.03 and a.max() > 0.03                                  # both halves, out to the memories
    # the line's only fixed point: the origin, stable, with the drift rate eps as its slowest eigenvalue
    assert fixed.sum() == 1 and np.abs(x[fixed]).max() < 1e-6
    p, _ = _mine(res, b)
    f = p.is_fixed.numpy()
    lam0 = p.eigenvalues[f][0, 0]
    assert bool(p.is_stable[f][0]) and abs(lam0.imag) < 1e-12
    assert float(lam0.real) == pytest.approx(-EPSILONS[b], rel=0.1)
    assert float(lam0.real) == pytest.approx(-EPSILONS[b], rel=1e-6)           # in fact exact


@pytest.mark.parametrize("b", [0, 1])
def test_slowest_eigenvalue_and_direction_at_every_slow_point(gt, b):
    _, _, _, res = gt
    p, mine = _mine(res, b)
    slow = ~p.is_fixed.numpy()
    assert slow.sum() >= 1
    a = (p.x_star.numpy()[slow] @ U) / math.sqrt(N)
    lead = p.eigenvalues[slow][:, 0]
    truth = slow_eigenvalue(EPSILONS[b], a)
    assert np.allclose(lead.real.numpy(), truth, rtol=0.1)                     # the acceptance: within 10 %
    assert np.allclose(lead.real.numpy(), truth, rtol=1e-6) and np.allclose(lead.imag.numpy(), 0, atol=1e-12)
    # the across-line eigenvalues, and the slowest eigenvector along u
    assert np.allclose(p.eigenvalues[slow][:, 1].real.numpy(), -1 - FAST / np.cosh(a) ** 2, rtol=1e-6)
    vec = res.leading_eigenvector[torch.as_tensor(np.flatnonzero(mine)[slow])]
    for v in vec:
        assert subspace_angle_deg(torch.tensor(U), v) < 1e-3
    # the drift at each point runs along that eigenvector, and the speed decays at its rate
    assert np.nanmax(res.point_drift_angle_deg[np.flatnonzero(mine)[slow]]) < 1.0
    assert np.allclose(res.point_local_rate[np.flatnonzero(mine)[slow]], truth, rtol=0.02)


@pytest.mark.parametrize("b", [0, 1])
def test_drift_along_the_slow_eigenvector_and_time_constants(gt, b):
    _, _, _, res = gt
    assert (res.drift_point[b] >= 0).all()                                     # every run has a slow stretch
    assert np.nanmax(res.drift_angle_deg[b]) < 1.0
    implied, measured = res.implied_time_constant[b], res.measured_time_constant[b]
    assert np.allclose(implied, measured, rtol=0.1)
    # both near 1 / eps: the drift speed that was set (the memories sit at |a| <= 0.1)
    assert 0.5 / EPSILONS[b] < np.median(measured) < 1.05 / EPSILONS[b]
    summ = res.summary(b)
    assert summ["n_slow_points_on_memory"] >= 4 and summ["n_fixed_points_on_memory"] == 1
    assert summ["drift_eigenvector_angle_deg"] < 1.0
    lead = res.points.eigenvalues[torch.as_tensor(res.drift_point[b]), 0].real.numpy()
    assert np.allclose(implied, -1 / lead) and summ["slowest_eigenvalue"] == pytest.approx(np.median(lead))


def test_speed_along_the_runs_equals_the_one_dimensional_truth(gt, task):
    net, ends, act, res = gt
    dt = task.dt
    for b, eps in enumerate(EPSILONS):
        for k, a0 in enumerate(ENDS_A):
            s = a0 * math.sqrt(N)
            n = res.run_steps[b]
            v = np.empty(n)
            for t in range(n):                                                 # the invariant line, by hand
                f = -s + (1 - eps) * math.sqrt(N) * math.tanh(s / math.sqrt(N))
                v[t] = abs(f) / math.sqrt(N)
                s += dt * f
            assert np.allclose(res.runs.speed[:n, b, k], v, rtol=1e-9, atol=1e-300)
            assert np.isnan(res.runs.speed[n:, b, k]).all()                    # past its own stop: blank
            settled = res.settled_speed[b]
            assert res.settle_step[b, k] == np.flatnonzero(v < settled)[0]
            assert res.slow_duration[b, k] == pytest.approx(
                dt * ((v < res.slow_speed[b]) & (v >= settled)).sum())
    # slower drift, longer slow stretch; the stable network hardly has one
    assert (res.slow_duration[1] > 1.5 * res.slow_duration[0]).all()
    assert (res.slow_duration[2] < 0.05 * res.slow_duration[0]).all()
    # the runs stopped once every run had settled, at the first recorded step after the slowest
    assert res.runs.steps - 1 < res.settle_step.max() + 2 * res.runs.record_steps[1]
    assert (res.run_steps <= res.runs.steps).all() and res.run_steps[2] < res.run_steps[0] < res.run_steps[1]


# --------------------------------------------------------------------------- ground truth: nothing slow
def test_stable_network_has_no_slow_point(gt):
    _, _, _, res = gt
    summ = res.summary(2)
    assert summ["n_slow_points_on_memory"] == 0 and summ["n_fixed_points_on_memory"] == 1
    p, _ = _mine(res, 2)
    assert len(p.q) == 1 and bool(p.is_fixed[0]) and bool(p.is_stable[0])
    assert torch.linalg.norm(p.x_star[0]) < 1e-6
    assert np.allclose(p.eigenvalues[0].real.numpy(), -1 - FAST, atol=1e-9)
    assert (res.drift_point[2] == -1).all() and summ["drift_eigenvector_angle_deg"] is None
    assert summ["slowest_eigenvalue"] is None


def test_reference_speed_and_thresholds(gt, task):
    net, ends, act, res = gt
    X = act.states.numpy()
    v = np.linalg.norm(np.diff(X, axis=0), axis=-1) / (task.dt * math.sqrt(N))       # (T-1, B, K)
    assert np.allclose(res.reference_speed, np.median(v.transpose(1, 0, 2).reshape(3, -1), axis=1))
    cfg = DynamicsConfig()
    assert np.allclose(res.slow_speed, cfg.manifold_slow_ratio * res.reference_speed)
    assert np.allclose(res.settled_speed, cfg.manifold_settled_ratio * res.reference_speed)
    # delay speeds are |F| of the recorded delay states
    M = net.closed_loop()
    w = task.windows["delay2"]
    _, vd = field_speed(M, act.states[w].movedim(0, 1).reshape(3, -1, N))
    assert np.allclose(res.delay_speed["delay2"], vd.reshape(3, w.stop - w.start, -1).movedim(1, 0).numpy())


# --------------------------------------------------------------------------- the local minimisation itself
def test_memory_points_stay_where_the_memory_is(task):
    """Seeds on the line plus an off-line kick: the point found is the seed's own place on the line."""
    net = designed([line_matrix(0.02), -FAST * np.eye(N)])
    g = torch.Generator().manual_seed(1)
    a = torch.linspace(-0.1, 0.1, 9, dtype=torch.float64)
    on = a[:, None] * math.sqrt(N) * torch.tensor(U)
    kick = torch.randn(9, N, generator=g, dtype=torch.float64) * 0.05
    kick -= (kick @ torch.tensor(U))[:, None] * torch.tensor(U)                   # off the line only
    seeds = torch.stack([on + kick, on + kick])
    mp = memory_points(net, seeds, 0.01)
    found = (mp.x[0] @ torch.tensor(U)) / math.sqrt(N)
    off = mp.x[0] - (mp.x[0] @ torch.tensor(U))[:, None] * torch.tensor(U)
    assert off.norm(dim=1).max() < 1e-6
    moved = (found - a).abs()
    far = a.abs() > 0.02
    assert (moved[far] < 0.05 * a.abs()[far]).all()                              # slid < 5 % towards the origin
    assert mp.slow[0, far.numpy()].all() and mp.n_fixed[0] == 1                 # the origin's neighbours are fixed
    # the stable network: every seed is its fixed point
    assert mp.fixed[1].all() and mp.n_fixed[1] == 1 and mp.n_slow[1] == 0
    # plain Newton-like minimisation (floor ~ 0) slides along the line into the fixed point instead
    mp0 = memory_points(net, seeds, 0.01, cfg=DynamicsConfig(manifold_damping_rate=1e-4, manifold_lm_steps=40))
    assert mp0.n_slow[0] < mp.n_slow[0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batch_and_dtype_independence(gt, task, dtype):
    net, ends, act, res = gt
    one = designed([line_matrix(EPSILONS[0])], dtype=dtype)
    alone = analyze_manifold(one, task, ends[:1].to(one.dtype))
    p, q = alone.points.select(0), res.points.select(0)
    assert len(p.q) == len(q.q) and alone.counts()["n_slow"][0] == res.counts()["n_slow"][0]
    tol = 1e-9 if dtype == "float64" else 1e-3
    assert torch.allclose(p.x_star, q.x_star, atol=tol)
    assert torch.allclose(p.eigenvalues.real, q.eigenvalues.real, rtol=tol, atol=tol)
    assert np.allclose(alone.slow_duration[0], res.slow_duration[0], rtol=tol)
    if dtype == "float64":
        assert alone.summary(0) == res.summary(0)


def test_deterministic_and_json(gt, task):
    net, ends, act, res = gt
    again = analyze_manifold(net, task, ends)
    for b in range(3):
        assert again.summary(b) == res.summary(b)
        json.dumps(res.summary(b), allow_nan=False)


def test_autonomous_runs_stop_when_settled():
    net = designed([-FAST * np.eye(N)])
    x0 = torch.ones(1, 2, N, dtype=torch.float64)
    full = autonomous_runs(net, x0, dt=0.1, max_steps=500, record_every=5)
    early = autonomous_runs(net, x0, dt=0.1, max_steps=500, settled_speed=np.array([1e-6]), record_every=5)
    assert full.steps == 500 and early.steps < 500
    assert np.array_equal(early.speed, full.speed[:early.steps])
    assert (early.speed[-1] < 1e-6).all() and (early.speed[-1 - 5] >= 1e-6).any()
    assert early.states.shape == (len(early.record_steps), 1, 2, N) and early.record_steps[1] == 5


# --------------------------------------------------------------------------- the dynamics summary
def test_dynamics_summary_reports_the_manifold(task):
    from slowmem.analysis.dynamics import analyze_dynamics, dynamics_table, summarize

    net = designed([line_matrix(0.02), -FAST * np.eye(N)])
    wo = torch.zeros_like(net.wo)
    wo[..., 0] = 1.0
    net.wo = wo
    cfg = DynamicsConfig(probe_trials=2, window_trials=1, starts_per_centre=2, slow_starts=16)
    ends = ends_for(2)
    res = analyze_dynamics(net, task, ends, cfg=cfg)
    out = summarize(net, task, ends, cfg=cfg)
    assert out[0]["manifold"] == res.manifold.summary(0) and out[0]["manifold"]["n_slow_points_on_memory"] >= 4
    assert out[1]["manifold"]["n_slow_points_on_memory"] == 0
    json.dumps(out, allow_nan=False)
    tab = dynamics_table(res)
    assert {f"dynamics.manifold.{k}" for k in ("n_slow_points_on_memory", "slowest_eigenvalue",
                                               "drift_eigenvector_angle_deg", "implied_time_constant",
                                               "slow_duration")} <= set(tab.columns)
    assert "manifold" in res.seconds


# --------------------------------------------------------------------------- plots
def test_plots_draw_only_what_exists(gt, task):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from slowmem.plots import dynamics as P

    net, ends, act, res = gt

    def legend(fig):
        leg = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
        return {t.get_text() for lg in leg for t in lg.get_texts()}

    def drawn(fig):
        return {ln.get_label() for a in fig.axes for ln in a.get_lines() + a.patches if not
                ln.get_label().startswith("_")}

    f = P.manifold_state_space(res, 0, test_states=act.states[:, 0], task=task)
    assert legend(f) == drawn(f) == {"trial-end state (run start)", "slow point", "stable fixed point"}
    f2 = P.manifold_state_space(res, 2, test_states=act.states[:, 2], task=task)
    assert legend(f2) == {"trial-end state (run start)", "stable fixed point"}            # no slow point drawn
    f3 = P.speed_profiles(res, ["slow manifold", "slow manifold", "fixed points"])
    assert legend(f3) == {"slow manifold", "fixed points", "slow speed", "settled speed"}
    import pandas as pd
    df = pd.DataFrame({"mechanism": ["slow manifold", "fixed points", "slow manifold"], "fb": [1, 1, 5],
                       "n_slow_points_on_memory": [3, 0, 0]})
    f4 = P.slow_point_share(df)
    assert legend(f4) == {"slow manifold", "fixed points"}
    heights = sorted(round(r.get_height(), 6) for r in f4.axes[0].patches)
    assert heights == [0.0, 0.0, 1.0]
    # the chapter's PCA picture: a legend entry only for the kinds of points drawn
    from slowmem.analysis.slowpoints import find_slow_points
    sp = find_slow_points(net.select([2]), act.states[::7, 2].reshape(1, -1, N))
    f5 = P.pca_trajectories(act.states[:, 2], sp, labels=act.trial_types)
    assert "slow point" not in legend(f5) and "stable fixed point" in legend(f5)
    assert legend(f5) == drawn(f5)
    for f_ in (f, f2, f3, f4, f5):
        plt.close(f_)
    with pytest.raises(ConfigError, match="network"):
        P.manifold_state_space(res, 3)
    with pytest.raises(ConfigError, match="labels"):
        P.speed_profiles(res, ["slow manifold"])


# --------------------------------------------------------------------------- config and inputs
@pytest.mark.parametrize("kw, match", [
    ({"manifold_slow_ratio": 0}, "manifold_slow_ratio"), ({"manifold_slow_ratio": 1.5}, "manifold_slow_ratio"),
    ({"manifold_settled_ratio": 0.1}, "manifold_settled_ratio"), ({"manifold_damping_rate": 0}, "damping_rate"),
    ({"manifold_lm_steps": -1}, "manifold_lm_steps"), ({"manifold_trials": 0}, "manifold_trials"),
    ({"manifold_delay_seeds": 0, "manifold_run_seeds": 0}, "seeds"), ({"manifold_fixed_reach": -1}, "reach"),
    ({"manifold_points": 1.5}, "manifold_points"), ({"manifold_record_every": 0}, "record_every"),
])
def test_config_rejects_bad_manifold_values(kw, match):
    with pytest.raises(ConfigError, match=match):
        DynamicsConfig(**kw)


def test_bad_inputs_are_named(gt, task):
    net, ends, act, res = gt
    with pytest.raises(ShapeError, match="seeds"):
        memory_points(net, torch.zeros(3, 4, 5, dtype=torch.float64), 0.01)
    with pytest.raises(ConfigError, match="slow_speed"):
        memory_points(net, torch.zeros(3, 4, N, dtype=torch.float64), -1.0)
    with pytest.raises(ShapeError, match="test_states"):
        analyze_manifold(net, task, ends, test_states=act.states[:10], trial_types=act.trial_types)
    with pytest.raises(ShapeError, match="trial_types"):
        analyze_manifold(net, task, ends, test_states=act.states)
    with pytest.raises(ShapeError, match="trial_end_states"):
        analyze_manifold(net, task, ends[:, :3])
    with pytest.raises(ShapeError, match="states"):
        reference_speed(torch.zeros(1, 3, 4, N), 0.1)
