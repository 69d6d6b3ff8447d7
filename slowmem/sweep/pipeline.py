"""The per-network pipeline of a sweep: one work unit, trained, evaluated and analysed on a worker.

:func:`run_unit` takes one *work unit* -- up to ``batch`` networks that share
N, task, training and analysis settings -- and

1. rebuilds the networks that are already trained from (config, seed) plus
   their stored readouts, after verifying the array file and the fixed weights;
2. trains the others as one batch and evaluates them;
3. runs every analysis asked for, once per analysis, on the sub-batch that
   needs it, with the unit's analysis settings (``cfg.<name>``).

Each network's record and array file are built from its own batch slot only.
It returns plain data, so that any Dask worker can run it; the process that
runs the sweep writes the results (:mod:`slowmem.sweep.run`).
"""
from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .. import __version__
from ..analysis import analysis_settings, get_analysis, summary_identity
from ..config import Config
from ..errors import StoredFileError
from ..evaluation import evaluate, network_record, training_curves
from ..network import RateNetworks
from ..runtime import Runtime
from ..store import dumps, jsonable, pack_arrays, unpack_arrays
from ..task import SPMTask
from ..training import loop as training_loop

__all__ = ["run_unit"]


@dataclass
class _Slot:
    """One network of the unit, and everything the unit learns about it."""

    item: Mapping[str, Any]
    cfg: Config
    result: dict
    want: list[str] = field(default_factory=list)
    success: bool = False
    diverged: bool = False


def run_unit(payload: Mapping[str, Any]) -> list[dict]:
    """Train, evaluate and analyse one work unit; one result dict per network, in payload order.

    ``payload`` (small, plain data):

    * ``networks``: list of ``{network_id, config (Config.to_dict()),
      arrays (bytes of the stored array file or None), fixed_weights_hash,
      config_json, success, analyses (names to run)}``. Networks without
      ``arrays`` are trained (as one batch) and evaluated; the others are
      rebuilt from (config, seed) plus their verified stored readouts (a file
      or fixed weights that do not verify mean retraining, with a note).
    * ``analyze``: ``success``, ``all`` (every network that did not diverge)
      or ``none``: which newly trained networks get ``new_analyses``.
    * ``new_analyses``: analyses for newly trained networks.
    * ``runtime``: the run settings (:meth:`slowmem.runtime.Runtime.to_dict`): device,
      engine, threads (set in this worker when given), chunk sizes, simulation precision;
      each result records them as ``runtime_json``.

    Each result holds ``network_id``, ``stage`` (``trained`` or ``analyzed``),
    for ``trained`` the ``record`` (:func:`slowmem.evaluation.network_record`)
    and ``arrays`` (safetensors bytes, :func:`slowmem.store.pack_arrays`),
    then ``analyses`` (name -> summary), ``analysis_settings``,
    ``analysis_errors``, ``analysis_seconds``, ``notes`` and timings.
    """
    runtime = Runtime.from_dict(payload.get("runtime") or {}).replace(progress=False)
    runtime.apply_threads()
    items = list(payload["networks"])
    if not items:
        return []
    device = runtime.device
    worker = f"{socket.gethostname() or platform.node()}:{os.getpid()}"
    slots = []
    for n in items:
        cfg = Config.from_dict(n["config"])
        slots.append(_Slot(n, cfg, {
            "network_id": n["network_id"], "analyses": {}, "analysis_settings": {}, "analysis_errors": {},
            "analysis_seconds": {}, "notes": [], "worker": worker, "device": device,
            "runtime_json": dumps(runtime.to_dict()),
            "torch_version": torch.__version__, "slowmem_version": __version__},
            want=list(n.get("analyses") or []), success=bool(n.get("success"))))
    task = SPMTask(slots[0].cfg.task)
    dtype = slots[0].cfg.training.dtype
    stored, fixed, ends_stored = _rebuild_stored(slots, device, dtype)
    to_train = [i for i in range(len(slots)) if i not in stored]
    trained, ends_trained = _train_and_evaluate(slots, to_train, task, payload, runtime, dtype)
    order = stored + to_train
    parts = [p for p in (fixed, trained) if p is not None]
    nets = parts[0] if len(parts) == 1 else RateNetworks.concat(parts)
    ends = torch.cat([e for e in (ends_stored, ends_trained) if e is not None])
    _run_analyses(slots, order, nets, task, ends, runtime)
    return [s.result for s in slots]


def _rebuild_stored(slots: list[_Slot], device: str, dtype: str):
    """Networks with stored arrays: verified, rebuilt, readouts attached. Returns (indices, networks, ends)."""
    tensors: dict[int, dict] = {}
    for i, s in enumerate(slots):
        if s.item.get("arrays") is None:
            continue
        try:
            tensors[i] = unpack_arrays(bytes(s.item["arrays"]), s.item, name=f"array file of {s.item['network_id']}")
        except StoredFileError as e:
            s.result["notes"].append(f"{e}; retrained")
    idx = sorted(tensors)
    if not idx:
        return [], None, None
    net = RateNetworks.create([slots[i].cfg.network for i in idx], [slots[i].cfg.training.seed for i in idx],
                              device=device, dtype=dtype)
    keep = []
    for j, i in enumerate(idx):
        if net.fixed_weights_hash(j) != slots[i].item.get("fixed_weights_hash"):
            slots[i].result["notes"].append("regenerated fixed weights differ from the stored hash; retrained")
        else:
            keep.append(j)
    if not keep:
        return [], None, None
    net = net.select(keep) if len(keep) < len(idx) else net
    idx = [idx[j] for j in keep]
    to = dict(device=net.device, dtype=net.dtype)
    net = replace(net, wo=torch.stack([tensors[i]["wo"] for i in idx]).to(**to),
                  wd=torch.stack([tensors[i]["wd"] for i in idx]).to(**to))
    ends = torch.stack([tensors[i]["trial_end_states"] for i in idx]).to(**to)
    for i in idx:
        slots[i].result["stage"] = "analyzed"
    return idx, net, ends


def _train_and_evaluate(slots: list[_Slot], to_train: list[int], task: SPMTask, payload: Mapping[str, Any],
                        runtime: Runtime, dtype: str):
    """Train the networks at ``to_train`` as one batch, evaluate them, fill their records and array files."""
    if not to_train:
        return None, None
    base = slots[to_train[0]].cfg
    net = RateNetworks.create([slots[i].cfg.network for i in to_train],
                              [slots[i].cfg.training.seed for i in to_train], device=runtime.device, dtype=dtype)
    res = training_loop.train(net, task, base.training, progress=False, runtime=runtime)
    t1 = time.perf_counter()
    ev = evaluate(res.networks, task, res.final_state, test_trials=base.training.test_trials, diverged=res.diverged)
    eval_seconds = time.perf_counter() - t1
    new = list(payload.get("new_analyses") or [])
    analyze = payload.get("analyze", "success")
    for b, i in enumerate(to_train):
        s = slots[i]
        rec = network_record(b, res, ev)
        s.success, s.diverged = rec["success"], rec["diverged"]
        s.want = [] if s.diverged or analyze == "none" or (analyze == "success" and not s.success) else list(new)
        fwh = res.networks.fixed_weights_hash(b)
        arrays = {"wo": res.networks.wo[b], "wd": res.networks.wd[b], "final_state": res.final_state[b],
                  "trial_end_states": ev.trial_end_states[b], **training_curves(b, res)}
        s.result.update(stage="trained", record=rec, fixed_weights_hash=fwh,
                        arrays=pack_arrays(s.item["network_id"], s.cfg, fwh, arrays),
                        train_seconds=float(res.seconds), evaluate_seconds=float(eval_seconds),
                        batch_size=len(to_train))
    return res.networks, ev.trial_end_states.to(runtime.device)


def _run_analyses(slots: list[_Slot], order: list[int], nets: RateNetworks, task: SPMTask,
                  ends: torch.Tensor, runtime: Runtime) -> None:
    """Each analysis once, on the sub-batch of networks that want it, with the unit's settings."""
    names: list[str] = []
    for i in order:
        names += [n for n in slots[i].want if n not in names]
    for name in names:
        pos = [j for j, i in enumerate(order) if name in slots[i].want and not slots[i].diverged]
        if not pos:
            continue
        cfg = slots[order[pos[0]]].cfg
        t0 = time.perf_counter()
        try:
            out = list(get_analysis(name)(nets.select(pos), task, ends[pos], cfg=analysis_settings(cfg, name),
                                          progress=False, runtime=runtime))
            if len(out) != len(pos):
                raise ValueError(f"returned {len(out)} summaries for {len(pos)} networks")
            out = [jsonable(o) for o in out]
            err = None
        except Exception as e:                              # noqa: BLE001 - stored as the reason
            err = f"{type(e).__name__}: {e}"
        per = (time.perf_counter() - t0) / len(pos)
        ident = dumps(summary_identity(cfg, name))
        for k, j in enumerate(pos):
            r = slots[order[j]].result
            r["analysis_seconds"][name] = per
            if err is None:
                r["analyses"][name] = out[k]
                r["analysis_settings"][name] = ident
            else:
                r["analysis_errors"][name] = err
