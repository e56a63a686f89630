"""Hyperparameter search spaces of the Optuna studies."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HYPERPARAMETERS",
    "LOG_SPACE",
    "PAPER_SPACE",
    "SEARCH_SPACES",
    "SearchSpace",
]

#: Names of the hyperparameters, in the order used everywhere (lam = (l1, l2)).
HYPERPARAMETERS = ("l1", "l2")


@dataclass(frozen=True)
class SearchSpace:
    """Bounds of l1 and l2, each sampled uniformly (or log-uniformly) on [low, high]."""

    low: float
    high: float
    log: bool = False

    def grid_axis(self, n_trials: int) -> np.ndarray:
        """The grid sampler's values per hyperparameter: ceil(sqrt(n_trials)) evenly spaced.

        Returns
        -------
        ndarray of shape (ceil(sqrt(n_trials)),)
        """
        n_points = math.ceil(math.sqrt(n_trials))
        if self.log:
            return np.geomspace(self.low, self.high, n_points)
        return np.linspace(self.low, self.high, n_points)


#: The paper's space: l1 and l2 each uniform on [1e-10, 1].
PAPER_SPACE = SearchSpace(1e-10, 1.0)
#: A log space wide enough to reach both the in-box valley and the optimum outside it:
#: l1 and l2 each log-uniform on [1e-4, 1e4].
LOG_SPACE = SearchSpace(1e-4, 1e4, log=True)
#: The spaces by the name --search-space takes.
SEARCH_SPACES = {"paper": PAPER_SPACE, "log": LOG_SPACE}
