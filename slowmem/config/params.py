"""Each config parameter declared once: kind, range, choices and help, next to its default.

A section field is declared with :func:`param`::

    pg: float = param(0.9, kind="float", lo=0, hi=1, lo_open=True, help="connection probability of J")

The declaration (a :class:`Param` in the field's metadata) is the one source of

* validation: :func:`check_declared`, called from each section's ``__post_init__``, checks and
  normalises every declared field (the messages of :func:`slowmem.config.check_number` & co.);
* the ``slowmem train`` flags (:mod:`slowmem.cli` builds them, help = help + :meth:`Param.describe`);
* the type of a chapter parameter written ``# config: ...`` (:mod:`slowmem.book.chapters`);
* the "Attributes" section of the section's docstring (:func:`documented`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .checks import ConfigError, _choice, _number, check_bool, check_levels, interval_text

__all__ = ["Param", "param", "declared_params", "check_declared", "documented", "PARAM_KINDS"]

#: Kinds of a declared parameter. ``levels``: a list of distinct numbers in the range (sorted);
#: ``subset``: a non-empty list of distinct words among ``choices`` (order kept); ``custom``: checked by
#: hand in the section's ``__post_init__`` (declared for its help and ``allowed`` text only).
PARAM_KINDS: tuple[str, ...] = ("int", "float", "choice", "bool", "levels", "subset", "custom")


@dataclass(frozen=True)
class Param:
    """What one config field allows, and what it means.

    Attributes:
        kind: one of :data:`PARAM_KINDS`.
        help: what the parameter is, in the paper's language.
        lo, hi, lo_open, hi_open: bounds of an ``int`` / ``float`` / ``levels`` (None: unbounded).
        choices: the words of a ``choice`` / ``subset``.
        optional: ``None`` is allowed too.
        allowed: for ``custom``: what is allowed, in words.
    """

    kind: str
    help: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    allowed: str = ""

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ConfigError(f"Param kind must be one of {', '.join(PARAM_KINDS)}; got {self.kind!r}")
        if self.kind in ("choice", "subset") and not self.choices:
            raise ConfigError(f"a {self.kind} Param needs choices")

    def interval(self) -> str:
        """The range as ``[2, 20000]`` / ``(0, inf)``; empty when unbounded both ways."""
        if self.lo is None and self.hi is None:
            return ""
        return interval_text(self.lo, self.hi, self.lo_open, self.hi_open)

    def describe(self) -> str:
        """What is allowed, e.g. ``integer in [2, 20000]``, ``number in (0, 1]``, ``one of modified, original``."""
        rng = f" in {self.interval()}" if self.interval() else ""
        text = {"int": f"integer{rng}", "float": f"number{rng}", "choice": f"one of {', '.join(self.choices)}",
                "bool": "True or False", "levels": f"list of distinct numbers{rng}",
                "subset": f"non-empty list of distinct values among {', '.join(self.choices)}",
                "custom": self.allowed}[self.kind]
        return text + (" or None" if self.optional else "")

    def check(self, name: str, value: Any) -> Any:
        """The cleaned ``value`` of field ``name``, or :class:`ConfigError` naming it and what is allowed."""
        if value is None and self.optional:
            return None
        limits = {"lo": self.lo, "hi": self.hi, "lo_open": self.lo_open, "hi_open": self.hi_open}
        if self.kind in ("int", "float"):
            return _number(name, value, integer=self.kind == "int", **limits)
        if self.kind == "choice":
            return _choice(name, value, self.choices)
        if self.kind == "bool":
            return check_bool(name, value)
        if self.kind == "levels":
            return check_levels(name, value, lo=0 if self.lo is None else self.lo, hi=self.hi)
        if self.kind == "subset":
            v = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            if not v or any(x not in self.choices for x in v) or len(set(v)) != len(v):
                raise ConfigError(f"{name} must be a {self.describe()} (the first is the book's default reading); "
                                  f"got {list(v)!r}")
            return v
        return value


def param(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, **spec: Any) -> Any:
    """A dataclass field with ``default`` (or ``factory``) declared by ``Param(**spec)``."""
    return dataclasses.field(default=default, default_factory=factory, metadata={"param": Param(**spec)})


def declared_params(section: Any) -> dict[str, Param]:
    """Field name -> :class:`Param` of a config section (class or instance), in field order."""
    return {f.name: f.metadata["param"] for f in dataclasses.fields(section) if "param" in f.metadata}


def check_declared(section: Any) -> None:
    """Check and normalise every declared field of the frozen ``section`` in place; ConfigError at the first bad."""
    for name, p in declared_params(section).items():
        object.__setattr__(section, name, p.check(name, getattr(section, name)))


def documented(cls: type) -> type:
    """Class decorator: append an "Attributes" section, written from the declarations, to ``cls.__doc__``."""
    lines = [f"    {name}: {p.help} -- {p.describe()}, default {_default_text(cls, name)}."
             for name, p in declared_params(cls).items()]
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n    Attributes:\n" + "\n".join(
        "    " + line for line in lines) + "\n"
    return cls


def _default_text(cls: type, name: str) -> str:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    value = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    return repr(dict(value) if hasattr(value, "keys") else value)
