"""From a stored population to what a reader is told: the population, its exemplars, verdicts, costs.

    population.py  Population (the per-network table, exemplars, networks on demand), load_population
    stats.py       effects with intervals: two groups compared within strata (bootstrap, OLS test)
    claims.py      the paper's claims C1-C6: effects, verdicts by one stated rule, every reading's variant
    present.py     how the book shows them: verdict boxes, the paper's words, variant tables
    checks.py      stored checks of the analyses as tables (the slow-manifold population check)
    cost.py        what sweeps cost: the training benchmark, grid hours on CPU / cluster / GPU
"""
from .checks import manifold_check_frames
from .claims import (
    CLAIMS,
    COMPARATIVE,
    DEFAULT_STRATA,
    DEFINITIONAL,
    FP,
    MARGINS,
    SM,
    STRATA,
    VARIANTS,
    VERDICT_RULE,
    ClaimResult,
    claim_effect,
    dashboard_table,
    depends_on,
    evaluate_claims,
    mechanism_table,
    strata_check,
    verdict_table,
)
from .population import Population, load_population
from .present import paper_box, read_paper_statements, variants_table, verdict_box
from .stats import Effect, stratified_effect

__all__ = ["manifold_check_frames",
           "CLAIMS", "COMPARATIVE", "DEFAULT_STRATA", "DEFINITIONAL", "MARGINS", "claim_effect", "dashboard_table",
           "depends_on",
           "FP", "SM", "STRATA", "strata_check", "VARIANTS",
           "VERDICT_RULE", "ClaimResult",
           "evaluate_claims", "mechanism_table", "verdict_table", "Population",
           "load_population", "Effect", "stratified_effect", "paper_box", "read_paper_statements",
           "variants_table", "verdict_box"]
