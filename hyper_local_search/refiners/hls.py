"""HLS as a refiner: the paper's one step, and multi-step HLS on the exact formulation.

Every fit of the HLS steps goes through the refiner's budget; when the budget runs out
mid-search the refiner returns the best point evaluated so far.
"""

from __future__ import annotations

from hyper_local_search.hls_search import hls_search
from hyper_local_search.refiners.base import (
    BudgetedObjective,
    BudgetExhausted,
    RefinerResult,
    RefinerStart,
    result_from,
)

__all__ = [
    "HLS_EXACT_MAX_STEPS",
    "refine_hls",
    "refine_hls_exact",
]

#: Most steps of the multi-step exact HLS refiner (the budget usually ends it first).
HLS_EXACT_MAX_STEPS = 10


def _search(start: RefinerStart, name: str, *, line_search: str, formulation: str,
            log_hyperparameters: bool, steps: int) -> RefinerResult:
    objective = BudgetedObjective(start)

    def fitter(l1, l2, coef_init):
        return objective.fit(l1, l2, coef_init=coef_init)

    status = None
    try:
        search = hls_search(
            start.problem, start.l1, start.l2, start.fit,
            steps=steps, line_search=line_search, fitter=fitter, formulation=formulation,
            log_hyperparameters=log_hyperparameters,
        )
        if search.stop_reason.startswith("lp "):
            status = search.stop_reason
    except BudgetExhausted:
        status = "budget_exhausted"
    return result_from(name, objective, status)


def refine_hls(start: RefinerStart, *, line_search: str = "fast") -> RefinerResult:
    """The paper's HLS: one step on the paper's LP, from the Optuna model."""
    return _search(start, "hls", line_search=line_search, formulation="paper",
                   log_hyperparameters=False, steps=1)


def refine_hls_exact(
    start: RefinerStart,
    *,
    line_search: str = "fast",
    log_hyperparameters: bool = True,
    max_steps: int = HLS_EXACT_MAX_STEPS,
) -> RefinerResult:
    """Multi-step HLS on the exact formulation (log hyperparameters by default)."""
    return _search(start, "hls-exact", line_search=line_search, formulation="exact",
                   log_hyperparameters=log_hyperparameters, steps=max_steps)
