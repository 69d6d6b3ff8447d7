"""Convert a slowmem 0.1 sweep folder into the current results-folder format, once, in place.

    python -m slowmem.store.migrate FOLDER

What changes:

* the manifest's kind becomes ``slowmem-results``, format 2, with the analysis
  settings its summaries were computed with (the 0.1 defaults, which are the
  :class:`~slowmem.config.MemoryConfig` / :class:`~slowmem.config.DynamicsConfig`
  defaults of the version-1 summaries);
* every array file gets the format-2 metadata, and its training curves are cut
  back to the network's own: slowmem 0.1 picked a network's training log by
  seed, so the array file of each network of a work unit held the curves of
  every unit member with that seed, back to back in batch order. Members of one
  unit are recognised by holding identical curves; within a unit, batch order
  is grid order (as the planner built units). Each row's
  ``train_*_rmse_last100`` are recomputed from its own curve;
* every row records ``analysis_settings`` and its ``row_sha256``.

Nothing else is recomputed: readouts, trial-end states, metrics and analysis
summaries are kept bit for bit; array files are replaced atomically one by one,
then the table and the manifest (a killed migration is rerun from a copy).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..analysis import ANALYSES, summary_identity
from ..config import Config, network_identity
from ..errors import SlowmemError, StoredFileError
from .files import atomic_write, dumps, sha256_bytes
from .folder import ResultsFolder, read_table
from .schema import FORMAT, MANIFEST, MANIFEST_KIND, TABLE, array_relpath, pack_arrays, unnumpy

__all__ = ["migrate_v1"]


def migrate_v1(path: str | Path, *, command: str | None = None) -> dict:
    """Convert the 0.1 sweep folder ``path`` in place; returns a summary (networks, units found)."""
    from safetensors.torch import load

    path = Path(path)
    m = json.loads((path / MANIFEST).read_text())
    if m.get("kind") != "slowmem-sweep" or m.get("format") != 1:
        raise StoredFileError(f"{path} is not a slowmem 0.1 sweep folder (kind {m.get('kind')!r}, "
                          f"format {m.get('format')!r})")
    df = read_table(path / TABLE)
    order = {nid: k for k, nid in enumerate(m["network_ids"])}
    rows = sorted(({k: unnumpy(v) for k, v in r.items()} for r in df.to_dict("records")),
                  key=lambda r: order[r["network_id"]])
    tensors = {r["network_id"]: load((path / r["array_file"]).read_bytes()) for r in rows if r.get("array_file")}
    units: dict[bytes, list[str]] = defaultdict(list)
    for r in rows:                                      # grid order: batch order within each unit
        t = tensors.get(r["network_id"])
        if t is not None:
            units[t["train_response_rmse"].numpy().tobytes()].append(r["network_id"])
    new_rows, blobs = [], {}
    for r in rows:
        nid = r["network_id"]
        cfg = Config.from_dict(json.loads(r["config_json"]))
        r["config_json"] = dumps(network_identity(cfg))
        if nid in tensors:
            t = tensors[nid]
            trials = cfg.training.trials
            members = units[t["train_response_rmse"].numpy().tobytes()]
            if t["train_response_rmse"].shape[0] != len(members) * trials:
                raise StoredFileError(f"{nid}: a curve of {t['train_response_rmse'].shape[0]} entries for "
                                  f"{len(members)} unit members of {trials} trials; cannot attribute it")
            b = members.index(nid)
            own = {k: t[k][b * trials:(b + 1) * trials] for k in ("train_response_rmse", "train_memory_rmse")}
            r["train_response_rmse_last100"] = float(np.median(own["train_response_rmse"][-100:].numpy()))
            r["train_memory_rmse_last100"] = float(np.median(own["train_memory_rmse"][-100:].numpy()))
            blobs[nid] = pack_arrays(nid, cfg, r["fixed_weights_hash"], {**{k: t[k] for k in (
                "wo", "wd", "final_state", "trial_end_states")}, **own})
            r["array_file"], r["array_sha256"] = array_relpath(nid), sha256_bytes(blobs[nid])
        done = json.loads(r.get("analyses_done") or "[]")
        r["analysis_settings"] = dumps({n: summary_identity(cfg, n) for n in done if n in ANALYSES})
        new_rows.append(r)
    folder = ResultsFolder(path)
    with folder.lock():
        for nid, data in blobs.items():
            atomic_write(path / array_relpath(nid), data)
        m.update(kind=MANIFEST_KIND, format=FORMAT)
        m["grid"]["analysis"] = {}
        m.pop("n_networks", None)
        m.setdefault("migrations", []).append({"from_format": 1, "to_format": FORMAT, "command": command,
                                               "units_found": len(units),
                                               "note": "training curves cut to each network's own"})
        folder.write_table(new_rows)
        folder.write_manifest(m)
    return {"networks": len(new_rows), "array_files": len(blobs), "units": len(units)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m slowmem.store.migrate", description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    a = p.parse_args(argv)
    try:
        out = migrate_v1(a.folder, command="python -m slowmem.store.migrate " + " ".join(sys.argv[1:]))
    except SlowmemError as e:
        p.error(str(e))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
