"""The exact direction LP: scikit-learn's own optimality conditions, linearised and scaled.

The paper's constraint matrix (curvature_information.paper_constraint_matrix) mixes the
2 / n scaling of the plain MSE with scikit-learn's 1 / (2 n) objective, treats zero
weights as free and puts a ridge term on the bias. Here the lower level is the problem
scikit-learn actually solves,

    min_{w, b}  (1 / (2 n)) ||y - X w - b||^2 + l1 ||w||_1 + (l2 / 2) ||w||^2,

the intercept unpenalised. At a solution with active set A = {j : w_j != 0} and signs
s_A = sign(w_A), the active weights and the bias are stationary,

    G_A = (1 / n) X_A^T (X_A w_A + b - y) + l1 s_A + l2 w_A = 0,
    G_b = (1 / n) 1^T (X_A w_A + b - y) = 0,

and the inactive weights stay at zero as long as the active set does not change. The
constraint matrix is the Jacobian of (G_A, G_b) with respect to (l1, l2, w_A, b):

    H = [ s_A  w_A | K ],   K = (1 / n) [X_A 1]^T [X_A 1] + l2 diag(1, ..., 1, 0),

of shape (|A| + 1, 2 + |A| + 1) (``exact_constraint_matrix``); with
``log_hyperparameters`` its first two columns are with respect to (log l1, log l2),
i.e. multiplied by l1 and l2.

Scaling (``exact_direction_problem``). The direction LP of direction_lp,

    minimise g . d_theta  s.t.  -delta <= H d <= delta,  |d_lam| <= 1,  |d_theta| <= 100,

is not scale-invariant: on house_price the rows of H are in dollars, the validation
gradient g in dollars too, and a d/dl2 column w of ~1e4 dollars makes the response of
the weights to a unit step in l2 about 2.6e5 dollars. Passed unscaled, the +-100 box
on d_theta binds, caps d_l2 near 5e-4, and the LP returns (+-1, small): nearly
orthogonal to the descent direction (cosine 4e-3 with -hypergradient at the paper's
start (0.47, 0.04) on house_price, 3e-4 on california_housing). Two observations fix it:

1. K is nonsingular (positive definite for l2 > 0), so the band alone bounds d_theta
   given d_lam; the box on d_theta only keeps the paper's LP bounded where its block
   is singular. Eliminating d_theta = K^{-1} (e - H_lam d_lam), |e| <= delta, the LP
   becomes, while the box on d_theta is inactive,

       minimise  hypergradient . d_lam  +  g . K^{-1} e   over |d_lam| <= 1, |e| <= delta,

   (hypergradient = -H_lam^T K^{-1} g, the implicit hypergradient of hypergradient.py),
   which separates: the band slack e no longer touches d_lam, and d_lam is the corner
   -sign(hypergradient) of the box, the steepest descent direction of the linearised
   bilevel problem for the infinity norm.
2. So the scaling has one job: keep the d_theta box inactive at every feasible point,
   whatever the units. Columns: d_lam stays in its own units (an isotropic box, so the
   corner is the infinity-norm steepest descent in the space the direction is reported
   in: lam, or log lam); each theta_j is measured in units of its largest linear
   response to a move in that box, r_j = |J_j1| + |J_j2| with J = dtheta_A/dlam =
   -K^{-1} H_lam (floored at RESPONSE_FLOOR * max r), so the response uses at most 1 of
   the box's 100. Rows: equilibrated to unit infinity norm (the band delta is then
   relative to each row's size), then all multiplied by one band factor >= 1 that
   narrows the band until the slack K^{-1} e it admits is at most SLACK_BOUND = 0.01 in
   the same units. Every feasible d then has |d_theta_j| <= 1.01 response units, 1% of
   the box, and d_theta is the linear response J d_lam to within 1%; the LP's
   hyperparameter answer is the sign vector above, independent of the data's units.
   The objective is g times the column scales, divided by its largest entry.
   Measured band factors: 1 (small data, diabetes, california_housing), 20-210
   (house_price), 1.2e3-2.7e3 (simulation). The factor is capped at MAX_BAND_FACTOR
   (HiGHS's row violations grow with it; see the constant); where K is so
   ill-conditioned that the cap binds (house_price at l2 = 1e-10, e.g. the grid
   sampler's start (1, 1e-10)), the band admits more slack (``max_slack``), and
   ``exact_direction`` returns status "ill_conditioned" without solving when that
   slack could reach the box (at (1, 1e-10) HiGHS otherwise spends 16 s and fails),
   and "box_active" if a solution reaches the box all the same; a solution that does
   not reach it is also optimal without the box, so the argument of 1. applies.

The answer is a descent direction of the validation loss wherever the hypergradient is
(its inner product with the hypergradient is -||hypergradient||_1 in box units), but a
box corner is a coarse approximation of -hypergradient: cosine 1 / sqrt(2) when one
component dominates. ``facet_pairs`` replaces the box on d_lam by the regular polygon
with 2 * facet_pairs sides circumscribing the unit disk (facet_pairs = 2: the box; the
extra facets are extra rows |cos(phi_k) d_l1 + sin(phi_k) d_l2| <= 1 with a zero column
each so that direction_lp's square row/column layout holds); its optimal vertex is
within pi / (2 * facet_pairs) of -hypergradient.

Scaling needs J, one Cholesky factorisation of K (the hypergradient needs the same),
and the inverse of K for the band. A singular K (hypergradient.solve_parameter_block)
falls back to the pseudo-inverse; the box on d_theta then keeps the LP bounded, the
guarantee above does not hold (``ExactDirectionProblem.singular``), and
``exact_direction``'s check decides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hyper_local_search.curvature_information import validation_gradient
from hyper_local_search.direction_lp import DELTA, PARAM_BOUND, Direction, solve_direction_lp
from hyper_local_search.hypergradient import (
    active_set,
    hyperparameter_columns,
    parameter_block,
    solve_parameter_block,
)
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem

__all__ = [
    "BOX_ACTIVE_FRACTION",
    "MAX_BAND_FACTOR",
    "RESPONSE_FLOOR",
    "SLACK_BOUND",
    "ExactDirectionProblem",
    "exact_constraint_matrix",
    "exact_direction",
    "exact_direction_problem",
    "exact_stationarity",
]

#: Smallest column scale of a model parameter, relative to the largest response scale
#: (parameters that barely respond to the hyperparameters still get a box 1e-3 as wide).
RESPONSE_FLOOR = 1e-3
#: Largest d_theta the band slack may produce, in response units (the LP's box is 100).
SLACK_BOUND = 0.01
#: Cap on the band factor: beyond ~1e7 HiGHS's answers break the rows by more than
#: direction_lp's CHECK_ATOL (measured on house_price and simulation: 4e-7 at 1e6).
MAX_BAND_FACTOR = 1e5
#: exact_direction reports "box_active" when some |u_theta| reaches this share of the box.
BOX_ACTIVE_FRACTION = 0.999


def exact_stationarity(
    X: np.ndarray,
    y: np.ndarray,
    l1: float,
    l2: float,
    w: np.ndarray,
    b: float,
    active: np.ndarray,
) -> np.ndarray:
    """Stationarity residual (G_A, G_b) of scikit-learn's elastic-net objective.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    l1 : float
    l2 : float
    w : ndarray of shape (n_features,)
        Only w[active] is read: the inactive weights are held at zero.
    b : float
    active : ndarray of int of shape (n_active,)
        The active set A (or a boolean mask of shape (n_features,)).

    Returns
    -------
    G : ndarray of shape (n_active + 1,)
        (1 / n) X_A^T r + l1 sign(w_A) + l2 w_A, then (1 / n) sum(r), with
        r = X_A w_A + b - y; in target units (the gradient of the objective).
    """
    X_active = X[:, active]
    w_active = w[active]
    residual = X_active @ w_active + b - y
    n_samples = y.shape[0]
    G_active = X_active.T @ residual / n_samples + l1 * np.sign(w_active) + l2 * w_active
    return np.append(G_active, residual.sum() / n_samples)


def exact_constraint_matrix(
    problem: ElasticNetProblem,
    w: np.ndarray,
    l1: float,
    l2: float,
    *,
    log_hyperparameters: bool = False,
    active_tol: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Jacobian of `exact_stationarity` with respect to (l1, l2, w_A, b).

    Parameters
    ----------
    problem : ElasticNetProblem
        The training split.
    w : ndarray of shape (n_features,)
        Weights of the elastic net at (l1, l2); their nonzeros define the active set.
    l1 : float
    l2 : float
    log_hyperparameters : bool
        First two columns with respect to (log l1, log l2) instead (times l1, l2).
    active_tol : float
        Weights with |w_j| <= active_tol are inactive (see hypergradient.active_set).

    Returns
    -------
    H : ndarray of shape (n_active + 1, 2 + n_active + 1)
        Columns [d/dl1, d/dl2, d/dw_A, d/db]: [s_A; 0], [w_A; 0], then
        K = (1 / n) [X_A 1]^T [X_A 1] + l2 diag(1, ..., 1, 0).
    active : ndarray of int of shape (n_active,)
    """
    active = active_set(w, active_tol=active_tol)
    columns = hyperparameter_columns(w, active)
    if log_hyperparameters:
        columns *= np.array([l1, l2])
    H = np.hstack([columns, parameter_block(problem, active, l2)])
    return H, active


@dataclass(frozen=True)
class ExactDirectionProblem:
    """The exact direction LP, scaled for ``solve_direction_lp(gradient, H)``.

    In the scaled variables u = (u_lam, u_theta, u_aux) the LP is direction_lp's:
    minimise gradient . (u_theta, u_aux) s.t. -DELTA <= H u <= DELTA, |u_lam| <= 1,
    |u_theta|, |u_aux| <= 100. The unscaled direction is d_lam = u_lam (in lam, or log
    lam, units) and d_theta = param_scale * u_theta; the unscaled rows are
    H[:n_rows] = diag(row_scale) @ exact_constraint_matrix(...) @ diag(1, 1, param_scale).

    Attributes
    ----------
    gradient : ndarray of shape (n_active + 1 + n_aux,)
        Validation gradient w.r.t. (w_A, b) times param_scale, over objective_scale;
        zeros for the auxiliary variables.
    H : ndarray of shape (n_active + 1 + n_aux, 2 + n_active + 1 + n_aux)
        Scaled constraint rows, then the polygon's facet rows (zero auxiliary columns).
    active : ndarray of int of shape (n_active,)
    log_hyperparameters : bool
    param_scale : ndarray of shape (n_active + 1,)
        Unit of each model parameter: its largest linear response to |d_lam| <= 1.
    row_scale : ndarray of shape (n_active + 1,)
        Factor of each stationarity row (equilibration times band_factor).
    band_factor : float
        The common row factor (in [1, MAX_BAND_FACTOR]) that narrows the band.
    max_slack : float
        Largest |u_theta - response| the band admits, in response units: SLACK_BOUND
        unless the band factor was capped (K very ill-conditioned).
    objective_scale : float
        Largest |validation gradient * param_scale| (the objective is divided by it).
    facet_pairs : int
        The hyperparameter region is the regular polygon with 2 * facet_pairs sides.
    singular : bool
        True when K was not numerically positive definite (pseudo-inverse used; the
        d_theta box may then bind and the scaling gives no guarantee).
    """

    gradient: np.ndarray
    H: np.ndarray
    active: np.ndarray
    log_hyperparameters: bool
    param_scale: np.ndarray
    row_scale: np.ndarray
    band_factor: float
    max_slack: float
    objective_scale: float
    facet_pairs: int
    singular: bool

    @property
    def box_inactive(self) -> bool:
        """True when no feasible point reaches the d_theta box (|u_theta| <= 1 + max_slack)."""
        return not self.singular and 1.0 + self.max_slack < PARAM_BOUND

    @property
    def n_aux(self) -> int:
        """Number of auxiliary variables (and facet rows): facet_pairs - 2."""
        return self.facet_pairs - 2

    def unscale(self, u: np.ndarray) -> np.ndarray:
        """(d_lam, d_w_A, d_b) in the problem's units, of shape (2 + n_active + 1,).

        Parameters
        ----------
        u : ndarray of shape (2 + n_active + 1 + n_aux,)
            A point of the scaled LP (auxiliary variables are dropped).
        """
        n_params = self.param_scale.shape[0]
        return np.concatenate([u[:2], self.param_scale * u[2 : 2 + n_params]])


def _facet_rows(facet_pairs: int) -> np.ndarray:
    """Rows DELTA * (cos phi, sin phi) of the facets not already in the box, shape (n_aux, 2)."""
    angles = np.pi * np.arange(facet_pairs) / facet_pairs
    extra = angles[(np.arange(facet_pairs) != 0) & (np.arange(facet_pairs) != facet_pairs // 2)]
    return DELTA * np.column_stack([np.cos(extra), np.sin(extra)])


def exact_direction_problem(
    problem: ElasticNetProblem,
    fit: ElasticNetFit,
    l1: float,
    l2: float,
    *,
    log_hyperparameters: bool = False,
    active_tol: float = 0.0,
    facet_pairs: int = 2,
) -> ExactDirectionProblem:
    """The exact direction LP at the model ``fit`` of (l1, l2), scaled for HiGHS.

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits.
    fit : ElasticNetFit
        The elastic net fitted on the training split at (l1, l2).
    l1 : float
    l2 : float
    log_hyperparameters : bool
        Directions in (log l1, log l2) instead of (l1, l2).
    active_tol : float
        See hypergradient.active_set.
    facet_pairs : int
        Even, >= 2: the hyperparameter region is the regular 2 * facet_pairs-gon around
        the unit disk; 2 is direction_lp's box alone (see the module docstring).

    Returns
    -------
    ExactDirectionProblem
    """
    w, b = fit.coef, fit.intercept
    if facet_pairs < 2 or facet_pairs % 2:
        raise ValueError(f"facet_pairs must be an even integer >= 2; got {facet_pairs!r}")
    H, active = exact_constraint_matrix(
        problem, w, l1, l2, log_hyperparameters=log_hyperparameters, active_tol=active_tol
    )
    H_lam, K = H[:, :2], H[:, 2:]
    K_inverse, singular = solve_parameter_block(K, np.eye(K.shape[0]))

    # Columns: each parameter in units of its largest response to |d_lam|_inf <= 1.
    response = np.abs(K_inverse @ H_lam).sum(axis=1)
    largest = float(response.max())
    param_scale = np.maximum(response, RESPONSE_FLOOR * largest) if largest > 0 else np.ones_like(
        response
    )
    scaled = np.hstack([H_lam, K * param_scale])
    # Rows: unit infinity norm, then one factor that bounds the band's slack in d_theta.
    row_norm = np.abs(scaled).max(axis=1)
    equilibration = 1.0 / np.where(row_norm > 0, row_norm, 1.0)
    slack_per_delta = np.abs(K_inverse / param_scale[:, None] / equilibration[None, :]).sum(axis=1)
    needed = DELTA * float(slack_per_delta.max()) / SLACK_BOUND
    band_factor = min(max(1.0, needed), MAX_BAND_FACTOR)
    max_slack = SLACK_BOUND * needed / band_factor
    row_scale = band_factor * equilibration
    scaled *= row_scale[:, None]

    gradient = validation_gradient(problem.X_val, problem.y_val, w, b)
    objective = np.append(gradient[active], gradient[-1]) * param_scale
    objective_scale = float(np.abs(objective).max())
    if objective_scale > 0:
        objective = objective / objective_scale

    facets = _facet_rows(facet_pairs)
    n_aux, n_rows = facets.shape[0], scaled.shape[0]
    if n_aux:
        H_lp = np.zeros((n_rows + n_aux, scaled.shape[1] + n_aux))
        H_lp[:n_rows, : scaled.shape[1]] = scaled
        H_lp[n_rows:, :2] = facets
        objective = np.concatenate([objective, np.zeros(n_aux)])
    else:
        H_lp = scaled
    return ExactDirectionProblem(
        gradient=objective,
        H=H_lp,
        active=active,
        log_hyperparameters=log_hyperparameters,
        param_scale=param_scale,
        row_scale=row_scale,
        band_factor=band_factor,
        max_slack=max_slack,
        objective_scale=objective_scale,
        facet_pairs=facet_pairs,
        singular=singular,
    )


def exact_direction(
    problem: ElasticNetProblem,
    fit: ElasticNetFit,
    l1: float,
    l2: float,
    *,
    log_hyperparameters: bool = False,
    active_tol: float = 0.0,
    facet_pairs: int = 2,
    method: str = "reference",
) -> Direction:
    """The exact LP's hyperparameter direction at the model ``fit`` of (l1, l2).

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits.
    fit : ElasticNetFit
        The elastic net fitted on the training split at (l1, l2).
    l1 : float
    l2 : float
    log_hyperparameters : bool
        Return the direction in (log l1, log l2) space instead of (l1, l2).
    active_tol : float
        See hypergradient.active_set.
    facet_pairs : int
        See `exact_direction_problem`.
    method : {"reference", "ranged"}
        How direction_lp hands the LP to HiGHS.

    Returns
    -------
    Direction
        ``d_lam``: unit direction in lam (or log lam) space; ``d_raw``: the solution
        in the problem's own units, (d_lam, d_w_A, d_b) of shape (2 + n_active + 1,),
        before normalisation; ``objective``: validation gradient . (d_w_A, d_b) in those
        units; ``max_violation``: in the scaled LP's units. Statuses: direction_lp's,
        and three more cases with ``d_lam`` zeros: "zero_direction" without solving
        when no weight is active (the loss is then locally constant in lam);
        "ill_conditioned" without solving when K is singular or so ill-conditioned
        that some feasible point could reach the d_theta box
        (``ExactDirectionProblem.box_inactive`` is False); "box_active" when the
        solution reaches BOX_ACTIVE_FRACTION of that box all the same. Otherwise the
        solution is also optimal without the d_theta box, and d_lam is the corner
        -sign(hypergradient) (or the polygon's vertex; see the module docstring).
    """
    lp = exact_direction_problem(
        problem, fit, l1, l2,
        log_hyperparameters=log_hyperparameters, active_tol=active_tol,
        facet_pairs=facet_pairs,
    )
    if lp.active.size == 0:
        # All weights at zero stay there for small changes of lam: the hyperparameter
        # columns vanish, and the LP would return an arbitrary corner.
        return Direction(
            "zero_direction", np.zeros(2), None, np.nan, np.nan,
            "no active weight: the validation loss is locally constant in lam; LP not solved.",
        )
    if not lp.box_inactive:
        # Measured at house_price's (1, 1e-10) (cond(K) ~1e12): HiGHS either spends 16 s
        # and fails, or returns a solution on the d_theta box.
        return Direction(
            "ill_conditioned", np.zeros(2), None, np.nan, np.nan,
            f"K is {'singular' if lp.singular else 'too ill-conditioned'} for the scaled "
            f"LP: the band admits d_theta slack {lp.max_slack:.3g} response units with "
            f"the band factor at its cap {lp.band_factor:.3g}, so the d_theta box "
            f"(+-{PARAM_BOUND:g}) could decide d_lam; LP not solved.",
        )
    direction = solve_direction_lp(lp.gradient, lp.H, method=method)
    if direction.d_raw is None:
        return direction
    d_raw = lp.unscale(direction.d_raw)
    unscaled = replace(
        direction, d_raw=d_raw, objective=float(lp.objective_scale * direction.objective)
    )
    n_params = lp.param_scale.shape[0]
    largest = float(np.abs(direction.d_raw[2 : 2 + n_params]).max(initial=0.0))
    if direction.ok and largest >= BOX_ACTIVE_FRACTION * PARAM_BOUND:
        return replace(
            unscaled,
            status="box_active",
            d_lam=np.zeros(2),
            message=f"the d_theta box is reached (|u_theta| = {largest:.6g}), so it may decide "
            f"d_lam; band factor {lp.band_factor:.3g}, max slack "
            f"{lp.max_slack:.3g}, singular K: {lp.singular}. "
            f"HiGHS: {direction.message}",
        )
    return unscaled
