"""One hyper local search step: gradient -> constraint matrix -> LP -> line search -> refit.

Everything is computed on one ``ElasticNetProblem`` (training and validation splits,
their precomputation and the solver). Two line searches (``line_search``):

- ``"paper"``: the authors' search as METHOD.md describes it: every evaluation is a
  cold fit (t = 0 refitted), the golden section refits both interior points and stops
  at an absolute width of ~4e-6: 94 fits on house_price from (0.47, 0.04). With the
  "sklearn" solver each fit is scikit-learn's own estimator, as the authors call it,
  and the chosen point is refitted that way too.
- ``"fast"``: ``fast_line_search``: the same bracket, memoised, one new fit per
  golden-section iteration, a width relative to t; t = 0 is the start model itself
  (no fit); every fit is ``problem.fit``, one solver call on the precomputed Gram
  matrix; the LP is passed to HiGHS with ranged rows (the same solution, tested). With
  the "sklearn" solver every fit is cold (a warm start moves the loss by more than the
  bounding phase's first steps change it); with the "converged" solver each fit starts
  from the coefficients of the nearest t evaluated so far, which gives the same
  minimiser (to its duality gap) at a fraction of the cost.

Every reported loss is that of the fit at the reported (l1, l2) under the solver used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hyper_local_search._validation import check_start
from hyper_local_search.curvature_information import paper_constraint_matrix, validation_gradient
from hyper_local_search.direction_lp import Direction, solve_direction_lp
from hyper_local_search.exact_formulation import exact_direction
from hyper_local_search.line_search import LineSearchResult, fast_line_search, paper_line_search
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, fit_elastic_net

__all__ = [
    "EXACT_FACET_PAIRS",
    "FORMULATIONS",
    "HYPERPARAMETER_FLOOR",
    "LINE_SEARCHES",
    "Fitter",
    "HLSResult",
    "default_fitter",
    "hls_direction",
    "hls_step",
    "hyperparameters_along",
]

#: Hyperparameters along the search line are clipped at this floor (the paper's).
HYPERPARAMETER_FLOOR = 1e-10
#: The line searches an HLS step can use.
LINE_SEARCHES = ("fast", "paper")
#: The LP formulations: the authors' matrix, or scikit-learn's own optimality conditions.
FORMULATIONS = ("paper", "exact")
#: The exact LP bounds the hyperparameter step by a polygon with 2 * 16 sides instead of
#: the box: with the box its answer is always a corner, -sign(hypergradient) (45 degrees
#: off the descent direction in the worst case); with 32 sides it is within
#: pi / 32 (5.6 degrees) of -hypergradient (exact_formulation).
EXACT_FACET_PAIRS = 16

#: fit(l1, l2, coef_init) -> ElasticNetFit on the training split; coef_init None is cold.
Fitter = Callable[[float, float, "np.ndarray | None"], ElasticNetFit]


@dataclass(frozen=True)
class HLSResult:
    """Outcome of one HLS step.

    Attributes
    ----------
    l1, l2 : float
        Hyperparameters at the end of the step (the start's when the LP gave no direction).
    fit : ElasticNetFit
        The elastic net fitted at (l1, l2) under the problem's solver (the start model
        when nothing moved).
    direction : Direction
        The LP's answer; ``direction.status`` is the step's status.
    line_search : LineSearchResult or None
        None when the LP gave no usable direction.
    n_fits : int
        Elastic-net fits spent: the line search's, plus the final refit where one is made.
    clipped : bool
        True if the end point sits on the HYPERPARAMETER_FLOOR in some coordinate.
    n_unconverged_fits : int
        Line-search fits that stopped at max_iter before reaching tol.
    n_nonfinite_losses : int
        Line-search points whose validation loss was NaN or infinite.
    """

    l1: float
    l2: float
    fit: ElasticNetFit
    direction: Direction
    line_search: LineSearchResult | None
    n_fits: int
    clipped: bool
    n_unconverged_fits: int = 0
    n_nonfinite_losses: int = 0

    @property
    def t(self) -> float:
        """Step length along the unit direction (0.0 when nothing moved)."""
        return 0.0 if self.line_search is None else self.line_search.t


def hyperparameters_along(
    lam0: np.ndarray, d_lam: np.ndarray, t: float, *, log: bool = False
) -> np.ndarray:
    """The point of shape (2,) at step t on the search line.

    lam(t) = max(lam0 + t * d_lam, floor), or with ``log`` (d_lam a direction in
    (log l1, log l2)) lam(t) = max(lam0 * exp(t * d_lam), floor).

    Parameters
    ----------
    lam0 : ndarray of shape (2,)
        The start (l1, l2).
    d_lam : ndarray of shape (2,)
        The direction, in (l1, l2) or, with ``log``, in (log l1, log l2).
    t : float
        Step along the line.
    log : bool
        Move in (log l1, log l2).
    """
    moved = lam0 * np.exp(t * d_lam) if log else lam0 + t * d_lam
    return np.maximum(moved, HYPERPARAMETER_FLOOR)


class _ValidationLossAlongLine:
    """t -> validation MSE of the elastic net fitted at lam(t); counts its fits.

    ``reuse_start``: t = 0 is answered by the start model, without a fit.
    ``warm_start``: each fit starts from the coefficients of the nearest t evaluated so
    far (only for a solver whose answer does not depend on its start).
    """

    def __init__(self, problem, fit, lam0, d_lam, start, *, reuse_start, warm_start, log):
        self._problem, self._fit = problem, fit
        self._lam0, self._d_lam, self._log = lam0, d_lam, log
        self._reuse_start, self._warm_start = reuse_start, warm_start
        self.fits: dict[float, ElasticNetFit] = {0.0: start}
        self._start_loss = problem.val_mse(start)
        self.n_fits = 0
        self.n_unconverged = 0
        self.n_nonfinite = 0

    def __call__(self, t: float) -> float:
        if self._reuse_start and t == 0.0:
            return self._start_loss
        coef_init = None
        if self._warm_start:
            coef_init = self.fits[min(self.fits, key=lambda s: abs(s - t))].coef
        lam = hyperparameters_along(self._lam0, self._d_lam, t, log=self._log)
        fit = self._fit(float(lam[0]), float(lam[1]), coef_init)
        self.n_fits += 1
        self.n_unconverged += not fit.converged
        self.fits[t] = fit
        value = self._problem.val_mse(fit)
        self.n_nonfinite += not np.isfinite(value)
        return value


def default_fitter(problem: ElasticNetProblem, line_search: str) -> Fitter:
    """How an HLS step fits when the caller gives no fitter.

    ``problem.fit`` (its solver, one kernel call), except for the paper's line search
    with the "sklearn" solver: scikit-learn's own estimator on the raw training split,
    as the authors fit.

    Parameters
    ----------
    problem : ElasticNetProblem
    line_search : {"fast", "paper"}
    """
    if line_search == "paper" and problem.solver.name == "sklearn":
        X_train, y_train, solver = problem.X_train, problem.y_train, problem.solver

        def fit(l1: float, l2: float, coef_init: np.ndarray | None) -> ElasticNetFit:
            return fit_elastic_net(X_train, y_train, l1, l2, coef_init=coef_init,
                                   tol=solver.tol, max_iter=solver.max_iter)

        return fit

    def fit(l1: float, l2: float, coef_init: np.ndarray | None) -> ElasticNetFit:
        return problem.fit(l1, l2, coef_init=coef_init)

    return fit


def hls_direction(
    problem: ElasticNetProblem,
    l1: float,
    l2: float,
    start: ElasticNetFit,
    *,
    formulation: str = "paper",
    log_hyperparameters: bool = False,
    lp_method: str = "reference",
) -> Direction:
    """The LP's hyperparameter direction at the model ``start`` fitted at (l1, l2).

    "paper": the authors' matrix (curvature_information); "exact": scikit-learn's own
    optimality conditions on the active set, scaled for the solver, with the
    hyperparameter step bounded by a 32-gon (exact_formulation, EXACT_FACET_PAIRS), in
    (l1, l2) or, with ``log_hyperparameters``, in (log l1, log l2).

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits.
    l1, l2 : float
        Hyperparameters at which ``start`` was fitted.
    start : ElasticNetFit
    formulation : {"paper", "exact"}
    log_hyperparameters : bool
        Exact formulation only.
    lp_method : {"reference", "ranged"}
        How HiGHS is handed the LP (``solve_direction_lp``'s ``method``).
    """
    check_start("hls_direction", problem, l1, l2, start)
    if formulation == "paper":
        if log_hyperparameters:
            raise ValueError("log_hyperparameters needs the exact formulation")
        gradient = validation_gradient(problem.X_val, problem.y_val, start.coef, start.intercept)
        H = paper_constraint_matrix(problem, start.coef, l2)
        return solve_direction_lp(gradient, H, method=lp_method)
    if formulation == "exact":
        return exact_direction(
            problem, start, l1, l2, log_hyperparameters=log_hyperparameters,
            method=lp_method, facet_pairs=EXACT_FACET_PAIRS,
        )
    raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")


def hls_step(
    problem: ElasticNetProblem,
    l1: float,
    l2: float,
    start: ElasticNetFit,
    *,
    line_search: str = "paper",
    fitter: Fitter | None = None,
    formulation: str = "paper",
    log_hyperparameters: bool = False,
) -> HLSResult:
    """One HLS step from the model ``start`` fitted at (l1, l2).

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits, and the solver of every fit.
    l1, l2 : float
        Starting hyperparameters (the Optuna study's best).
    start : ElasticNetFit
        The elastic net fitted on the training split at (l1, l2).
    line_search : {"paper", "fast"}
        See the module docstring.
    fitter : callable (l1, l2, coef_init) -> ElasticNetFit, optional
        How the step fits the training split; default ``default_fitter(problem,
        line_search)``. Pass one to count fits against a budget.
    formulation : {"paper", "exact"}
        The LP's constraint matrix (see ``hls_direction``).
    log_hyperparameters : bool
        Search along a direction in (log l1, log l2) (exact formulation only).

    Returns
    -------
    HLSResult
        A failed LP is not an error: the result keeps the start model and says why.
    """
    check_start("hls_step", problem, l1, l2, start)
    if line_search not in LINE_SEARCHES:
        raise ValueError(f"line_search must be one of {LINE_SEARCHES}, got {line_search!r}")
    fast = line_search == "fast"
    direction = hls_direction(
        problem, l1, l2, start, formulation=formulation,
        log_hyperparameters=log_hyperparameters, lp_method="ranged" if fast else "reference",
    )
    if not direction.ok:
        return HLSResult(l1, l2, start, direction, None, 0, False)

    lam0 = np.array([l1, l2], dtype=np.float64)
    if fitter is None:
        fitter = default_fitter(problem, line_search)
    loss = _ValidationLossAlongLine(
        problem, fitter, lam0, direction.d_lam, start,
        reuse_start=fast, warm_start=problem.solver.warm_start, log=log_hyperparameters,
    )
    search = fast_line_search(loss) if fast else paper_line_search(loss)
    counts = {"n_unconverged_fits": loss.n_unconverged, "n_nonfinite_losses": loss.n_nonfinite}
    if fast and search.t == 0.0:
        return HLSResult(l1, l2, start, direction, search, loss.n_fits, False, **counts)
    lam = hyperparameters_along(lam0, direction.d_lam, search.t, log=log_hyperparameters)
    clipped = bool(np.any(lam <= HYPERPARAMETER_FLOOR))
    if fast:
        return HLSResult(float(lam[0]), float(lam[1]), loss.fits[search.t], direction, search,
                         loss.n_fits, clipped, **counts)
    fit = fitter(float(lam[0]), float(lam[1]), None)  # the authors' final refit (cold)
    return HLSResult(float(lam[0]), float(lam[1]), fit, direction, search, loss.n_fits + 1,
                     clipped, **counts)
