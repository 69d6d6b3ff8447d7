"""Sweep grids: a scale preset, fixed settings, axes and seeds, every network validated before work.

A **grid** is a scale preset (:data:`slowmem.config.PRESETS`) plus fixed
settings, axes (lists of values whose product is taken) and seeds; see
:func:`preset_grid` for ``paper``, ``book`` and ``ci`` and :func:`load_grid_file`
for grid files. Every network of a grid is validated through
:class:`slowmem.config.Config` before any work starts, and a grid larger than
:data:`MAX_NETWORKS` is refused before it is expanded.
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import (
    ANALYSIS_SECTIONS,
    FIELD_SECTION,
    PRESETS,
    RUN_SETTINGS,
    Config,
    ConfigError,
    check_choice,
    network_id,
    parse_seeds,
)
from ..errors import SlowmemError
from ..stimuli import check_stimuli_available

__all__ = ["Grid", "NetworkSpec", "GRIDS", "MAX_NETWORKS", "preset_grid", "load_grid_file", "grid_from_mapping",
           "resolve_grid", "parse_set", "PAPER_G", "PAPER_PG", "PAPER_FB", "PAPER_SEEDS", "PAPER_IN_SCALE"]

#: Most networks one grid may hold (checked before the grid is expanded).
MAX_NETWORKS = 100_000
#: Largest grid file read (a guard against feeding the parser something that is not a grid).
_MAX_GRID_FILE_BYTES = 1 << 20

#: The hyperparameter sweep of the paper (Methods, "Hyperparameters"); pg 0.7 where its code's README says ".07".
PAPER_G: tuple[float, ...] = (0.8, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5)
PAPER_PG: tuple[float, ...] = (0.4, 0.6, 0.7, 0.9)
PAPER_FB: tuple[float, ...] = (40.0, 30.0, 20.0, 10.0, 5.0, 1.0)
PAPER_IN_SCALE = 50.0
PAPER_SEEDS: tuple[int, ...] = (0, 1, 2, 3)

# grid-file keys besides config fields (the analysis sections take a mapping of their settings)
_GRID_KEYS = ("name", "preset", "seeds", *ANALYSIS_SECTIONS)
# config fields whose single value is itself a list / mapping
_LIST_FIELDS = ("encoding", "digits")
_MAP_FIELDS = ("timing",)
_NOT_IN_GRID = {
    "seed": "give the list of seeds as 'seeds' (e.g. seeds: 0-3)",
    **{k: f"it is a run setting, not part of the science config, chosen when running (slowmem sweep run {flag}; "
          f"slowmem.runtime.Runtime({k}=...) in Python), never in the grid" for k, flag in RUN_SETTINGS.items()},
}


@dataclass(frozen=True)
class NetworkSpec:
    """One network of a grid: its validated config (``training.seed == seed``) and id."""

    network_id: str
    config: Config
    seed: int


@dataclass(frozen=True)
class Grid:
    """A sweep grid: ``preset`` + ``fixed`` settings, the product of ``axes``, times ``seeds``.

    Attributes:
        name: label (``paper``, ``book``, ``ci`` or the grid file's name).
        preset: scale preset every network starts from.
        fixed: setting -> one value, for every network.
        axes: setting -> tuple of values; networks are the product of all axes.
        seeds: network seeds (innermost loop, so a work unit of ``batch``
            networks usually holds the seeds of one setting).
        analysis: analysis section -> settings over its defaults (``memory``,
            ``dynamics``; see :meth:`slowmem.config.Config.with_analysis`); the
            same for every network, never an axis.
        source: where the grid came from (a file), for messages.
    """

    name: str
    preset: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    axes: Mapping[str, tuple] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    source: str = ""
    analysis: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How error messages name the grid (its file, or its name)."""
        return self.source or f"grid {self.name!r}"

    @property
    def size(self) -> int:
        n = len(self.seeds)
        for v in self.axes.values():
            n *= len(v)
        return n

    def describe(self) -> str:
        parts = [f"{k}({len(v)})" for k, v in self.axes.items()] + [f"seeds({len(self.seeds)})"]
        return f"grid {self.name!r} (preset {self.preset}): {' x '.join(parts)} = {self.size} networks"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Grid:
        """The grid a manifest recorded (:meth:`to_dict`'s output), e.g. ``read_manifest(folder)["grid"]``."""
        try:
            return cls(name=str(d["name"]), preset=str(d["preset"]), fixed=dict(d["fixed"]),
                       axes={k: tuple(v) for k, v in d["axes"].items()}, seeds=tuple(int(s) for s in d["seeds"]),
                       analysis={k: dict(v) for k, v in d.get("analysis", {}).items()})
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ConfigError(f"a recorded grid needs name, preset, fixed, axes and seeds; this one does not ({e!r})") \
                from None

    def settings_text(self) -> str:
        """The grid's network settings in one line, e.g. ``fb = 1, 10; g = 1.1-1.3; seeds 0-3: 24 networks``.

        Swept and fixed network parameters (g, pg, fb) in that order, then the seeds (runs
        of consecutive integers as ``a-b``) and the grid's size: what a page states about
        a grid, read from the grid itself so that it cannot go stale.
        """
        parts = []
        for key in ("fb", "g", "pg"):
            values = self.axes.get(key, (self.fixed[key],) if key in self.fixed else None)
            if values is not None:
                parts.append(f"{key} = {', '.join(f'{v:g}' for v in values)}")
        return f"{'; '.join(parts)}; seeds {_ranges(self.seeds)}: {self.size} networks"

    def to_dict(self) -> dict:
        return {"name": self.name, "preset": self.preset, "preset_values": dict(PRESETS[self.preset]),
                "fixed": dict(self.fixed), "axes": {k: list(v) for k, v in self.axes.items()},
                "seeds": list(self.seeds), "analysis": {k: dict(v) for k, v in self.analysis.items()}}

    def networks(self) -> list[NetworkSpec]:
        """Every network of the grid, validated (ConfigError names the setting and the grid).

        Refused before anything is expanded: more than :data:`MAX_NETWORKS`
        networks. Checked once per stimulus source: its latents are available.
        """
        if self.size > MAX_NETWORKS:
            raise ConfigError(f"{self.label}: {self.size} networks; at most {MAX_NETWORKS} per grid "
                              "(split it into several grids)")
        names = list(self.axes)
        specs: list[NetworkSpec] = []
        seen: set[str] = set()
        checked: set[str] = set()
        for combo in itertools.product(*(self.axes[k] for k in names)):
            values = {**self.fixed, **dict(zip(names, combo))}
            for s in self.seeds:
                try:
                    cfg = Config.from_preset(self.preset, **values, seed=s)
                    cfg = cfg.with_analysis(**self.analysis)
                    if cfg.task.stimuli not in checked:
                        check_stimuli_available(cfg.task.stimuli)
                        checked.add(cfg.task.stimuli)
                except SlowmemError as e:
                    raise type(e)(f"{self.label}: {e}") from None
                nid = network_id(cfg)
                if nid in seen:
                    raise ConfigError(f"{self.label}: two entries describe the same network "
                                      f"({nid}); remove repeated values")
                seen.add(nid)
                specs.append(NetworkSpec(nid, cfg, int(s)))
        return specs

    @classmethod
    def from_config(cls, cfg: Config, seeds: Sequence[int], name: str = "train") -> Grid:
        """The grid of one config trained with several seeds (what ``slowmem train --out`` runs)."""
        d = cfg.to_dict()
        fixed = {k: v for sec in ("task", "network", "training") for k, v in d[sec].items()
                 if k != "seed"}
        analysis = {sec: d[sec] for sec in ANALYSIS_SECTIONS}
        return cls(name, cfg.preset or "book", fixed, {}, tuple(parse_seeds(list(seeds))), "", analysis)

    def override(self, sets: Mapping[str, Sequence[Any]] | None = None, *, seeds: Any = None,
                 rule: str | None = None) -> Grid:
        """A copy with settings replaced: one value -> fixed, several -> an axis."""
        fixed, axes = dict(self.fixed), dict(self.axes)
        for k, vals in (sets or {}).items():
            _check_grid_key(k, f"{self.label} (--set)")
            vals = list(vals)
            fixed.pop(k, None)
            axes.pop(k, None)
            if len(vals) == 1:
                fixed[k] = vals[0]
            else:
                axes[k] = _axis(k, vals, f"{self.label} (--set)")
        if rule is not None:
            axes.pop("rule", None)
            fixed["rule"] = rule
        new_seeds = self.seeds if seeds is None else tuple(parse_seeds(seeds))
        return Grid(self.name, self.preset, fixed, axes, new_seeds, self.source, self.analysis)


def preset_grid(name: str) -> Grid:
    """The grid called ``name``: ``paper`` (672 networks), ``book`` (168) or ``ci`` (4)."""
    paper_axes = {"g": PAPER_G, "pg": PAPER_PG, "fb": PAPER_FB}
    if name == "paper":
        return Grid("paper", "paper", {"in_scale": PAPER_IN_SCALE, "rule": "modified"}, paper_axes, PAPER_SEEDS)
    if name == "book":
        return Grid("book", "book", {"in_scale": PAPER_IN_SCALE, "rule": "modified"}, paper_axes, (0,))
    if name == "ci":
        # two gains x two seeds at the ci scale: about a minute on 2 cores
        return Grid("ci", "ci", {"rule": "modified"}, {"g": (1.2, 1.4)}, (0, 2))
    raise ConfigError(f"grid must be one of {', '.join(map(repr, GRIDS))} or a .yaml/.yml/.json file; got {name!r}")


#: The named grids (see :func:`preset_grid`).
GRIDS: tuple[str, ...] = ("paper", "book", "ci")


def _check_grid_key(k: str, source: str) -> None:
    if k in _NOT_IN_GRID:
        raise ConfigError(f"{source}: key {k!r} is not allowed here: {_NOT_IN_GRID[k]}")
    if k not in FIELD_SECTION:
        allowed = ", ".join([*_GRID_KEYS, *sorted(k2 for k2 in FIELD_SECTION if k2 not in _NOT_IN_GRID)])
        raise ConfigError(f"{source}: unknown key {k!r}; allowed keys: {allowed}")


def _axis(k: str, vals: list, source: str) -> tuple:
    if not vals:
        raise ConfigError(f"{source}: {k} is an empty list; give one value or a list of values")
    keys = [json.dumps(v, sort_keys=True, default=str) for v in vals]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{source}: {k} lists a value twice ({vals}); give each value once")
    return tuple(tuple(v) if isinstance(v, list) else v for v in vals)


def grid_from_mapping(d: Any, *, source: str, name: str) -> Grid:
    """A :class:`Grid` from a parsed grid file.

    Keys: ``preset`` (default ``book``), ``seeds`` (default ``0``), ``name``,
    any config field, and the analysis sections ``memory`` / ``dynamics``
    (a mapping of their settings, the same for every network). A field given
    a list becomes an axis, a single value is fixed. ``encoding`` / ``digits``
    are lists themselves, so an axis of them is a list of lists; ``timing`` is
    a mapping, an axis of it a list of mappings. Everything is validated here.
    """
    if not isinstance(d, Mapping):
        raise ConfigError(f"{source}: a grid file must hold a mapping of keys to values; got {type(d).__name__}")
    d = dict(d)
    gname = d.pop("name", name)
    if not isinstance(gname, str) or not gname:
        raise ConfigError(f"{source}: name must be a non-empty text; got {gname!r}")
    preset = d.pop("preset", "book")
    if preset not in PRESETS:
        raise ConfigError(f"{source}: preset must be one of {', '.join(map(repr, PRESETS))}; got {preset!r}")
    seeds_spec = d.pop("seeds", 0)
    try:
        seeds = tuple(parse_seeds(seeds_spec))
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    analysis: dict[str, dict] = {}
    for sec in ANALYSIS_SECTIONS:
        if sec in d:
            v = d.pop(sec)
            if not isinstance(v, Mapping):
                raise ConfigError(f"{source}: {sec} must be a mapping of its settings (e.g. {sec}: "
                                  f"{{n_repeats: 4}}); got {v!r}")
            analysis[sec] = dict(v)
    fixed: dict[str, Any] = {}
    axes: dict[str, tuple] = {}
    for k, v in d.items():
        _check_grid_key(str(k), source)
        if k in _LIST_FIELDS:
            is_axis = isinstance(v, list) and len(v) > 0 and all(isinstance(x, list) for x in v)
        elif k in _MAP_FIELDS:
            is_axis = isinstance(v, list)
        else:
            is_axis = isinstance(v, list)
        if is_axis:
            axes[k] = _axis(k, v, source)
        else:
            fixed[k] = v
    grid = Grid(gname, preset, fixed, axes, seeds, source, analysis)
    grid.networks()          # validate every network now
    return grid


def load_grid_file(path: str | Path) -> Grid:
    """Read a YAML (``.yaml``/``.yml``) or JSON (``.json``) grid file; see :func:`grid_from_mapping`.

    Example::

        preset: ci
        seeds: 0-3
        N: 40
        trials: 10
        g: [1.2, 1.5]
        pg: [0.4, 0.9]
    """
    p = Path(path)
    if p.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise ConfigError(f"grid file {p} must end in .yaml, .yml or .json")
    try:
        if p.stat().st_size > _MAX_GRID_FILE_BYTES:
            raise ConfigError(f"grid file {p} is larger than {_MAX_GRID_FILE_BYTES >> 10} KiB; a grid file "
                              "lists settings, not data")
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"grid file {p} cannot be read ({e.strerror or e})") from None
    try:
        data = _parse_json(text) if p.suffix.lower() == ".json" else _parse_yaml(text)
    except ConfigError as e:
        raise ConfigError(f"grid file {p}: {e}") from None
    except Exception as e:
        raise ConfigError(f"grid file {p} is not valid {p.suffix[1:].upper()} ({type(e).__name__}: {e})") from None
    return grid_from_mapping(data, source=f"grid file {p}", name=p.stem)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ConfigError(f"key(s) {dup} given more than once; give each key once")
    return dict(pairs)


def _parse_json(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_no_duplicates)


def _parse_yaml(text: str) -> Any:
    """Safe YAML with two refusals: a key given twice in one mapping, and aliases (``*name``).

    Aliases are how a few hundred bytes expand into gigabytes ("billion laughs");
    a grid file never needs them.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def compose_alias(self, anchor):        # refuse before anything is expanded
        raise ConfigError("YAML aliases (*name) are not allowed in a grid file; write the values out")

    def mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        dup = sorted({str(k) for k in keys if keys.count(k) > 1})
        if dup:
            raise ConfigError(f"key(s) {dup} given more than once; give each key once")
        return dict(zip(keys, (loader.construct_object(v, deep=deep) for _, v in node.value)))

    Loader.compose_node = _compose_node_without_aliases(yaml.SafeLoader.compose_node)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    del compose_alias
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass


def _compose_node_without_aliases(compose_node):
    import yaml

    def compose(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise ConfigError("YAML aliases (*name) are not allowed in a grid file; write the values out")
        return compose_node(self, parent, index)
    return compose


def parse_set(items: Sequence[str] | None) -> dict[str, list]:
    """``["g=1.2,1.4", "N=40"]`` -> ``{"g": [1.2, 1.4], "N": [40]}``."""
    out: dict[str, list] = {}
    for item in items or ():
        key, sep, rest = item.partition("=")
        key = key.strip()
        if not sep or not key or not rest.strip():
            raise ConfigError(f"--set expects KEY=VALUE[,VALUE...] (e.g. --set g=1.2,1.4); got {item!r}")
        if key in _LIST_FIELDS or key in _MAP_FIELDS:
            raise ConfigError(f"--set {key}: give {key} in a grid file (its values are lists or mappings)")
        if key in out:
            raise ConfigError(f"--set {key} is given twice ({key}={','.join(map(str, out[key]))} and {item!r}); "
                              f"give every value once: --set {key}=A,B")
        vals = []
        for piece in rest.split(","):
            piece = piece.strip()
            try:
                vals.append(json.loads(piece))
            except ValueError:
                vals.append(piece)
        out[key] = vals
    return out


def resolve_grid(spec: str, *, sets: Sequence[str] | None = None, seeds: Any = None,
                 rule: str | None = None) -> Grid:
    """The grid named ``spec`` (``paper``, ``book``, ``ci``) or read from file ``spec``, with overrides."""
    if spec in GRIDS:
        grid = preset_grid(spec)
    elif Path(spec).suffix.lower() in (".yaml", ".yml", ".json"):
        grid = load_grid_file(spec)
    else:
        raise ConfigError(f"--grid must be one of {', '.join(GRIDS)} or a .yaml/.yml/.json grid file; got {spec!r}")
    if rule is not None:
        check_choice("rule", rule, ("modified", "original"))
    grid = grid.override(parse_set(sets), seeds=seeds, rule=rule)
    grid.networks()
    return grid


def _ranges(values) -> str:
    """Integers as runs: (0, 1, 2, 3, 7) -> ``0-3, 7``."""
    runs: list[list[int]] = []
    for v in sorted(values):
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
