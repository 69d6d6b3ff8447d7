"""Validated settings: the one place where every default of slowmem lives.

A run is described by a :class:`Config` made of five sections,

* :class:`TaskConfig`     -- the sequential pattern-matching (SPM) task,
* :class:`NetworkConfig`  -- the rate networks (the paper's Methods, "Network model"),
* :class:`TrainingConfig` -- FORCE / modified FORCE (Methods, "Training"),
* :class:`DynamicsConfig` -- attractor probe, slow points, taxonomy, activity,
* :class:`MemoryConfig`   -- forgetting, distraction, interruption,

and is usually made from a named preset plus flat overrides of the first three::

    cfg = Config.from_preset("book", N=200, g=1.4, seed=3)
    cfg = cfg.with_analysis(memory={"n_repeats": 4})

The first three sections are a network's **identity** (:func:`network_identity`,
:func:`network_id`): they determine the trained network. The two analysis
sections are not: they determine what is computed *about* a network, and every
stored summary records them (:func:`analysis_identity`), so that results made
with other settings are recomputed, never mixed.

How a run goes -- device, training engine, threads, chunk sizes, the analyses'
simulation precision, progress bars -- is not here: those are run settings,
:class:`slowmem.runtime.Runtime`, never part of an identity. Giving one to a
config (``Config.from_preset(device="cuda")``, ``DynamicsConfig(chunk_trials=2)``,
a grid-file key) raises a :class:`ConfigError` that says where it goes now.

Every entry point (papermill ``parameters`` cells, CLI flags, sweep grid files)
goes through :meth:`Config.from_preset` / :func:`validate_overrides`, so a bad
value fails early with a message naming the parameter and what is allowed.

Layout: :mod:`.checks` (validators), :mod:`.params` (each field's declaration: kind, range,
help -- the one source of validation, CLI flags and chapter parameter types), :mod:`.sections`
(task, network, training), :mod:`.analysis` (the analysis sections); this module joins them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import ShapeError, SlowmemError, StoredFileError
from .analysis import DISTRACTION_SIGMAS, INTERRUPTION_FRACTIONS, MECHANISMS, DynamicsConfig, MemoryConfig
from .checks import (
    RUN_SETTINGS,
    ConfigError,
    _number,
    check_bool,
    check_choice,
    check_levels,
    check_number,
    duration_to_steps,
    interval_text,
    run_setting_error,
    section_with_overrides,
)
from .params import Param, check_declared, declared_params, param
from .sections import (
    ACCURACY_TOLERANCE,
    DEFAULT_TIMING,
    DTYPES,
    ERROR_THRESHOLDS,
    INITS,
    PERIODS,
    REPLAY_SEEDS,
    RULES,
    STIMULUS_SOURCES,
    SUCCESS_ACCURACY,
    NetworkConfig,
    TaskConfig,
    TrainingConfig,
)

__all__ = [
    "ConfigError", "SlowmemError", "StoredFileError", "ShapeError",
    "TaskConfig", "NetworkConfig", "TrainingConfig", "DynamicsConfig", "MemoryConfig", "Config",
    "PRESETS", "PERIODS", "DEFAULT_TIMING", "RULES", "INITS", "DTYPES", "STIMULUS_SOURCES", "MECHANISMS",
    "DISTRACTION_SIGMAS", "INTERRUPTION_FRACTIONS", "ANALYSIS_SECTIONS", "FIELD_SECTION",
    "validate_overrides", "parse_seeds", "check_number", "check_choice", "check_bool", "check_levels",
    "section_with_overrides", "duration_to_steps",
    "network_identity", "network_id", "analysis_identity", "settings_hash", "RUN_SETTINGS", "run_setting_error",
    "drop_run_settings",
    "ACCURACY_TOLERANCE", "ERROR_THRESHOLDS", "REPLAY_SEEDS", "SUCCESS_ACCURACY", "MAX_SEED",
    "Param", "param", "declared_params", "check_declared", "PARAMS", "interval_text",
]

#: Largest seed accepted anywhere (seeds feed NumPy's SeedSequence and torch generators).
MAX_SEED: int = int(declared_params(TrainingConfig)["seed"].hi)   # 2**63 - 1, as TrainingConfig.seed declares

#: Named scales. ``paper`` is the paper's; ``book`` is what the book's
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
#: The analysis sections of a :class:`Config`: attribute name -> class.
ANALYSIS_SECTIONS: Mapping[str, type] = MappingProxyType({"dynamics": DynamicsConfig, "memory": MemoryConfig})
#: flat override name -> section name
FIELD_SECTION: Mapping[str, str] = MappingProxyType({
    f.name: sec for sec, cls in _SECTIONS.items() for f in dataclasses.fields(cls)
})
#: flat override name -> its declaration (:class:`Param`: kind, range, help), for the task, network and training
#: fields: what the ``slowmem train`` flags and a chapter's ``config`` parameters are made from.
PARAMS: Mapping[str, Param] = MappingProxyType({
    name: p for cls in _SECTIONS.values() for name, p in declared_params(cls).items()
})


def validate_overrides(overrides: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` for an override name slowmem does not know (or a run setting)."""
    moved = [k for k in overrides if k in RUN_SETTINGS]
    if moved:
        raise run_setting_error(moved[0], "Config")
    unknown = [k for k in overrides if k not in FIELD_SECTION]
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {unknown}; allowed: {', '.join(sorted(FIELD_SECTION))}")


@dataclass(frozen=True)
class Config:
    """Everything that determines one trained network (with its seed), and how it is analysed."""

    task: TaskConfig = field(default_factory=TaskConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    preset: str | None = None
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)

    def __post_init__(self) -> None:
        for name, cls in {**_SECTIONS, **ANALYSIS_SECTIONS}.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"Config.{name} must be a slowmem.config.{cls.__name__}; "
                                  f"got {type(getattr(self, name)).__name__}")

    @classmethod
    def from_preset(cls, preset: str = "book", **overrides: Any) -> Config:
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
    def from_dict(cls, d: Mapping[str, Any]) -> Config:
        """Inverse of :meth:`to_dict` (used when reading stored results).

        The analysis sections are optional (their defaults when absent, e.g.
        in a :func:`network_identity` dict); run settings recorded by older
        versions (``training.device``, the analyses' chunk sizes and simulation
        precision) are dropped (:func:`drop_run_settings`); anything malformed
        raises :class:`ConfigError`.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"stored config must be a mapping; got {type(d).__name__}")
        unknown = set(d) - {"preset", *_SECTIONS, *ANALYSIS_SECTIONS}
        if unknown:
            raise ConfigError(f"stored config has unknown section(s) {sorted(unknown)}; allowed: preset, "
                              f"{', '.join([*_SECTIONS, *ANALYSIS_SECTIONS])}")
        try:
            parts = {s: c(**drop_run_settings(d[s])) for s, c in _SECTIONS.items()}
            parts.update({s: c(**drop_run_settings(d[s])) if s in d else c() for s, c in ANALYSIS_SECTIONS.items()})
            return cls(**parts, preset=d.get("preset"))
        except (KeyError, TypeError) as e:
            raise StoredFileError(f"stored config is malformed ({type(e).__name__}: {e}); expected sections "
                              f"task, network, training with their fields") from None

    def with_analysis(self, **sections: Mapping[str, Any] | DynamicsConfig | MemoryConfig | None) -> Config:
        """A copy with analysis sections replaced or overridden, e.g. ``with_analysis(memory={"n_repeats": 4})``.

        Each value is a section instance or a mapping of its fields (applied
        over the current section, validated); None leaves the section alone.
        """
        new = {}
        for name, value in sections.items():
            if name not in ANALYSIS_SECTIONS:
                raise ConfigError(f"unknown analysis section {name!r}; allowed: {', '.join(ANALYSIS_SECTIONS)}")
            cls = ANALYSIS_SECTIONS[name]
            if value is None:
                continue
            if isinstance(value, cls):
                new[name] = value
            elif isinstance(value, Mapping):
                moved = [k for k in value if k in RUN_SETTINGS]
                if moved:
                    raise run_setting_error(moved[0], name)
                fields = {f.name for f in dataclasses.fields(cls)}
                bad = sorted(set(value) - fields)
                if bad:
                    raise ConfigError(f"{name}: unknown setting(s) {bad}; allowed: {', '.join(sorted(fields))}")
                new[name] = dataclasses.replace(getattr(self, name), **dict(value))
            else:
                raise ConfigError(f"{name} must be a mapping of its settings or a {cls.__name__}; "
                                  f"got {type(value).__name__}")
        return dataclasses.replace(self, **new) if new else self

    def replace(self, **overrides: Any) -> Config:
        """A copy with flat overrides applied (validated)."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        validate_overrides(overrides)
        parts = {s: {} for s in _SECTIONS}
        for k, v in overrides.items():
            parts[FIELD_SECTION[k]][k] = v
        return dataclasses.replace(self, **{s: dataclasses.replace(getattr(self, s), **parts[s])
                                            for s in _SECTIONS})

    def to_dict(self) -> dict:
        return {"preset": self.preset, "task": self.task.to_dict(), "network": self.network.to_dict(),
                "training": self.training.to_dict(),
                **{s: getattr(self, s).to_dict() for s in ANALYSIS_SECTIONS}}


def parse_seeds(spec: Any) -> list[int]:
    """Seeds from ``5``, ``"0-7"``, ``"0,3,9"``, ``"0-3,8"`` or a list of ints.

    Returns a sorted list of distinct seeds; raises :class:`ConfigError` on
    anything else, a seed named twice included (``"0,0"``, ``"0-3,2"``).
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
                if b - a >= MAX_SEEDS:
                    raise ConfigError(f"seeds: at most {MAX_SEEDS} networks; {part!r} holds {b - a + 1}")
                items.extend(range(a, b + 1))
            elif part:
                items.append(_number("seeds", part, lo=0, integer=True))
    else:
        raise ConfigError(f"seeds must be {allowed}; got {spec!r}")
    seen: set[int] = set()
    twice = sorted({int(s) for s in items if int(s) in seen or seen.add(int(s))})
    if twice:
        raise ConfigError(f"seeds: {', '.join(map(str, twice[:5]))} given more than once in {spec!r}; name each "
                          "seed once (a repeat would train the same network twice)")
    seeds = sorted(seen)
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"seeds must be {allowed}; got {spec!r}")
    if max(seeds) > MAX_SEED:
        raise ConfigError(f"seeds must be in [0, {MAX_SEED}]; got {max(seeds)}")
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"seeds: at most {MAX_SEEDS} networks; got {len(seeds)}")
    return seeds


#: Most seeds one spec may name (a batch or a grid's seed axis).
MAX_SEEDS = 100000


# --------------------------------------------------------------------------- #
# identity: which settings make a network, which make a summary
# --------------------------------------------------------------------------- #
def network_identity(cfg: Config) -> dict:
    """The settings that determine a trained network: task, network and training, seed included.

    Not included: the preset label (a name for values that are included) and
    the analysis sections (they do not change the network); run settings such
    as the device are not part of a config at all. This dict is what
    :func:`network_id` hashes and what a stored row records as ``config_json``.
    """
    d = cfg.to_dict()
    return {k: d[k] for k in _SECTIONS}


def drop_run_settings(section: Mapping[str, Any]) -> dict:
    """``section`` (one config section as stored) without the run settings older versions recorded in it.

    For reading stored files only (rows, manifests, payloads): a section given
    by a user with a run setting is refused instead (:func:`run_setting_error`).
    """
    if not isinstance(section, Mapping):
        raise ConfigError(f"a stored config section must be a mapping; got {type(section).__name__}")
    return {k: v for k, v in section.items() if k not in RUN_SETTINGS}


def settings_hash(d: Any) -> str:
    """First 12 hex digits of the SHA-256 of the canonical JSON of ``d``."""
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def network_id(cfg: Config) -> str:
    """Stable id of the network ``cfg`` describes (its seed is ``cfg.training.seed``).

    A readable prefix (N, g, pg, fb, seed) plus :func:`settings_hash` of
    :func:`network_identity`, so the same network gets the same id in every
    grid, on every device and with any analysis settings.
    """
    n = cfg.network
    return f"N{n.N}_g{n.g:g}_pg{n.pg:g}_fb{n.fb:g}_s{cfg.training.seed}_{settings_hash(network_identity(cfg))}"


def analysis_identity(cfg: Config, section: str) -> dict:
    """The settings of analysis section ``section`` (``dynamics`` or ``memory``) that a summary records."""
    if section not in ANALYSIS_SECTIONS:
        raise ConfigError(f"unknown analysis section {section!r}; allowed: {', '.join(ANALYSIS_SECTIONS)}")
    return getattr(cfg, section).to_dict()
