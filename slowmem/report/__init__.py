"""From a stored population to what a reader is told: the population, its exemplars, verdicts, costs.

    population.py  Population (the per-network table, exemplars, networks on demand), load_population
    claims.py      the paper's claims C1-C6 and their verdicts
    cost.py        what sweeps cost: the training benchmark, grid hours on CPU / cluster / GPU
"""
from .claims import (
           CLAIMS,
           Verdict,
           all_claims,
           claim_c1,
           claim_c2,
           claim_c3,
           claim_c4,
           claim_c5,
           claim_c6,
           mechanism_table,
)
from .population import LIVE, LIVE_GRID, Population, load_population

__all__ = ["CLAIMS", "Verdict", "all_claims", "claim_c1", "claim_c2", "claim_c3", "claim_c4", "claim_c5", "claim_c6",
           "mechanism_table", "LIVE", "LIVE_GRID", "Population", "load_population"]
