"""The paper's taxonomy of memory mechanisms (claims C1, C2, C5): the book's rule and the authors' literal one.

Every network gets one of :data:`~slowmem.config.MECHANISMS` from its
:class:`~slowmem.analysis.attractors.AttractorProbe` (100 autonomous runs of
50 trial lengths; statistics of the response z over the last 2).

**Per start** (all thresholds are fields of
:class:`~slowmem.config.DynamicsConfig`):

* *settled*: finite, and the window variance of z is below
  ``variance_tolerance`` (1e-4, i.e. z moves by less than ~0.01);
* *oscillating*: finite and not settled;
* *far*: not finite, or ``max |z|`` over the window exceeds the largest
  ``|encoding|`` (1.5) by more than ``far_margin`` (1.0), i.e. ``|z| > 2.5``.

**Mirror attractors.** ``F(x) = -x + M tanh(x)`` is odd, so every attractor
``x*`` has a mirror ``-x*`` with output ``-z``; the perturbed origin reaches
either. The paper compares the number of distinct final outputs with "2 x
number of encodings, counting the perturbed origin" -- one attractor per
encoding and its mirror. We fold each pair: the number of attractors
``n_attractors`` is the number of distinct ``|z_final|`` among the settled
starts (greedy clustering at ``output_tolerance`` = 0.05). This equals half the
paper's count when the probe reaches both members of every pair, and does not
miss an attractor when it reaches only one.

**Memories.** ``n_memories`` = the number of distinct nominal responses that
the trial-end states carry (3 for the paper's task: sums 0, 1, 2 encoded as
1.0, 0.5, 1.5); a network storing each memory *at* an attractor needs at
least that many (folded) attractors. ``DynamicsConfig.n_memories`` overrides it.

**Rule**, in this order:

1. ``far/mixed`` if any start is *far*, or some starts settled while others
   oscillate;
2. ``limit cycle`` if every start oscillates (persistent variance). The
   window means usually differ between starts (phase, or several cycles);
   their number is reported (``n_distinct_means``) but not required, since a
   single cycle reached from every start is the same mechanism;
3. every start settled: ``fixed points`` if ``n_attractors >= n_memories``,
   else ``slow manifold`` (the memories are held along slow transients that
   end in fewer attractors than memories).

**Efficiency** (claim C5): attractors used per memory held,
``n_attractors / n_memories``, defined (not None) only for networks whose
every start settled.

:func:`threshold_sensitivity` reports how many labels change when each
threshold is multiplied by 10 or divided by 10; :func:`slow_manifold_check`
is the cross-check with the slow-point finder.

**The authors' rule, literally** (:func:`classify_original`, a variant the
report shows beside ours), on the same probe, whose starts are by default the
authors' own (``DynamicsConfig.start_draws``: their ``RandomState(1)`` draws).
As their code reads it: the window variance of z per start is cast to float32;
if it is below ``original_variance`` (1e-9, compared in float32) for *every*
start, count the distinct values of z at the last step of the window (step
``steps - 1``), rounded to ``original_decimals`` (4) decimals, *signed*
(mirror pairs count twice): at least ``2 x number of encodings`` (6) is
``fixed points``, fewer is ``slow manifold``. Otherwise the window means are
cast to float32: ``limit cycle`` if all of them are distinct (exact float32
equality); otherwise ``far`` if one lies beyond ``+-(largest encoding +
original_far_margin)`` (+-4.0), else ``mixed`` -- their two last branches, one
label of ours (``far/mixed``). A non-finite window mean (impossible in their
bounded dynamics) counts as beyond the far limit and never as distinct.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..config import MECHANISMS, DynamicsConfig
from ..task import SPMTask
from .attractors import AttractorProbe, count_distinct, dynamics_config, is_settled
from .slowpoints import SlowPoints

__all__ = ["Mechanisms", "classify", "classify_original", "original_rule", "OriginalRule", "ORIGINAL_BRANCHES",
           "count_memories", "threshold_sensitivity", "slow_manifold_check", "TAXONOMY_THRESHOLDS"]

#: The thresholds of the rule, varied by :func:`threshold_sensitivity`.
TAXONOMY_THRESHOLDS: tuple[str, ...] = ("variance_tolerance", "output_tolerance", "far_margin")


def count_memories(task: SPMTask) -> int:
    """Distinct nominal responses over the four trial types (3 for the paper's task)."""
    return int(torch.unique(task.response_values()).numel())


@dataclass
class Mechanisms:
    """Mechanism of B networks and the numbers behind it. Arrays have leading axis B.

    Attributes:
        seeds: ``(B,)``.
        label: ``(B,)`` str, one of :data:`~slowmem.config.MECHANISMS`.
        n_settled, n_oscillating, n_far: ``(B,)`` starts of each kind.
        n_attractors: ``(B,)`` distinct ``|z_final|`` of the settled starts.
        n_distinct_means: ``(B,)`` distinct window means over the finite starts.
        n_memories: what ``n_attractors`` is compared with.
        efficiency: ``(B,)`` ``n_attractors / n_memories``, NaN unless every start settled.
        thresholds: the threshold values used.
    """

    seeds: np.ndarray
    label: np.ndarray
    n_settled: np.ndarray
    n_oscillating: np.ndarray
    n_far: np.ndarray
    n_attractors: np.ndarray
    n_distinct_means: np.ndarray
    n_memories: int
    efficiency: np.ndarray
    thresholds: dict[str, float]

    def counts(self) -> dict[str, int]:
        """How many networks fall in each mechanism (all four keys present)."""
        return {m: int((self.label == m).sum()) for m in MECHANISMS}


def classify(probe: AttractorProbe, task: SPMTask, *, cfg: DynamicsConfig | None = None,
             **thresholds) -> Mechanisms:
    """Label every probed network with its mechanism (rule in the module docstring).

    Args:
        probe: from :func:`~slowmem.analysis.attractors.probe_attractors`.
        task: gives the encodings (``far``) and the number of memories.
        cfg: thresholds (default :class:`~slowmem.config.DynamicsConfig`).
        thresholds: overrides of ``variance_tolerance``, ``output_tolerance``,
            ``far_margin`` or ``n_memories``.
    """
    cfg = dynamics_config(cfg, **thresholds)
    n_mem = cfg.n_memories if cfg.n_memories is not None else count_memories(task)
    finite = probe.finite
    settled = is_settled(finite, np.where(finite, probe.output_variance, np.inf), cfg.variance_tolerance)
    oscillating = finite & ~settled
    reach = np.maximum(np.abs(probe.output_min), np.abs(probe.output_max))
    limit = float(task.encoding.abs().max()) + cfg.far_margin
    far = ~finite | ~(reach <= limit)
    n_attr, _ = count_distinct(torch.as_tensor(np.abs(probe.final_output)), torch.as_tensor(settled),
                               cfg.output_tolerance)
    n_means, _ = count_distinct(torch.as_tensor(probe.output_mean), torch.as_tensor(finite), cfg.output_tolerance)
    n_attr = n_attr.numpy()
    all_settled = settled.all(1)
    label = np.where(far.any(1) | (settled.any(1) & oscillating.any(1)), MECHANISMS[3],
                     np.where(oscillating.all(1), MECHANISMS[2],
                              np.where(n_attr >= n_mem, MECHANISMS[0], MECHANISMS[1])))
    eff = np.where(all_settled, n_attr / n_mem, np.nan)
    used = {"variance_tolerance": cfg.variance_tolerance, "output_tolerance": cfg.output_tolerance,
            "far_margin": cfg.far_margin}
    return Mechanisms(np.asarray(probe.seeds), label.astype(object), settled.sum(1), oscillating.sum(1),
                      far.sum(1), n_attr, n_means.numpy(), int(n_mem), eff, used)


def threshold_sensitivity(probe: AttractorProbe, task: SPMTask, *, cfg: DynamicsConfig | None = None,
                          factors: tuple[float, ...] = (0.1, 10.0)) -> pd.DataFrame:
    """How many networks change class when one threshold is scaled.

    Every threshold of :data:`TAXONOMY_THRESHOLDS` is multiplied by every
    factor in turn (the others kept), and the labels compared with those at
    ``cfg``. Returns one row per (threshold, factor): ``threshold, factor,
    value, n_changed, n_networks`` and one count column per mechanism.
    """
    cfg = dynamics_config(cfg)
    base = classify(probe, task, cfg=cfg).label
    rows = []
    for name in TAXONOMY_THRESHOLDS:
        for f in factors:
            value = getattr(cfg, name) * f
            lab = classify(probe, task, cfg=cfg, **{name: value}).label
            row = {"threshold": name, "factor": float(f), "value": float(value),
                   "n_changed": int((lab != base).sum()), "n_networks": len(base)}
            row.update({m: int((lab == m).sum()) for m in MECHANISMS})
            rows.append(row)
    return pd.DataFrame(rows)


def slow_manifold_check(points: SlowPoints, *, cfg: DynamicsConfig | None = None,
                        zero_eigenvalue: float | None = None) -> np.ndarray:
    """``(B,)`` bool: has the network a fixed or slow point whose leading eigenvalue is near zero?

    Near zero: ``|Re lambda_max| < zero_eigenvalue`` (default
    ``cfg.zero_eigenvalue`` = 0.05, a time constant above 20 tau, longer than
    a trial's delays). Such a point has a direction along which the flow is
    slow: the signature of the slow manifold the SM networks hold memories on.
    """
    cfg = dynamics_config(cfg, zero_eigenvalue=zero_eigenvalue)
    near = points.leading_eigenvalue().real.abs() < cfg.zero_eigenvalue
    return torch.bincount(points.network[near.cpu()], minlength=points.B).numpy() > 0


#: The branches of the authors' rule, and the label of ours each one gives.
ORIGINAL_BRANCHES: dict[str, str] = {"fixed points": MECHANISMS[0], "slow manifold": MECHANISMS[1],
                                     "limit cycle": MECHANISMS[2], "far": MECHANISMS[3], "mixed": MECHANISMS[3]}


@dataclass
class OriginalRule:
    """The authors' literal rule on B networks (module docstring). Arrays have leading axis B.

    Attributes:
        label: ``(B,)`` str, one of :data:`~slowmem.config.MECHANISMS`.
        branch: ``(B,)`` str, the rule's own branch, a key of :data:`ORIGINAL_BRANCHES` ("far" and
            "mixed" are both ``far/mixed``).
        settled: ``(B,)`` bool: every start's float32 window variance is below the threshold.
        n_signed_outputs: ``(B,)`` distinct rounded signed last outputs over all starts.
        n_distinct_means: ``(B,)`` distinct finite float32 window means.
    """

    label: np.ndarray
    branch: np.ndarray
    settled: np.ndarray
    n_signed_outputs: np.ndarray
    n_distinct_means: np.ndarray


def _n_unique(rows: np.ndarray) -> np.ndarray:
    """``(B,)`` number of distinct finite values in each row of ``rows: (B, S)`` (exact equality)."""
    return np.array([len(np.unique(r[np.isfinite(r)])) for r in rows], dtype=np.int64)


def original_rule(probe: AttractorProbe, task: SPMTask, *, cfg: DynamicsConfig | None = None) -> OriginalRule:
    """The authors' literal taxonomy of every probed network (module docstring).

    Args:
        probe: from :func:`~slowmem.analysis.attractors.probe_attractors` (``output_variance``,
            ``output_mean`` and ``last_output``, each ``(B, S)``; ``final_output`` stands in for a probe
            without ``last_output``).
        task: its encodings give the far limit and the fixed-point count (2 per encoding).
        cfg: thresholds ``original_variance``, ``original_decimals``, ``original_far_margin``.
    """
    cfg = dynamics_config(cfg)
    var32 = np.asarray(probe.output_variance).astype(np.float32)
    mean32 = np.asarray(probe.output_mean).astype(np.float32)
    last = np.asarray(probe.last_output if probe.last_output is not None else probe.final_output, np.float64)
    S = mean32.shape[1]
    settled = (var32 < np.float32(cfg.original_variance)).all(1)
    n_signed = _n_unique(np.round(last, cfg.original_decimals))
    n_means = _n_unique(mean32)
    limit = float(task.encoding.max()) + cfg.original_far_margin
    far = ~np.isfinite(mean32).all(1) | (np.nanmax(mean32, 1, initial=-np.inf) > limit) \
        | (np.nanmin(mean32, 1, initial=np.inf) < -limit)
    need = 2 * len(task.encoding)
    branch = np.where(settled, np.where(n_signed >= need, "fixed points", "slow manifold"),
                      np.where(n_means == S, "limit cycle", np.where(far, "far", "mixed")))
    label = np.array([ORIGINAL_BRANCHES[b] for b in branch], dtype=object)
    return OriginalRule(label, branch.astype(object), settled, n_signed, n_means)


def classify_original(probe: AttractorProbe, task: SPMTask, *, cfg: DynamicsConfig | None = None) -> np.ndarray:
    """``(B,)`` labels of :data:`~slowmem.config.MECHANISMS` by the authors' literal rule (:func:`original_rule`)."""
    return original_rule(probe, task, cfg=cfg).label
