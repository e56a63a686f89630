"""Optuna samplers by name, configured as the authors' code configures them.

The authors ran Optuna 3.6.1 with every sampler at its defaults (``TPESampler()``,
``QMCSampler()``, ``RandomSampler()``, ``GridSampler(grid)``). Optuna 5 changed the TPE
defaults (multivariate, constant liar) and, from 4.9 on, how the univariate TPE sets its
kernel widths, so ``tpe="paper"`` spells out 3.6.1's settings and, where the installed
Optuna no longer has it, restores 3.6.1's width rule (`paper_kernel_widths`). The trial
sequences of seeded studies are checked against Optuna 3.6.1's own in
``tests/optuna_training_tests/test_samplers_optuna_3_6_1.py`` (reference file and the
script that made it in ``tests/reference/``).
"""

from __future__ import annotations

import math
import warnings
from types import MappingProxyType

import numpy as np
import optuna
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator

from optuna_training.search_space import HYPERPARAMETERS, SearchSpace

__all__ = [
    "PAPER_TPE_SETTINGS",
    "SAMPLER_NAMES",
    "TPE_VARIANTS",
    "describe_tpe",
    "make_sampler",
    "paper_kernel_widths",
    "paper_tpe_gamma",
    "paper_tpe_weights",
]

#: The paper's four samplers, in the order of its table.
SAMPLER_NAMES = ("random", "tpe", "qmc", "grid")
#: ``--tpe``: "paper" = Optuna 3.6.1's ``TPESampler()``; "current" = the installed
#: Optuna's ``TPESampler()`` (Optuna 5: multivariate, constant liar).
TPE_VARIANTS = ("paper", "current")

#: Smallest kernel width without the magic clip (Optuna's EPS).
_EPS = 1e-12
#: The Optuna release from which the univariate TPE leaves the prior out of the
#: neighbours that set each kernel's width.
_WIDTH_RULE_CHANGED = (4, 9)


def paper_tpe_gamma(n_trials: int) -> int:
    """Optuna 3.6.1's default split: the best ceil(0.1 n) trials, at most 25, are "good".

    Parameters
    ----------
    n_trials : int
        Finished trials so far.
    """
    return min(math.ceil(0.1 * n_trials), 25)


def paper_tpe_weights(n_good: int) -> np.ndarray:
    """Optuna 3.6.1's default weights of the good trials, oldest first.

    Below 25 trials every weight is 1; beyond, the 25 newest weigh 1 and the older ones
    ramp linearly from 1 / n up.

    Parameters
    ----------
    n_good : int
        Trials in the "good" group.

    Returns
    -------
    weights : ndarray of shape (n_good,)
    """
    if n_good < 25:
        return np.ones(n_good)
    return np.concatenate([np.linspace(1.0 / n_good, 1.0, n_good - 25), np.ones(25)])


#: Optuna 3.6.1's ``TPESampler()`` defaults, as passed explicitly for ``tpe="paper"``.
PAPER_TPE_SETTINGS = MappingProxyType(
    {
        "multivariate": False,
        "constant_liar": False,
        "consider_prior": True,
        "prior_weight": 1.0,
        "consider_magic_clip": True,
        "consider_endpoints": False,
        "n_startup_trials": 10,
        "n_ei_candidates": 24,
        "gamma": paper_tpe_gamma,
        "weights": paper_tpe_weights,
    }
)


def paper_kernel_widths(
    centres: np.ndarray,
    low: float,
    high: float,
    *,
    consider_endpoints: bool = False,
    magic_clip: bool = True,
) -> np.ndarray:
    """Kernel widths of Optuna 3.6.1's univariate TPE for one continuous parameter.

    Each observation's width is the larger of the distances to its two neighbours among
    the observations, the prior's centre (the middle of the range) and the two ends of
    the range. Without ``consider_endpoints`` the lowest and the highest of these points
    use their inner neighbour only. Widths are then clipped to [range / min(100, n + 2),
    range] (the "magic clip"; without it the floor is 1e-12).

    Parameters
    ----------
    centres : ndarray of shape (n,)
        The observations (in log scale for a log parameter).
    low, high : float
        The range (in log scale for a log parameter).
    consider_endpoints : bool
    magic_clip : bool

    Returns
    -------
    widths : ndarray of shape (n,)
        In the units of ``centres``; the prior's own width (high - low) is not included.
    """
    centres = np.asarray(centres, dtype=np.float64)
    n_centres = centres.size
    points = np.append(centres, 0.5 * (low + high))
    order = np.argsort(points)
    padded = np.concatenate([[low], points[order], [high]])
    to_left = padded[1:-1] - padded[:-2]
    to_right = padded[2:] - padded[1:-1]
    sorted_widths = np.maximum(to_left, to_right)
    if not consider_endpoints and padded.size >= 4:
        sorted_widths[0] = to_right[0]
        sorted_widths[-1] = to_left[-1]
    widths = np.empty_like(sorted_widths)
    widths[order] = sorted_widths
    span = high - low
    floor = span / min(100.0, n_centres + 2.0) if magic_clip else _EPS
    return np.clip(widths[:n_centres], floor, span)


def _installed_optuna() -> tuple[int, int]:
    major, minor = optuna.__version__.split(".")[:2]
    return int(major), int(minor)


class _PaperParzenEstimator(_ParzenEstimator):
    """Optuna's Parzen estimator with 3.6.1's kernel widths (`paper_kernel_widths`).

    Installed on Optuna >= 4.9 only. Only continuous float parameters (the studies' l1
    and l2) get the 3.6.1 widths; anything else is the installed Optuna's. A module-level
    class, so that a sampler using it pickles.
    """

    def _calculate_numerical_distributions(self, observations, search_space, parameters):
        from optuna.distributions import FloatDistribution
        from optuna.samplers._tpe.probability_distributions import (
            _BatchedTruncLogNormDistributions,
            _BatchedTruncNormDistributions,
        )

        if not isinstance(search_space, FloatDistribution) or search_space.step is not None:
            return super()._calculate_numerical_distributions(
                observations, search_space, parameters
            )
        low, high = search_space.low, search_space.high
        if search_space.log:
            observations, low, high = np.log(observations), math.log(low), math.log(high)
        widths = paper_kernel_widths(
            observations, low, high, consider_endpoints=parameters.consider_endpoints,
            magic_clip=parameters.consider_magic_clip,
        )
        centres = np.append(observations, 0.5 * (low + high))
        widths = np.append(widths, high - low)  # the prior's kernel
        kind = (_BatchedTruncLogNormDistributions if search_space.log
                else _BatchedTruncNormDistributions)
        return kind(centres, widths, search_space.low, search_space.high)


def _paper_tpe(seed: int) -> optuna.samplers.TPESampler:
    """Optuna 3.6.1's ``TPESampler(seed=seed)`` under the installed Optuna."""
    with warnings.catch_warnings():
        # Optuna >= 4.3 deprecates passing several of these (their values are the defaults
        # it keeps); passing them keeps the sampler the same under every supported release.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, **PAPER_TPE_SETTINGS)
    if _installed_optuna() >= _WIDTH_RULE_CHANGED:
        if not hasattr(sampler, "_parzen_estimator_cls"):
            raise RuntimeError(
                f"optuna {optuna.__version__}: TPESampler has no _parzen_estimator_cls, so "
                "Optuna 3.6.1's kernel widths cannot be restored; use --tpe current or an "
                "optuna release the requirements allow."
            )
        sampler._parzen_estimator_cls = _PaperParzenEstimator
    return sampler


def describe_tpe(variant: str) -> str:
    """One line for the settings sheet: which TPE a run used.

    Parameters
    ----------
    variant : {"paper", "current"}
    """
    if variant == "paper":
        widths = ("3.6.1's kernel widths restored" if _installed_optuna() >= _WIDTH_RULE_CHANGED
                  else "kernel widths as 3.6.1's")
        return (
            f"paper: Optuna 3.6.1's TPESampler() under optuna {optuna.__version__}: "
            "univariate, no constant liar, prior weight 1.0, magic clip, no endpoints, "
            "10 startup trials, 24 EI candidates, gamma min(ceil(0.1 n), 25), weights 1 "
            f"for the newest 25 good trials and a ramp from 1/n below them; {widths}"
        )
    if variant == "current":
        return f"current: TPESampler() of the installed optuna {optuna.__version__}"
    raise ValueError(f"tpe variant must be one of {TPE_VARIANTS}, got {variant!r}")


def make_sampler(
    name: str, seed: int, *, n_trials: int, space: SearchSpace, tpe: str = "paper"
) -> optuna.samplers.BaseSampler:
    """A seeded Optuna sampler.

    Parameters
    ----------
    name : {"grid", "random", "tpe", "qmc"}
        grid: ceil(sqrt(n_trials)) evenly spaced values per hyperparameter, visited in
        an order shuffled by ``seed``; qmc: Optuna's default QMC (Sobol, not scrambled;
        the seed drives the first, independently sampled trial); random: Optuna's
        default; tpe: see ``tpe``.
    seed : int
        The simulation's seed.
    n_trials : int
        Trials of the study (sets the grid's resolution).
    space : SearchSpace
    tpe : {"paper", "current"}
        "paper": Optuna 3.6.1's ``TPESampler()`` (`PAPER_TPE_SETTINGS`, and 3.6.1's
        kernel widths on Optuna >= 4.9); "current": the installed Optuna's default.
    """
    # Library errors (ValueError): the command line checks the names first (RunConfig).
    if tpe not in TPE_VARIANTS:
        raise ValueError(f"unknown TPE variant {tpe!r}; choose from {', '.join(TPE_VARIANTS)}.")
    if name == "grid":
        axis = [float(value) for value in space.grid_axis(n_trials)]
        return optuna.samplers.GridSampler({key: axis for key in HYPERPARAMETERS}, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return _paper_tpe(seed) if tpe == "paper" else optuna.samplers.TPESampler(seed=seed)
    if name == "qmc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # Optuna 3.6.1's defaults, spelled out; the warning about the first trial's
            # independent sampling is switched off (logging only).
            return optuna.samplers.QMCSampler(
                qmc_type="sobol", scramble=False, seed=seed, independent_sampler=None,
                warn_asynchronous_seeding=True, warn_independent_sampling=False,
            )
    raise ValueError(f"unknown sampler {name!r}; choose from {', '.join(SAMPLER_NAMES)}.")
