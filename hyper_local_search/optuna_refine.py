"""``hls_refine``: the HLS search from the best trial of an existing Optuna study.

The study must tune an elastic net on a validation MSE: its trials have exactly the
parameters ``l1, l2`` (the paper's penalty l1 ||w||_1 + (l2 / 2) ||w||^2) or ``alpha,
l1_ratio`` (scikit-learn's ``ElasticNet``; l1 = alpha * l1_ratio, l2 = alpha * (1 -
l1_ratio)), continuous floats, and its objective, minimised, is the validation MSE of
the elastic net fitted on (X_train, y_train) at those parameters. ``hls_refine`` refits
the best trial's model (checking that its validation MSE is the trial's value), runs
``hls_search`` from it and adds the point it ends at to the study as one finished trial
in the study's own parameters, with the search's record as user attributes. The study
can then go on (``study.optimize``) or be plotted as any other.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from hyper_local_search.hls_search import hls_search
from hyper_local_search.hls_step import FORMULATIONS, LINE_SEARCHES
from optuna_training.elastic_net import SOLVER_NAMES, ElasticNetProblem, alpha_l1_ratio

__all__ = ["VALUE_RTOL", "hls_refine"]

#: The best trial's value and the validation MSE refitted at its parameters must agree
#: to this relative tolerance (scikit-learn's tol = 1e-4 fits agree with each other to
#: about 1e-5; a study of another loss, other data or a transformed target is far off).
VALUE_RTOL = 1e-4
#: The two parameter layouts hls_refine knows.
LAYOUTS = (("l1", "l2"), ("alpha", "l1_ratio"))


def _layout(study: optuna.Study, best: FrozenTrial) -> tuple[str, str]:
    names = tuple(sorted(best.params))
    for layout in LAYOUTS:
        if names == tuple(sorted(layout)):
            for name in layout:
                distribution = best.distributions[name]
                if not isinstance(distribution, FloatDistribution) or distribution.step:
                    raise ValueError(
                        f"hls_refine needs continuous float parameters; {name!r} is "
                        f"{distribution!r}. Suggest it with trial.suggest_float({name!r}, "
                        "low, high) (no step)."
                    )
            return layout
    found = ", ".join(names) or "none"
    raise ValueError(
        f"hls_refine tunes an elastic net with parameters (l1, l2) or (alpha, l1_ratio); "
        f"the study {study.study_name!r} has {found}."
    )


def _start(layout: tuple[str, str], params: dict[str, float]) -> tuple[float, float]:
    if layout == ("l1", "l2"):
        l1, l2 = float(params["l1"]), float(params["l2"])
    else:
        alpha, ratio = float(params["alpha"]), float(params["l1_ratio"])
        if not (0.0 <= ratio <= 1.0):
            raise ValueError(f"the best trial's l1_ratio must lie in [0, 1]; got {ratio!r}.")
        l1, l2 = alpha * ratio, alpha * (1.0 - ratio)
    if not (math.isfinite(l1) and math.isfinite(l2) and l1 >= 0 and l2 >= 0 and l1 + l2 > 0):
        raise ValueError(f"the best trial's penalty must be finite, >= 0 and not 0; got "
                         f"(l1, l2) = ({l1!r}, {l2!r}).")
    return l1, l2


def _widened(distribution: FloatDistribution, value: float) -> FloatDistribution:
    """The trial's distribution, widened to hold ``value`` (the same log flag)."""
    return FloatDistribution(min(distribution.low, value), max(distribution.high, value),
                             log=distribution.log)


def hls_refine(
    study: optuna.Study,
    X_train,
    y_train,
    X_val,
    y_val,
    *,
    formulation: str = "paper",
    line_search: str = "fast",
    hls_steps: int = 1,
    log_hyperparameters: bool = False,
    solver: str = "sklearn",
) -> FrozenTrial:
    """Run HLS from the study's best trial and add its end point to the study as a trial.

    Parameters
    ----------
    study : optuna.Study
        A single-objective study that minimises the validation MSE, with at least one
        finished trial, whose trials have the parameters ``l1, l2`` or ``alpha,
        l1_ratio`` (module docstring).
    X_train : array-like of shape (n_train, n_features)
    y_train : array-like of shape (n_train,)
        The data the study's models were fitted on (target in its own units).
    X_val : array-like of shape (n_val, n_features)
    y_val : array-like of shape (n_val,)
        The data the study's objective scored.
    formulation : {"paper", "exact"}, default "paper"
        The HLS LP (``hyper_local_search.hls_step.hls_direction``).
    line_search : {"fast", "paper"}, default "fast"
    hls_steps : int, default 1
        Most HLS steps (``hls_search``).
    log_hyperparameters : bool, default False
        HLS in (log l1, log l2) (with ``formulation="exact"``).
    solver : {"sklearn", "converged"}, default "sklearn"
        How the elastic nets are fitted. "sklearn" is scikit-learn's ``ElasticNet`` with
        its defaults, the usual objective of such a study.

    Returns
    -------
    optuna.trial.FrozenTrial
        The trial added: state COMPLETE, value the validation MSE at the HLS point (never
        above the refitted best trial's), params in the study's layout (their
        distributions widened to hold them: HLS may leave the search box), user
        attributes ``hls_source`` ("hls"), ``hls_start_trial``, ``hls_start_l1``,
        ``hls_start_l2``, ``hls_l1``, ``hls_l2``, ``hls_direction`` ([d_l1, d_l2] of the
        first step), ``hls_t_star`` (its step length), ``hls_fits``, ``hls_lp_status``,
        ``hls_steps_taken``, ``hls_stop_reason``, ``hls_formulation``,
        ``hls_line_search`` and ``hls_solver``.

    Raises
    ------
    TypeError
        ``study`` is not an optuna.Study.
    ValueError
        A multi-objective or maximising study, no finished trial, other parameters, a
        best value that is not the validation MSE of its parameters, bad arrays (wrong
        shapes, NaN or inf) or bad settings; the message says what to change.
    """
    if not isinstance(study, optuna.Study):
        raise TypeError(f"study must be an optuna.Study; got {type(study).__name__}.")
    if len(study.directions) != 1:
        raise ValueError(f"hls_refine needs a single-objective study; {study.study_name!r} has "
                         f"{len(study.directions)} objectives.")
    if study.direction != optuna.study.StudyDirection.MINIMIZE:
        raise ValueError(f"hls_refine minimises the validation MSE; the study "
                         f"{study.study_name!r} maximises. Create it with "
                         "direction='minimize' and the MSE as its objective.")
    for name, value, options in (("formulation", formulation, FORMULATIONS),
                                 ("line_search", line_search, LINE_SEARCHES),
                                 ("solver", solver, SOLVER_NAMES)):
        if value not in options:
            raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}.")
    if not (isinstance(hls_steps, int | np.integer) and not isinstance(hls_steps, bool)
            and hls_steps >= 1):
        raise ValueError(f"hls_steps must be an integer >= 1; got {hls_steps!r}.")
    if log_hyperparameters and formulation != "exact":
        raise ValueError("log_hyperparameters=True needs formulation='exact'.")
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not finished:
        raise ValueError(f"the study {study.study_name!r} has no finished trial; run "
                         "study.optimize(...) first.")
    best = study.best_trial
    layout = _layout(study, best)
    l1, l2 = _start(layout, best.params)
    problem = ElasticNetProblem(X_train, y_train, X_val, y_val, solver=solver)
    start = problem.fit(l1, l2)
    start_mse = problem.val_mse(start)
    if not abs(start_mse - best.value) <= VALUE_RTOL * max(abs(best.value), abs(start_mse)):
        raise ValueError(
            f"the best trial's value {best.value!r} is not the validation MSE of an elastic "
            f"net fitted at its parameters on X_train, y_train ({start_mse!r}); hls_refine "
            "needs a study whose objective is that MSE on this data."
        )
    search = hls_search(problem, l1, l2, start, steps=hls_steps, line_search=line_search,
                        formulation=formulation, log_hyperparameters=log_hyperparameters)
    value = problem.val_mse(search.fit)
    if layout == ("l1", "l2"):
        params = {"l1": search.l1, "l2": search.l2}
    else:
        alpha, ratio = alpha_l1_ratio(search.l1, search.l2)
        params = {"alpha": alpha, "l1_ratio": ratio}
    distributions = {name: _widened(best.distributions[name], params[name]) for name in params}
    first = search.steps[0]
    user_attrs = {
        "hls_source": "hls",
        "hls_start_trial": best.number,
        "hls_start_l1": l1,
        "hls_start_l2": l2,
        "hls_l1": search.l1,
        "hls_l2": search.l2,
        "hls_direction": [float(v) for v in first.direction.d_lam],
        "hls_t_star": first.t,
        "hls_fits": search.n_fits,
        "hls_lp_status": first.direction.status,
        "hls_steps_taken": len(search.steps),
        "hls_stop_reason": search.stop_reason,
        "hls_formulation": formulation,
        "hls_line_search": line_search,
        "hls_solver": solver,
    }
    trial = optuna.trial.create_trial(params=params, distributions=distributions, value=value,
                                      user_attrs=user_attrs)
    study.add_trial(trial)
    for added in reversed(study.get_trials(deepcopy=False)):
        if added.user_attrs == user_attrs and added.value == value:
            return added
    raise RuntimeError("the trial hls_refine added is not in the study")  # a storage bug
