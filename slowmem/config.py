"""Validated settings: the one place where every default of slowmem lives.

A run is described by a :class:`Config` made of three sections,

* :class:`TaskConfig`     -- the sequential pattern-matching (SPM) task,
* :class:`NetworkConfig`  -- the rate networks (PAPER.md section 3),
* :class:`TrainingConfig` -- FORCE / modified FORCE (PAPER.md section 4),

and is usually made from a named preset plus flat overrides::

    cfg = Config.from_preset("book", N=200, g=1.4, seed=3)

Every entry point (papermill ``parameters`` cells, CLI flags, sweep grid files)
goes through :meth:`Config.from_preset` / :func:`validate_overrides`, so a bad
value fails early with a message naming the parameter and what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

__all__ = [
    "ConfigError",
    "TaskConfig",
    "NetworkConfig",
    "TrainingConfig",
    "Config",
    "PRESETS",
    "PERIODS",
    "DEFAULT_TIMING",
    "validate_overrides",
    "parse_seeds",
    "check_number",
    "check_choice",
    "check_bool",
    "section_with_overrides",
    "ACCURACY_TOLERANCE",
    "ERROR_THRESHOLDS",
    "REPLAY_SEEDS",
    "SUCCESS_ACCURACY",
]


class ConfigError(ValueError):
    """A setting is invalid. The message names the setting and what is allowed."""


#: The periods of one SPM trial, in the order they happen.
PERIODS: tuple[str, ...] = ("stim1", "delay1", "stim2", "delay2", "response")

#: The paper's timing, in units of the neuron time constant tau.
DEFAULT_TIMING: Mapping[str, float] = MappingProxyType(
    {"stim1": 10.0, "delay1": 5.0, "stim2": 10.0, "delay2": 5.0, "response": 5.0}
)

RULES = ("modified", "original")
INITS = ("gaussian", "uniform")
DTYPES = ("float32", "float64")
STIMULUS_SOURCES = ("digits", "mnist")

# Evaluation (PAPER.md section 4, "Success").
#: A trial is correct when its mean response-window output is nearest the
#: right encoding and within this distance of it.
ACCURACY_TOLERANCE = 0.1
#: The paper's error criterion: response-window RMSE thresholds.
ERROR_THRESHOLDS: tuple[float, ...] = (0.005, 0.01, 0.05, 0.1)
#: Stimulus seeds per (trial-end state, trial type) in the replay test.
REPLAY_SEEDS = 10
#: A network "performs the task" when both its test accuracy and its replay
#: accuracy reach this fraction.
SUCCESS_ACCURACY = 0.95


# --------------------------------------------------------------------------- #
# small checkers: each returns the cleaned value or raises ConfigError
# --------------------------------------------------------------------------- #
def _number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False, hi_open: bool = False, integer: bool = False) -> Any:
    """Coerce ``value`` to a finite number inside the given interval or raise."""
    lo_b = "(" if lo_open else "["
    hi_b = ")" if hi_open else "]"
    rng = f"{lo_b}{'-inf' if lo is None else _fmt(lo)}, {'inf' if hi is None else _fmt(hi)}{hi_b}"
    kind = "an integer" if integer else "a number"
    allowed = f"{kind} in {rng}"
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be {allowed}; got the boolean {value!r}")
    original = value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"{name} must be {allowed}; got the text {value!r}") from None
    value_repr = repr(original)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {allowed}; got {value!r} ({type(value).__name__})") from None
    if not math.isfinite(v):
        raise ConfigError(f"{name} must be {allowed}; got {value_repr}")
    if integer:
        if v != int(v):
            raise ConfigError(f"{name} must be {allowed}; got {value_repr}")
        v = int(v)
    bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (
        hi is not None and (v >= hi if hi_open else v > hi))
    if bad:
        raise ConfigError(f"{name} must be {allowed}; got {value_repr}")
    return v


def check_number(name: str, value: Any, **limits: Any) -> Any:
    """Public form of the number check (papermill parameters of the chapters use it).

    ``limits``: ``lo``, ``hi``, ``lo_open``, ``hi_open``, ``integer``.
    """
    return _number(name, value, **limits)


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``; else ConfigError naming ``name``."""
    return _choice(name, value, tuple(allowed))


def section_with_overrides(cls: type, cfg: Any = None, **overrides: Any) -> Any:
    """``cfg`` (default ``cls()``) with the non-None ``overrides`` applied and validated.

    Shared by the analyses' config sections (``DynamicsConfig``, ``MemoryConfig``).
    """
    cfg = cls() if cfg is None else cfg
    if not isinstance(cfg, cls):
        raise ConfigError(f"cfg must be a slowmem.config.{cls.__name__}; got {type(cfg).__name__}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(cfg, **overrides) if overrides else cfg


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is True or False (papermill passes booleans through); else ConfigError."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False; got {value!r}")
    return value


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def duration_to_steps(name: str, duration: float, dt: float) -> int:
    """Number of Euler steps in ``duration``; raises unless it is a whole multiple of ``dt``.

    Durations are never silently floored: 5.05 with dt = 0.1 is an error.
    """
    steps = duration / dt
    n = round(steps)
    if abs(steps - n) > 1e-6 * max(1.0, abs(steps)):
        raise ConfigError(
            f"{name} = {duration} is not a whole multiple of dt = {dt}; "
            f"allowed: durations k*dt for integer k >= 1 (nearest: {max(n, 1) * dt:g})")
    return int(n)


# --------------------------------------------------------------------------- #
# sections
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class TaskConfig:
    """The SPM task (PAPER.md section 2).

    Attributes:
        dt: Euler step, in units of tau.
        tau: neuron time constant (the unit of time).
        timing: duration of each period in :data:`PERIODS`; partial dicts are
            merged over :data:`DEFAULT_TIMING`.
        encoding: target output for the sums 0, 1 and 2 of the two digits.
        digits: the two digit classes shown (first maps to 0, second to 1).
        stimuli: where the 2-D latents come from: ``digits`` (scikit-learn's
            bundled digits, shipped with slowmem) or ``mnist`` (needs a local
            copy; see :mod:`slowmem.stimuli`).
    """

    dt: float = 0.1
    tau: float = 1.0
    timing: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMING))
    encoding: tuple[float, float, float] = (1.0, 0.5, 1.5)
    digits: tuple[int, int] = (0, 1)
    stimuli: str = "digits"

    def __post_init__(self) -> None:
        dt = _number("dt", self.dt, lo=0, hi=1, lo_open=True)
        tau = _number("tau", self.tau, lo=0, lo_open=True)
        if not isinstance(self.timing, Mapping):
            raise ConfigError(f"timing must be a mapping of period -> duration; got {self.timing!r}")
        unknown = set(self.timing) - set(PERIODS)
        if unknown:
            raise ConfigError(f"timing has unknown period(s) {sorted(unknown)}; allowed: {', '.join(PERIODS)}")
        timing = {p: _number(f"timing[{p!r}]", self.timing.get(p, DEFAULT_TIMING[p]), lo=0, lo_open=True)
                  for p in PERIODS}
        for p, d in timing.items():
            duration_to_steps(f"timing[{p!r}]", d, dt)
        enc = tuple(self.encoding) if isinstance(self.encoding, (list, tuple)) else None
        if enc is None or len(enc) != 3:
            raise ConfigError(f"encoding must be 3 numbers (outputs for sums 0, 1, 2); got {self.encoding!r}")
        enc = tuple(_number(f"encoding[{i}]", e) for i, e in enumerate(enc))
        if len(set(enc)) != 3:
            raise ConfigError(f"encoding values must be distinct; got {enc}")
        digits = tuple(self.digits) if isinstance(self.digits, (list, tuple)) else ()
        if len(digits) != 2:
            raise ConfigError(f"digits must be two digit classes; got {self.digits!r}")
        digits = tuple(_number(f"digits[{i}]", d, lo=0, hi=9, integer=True) for i, d in enumerate(digits))
        if digits[0] == digits[1]:
            raise ConfigError(f"digits must be two different classes; got {digits}")
        _choice("stimuli", self.stimuli, STIMULUS_SOURCES)
        object.__setattr__(self, "dt", dt)
        object.__setattr__(self, "tau", tau)
        object.__setattr__(self, "timing", MappingProxyType(timing))
        object.__setattr__(self, "encoding", enc)
        object.__setattr__(self, "digits", digits)

    @property
    def period_steps(self) -> dict[str, int]:
        """Steps per period, in trial order."""
        return {p: duration_to_steps(p, self.timing[p], self.dt) for p in PERIODS}

    @property
    def trial_steps(self) -> int:
        """Steps in one trial (350 at the paper's settings)."""
        return sum(self.period_steps.values())

    @property
    def trial_duration(self) -> float:
        return sum(self.timing.values())

    def to_dict(self) -> dict:
        return {"dt": self.dt, "tau": self.tau, "timing": dict(self.timing),
                "encoding": list(self.encoding), "digits": list(self.digits), "stimuli": self.stimuli}


@dataclass(frozen=True)
class NetworkConfig:
    """A rate network (PAPER.md section 3).

    Attributes:
        N: number of rate units.
        g: gain of the random recurrent matrix (chaos level).
        pg: connection probability of J; nonzero entries ~ Normal(0, 1/(pg N)).
        fb: feedback weights wf, wfd ~ Normal(0, 1) / fb.
        in_scale: input weights wi ~ Normal(0, 1) / in_scale.
        init: ``gaussian`` (the paper's) or ``uniform`` (same variance,
            Uniform(-sqrt 3, sqrt 3) in place of Normal(0, 1)).
        x0_scale: initial state x ~ x0_scale * Normal(0, 1).
    """

    N: int = 1000
    g: float = 1.2
    pg: float = 0.9
    fb: float = 10.0
    in_scale: float = 50.0
    init: str = "gaussian"
    x0_scale: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "N", _number("N", self.N, lo=2, hi=20000, integer=True))
        object.__setattr__(self, "g", _number("g", self.g, lo=0, hi=10))
        object.__setattr__(self, "pg", _number("pg", self.pg, lo=0, hi=1, lo_open=True))
        object.__setattr__(self, "fb", _number("fb", self.fb, lo=0, lo_open=True))
        object.__setattr__(self, "in_scale", _number("in_scale", self.in_scale, lo=0, lo_open=True))
        _choice("init", self.init, INITS)
        object.__setattr__(self, "x0_scale", _number("x0_scale", self.x0_scale, lo=0))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainingConfig:
    """FORCE training (PAPER.md section 4).

    Attributes:
        rule: ``modified`` (wd learns only in the delays, wo only in the
            response window; the paper's main rule) or ``original`` (both learn
            at every update step, targets zero outside their windows).
        trials: number of training trials (back to back, no reset).
        test_trials: test trials after training (weights frozen).
        update_every: integration steps between RLS updates.
        alpha: RLS regulariser; P starts at I / alpha.
        seed: seed of the network (weights, initial state) and of its trial
            order and stimulus draws.
        device: ``cpu``, ``cuda`` or ``cuda:K``.
        dtype: ``float64`` or ``float32``.
    """

    rule: str = "modified"
    trials: int = 3500
    test_trials: int = 20
    update_every: int = 2
    alpha: float = 1.0
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"

    def __post_init__(self) -> None:
        _choice("rule", self.rule, RULES)
        object.__setattr__(self, "trials", _number("trials", self.trials, lo=0, hi=10**6, integer=True))
        object.__setattr__(self, "test_trials", _number("test_trials", self.test_trials, lo=4, hi=10**5, integer=True))
        object.__setattr__(self, "update_every", _number("update_every", self.update_every, lo=1, hi=1000, integer=True))
        object.__setattr__(self, "alpha", _number("alpha", self.alpha, lo=0, lo_open=True))
        object.__setattr__(self, "seed", _number("seed", self.seed, lo=0, hi=2**63 - 1, integer=True))
        if not isinstance(self.device, str) or not (
                self.device == "cpu" or self.device == "cuda" or
                (self.device.startswith("cuda:") and self.device[5:].isdigit())):
            raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:K'; got {self.device!r}")
        _choice("dtype", self.dtype, DTYPES)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- #
# presets and the whole config
# --------------------------------------------------------------------------- #
#: Named scales. ``paper`` is PAPER.md's; ``book`` is what the book's
#: population uses; ``ci`` is small enough for a 2-core CI run.
PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "ci": MappingProxyType({"N": 200, "g": 1.2, "pg": 0.4, "fb": 10.0, "trials": 1000}),
    "book": MappingProxyType({"N": 300, "g": 1.2, "pg": 0.4, "fb": 10.0, "trials": 1500}),
    "paper": MappingProxyType({"N": 1000, "g": 1.2, "pg": 0.9, "fb": 10.0, "trials": 3500}),
})

_SECTIONS = {
    "task": TaskConfig,
    "network": NetworkConfig,
    "training": TrainingConfig,
}
#: flat override name -> section name
FIELD_SECTION: Mapping[str, str] = MappingProxyType({
    f.name: sec for sec, cls in _SECTIONS.items() for f in dataclasses.fields(cls)
})


def validate_overrides(overrides: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` for an override name slowmem does not know."""
    unknown = [k for k in overrides if k not in FIELD_SECTION]
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {unknown}; allowed: {', '.join(sorted(FIELD_SECTION))}")


@dataclass(frozen=True)
class Config:
    """Everything that determines one trained network (with its seed)."""

    task: TaskConfig = field(default_factory=TaskConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    preset: str | None = None

    @classmethod
    def from_preset(cls, preset: str = "book", **overrides: Any) -> "Config":
        """The preset's settings with flat ``overrides`` (e.g. ``N=300, rule='original'``).

        ``None`` values in ``overrides`` are ignored, so CLI flags that were not
        given can be passed straight through.
        """
        if preset not in PRESETS:
            raise ConfigError(f"preset must be one of {', '.join(map(repr, PRESETS))}; got {preset!r}")
        overrides = {k: v for k, v in overrides.items() if v is not None}
        validate_overrides(overrides)
        values = {**PRESETS[preset], **overrides}
        parts: dict[str, dict] = {s: {} for s in _SECTIONS}
        for k, v in values.items():
            parts[FIELD_SECTION[k]][k] = v
        return cls(**{s: _SECTIONS[s](**parts[s]) for s in _SECTIONS}, preset=preset)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Config":
        """Inverse of :meth:`to_dict` (used when reading stored runs)."""
        try:
            return cls(task=TaskConfig(**d["task"]), network=NetworkConfig(**d["network"]),
                       training=TrainingConfig(**d["training"]), preset=d.get("preset"))
        except (KeyError, TypeError) as e:
            raise ConfigError(f"stored config is malformed ({e}); expected keys task, network, training") from None

    def replace(self, **overrides: Any) -> "Config":
        """A copy with flat overrides applied (validated)."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        validate_overrides(overrides)
        parts = {s: {} for s in _SECTIONS}
        for k, v in overrides.items():
            parts[FIELD_SECTION[k]][k] = v
        return Config(**{s: dataclasses.replace(getattr(self, s), **parts[s]) for s in _SECTIONS},
                      preset=self.preset)

    def to_dict(self) -> dict:
        return {"preset": self.preset, "task": self.task.to_dict(),
                "network": self.network.to_dict(), "training": self.training.to_dict()}


def parse_seeds(spec: Any) -> list[int]:
    """Seeds from ``5``, ``"0-7"``, ``"0,3,9"``, ``"0-3,8"`` or a list of ints.

    Returns a sorted list of distinct seeds; raises :class:`ConfigError` on
    anything else.
    """
    allowed = "an integer >= 0, a range 'a-b', or a comma list such as '0,3,5-7'"
    if isinstance(spec, bool):
        raise ConfigError(f"seeds must be {allowed}; got {spec!r}")
    if isinstance(spec, int):
        items = [spec]
    elif isinstance(spec, (list, tuple)):
        items = [_number("seeds", s, lo=0, integer=True) for s in spec]
    elif isinstance(spec, str):
        items = []
        for part in spec.split(","):
            part = part.strip()
            if "-" in part:
                a, _, b = part.partition("-")
                a = _number("seeds", a, lo=0, integer=True) if a.strip() else None
                b = _number("seeds", b, lo=0, integer=True) if b.strip() else None
                if a is None or b is None or b < a:
                    raise ConfigError(f"seeds must be {allowed}; got {spec!r}")
                items.extend(range(a, b + 1))
            elif part:
                items.append(_number("seeds", part, lo=0, integer=True))
    else:
        raise ConfigError(f"seeds must be {allowed}; got {spec!r}")
    seeds = sorted(set(int(s) for s in items))
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"seeds must be {allowed}; got {spec!r}")
    if len(seeds) > 100000:
        raise ConfigError(f"seeds: at most 100000 networks in one batch; got {len(seeds)}")
    return seeds


# --------------------------------------------------------------------------- #
# memory under stress: forgetting, distraction, interruption (PAPER.md 5.5-5.7)
# --------------------------------------------------------------------------- #
#: The paper's distraction noise levels sigma (PAPER.md section 5.6): the noise
#: added to the stimulus-1 latent at each step is ``uniform(0, 1) * sigma + 0.5``.
DISTRACTION_SIGMAS: tuple[float, ...] = (0.1, 0.2, 0.25, 0.33, 0.5, *(float(s) for s in range(1, 11)),
                                         *(float(s) for s in range(15, 41, 5)))
#: Fractions of the N units whose input is silenced during stimulus 1
#: (PAPER.md section 5.7: n_off = 100, ..., 900 of N = 1000).
INTERRUPTION_FRACTIONS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(1, 10))


def _levels(name: str, values: Any, *, lo: float, hi: float | None = None) -> tuple[float, ...]:
    """A non-empty tuple of distinct numbers in [lo, hi], sorted ascending."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ConfigError(f"{name} must be a list of numbers in [{_fmt(lo)}, {'inf' if hi is None else _fmt(hi)}]; "
                          f"got {values!r}")
    out = tuple(sorted(float(_number(f"{name}[{i}]", v, lo=lo, hi=hi)) for i, v in enumerate(values)))
    if not out:
        raise ConfigError(f"{name} must hold at least one value; got an empty list")
    if len(set(out)) != len(out):
        raise ConfigError(f"{name} must hold distinct values; got {list(values)!r}")
    return out


@dataclass(frozen=True)
class MemoryConfig:
    """Memory under stress: forgetting curves, distraction, interruption (PAPER.md 5.5-5.7).

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
        max_chunk_elements: simulations are split so that one chunk's state
            holds at most this many numbers (B x conditions x N).
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
    max_chunk_elements: int = 2 ** 24

    def __post_init__(self) -> None:
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
        object.__setattr__(self, "sigmas", _levels("sigmas", self.sigmas, lo=0))
        object.__setattr__(self, "noise_offset", _number("noise_offset", self.noise_offset))
        object.__setattr__(self, "n_repeats", _number("n_repeats", self.n_repeats, lo=1, hi=10 ** 4, integer=True))
        object.__setattr__(self, "interruption_fractions",
                           _levels("interruption_fractions", self.interruption_fractions, lo=0, hi=1))
        object.__setattr__(self, "max_chunk_elements",
                           _number("max_chunk_elements", self.max_chunk_elements, lo=1, integer=True))

    def delays(self, step: float | None = None) -> tuple[float, ...]:
        """The delay grid ``delay_min, delay_min + step, ... <= delay_max`` (default step: ``delay_step``)."""
        step = self.delay_step if step is None else _number("delay_step", step, lo=0, lo_open=True)
        n = int(math.floor((self.delay_max - self.delay_min) / step + 1e-9)) + 1
        return tuple(round(self.delay_min + i * step, 10) for i in range(n))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["sigmas"] = list(self.sigmas)
        d["interruption_fractions"] = list(self.interruption_fractions)
        return d


__all__ += ["DISTRACTION_SIGMAS", "INTERRUPTION_FRACTIONS", "MemoryConfig"]


# --------------------------------------------------------------------------- #
# dynamics: attractor probing, slow points, taxonomy, activity (PAPER.md 5.1, 5.2, 5.4, 5.8)
# --------------------------------------------------------------------------- #
#: The four dynamical mechanisms of the paper's taxonomy (claim C1), in the
#: order used for codes and plots.
MECHANISMS: tuple[str, ...] = ("fixed points", "slow manifold", "limit cycle", "far/mixed")


@dataclass(frozen=True)
class DynamicsConfig:
    """Dynamical-systems analyses of trained networks (PAPER.md 5.1, 5.2, 5.4, 5.8).

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

    Attributes not named above: ``trace_every`` (steps between kept samples of
    the long output traces), ``n_snapshots`` (states per start kept at
    geometrically spaced times of the probe, to seed the slow-point finder),
    ``chunk_trials`` (trial lengths simulated per call of the probe, to bound
    memory), ``max_chunk_elements`` (numbers per chunk of Jacobians in the
    Newton stage).
    """

    # attractor probing
    probe_trials: int = 50
    window_trials: int = 2
    starts_per_centre: int = 20
    start_noise: float = 0.5
    include_origin: bool = True
    trace_every: int = 10
    n_snapshots: int = 8
    chunk_trials: int = 1
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
    max_chunk_elements: int = 2 ** 24
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

    def __post_init__(self) -> None:
        ints = {"probe_trials": (1, 10 ** 5), "window_trials": (1, 10 ** 5), "starts_per_centre": (1, 10 ** 5),
                "trace_every": (1, 10 ** 6), "n_snapshots": (0, 10 ** 4), "chunk_trials": (1, 10 ** 5),
                "slow_starts": (1, 10 ** 6), "adam_steps": (0, 10 ** 6), "newton_steps": (0, 10 ** 4),
                "max_points": (1, 10 ** 6), "max_chunk_elements": (1, 2 ** 40)}
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


__all__ += ["MECHANISMS", "DynamicsConfig"]
