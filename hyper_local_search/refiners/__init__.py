"""Refiners: ways to spend a budget of elastic-net fits improving an Optuna model.

Each refiner is a module with one function ``refine_*(start: RefinerStart) ->
RefinerResult`` (see base.py for the contract: at most ``start.budget`` fits, never
worse than the start, except ``path``). ``run_refiners`` runs the requested ones on one
simulation with the same start and budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from hyper_local_search.refiners.base import RefinerResult, RefinerStart
from hyper_local_search.refiners.enet_path import refine_path
from hyper_local_search.refiners.hls import refine_hls, refine_hls_exact
from hyper_local_search.refiners.hypergradient_descent import refine_hypergradient
from hyper_local_search.refiners.optuna_continue import refine_optuna_continue
from hyper_local_search.refiners.random_local import refine_random_local
from optuna_training.elastic_net import mse
from optuna_training.search_space import SEARCH_SPACES

#: Every refiner, in the order of the comparison sheet.
REFINER_NAMES = ("hls", "hls-exact", "optuna-continue", "random-local", "hypergradient", "path")
#: Budget of the "hls" refiner when no --budget is given: in effect unlimited, since its
#: own fits set everyone else's budget.
UNLIMITED_BUDGET = 1_000_000


def make_refiner(name: str, *, line_search: str = "fast",
                 log_hyperparameters: bool = True) -> Callable[[RefinerStart], RefinerResult]:
    """The refiner called ``name`` (one of REFINER_NAMES), configured."""
    if name == "hls":
        return lambda start: refine_hls(start, line_search=line_search)
    if name == "hls-exact":
        return lambda start: refine_hls_exact(start, line_search=line_search,
                                              log_hyperparameters=log_hyperparameters)
    table = {
        "optuna-continue": refine_optuna_continue,
        "random-local": refine_random_local,
        "hypergradient": refine_hypergradient,
        "path": refine_path,
    }
    if name not in table:
        raise ValueError(f"unknown refiner {name!r}; known: {', '.join(REFINER_NAMES)}")
    return table[name]


def refiner_record(result: RefinerResult, start: RefinerStart, seconds: float) -> dict:
    """One row of the refiners sheet: where the refiner ended, its losses, fits, time."""
    s, fit = start.splits, result.fit
    return {
        "refiner": result.refiner,
        "l1": result.l1,
        "l2": result.l2,
        "train_mse": mse(s.X_train, s.y_train, fit.coef, fit.intercept),
        "val_mse": result.val_mse,
        "test_mse": mse(s.X_test, s.y_test, fit.coef, fit.intercept),
        "fits": result.n_fits,
        "budget": result.budget,
        "seconds": seconds,
        "status": result.status,
        "path": [list(point) for point in result.path],
    }


def run_refiners(splits, config, problem, study_result, study, seed: int) -> tuple[dict, ...]:
    """Run ``config.refiners`` from the study's best model, each with the same budget.

    Parameters: the unit's Splits, RunConfig, ElasticNetProblem, StudyResult and
    ElasticNetStudy, and its seed. "hls" runs first (always): the paper's one HLS step,
    limited only by --budget; the fits it spent are the others' budget unless --budget
    is given. optuna-continue runs last, since it adds trials to the study. Returns one
    record per refiner (``refiner_record``).
    """
    if not config.refiners:
        return ()
    base = RefinerStart(
        splits=splits, problem=problem, l1=study_result.l1, l2=study_result.l2,
        fit=study_result.fit, budget=0, seed=seed,
        space=SEARCH_SPACES[config.search_space], continue_study=study.optimize,
    )
    names = ["hls", *[n for n in REFINER_NAMES if n in config.refiners and n != "hls"]]
    names.sort(key=lambda n: n == "optuna-continue")
    records, budget = [], config.budget
    for index, name in enumerate(names):
        child_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
        if name == "hls":
            start = replace(base, budget=config.budget or UNLIMITED_BUDGET, seed=child_seed)
        else:
            start = replace(base, budget=budget, seed=child_seed)
        refine = make_refiner(name, line_search=config.line_search,
                              log_hyperparameters=True)
        begin = time.perf_counter()
        result = refine(start)
        record = refiner_record(result, start, time.perf_counter() - begin)
        if name == "hls":
            budget = config.budget if config.budget is not None else result.n_fits
            record["budget"] = budget
        records.append(record)
    return tuple(records)
