"""Settings of the analyses: memory under stress and the dynamical-systems analyses.

They are sections of :class:`slowmem.config.Config` (``cfg.memory``, ``cfg.dynamics``) but not
part of a network's identity: the same trained network can be analysed with other settings, and
every stored summary records the settings it was computed with. How fast the analyses run (chunk
sizes, the simulation precision, the device) is not here: those are run settings
(:class:`slowmem.runtime.Runtime`), never part of a summary's identity.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .checks import ConfigError, RefusesRunSettings
from .params import check_declared, declared_params, documented, param
from .sections import ACCURACY_TOLERANCE

__all__ = ["DISTRACTION_SIGMAS", "INTERRUPTION_FRACTIONS", "MemoryConfig", "MECHANISMS", "DynamicsConfig"]

#: added to the stimulus-1 latent at each step is ``uniform(0, 1) * sigma + 0.5``.
DISTRACTION_SIGMAS: tuple[float, ...] = (0.1, 0.2, 0.25, 0.33, 0.5, *(float(s) for s in range(1, 11)),
                                         *(float(s) for s in range(15, 41, 5)))
#: Fractions of the N units whose input is silenced during stimulus 1
#: (the paper's n_off = 100, ..., 900 of N = 1000).
INTERRUPTION_FRACTIONS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(1, 10))


@documented
@dataclass(frozen=True)
class MemoryConfig(RefusesRunSettings):
    """Memory under stress: forgetting curves, distraction, interruption (claims C4, C6; book: Methods).

    **Failure rule** (shared by all three analyses, the complement of
    :func:`slowmem.evaluation.is_correct`): a trial *fails* unless its mean
    response-window output is nearest the right encoding and within
    ``failure_tolerance`` of its nominal value (a NaN output fails).

    The chunk size and the precision the trials are simulated in are run
    settings (:class:`slowmem.runtime.Runtime`: ``max_chunk_elements``,
    ``simulation_dtype``).
    """

    delay_min: float = param(1.0, kind="float", lo=0, lo_open=True,
                             help="shortest stretched delay-1 duration of the forgetting curve (time units)")
    delay_max: float = param(200.0, kind="float", lo=0, lo_open=True, hi=10 ** 5,
                             help="longest stretched delay-1 duration, at least delay_min (the paper's grid: 1 to "
                                  "200 by 0.5 = 399 delays)")
    delay_step: float = param(0.5, kind="float", lo=0, lo_open=True, help="step of the delay grid")
    summary_delay_step: float = param(
        2.0, kind="float", lo=0, lo_open=True,
        help="the coarser grid step slowmem.analysis.memory.summarize uses by default (keeps one N = 300 "
             "network's summary to seconds; the paper's grid stays available through delay_step)")
    n_draws: int = param(4, kind="int", lo=1, hi=1000,
                         help="stimulus draws per (trial type, start state) in the forgetting curve (each draw is "
                              "run at every delay); 4 gives 64 conditions per delay, enough for each network's "
                              "long-delay failure to carry a standard error over its conditions")
    failure_tolerance: float = param(ACCURACY_TOLERANCE, kind="float", lo=0, lo_open=True,
                                     help="see the failure rule (default: ACCURACY_TOLERANCE)")
    asymptotic_tolerance: float = param(
        0.3, kind="float", lo=0, lo_open=True,
        help="a failed trial is asymptotic if, run on autonomously for settle_trials trial lengths after its "
             "response window, its mean output over the last response-window length is more than this from "
             "nominal; fixed-time otherwise")
    settle_trials: float = param(1.0, kind="float", lo=0, lo_open=True, hi=1000,
                                 help="length of that autonomous run, in trial lengths")
    horizon_threshold: float = param(
        0.0, kind="float", lo=0, hi=1, hi_open=True,
        help="the memory horizon is the first delay (not shorter than horizon_from) whose failure probability "
             "exceeds this (0: the first such delay with any failed trial)")
    horizon_from: float | None = param(
        None, kind="float", lo=0, optional=True,
        help="shortest delay that can define the memory horizon; None: the task's trained delay-1 duration (5 in "
             "the paper). Shorter delays test timing, not memory: they are in the curve but cannot set the horizon")
    sigmas: tuple[float, ...] = param(DISTRACTION_SIGMAS, kind="levels", lo=0,
                                      help="distraction noise levels (0: the noiseless control)")
    noise_offset: float = param(0.5, kind="float", help="the constant in uniform(0, 1) * sigma + noise_offset")
    n_repeats: int = param(10, kind="int", lo=1, hi=10 ** 4,
                           help="noisy repeats (distraction) / stimulus draws (interruption) per (trial type, "
                                "start state)")
    interruption_fractions: tuple[float, ...] = param(
        INTERRUPTION_FRACTIONS, kind="levels", lo=0, hi=1,
        help="fractions of N whose input is silenced during stimulus 1 (0: the uninterrupted control)")
    tolerance_failure: float = param(
        0.25, kind="float", lo=0, lo_open=True, hi=1,
        help="the noise tolerance of a network is the disturbance level at which its failure ratio first reaches "
             "this (0.25: half of the chance failure rate of the task's two-way decision), interpolated in log2 of "
             "the level (slowmem.analysis.precision.noise_tolerance)")
    tolerance_resamples: int = param(
        200, kind="int", lo=2, hi=10 ** 5,
        help="resamples of a network's conditions behind the standard error of its log2 noise tolerance")
    long_delay_from: float = param(50.0, kind="float", lo=0,
                                   help="the long-delay failure probability is the mean of the curve over delays "
                                        "at least this long (time units)")
    half_failure: float = param(0.5, kind="float", lo=0, lo_open=True, hi=1,
                                help="the half-failure delay is the first delay whose failure probability reaches "
                                     "this")
    forgetting_protocols: tuple[str, ...] = param(
        ("replace", "extend"), kind="subset", choices=("replace", "extend"),
        help="forgetting protocols the summary stores (replace: the book's reading; extend: the authors' code)")
    distractors: tuple[str, ...] = param(
        ("literal", "zero_mean"), kind="subset", choices=("literal", "zero_mean"),
        help="distractor readings (literal: uniform * sigma + 0.5 as in the authors' code; zero_mean: the same "
             "spread without the offset)")
    interruptions: tuple[str, ...] = param(
        ("stim1", "whole_trial"), kind="subset", choices=("stim1", "whole_trial"),
        help="interruption protocols (stim1: during stimulus 1, as the paper describes; whole_trial: as the "
             "authors' code does)")
    variant_repeats: int | None = param(
        5, kind="int", lo=1, hi=10 ** 4, optional=True,
        help="the readings after the first (distractors[1:], interruptions[1:]) run on the first this many of the "
             "n_repeats draws per (trial type, start state) -- the same trials as the first reading's, paired -- "
             "at half the cost by default; None (or a value of at least n_repeats) runs them all")

    def __post_init__(self) -> None:
        check_declared(self)
        if self.delay_max < self.delay_min:
            raise ConfigError(f"delay_max must be a number in [delay_min = {self.delay_min:g}, "
                              f"{declared_params(self)['delay_max'].hi:g}]; got {self.delay_max!r}")

    def delays(self, step: float | None = None) -> tuple[float, ...]:
        """The delay grid ``delay_min, delay_min + step, ... <= delay_max`` (default step: ``delay_step``)."""
        step = self.delay_step if step is None else declared_params(self)["delay_step"].check("delay_step", step)
        n = int(math.floor((self.delay_max - self.delay_min) / step + 1e-9)) + 1
        return tuple(round(self.delay_min + i * step, 10) for i in range(n))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("sigmas", "interruption_fractions", "forgetting_protocols", "distractors", "interruptions"):
            d[k] = list(d[k])
        return d


#: The four dynamical mechanisms of the paper's taxonomy (claim C1), in the
#: order used for codes and plots.
MECHANISMS: tuple[str, ...] = ("fixed points", "slow manifold", "limit cycle", "far/mixed")


@documented
@dataclass(frozen=True)
class DynamicsConfig(RefusesRunSettings):
    """Dynamical-systems analyses of trained networks (claims C1-C3, C5; book: Methods, Taxonomy).

    **Attractor probing** (:mod:`slowmem.analysis.attractors`): every network
    runs autonomously (no input, feedback on) for ``probe_trials`` trial
    lengths from ``starts_per_centre`` noisy copies (Normal noise of std
    ``start_noise`` per unit) of each *centre*: the 4 trial-end states and,
    with ``include_origin``, the origin (20 x 5 = 100 starts by default).
    The noise is the authors' (``start_draws = "authors"``: numpy
    ``RandomState(start_seed)``, the same for every network of one N) or the
    network's own (``"network"``). Statistics of the response z are taken
    over the last ``window_trials`` trial lengths.

    **Slow points** (:mod:`slowmem.analysis.slowpoints`): q(x) = 1/2 |F(x)|^2
    with F(x) = -x + M tanh(x), M the closed-loop matrix, is minimised from
    ``slow_starts`` states per network sampled along trajectories: optionally
    ``adam_steps`` Adam steps (learning rate decaying geometrically from
    ``adam_lr`` to ``adam_final_lr``; 0 by default, see the module), then up
    to ``newton_steps`` damped Newton steps with the analytic Jacobian on every
    point (or, if ``refine_below`` is set, only on those with a smaller q). A
    point is *fixed* if q < ``tol_fixed`` and *slow* if
    ``tol_fixed <= q < tol_slow``; points closer than ``point_tolerance`` are
    merged (the lowest q is kept) and at most ``max_points`` per network
    (lowest q first) are linearised. Stable: every Jacobian eigenvalue has a
    negative real part.

    **Distances** between states are root-mean-square over units,
    ``|a - b| / sqrt(N)``, so tolerances do not depend on N.

    **Taxonomy** (:mod:`slowmem.analysis.mechanisms`; the rule itself is
    documented there): a start has *settled* if the variance of z over the
    window is below ``variance_tolerance``; final outputs closer than
    ``output_tolerance`` (final states closer than ``state_tolerance``) are
    the same attractor; an output is *far* if ``|z|`` exceeds the largest
    ``|encoding|`` by more than ``far_margin``; ``n_memories`` (None: the
    number of distinct nominal responses, 3 for the paper's task) is what the
    number of attractors is compared with. ``zero_eigenvalue``: a real part
    with magnitude below it counts as near zero (the slow-manifold cross-check).
    The authors' rule, read literally, has its own thresholds:
    ``original_variance``, ``original_decimals``, ``original_far_margin``.

    **Activity** (:mod:`slowmem.analysis.activity`): a unit is saturated when
    ``|tanh(x)| > saturation``.

    **Precision** and chunking are run settings (:class:`slowmem.runtime.Runtime`):
    ``simulation_dtype`` is the precision of the attractor probe's long
    autonomous runs (the activity profile, the slow-point and slow-manifold
    finders run in the network's own precision), ``chunk_trials`` the trial
    lengths simulated per call of the probe, ``max_chunk_elements`` the numbers
    per chunk of Jacobians in the Newton stage.
    ``sampled_slow_points``: also run the sampled slow-point search of
    :mod:`~slowmem.analysis.slowpoints` (the summary's ``slow_points`` block;
    off by default since the slow-manifold finder measures the memory's slow
    points directly, at a tenth of the cost).

    """

    # attractor probing
    probe_trials: int = param(50, kind="int", lo=1, hi=10 ** 5, help="length of the autonomous probe, in trial lengths")
    window_trials: int = param(2, kind="int", lo=1, hi=10 ** 5,
                               help="trial lengths at the end of the probe over which z is summarised (at most "
                                    "probe_trials)")
    starts_per_centre: int = param(20, kind="int", lo=1, hi=10 ** 5, help="noisy starts per centre")
    start_noise: float = param(0.5, kind="float", lo=0, help="std of the Normal noise per unit of a start")
    include_origin: bool = param(True, kind="bool", help="the origin is a centre too")
    start_draws: str = param(
        "authors", kind="choice", choices=("authors", "network"),
        help="where the start noise comes from (authors: one numpy RandomState(start_seed) per network, drawn one "
             "row of N per start with the origin's starts first, then trial types 0..3, as the authors' code does: "
             "every network of the same N gets the same noise; network: stream 'probe' of the network's seed)")
    start_seed: int = param(1, kind="int", lo=0, hi=2 ** 32 - 1,
                            help="seed of the RandomState of start_draws = authors (the authors' code: 1)")
    trace_every: int = param(10, kind="int", lo=1, hi=10 ** 6,
                             help="steps between kept samples of the long output traces")
    n_snapshots: int = param(8, kind="int", lo=0, hi=10 ** 4,
                             help="states per start kept at geometrically spaced times of the probe, to seed the "
                                  "slow-point finder")
    # slow points
    slow_starts: int = param(512, kind="int", lo=1, hi=10 ** 6, help="slow-point search starts per network")
    adam_steps: int = param(0, kind="int", lo=0, hi=10 ** 6, help="Adam steps before the Newton stage")
    adam_lr: float = param(0.05, kind="float", lo=0, lo_open=True, help="first Adam learning rate")
    adam_final_lr: float = param(0.001, kind="float", lo=0, lo_open=True,
                                 help="last Adam learning rate (at most adam_lr)")
    newton_steps: int = param(40, kind="int", lo=0, hi=10 ** 4, help="most damped Newton steps")
    refine_below: float | None = param(None, kind="float", lo=0, lo_open=True, optional=True,
                                       help="Newton only on points with a smaller q (None: on every point)")
    tol_fixed: float = param(1e-10, kind="float", lo=0, lo_open=True, help="a point is fixed if q is below this")
    tol_slow: float = param(1e-4, kind="float", lo=0, lo_open=True,
                            help="a point is slow if tol_fixed <= q < tol_slow (at least tol_fixed)")
    point_tolerance: float = param(0.02, kind="float", lo=0, lo_open=True,
                                   help="points closer than this are merged (the lowest q is kept)")
    max_points: int = param(64, kind="int", lo=1, hi=10 ** 6, help="most points linearised per network")
    # taxonomy
    variance_tolerance: float = param(1e-4, kind="float", lo=0, lo_open=True,
                                      help="a start has settled if the variance of z over the window is below this")
    output_tolerance: float = param(0.05, kind="float", lo=0, lo_open=True,
                                    help="final outputs closer than this are the same attractor")
    state_tolerance: float = param(0.05, kind="float", lo=0, lo_open=True,
                                   help="final states closer than this are the same attractor")
    far_margin: float = param(1.0, kind="float", lo=0,
                              help="an output is far if |z| exceeds the largest |encoding| by more than this")
    n_memories: int | None = param(None, kind="int", lo=1, hi=10 ** 4, optional=True,
                                   help="number of memories the attractors are compared with (None: the number of "
                                        "distinct nominal responses, 3 for the paper's task)")
    zero_eigenvalue: float = param(0.05, kind="float", lo=0, lo_open=True,
                                   help="a real part of smaller magnitude counts as near zero (the slow-manifold "
                                        "cross-check)")
    # the authors' taxonomy, literally (slowmem.analysis.mechanisms.classify_original)
    original_variance: float = param(
        1e-9, kind="float", lo=0, lo_open=True,
        help="authors' rule: the network settled if every start's window variance of z, cast to float32, is below "
             "this (compared in float32; their 10e-10)")
    original_decimals: int = param(4, kind="int", lo=0, hi=15,
                                   help="authors' rule: the last window output of z is rounded to this many decimals "
                                        "before its distinct signed values are counted")
    original_far_margin: float = param(
        2.5, kind="float", lo=0,
        help="authors' rule: far if a float32 window mean of z lies beyond +-(largest encoding + this), 4.0 for the "
             "paper's encodings")
    # activity
    saturation: float = param(0.8, kind="float", lo=0, hi=1, hi_open=True,
                              help="a unit is saturated when |tanh(x)| exceeds this")
    # slow manifold (slowmem.analysis.manifold; its module docstring states the criterion)
    manifold_slow_ratio: float = param(
        0.05, kind="float", lo=0, hi=1, lo_open=True, hi_open=True,
        help="a state is slow when its speed |F|/sqrt(N) is below this fraction of the reference speed (the "
             "median speed over the test trials); the slow-point criterion")
    manifold_settled_ratio: float = param(
        1e-4, kind="float", lo=0, hi=1, lo_open=True, hi_open=True,
        help="an autonomous run has settled (reached its fixed point) below this fraction of the reference speed "
             "(less than manifold_slow_ratio)")
    manifold_damping_rate: float = param(
        0.5, kind="float", lo=0, lo_open=True,
        help="Levenberg-Marquardt damping floor (as a rate, 1/tau): directions that relax faster than this are "
             "minimised away, slower ones -- the manifold -- are left where the memory is")
    manifold_lm_steps: int = param(12, kind="int", lo=0, hi=10 ** 4,
                                   help="Levenberg-Marquardt steps of the local q-minimisation")
    manifold_newton_steps: int = param(6, kind="int", lo=0, hi=10 ** 4,
                                       help="undamped Newton steps that test whether a minimised point is a fixed "
                                            "point nearby")
    manifold_fixed_reach: float = param(
        0.02, kind="float", lo=0, lo_open=True,
        help="RMS distance within which that Newton polish must land for the point to count as a fixed point "
             "(below point_tolerance it acts as point_tolerance: a slow point that close to a fixed point merges "
             "into it)")
    manifold_delay_seeds: int = param(1, kind="int", lo=0, hi=10 ** 4,
                                      help="seeds per delay window per test trial (evenly spaced, the last state of "
                                           "the window first)")
    manifold_run_seeds: int = param(6, kind="int", lo=0, hi=10 ** 4,
                                    help="seeds per autonomous run: its trial-end start plus the first states below "
                                         "speeds geometrically spaced from the slow to the settled speed")
    manifold_trials: int = param(50, kind="int", lo=1, hi=10 ** 5,
                                 help="longest autonomous run from the trial-end states, in trial lengths (it stops "
                                      "once all have settled)")
    manifold_record_every: int = param(10, kind="int", lo=1, hi=10 ** 6,
                                       help="steps between the recorded states of those runs")
    manifold_points: int = param(8, kind="int", lo=0, hi=10 ** 4,
                                 help="at most this many slow points per network are linearised (all fixed points "
                                      "found are)")
    manifold_rate_window: int = param(10, kind="int", lo=1, hi=10 ** 6,
                                      help="steps either side of the entry into the slow stretch over which the "
                                           "speed's decay rate is measured")
    # cost
    sampled_slow_points: bool = param(False, kind="bool",
                                      help="also run the sampled slow-point search of slowmem.analysis.slowpoints")

    def __post_init__(self) -> None:
        check_declared(self)
        if self.window_trials > self.probe_trials:
            raise ConfigError(f"window_trials must be in [1, probe_trials = {self.probe_trials}]; "
                              f"got {self.window_trials}")
        if self.tol_slow < self.tol_fixed:
            raise ConfigError(f"tol_slow must be >= tol_fixed = {self.tol_fixed:g}; got {self.tol_slow:g}")
        if self.adam_final_lr > self.adam_lr:
            raise ConfigError(f"adam_final_lr must be in (0, adam_lr = {self.adam_lr:g}]; got {self.adam_final_lr:g}")
        if self.manifold_delay_seeds + self.manifold_run_seeds == 0:
            raise ConfigError("manifold_delay_seeds + manifold_run_seeds must be >= 1 (the slow-point search needs "
                              "seeds); got 0 + 0")
        if self.manifold_settled_ratio >= self.manifold_slow_ratio:
            raise ConfigError(f"manifold_settled_ratio must be < manifold_slow_ratio = {self.manifold_slow_ratio:g}; "
                              f"got {self.manifold_settled_ratio:g}")

    @property
    def n_centres(self) -> int:
        """Centres of the probe's starts: the 4 trial-end states (+ the origin)."""
        return 4 + int(self.include_origin)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

