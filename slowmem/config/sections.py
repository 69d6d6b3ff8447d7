"""The sections that determine a trained network: the task, the network, the training.

The paper's values (its Methods) are the defaults; :data:`slowmem.config.PRESETS`
changes the scale.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .checks import ConfigError, RefusesRunSettings, _number, duration_to_steps
from .params import check_declared, documented, param

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


@documented
@dataclass(frozen=True)
class TaskConfig(RefusesRunSettings):
    """The SPM task (the paper's Methods, task; book: Methods, Task)."""

    dt: float = param(0.1, kind="float", lo=0, hi=1, lo_open=True, help="Euler step, in units of tau")
    tau: float = param(1.0, kind="float", lo=0, lo_open=True, help="neuron time constant (the unit of time)")
    timing: Mapping[str, float] = param(
        factory=lambda: dict(DEFAULT_TIMING), kind="custom", help="duration of each period of PERIODS",
        allowed="a mapping period -> duration > 0, each a whole multiple of dt; partial mappings are merged over "
                "DEFAULT_TIMING")
    encoding: tuple[float, float, float] = param(
        (1.0, 0.5, 1.5), kind="custom", help="target output for the sums 0, 1 and 2 of the two digits",
        allowed="3 distinct numbers")
    digits: tuple[int, int] = param(
        (0, 1), kind="custom", help="the two digit classes shown (the first maps to 0, the second to 1)",
        allowed="two different integers in [0, 9]")
    stimuli: str = param("digits", kind="choice", choices=STIMULUS_SOURCES,
                         help="where the 2-D latents come from: scikit-learn's bundled digits (shipped with "
                              "slowmem) or MNIST (needs a local copy; see slowmem.stimuli)")

    def __post_init__(self) -> None:
        check_declared(self)
        dt = self.dt
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


@documented
@dataclass(frozen=True)
class NetworkConfig(RefusesRunSettings):
    """A rate network (the paper's Methods, network model; book: Methods, Network)."""

    N: int = param(1000, kind="int", lo=2, hi=20000, help="number of rate units")
    g: float = param(1.2, kind="float", lo=0, hi=10, help="gain of the random recurrent matrix J (chaos level)")
    pg: float = param(0.9, kind="float", lo=0, hi=1, lo_open=True,
                      help="connection probability of J; nonzero entries ~ Normal(0, 1/(pg N))")
    fb: float = param(10.0, kind="float", lo=0, lo_open=True, help="feedback scale: wf, wfd ~ Normal(0, 1) / fb")
    in_scale: float = param(50.0, kind="float", lo=0, lo_open=True,
                            help="input scale: wi ~ Normal(0, 1) / in_scale")
    init: str = param("gaussian", kind="choice", choices=INITS,
                      help="weight distribution: gaussian (the paper's) or uniform (same variance, "
                           "Uniform(-sqrt 3, sqrt 3) in place of Normal(0, 1))")
    x0_scale: float = param(0.1, kind="float", lo=0, help="initial state x ~ x0_scale * Normal(0, 1)")

    def __post_init__(self) -> None:
        check_declared(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@documented
@dataclass(frozen=True)
class TrainingConfig(RefusesRunSettings):
    """FORCE training (the paper's Methods, training; book: Methods, Training).

    Where training runs (device, engine, threads) is a run setting, not part of
    the config: see :class:`slowmem.runtime.Runtime`.
    """

    rule: str = param("modified", kind="choice", choices=RULES,
                      help="FORCE rule: modified (wd learns only in the delays, wo only in the response window; "
                           "the paper's main rule) or original (both learn at every update step, targets zero "
                           "outside their windows)")
    trials: int = param(3500, kind="int", lo=0, hi=10**6, help="training trials (back to back, no reset)")
    test_trials: int = param(20, kind="int", lo=4, hi=10**5, help="test trials after training (weights frozen)")
    update_every: int = param(2, kind="int", lo=1, hi=1000, help="integration steps between RLS updates")
    alpha: float = param(1.0, kind="float", lo=0, lo_open=True, help="RLS regulariser; P starts at I / alpha")
    seed: int = param(0, kind="int", lo=0, hi=2**63 - 1,
                      help="seed of the network (weights, initial state) and of its trial order and stimulus draws")
    dtype: str = param("float64", kind="choice", choices=DTYPES, help="precision of training")

    def __post_init__(self) -> None:
        check_declared(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
