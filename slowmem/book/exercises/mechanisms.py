"""Exercise checks of chapter 4: the taxonomy."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import torch

from slowmem.analysis.activity import activity_profile
from slowmem.analysis.attractors import AttractorProbe, count_distinct
from slowmem.analysis.mechanisms import classify
from slowmem.book.exercises.checks import _close, _run, _task
from slowmem.config import NetworkConfig
from slowmem.network import RateNetworks


# --------------------------------------------------------------------------- #
# chapter 4: the taxonomy
# --------------------------------------------------------------------------- #
def _clusters(rng: np.random.Generator, S: int) -> np.ndarray:
    k = int(rng.integers(1, 6))
    centres = np.sort(rng.choice(np.arange(1, 16) * 0.15, size=k, replace=False))
    z = centres[rng.integers(0, k, S)] * rng.choice([-1.0, 1.0], S)
    return z + rng.normal(0, 0.004, S)


def check_count_attractors(count_attractors: Callable) -> float:
    """Exercise 4.1: distinct |z_final| among settled starts vs slowmem.analysis.attractors.count_distinct."""

    rng = np.random.default_rng(7)

    def reference(z, settled, tol=0.05):
        n, _ = count_distinct(torch.as_tensor(np.abs(z))[None], torch.as_tensor(settled)[None], tol)
        return int(n[0])

    def random_cases():
        for i in range(30):
            z = _clusters(rng, 100)
            settled = rng.random(100) < 0.8
            z[~settled] = np.where(rng.random((~settled).sum()) < 0.5, np.nan, rng.normal(0, 2, (~settled).sum()))
            got, want = count_attractors(z.copy(), settled.copy()), reference(z, settled)
            if got != want:
                return False, f"case {i}: you counted {got!r}, there are {want}"
        return True, "30 random probes: same count as count_distinct of |z| (exact)"

    def special():
        z = np.array([1.0, -1.0, 1.002, -0.998, 0.5, -0.5])
        cases = [(z, np.ones(6, bool), 2, "mirror pairs fold"),
                 (z, np.zeros(6, bool), 0, "no settled start"),
                 (np.array([0.0, 0.04, 0.3, np.nan]), np.array([True, True, True, False]), 2,
                  "NaN of an unsettled start")]
        for zz, s, want, name in cases:
            got = count_attractors(zz.copy(), s.copy())
            if got != want:
                return False, f"{name}: you counted {got!r}, want {want}"
        return True, "mirror pairs, no settled start and NaNs handled"

    return _run("4.1", "counting attractors", [("random probes", random_cases), ("special cases", special)])


def _probe_from(summaries: Sequence[dict]):
    """An AttractorProbe holding the given per-network summaries (the fields classify() reads)."""

    B, S = len(summaries), len(summaries[0]["variance"])
    stack = lambda k: np.stack([np.asarray(s[k], dtype=np.float64) for s in summaries])    # noqa: E731
    finite = np.stack([np.asarray(s["finite"], bool) for s in summaries])
    zmin, zmax = stack("z_min"), stack("z_max")
    return AttractorProbe(
        seeds=np.arange(B), start_centre=np.zeros(S, np.int64), starts=torch.zeros(B, S, 1),
        output_variance=stack("variance"), output_mean=(zmin + zmax) / 2, output_min=zmin, output_max=zmax,
        final_output=stack("z_final"), final_state=torch.zeros(B, S, 1), finite=finite,
        settled=finite & (stack("variance") < 1e-4), n_distinct_outputs=np.zeros(B, np.int64),
        n_distinct_states=np.zeros(B, np.int64), trace_steps=np.zeros(0, np.int64), z_trace=np.zeros((0, B, S)),
        snapshot_steps=np.zeros(0, np.int64), snapshots=torch.zeros(0, B, S, 1), steps=0, window_steps=0,
        variance_tolerance=1e-4, output_tolerance=0.05, state_tolerance=0.05)


def _summary(rng, S=100, kind="settled", centres=(1.0, 0.5, 1.5), far=0, nonfinite=0, osc=0):
    z = np.array(centres)[rng.integers(0, len(centres), S)] * rng.choice([-1.0, 1.0], S) + rng.normal(0, 0.003, S)
    var = rng.uniform(1e-9, 5e-5, S) if kind == "settled" else rng.uniform(1e-3, 0.05, S)
    amp = np.sqrt(var) * 1.5
    s = {"finite": np.ones(S, bool), "variance": var, "z_min": z - amp, "z_max": z + amp, "z_final": z.copy()}
    if osc:
        s["variance"][:osc] = 0.01
    if far:
        s["z_max"][:far] = 3.1
    if nonfinite:
        s["finite"][:nonfinite] = False
        for k in ("variance", "z_min", "z_max", "z_final"):
            s[k][:nonfinite] = np.nan
    return s


def check_mechanism(mechanism: Callable, task=None) -> float:
    """Exercise 4.2: a network's label from its probe summary vs slowmem.analysis.mechanisms.classify."""

    task = task if task is not None else _task()
    rng = np.random.default_rng(11)
    named = [
        ("3 attractors", _summary(rng)),
        ("2 attractors", _summary(rng, centres=(1.0, 0.5))),
        ("1 attractor", _summary(rng, centres=(1.0,))),
        ("mirror images only", _summary(rng, centres=(0.5, 1.0, -1.0, -0.5))),
        ("every start oscillates", _summary(rng, kind="oscillating")),
        ("some settle, some oscillate", _summary(rng, osc=30)),
        ("one start far", _summary(rng, far=1)),
        ("one start diverged", _summary(rng, nonfinite=1)),
        ("oscillations reaching beyond 2.5", _summary(rng, kind="oscillating", far=100)),
        ("4 attractors", _summary(rng, centres=(1.0, 0.5, 1.5, 0.1))),
    ]
    random = [_summary(rng, kind=str(rng.choice(["settled", "oscillating"])),
                       centres=tuple(rng.choice([0.1, 0.5, 1.0, 1.5, 2.0], int(rng.integers(1, 5)), replace=False)),
                       far=int(rng.random() < 0.2), osc=int(rng.integers(0, 3)) * int(rng.random() < 0.3),
                       nonfinite=int(rng.random() < 0.1)) for _ in range(30)]

    def compare(cases, names):
        def fn():
            want = classify(_probe_from(cases), task).label
            for s, w, name in zip(cases, want, names):
                got = mechanism({k: np.array(v, copy=True) for k, v in s.items()})
                if got != w:
                    return False, f"{name}: you said {got!r}, the rule gives {w!r}"
            counts = {m: int((want == m).sum()) for m in dict.fromkeys(want)}
            return True, f"{len(cases)} networks labelled as classify() labels them {counts}"
        return fn

    return _run("4.2", "classify a network from its probe", [
        ("ten hand-made probes", compare([s for _, s in named], [n for n, _ in named])),
        ("thirty random probes", compare(random, [f"random probe {i}" for i in range(30)]))])


def check_saturation(saturation_summary: Callable, task=None) -> float:
    """Exercise 4.3: delay and response saturation and the phasic index vs slowmem.analysis.activity."""

    task = task if task is not None else _task()

    def compare(g, fb, readout_scale):
        def fn():
            net = RateNetworks.create(NetworkConfig(N=80, g=g, pg=0.5, fb=fb), 0)
            gen = torch.Generator().manual_seed(3)
            net = replace(net, wo=readout_scale * torch.randn(net.wo.shape, generator=gen, dtype=torch.float64),
                          wd=readout_scale * torch.randn(net.wd.shape, generator=gen, dtype=torch.float64))
            ends = 2 * torch.randn(1, 4, 80, dtype=torch.float64, generator=gen)
            act = activity_profile(net, task, ends, keep_states=True)
            got = saturation_summary(act.states[:, 0].clone(), task)
            want = (act.saturation_delay[0], act.saturation_response[0], act.phasic_index[0])
            if not (isinstance(got, (tuple, list)) and len(got) == 3):
                return False, "return (saturation_delay, saturation_response, phasic_index)"
            ok, detail = _close(np.array([float(v) for v in got]), np.array(want), 1e-12,
                                "(delay, response, index)")
            return ok, f"{detail}; here {want[0]:.3f}, {want[1]:.3f}, {want[2]:.3f}"
        return fn

    return _run("4.3", "phasic or tonic", [("a chaotic network, g = 1.8", compare(1.8, 10.0, 0.0)),
                                           ("random readouts fed back, fb = 1", compare(1.2, 1.0, 0.1))])
