"""Hyperparameter sweeps: grids, the per-network pipeline, execution on Dask.

    slowmem sweep run --grid book --out runs/book             # every core of this machine
    slowmem sweep run --grid paper --rule original --out runs/paper-original \\
        --backend slurm --queue normal --cores 16 --memory 64GB --walltime 12:00:00 --jobs 8
    slowmem sweep run --grid mygrid.yaml --out runs/mine --backend none
    slowmem sweep status runs/book

A **grid** is a scale preset (:data:`slowmem.config.PRESETS`) plus fixed
settings, axes (lists of values whose product is taken) and seeds; see
:data:`GRIDS` for ``paper``, ``book`` and ``ci`` and :func:`load_grid_file` for
grid files. Every network of a grid is validated through
:class:`slowmem.config.Config` before any work starts.

The **pipeline** (:func:`run_unit`) takes one *work unit* -- up to ``batch``
networks that share N, task and training settings -- and trains them as one
batch, evaluates them, and runs every registered analysis
(:data:`slowmem.analysis.ANALYSES`) on the networks that perform the task.
It returns one record per network plus its array file (bytes); the process
that runs the sweep writes them into the results folder
(:mod:`slowmem.results`) as units complete, so a killed sweep keeps what it
finished and the same command continues where it stopped. A re-run only adds
what is missing: an analysis registered after the networks were trained runs
on the stored readouts without retraining.

**Execution** (:func:`run_sweep`): ``local`` (default) starts a
``distributed.LocalCluster`` with one single-threaded worker process per core;
``slurm`` / ``pbs`` submit worker jobs through dask-jobqueue; ``--scheduler``
joins a running Dask cluster; ``none`` runs everything in this process.
Workers receive only config dicts, seeds and, for the analysis stage, the
small stored readout arrays.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence

from .config import (ERROR_THRESHOLDS, FIELD_SECTION, PRESETS, Config, ConfigError, check_number,
                     parse_seeds)

__all__ = [
    "Grid", "NetworkSpec", "GRIDS", "preset_grid", "load_grid_file", "grid_from_mapping", "resolve_grid",
    "network_id", "plan_units", "run_unit", "SweepOptions", "run_sweep", "sweep_status",
    "make_jobqueue_cluster", "add_sweep_parser", "BACKENDS", "ANALYZE_CHOICES",
]

# --------------------------------------------------------------------------- #
# grids
# --------------------------------------------------------------------------- #
#: PAPER.md section 4: the hyperparameter sweep of the paper.
PAPER_G: tuple[float, ...] = (0.8, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5)
PAPER_PG: tuple[float, ...] = (0.4, 0.6, 0.7, 0.9)
PAPER_FB: tuple[float, ...] = (40.0, 30.0, 20.0, 10.0, 5.0, 1.0)
PAPER_IN_SCALE = 50.0
PAPER_SEEDS: tuple[int, ...] = (0, 1, 2, 3)

BACKENDS = ("local", "slurm", "pbs", "none")
ANALYZE_CHOICES = ("success", "all", "none")
#: networks per work unit when --batch is not given (CPU: the six fb values of one g J train in lockstep)
DEFAULT_BATCH = MappingProxyType({"cpu": 6, "cuda": 16})

# grid-file keys besides config fields
_GRID_KEYS = ("name", "preset", "seeds")
# config fields whose single value is itself a list / mapping
_LIST_FIELDS = ("encoding", "digits")
_MAP_FIELDS = ("timing",)
_NOT_IN_GRID = {
    "seed": "give the list of seeds as 'seeds' (e.g. seeds: 0-3)",
    "device": "the device is chosen when running (slowmem sweep run --device cuda), not in the grid",
}


@dataclass(frozen=True)
class NetworkSpec:
    """One network of a grid: its validated config (``training.seed == seed``) and id."""

    network_id: str
    config: Config
    seed: int


def network_id(cfg: Config) -> str:
    """Stable id of the network ``cfg`` describes (its seed is ``cfg.training.seed``).

    A readable prefix (N, g, pg, fb, seed) plus the first 12 hex digits of the
    SHA-256 of every setting except the device and the preset label, so the
    same network gets the same id in every grid and on every device.
    """
    d = cfg.to_dict()
    d.pop("preset", None)
    d["training"].pop("device", None)
    h = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]
    n = cfg.network
    return f"N{n.N}_g{n.g:g}_pg{n.pg:g}_fb{n.fb:g}_s{cfg.training.seed}_{h}"


def _identity_dict(cfg: Config) -> dict:
    d = cfg.to_dict()
    d["training"].pop("device", None)
    return d


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
    """

    name: str
    preset: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    axes: Mapping[str, tuple] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    source: str = ""

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

    def to_dict(self) -> dict:
        return {"name": self.name, "preset": self.preset, "preset_values": dict(PRESETS[self.preset]),
                "fixed": dict(self.fixed), "axes": {k: list(v) for k, v in self.axes.items()},
                "seeds": list(self.seeds)}

    def networks(self, device: str = "cpu") -> list[NetworkSpec]:
        """Every network of the grid, validated (ConfigError names the setting and the grid)."""
        names = list(self.axes)
        specs: list[NetworkSpec] = []
        seen: set[str] = set()
        for combo in itertools.product(*(self.axes[k] for k in names)):
            values = {**self.fixed, **dict(zip(names, combo))}
            for s in self.seeds:
                try:
                    cfg = Config.from_preset(self.preset, **values, seed=s, device=device)
                except ConfigError as e:
                    raise ConfigError(f"{self.label}: {e}") from None
                nid = network_id(cfg)
                if nid in seen:
                    raise ConfigError(f"{self.label}: two entries describe the same network "
                                      f"({nid}); remove repeated values")
                seen.add(nid)
                specs.append(NetworkSpec(nid, cfg, int(s)))
        return specs

    def override(self, sets: Mapping[str, Sequence[Any]] | None = None, *, seeds: Any = None,
                 rule: str | None = None) -> "Grid":
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
        return Grid(self.name, self.preset, fixed, axes, new_seeds, self.source)


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
    and any config field. A field given a list becomes an axis, a single value
    is fixed. ``encoding`` / ``digits`` are lists themselves, so an axis of
    them is a list of lists; ``timing`` is a mapping, an axis of it a list of
    mappings. Everything is validated here.
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
    grid = Grid(gname, preset, fixed, axes, seeds, source)
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
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"grid file {p} cannot be read ({e.strerror or e})") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as e:
        raise ConfigError(f"grid file {p} is not valid {p.suffix[1:].upper()} ({type(e).__name__}: {e})") from None
    return grid_from_mapping(data, source=f"grid file {p}", name=p.stem)


def _parse_set(items: Sequence[str] | None) -> dict[str, list]:
    """``["g=1.2,1.4", "N=40"]`` -> ``{"g": [1.2, 1.4], "N": [40]}``."""
    out: dict[str, list] = {}
    for item in items or ():
        key, sep, rest = item.partition("=")
        key = key.strip()
        if not sep or not key or not rest.strip():
            raise ConfigError(f"--set expects KEY=VALUE[,VALUE...] (e.g. --set g=1.2,1.4); got {item!r}")
        if key in _LIST_FIELDS or key in _MAP_FIELDS:
            raise ConfigError(f"--set {key}: give {key} in a grid file (its values are lists or mappings)")
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
        from .config import check_choice
        check_choice("rule", rule, ("modified", "original"))
    grid = grid.override(_parse_set(sets), seeds=seeds, rule=rule)
    grid.networks()
    return grid


# --------------------------------------------------------------------------- #
# work units
# --------------------------------------------------------------------------- #
def _unit_key(spec: NetworkSpec) -> str:
    d = _identity_dict(spec.config)
    d["training"].pop("seed", None)
    return json.dumps({"task": d["task"], "training": d["training"], "N": d["network"]["N"]}, sort_keys=True)


def _recurrent_key(spec: NetworkSpec) -> tuple:
    """What fixes a network's recurrent matrix g J: networks with the same key share it."""
    n = spec.config.network
    return (n.N, n.pg, n.init, n.g, spec.seed)


def plan_units(specs: Sequence[NetworkSpec], batch: int) -> list[list[NetworkSpec]]:
    """Split networks into work units of at most ``batch`` that can train as one batch.

    Networks of one unit share N and every task and training setting (they may
    differ in g, pg, fb, ...). Networks with the same recurrent matrix g J
    (same seed, N, pg, init and g; in the paper's grid, the six fb values) go
    to the same unit where ``batch`` allows, in pieces of near-equal size
    otherwise: the CPU engine trains them in lockstep, reading g J once per
    step for all of them (:func:`slowmem.kernels.share_groups`). Pieces are
    then packed, in grid order, into units of at most ``batch``. The split
    depends only on the grid and ``batch``, never on what is already done, so
    a resumed sweep trains the remaining networks in the same batches as an
    uninterrupted one.
    """
    if batch < 1:
        raise ConfigError(f"batch must be >= 1; got {batch}")
    groups: dict[str, list[NetworkSpec]] = {}
    for s in specs:
        groups.setdefault(_unit_key(s), []).append(s)
    units = []
    for members in groups.values():
        shared: dict[tuple, list[NetworkSpec]] = {}
        for s in members:
            shared.setdefault(_recurrent_key(s), []).append(s)
        unit: list[NetworkSpec] = []
        for g in shared.values():
            n = -(-len(g) // batch)
            for i in range(n):
                piece = g[i * len(g) // n:(i + 1) * len(g) // n]
                if len(unit) + len(piece) > batch:
                    units.append(unit)
                    unit = []
                unit += piece
        if unit:
            units.append(unit)
    return units


# --------------------------------------------------------------------------- #
# the per-network pipeline (runs on a worker)
# --------------------------------------------------------------------------- #
_NET_TENSORS = ("J", "g", "wf", "wfd", "wi", "wo", "wd", "x0")


def _concat(parts):
    from dataclasses import replace

    import torch

    parts = [p for p in parts if p is not None and p.B > 0]
    if len(parts) == 1:
        return parts[0]
    return replace(parts[0], **{k: torch.cat([getattr(p, k) for p in parts]) for k in _NET_TENSORS},
                   configs=tuple(c for p in parts for c in p.configs),
                   seeds=tuple(s for p in parts for s in p.seeds))


def _training_record(b: int, res, ev, trials: int) -> dict:
    import numpy as np

    log = res.log[res.log.seed == res.networks.seeds[b]]
    last = log[log.trial >= trials - 100]
    rec = {
        "success": bool(ev.success[b]),
        "diverged": bool(res.diverged[b]),
        "test_accuracy": float(ev.test_accuracy[b]),
        "replay_accuracy": float(ev.replay_accuracy[b]),
        "train_response_rmse_last100": float(np.median(last.response_rmse)) if len(last) else None,
        "train_memory_rmse_last100": float(np.median(last.memory_rmse)) if len(last) else None,
    }
    for j, thr in enumerate(ERROR_THRESHOLDS):
        rec[f"error_rate_{thr:g}"] = float(ev.error_rates[b, j])
    return rec


def run_unit(payload: Mapping[str, Any]) -> list[dict]:
    """Train, evaluate and analyse one work unit; one result dict per network.

    ``payload`` (small, plain data):

    * ``networks``: list of ``{network_id, seed, config (Config.to_dict()),
      arrays (bytes of the stored array file or None), fixed_weights_hash,
      success, analyses (names to run)}``. Networks without ``arrays`` are
      trained (as one batch) and evaluated; the others are rebuilt from
      (config, seed) plus their stored readouts, after checking the fixed
      weights' hash (a mismatch means retraining).
    * ``analyze``: ``success``, ``all`` (every network that did not diverge)
      or ``none``: which newly trained networks get ``new_analyses``.
    * ``new_analyses``: analyses for newly trained networks.
    * ``device``, ``torch_threads`` (int or None).

    Each result holds ``network_id``, ``stage`` (``trained`` or
    ``analyzed``), for ``trained`` the ``record`` (metrics) and ``arrays``
    (safetensors bytes), then ``analyses`` (name -> summary),
    ``analysis_errors``, ``analysis_seconds`` and timings.
    """
    import platform
    import socket

    import torch
    from safetensors.torch import load as st_load
    from safetensors.torch import save as st_save

    from . import __version__
    from .analysis import get_analysis
    from .evaluation import evaluate
    from .network import RateNetworks
    from .task import SPMTask
    from .training import train

    if payload.get("torch_threads"):
        torch.set_num_threads(int(payload["torch_threads"]))
    items = list(payload["networks"])
    if not items:
        return []
    device = payload.get("device", "cpu")
    cfgs = [Config.from_dict(n["config"]) for n in items]
    base = cfgs[0]
    dtype = base.training.dtype
    task = SPMTask(base.task)
    worker = f"{socket.gethostname() or platform.node()}:{os.getpid()}"
    results = [{"network_id": n["network_id"], "analyses": {}, "analysis_errors": {}, "analysis_seconds": {},
                "notes": [], "worker": worker, "device": device, "torch_version": torch.__version__,
                "slowmem_version": __version__} for n in items]
    want: list[list[str]] = [list(n.get("analyses") or []) for n in items]
    success = [bool(n.get("success")) for n in items]
    diverged = [False] * len(items)

    # ---- stored networks: regenerate fixed weights, check them, attach stored readouts
    stored = [i for i, n in enumerate(items) if n.get("arrays") is not None]
    to_train = [i for i, n in enumerate(items) if n.get("arrays") is None]
    stored_tensors: dict[int, dict] = {}
    for i in list(stored):
        try:
            stored_tensors[i] = st_load(bytes(items[i]["arrays"]))
        except Exception as e:
            results[i]["notes"].append(f"stored arrays unreadable ({type(e).__name__}); retrained")
            stored.remove(i)
            to_train.append(i)
    fixed = None
    if stored:
        fixed = RateNetworks.create([cfgs[i].network for i in stored], [items[i]["seed"] for i in stored],
                                    device=device, dtype=dtype)
        keep = []
        for j, i in enumerate(stored):
            if fixed.fixed_weights_hash(j) != items[i].get("fixed_weights_hash"):
                results[i]["notes"].append("regenerated fixed weights differ from the stored hash; retrained")
                to_train.append(i)
            else:
                keep.append(j)
        if len(keep) < len(stored):
            fixed = fixed.select(keep) if keep else None
            stored = [stored[j] for j in keep]
    to_train.sort()
    if fixed is not None:
        from dataclasses import replace
        to = dict(device=fixed.device, dtype=fixed.dtype)
        fixed = replace(fixed, wo=torch.stack([stored_tensors[i]["wo"] for i in stored]).to(**to),
                        wd=torch.stack([stored_tensors[i]["wd"] for i in stored]).to(**to))
    ends_stored = (torch.stack([stored_tensors[i]["trial_end_states"] for i in stored]).to(device=device)
                   if stored else None)

    # ---- training stage
    trained = None
    ends_trained = None
    if to_train:
        net = RateNetworks.create([cfgs[i].network for i in to_train], [items[i]["seed"] for i in to_train],
                                  device=device, dtype=dtype)
        res = train(net, task, base.training, progress=False)
        t1 = time.perf_counter()
        ev = evaluate(res.networks, task, res.final_state, test_trials=base.training.test_trials,
                      diverged=res.diverged)
        eval_seconds = time.perf_counter() - t1
        trained, ends_trained = res.networks, ev.trial_end_states.to(device)
        B = len(to_train)
        analyze = payload.get("analyze", "success")
        for b, i in enumerate(to_train):
            rec = _training_record(b, res, ev, base.training.trials)
            success[i], diverged[i] = rec["success"], rec["diverged"]
            if analyze == "all":
                want[i] = [] if diverged[i] else list(payload.get("new_analyses") or [])
            elif analyze == "success":
                want[i] = list(payload.get("new_analyses") or []) if success[i] else []
            else:
                want[i] = []
            log = res.log[res.log.seed == res.networks.seeds[b]].sort_values("trial")
            arrays = {
                "wo": res.networks.wo[b], "wd": res.networks.wd[b], "final_state": res.final_state[b],
                "trial_end_states": ev.trial_end_states[b],
                "train_response_rmse": torch.tensor(log.response_rmse.to_numpy(), dtype=torch.float64),
                "train_memory_rmse": torch.tensor(log.memory_rmse.to_numpy(), dtype=torch.float64),
            }
            arrays = {k: v.detach().to("cpu").contiguous() for k, v in arrays.items()}
            meta = {"format": "slowmem-sweep-network/1", "network_id": items[i]["network_id"],
                    "seed": str(items[i]["seed"]),
                    "config": json.dumps(_identity_dict(cfgs[i]), sort_keys=True),
                    "fixed_weights_hash": res.networks.fixed_weights_hash(b)}
            results[i].update(
                stage="trained", record=rec, fixed_weights_hash=meta["fixed_weights_hash"],
                # one metadata key: safetensors keeps metadata in a hash map, so several keys
                # would come out in a random order and identical results would hash differently
                arrays=st_save(arrays, metadata={"slowmem": json.dumps(meta, sort_keys=True)}),
                train_seconds=float(res.seconds), evaluate_seconds=float(eval_seconds), batch_size=B)
    for i in stored:
        results[i]["stage"] = "analyzed"

    # ---- analysis stage: each analysis once, on the sub-batch that needs it
    order = stored + to_train
    nets = _concat([fixed, trained])
    ends = torch.cat([e for e in (ends_stored, ends_trained) if e is not None]) if order else None
    names: list[str] = []
    for i in order:
        for n in want[i]:
            if n not in names:
                names.append(n)
    for name in names:
        pos = [j for j, i in enumerate(order) if name in want[i] and not diverged[i]]
        if not pos:
            continue
        t0 = time.perf_counter()
        try:
            fn = get_analysis(name)
            out = fn(nets.select(pos), task, ends[pos], progress=False)
            out = list(out)
            if len(out) != len(pos):
                raise ValueError(f"returned {len(out)} summaries for {len(pos)} networks")
            from .results import jsonable
            out = [jsonable(o) for o in out]
            err = None
        except Exception as e:                              # noqa: BLE001 - stored as the reason
            err = f"{type(e).__name__}: {e}"
        per = (time.perf_counter() - t0) / len(pos)
        for k, j in enumerate(pos):
            r = results[order[j]]
            r["analysis_seconds"][name] = per
            if err is None:
                r["analyses"][name] = out[k]
            else:
                r["analysis_errors"][name] = err
    return results


# --------------------------------------------------------------------------- #
# execution
# --------------------------------------------------------------------------- #
@dataclass
class SweepOptions:
    """How to run a sweep (none of this changes the results).

    Attributes:
        backend: ``local``, ``slurm``, ``pbs`` or ``none``.
        scheduler: address of a running Dask scheduler (overrides backend).
        workers: local worker processes (default: one per core; 1 on CUDA).
        device: ``cpu``, ``cuda`` or ``cuda:K``.
        batch: networks per work unit (default 6 on CPU, 16 on CUDA; fewer when
            the grid is too small to keep every local worker busy).
        analyze: which networks get analyses: ``success`` (default), ``all``
            (also those that do not perform the task), ``none`` (train only;
            a later run adds them).
        redo_analyses: analyses to recompute even where stored.
        queue, cores, memory, walltime, jobs, account, job_extra: SLURM/PBS.
        progress: show a progress bar.
        command: the command line, recorded in the manifest.
    """

    backend: str = "local"
    scheduler: str | None = None
    workers: int | None = None
    device: str = "cpu"
    batch: int | None = None
    analyze: str = "success"
    redo_analyses: tuple[str, ...] = ()
    queue: str | None = None
    cores: int = 4
    memory: str = "16GB"
    walltime: str = "04:00:00"
    jobs: int = 1
    account: str | None = None
    job_extra: tuple[str, ...] = ()
    progress: bool = True
    command: str | None = None

    def validate(self) -> "SweepOptions":
        from .config import check_choice
        check_choice("backend", self.backend, BACKENDS)
        check_choice("analyze", self.analyze, ANALYZE_CHOICES)
        if self.scheduler is not None and self.backend not in ("local",):
            raise ConfigError(f"--scheduler joins a running Dask cluster; it cannot be combined with "
                              f"--backend {self.backend} (leave --backend out)")
        if not isinstance(self.device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:K'; got {self.device!r}")
        if self.device != "cpu" and self.scheduler is None and self.backend in ("local", "none"):
            from .network import resolve_device
            resolve_device(self.device)
        if self.workers is not None:
            self.workers = check_number("workers", self.workers, lo=1, hi=4096, integer=True)
        if self.batch is not None:
            self.batch = check_number("batch", self.batch, lo=1, hi=100000, integer=True)
        if self.backend in ("slurm", "pbs"):
            self.cores = check_number("cores", self.cores, lo=1, hi=4096, integer=True)
            self.jobs = check_number("jobs", self.jobs, lo=1, hi=100000, integer=True)
            if not isinstance(self.memory, str) or not re.fullmatch(r"\s*\d+(\.\d+)?\s*[kKmMgGtT]i?[bB]?\s*",
                                                                    self.memory):
                raise ConfigError(f"memory must be a size per job such as '16GB' or '500MB'; got {self.memory!r}")
            if not isinstance(self.walltime, str) or not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}(:\d{2})?",
                                                                      self.walltime):
                raise ConfigError(f"walltime must be HH:MM:SS (or D-HH:MM:SS); got {self.walltime!r}")
        if self.backend != "none" or self.scheduler is not None:
            need = ["distributed"] + (["dask_jobqueue"] if self.backend in ("slurm", "pbs") else [])
            import importlib.util
            missing = [m for m in need if importlib.util.find_spec(m) is None]
            if missing:
                raise ConfigError(f"backend {self.backend} needs {', '.join(missing)} (pip install "
                                  "'slowmem[dist]'); or run in this process with --backend none")
        self.redo_analyses = tuple(self.redo_analyses or ())
        if self.redo_analyses:
            from .analysis import ANALYSES
            names = list(ANALYSES) if self.redo_analyses == ("all",) else list(self.redo_analyses)
            bad = [n for n in names if n not in ANALYSES]
            if bad:
                raise ConfigError(f"redo-analyses: unknown analysis {bad}; allowed: "
                                  f"{', '.join(ANALYSES) or '(none registered)'}, or 'all'")
            self.redo_analyses = tuple(names)
        return self


def make_jobqueue_cluster(backend: str, *, queue: str | None = None, cores: int = 4, memory: str = "16GB",
                          walltime: str = "04:00:00", account: str | None = None,
                          job_extra: Sequence[str] = ()):
    """A dask-jobqueue cluster (SLURM or PBS) of single-threaded workers, one per core; no job submitted yet.

    Each job runs ``cores`` worker processes with one thread each and
    OMP/MKL threads set to 1; call ``cluster.scale(jobs=K)`` to submit jobs.
    """
    from dask_jobqueue import PBSCluster, SLURMCluster

    cls = {"slurm": SLURMCluster, "pbs": PBSCluster}.get(backend)
    if cls is None:
        raise ConfigError(f"backend must be 'slurm' or 'pbs' for a job-queue cluster; got {backend!r}")
    return cls(queue=queue, account=account, cores=int(cores), processes=int(cores), memory=memory,
               walltime=walltime, job_name="slowmem-sweep", job_extra_directives=list(job_extra),
               job_script_prologue=["export OMP_NUM_THREADS=1", "export MKL_NUM_THREADS=1",
                                    "export OPENBLAS_NUM_THREADS=1"])


def _cores() -> int:
    """Cores this process may use (respects CPU affinity, e.g. inside a batch job)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def _local_workers(opts: SweepOptions) -> int | None:
    """Workers of the cluster this sweep starts itself (None when unknown: job queues, --scheduler)."""
    if opts.scheduler is not None or opts.backend in ("slurm", "pbs"):
        return None
    if opts.backend == "none":
        return 1
    return opts.workers or (1 if opts.device.startswith("cuda") else _cores())


def _default_batch(opts: SweepOptions, n_networks: int) -> int:
    """``DEFAULT_BATCH`` (6 on CPU, 16 on CUDA), smaller when a small grid would leave local workers idle.

    Depends only on the grid size and the worker count, not on what is already
    done, so a resumed sweep with the same settings forms the same work units.
    """
    b = DEFAULT_BATCH["cuda" if opts.device.startswith("cuda") else "cpu"]
    w = _local_workers(opts)
    if w:
        b = min(b, max(1, -(-n_networks // w)))
    return b


def _execute(payloads: list[dict], opts: SweepOptions) -> Iterator[tuple[int, Any]]:
    """Run work units; yield ``(index, results or the exception)`` as each completes."""
    if opts.backend == "none" and opts.scheduler is None:
        for i, p in enumerate(payloads):
            try:
                res = run_unit(p)
            except Exception as e:                        # noqa: BLE001 - stored as the reason
                res = e
            yield i, res
        return
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if opts.scheduler is not None:
        client = Client(opts.scheduler)
    elif opts.backend == "local":
        n = _local_workers(opts)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        if not opts.device.startswith("cuda"):
            pin_workers(client)
    else:
        cluster = make_jobqueue_cluster(opts.backend, queue=opts.queue, cores=opts.cores, memory=opts.memory,
                                        walltime=opts.walltime, account=opts.account, job_extra=opts.job_extra)
        cluster.scale(jobs=opts.jobs)
        client = Client(cluster)
    try:
        token = uuid.uuid4().hex[:8]
        futures = {client.submit(run_unit, p, key=f"slowmem-unit-{token}-{i}", pure=False): i
                   for i, p in enumerate(payloads)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                res = fut.result()
            except Exception as e:                        # noqa: BLE001 - stored as the reason
                res = e
            fut.release()
            yield i, res
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _pin_to(core: int) -> list[int]:
    os.sched_setaffinity(0, {core})
    return sorted(os.sched_getaffinity(0))


def pin_workers(client) -> dict[str, int]:
    """Pin each worker process of a local cluster to a core of its own (Linux; elsewhere a no-op).

    One single-threaded worker per core, each kept on its core, keeps a
    network's matrices in that core's cache. Returns ``worker address -> core``;
    empty when pinning is not possible (no ``sched_setaffinity``, or more
    workers than cores).
    """
    if not hasattr(os, "sched_setaffinity"):
        return {}
    workers = sorted(client.scheduler_info()["workers"])
    cores = sorted(os.sched_getaffinity(0))
    if len(workers) > len(cores):
        return {}
    for addr, core in zip(workers, cores):
        client.run(_pin_to, core, workers=[addr])
    return dict(zip(workers, cores))


@dataclass
class _Pending:
    spec: NetworkSpec
    stage: str            # "train" or "analyze"
    why: str
    analyses: list[str] = field(default_factory=list)


def _plan(specs: Sequence[NetworkSpec], rows: Mapping[str, dict], store, names: Sequence[str],
          opts: SweepOptions) -> tuple[list[_Pending], dict[str, str]]:
    """What each network still needs, and which stored results are not trusted (id -> reason)."""
    pending, distrusted = [], {}
    for s in specs:
        row = rows.get(s.network_id)
        if row is None:
            pending.append(_Pending(s, "train", "new"))
            continue
        problem = store.array_problem(row)
        if problem:
            if row.get("status") == "failed" and not row.get("array_file"):
                pending.append(_Pending(s, "train", f"retry (failed before: {row.get('reason')})"))
            else:
                distrusted[s.network_id] = problem
                pending.append(_Pending(s, "train", f"recompute: {problem}"))
            continue
        if row.get("status") == "diverged" or row.get("diverged"):
            continue
        eligible = (opts.analyze == "all") or (opts.analyze == "success" and bool(row.get("success")))
        done = set(json.loads(row.get("analyses_done") or "[]"))
        missing = [n for n in names if n not in done or n in opts.redo_analyses] if eligible else []
        if missing:
            pending.append(_Pending(s, "analyze", "analyses " + ", ".join(missing), missing))
    return pending, distrusted


def _base_row(spec: NetworkSpec) -> dict:
    from .results import config_columns, dumps

    return {"network_id": spec.network_id, "seed": spec.seed, **config_columns(spec.config),
            "config_json": dumps(_identity_dict(spec.config))}


def _status(row: dict) -> tuple[str, str | None]:
    errs = json.loads(row.get("analysis_errors") or "{}")
    if row.get("diverged"):
        return "diverged", "training diverged: NaN or inf in the state or the learned readouts"
    if errs:
        return "failed", "; ".join(f"analysis {k!r} failed: {v}" for k, v in sorted(errs.items()))
    return "done", None


def _merge(old: dict | None, pend: _Pending, res: dict, store) -> dict:
    """The new table row of one network from its worker result."""
    from .results import analysis_column, dumps

    if res.get("stage") == "trained":
        row = _base_row(pend.spec)
        rec = res["record"]
        row.update(rec)
        rel, sha = store.write_arrays(pend.spec.network_id, res["arrays"])
        row.update(array_file=rel, array_sha256=sha, fixed_weights_hash=res["fixed_weights_hash"],
                   train_seconds=res["train_seconds"], evaluate_seconds=res["evaluate_seconds"],
                   batch_size=res["batch_size"],
                   seconds_per_network=(res["train_seconds"] + res["evaluate_seconds"]) / res["batch_size"])
        done: dict = {}
        seconds: dict = {}
    else:
        row = dict(old or {})
        done = {n: row.get(analysis_column(n)) for n in json.loads(row.get("analyses_done") or "[]")}
        seconds = json.loads(row.get("analysis_seconds") or "{}")
    for name, summary in res.get("analyses", {}).items():
        row[analysis_column(name)] = dumps(summary)
        done[name] = True
    seconds.update(res.get("analysis_seconds", {}))
    row["analyses_done"] = json.dumps(sorted(done))
    row["analysis_errors"] = json.dumps(dict(sorted(res.get("analysis_errors", {}).items())))
    row["analysis_seconds"] = json.dumps(dict(sorted(seconds.items())))
    for k in ("worker", "device", "slowmem_version", "torch_version"):
        row[k] = res.get(k)
    from .results import utc_now
    row["finished_at"] = utc_now()
    row["status"], row["reason"] = _status(row)
    notes = res.get("notes") or []
    if notes and row["status"] == "done":
        row["reason"] = "; ".join(notes)
    return row


def _failed_row(old: dict | None, pend: _Pending, err: BaseException) -> dict:
    """Row of a network whose work unit raised: keep stored training results, mark failed."""
    from .results import utc_now

    msg = f"{type(err).__name__}: {err}".strip()
    if pend.stage == "analyze" and old is not None:
        row = dict(old)
        row["status"], row["reason"] = "failed", f"analysis stage failed: {msg}"
    else:
        row = _base_row(pend.spec)
        row.update(status="failed", reason=f"training stage failed: {msg}", success=False, diverged=False)
    row["finished_at"] = utc_now()
    return row


def _grid_hash(specs: Sequence[NetworkSpec]) -> str:
    return hashlib.sha256("\n".join(sorted(s.network_id for s in specs)).encode()).hexdigest()


def run_sweep(grid: Grid, out: str | Path, opts: SweepOptions | None = None,
              log: Callable[[str], None] | None = None) -> dict:
    """Run (or continue) sweep ``grid`` into results folder ``out``; returns a summary.

    Everything is validated before any work (:class:`ConfigError`). Networks
    already complete in ``out`` are skipped; damaged or unverifiable ones are
    recomputed; results are written as units finish.

    Returns:
        ``{"out", "grid", "total", "done", "diverged", "failed", "ran",
        "trained", "analyzed", "recomputed" (id -> reason), "units",
        "seconds"}``; ``ran`` is 0 when there was nothing to do.
    """
    from . import __version__
    from .analysis import ANALYSES
    from .results import ResultsStore, read_manifest, utc_now

    opts = (opts or SweepOptions()).validate()
    say = log or (lambda m: print(m, file=sys.stderr))
    out = Path(out)
    specs = grid.networks(device=opts.device)
    if opts.batch is None:
        opts.batch = _default_batch(opts, len(specs))
    ghash = _grid_hash(specs)
    store = ResultsStore(out)
    manifest = store.check_target()
    if manifest is not None and manifest.get("grid_hash") != ghash:
        old = manifest.get("grid", {})
        raise ConfigError(
            f"--out {out} holds a sweep of a different grid: {old.get('name')!r} with fixed {old.get('fixed')}, "
            f"axes {old.get('axes')}, seeds {old.get('seeds')} ({manifest.get('n_networks')} networks); "
            f"this one has fixed {dict(grid.fixed)}, axes {dict((k, list(v)) for k, v in grid.axes.items())}, "
            f"seeds {list(grid.seeds)}. Choose another folder (nothing was changed).")
    t_start = time.perf_counter()
    with store.lock():
        rows, note = store.read_rows()
        if note:
            say(note)
        names = list(ANALYSES) if opts.analyze != "none" else []
        pending, distrusted = _plan(specs, rows, store, names, opts)
        summary = {"out": str(out), "grid": grid.name, "total": len(specs), "ran": 0, "trained": 0,
                   "analyzed": 0, "recomputed": dict(distrusted), "units": 0}
        for nid, why in distrusted.items():
            say(f"not trusted, recomputing {nid}: {why}")
        if not pending:
            summary.update(_counts(rows, specs), seconds=round(time.perf_counter() - t_start, 3))
            say(f"{out}: all {len(specs)} networks of {grid.name!r} are complete; nothing to do")
            return summary

        if manifest is None:
            manifest = {"kind": "slowmem-sweep", "format": 1, "grid": grid.to_dict(), "grid_hash": ghash,
                        "n_networks": len(specs), "network_ids": [s.network_id for s in specs],
                        "slowmem_version": __version__, "created": utc_now(), "runs": []}
        else:
            manifest = read_manifest(out)
        run_entry = {"command": opts.command, "started": utc_now(), "finished": None,
                     "slowmem_version": __version__, "backend": opts.backend, "scheduler": opts.scheduler,
                     "workers": opts.workers, "device": opts.device, "batch": opts.batch,
                     "analyze": opts.analyze, "pending": len(pending)}
        manifest["runs"] = list(manifest.get("runs", [])) + [run_entry]
        manifest["slowmem_version"] = __version__
        store.write_manifest(manifest)

        by_id = {p.spec.network_id: p for p in pending}
        units = [[by_id[s.network_id] for s in u if s.network_id in by_id]
                 for u in plan_units(specs, opts.batch)]
        units = [u for u in units if u]
        payloads = [_payload(u, rows, store, names, opts) for u in units]
        summary["units"] = len(units)
        order = {s.network_id: k for k, s in enumerate(specs)}

        from tqdm import tqdm
        n_train = sum(p.stage == "train" for p in pending)
        say(f"{grid.describe()}: {len(specs) - len(pending)} complete, {n_train} to train, "
            f"{len(pending) - n_train} to analyse, in {len(units)} work units "
            f"(backend {opts.scheduler or opts.backend}, batch {opts.batch}) -> {out}")
        bar = tqdm(total=len(pending), desc=f"sweep {grid.name}", unit="net", disable=not opts.progress,
                   file=sys.stderr, mininterval=0.5)
        status = "interrupted"
        try:
            for i, res in _execute(payloads, opts):
                unit = units[i]
                if isinstance(res, BaseException):
                    for p in unit:
                        rows[p.spec.network_id] = _failed_row(rows.get(p.spec.network_id), p, res)
                else:
                    got = {r["network_id"]: r for r in res}
                    for p in unit:
                        r = got.get(p.spec.network_id)
                        if r is None:
                            rows[p.spec.network_id] = _failed_row(rows.get(p.spec.network_id), p,
                                                                  RuntimeError("no result returned"))
                            continue
                        rows[p.spec.network_id] = _merge(rows.get(p.spec.network_id), p, r, store)
                        summary["trained" if r.get("stage") == "trained" else "analyzed"] += 1
                store.write_table(sorted(rows.values(), key=lambda r: order.get(r["network_id"], len(order))))
                summary["ran"] += len(unit)
                bar.update(len(unit))
                c = _counts(rows, specs)
                bar.set_postfix(done=c["done"], diverged=c["diverged"], failed=c["failed"])
            status = "finished"
        finally:
            bar.close()
            run_entry["finished"] = utc_now()
            run_entry["outcome"] = status
            run_entry.update({k: v for k, v in _counts(rows, specs).items()})
            store.write_manifest(manifest)
    summary.update(_counts(rows, specs), seconds=round(time.perf_counter() - t_start, 3))
    return summary


def _payload(unit: list[_Pending], rows: Mapping[str, dict], store, names: Sequence[str],
             opts: SweepOptions) -> dict:
    nets = []
    for p in unit:
        item = {"network_id": p.spec.network_id, "seed": p.spec.seed, "config": p.spec.config.to_dict(),
                "arrays": None, "fixed_weights_hash": None, "success": None, "analyses": []}
        if p.stage == "analyze":
            row = rows[p.spec.network_id]
            item.update(arrays=store.read_array_bytes(row), fixed_weights_hash=row.get("fixed_weights_hash"),
                        success=bool(row.get("success")), analyses=list(p.analyses))
        nets.append(item)
    return {"networks": nets, "analyze": opts.analyze, "new_analyses": list(names), "device": opts.device,
            "torch_threads": None if (opts.backend == "none" and opts.scheduler is None) else 1}


def _counts(rows: Mapping[str, dict], specs: Sequence[NetworkSpec]) -> dict:
    c = {"done": 0, "diverged": 0, "failed": 0}
    for s in specs:
        r = rows.get(s.network_id)
        if r is not None and r.get("status") in c:
            c[r["status"]] += 1
    c["remaining"] = len(specs) - sum(c.values())
    c["success"] = sum(1 for s in specs if (rows.get(s.network_id) or {}).get("success"))
    return c


def sweep_status(path: str | Path) -> dict:
    """Where sweep folder ``path`` stands (read-only; verifies every array file).

    Returns ``{"out", "grid", "total", "done", "diverged", "failed",
    "remaining" (not yet computed, or stored but damaged), "damaged",
    "success", "analyses_pending" (successful networks missing a registered
    analysis), "failed_reasons" (id -> reason)}``.
    """
    from .analysis import ANALYSES
    from .results import ResultsStore, _read_rows_readonly, read_manifest

    path = Path(path)
    m = read_manifest(path)
    ids = list(m.get("network_ids", []))
    rows = _read_rows_readonly(path)
    store = ResultsStore(path)
    st = {"out": str(path), "grid": m.get("grid", {}).get("name"), "total": len(ids), "done": 0,
          "diverged": 0, "failed": 0, "remaining": 0, "damaged": 0, "success": 0, "analyses_pending": 0,
          "failed_reasons": {}}
    for nid in ids:
        r = rows.get(nid)
        if r is None:
            st["remaining"] += 1
            continue
        if r.get("array_file") and store.array_problem(r):
            st["damaged"] += 1
            st["remaining"] += 1
            continue
        s = r.get("status")
        if s in ("done", "diverged", "failed"):
            st[s] += 1
        if s == "failed":
            st["failed_reasons"][nid] = r.get("reason")
        if r.get("success"):
            st["success"] += 1
            done = set(json.loads(r.get("analyses_done") or "[]"))
            if any(n not in done for n in ANALYSES):
                st["analyses_pending"] += 1
    st["last_run"] = (m.get("runs") or [None])[-1]
    return st


# --------------------------------------------------------------------------- #
# command line
# --------------------------------------------------------------------------- #
_GRID_HELP = """\
grids:
  paper   PAPER.md section 4: g {0.8,0.9,1.1,1.2,1.3,1.4,1.5} x pg {0.4,0.6,0.7,0.9}
          x fb {40,30,20,10,5,1} x seeds {0,1,2,3}, in_scale 50, N 1000, 3500 trials
          (672 networks)
  book    the same g x pg x fb at the book preset's N and trials, seed 0 (168 networks)
  ci      4 networks at the ci preset (g {1.2,1.4} x seeds {0,2})
  FILE    a .yaml/.yml/.json grid file, e.g.
              preset: ci        # scale preset (default book)
              seeds: 0-3        # default 0
              N: 60             # one value: fixed for every network
              trials: 200
              g: [1.2, 1.5]     # a list: an axis; networks are the product of all axes
              pg: [0.4, 0.9]
          keys are config field names (see `slowmem train --help`) plus preset,
          seeds and name; encoding/digits axes are lists of lists.

The results folder holds manifest.json, results.parquet (one row per network)
and arrays/<network>.safetensors. Running the same command again skips what is
complete, recomputes anything damaged, and adds analyses registered since.
Read it in Python with slowmem.results.load_results(DIR).
"""


def add_sweep_parser(sub) -> argparse.ArgumentParser:
    """Add ``slowmem sweep run|status`` to the CLI's subparsers ``sub``."""
    sw = sub.add_parser("sweep", help="hyperparameter sweeps over many networks (Dask); results folder status",
                        description="Train, evaluate and analyse a grid of networks; resumable.")
    ssub = sw.add_subparsers(dest="sweep_command", required=True)
    r = ssub.add_parser("run", help="run or continue a sweep into a results folder",
                        description="Run (or continue) a sweep into a results folder.",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_GRID_HELP)
    r.add_argument("--grid", required=True, help="paper, book, ci, or a grid file (.yaml/.yml/.json)")
    r.add_argument("--out", required=True, type=Path, help="results folder (new, or one holding this same grid)")
    r.add_argument("--rule", help="modified (default) or original FORCE, for every network")
    r.add_argument("--seeds", help="replace the grid's seeds: '0-3' or '0,2,5'")
    r.add_argument("--set", action="append", metavar="KEY=V1[,V2...]",
                   help="replace a grid setting: one value is fixed, several are an axis (repeatable)")
    ex = r.add_argument_group("execution (does not change the results)")
    ex.add_argument("--backend", default="local", choices=BACKENDS,
                    help="local: Dask LocalCluster, one single-threaded worker per core (default); slurm/pbs: "
                         "worker jobs through dask-jobqueue; none: in this process")
    ex.add_argument("--scheduler", metavar="ADDRESS", help="join a running Dask scheduler (tcp://host:8786)")
    ex.add_argument("--workers", help="local worker processes (default: one per core; 1 with --device cuda)")
    ex.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:K")
    ex.add_argument("--batch", help="networks trained together per work unit (default 6 on CPU, 16 on CUDA, "
                                    "fewer if the grid is too small to keep every worker busy)")
    ex.add_argument("--analyze", default="success", choices=ANALYZE_CHOICES,
                    help="run the analyses on networks that perform the task (default), on all that did "
                         "not diverge, or on none (a later run adds them without retraining)")
    ex.add_argument("--redo-analyses", metavar="NAMES",
                    help="comma list of analyses to recompute where already stored, or 'all'")
    ex.add_argument("--no-progress", action="store_true", help="no progress bar")
    ex.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    jq = r.add_argument_group("SLURM / PBS (--backend slurm|pbs)")
    jq.add_argument("--queue", help="partition / queue")
    jq.add_argument("--account", help="account / project to charge")
    jq.add_argument("--cores", default="4", help="cores per job = worker processes per job (default 4)")
    jq.add_argument("--memory", default="16GB", help="memory per job (default 16GB)")
    jq.add_argument("--walltime", default="04:00:00", help="per job, HH:MM:SS (default 04:00:00)")
    jq.add_argument("--jobs", default="1", help="number of jobs to submit (default 1)")
    jq.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                    help="extra scheduler directive, e.g. '--gres=gpu:1' (repeatable)")
    r.set_defaults(func=_cmd_run, parser=r)

    s = ssub.add_parser("status", help="done, failed and remaining networks of a results folder",
                        description="Count done, diverged, failed and remaining networks (verifies array files).")
    s.add_argument("dir", type=Path, help="a folder written by `slowmem sweep run --out`")
    s.add_argument("--json", action="store_true", help="print the status as JSON")
    s.set_defaults(func=_cmd_status, parser=s)
    return sw


def _command_line(a: argparse.Namespace) -> str:
    """The ``slowmem sweep run`` command that ``a`` describes (recorded in the manifest)."""
    import shlex

    parts = ["slowmem", "sweep", "run", "--grid", a.grid, "--out", str(a.out)]
    for flag, v in (("--rule", a.rule), ("--seeds", a.seeds), ("--scheduler", a.scheduler),
                    ("--workers", a.workers), ("--batch", a.batch), ("--redo-analyses", a.redo_analyses),
                    ("--queue", a.queue), ("--account", a.account)):
        if v is not None:
            parts += [flag, str(v)]
    for v in a.set or ():
        parts += ["--set", v]
    for flag, v, default in (("--backend", a.backend, "local"), ("--device", a.device, "cpu"),
                             ("--analyze", a.analyze, "success")):
        if v != default:
            parts += [flag, v]
    if a.backend in ("slurm", "pbs"):
        parts += ["--cores", str(a.cores), "--memory", a.memory, "--walltime", a.walltime, "--jobs", str(a.jobs)]
        for v in a.job_extra:
            parts += ["--job-extra", v]
    return shlex.join(parts)


def _cmd_run(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    redo = tuple(n.strip() for n in (a.redo_analyses or "").split(",") if n.strip())
    opts = SweepOptions(backend=a.backend, scheduler=a.scheduler, workers=a.workers, device=a.device,
                        batch=a.batch, analyze=a.analyze, redo_analyses=redo, queue=a.queue, cores=a.cores,
                        memory=a.memory, walltime=a.walltime, jobs=a.jobs, account=a.account,
                        job_extra=tuple(a.job_extra), progress=not a.no_progress, command=_command_line(a))
    try:
        grid = resolve_grid(a.grid, sets=a.set, seeds=a.seeds, rule=a.rule)
        opts.validate()
        summary = run_sweep(grid, a.out, opts)
    except ConfigError as e:
        parser.error(str(e))
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished networks are stored in {a.out}; run the same command to continue",
              file=sys.stderr)
        return 130
    if a.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['out']}: {summary['done']} done ({summary['success']} perform the task), "
              f"{summary['diverged']} diverged, {summary['failed']} failed, {summary['remaining']} remaining "
              f"of {summary['total']}; this run: {summary['trained']} trained, {summary['analyzed']} analysed"
              f" in {summary['seconds']:.1f} s")
    return 0


def _cmd_status(a: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        st = sweep_status(a.dir)
    except ConfigError as e:
        parser.error(str(e))
    if a.json:
        print(json.dumps(st, indent=2))
        return 0
    print(f"{st['out']} (grid {st['grid']!r}, {st['total']} networks)")
    print(f"  done       {st['done']}  ({st['success']} perform the task)")
    print(f"  diverged   {st['diverged']}")
    print(f"  failed     {st['failed']}")
    print(f"  remaining  {st['remaining']}" + (f"  ({st['damaged']} damaged, will be recomputed)"
                                              if st["damaged"] else ""))
    if st["analyses_pending"]:
        print(f"  {st['analyses_pending']} successful networks miss a registered analysis (re-run to add)")
    for nid, why in list(st["failed_reasons"].items())[:10]:
        print(f"  failed {nid}: {why}")
    return 0
