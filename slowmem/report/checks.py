"""Stored checks of the analyses, as tables: the population check of the slow-manifold analysis."""
from __future__ import annotations

import pandas as pd

__all__ = ["manifold_check_frames"]


def manifold_check_frames(doc: dict) -> dict:
    """Tables of the document ``benchmarks/manifold_population.py`` writes (``book/data/manifold_check.json``,
    read with :func:`slowmem.store.read_document`): ``networks`` (one row each), ``share`` (per mechanism),
    ``share_by_fb`` (mechanism x fb), ``separation`` (SM - FP, all and within fb = 1) and ``sensitivity``."""
    nets = pd.DataFrame(doc["networks"])
    share = pd.DataFrame(doc["share"]).T[["n", "n_with_slow_points", "share", "median_n_slow_points"]]
    by_fb = pd.DataFrame([{"mechanism": m, "fb": float(fb), **v} for m, s in doc["share"].items()
                          for fb, v in s["by_fb"].items()])
    by_fb["share"] = by_fb["n_with_slow_points"] / by_fb["n"]
    sep = []
    for key, v in doc["separation"].items():
        for part in ("all", "fb1"):
            d = v[part]
            sep.append({"quantity": ("log10 " if v["log10"] else "") + key, "networks": part,
                        "n SM": d["n_sm"], "n FP": d["n_fp"], "median SM": d["median_sm"], "median FP": d["median_fp"],
                        "SM - FP": d["difference"], "95% interval": None if d["ci95"] is None else
                        f"[{d['ci95'][0]:.3g}, {d['ci95'][1]:.3g}]"})
    return {"networks": nets, "share": share, "share_by_fb": by_fb.pivot_table(index="fb", columns="mechanism",
                                                                              values="share"),
            "separation": pd.DataFrame(sep), "sensitivity": pd.DataFrame(doc["sensitivity"])}
