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

from .checks import ConfigError, RefusesRunSettings, _number, check_bool, check_levels
from .sections import ACCURACY_TOLERANCE

__all__ = ["DISTRACTION_SIGMAS", "INTERRUPTION_FRACTIONS", "MemoryConfig", "MECHANISMS", "DynamicsConfig"]

#: added to the stimulus-1 latent at each step is ``uniform(0, 1) * sigma + 0.5``.
DISTRACTION_SIGMAS: tuple[float, ...] = (0.1, 0.2, 0.25, 0.33, 0.5, *(float(s) for s in range(1, 11)),
                                         *(float(s) for s in range(15, 41, 5)))
#: Fractions of the N units whose input is silenced during stimulus 1
#: (the paper's n_off = 100, ..., 900 of N = 1000).
INTERRUPTION_FRACTIONS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(1, 10))


@dataclass(frozen=True)
class MemoryConfig(RefusesRunSettings):
    """Memory under stress: forgetting curves, distraction, interruption (claims C4, C6; book: Methods).

    **Failure rule** (shared by all three analyses, the complement of
    :func:`slowmem.evaluation.is_correct`): a trial *fails* unless its mean
    response-window output is nearest the right encoding and within
    ``failure_tolerance`` of its nominal value (a NaN output fails).

    Attributes:
        delay_min, delay_max, delay_step: the grid of stretched delay-1
            durations (time units; the paper's: 1 to 200 by 0.5 = 399 delays).
        summary_delay_step: the coarser grid step used by
            :func:`slowmem.analysis.memory.summarize` by default (keeps one
            N = 300 network's summary to seconds; the paper's grid stays
            available through ``delay_step``).
        n_draws: stimulus draws per (trial type, start state) in the
            forgetting curve (each draw is run at every delay).
        failure_tolerance: see the failure rule (default
            :data:`ACCURACY_TOLERANCE`).
        asymptotic_tolerance: a failed trial is ``asymptotic`` if, run on
            autonomously for ``settle_trials`` trial lengths after its response
            window, its mean output over the last response-window length is
            more than this from nominal; ``fixed-time`` otherwise.
        settle_trials: length of that autonomous run, in trial lengths.
        horizon_threshold: the memory horizon is the first delay (not shorter
            than ``horizon_from``) whose failure probability exceeds this
            (0: the first such delay with any failed trial).
        horizon_from: shortest delay that can define the memory horizon; None
            means the task's trained delay-1 duration (5 in the paper). Delays
            shorter than the trained one test timing, not memory: they are in
            the curve but cannot set the horizon.
        sigmas: distraction noise levels (0 = the noiseless control).
        noise_offset: the constant in ``uniform(0,1) * sigma + noise_offset``.
        n_repeats: noisy repeats (distraction) / stimulus draws (interruption)
            per (trial type, start state).
        interruption_fractions: fractions of N whose input is silenced during
            stimulus 1 (0 = the uninterrupted control).
        long_delay_from: the long-delay failure probability is the mean of the
            curve over delays at least this long (time units).
        half_failure: the "half-failure delay" is the first delay whose failure
            probability reaches this.
        forgetting_protocols: which forgetting protocols the summary stores
            (``replace``: the book's reading; ``extend``: the authors' code).
        distractors: which distractor readings (``literal``: ``uniform*sigma
            + 0.5`` as in the authors' code; ``zero_mean``: the same spread
            without the offset).
        interruptions: which interruption protocols (``stim1``: during stimulus
            1, as the paper describes; ``whole_trial``: as the authors' code does).
        variant_repeats: the readings after the first (``distractors[1:]``,
            ``interruptions[1:]``) run on the first this many of the
            ``n_repeats`` draws per (trial type, start state) -- the same trials
            as the first reading's, paired -- at half the cost by default; None
            (or a value >= ``n_repeats``) runs them all.

    The chunk size and the precision the trials are simulated in are run
    settings (:class:`slowmem.runtime.Runtime`: ``max_chunk_elements``,
    ``simulation_dtype``).
    """

    delay_min: float = 1.0
    delay_max: float = 200.0
    delay_step: float = 0.5
    summary_delay_step: float = 2.0
    n_draws: int = 1
    failure_tolerance: float = ACCURACY_TOLERANCE
    asymptotic_tolerance: float = 0.3
    settle_trials: float = 1.0
    horizon_threshold: float = 0.0
    horizon_from: float | None = None
    sigmas: tuple[float, ...] = DISTRACTION_SIGMAS
    noise_offset: float = 0.5
    n_repeats: int = 10
    interruption_fractions: tuple[float, ...] = INTERRUPTION_FRACTIONS
    long_delay_from: float = 50.0
    half_failure: float = 0.5
    forgetting_protocols: tuple[str, ...] = ("replace", "extend")
    distractors: tuple[str, ...] = ("literal", "zero_mean")
    interruptions: tuple[str, ...] = ("stim1", "whole_trial")
    variant_repeats: int | None = 5

    def __post_init__(self) -> None:
        if self.variant_repeats is not None:
            object.__setattr__(self, "variant_repeats",
                               _number("variant_repeats", self.variant_repeats, lo=1, hi=10 ** 4, integer=True))
        lo = _number("delay_min", self.delay_min, lo=0, lo_open=True)
        hi = _number("delay_max", self.delay_max, lo=lo, hi=10 ** 5)
        object.__setattr__(self, "delay_min", lo)
        object.__setattr__(self, "delay_max", hi)
        object.__setattr__(self, "delay_step", _number("delay_step", self.delay_step, lo=0, lo_open=True))
        object.__setattr__(self, "summary_delay_step",
                           _number("summary_delay_step", self.summary_delay_step, lo=0, lo_open=True))
        object.__setattr__(self, "n_draws", _number("n_draws", self.n_draws, lo=1, hi=1000, integer=True))
        object.__setattr__(self, "failure_tolerance",
                           _number("failure_tolerance", self.failure_tolerance, lo=0, lo_open=True))
        object.__setattr__(self, "asymptotic_tolerance",
                           _number("asymptotic_tolerance", self.asymptotic_tolerance, lo=0, lo_open=True))
        object.__setattr__(self, "settle_trials", _number("settle_trials", self.settle_trials, lo=0, lo_open=True,
                                                          hi=1000))
        object.__setattr__(self, "horizon_threshold",
                           _number("horizon_threshold", self.horizon_threshold, lo=0, hi=1, hi_open=True))
        if self.horizon_from is not None:
            object.__setattr__(self, "horizon_from", _number("horizon_from", self.horizon_from, lo=0))
        object.__setattr__(self, "sigmas", check_levels("sigmas", self.sigmas, lo=0))
        object.__setattr__(self, "noise_offset", _number("noise_offset", self.noise_offset))
        object.__setattr__(self, "n_repeats", _number("n_repeats", self.n_repeats, lo=1, hi=10 ** 4, integer=True))
        object.__setattr__(self, "interruption_fractions",
                           check_levels("interruption_fractions", self.interruption_fractions, lo=0, hi=1))
        object.__setattr__(self, "long_delay_from", _number("long_delay_from", self.long_delay_from, lo=0))
        object.__setattr__(self, "half_failure", _number("half_failure", self.half_failure, lo=0, hi=1,
                                                         lo_open=True))
        for name, allowed in (("forgetting_protocols", ("replace", "extend")),
                              ("distractors", ("literal", "zero_mean")),
                              ("interruptions", ("stim1", "whole_trial"))):
            v = getattr(self, name)
            v = tuple(v) if isinstance(v, (list, tuple)) else (v,)
            bad = [x for x in v if x not in allowed]
            if not v or bad or len(set(v)) != len(v):
                raise ConfigError(f"{name} must be a non-empty list of distinct values among {', '.join(allowed)} "
                                  f"(the first is the book's default reading); got {list(v)!r}")
            object.__setattr__(self, name, v)

    def delays(self, step: float | None = None) -> tuple[float, ...]:
        """The delay grid ``delay_min, delay_min + step, ... <= delay_max`` (default step: ``delay_step``)."""
        step = self.delay_step if step is None else _number("delay_step", step, lo=0, lo_open=True)
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


@dataclass(frozen=True)
class DynamicsConfig(RefusesRunSettings):
    """Dynamical-systems analyses of trained networks (claims C1-C3, C5; book: Methods, Taxonomy).

    **Attractor probing** (:mod:`slowmem.analysis.attractors`): every network
    runs autonomously (no input, feedback on) for ``probe_trials`` trial
    lengths from ``starts_per_centre`` noisy copies (Normal noise of std
    ``start_noise`` per unit) of each *centre*: the 4 trial-end states and,
    with ``include_origin``, the origin (20 x 5 = 100 starts by default).
    Statistics of the response z are taken over the last ``window_trials``
    trial lengths.

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

    Attributes not named above: ``trace_every`` (steps between kept samples of
    the long output traces), ``n_snapshots`` (states per start kept at
    geometrically spaced times of the probe, to seed the slow-point finder).
    """

    # attractor probing
    probe_trials: int = 50
    window_trials: int = 2
    starts_per_centre: int = 20
    start_noise: float = 0.5
    include_origin: bool = True
    trace_every: int = 10
    n_snapshots: int = 8
    # slow points
    slow_starts: int = 512
    adam_steps: int = 0
    adam_lr: float = 0.05
    adam_final_lr: float = 0.001
    newton_steps: int = 40
    refine_below: float | None = None
    tol_fixed: float = 1e-10
    tol_slow: float = 1e-4
    point_tolerance: float = 0.02
    max_points: int = 64
    # taxonomy
    variance_tolerance: float = 1e-4
    output_tolerance: float = 0.05
    state_tolerance: float = 0.05
    far_margin: float = 1.0
    n_memories: int | None = None
    zero_eigenvalue: float = 0.05
    # activity
    saturation: float = 0.8
    # slow manifold (slowmem.analysis.manifold; its module docstring states the criterion)
    #: a state is *slow* when its speed |F|/sqrt(N) is below this fraction of the reference speed
    #: (the median speed over the test trials); the slow-point criterion
    manifold_slow_ratio: float = 0.05
    #: an autonomous run has *settled* (reached its fixed point) below this fraction of the reference speed
    manifold_settled_ratio: float = 1e-4
    #: Levenberg-Marquardt damping floor (as a rate, 1/tau): directions that relax faster than this are
    #: minimised away, slower ones -- the manifold -- are left where the memory is
    manifold_damping_rate: float = 0.5
    #: Levenberg-Marquardt steps of the local q-minimisation
    manifold_lm_steps: int = 12
    #: undamped Newton steps that test whether a minimised point is a fixed point nearby
    manifold_newton_steps: int = 6
    #: RMS distance within which that Newton polish must land for the point to count as a fixed point
    #: (below point_tolerance it acts as point_tolerance: a slow point that close to a fixed point merges into it)
    manifold_fixed_reach: float = 0.02
    #: seeds per delay window per test trial (evenly spaced, the last state of the window first)
    manifold_delay_seeds: int = 1
    #: seeds per autonomous run: its trial-end start plus the first states below speeds geometrically
    #: spaced from the slow to the settled speed
    manifold_run_seeds: int = 6
    #: longest autonomous run from the trial-end states, in trial lengths (it stops once all have settled)
    manifold_trials: int = 50
    #: steps between the recorded states of those runs
    manifold_record_every: int = 10
    #: at most this many slow points per network are linearised (all fixed points found are)
    manifold_points: int = 8
    #: steps either side of the entry into the slow stretch over which the speed's decay rate is measured
    manifold_rate_window: int = 10
    # cost
    sampled_slow_points: bool = False

    def __post_init__(self) -> None:
        check_bool("sampled_slow_points", self.sampled_slow_points)
        ints = {"probe_trials": (1, 10 ** 5), "window_trials": (1, 10 ** 5), "starts_per_centre": (1, 10 ** 5),
                "trace_every": (1, 10 ** 6), "n_snapshots": (0, 10 ** 4),
                "slow_starts": (1, 10 ** 6), "adam_steps": (0, 10 ** 6), "newton_steps": (0, 10 ** 4),
                "max_points": (1, 10 ** 6)}
        for name, (lo, hi) in ints.items():
            object.__setattr__(self, name, _number(name, getattr(self, name), lo=lo, hi=hi, integer=True))
        if self.window_trials > self.probe_trials:
            raise ConfigError(f"window_trials must be in [1, probe_trials = {self.probe_trials}]; "
                              f"got {self.window_trials}")
        positive = ("adam_lr", "adam_final_lr", "tol_fixed", "tol_slow",
                    "point_tolerance", "variance_tolerance", "output_tolerance", "state_tolerance",
                    "zero_eigenvalue")
        for name in positive:
            object.__setattr__(self, name, _number(name, getattr(self, name), lo=0, lo_open=True))
        object.__setattr__(self, "start_noise", _number("start_noise", self.start_noise, lo=0))
        object.__setattr__(self, "far_margin", _number("far_margin", self.far_margin, lo=0))
        if self.tol_slow < self.tol_fixed:
            raise ConfigError(f"tol_slow must be >= tol_fixed = {self.tol_fixed:g}; got {self.tol_slow:g}")
        if self.adam_final_lr > self.adam_lr:
            raise ConfigError(f"adam_final_lr must be in (0, adam_lr = {self.adam_lr:g}]; got {self.adam_final_lr:g}")
        object.__setattr__(self, "saturation", _number("saturation", self.saturation, lo=0, hi=1, hi_open=True))
        check_bool("include_origin", self.include_origin)
        if self.refine_below is not None:
            object.__setattr__(self, "refine_below", _number("refine_below", self.refine_below, lo=0, lo_open=True))
        if self.n_memories is not None:
            object.__setattr__(self, "n_memories", _number("n_memories", self.n_memories, lo=1, hi=10 ** 4,
                                                           integer=True))
        for name, (lo, hi) in {"manifold_lm_steps": (0, 10 ** 4), "manifold_newton_steps": (0, 10 ** 4),
                               "manifold_delay_seeds": (0, 10 ** 4), "manifold_run_seeds": (0, 10 ** 4),
                               "manifold_trials": (1, 10 ** 5), "manifold_record_every": (1, 10 ** 6),
                               "manifold_points": (0, 10 ** 4), "manifold_rate_window": (1, 10 ** 6)}.items():
            object.__setattr__(self, name, _number(name, getattr(self, name), lo=lo, hi=hi, integer=True))
        if self.manifold_delay_seeds + self.manifold_run_seeds == 0:
            raise ConfigError("manifold_delay_seeds + manifold_run_seeds must be >= 1 (the slow-point search needs "
                              "seeds); got 0 + 0")
        for name in ("manifold_slow_ratio", "manifold_settled_ratio"):
            object.__setattr__(self, name, _number(name, getattr(self, name), lo=0, hi=1, lo_open=True, hi_open=True))
        if self.manifold_settled_ratio >= self.manifold_slow_ratio:
            raise ConfigError(f"manifold_settled_ratio must be < manifold_slow_ratio = {self.manifold_slow_ratio:g}; "
                              f"got {self.manifold_settled_ratio:g}")
        for name in ("manifold_damping_rate", "manifold_fixed_reach"):
            object.__setattr__(self, name, _number(name, getattr(self, name), lo=0, lo_open=True))


    @property
    def n_centres(self) -> int:
        """Centres of the probe's starts: the 4 trial-end states (+ the origin)."""
        return 4 + int(self.include_origin)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

