"""Memory under stress: forgetting curves, distraction, interruption (slowmem.analysis.memory).

Three hand-designed networks make the expected answers known in advance:

* a **latch network**: bistable units (stable fixed points) hold the phase of
  the trial and both digits; logic units read them out. It solves the SPM task
  and, since its memories sit at stable fixed points, must never fail however
  long delay 1 is. The same network with the digit-1 latch made monostable
  (self-excitation 0.9 < 1) must forget: the test can fail.
* a **leaky integrator**: decoupled units x' = -(1 - w) x + input in the
  near-linear regime of tanh. Its stored value decays with time constant
  tau / (1 - w), so the delay at which the response drifts by 0.1 is known in
  closed form.
* a small **trained** network (FORCE, N = 200) that passed its success test.

Both designed networks see noiseless stimuli (every image of digit 0 has latent
(1, 0), of digit 1 latent (0, 1)) so that their answers are exact.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from slowmem.analysis import ANALYSES, get_analysis
from slowmem.analysis.forgetting import FAILURE_TYPES, delay_grid, forgetting_curve
from slowmem.analysis.memory import bootstrap_band, frames_from_summaries, run_memory, summarize
from slowmem.analysis.robustness import distraction, distraction_noise, interruption
from slowmem.config import ACCURACY_TOLERANCE, ConfigError, MemoryConfig, NetworkConfig, TaskConfig
from slowmem.errors import ShapeError
from slowmem.evaluation import evaluate, is_correct, trial_failed
from slowmem.network import RateNetworks
from slowmem.runtime import Runtime
from slowmem.stimuli import VAE, StimulusBank
from slowmem.task import TRIAL_TYPES, SPMTask


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small simulations on a shared 2-core machine: one thread is faster and kinder."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------- #
# designed networks
# --------------------------------------------------------------------------- #
def clean_task(encoding=(1.0, 0.5, 1.5)) -> SPMTask:
    """The SPM task with noiseless stimuli: digit 0 -> latent (1, 0), digit 1 -> (0, 1)."""
    lat = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    bank = StimulusBank(lat, torch.tensor([0, 1]), "digits", (8, 8), VAE(64))
    return SPMTask(TaskConfig(encoding=encoding), bank=bank)


def from_parts(parts) -> RateNetworks:
    """B networks from (M, wi, wo, x0) tuples: J = M, g = 1, no feedback, no memory readout."""
    Ms, wis, wos, x0s = zip(*parts)
    B, N = len(Ms), Ms[0].shape[0]
    f = lambda a: torch.as_tensor(np.stack(a), dtype=torch.float64)  # noqa: E731
    z = lambda *s: torch.zeros(B, *s, dtype=torch.float64)  # noqa: E731
    return RateNetworks(J=f(Ms), g=torch.ones(B, dtype=torch.float64), wf=z(N, 1), wfd=z(N, 2), wi=f(wis),
                        wo=f(wos), wd=z(N, 2), x0=f(x0s), configs=(NetworkConfig(N=N),) * B,
                        seeds=tuple(range(B)))


UNITS = ("bias", "e0", "e1", "stim", "M_on", "M_off", "M", "S_on", "S_off", "S",
         "D1_one", "D1_zero", "D1", "D2_one", "D2_zero", "D2", "both1", "both0")


def latch_network(d1_self: float = 2.0, beta: float = 10.0, k: float = 5.0):
    """A network that does the SPM task with every memory at a stable fixed point.

    Rates are logic values near +-1. ``bias`` is a self-excited unit stuck near
    +1 (the network has no bias term). ``e0``/``e1``: digit 0/1 on the input;
    ``stim`` = e0 OR e1. A master-slave flip-flop (``M``, ``S``) counts stimuli
    mod 2: during a stimulus M <- NOT S, between stimuli S <- M, so S is -1
    during stimulus 1 and +1 during stimulus 2. Latch ``D1`` takes the digit
    while (stimulus AND S = -1), ``D2`` while (stimulus AND S = +1). The
    response is 1.25 + 0.5 AND(D1, D2) + 0.25 AND(NOT D1, NOT D2), i.e. 1.0,
    0.5, 0.5, 1.5 for the four trial types. Latches are bistable (self
    excitation 2 > 1); ``d1_self`` < 1 makes the digit-1 latch leaky.
    """
    N = len(UNITS)
    i = {u: j for j, u in enumerate(UNITS)}
    M = np.zeros((N, N))
    wi = np.zeros((N, 2))

    def AND(out, literals):     # tanh(beta * (sum of literals - (n - 1)))
        for u, sign in literals:
            M[i[out], i[u]] += sign * beta
        M[i[out], i["bias"]] -= (len(literals) - 1) * beta

    M[i["bias"], i["bias"]] = 3.0
    wi[i["e0"]] = (2 * beta, 0.0)
    wi[i["e1"]] = (0.0, 2 * beta)
    M[i["e0"], i["bias"]] = M[i["e1"], i["bias"]] = -beta
    M[i["stim"], [i["e0"], i["e1"], i["bias"]]] = beta                 # OR
    AND("M_on", [("stim", 1), ("S", -1)])
    AND("M_off", [("stim", 1), ("S", 1)])
    AND("S_on", [("stim", -1), ("M", 1)])
    AND("S_off", [("stim", -1), ("M", -1)])
    AND("D1_one", [("e1", 1), ("S", -1)])
    AND("D1_zero", [("e0", 1), ("S", -1)])
    AND("D2_one", [("e1", 1), ("S", 1)])
    AND("D2_zero", [("e0", 1), ("S", 1)])
    AND("both1", [("D1", 1), ("D2", 1)])
    AND("both0", [("D1", -1), ("D2", -1)])
    # latches: self-excitation (> 1: bistable) plus a push of +-2k while their set / reset gate is on
    for latch, up, down, self_exc in (("M", "M_on", "M_off", 2.0), ("S", "S_on", "S_off", 2.0),
                                      ("D1", "D1_one", "D1_zero", d1_self), ("D2", "D2_one", "D2_zero", 2.0)):
        M[i[latch], i[latch]] = self_exc
        M[i[latch], i[up]] = k
        M[i[latch], i[down]] = -k
    xb = 3.0
    for _ in range(200):        # the bias unit's fixed point x = 3 tanh(x)
        xb = 3.0 * math.tanh(xb)
    wo = np.zeros((N, 1))
    wo[i["bias"], 0] = 1.25 / math.tanh(xb)
    wo[i["both1"], 0] = 0.5
    wo[i["both0"], 0] = 0.25
    x0 = np.full(N, -beta)
    x0[i["bias"]] = xb
    return M, wi, wo, x0


def leaky_integrators(ws, task, a=1e-4):
    """One network per w: a slow unit (self-coupling w < 1) and a fast one (0), both fed digit-1 evidence.

    Near-linear regime (|x| ~ 1e-3, where tanh(x) = x to 1e-6). The readout is calibrated so that from
    the origin, at the trained delay, stimulus 1 and stimulus 2 each add 0.5
    to the response when they are a digit 1: the response is 0.5 * (number of
    ones), i.e. the encoding (0, 0.5, 1).
    """
    parts = []
    for w in ws:
        M = np.diag([w, 0.0])
        wi = np.array([[0.0, a], [0.0, a]])
        parts.append((M, wi, np.zeros((2, 1)), np.zeros(2)))
    net = from_parts(parts)
    # calibrate: mean response-window rates of the types (1, 0) and (0, 1) from the origin
    types = np.array([[2, 1]] * len(ws))
    from slowmem.task import trial_rng
    tr = task.make_trials(types, [trial_rng(0, 9)] * len(ws))
    sim = net.simulate(torch.zeros(len(ws), 2, 2, dtype=torch.float64), tr.inputs, record_every=1)
    w = task.windows["response"]
    # the output at step t reads the state before that step's update, i.e. states[t - 1]
    R = torch.tanh(sim.states[w.start - 1:w.stop - 1]).mean(0)               # (B, 2 types, 2 units)
    wo = torch.linalg.solve(R, torch.full((len(ws), 2, 1), 0.5, dtype=torch.float64))
    net.wo.copy_(wo)
    return net


@pytest.fixture(scope="module")
def ctask():
    return clean_task()


@pytest.fixture(scope="module")
def latch(ctask):
    """The latch network (network 0) and its leaky-latch variant (network 1), with trial-end states."""
    net = from_parts([latch_network(), latch_network(d1_self=0.9)])
    ev = evaluate(net, ctask, net.x0, test_trials=12, n_seeds=2)
    return net, ev


# --------------------------------------------------------------------------- #
# (a) memories at stable fixed points are never forgotten
# --------------------------------------------------------------------------- #
def test_latch_network_solves_the_task(latch):
    net, ev = latch
    assert ev.success.tolist()[0] is True and ev.test_accuracy[0] == 1.0
    # trial-end states: the phase latch S is back at -1 after every trial
    S = UNITS.index("S")
    assert (ev.trial_end_states[0, :, S] < -1).all()


def test_fixed_point_memories_never_fail_under_delay_extension(latch, ctask):
    net, ev = latch
    c = forgetting_curve(net, ctask, ev.trial_end_states, delay_step=2.5)
    K = 16 * MemoryConfig().n_draws                          # 4 types x 4 starts x the draws
    assert c.delays[0] == 1.0 and c.delays[-1] == 198.5 and c.failed.shape == (2, len(c.delays), K)
    p = c.failure_probability()
    long = c.delays >= 5
    # the bistable network: not one failed trial from the trained delay up to ~200 time units
    assert (p[0, long] == 0).all()
    assert c.memory_horizon()[0] is None
    assert np.allclose(c.mean_response[0, long], ctask.response_values().numpy()[c.trial_types], atol=1e-3)
    # the same design with a monostable digit-1 latch loses the memory: the test can fail
    assert c.memory_horizon()[1] is not None and p[1, long].mean() > 0.5
    counts = c.failure_type_counts()[1]
    assert set(counts) == set(FAILURE_TYPES) and sum(counts.values()) == c.failed[1].sum()
    # a lost memory does not come back: the leaky latch's failures are mostly asymptotic
    assert counts["asymptotic"] > counts["fixed-time"]


# --------------------------------------------------------------------------- #
# (b) a leaky integrator forgets when its time constant says
# --------------------------------------------------------------------------- #
def test_leaky_integrator_forgets_at_predicted_delay():
    task = clean_task(encoding=(0.0, 0.5, 1.0))
    ws = (0.98, 0.995, 0.998)                       # time constants 50, 200, 500
    net = leaky_integrators(ws, task)
    starts = torch.zeros(len(ws), 4, 2, dtype=torch.float64)   # the origin: nothing in memory
    c = forgetting_curve(net, task, starts, delay_step=0.5)
    p = c.failure_probability()
    trained = task.cfg.timing["delay1"]
    # at the trained delay the design is exact
    assert (p[:, c.delays == trained] == 0).all()
    for b, w in enumerate(ws):
        tau_m = task.cfg.tau / (1 - w)
        # a stored 0.5 decays as 0.5 exp(-(d - 5) / tau_m); it fails once it has lost 0.1
        predicted = trained + tau_m * math.log(0.5 / (0.5 - ACCURACY_TOLERANCE))
        horizon = c.memory_horizon()[b]
        assert horizon is not None and abs(horizon - predicted) <= 0.1 * predicted, (w, horizon, predicted)
        assert abs(horizon - predicted) <= 0.5          # in fact within one grid step
        # only the types whose first digit is a 1 fail: (1, 0) and (1, 1)
        late = c.delays > predicted + 1
        assert np.allclose(p[b, late], 0.5)
        first_is_one = np.array([TRIAL_TYPES[t][0] == 1 for t in c.trial_types])
        assert c.failed[b][late][:, first_is_one].all() and not c.failed[b][:, ~first_is_one].any()


def test_original_protocol_extends_after_the_nominal_delay_and_compares_with_itself():
    """The authors' protocol on the leaky design: the extra delay d follows the nominal 5 tau, so the memory
    has lost 0.1 of its own final output once d reaches about tau_m ln(0.5 / 0.4): the replace-protocol
    horizon minus the nominal delay (within a grid step; the final output is read at one step, not
    averaged, hence the small shift). A latch never forgets in either protocol."""
    task = clean_task(encoding=(0.0, 0.5, 1.0))
    net = leaky_integrators((0.98, 0.995), task)
    starts = torch.zeros(2, 4, 2, dtype=torch.float64)
    ours = forgetting_curve(net, task, starts, delay_step=0.5)
    theirs = forgetting_curve(net, task, starts, delay_step=0.5, protocol="extend")
    assert theirs.protocol == "extend" and np.array_equal(theirs.delays, ours.delays)
    nominal = task.cfg.timing["delay1"]
    for b in range(2):
        shifted = ours.memory_horizon()[b] - nominal
        assert abs(theirs.memory_horizon()[b] - shifted) <= 0.05 * shifted + 0.5
    # half the trials (first digit 1) fail at long delays: both summary measures say so
    assert np.allclose(theirs.long_delay_failure(100.0), 0.5) and theirs.half_failure_delay() == \
        theirs.memory_horizon()
    with pytest.raises(ConfigError, match="protocol must be one of"):
        forgetting_curve(net, task, starts, delay_step=0.5, protocol="stretch")


def test_latch_never_forgets_under_either_protocol(latch, ctask):
    """The bistable latch (network 0) keeps every memory in both protocols; the monostable one (1) loses
    it in both, so the two protocols agree on which network forgets."""
    net, ev = latch
    for proto in ("replace", "extend"):
        c = forgetting_curve(net, ctask, ev.trial_end_states, delays=[6.0, 31.0, 56.0, 81.0, 156.0], protocol=proto)
        assert not c.failed[0].any() and c.memory_horizon()[0] is None
        assert c.long_delay_failure(50.0)[0] == 0 and c.half_failure_delay()[0] is None
        assert c.long_delay_failure(50.0)[1] > 0.5 and c.memory_horizon()[1] is not None


def test_zero_mean_distractor_and_whole_trial_interruption():
    """Zero-mean noise of the same spread does not bias the digit-1 channel: no failure until the spread
    itself is large; silencing the slow unit for the whole trial also loses stimulus 2's evidence, so every
    type with a 1 anywhere fails ((0, 1), (1, 0), (1, 1): 3 of 4), not only those with a first 1."""
    task = clean_task(encoding=(0.0, 0.5, 1.0))
    net = leaky_integrators((0.98,), task)
    starts = torch.zeros(1, 4, 2, dtype=torch.float64)
    lit = distraction(net, task, starts, sigmas=[0, 0.1, 1, 10], n_repeats=2, distractor="literal")
    zero = distraction(net, task, starts, sigmas=[0, 0.1, 1, 10], n_repeats=2, distractor="zero_mean")
    assert lit.failure_ratio()[0].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert zero.failure_ratio()[0, :3].tolist() == [0.0, 0.0, 0.0] and 0 < zero.failure_ratio()[0, 3] < 1
    whole = interruption(net, task, starts, fractions=[0, 0.5, 1.0], n_repeats=2, protocol="whole_trial")
    assert whole.failure_ratio()[0].tolist() == [0.0, 0.75, 0.75]
    with pytest.raises(ConfigError, match="distractor must be one of"):
        distraction(net, task, starts, sigmas=[1], distractor="bias")


def test_leaky_integrator_distraction_and_interruption_exact():
    """Analytic stress results of the linear design (N = 2: slow unit 0, fast unit 1)."""
    task = clean_task(encoding=(0.0, 0.5, 1.0))
    net = leaky_integrators((0.98,), task)
    starts = torch.zeros(1, 4, 2, dtype=torch.float64)
    # distraction: the literal noise uniform*sigma + 0.5 adds >= 0.5 to the digit-1 channel at every
    # step of stimulus 1, i.e. >= 0.25 to every response: every trial fails at every sigma > 0
    d = distraction(net, task, starts, sigmas=[0, 0.1, 1, 10], n_repeats=2)
    assert d.failure_ratio()[0].tolist() == [0.0, 1.0, 1.0, 1.0]
    # interruption: n_off = 1 silences the slow unit, which alone carries stimulus 1 to the response;
    # trials whose first digit is 1 ((1, 0) and (1, 1)) then fail; silencing both units does the same
    it = interruption(net, task, starts, fractions=[0, 0.5, 1.0], n_repeats=2)
    assert it.n_off.tolist() == [0, 1, 2]
    assert it.failure_ratio()[0].tolist() == [0.0, 0.5, 0.5]
    first_is_one = np.array([TRIAL_TYPES[t][0] == 1 for t in it.trial_types])
    assert (it.failed[0, 1] == first_is_one).all()


# --------------------------------------------------------------------------- #
# (c) a trained network that passed its success test: no failures without disturbance
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def trained():
    """One FORCE-trained network, N = 200, 1000 trials (about 20 s on one core); must pass its test."""
    from slowmem.config import Config
    from slowmem.training import train_from_config

    cfg = Config.from_preset("ci", N=200, trials=1000)
    task, res = train_from_config(cfg, [0], progress=False)
    ev = evaluate(res.networks, task, res.final_state, test_trials=20, diverged=res.diverged)
    assert ev.success.all(), "the reference network must pass its success test"
    return res.networks, task, ev.trial_end_states


def test_trained_network_no_failures_without_disturbance(trained):
    net, task, ends = trained
    cfg = MemoryConfig(n_repeats=4)
    d = distraction(net, task, ends, sigmas=[0.0, 40.0], cfg=cfg)
    it = interruption(net, task, ends, fractions=[0.0, 0.9], cfg=cfg)
    assert d.failed.shape == (1, 2, 64) and it.failed.shape == (1, 2, 64)
    assert d.failure_ratio()[0, 0] <= 0.05 and it.failure_ratio()[0, 0] <= 0.05
    # huge disturbances do break it
    assert d.failure_ratio()[0, 1] > 0.3 and it.failure_ratio()[0, 1] > d.failure_ratio()[0, 0]
    c = forgetting_curve(net, task, ends, delays=[5.0, 200.0])
    assert c.failure_probability()[0, 0] <= 1 / 16


# --------------------------------------------------------------------------- #
# (d) determinism, batching, summaries
# --------------------------------------------------------------------------- #
SMALL = dict(delay_step=10.0, sigmas=[0.0, 1.0, 10.0], fractions=[0.0, 0.5])


def test_summarize_deterministic_and_json_ready(trained):
    net, task, ends = trained
    cfg = MemoryConfig(n_repeats=2)
    a = summarize(net, task, ends, cfg=cfg, **SMALL)
    b = get_analysis("memory")(net, task, ends, cfg=cfg, **SMALL)
    assert "memory" in ANALYSES
    assert json.dumps(a) == json.dumps(b)            # identical for the same seed, and JSON-ready
    (s,) = a
    assert set(s) >= {"memory_horizon", "forgets", "forgetting", "distraction", "interruption", "long_delay_failure",
                      "half_failure_delay"}
    assert set(s["forgetting"]) == {"replace", "extend"} and set(s["distraction"]) == {"literal", "zero_mean"}
    assert set(s["interruption"]) == {"stim1", "whole_trial"}
    assert list(s["distraction"]["literal"]["failure_ratio"]) == ["0", "1", "10"]
    assert s["forgetting"]["replace"]["delays"][:3] == [1.0, 11.0, 21.0]
    assert s["forgets"] == (s["memory_horizon"] is not None)
    assert s["memory_horizon"] == s["forgetting"]["replace"]["memory_horizon"]
    ratios = s["distraction"]["literal"]["failure_ratio"]
    assert s["distraction"]["literal"]["mean_failure"] == pytest.approx((ratios["1"] + ratios["10"]) / 2)
    # each measure carries its standard error over the network's conditions, and the noise tolerance its bounds
    lit = s["distraction"]["literal"]
    assert s["long_delay_failure_se"] == s["forgetting"]["replace"]["long_delay_failure_se"] >= 0
    assert lit["mean_failure_se"] >= 0 and lit["log2_tolerance_se"] >= 0
    assert 1.0 <= lit["tolerance"] <= 10.0 and lit["log2_tolerance"] == pytest.approx(math.log2(lit["tolerance"]))
    assert lit["tolerance_censored"] in (None, "at most the first level", "at least the largest level")
    assert (lit["tolerance_censored"] == "at least the largest level") == (ratios["10"] < cfg.tolerance_failure)
    assert "tolerance" not in s["interruption"]["stim1"] and "mean_failure_se" in s["interruption"]["stim1"]


def test_batch_independence_and_chunking(latch, ctask):
    """A network's result does not depend on its batch neighbours nor on the chunk size."""
    net, ev = latch
    delays = [1.0, 2.0, 3.5, 5.0, 8.0, 13.0, 40.0]   # irregular grid
    both = forgetting_curve(net, ctask, ev.trial_end_states, delays=delays)
    alone = forgetting_curve(net.select([1]), ctask, ev.trial_end_states[1:], delays=delays)
    tiny = forgetting_curve(net.select([1]), ctask, ev.trial_end_states[1:], delays=delays,
                            runtime=Runtime(max_chunk_elements=1))
    for r in (alone, tiny):
        assert np.allclose(r.mean_response[0], both.mean_response[1], atol=1e-9)
        assert (r.failure_type[0] == both.failure_type[1]).all()
    d_both = distraction(net, ctask, ev.trial_end_states, sigmas=[0, 2], n_repeats=2)
    d_alone = distraction(net.select([1]), ctask, ev.trial_end_states[1:], sigmas=[0, 2], n_repeats=2,
                          runtime=Runtime(max_chunk_elements=1))
    assert np.allclose(d_alone.mean_response[0], d_both.mean_response[1], atol=1e-9)
    # device/dtype agnostic: float32 gives the same verdicts
    f32 = forgetting_curve(net.to(dtype="float32"), ctask, ev.trial_end_states, delays=delays)
    assert (f32.failed == both.failed).all() and np.allclose(f32.mean_response, both.mean_response, atol=1e-3)


def test_failure_rule_is_complement_of_accuracy(task):
    g = torch.Generator().manual_seed(0)
    means = torch.rand(400, generator=g, dtype=torch.float64) * 2
    means[:3] = torch.tensor([float("nan"), 1.0999, 0.4])
    types = torch.randint(0, 4, (400,), generator=g)
    assert torch.equal(trial_failed(means, types, task, ACCURACY_TOLERANCE), ~is_correct(means, types, task))


def test_distraction_noise_is_literal():
    u = torch.rand(50, 1, 3, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    n = distraction_noise(torch.tensor([0.0, 2.0]), u, 0.5)
    assert n.shape == (50, 1, 2, 3, 2)
    assert (n[:, :, 0] == 0).all()                       # sigma = 0: the noiseless control
    assert torch.allclose(n[:, :, 1], 2.0 * u + 0.5)      # uniform(0,1) * sigma + 0.5


def test_bad_settings_raise(task, latch, ctask):
    net, ev = latch
    with pytest.raises(ConfigError, match="delays"):
        delay_grid(task, [5.0, 5.05])
    with pytest.raises(ConfigError, match="strictly increasing"):
        delay_grid(task, [5.0, 3.0])
    with pytest.raises(ConfigError, match="sigmas"):
        distraction(net, ctask, ev.trial_end_states, sigmas=[-1.0])
    with pytest.raises(ConfigError, match="interruption_fractions"):
        interruption(net, ctask, ev.trial_end_states, fractions=[1.5])
    with pytest.raises(ShapeError, match="trial_end_states"):
        forgetting_curve(net, ctask, ev.trial_end_states[:1])
    with pytest.raises(ConfigError, match="n_draws"):
        MemoryConfig(n_draws=0)


def test_frames_bootstrap_and_plots(latch, ctask):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from slowmem.plots import memory as plots_memory

    net, ev = latch
    res = run_memory(net, ctask, ev.trial_end_states, delay_step=20.0, sigmas=[0.0, 1.0],
                     fractions=[0.0, 0.5], cfg=MemoryConfig(n_repeats=2))
    fr = res.frames()
    rebuilt = frames_from_summaries(res.summaries(), list(net.seeds),
                                    meta=pd.DataFrame({"seed": [0, 1], "mechanism": ["fixed point", "leaky"]}))
    cols = ["seed", "protocol", "delay", "failure_prob"]
    pd.testing.assert_frame_equal(fr["forgetting"][cols].sort_values(cols).reset_index(drop=True),
                                  rebuilt["forgetting"][cols].sort_values(cols).reset_index(drop=True))
    cols = ["seed", "distractor", "sigma", "failure_ratio"]
    pd.testing.assert_frame_equal(fr["distraction"][cols].sort_values(cols).reset_index(drop=True),
                                  rebuilt["distraction"][cols].sort_values(cols).reset_index(drop=True))
    rebuilt = {k: v[v.get("protocol", v.get("distractor")).isin(["replace", "literal", "stim1"])].reset_index(drop=True)
               for k, v in rebuilt.items()}
    assert rebuilt["horizon"].memory_horizon.isna().tolist() == [True, False]
    band = bootstrap_band(rebuilt["forgetting"], "delay", "failure_prob", n_boot=200)
    again = bootstrap_band(rebuilt["forgetting"], "delay", "failure_prob", n_boot=200)
    pd.testing.assert_frame_equal(band, again)
    assert ((band.lo <= band["mean"] + 1e-12) & (band["mean"] <= band.hi + 1e-12)).all()
    assert (band.n_networks == 2).all()
    per_group = bootstrap_band(rebuilt["forgetting"], "delay", "failure_prob", by="mechanism", n_boot=50)
    assert (per_group.lo == per_group.hi).all()          # one network per group: no spread
    for fig in (plots_memory.forgetting_curves(rebuilt["forgetting"]),
                plots_memory.memory_horizons(rebuilt["horizon"]),
                plots_memory.failure_vs_noise(rebuilt["distraction"]),
                plots_memory.failure_vs_interruption(rebuilt["interruption"]),
                plots_memory.failure_types(rebuilt["horizon"])):
        assert isinstance(fig, Figure) and fig.axes


def test_joint_protocols_read_the_same_simulations(latch, ctask):
    """forgetting_curves reads both protocols from one set of trials: its replace curve is
    forgetting_curve's, its extend curve is forgetting_curve's at the extra delays total - delay1;
    interruptions shares stimulus 1 and delay 1 between protocols and gives each one's result."""
    from slowmem.analysis.forgetting import forgetting_curves
    from slowmem.analysis.robustness import interruptions

    net, ev = latch
    totals = [1.0, 5.0, 9.0, 31.0, 56.0, 81.0]
    both = forgetting_curves(net, ctask, ev.trial_end_states, delays=totals)
    rep = forgetting_curve(net, ctask, ev.trial_end_states, delays=totals)
    d1 = ctask.cfg.timing["delay1"]
    extras = [t - d1 for t in totals if t > d1]
    ext = forgetting_curve(net, ctask, ev.trial_end_states, delays=extras, protocol="extend")
    assert np.array_equal(both["replace"].delays, rep.delays) and np.allclose(both["extend"].delays, extras)
    for mine, alone in ((both["replace"], rep), (both["extend"], ext)):
        assert np.allclose(mine.mean_response, alone.mean_response, atol=1e-5)
        assert np.array_equal(mine.failed, alone.failed) and np.array_equal(mine.failure_type, alone.failure_type)
    its = interruptions(net, ctask, ev.trial_end_states, fractions=(0.0, 0.5, 0.9))
    for proto, st in its.items():
        alone = interruption(net, ctask, ev.trial_end_states, fractions=(0.0, 0.5, 0.9), protocol=proto)
        assert np.allclose(st.mean_response, alone.mean_response, atol=1e-6)
        assert np.array_equal(st.failed, alone.failed)
    with pytest.raises(ConfigError, match="protocol must be one of"):
        forgetting_curves(net, ctask, ev.trial_end_states, delays=totals, protocols=("stretch",))


def test_simulation_dtype_float32_and_float64_agree(latch, ctask):
    """The stress tests in float32 (the default) and float64 give the same failures on the latch designs.

    This bounds the one run setting (slowmem.runtime.Runtime.simulation_dtype) that can change numbers.
    """
    net, ev = latch
    kw = dict(delays=[6.0, 31.0, 81.0])
    a = forgetting_curve(net, ctask, ev.trial_end_states, runtime=Runtime(simulation_dtype="float64"), **kw)
    b = forgetting_curve(net, ctask, ev.trial_end_states, runtime=Runtime(simulation_dtype="float32"), **kw)
    assert np.array_equal(a.failed, b.failed) and np.allclose(a.mean_response, b.mean_response, atol=1e-4)
    with pytest.raises(ConfigError, match="simulation_dtype must be one of"):
        Runtime(simulation_dtype="float16")
    with pytest.raises(ConfigError, match="'simulation_dtype' is a run setting"):
        MemoryConfig(simulation_dtype="float64")


def test_variants_on_fewer_repeats_run_the_same_trials(latch, ctask):
    """variant_repeats runs the second reading on the first draws of each condition: the same trials as the
    full test's (paired), its noiseless control taken from the first reading; summaries say how many."""
    from slowmem.analysis.robustness import _first_repeats, interruptions

    net, ev = latch
    sig = (0.0, 1.0, 5.0)
    lit = distraction(net, ctask, ev.trial_end_states, sigmas=sig, distractor="literal")
    full = distraction(net, ctask, ev.trial_end_states, sigmas=sig, distractor="zero_mean")
    part = distraction(net, ctask, ev.trial_end_states, sigmas=sig, distractor="zero_mean", repeats=3,
                       control=lit.select_level(0.0))
    rows = _first_repeats(full.mean_response.shape[-1], 10, 3)
    assert part.mean_response.shape[-1] == 3 * 16 and np.array_equal(part.trial_types, full.trial_types[rows])
    assert np.allclose(part.mean_response, full.mean_response[:, :, rows], atol=1e-5)
    assert np.array_equal(part.mean_response[:, 0], lit.mean_response[:, 0][:, rows])
    its = interruptions(net, ctask, ev.trial_end_states, fractions=(0.0, 0.5), repeats={"whole_trial": 3})
    alone = interruption(net, ctask, ev.trial_end_states, fractions=(0.0, 0.5), protocol="whole_trial")
    assert np.allclose(its["whole_trial"].mean_response, alone.mean_response[:, :, rows], atol=1e-5)
    s = summarize(net, ctask, ev.trial_end_states, cfg=MemoryConfig(sigmas=sig, interruption_fractions=(0.0, 0.5),
                                                                     delay_max=20.0))
    assert s[0]["distraction"]["zero_mean"]["trials_per_level"] == 80
    assert s[0]["distraction"]["literal"]["trials_per_level"] == 160
    assert s[0]["interruption"]["whole_trial"]["trials_per_level"] == 80
    with pytest.raises(ConfigError, match="variant_repeats"):
        MemoryConfig(variant_repeats=0)
