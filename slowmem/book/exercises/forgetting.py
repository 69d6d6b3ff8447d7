"""Exercise checks of chapter 5: forgetting."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from slowmem.analysis.forgetting import ForgettingCurve, forgetting_curve
from slowmem.book.exercises.checks import _close, _np, _run, _task
from slowmem.config import Config
from slowmem.evaluation import evaluate, trial_failed
from slowmem.network import RateNetworks
from slowmem.runtime import Runtime
from slowmem.task import STREAMS, trial_rng
from slowmem.training import train


# --------------------------------------------------------------------------- #
# chapter 5: forgetting
# --------------------------------------------------------------------------- #
def trained_networks(task=None, fbs: Sequence[float] = (10.0, 1.0), seeds: Sequence[int] = (0, 1), *,
                     preset: str = "ci"):
    """Train one small network per (fb, seed) pair (the ``ci`` preset: N = 200, 1000 trials; seconds).

    Returns ``(networks (B networks), trial_end_states (B, 4, N), task)`` and prints how each does.
    """

    task = task if task is not None else _task()
    cfgs = [Config.from_preset(preset, fb=float(fb)) for fb in fbs]
    t0 = time.perf_counter()
    net = RateNetworks.create([c.network for c in cfgs], [int(s) for s in seeds])
    res = train(net, task, cfgs[0].training, progress=False)
    ev = evaluate(res.networks, task, res.final_state, diverged=res.diverged)
    for b, (fb, s) in enumerate(zip(fbs, seeds)):
        print(f"network {b}: fb = {fb:g}, seed {s}: test accuracy {ev.test_accuracy[b]:.2f}, replay accuracy "
              f"{ev.replay_accuracy[b]:.2f}, {'performs the task' if ev.success[b] else 'does NOT perform the task'}")
    print(f"(trained and tested in {time.perf_counter() - t0:.1f} s)")
    return res.networks, ev.trial_end_states, task


def _fail_reference(mean, settled, types, task, tol, asym_tol):
    f = trial_failed(torch.as_tensor(mean), torch.as_tensor(types), task, tol).numpy()
    nominal = task.response_values()[torch.as_tensor(types)].numpy()
    asym = ~(np.abs(np.asarray(settled) - nominal) <= asym_tol)
    return np.where(f, np.where(asym, 2, 1), 0)


def check_failure_type(failure_type: Callable, task=None) -> float:
    """Exercise 5.1: 0 / 1 (fixed-time) / 2 (asymptotic) per trial vs slowmem.analysis.forgetting.trial_failed."""
    task = task if task is not None else _task()
    rng = np.random.default_rng(5)
    K = 400
    types = rng.integers(0, 4, K)
    nominal = task.response_values().numpy()[types]
    mean = nominal + rng.normal(0, 0.12, K)
    mean[:20] = task.encoding.numpy()[rng.integers(0, 3, 20)]             # right or wrong encodings, exactly
    mean[20:25] = np.nan
    mean[25:30] = nominal[25:30] + 0.1                                     # exactly at the tolerance: fails
    settled = np.where(rng.random(K) < 0.5, nominal + rng.normal(0, 0.2, K), rng.uniform(-2, 2, K))
    settled[30:33] = np.nan

    def compare(tol, asym_tol, types_too):
        def fn():
            want = _fail_reference(mean, settled, types, task, tol, asym_tol)
            got = _np(failure_type(mean.copy(), settled.copy(), types.copy(), task, tol, asym_tol)).reshape(-1)
            if got.shape != want.shape:
                return False, f"{got.shape} codes for {K} trials"
            bad = int((got != want).sum()) if types_too else int(((got != 0) != (want != 0)).sum())
            n = {c: int((want == c).sum()) for c in (0, 1, 2)}
            return bad == 0, (f"{bad} of {K} trials differ (tolerance {tol:g}, asymptotic {asym_tol:g}); "
                              f"{n[0]} pass, {n[1]} fixed-time, {n[2]} asymptotic")
        return fn

    return _run("5.1", "fixed-time or asymptotic", [("which trials fail", compare(0.1, 0.3, False)),
                                                    ("the type of each failure", compare(0.05, 0.2, True))])


def check_forgetting_point(forgetting_point: Callable, networks, trial_end_states, task, network: int = 0) -> float:
    """Exercise 5.2: one delay of the forgetting curve vs slowmem.analysis.forgetting.forgetting_curve."""

    net = networks.select([network])
    starts = trial_end_states[network:network + 1]

    def compare(delay):
        def fn():
            # the reference in the network's own precision (the analyses' default float32 is for speed)
            ref = forgetting_curve(net, task, starts, delays=[delay], n_draws=1,
                                   runtime=Runtime(simulation_dtype=str(net.dtype).removeprefix("torch.")))
            got = forgetting_point(net, task, starts[0].clone(), delay, trial_rng(net.seeds[0], STREAMS["forgetting"]))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                return False, "return (mean_response, failed)"
            ok, detail = _close(_np(got[0]).reshape(-1), ref.mean_response[0, 0], 1e-8, "mean responses")
            f = _np(got[1]).astype(bool).reshape(-1)
            same = f.shape == ref.failed[0, 0].shape and bool((f == ref.failed[0, 0]).all())
            p = ref.failed[0, 0].mean()
            return ok and same, (f"{detail}; failed trials {'the same' if same else 'DIFFER'} "
                                 f"(failure probability {p:.2f} at delay {delay:g})")
        return fn

    return _run("5.2", "one point of a forgetting curve", [("the trained delay, 5", compare(5.0)),
                                                            ("a stretched delay, 30", compare(30.0))])


def explore_forgetting(forgetting_point: Callable, networks, trial_end_states, task,
                       delays: Sequence[float] = (5.0, 10.0, 20.0, 40.0, 80.0)) -> None:
    """Follow-up of exercise 5.2: a short forgetting curve of every network, computed with your function."""

    rows = []
    try:
        for b in range(networks.B):
            net = networks.select([b])
            p = []
            for d in delays:
                _, failed = forgetting_point(net, task, trial_end_states[b].clone(), d,
                                             trial_rng(net.seeds[0], STREAMS["forgetting"]))
                p.append(float(_np(failed).astype(float).mean()))
            rows.append(p)
    except NotImplementedError:
        print("Implement forgetting_point above first; then this cell draws the curves with it.")
        return
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    for b, p in enumerate(rows):
        fb = networks.configs[b].fb
        ax.plot(delays, p, "o-", label=f"network {b} (fb = {fb:g})")
        print(f"network {b} (fb = {fb:g}): failure probability " +
              ", ".join(f"{v:.2f} at {d:g}" for d, v in zip(delays, p)))
    ax.set(xlabel="delay 1 (tau)", ylabel="failure probability", xscale="log", ylim=(-0.05, 1.05))
    ax.legend(frameon=False)
    plt.show()


def check_memory_horizon(memory_horizon: Callable) -> float:
    """Exercise 5.3: the memory horizon from a curve vs ForgettingCurve.memory_horizon."""

    rng = np.random.default_rng(9)
    delays = np.arange(1.0, 200.0, 4.0)
    K = 16

    def curves(threshold):
        failed = np.zeros((40, len(delays), K), bool)
        for b in range(40):
            onset = rng.integers(0, len(delays) + 5)
            failed[b, onset:] = rng.random((max(0, len(delays) - onset), K)) < rng.uniform(0.05, 1.0)
            if b % 7 == 0:
                failed[b, :2] = rng.random((2, K)) < 0.3             # failures at delays shorter than trained
        zeros = np.zeros_like(failed, dtype=np.int8)
        return ForgettingCurve(np.arange(40), delays, np.zeros(K, np.int64), np.zeros(K, np.int64),
                               np.zeros(failed.shape), failed, zeros, threshold, 5.0)

    def compare(threshold):
        def fn():
            fc = curves(threshold)
            want = fc.memory_horizon()
            p = fc.failure_probability()
            for b in range(len(want)):
                got = memory_horizon(delays.copy(), p[b].copy(), 5.0, threshold)
                if not ((got is None and want[b] is None) or
                        (got is not None and want[b] is not None and abs(float(got) - want[b]) < 1e-12)):
                    return False, f"curve {b}: you said {got!r}, the horizon is {want[b]!r}"
            n_never = sum(w is None for w in want)
            return True, f"40 curves exact ({n_never} never forget on the grid)"
        return fn

    return _run("5.3", "the memory horizon", [("threshold 0 (any failed trial)", compare(0.0)),
                                              ("threshold 0.5", compare(0.5))])
