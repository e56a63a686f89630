"""``optuna-continue``: the same Optuna study, ``budget`` more trials.

The baseline every refiner must beat at equal cost: spend the budget on more trials of
the study that produced the start (same sampler and state, same search space, so bound
to the study's box by construction). ``start.continue_study(n)`` runs n more trials and
returns each trial's (l1, l2, fit); each trial is one elastic-net fit of the budget.
No randomness of its own: the study's sampler carries its seed.
"""

from __future__ import annotations

from hyper_local_search.refiners.base import (
    BudgetedObjective,
    RefinerResult,
    RefinerStart,
    result_from,
)

__all__ = [
    "NAME",
    "refine_optuna_continue",
]

NAME = "optuna-continue"


def refine_optuna_continue(start: RefinerStart) -> RefinerResult:
    """Run ``start.budget`` more trials of the start's study; keep the best model seen.

    Parameters
    ----------
    start : RefinerStart
        Uses budget and continue_study (and l1, l2, fit as the incumbent).

    Returns
    -------
    RefinerResult
        The best of the start and the new trials; status "improved", "no_improvement",
        "no_study" (``continue_study`` is None: the start, no fit), or "study_exhausted"
        (the study ran fewer trials than asked, e.g. a finished grid, without improving).

    Raises
    ------
    RuntimeError
        If ``continue_study`` returns more trials than it was asked for (the budget
        would be exceeded: a bug in the caller's study wrapper).
    """
    objective = BudgetedObjective(start)
    if start.continue_study is None:
        return result_from(NAME, objective, "no_study")
    n_trials = objective.remaining
    if n_trials <= 0:
        return result_from(NAME, objective)
    trials = start.continue_study(n_trials)
    if len(trials) > n_trials:
        raise RuntimeError(
            f"continue_study({n_trials}) returned {len(trials)} trials; it must run at "
            f"most the {n_trials} asked for"
        )
    for l1, l2, fit in trials:
        objective.count_external_fit()
        objective.record(float(l1), float(l2), fit)
    improved = objective.best_val < objective.path[0][2]
    exhausted = len(trials) < n_trials
    return result_from(NAME, objective, "study_exhausted" if exhausted and not improved else None)
