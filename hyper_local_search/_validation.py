"""Checks at the boundary of the public HLS functions: one-line errors saying what to fix.

The inner code trusts its inputs; ``hls_step`` and ``hls_search`` call ``check_start``
once on what the caller passed.
"""

from __future__ import annotations

import math

import numpy as np

from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem


def check_start(function: str, problem: object, l1: object, l2: object, start: object) -> None:
    """Raise TypeError or ValueError unless (problem, l1, l2, start) can start an HLS step.

    Parameters
    ----------
    function : str
        The caller's name, for the message.
    problem : ElasticNetProblem
        Must have a validation split.
    l1, l2 : float
        Finite, >= 0, not both 0.
    start : ElasticNetFit
        A model of the problem's width with finite coefficients.
    """
    if not isinstance(problem, ElasticNetProblem):
        raise TypeError(f"{function}: problem must be an ElasticNetProblem; got "
                        f"{type(problem).__name__}. Build one with ElasticNetProblem(X_train, "
                        "y_train, X_val, y_val).")
    if not problem.has_validation:
        raise ValueError(f"{function} needs a problem with a validation split; build it with "
                         "X_val and y_val.")
    for name, value in (("l1", l1), ("l2", l2)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
            raise TypeError(f"{function}: {name} must be a number; got {type(value).__name__}.")
    if not (math.isfinite(l1) and math.isfinite(l2) and l1 >= 0 and l2 >= 0 and l1 + l2 > 0):
        raise ValueError(f"{function}: l1 and l2 must be finite, >= 0 and not both 0; got "
                         f"({l1!r}, {l2!r}).")
    if not isinstance(start, ElasticNetFit):
        raise TypeError(f"{function}: start must be an ElasticNetFit (problem.fit(l1, l2)); got "
                        f"{type(start).__name__}.")
    if np.shape(start.coef) != (problem.n_features,):
        raise ValueError(f"{function}: start.coef has shape {np.shape(start.coef)} but the "
                         f"problem has {problem.n_features} features; fit start on this problem.")
    if not (np.isfinite(start.coef).all() and math.isfinite(start.intercept)):
        raise ValueError(f"{function}: start has NaN or infinite coefficients; fit it again.")
