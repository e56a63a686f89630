"""Optuna samplers by name, configured as the authors' code configures them."""

from __future__ import annotations

import warnings

import optuna

from optuna_training._grid import EnumeratedGridSampler
from optuna_training.search_space import HYPERPARAMETERS, SearchSpace
from utils.errors import InputError

#: The paper's four samplers, in the order of its table.
SAMPLER_NAMES = ("random", "tpe", "qmc", "grid")


def make_sampler(
    name: str, seed: int, *, n_trials: int, space: SearchSpace
) -> optuna.samplers.BaseSampler:
    """A seeded Optuna sampler.

    Parameters
    ----------
    name : {"grid", "random", "tpe", "qmc"}
        grid: ceil(sqrt(n_trials)) evenly spaced values per hyperparameter, visited in
        an order shuffled by ``seed``; qmc: Optuna's default QMC (Sobol, not scrambled;
        the seed drives the first, independently sampled trial); random and tpe:
        Optuna's defaults.
    seed : int
        The simulation's seed.
    n_trials : int
        Trials of the study (sets the grid's resolution).
    space : SearchSpace
    """
    if name == "grid":
        axis = [float(value) for value in space.grid_axis(n_trials)]
        return EnumeratedGridSampler({key: axis for key in HYPERPARAMETERS}, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "qmc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    raise InputError(
        f"unknown sampler {name!r}; choose from {', '.join(SAMPLER_NAMES)} (--samplers)."
    )
