"""The sections that determine a trained network: the task, the network, the training.

The paper's values (its Methods) are the defaults; :data:`slowmem.config.PRESETS`
changes the scale.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .checks import ConfigError, RefusesRunSettings, _choice, _number, duration_to_steps

__all__ = ["PERIODS", "DEFAULT_TIMING", "RULES", "INITS", "DTYPES", "STIMULUS_SOURCES", "ACCURACY_TOLERANCE",
           "ERROR_THRESHOLDS", "REPLAY_SEEDS", "SUCCESS_ACCURACY", "MAX_TRIAL_STEPS", "TaskConfig", "NetworkConfig",
           "TrainingConfig"]

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

# Evaluation (book: Methods, Success).
#: A trial is correct when its mean response-window output is nearest the
#: right encoding and within this distance of it.
ACCURACY_TOLERANCE = 0.1
#: The paper's error criterion: response-window RMSE thresholds.
ERROR_THRESHOLDS: tuple[float, ...] = (0.005, 0.01, 0.05, 0.1)
#: Stimulus seeds per (trial-end state, trial type) in the replay test.
REPLAY_SEEDS = 10
#: Most Euler steps one trial may have (a guard against durations typed in the wrong unit).
MAX_TRIAL_STEPS = 100_000
#: A network "performs the task" when both its test accuracy and its replay
#: accuracy reach this fraction.
SUCCESS_ACCURACY = 0.95


@dataclass(frozen=True)
class TaskConfig(RefusesRunSettings):
    """The SPM task (the paper's Methods, task; book: Methods, Task).

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
        total = sum(timing.values()) / dt
        if total > MAX_TRIAL_STEPS:
            raise ConfigError(f"timing: one trial of {sum(timing.values()):g} tau is {total:.3g} steps of dt = {dt:g}; "
                              f"at most {MAX_TRIAL_STEPS} steps per trial (the paper's trial is 350)")
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
class NetworkConfig(RefusesRunSettings):
    """A rate network (the paper's Methods, network model; book: Methods, Network).

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
class TrainingConfig(RefusesRunSettings):
    """FORCE training (the paper's Methods, training; book: Methods, Training).

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
        dtype: ``float64`` or ``float32``.

    Where training runs (device, engine, threads) is a run setting, not part of
    the config: see :class:`slowmem.runtime.Runtime`.
    """

    rule: str = "modified"
    trials: int = 3500
    test_trials: int = 20
    update_every: int = 2
    alpha: float = 1.0
    seed: int = 0
    dtype: str = "float64"

    def __post_init__(self) -> None:
        _choice("rule", self.rule, RULES)
        object.__setattr__(self, "trials", _number("trials", self.trials, lo=0, hi=10**6, integer=True))
        object.__setattr__(self, "test_trials", _number("test_trials", self.test_trials, lo=4, hi=10**5, integer=True))
        object.__setattr__(self, "update_every",
                           _number("update_every", self.update_every, lo=1, hi=1000, integer=True))
        object.__setattr__(self, "alpha", _number("alpha", self.alpha, lo=0, lo_open=True))
        object.__setattr__(self, "seed", _number("seed", self.seed, lo=0, hi=2**63 - 1, integer=True))
        _choice("dtype", self.dtype, DTYPES)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

