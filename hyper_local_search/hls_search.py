"""Multi-step HLS: direction + line search, repeated from each new point.

``--hls-steps K`` repeats the HLS step from the model it ends at, until K steps are
done, a step improves the validation MSE by less than ``min_relative_improvement``,
or the LP gives no direction. The default threshold follows the solver's accuracy:
with scikit-learn's tol = 1e-4 the loss along a line is a sawtooth at about 1e-5
relative (METHOD.md), so smaller gains are noise (``MIN_RELATIVE_IMPROVEMENT``); with
the converged solver (relative duality gap 1e-9) the loss is smooth to about 1e-8
(``MIN_RELATIVE_IMPROVEMENT_CONVERGED``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hyper_local_search._validation import check_start
from hyper_local_search.hls_step import Fitter, HLSResult, hls_step
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem

__all__ = [
    "MIN_RELATIVE_IMPROVEMENT",
    "MIN_RELATIVE_IMPROVEMENT_CONVERGED",
    "HLSSearchResult",
    "hls_search",
]

#: A step must lower the validation MSE by this fraction to count as progress
#: (scikit-learn's solver; the converged one uses the second constant).
MIN_RELATIVE_IMPROVEMENT = 1e-5
MIN_RELATIVE_IMPROVEMENT_CONVERGED = 1e-8


@dataclass(frozen=True)
class HLSSearchResult:
    """Outcome of up to K HLS steps.

    Attributes
    ----------
    start_l1, start_l2 : float
        Where the search started.
    steps : tuple of HLSResult
        Every step taken, in order (a step that did not improve enough is included).
    l1, l2 : float
        The best point reached (the start if no step improved).
    fit : ElasticNetFit
        Its model.
    n_fits : int
        Elastic-net fits spent over all steps.
    stop_reason : str
        "steps" (K done), "no_improvement", or "lp <status>".
    """

    start_l1: float
    start_l2: float
    steps: tuple[HLSResult, ...]
    l1: float
    l2: float
    fit: ElasticNetFit
    n_fits: int
    stop_reason: str

    @property
    def path(self) -> list[tuple[float, float]]:
        """(l1, l2) of the start and of each step's end."""
        return [(self.start_l1, self.start_l2)] + [(step.l1, step.l2) for step in self.steps]


def hls_search(
    problem: ElasticNetProblem,
    l1: float,
    l2: float,
    start: ElasticNetFit,
    *,
    steps: int = 1,
    line_search: str = "fast",
    fitter: Fitter | None = None,
    formulation: str = "paper",
    log_hyperparameters: bool = False,
    min_relative_improvement: float | None = None,
) -> HLSSearchResult:
    """Up to ``steps`` HLS steps, each from the end of the previous one.

    With ``steps=1`` this is one HLS step exactly.

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits, and the solver.
    l1, l2 : float
        Starting hyperparameters.
    start : ElasticNetFit
        The elastic net fitted on the training split at (l1, l2).
    steps : int
        At most this many HLS steps, >= 1.
    line_search, fitter, formulation, log_hyperparameters
        As for ``hls_step``, passed to every step.
    min_relative_improvement : float, optional
        A step must lower the validation MSE by this fraction to go on; None takes the
        solver's default (module docstring).
    """
    check_start("hls_search", problem, l1, l2, start)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be at least 1 (an integer), got {steps!r}")
    if min_relative_improvement is None:
        min_relative_improvement = (MIN_RELATIVE_IMPROVEMENT_CONVERGED
                                    if problem.solver.name == "converged"
                                    else MIN_RELATIVE_IMPROVEMENT)
    taken: list[HLSResult] = []
    current_l1, current_l2, current_fit = l1, l2, start
    current_val = problem.val_mse(start)
    n_fits, stop_reason = 0, "steps"
    for _ in range(steps):
        step = hls_step(
            problem, current_l1, current_l2, current_fit,
            line_search=line_search, fitter=fitter, formulation=formulation,
            log_hyperparameters=log_hyperparameters,
        )
        taken.append(step)
        n_fits += step.n_fits
        if not step.direction.ok:
            stop_reason = f"lp {step.direction.status}"
            break
        step_val = problem.val_mse(step.fit)
        improved_enough = step_val < current_val * (1.0 - min_relative_improvement)
        if step_val < current_val:
            current_l1, current_l2, current_fit, current_val = step.l1, step.l2, step.fit, step_val
        if not improved_enough:
            stop_reason = "no_improvement"
            break
    return HLSSearchResult(l1, l2, tuple(taken), current_l1, current_l2, current_fit, n_fits,
                           stop_reason)
