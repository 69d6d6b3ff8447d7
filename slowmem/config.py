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
    "book": MappingProxyType({"N": 300, "g": 1.2, "pg": 0.4, "fb": 10.0, "trials": 3000}),
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
