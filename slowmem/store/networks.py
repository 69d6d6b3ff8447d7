"""A file of B networks' weights (safetensors), for a batch trained outside a results folder.

A results folder keeps one array file per network (:mod:`.schema`); this is the plain format for a batch
a user trains and keeps by hand: every tensor of :class:`~slowmem.network.RateNetworks`, the configs and
seeds, and the provenance stamp, in one sorted JSON metadata key (so the same networks give the same bytes).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save

from slowmem.config import NetworkConfig
from slowmem.network import NETWORK_TENSORS, RateNetworks, resolve_device, resolve_dtype
from slowmem.store.files import atomic_write
from slowmem.store.provenance import provenance

from ..errors import StoredFileError

__all__ = ["save_networks", "read_networks"]


def save_networks(networks: RateNetworks, path: str | Path, extra_meta: dict | None = None) -> Path:
    """Write every tensor of ``networks`` (B networks) to ``path`` with their configs, seeds and provenance;
    atomic (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"configs": [c.to_dict() for c in networks.configs], "seeds": list(networks.seeds),
            "dtype": str(networks.dtype).replace("torch.", ""), "provenance": provenance(), **(extra_meta or {})}
    # one metadata key holding sorted JSON: safetensors writes several keys in a random order
    data = save({k: getattr(networks, k).detach().to("cpu").contiguous() for k in NETWORK_TENSORS},
                metadata={"slowmem": json.dumps(meta, sort_keys=True)})
    atomic_write(path, data)
    return path


def read_networks(path: str | Path, *, device: str | torch.device = "cpu",
                  dtype: str | torch.dtype | None = None) -> RateNetworks:
    """The networks :func:`save_networks` wrote (in their stored dtype unless ``dtype`` is given).

    Raises ConfigError for a missing, damaged or foreign file, or one whose tensors disagree with its metadata.
    """
    path = Path(path)
    try:
        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {})["slowmem"])
            t = {k: f.get_tensor(k) for k in NETWORK_TENSORS}
        configs = tuple(NetworkConfig(**c) for c in meta["configs"])
        seeds = tuple(int(s) for s in meta["seeds"])
    except FileNotFoundError:
        raise StoredFileError(f"no network file at {path}") from None
    except Exception as e:
        raise StoredFileError(f"network file {path} is damaged or not a slowmem file "
                          f"({type(e).__name__}: {e})") from None
    B, N = t["J"].shape[0], t["J"].shape[-1]
    if len(seeds) != B or len(configs) != B or any(c.N != N for c in configs):
        raise StoredFileError(f"network file {path} is inconsistent: {B} networks, {len(seeds)} seeds")
    dt = resolve_dtype(dtype) if dtype is not None else t["J"].dtype
    dev = resolve_device(device)
    return RateNetworks(**{k: v.to(device=dev, dtype=dt) for k, v in t.items()}, configs=configs, seeds=seeds)
