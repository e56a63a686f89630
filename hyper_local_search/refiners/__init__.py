"""Refiners: ways to spend a budget of elastic-net fits improving an Optuna model.

Each refiner is a module with one function ``refine_*(start: RefinerStart) ->
RefinerResult`` (see base.py for the contract: at most ``start.budget`` fits, never
worse than the start, except ``path``). ``make_refiner(name)`` returns one, configured.
"""

from __future__ import annotations

from collections.abc import Callable

from hyper_local_search.refiners.base import RefinerResult, RefinerStart
from hyper_local_search.refiners.enet_path import refine_path
from hyper_local_search.refiners.hls import refine_hls, refine_hls_exact
from hyper_local_search.refiners.hypergradient_descent import refine_hypergradient
from hyper_local_search.refiners.optuna_continue import refine_optuna_continue
from hyper_local_search.refiners.random_local import refine_random_local

__all__ = [
    "REFINER_NAMES",
    "RefinerResult",
    "RefinerStart",
    "make_refiner",
]

#: Every refiner, in the order of the comparison sheet.
REFINER_NAMES = ("hls", "hls-exact", "optuna-continue", "random-local", "hypergradient", "path")


def make_refiner(name: str, *, line_search: str = "fast",
                 log_hyperparameters: bool = True) -> Callable[[RefinerStart], RefinerResult]:
    """The refiner called ``name`` (one of REFINER_NAMES), configured.

    Parameters
    ----------
    name : str
        One of REFINER_NAMES.
    line_search : {"fast", "paper"}
        The line search of the HLS refiners.
    log_hyperparameters : bool
        hls-exact moves in (log l1, log l2).
    """
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
