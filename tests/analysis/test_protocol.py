"""The analyses on a system that is not a RateNetworks: a hand-written one whose answers are known.

``Unitwise``: B systems of N = 3 independent units, ``dx/dt = -x + w * tanh(x) + W_in u`` (elementwise
``w``; no matrix M, so every analysis takes the generic path through ``vector_field`` / ``jacobian``).
System 0 is *bistable* (w = 2: every unit has stable fixed points at ``+-x*``, ``x* = 2 tanh(x*)``, and
an unstable one at 0; 27 fixed points, 8 stable), system 1 is *leaky* (w = 0.5: the origin is the only
fixed point, eigenvalues -0.5). Unit 0 is driven hard by the input along the direction that separates
the two digit classes, so it ends every trial holding the class of the *last* digit; the response reads
it: ``z = 1.25 + 0.25 s_0 + 0.05 s_1`` (``s_i = tanh(x_i) / tanh(x*)``): 1.0 (+-0.05) after a first-class
digit, 1.5 (+-0.05) after a second-class one.
"""
import math

import numpy as np
import pytest
import torch

from slowmem.analysis.activity import activity_profile
from slowmem.analysis.attractors import probe_attractors
from slowmem.analysis.dynamics import analyze_dynamics
from slowmem.analysis.forgetting import forgetting_curves
from slowmem.analysis.mechanisms import classify
from slowmem.analysis.robustness import distraction, interruptions
from slowmem.analysis.slowpoints import find_slow_points
from slowmem.analysis.speed import autonomous_runs, field_speed, memory_points
from slowmem.config import ConfigError, DynamicsConfig, MemoryConfig, NetworkConfig
from slowmem.errors import ShapeError
from slowmem.network import RateNetworks
from slowmem.system import DynamicalSystem, Simulation, check_system, field_at, jacobian_at
from slowmem.task import TRIAL_TYPES, SPMTask

W_BI, W_LEAK = 2.0, 0.5
SHORT = DynamicsConfig(probe_trials=4, sampled_slow_points=True, slow_starts=256, manifold_trials=4)


def x_star(w: float) -> float:
    """Positive root of x = w tanh(x), by bisection."""
    lo, hi = 1e-3, w + 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if w * math.tanh(mid) - mid > 0 else (lo, mid)
    return 0.5 * (lo + hi)


XS = x_star(W_BI)
TS = math.tanh(XS)


class Unitwise:
    """B systems of independent tanh units (see the module docstring); implements DynamicalSystem."""

    def __init__(self, w: torch.Tensor, w_in: torch.Tensor, seeds=(0, 1)):
        self.w, self.w_in, self.seeds = w, w_in, tuple(seeds)            # (B, N), (B, N, 2)
        self.readout = torch.zeros(w.shape[0], w.shape[1], 3, dtype=w.dtype)
        self.readout[:, 0, 0], self.readout[:, 1, 0] = 0.25 / TS, 0.05 / TS
        self.readout[:, 1, 1], self.readout[:, 2, 2] = 1.0, 1.0
        self.bias = torch.tensor([1.25, 0.0, 0.0], dtype=w.dtype)

    B = property(lambda self: self.w.shape[0])
    N = property(lambda self: self.w.shape[1])
    device = property(lambda self: self.w.device)
    dtype = property(lambda self: self.w.dtype)

    def vector_field(self, x):
        return -x + self.w.unsqueeze(1) * torch.tanh(x)

    def jacobian(self, x):
        return torch.diag_embed(-1 + self.w.unsqueeze(1) * (1 - torch.tanh(x) ** 2))

    def readouts(self, x):
        return torch.tanh(x) @ self.readout + self.bias

    def simulate(self, x0, inputs=None, *, steps=None, dt=0.1, tau=1.0, record_every=0, input_mask=None,
                 outputs=True, fast=False):
        x = (x0.unsqueeze(1) if x0.ndim == 2 else x0).to(self.dtype).clone()
        T = inputs.shape[0] if inputs is not None else int(steps)
        keep = range(T) if outputs is True else range(0) if outputs is False else range(*outputs)
        out, states = [], []
        for t in range(T):
            if t in keep:
                out.append(self.readouts(x))
            drive = self.vector_field(x)
            if inputs is not None:
                u = inputs[t].to(self.dtype) @ self.w_in.transpose(1, 2)
                drive = drive + (u * input_mask if input_mask is not None else u)
            x = x + dt / tau * drive
            if record_every and (t + 1) % record_every == 0:
                states.append(x.clone())
        empty = torch.zeros((0, self.B, x.shape[1], 3), dtype=self.dtype)
        return Simulation(torch.stack(out) if out else empty, x, torch.stack(states) if states else None)

    def select(self, index):
        i = list(index)
        return Unitwise(self.w[i], self.w_in[i], [self.seeds[k] for k in i])

    def as_dtype(self, dtype):
        dt = {"float32": torch.float32, "float64": torch.float64}.get(dtype, dtype)
        return Unitwise(self.w.to(dt), self.w_in.to(dt), self.seeds)


@pytest.fixture(scope="module")
def task():
    return SPMTask()


@pytest.fixture(scope="module")
def system(task):
    m = task.class_means.double()                                   # (2, 2): d . m0 = -1, d . m1 = +1
    d = torch.linalg.solve(m, torch.tensor([-1.0, 1.0], dtype=torch.float64))
    w_in = torch.zeros(2, 3, 2, dtype=torch.float64)
    w_in[:, 0] = 4.0 * d
    w = torch.tensor([[W_BI] * 3, [W_LEAK] * 3], dtype=torch.float64)
    return Unitwise(w, w_in)


@pytest.fixture(scope="module")
def ends():
    """``(2, 4, 3)`` trial-end states: unit 0 holds the last digit, unit 1 the first (stable points of system 0)."""
    sign = lambda s: 1.0 if s else -1.0                             # noqa: E731
    e = torch.tensor([[sign(s2) * XS, sign(s1) * XS, XS] for s1, s2 in TRIAL_TYPES], dtype=torch.float64)
    return torch.stack([e, e])


def expected_z(s0, s1):
    return 1.25 + 0.25 * s0 + 0.05 * s1


def test_protocol_membership(system):
    assert isinstance(system, DynamicalSystem)
    assert isinstance(RateNetworks.create(NetworkConfig(N=4), [0, 1]), DynamicalSystem)
    assert not isinstance(object(), DynamicalSystem)
    with pytest.raises(ConfigError, match="lacks .*vector_field.*jacobian"):
        check_system(object())
    with pytest.raises(ConfigError, match="DynamicalSystem"):
        probe_attractors(object(), SPMTask(), torch.zeros(2, 4, 3))


def test_rate_network_jacobian_and_readouts_match_their_definitions():
    net = RateNetworks.create(NetworkConfig(N=5), [3, 4])
    net.wo, net.wd = torch.randn(2, 5, 1, dtype=torch.float64), torch.randn(2, 5, 2, dtype=torch.float64)
    x = torch.randn(2, 3, 5, dtype=torch.float64)
    auto = torch.func.vmap(torch.func.vmap(torch.func.jacrev(lambda y, M: -y + M @ torch.tanh(y)),
                                           in_dims=(0, None)))(x, net.closed_loop())
    assert torch.allclose(net.jacobian(x), auto, atol=1e-12)
    assert torch.allclose(net.readouts(x), torch.tanh(x) @ net.readout(), atol=1e-12)
    # the generic point helpers agree with the batched members
    idx = torch.tensor([1, 0, 1])
    both = x[0].expand(2, 3, 5)                                   # every point under both systems
    k = torch.arange(3)
    assert torch.allclose(field_at(net, idx, x[0]), net.vector_field(both)[idx, k])
    assert torch.allclose(jacobian_at(net, idx, x[0]), net.jacobian(both)[idx, k])
    assert torch.allclose(field_at(net, idx, x), torch.stack([field_at(net, idx, x[j]) for j in range(2)]))
    with pytest.raises(ShapeError, match="net_index"):
        field_at(net, idx[:2], x[0])


def test_probe_and_taxonomy(system, task, ends):
    probe = probe_attractors(system, task, ends, cfg=SHORT)
    assert probe.settled.all()
    # system 0: each run ends at a stable fixed point (every unit at +-x*); system 1 at the origin
    assert torch.allclose(probe.final_state[0].abs(), torch.full_like(probe.final_state[0], XS), atol=1e-6)
    assert probe.final_state[1].abs().max() < 1e-6
    assert np.allclose(probe.final_output[1], 1.25, atol=1e-6)
    z = probe.final_output[0]
    s = torch.sign(probe.final_state[0]).numpy()
    assert np.allclose(z, expected_z(s[:, 0], s[:, 1]), atol=1e-6)
    # the runs from the trial-end states (noise 0.5 << x*) come back to them: all 4 signed outputs, 4 |z|
    assert probe.n_distinct_outputs[0] >= 4 and probe.n_distinct_outputs[1] == 1
    mech = classify(probe, task, cfg=SHORT)
    assert list(mech.n_attractors) == [4, 1]
    assert list(mech.label) == ["fixed points", "slow manifold"]       # 4 >= 3 memories; 1 < 3


def test_slow_points_and_linearisation(system):
    g = torch.Generator().manual_seed(0)
    starts = (torch.rand((2, 400, 3), generator=g, dtype=torch.float64) * 2 - 1) * 3
    pts = find_slow_points(system, starts, cfg=DynamicsConfig(max_points=64))
    c = pts.counts()
    assert list(c["n_fixed"]) == [27, 1] and list(c["n_fixed_stable"]) == [8, 1]
    p0 = pts.select(0)
    for x, ev, stable in zip(p0.x_star, p0.eigenvalues, p0.is_stable):
        assert all(abs(abs(v) - XS) < 1e-8 or abs(v) < 1e-8 for v in x.tolist())
        expect = sorted([(-1 + W_BI * (1 - math.tanh(v) ** 2)) for v in x.tolist()], reverse=True)
        assert np.allclose(ev.real.numpy(), expect, atol=1e-8) and np.allclose(ev.imag.numpy(), 0)
        assert bool(stable) == all(abs(v) > 1 for v in x.tolist())
    assert np.allclose(pts.select(1).eigenvalues.real.numpy(), -1 + W_LEAK, atol=1e-12)


def test_speed_runs_and_memory_points(system, ends):
    F, v = field_speed(system, ends)
    assert float(v[0].max()) < 1e-12                                # the ends are fixed points of system 0
    expect = (-ends[1] + W_LEAK * torch.tanh(ends[1])).norm(dim=-1) / math.sqrt(3)
    assert torch.allclose(v[1], expect)
    runs = autonomous_runs(system, ends, dt=0.1, max_steps=600, record_every=10)
    late = np.log(runs.speed[400:600, 1, 0])                        # near 0: F ~ -(1 - w) x
    rate = np.polyfit(np.arange(200) * 0.1, late, 1)[0]
    assert rate == pytest.approx(math.log(1 - 0.1 * (1 - W_LEAK)) / 0.1, rel=1e-3)
    seeds = ends + 0.2
    mp = memory_points(system, seeds, np.array([1.0, 1.0]))
    assert mp.fixed[0].all() and torch.allclose(mp.x[0], ends[0], atol=1e-8)
    assert mp.fixed[1].all() and mp.x[1].abs().max() < 1e-8 and list(mp.n_fixed) == [4, 1]


def test_dynamics_summary_runs_on_any_system(system, task, ends):
    res = analyze_dynamics(system, task, ends, cfg=SHORT)
    assert res.configs == (None, None)
    assert list(res.mechanisms.label) == ["fixed points", "slow manifold"]
    # activity: system 0 sits at +-x* (tanh 0.96) in every delay; the leaky one is unsaturated at rest
    assert res.activity.saturation_delay[0] > res.activity.saturation_delay[1]
    assert res.slow_points.counts()["n_fixed_stable"][1] == 1
    assert list(res.manifold.points.select(1).eigenvalues.real[0].numpy()) == pytest.approx([-0.5] * 3)


def _fails_by_type(types):
    """The bistable system's known failures: it answers for the last digit alone, so types 1, 2 fail."""
    return np.isin(types, [1, 2])


def test_forgetting_distraction_interruption(system, task, ends):
    cfg = MemoryConfig()
    curves = forgetting_curves(system, task, ends, delays=[5.0, 20.0, 60.0], cfg=cfg)
    c = curves["replace"]
    assert (c.failed[0] == _fails_by_type(c.trial_types)[None]).all()   # the same answer at every delay
    assert c.failed[1].all()                                         # the leaky system never holds it
    s1 = np.array([1.0 if TRIAL_TYPES[k][0] else -1.0 for k in c.start_index])   # unit 1 keeps its start sign
    s0 = np.array([1.0 if TRIAL_TYPES[k][1] else -1.0 for k in c.trial_types])   # unit 0 the last digit
    assert np.allclose(c.mean_response[0], expected_z(s0, s1)[None], atol=1e-3)
    assert not curves["extend"].failed[0].any()                      # held at fixed points: nothing drifts
    dis = distraction(system, task, ends, sigmas=[0.0], n_repeats=2, cfg=cfg)
    assert (dis.failed[0, 0] == _fails_by_type(dis.trial_types)).all() and dis.failed[1].all()
    inter = interruptions(system, task, ends, fractions=[0.0, 0.5], n_repeats=2, cfg=cfg)
    whole = inter["whole_trial"]
    assert (whole.failed[0, 0] == _fails_by_type(whole.trial_types)).all()
    # unit 0's input silenced all trial: it keeps the sign of its start state, the second digit of that type
    s0 = np.array([1.0 if TRIAL_TYPES[k][1] else -1.0 for k in whole.start_index])
    s1 = np.array([1.0 if TRIAL_TYPES[k][0] else -1.0 for k in whole.start_index])
    right = task.response_values().numpy()[whole.trial_types]
    assert (whole.failed[0, 1] == ~(np.abs(expected_z(s0, s1) - right) < 0.1)).all()
    assert np.allclose(whole.mean_response[0, 1], expected_z(s0, s1), atol=1e-3)
    act = activity_profile(system, task, ends)
    assert act.saturation_delay[0] > 0.9
