"""The direction LP of one HLS step, solved with HiGHS and checked against its constraints.

Over d = (d_lam, d_theta), d_lam = (d_l1, d_l2) and d_theta = (d_w, d_b):

    minimise    g . d_theta
    subject to  -delta <= H d <= delta            (element-wise)
                -1 <= d_lam_i <= 1,  -100 <= d_theta_j <= 100,

where g is the validation gradient and H the constraint matrix (curvature_information).
The authors scale the objective by 1e4 and the constraints by 1e5 for their solver; the
scaled problem has the same solutions, and we pass it to HiGHS the same way.

Two ways to hand the rows to HiGHS (``solve_direction_lp(..., method=...)``):
"reference" passes -delta <= H d <= delta as 2 n_params one-sided rows
[H; -H] d <= delta through ``scipy.optimize.linprog`` (presolve on, HiGHS's default);
"ranged" passes each row once with both bounds through ``scipy.optimize.milp`` with no
integer variables (HiGHS then runs its LP solver), presolve off, which is about twice
as fast on the paper's house-price LP (see benchmarks/bench_kernels.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
METHODS = ("reference", "ranged")


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
    method : {"reference", "ranged"}
        "reference": the rows as [H; -H] d <= delta through ``linprog``; "ranged": each
        row once as -delta <= H d <= delta through ``milp`` without integer variables.
        Both solve the same LP; where it has several optimal vertices they may return
        different ones (same objective).
    presolve : bool or None
        Run HiGHS's presolve; None takes the method's default (on for "reference",
        off for "ranged", the faster setting of each).

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
    c = OBJECTIVE_SCALE * np.concatenate([np.zeros(n_hyper), gradient])
    if method == "reference":
        result = _solve_reference(c, H, n_hyper, delta, presolve)
    else:
        result = _solve_ranged(c, H, n_hyper, delta, presolve)
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
        return linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    return linprog(
        c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs", options={"presolve": presolve}
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
    options = {"presolve": False if presolve is None else presolve}
    return milp(c, constraints=rows, bounds=Bounds(-upper, upper), options=options)
