"""The direction LP of one HLS step, solved with HiGHS and checked against its constraints.

Over d = (d_lam, d_theta), d_lam = (d_l1, d_l2) and d_theta = (d_w, d_b):

    minimise    g . d_theta
    subject to  -delta <= H d <= delta            (element-wise)
                -1 <= d_lam_i <= 1,  -100 <= d_theta_j <= 100,

where g is the validation gradient and H the constraint matrix (curvature_information).
The authors scale the objective by 1e4 and the constraints by 1e5 for their solver; the
scaled problem has the same solutions, and we pass it to HiGHS the same way.

Three ways to solve it (``solve_direction_lp(..., method=...)``):
"reference" passes -delta <= H d <= delta as 2 n_params one-sided rows
[H; -H] d <= delta through ``scipy.optimize.linprog`` (presolve on, HiGHS's default);
"ranged" passes each row once with both bounds through ``scipy.optimize.milp`` with no
integer variables (HiGHS then runs its LP solver), presolve off, which is about twice
as fast on the paper's house-price LP; "structured" uses the block structure
H = [A | M] (A the n_hyper hyperparameter columns, M the square (w, b) block):

    with r = H d, i.e. d_theta = M^-1 (r - A d_lam), the LP is, over (d_lam, r),
    minimise  u . r - (A^T u) . d_lam     (u = M^-T g)
    subject to  |r_i| <= delta,  |d_lam_k| <= 1,  |(M^-1 (r - A d_lam))_j| <= 100,

a box plus n_params rows of which only a handful bind at the optimum (at the paper's
house-price starts: one). It is solved by constraint generation: the box's own optimum
(r = -delta sign(u), d_lam = sign(A^T u)) is checked against the rows; the most violated
rows (``STRUCTURED_ROWS_PER_ROUND`` per round) are added to a small LP over the box
(HiGHS, ranged rows) until its answer violates none. A relaxation's optimum that is
feasible is optimal: it is the same LP's answer, with one LU factorisation of M and an
LP of a few rows instead of n_params (about 8 ms instead of 60 on house_price). Where M
is singular or ill-conditioned (reciprocal condition number below
``STRUCTURED_MIN_RCOND``, e.g. the grid sampler's start l2 = 1e-10), where the rounds run
out, or where the answer fails the check against the original rows and bounds, the
full LP is solved as "ranged" does (the message says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, lapack, lu_factor, lu_solve
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp

__all__ = [
    "CHECK_ATOL",
    "CONSTRAINT_SCALE",
    "DELTA",
    "HYPER_BOUND",
    "METHODS",
    "OBJECTIVE_SCALE",
    "PARAM_BOUND",
    "Direction",
    "constraint_violation",
    "solve_direction_lp",
]

#: Half-width of the linearised-optimality band, in the units of H d.
DELTA = 1e-4
#: Bounds on the hyperparameter and on the model-parameter components of d.
HYPER_BOUND = 1.0
PARAM_BOUND = 100.0
#: The authors' scaling of the objective and of the constraint rows.
OBJECTIVE_SCALE = 1e4
CONSTRAINT_SCALE = 1e5
#: Absolute slack allowed when re-checking a reported solution against its rows and
#: bounds (1% of the band DELTA; HiGHS's own tolerance is far tighter).
CHECK_ATOL = 1e-6
#: The ways to pass the LP to HiGHS (see the module docstring).
METHODS = ("reference", "ranged", "structured")
#: "structured": M's reciprocal condition number (1-norm estimate) below which the full
#: LP is solved instead (M^-1's rounding would reach the check's tolerance).
STRUCTURED_MIN_RCOND = 1e-8
#: "structured": rows added per round, and the most rounds before the full LP is solved.
STRUCTURED_ROWS_PER_ROUND = 4
STRUCTURED_MAX_ROUNDS = 25
#: "structured": a row counts as violated above PARAM_BOUND * (1 + this).
STRUCTURED_ROW_RTOL = 1e-9


@dataclass(frozen=True)
class Direction:
    """The solution of the direction LP.

    Attributes
    ----------
    status : str
        "optimal"; "infeasible", "unbounded", "failed" (HiGHS's own verdicts); or
        "inaccurate" when HiGHS said optimal but the answer breaks a constraint or a
        bound by more than the check's tolerance; "zero_direction" when the
        hyperparameter part of the answer is zero; "non_finite_input" when the
        gradient or H has NaN or infinite entries (the solver is not called).
    d_lam : ndarray of shape (2,)
        Unit-length hyperparameter direction (zeros unless status is "optimal").
    d_raw : ndarray of shape (n_hyper + n_params,) or None
        The LP's full solution before normalisation.
    objective : float
        g . d_theta at the solution (unscaled), nan without a solution.
    max_violation : float
        Largest violation of a row or bound (0 when all hold), nan without a solution.
    message : str
        The solver's message.
    """

    status: str
    d_lam: np.ndarray
    d_raw: np.ndarray | None
    objective: float
    max_violation: float
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "optimal"


_HIGHS_STATUS = {0: "optimal", 1: "failed", 2: "infeasible", 3: "unbounded", 4: "failed"}
#: Seconds HiGHS may spend on one LP (they take 0.01-0.7 s here); past it the LP counts as
#: failed (status 1, "Time limit reached") and the step keeps its start, so a solver
#: that cycles on a near-singular LP (seen with scipy 1.13's HiGHS) cannot hang a run.
LP_TIME_LIMIT = 60.0


def constraint_violation(
    H: np.ndarray, d: np.ndarray, n_hyper: int, *, delta: float = DELTA
) -> float:
    """Largest violation of the LP's rows and bounds by d (0.0 when d is feasible).

    Parameters
    ----------
    H : ndarray of shape (n_params, n_hyper + n_params)
    d : ndarray of shape (n_hyper + n_params,)
    n_hyper : int
        Number of hyperparameter components at the front of d.
    delta : float
        Bound of the LP's rows, ``|H d| <= delta``.
    """
    rows = np.abs(H @ d) - delta
    hyper = np.abs(d[:n_hyper]) - HYPER_BOUND
    params = np.abs(d[n_hyper:]) - PARAM_BOUND
    return float(max(0.0, rows.max(), hyper.max(), params.max()))


def solve_direction_lp(
    gradient: np.ndarray,
    H: np.ndarray,
    *,
    delta: float = DELTA,
    method: str = "reference",
    presolve: bool | None = None,
) -> Direction:
    """Solve the direction LP with HiGHS and verify its answer.

    Parameters
    ----------
    gradient : ndarray of shape (n_params,)
        Validation gradient with respect to the model parameters theta.
    H : ndarray of shape (n_params, n_hyper + n_params)
        Constraint matrix, hyperparameter columns first.
    delta : float
        Half-width of the band on H d.
    method : {"reference", "ranged", "structured"}
        "reference": the rows as [H; -H] d <= delta through ``linprog``; "ranged": each
        row once as -delta <= H d <= delta through ``milp`` without integer variables;
        "structured": the reduced LP of the module docstring (falling back to "ranged").
        All solve the same LP; where it has several optimal vertices they may return
        different ones (same objective).
    presolve : bool or None
        Run HiGHS's presolve; None takes the method's default (on for "reference",
        off for "ranged", the faster setting of each). "structured" ignores it except
        when it falls back to the full LP.

    Returns
    -------
    Direction
        Never raises for a numerical failure: the status says what happened.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    n_params = gradient.shape[0]
    n_hyper = H.shape[1] - n_params
    if not (np.isfinite(gradient).all() and np.isfinite(H).all()):
        return Direction("non_finite_input", np.zeros(n_hyper), None, np.nan, np.nan,
                         "the gradient or the constraint matrix has NaN or infinite entries")
    prefix = ""
    if method == "structured":
        structured = _solve_structured(gradient, H, n_hyper, delta)
        if isinstance(structured, OptimizeResult):
            direction = _checked_direction(structured, gradient, H, n_hyper, delta)
            if direction.status in ("optimal", "zero_direction"):
                return direction
            reason = f"its answer was {direction.status}"
        else:
            reason = structured
        prefix = f"structured LP not used ({reason}): full LP. "
        method = "ranged"
    c = OBJECTIVE_SCALE * np.concatenate([np.zeros(n_hyper), gradient])
    if method == "reference":
        result = _solve_reference(c, H, n_hyper, delta, presolve)
    else:
        result = _solve_ranged(c, H, n_hyper, delta, presolve)
    if prefix:
        result.message = prefix + str(result.message)
    return _checked_direction(result, gradient, H, n_hyper, delta)


def _checked_direction(result: OptimizeResult, gradient: np.ndarray, H: np.ndarray,
                       n_hyper: int, delta: float) -> Direction:
    """A solver's answer as a Direction, re-checked against the LP's rows and bounds."""
    status = _HIGHS_STATUS.get(result.status, "failed")
    no_direction = np.zeros(n_hyper)
    if status != "optimal" or result.x is None:
        return Direction(status, no_direction, None, np.nan, np.nan, result.message)

    d = np.asarray(result.x, dtype=np.float64)
    violation = constraint_violation(H, d, n_hyper, delta=delta)
    objective = float(gradient @ d[n_hyper:])
    if violation > CHECK_ATOL:
        return Direction("inaccurate", no_direction, d, objective, violation, result.message)
    d_lam = d[:n_hyper]
    norm = float(np.linalg.norm(d_lam))
    if norm == 0.0:
        return Direction("zero_direction", no_direction, d, objective, violation, result.message)
    return Direction("optimal", d_lam / norm, d, objective, violation, result.message)


def _solve_reference(
    c: np.ndarray, H: np.ndarray, n_hyper: int, delta: float, presolve: bool | None
) -> OptimizeResult:
    """The LP with its two-sided rows split into [H; -H] d <= delta, by ``linprog``."""
    n_params = H.shape[0]
    A_ub = CONSTRAINT_SCALE * np.vstack([H, -H])
    b_ub = np.full(2 * n_params, CONSTRAINT_SCALE * delta)
    bounds = [(-HYPER_BOUND, HYPER_BOUND)] * n_hyper + [(-PARAM_BOUND, PARAM_BOUND)] * n_params
    if presolve is None:  # exactly the call of the first implementation
        return linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs",
                       options={"time_limit": LP_TIME_LIMIT})
    return linprog(
        c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs",
        options={"presolve": presolve, "time_limit": LP_TIME_LIMIT}
    )


def _solve_ranged(
    c: np.ndarray, H: np.ndarray, n_hyper: int, delta: float, presolve: bool | None
) -> OptimizeResult:
    """The LP with ranged rows -delta <= H d <= delta, by ``milp`` with no integers.

    ``milp`` maps HiGHS's model status to the same codes as ``linprog`` (0 optimal,
    1 limit reached, 2 infeasible, 3 unbounded, 4 other).
    """
    n_params = H.shape[0]
    upper = np.concatenate([np.full(n_hyper, HYPER_BOUND), np.full(n_params, PARAM_BOUND)])
    rows = LinearConstraint(
        CONSTRAINT_SCALE * H, -CONSTRAINT_SCALE * delta, CONSTRAINT_SCALE * delta
    )
    options = {"presolve": False if presolve is None else presolve,
               "time_limit": LP_TIME_LIMIT}
    return milp(c, constraints=rows, bounds=Bounds(-upper, upper), options=options)


def _solve_structured(
    gradient: np.ndarray, H: np.ndarray, n_hyper: int, delta: float
) -> OptimizeResult | str:
    """The LP by constraint generation over (d_lam, r = H d) (module docstring).

    Returns an OptimizeResult whose ``x`` is d = (d_lam, d_theta) in the LP's own
    variables, or a string saying why the full LP is needed instead.
    """
    n_params = H.shape[0]
    A, M = H[:, :n_hyper], H[:, n_hyper:]
    try:
        lu = lu_factor(M, check_finite=False)
    except (LinAlgError, ValueError):
        return "M could not be factorised"
    rcond, info = lapack.dgecon(lu[0], float(np.abs(M).sum(axis=0).max()), norm="1")
    if info != 0 or not rcond >= STRUCTURED_MIN_RCOND:
        return f"M is ill-conditioned, reciprocal condition number {rcond:.1e}"
    u = lu_solve(lu, gradient, trans=1, check_finite=False)
    hyper_cost = -(A.T @ u)  # objective: hyper_cost . d_lam + delta * u . s, s = r / delta
    # The box optimum (each variable at the bound its cost points to), then the rows.
    d_lam = -HYPER_BOUND * np.sign(hyper_cost)
    s = -np.sign(u)
    scale = delta * float(np.abs(u).max(initial=0.0))
    if scale == 0.0:
        scale = 1.0
    cost = np.concatenate([hyper_cost, delta * u]) / scale
    upper = np.concatenate([np.full(n_hyper, HYPER_BOUND), np.ones(n_params)])
    rows = np.zeros((0, n_hyper + n_params))
    in_lp = np.zeros(n_params, dtype=bool)
    message = "box optimum feasible"
    for rounds in range(STRUCTURED_MAX_ROUNDS + 1):
        d_theta = lu_solve(lu, delta * s - A @ d_lam, check_finite=False)
        excess = np.abs(d_theta) - PARAM_BOUND * (1.0 + STRUCTURED_ROW_RTOL)
        violated = np.flatnonzero((excess > 0.0) & ~in_lp)
        if violated.size == 0:
            return OptimizeResult(
                status=0, x=np.concatenate([d_lam, d_theta]),
                message=f"structured LP: {message}; M factorised once (rcond {rcond:.1e}), "
                        f"{int(in_lp.sum())} of {n_params} d_theta rows generated")
        if rounds == STRUCTURED_MAX_ROUNDS:
            break
        new = violated[np.argsort(-excess[violated])[:STRUCTURED_ROWS_PER_ROUND]]
        in_lp[new] = True
        # d_theta_j = Z_j . (delta s - A d_lam) with Z_j the j-th row of M^-1.
        Z = lu_solve(lu, np.eye(n_params)[:, new], trans=1, check_finite=False).T
        rows = np.vstack([rows, np.hstack([-(Z @ A), delta * Z])])
        result = milp(cost, constraints=LinearConstraint(rows, -PARAM_BOUND, PARAM_BOUND),
                      bounds=Bounds(-upper, upper),
                      options={"presolve": False, "time_limit": LP_TIME_LIMIT})
        if result.status != 0 or result.x is None:
            return f"the reduced LP ended with HiGHS status {result.status}: {result.message}"
        d_lam, s = result.x[:n_hyper], result.x[n_hyper:]
        message = f"{rounds + 1} round(s) of HiGHS ({result.message})"
    return f"{STRUCTURED_MAX_ROUNDS} rounds did not reach a feasible answer"
