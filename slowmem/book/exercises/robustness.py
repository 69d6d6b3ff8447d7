"""Exercise checks of chapter 6: distraction."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from slowmem.analysis.robustness import distraction, distraction_noise
from slowmem.book.exercises.checks import _close, _np, _run
from slowmem.runtime import Runtime
from slowmem.task import STREAMS, trial_rng


# --------------------------------------------------------------------------- #
# chapter 6: distraction
# --------------------------------------------------------------------------- #
def check_distractor(distractor_moments: Callable, centred_distractor: Callable) -> float:
    """Exercise 6.1: mean and spread of the paper's distractor; a zero-mean one of the same spread."""

    sigmas = [0.0, 0.1, 1.0, 10.0, 40.0]

    def moments():
        for s in sigmas:
            got = distractor_moments(s, 0.5)
            want = (0.0, 0.0) if s == 0 else (s / 2 + 0.5, s / math.sqrt(12))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                return False, "return (mean, std)"
            ok, detail = _close(np.array([float(v) for v in got]), np.array(want), 1e-12, f"(mean, std) at sigma {s:g}")
            if not ok:
                return False, detail
        u = torch.rand(100000, 1, 1, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        emp = distraction_noise(torch.tensor([10.0], dtype=torch.float64), u, 0.5)
        return True, (f"exact at sigma {sigmas}; the package's noise at sigma 10 has mean {emp.mean():.3f} "
                      f"and std {emp.std():.3f}")

    def centred():
        u = torch.rand(350, 1, 7, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        for s in sigmas:
            got = torch.as_tensor(_np(centred_distractor(u.clone(), s)))
            noise = distraction_noise(torch.tensor([s], dtype=torch.float64), u, 0.5)[:, :, 0]
            want = noise - (s / 2 + 0.5 if s > 0 else 0.0)
            ok, detail = _close(got, want, 1e-12, f"noise at sigma {s:g}")
            if not ok:
                return False, detail
        return True, "equal to the package's distractor minus its mean, at every sigma (tolerance 1e-12)"

    return _run("6.1", "what the distractor really is", [("mean and spread", moments),
                                                         ("a zero-mean distractor", centred)])


def check_distraction_point(distraction_point: Callable, networks, trial_end_states, task,
                            network: int = 0) -> float:
    """Exercise 6.2: failures at one noise level vs slowmem.analysis.robustness.distraction."""

    net = networks.select([network])
    starts = trial_end_states[network:network + 1]

    def compare(sigma, n_repeats=3):
        def fn():
            ref = distraction(net, task, starts, sigmas=[sigma], n_repeats=n_repeats,   # the network's precision
                              runtime=Runtime(simulation_dtype=str(net.dtype).removeprefix("torch.")))
            got = distraction_point(net, task, starts[0].clone(), sigma, n_repeats,
                                    trial_rng(net.seeds[0], STREAMS["distraction"]))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                return False, "return (mean_response, failed)"
            ok, detail = _close(_np(got[0]).reshape(-1), ref.mean_response[0, 0], 1e-8, "mean responses")
            f = _np(got[1]).astype(bool).reshape(-1)
            same = f.shape == ref.failed[0, 0].shape and bool((f == ref.failed[0, 0]).all())
            return ok and same, (f"{detail}; failed trials {'the same' if same else 'DIFFER'} "
                                 f"(failure ratio {ref.failed[0, 0].mean():.2f})")
        return fn

    return _run("6.2", "failures under distraction", [("the noiseless control, sigma = 0", compare(0.0)),
                                                       ("sigma = 2", compare(2.0))])


def explore_distraction(distraction_point: Callable, networks, trial_end_states, task,
                        sigmas: Sequence[float] = (0.5, 2.0, 5.0), n_repeats: int = 3) -> None:
    """Follow-up of exercise 6.2: failure ratio of every network at a few noise levels, with your function."""

    rows = []
    try:
        for b in range(networks.B):
            net = networks.select([b])
            rows.append([float(_np(distraction_point(net, task, trial_end_states[b].clone(), s, n_repeats,
                                                     trial_rng(net.seeds[0], STREAMS["distraction"]))[1])
                               .astype(float).mean()) for s in sigmas])
    except NotImplementedError:
        print("Implement distraction_point above first; then this cell measures every network with it.")
        return
    head = "".join(f"{f'sigma {s:g}':>11}" for s in sigmas)
    print(f"{'network':<22}{head}")
    for b, r in enumerate(rows):
        name = f"{b} (fb = {networks.configs[b].fb:g})"
        print(f"{name:<22}" + "".join(f"{v:>11.2f}" for v in r))
