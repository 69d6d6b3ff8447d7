"""Small validators shared by every config section: each returns the cleaned value or raises ConfigError."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..errors import ConfigError, ShapeError, SlowmemError, StoredFileError

__all__ = ["ConfigError", "SlowmemError", "StoredFileError", "ShapeError",
           "check_number", "check_choice", "check_bool", "section_with_overrides",
           "duration_to_steps", "check_levels", "interval_text", "RUN_SETTINGS", "run_setting_error",
           "RefusesRunSettings"]




#: Run settings (:class:`slowmem.runtime.Runtime`): how a run goes, never what it computes. They were
#: config fields before slowmem 0.3 (``device`` of the training section; ``max_chunk_elements``,
#: ``chunk_trials``, ``simulation_dtype`` of the analysis sections). name -> the CLI flag that sets it.
RUN_SETTINGS = {"device": "--device", "engine": "--engine", "threads": "--threads",
                "max_chunk_elements": "--max-chunk-elements", "chunk_trials": "--chunk-trials",
                "simulation_dtype": "--simulation-dtype", "progress": "--no-progress"}


def run_setting_error(name: str, where: str) -> ConfigError:
    """The error for run setting ``name`` given where a science setting belongs (``where`` names the place)."""
    return ConfigError(
        f"{where}: {name!r} is a run setting, not part of the science config (it never changes which result is "
        f"computed); give it as slowmem.runtime.Runtime({name}=...) through the runtime= keyword, or on the "
        f"command line as {RUN_SETTINGS[name]}")


class RefusesRunSettings:
    """Base of the config sections: constructing one with a run setting raises :func:`run_setting_error`.

    (Checked in ``__new__`` so that the dataclass's own ``__init__`` and :func:`dataclasses.replace`
    are covered without a TypeError about an unexpected keyword.)
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any):
        moved = [k for k in kwargs if k in RUN_SETTINGS]
        if moved:
            raise run_setting_error(moved[0], cls.__name__)
        return super().__new__(cls)


def _number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False, hi_open: bool = False, integer: bool = False) -> Any:
    """Coerce ``value`` to a finite number inside the given interval or raise."""
    kind = "an integer" if integer else "a number"
    allowed = f"{kind} in {interval_text(lo, hi, lo_open, hi_open)}"
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


def interval_text(lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False) -> str:
    """An interval as messages and help write it: ``[2, 20000]``, ``(0, 1]``, ``[0, inf)`` (None: unbounded)."""
    left = "(" if lo_open or lo is None else "["
    right = ")" if hi_open or hi is None else "]"
    return f"{left}{'-inf' if lo is None else _fmt(lo)}, {'inf' if hi is None else _fmt(hi)}{right}"


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



def check_levels(name: str, values: Any, *, lo: float, hi: float | None = None) -> tuple[float, ...]:
    """A non-empty tuple of distinct numbers in [lo, hi], sorted ascending."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ConfigError(f"{name} must be a list of numbers in {interval_text(lo, hi)}; "
                          f"got {values!r}")
    out = tuple(sorted(float(_number(f"{name}[{i}]", v, lo=lo, hi=hi)) for i, v in enumerate(values)))
    if not out:
        raise ConfigError(f"{name} must hold at least one value; got an empty list")
    if len(set(out)) != len(out):
        raise ConfigError(f"{name} must hold distinct values; got {list(values)!r}")
    return out

