"""The authors' taxonomy read literally (classify_original) and their probe starts, on hand-made inputs.

Ground truth by construction: probe outputs are written by hand, so every branch of the rule is known;
the start noise is compared with numpy.random.RandomState(1) draws laid out as the authors' loop does.
"""
import numpy as np
import pytest
import torch

from slowmem.analysis.attractors import AttractorProbe, authors_start_noise, probe_starts
from slowmem.analysis.mechanisms import classify_original, original_rule
from slowmem.config import MECHANISMS, TaskConfig
from slowmem.config.analysis import DynamicsConfig
from slowmem.network import RateNetworks
from slowmem.task import SPMTask

S = 100
FP, SM, LC, FM = MECHANISMS


@pytest.fixture(scope="module")
def task():
    return SPMTask(TaskConfig())                       # encodings 1.0, 0.5, 1.5: 6 signed fixed points needed


def fake_probe(variance, mean, last, final=None) -> AttractorProbe:
    """An AttractorProbe of B networks whose window statistics are ``(B, S)`` arrays given by hand."""
    variance, mean, last = (np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (variance, mean, last))
    B, n = mean.shape
    final = last.copy() if final is None else np.atleast_2d(np.asarray(final, dtype=np.float64))
    finite = np.isfinite(mean) & np.isfinite(variance)
    return AttractorProbe(
        seeds=np.arange(B), start_centre=np.zeros(n, np.int64), starts=torch.zeros(B, n, 1),
        output_variance=variance, output_mean=mean, output_min=mean, output_max=mean, final_output=final,
        final_state=torch.zeros(B, n, 1), finite=finite, settled=finite & (variance < 1e-4),
        n_distinct_outputs=np.zeros(B, np.int64), n_distinct_states=np.zeros(B, np.int64),
        trace_steps=np.zeros(0, np.int64), z_trace=np.zeros((0, B, n)), snapshot_steps=np.zeros(0, np.int64),
        snapshots=torch.zeros(0, B, n, 1), steps=0, window_steps=0, variance_tolerance=1e-4,
        output_tolerance=0.05, state_tolerance=0.05, last_output=last)


def settled(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every start at rest (variance 0) on one of ``values``, cycling through them."""
    z = np.resize(np.asarray(values, dtype=np.float64), S)
    return np.zeros(S), z, z


def moving(means, variance=1e-3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every start still moving, with window means ``means`` (S values)."""
    means = np.asarray(means, dtype=np.float64)
    return np.full(S, variance), means, means


def label(case, task, **kw) -> tuple[str, str]:
    r = original_rule(fake_probe(*case), task, **kw)
    return str(r.label[0]), str(r.branch[0])


def test_fixed_points_count_mirror_pairs_twice(task):
    # three mirror pairs: six signed outputs (our folded count: three attractors)
    assert label(settled([0.5, -0.5, 1.0, -1.0, 1.5, -1.5]), task) == (FP, "fixed points")
    # the same three |z| reached with one sign only (+ one mirror): four signed outputs, fewer than 6
    assert label(settled([0.5, 1.0, 1.5, -0.5]), task) == (SM, "slow manifold")
    r = original_rule(fake_probe(*settled([0.5, -0.5, 1.0, -1.0, 1.5, -1.5])), task)
    assert r.n_signed_outputs.tolist() == [6] and r.settled.tolist() == [True]


def test_outputs_are_rounded_to_four_decimals_and_read_at_the_last_window_step(task):
    # 0.50001 and 0.500014 both round to 0.5: five distinct, a slow manifold (six at 6 decimals);
    # 0.5002 stays apart from 0.5: six, fixed points
    near = [0.50001, 0.500014, -0.5, 1.0, -1.0, 1.5]
    assert label(settled(near), task) == (SM, "slow manifold")
    assert label(settled([0.5, 0.5002, -0.5, 1.0, -1.0, 1.5]), task) == (FP, "fixed points")
    # the rule reads z at the last step of the window (last_output), not after the final step
    var, mean, last = settled([0.5, -0.5, 1.0, -1.0, 1.5, -1.5])
    probe = fake_probe(var, mean, last, final=np.full(S, 0.5))
    assert classify_original(probe, task).tolist() == [FP]
    probe.last_output = None                                    # an old probe: final_output stands in
    assert classify_original(probe, task).tolist() == [SM]
    assert original_rule(fake_probe(*settled(near)), task, cfg=DynamicsConfig(original_decimals=6)).label[0] == FP


def test_variance_is_cast_to_float32_before_its_threshold(task):
    var, mean, last = settled([0.5, -0.5, 1.0, -1.0, 1.5, -1.5])
    assert label((np.full(S, 0.99e-9), mean, last), task)[0] == FP
    one = var.copy()
    one[7] = 1.01e-9                                            # one start above: not settled -> not a fixed point
    assert label((one, mean, last), task)[0] != FP
    # 9.9999999e-10 < 1e-9 in float64, but both are the same float32 number: not below in float32
    v = 9.9999999e-10
    assert v < 1e-9 and np.float32(v) == np.float32(1e-9)
    assert label((np.full(S, v), mean, last), task)[1] == "mixed"


def test_limit_cycle_needs_all_window_means_distinct(task):
    assert label(moving(np.linspace(-1.0, 1.0, S)), task) == (LC, "limit cycle")
    # one settled start among oscillating ones keeps the variance test failing: distinct means still say LC
    var, mean, last = moving(np.linspace(-1.0, 1.0, S))
    var[0] = 0.0
    assert label((var, mean, last), task)[0] == LC


def test_float32_cast_makes_two_nearly_equal_means_equal(task):
    means = np.linspace(-1.0, 1.0, S)
    means[1] = means[0] + 1e-12                              # distinct in float64, one float32 number
    assert means[1] != means[0] and np.float32(means[1]) == np.float32(means[0])
    r = original_rule(fake_probe(*moving(means)), task)
    assert r.branch.tolist() == ["mixed"] and r.label.tolist() == [FM] and r.n_distinct_means.tolist() == [S - 1]
    means[1] = means[0] + 1e-3
    assert label(moving(means), task)[1] == "limit cycle"


def test_far_and_mixed(task):
    base = np.resize([0.5, 1.0], S)                              # repeated means: not a limit cycle
    assert label(moving(base), task) == (FM, "mixed")
    for v, branch in ((4.01, "far"), (-4.01, "far"), (4.0, "mixed"), (-4.0, "mixed"), (np.nan, "far")):
        m = base.copy()
        m[3] = v
        assert label(moving(m), task) == (FM, branch), v
    m = base.copy()
    m[3] = 3.6
    assert label(moving(m), task, cfg=DynamicsConfig(original_far_margin=2.0))[1] == "far"   # beyond 1.5 + 2


def test_rule_is_per_network_whatever_the_batch(task):
    cases = [settled([0.5, -0.5, 1.0, -1.0, 1.5, -1.5]), settled([0.5, 1.0]), moving(np.linspace(0, 1, S)),
             moving(np.resize([0.5, 4.5], S)), moving(np.resize([0.5, 1.0], S))]
    batch = fake_probe(*(np.stack([c[k] for c in cases]) for k in range(3)))
    want = ["fixed points", "slow manifold", "limit cycle", "far", "mixed"]
    assert original_rule(batch, task).branch.tolist() == want
    for b, case in enumerate(cases):
        assert original_rule(fake_probe(*case), task).branch.tolist() == [want[b]]
    rev = fake_probe(*(np.stack([c[k] for c in cases[::-1]]) for k in range(3)))
    assert original_rule(rev, task).branch.tolist() == want[::-1]


# --------------------------------------------------------------------------- the authors' start noise
def their_starts(trial_ends: np.ndarray, n_per_centre: int = 20, scale: float = 0.5) -> np.ndarray:
    """``(5 * n_per_centre, N)`` starts laid out as the authors' loop does: a RandomState(1) made for the
    network, centres origin, type 0, ..., type 3, and for each in turn n_per_centre rows of randn(1, N)."""
    rng = np.random.RandomState(1)
    N = trial_ends.shape[1]
    rows = []
    for c in np.vstack([np.zeros((1, N)), trial_ends]):
        for _ in range(n_per_centre):
            rows.append(c + rng.randn(1, N)[0] * scale)
    return np.stack(rows)


def test_start_noise_is_randomstate_1_in_the_authors_order():
    from slowmem.config import NetworkConfig

    N = 9
    net = RateNetworks.create(NetworkConfig(N=N), [3, 11])
    ends = torch.randn(2, 4, N, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    starts, centre = probe_starts(net, ends)
    # ours: types 0..3 then the origin; theirs: the origin first
    ours_in_their_order = np.concatenate([np.flatnonzero(centre == 4), np.flatnonzero(centre < 4)])
    for b in range(2):                                       # the same RandomState(1) noise for every network
        assert np.array_equal(starts[b].numpy()[ours_in_their_order], their_starts(ends[b].numpy()))
    raw = authors_start_noise(DynamicsConfig(), N)
    assert np.array_equal(raw[centre == 4], np.random.RandomState(1).standard_normal((20, N)))
    # without the origin the centres are the types in order; another start_seed, other draws
    cfg = DynamicsConfig(include_origin=False, starts_per_centre=3)
    assert np.array_equal(authors_start_noise(cfg, N), np.random.RandomState(1).randn(12, N))
    assert not np.array_equal(authors_start_noise(DynamicsConfig(start_seed=2), N), raw)
    # float32 systems: the same draws, cast
    s32, _ = probe_starts(net.as_dtype("float32"), ends)
    assert s32.dtype == torch.float32 and torch.allclose(s32.double(), starts, atol=1e-6)


def test_network_draws_depend_on_the_seed_only():
    from slowmem.config import NetworkConfig

    N = 5
    net = RateNetworks.create(NetworkConfig(N=N), [3, 11])
    ends = torch.zeros(2, 4, N, dtype=torch.float64)
    cfg = DynamicsConfig(start_draws="network")
    both, _ = probe_starts(net, ends, cfg)
    alone, _ = probe_starts(net.select([1]), ends[1:], cfg)
    assert torch.equal(both[1:], alone) and not torch.equal(both[0], both[1])
    authors, _ = probe_starts(net, ends)
    assert torch.equal(authors[0], authors[1])


def test_settings_are_part_of_the_identity():
    from slowmem.analysis import summary_identity
    from slowmem.config import Config

    base = summary_identity(Config(), "dynamics")["settings"]
    for k, v in (("start_draws", "authors"), ("start_seed", 1), ("original_variance", 1e-9),
                 ("original_decimals", 4), ("original_far_margin", 2.5)):
        assert base[k] == v, k
    from dataclasses import replace
    cfg = Config()
    other = replace(cfg, dynamics=replace(cfg.dynamics, original_decimals=2))
    assert summary_identity(other, "dynamics") != summary_identity(cfg, "dynamics")
