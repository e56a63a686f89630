"""The exact formulation: stationarity at tight fits, its Jacobian, and the scaled LP.

The descent tests refit with ``ElasticNetProblem``'s converged solver (relative duality
gap <= 1e-9, warm-started from the start's model: seconds for all four data sets, where
the plain estimator at tol = 1e-12 needs 7 s for one simulation fit); their check is
first order, far above the fits' noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from datasets.registry import DATASET_NAMES, load_dataset
from hyper_local_search import exact_formulation
from hyper_local_search.curvature_information import validation_gradient
from hyper_local_search.direction_lp import DELTA, PARAM_BOUND, Direction, solve_direction_lp
from hyper_local_search.exact_formulation import (
    MAX_BAND_FACTOR,
    SLACK_BOUND,
    exact_constraint_matrix,
    exact_direction,
    exact_direction_problem,
    exact_stationarity,
)
from hyper_local_search.hypergradient import implicit_hypergradient, implicit_jacobian
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, fit_elastic_net, mse
from tests.conftest import problem_of

TIGHT = {"tol": 1e-12, "max_iter": 100000}


def _central_differences(function, x, h):
    columns = [(function(x + h * e) - function(x - h * e)) / (2 * h) for e in np.eye(x.shape[0])]
    return np.array(columns).T


# --- stationarity at tightly converged scikit-learn fits ---------------------------------


def _polished_tight_fit(X, y, l1, l2):
    """A tol = 1e-12 scikit-learn fit, warm-started where its cold start is hopeless.

    At (101, 1e-10) on house_price a cold tol = 1e-12 fit stops at max_iter = 100000
    (34 s, not converged). Started from the solution of the stationarity equations on
    the active set of a default fit, scikit-learn converges in a few hundred epochs; the
    result is scikit-learn's converged fit (the start only saves time).
    """
    rough = fit_elastic_net(X, y, l1, l2)
    active = np.flatnonzero(rough.coef)
    n_samples = y.shape[0]
    design = np.column_stack([X[:, active], np.ones(n_samples)])
    block = design.T @ design / n_samples + l2 * np.diag(np.append(np.ones(active.size), 0.0))
    rhs = design.T @ y / n_samples - l1 * np.append(np.sign(rough.coef[active]), 0.0)
    start = np.zeros(X.shape[1])
    start[active] = np.linalg.solve(block, rhs)[:-1]
    return fit_elastic_net(X, y, l1, l2, coef_init=start, **TIGHT)


STATIONARITY_CASES = [
    pytest.param("small_splits", (0.1, 0.1), False, id="small-0.1-0.1"),
    pytest.param("small_splits", (0.5, 0.05), False, id="small-0.5-0.05"),
    pytest.param("paper_house_price", (0.47, 0.04), False, id="house-0.47-0.04"),
    pytest.param("paper_house_price", (101.0, 1e-10), True, id="house-101-1e-10"),
]


@pytest.mark.parametrize(("splits_name", "lam", "polish"), STATIONARITY_CASES)
def test_stationarity_vanishes_at_tight_fit(request, splits_name, lam, polish):
    s = request.getfixturevalue(splits_name)
    X, y = s.X_train, s.y_train
    l1, l2 = lam
    fit = _polished_tight_fit(X, y, l1, l2) if polish else fit_elastic_net(X, y, l1, l2, **TIGHT)
    assert fit.converged
    active = np.flatnonzero(fit.coef)
    assert active.size > 0
    # Gradient scale: the loss gradient (1 / n) X^T (y - mean y) at w = 0 (house_price:
    # 5e4 dollars). Observed residuals: <= 1e-13 of it.
    scale = np.abs(X.T @ (y - y.mean())).max() / y.shape[0]
    tol = 1e-9 * scale
    G = exact_stationarity(X, y, l1, l2, fit.coef, fit.intercept, active)
    assert G.shape == (active.size + 1,)
    assert np.abs(G).max() <= tol
    # The tolerance resolves the problem's terms: 1% of l1, or the 2 / n loss scaling of
    # the paper's matrix, leaves a residual far above it.
    off = exact_stationarity(X, y, 1.01 * l1, l2, fit.coef, fit.intercept, active)
    assert np.abs(off).max() > 5 * tol
    residual = X @ fit.coef + fit.intercept - y
    paper_scaling = 2.0 * X[:, active].T @ residual / y.shape[0] + l1 * np.sign(fit.coef[active])
    assert np.abs(paper_scaling + l2 * fit.coef[active]).max() > 100 * tol
    # Inactive weights: the subgradient condition |(1 / n) X_j^T r| <= l1 holds, so the fit
    # is the minimiser and A its active set.
    inactive = np.setdiff1d(np.arange(X.shape[1]), active)
    assert np.all(np.abs(X[:, inactive].T @ residual) / y.shape[0] <= l1 * (1 + 1e-9))


def test_stationarity_reads_only_active_weights_and_accepts_a_mask():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(20, 5)), rng.normal(size=20)
    w = np.array([1.0, 0.0, -2.0, 0.0, 0.5])
    active = np.array([0, 2, 4])
    G = exact_stationarity(X, y, 0.3, 0.2, w, 0.1, active)
    w_outside = w.copy()
    w_outside[[1, 3]] = [5.0, -7.0]  # held at zero: ignored
    np.testing.assert_array_equal(exact_stationarity(X, y, 0.3, 0.2, w_outside, 0.1, active), G)
    np.testing.assert_array_equal(exact_stationarity(X, y, 0.3, 0.2, w, 0.1, w != 0), G)
    residual = X[:, active] @ w[active] + 0.1 - y
    expected = np.append(
        X[:, active].T @ residual / 20 + 0.3 * np.sign(w[active]) + 0.2 * w[active],
        residual.mean(),
    )
    np.testing.assert_allclose(G, expected, rtol=1e-14)


# --- the constraint matrix is the Jacobian of the stationarity ----------------------------


@pytest.fixture
def lower_level_point():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(25, 6)), rng.normal(size=25)
    w = np.array([0.8, 0.0, -1.3, 0.4, 0.0, -0.6])  # two inactive weights, mixed signs
    return X, y, 0.3, 0.7, w, 0.4


def test_constraint_matrix_matches_finite_differences(lower_level_point):
    X, y, l1, l2, w, b = lower_level_point
    H, active = exact_constraint_matrix(ElasticNetProblem(X, y), w, l1, l2)
    np.testing.assert_array_equal(active, [0, 2, 3, 5])
    assert H.shape == (5, 2 + 5)

    def stationarity(l1_, l2_, theta):
        w_ = np.zeros_like(w)
        w_[active] = theta[:-1]
        return exact_stationarity(X, y, l1_, l2_, w_, theta[-1], active)

    theta = np.append(w[active], b)
    lam = np.array([l1, l2])
    d_lam = _central_differences(lambda v: stationarity(v[0], v[1], theta), lam, 1e-6)
    d_theta = _central_differences(lambda t: stationarity(l1, l2, t), theta, 1e-6)
    np.testing.assert_allclose(H[:, :2], d_lam, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(H[:, 2:], d_theta, rtol=1e-7, atol=1e-9)

    H_log, active_log = exact_constraint_matrix(ElasticNetProblem(X, y), w, l1, l2,
                                               log_hyperparameters=True)
    np.testing.assert_array_equal(active_log, active)
    log_lam = np.log(lam)
    d_log = _central_differences(
        lambda v: stationarity(np.exp(v[0]), np.exp(v[1]), theta), log_lam, 1e-6
    )
    np.testing.assert_allclose(H_log[:, :2], d_log, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(H_log[:, 2:], H[:, 2:])


def test_constraint_matrix_layout():
    X = np.arange(12.0).reshape(4, 3)
    w = np.array([0.0, -2.0, 5.0])
    problem = ElasticNetProblem(X, np.zeros(4))
    H, active = exact_constraint_matrix(problem, w, 0.3, 0.25)
    np.testing.assert_array_equal(active, [1, 2])
    np.testing.assert_array_equal(H[:, 0], [-1.0, 1.0, 0.0])
    np.testing.assert_array_equal(H[:, 1], [-2.0, 5.0, 0.0])
    design = np.column_stack([X[:, 1], X[:, 2], np.ones(4)])
    # 1 / n (not the paper's 2 / n), ridge on the active weights only (not on the bias).
    np.testing.assert_allclose(H[:, 2:], design.T @ design / 4 + np.diag([0.25, 0.25, 0.0]))
    H_log, _ = exact_constraint_matrix(problem, w, 0.3, 0.25, log_hyperparameters=True)
    np.testing.assert_allclose(H_log[:, :2], H[:, :2] * [0.3, 0.25])
    H_tol, active_tol = exact_constraint_matrix(problem, np.array([1e-9, -2.0, 5.0]), 0.3, 0.25,
                                                active_tol=1e-6)
    np.testing.assert_array_equal(active_tol, [1, 2])
    np.testing.assert_allclose(H_tol, H)


# --- the scaled LP -------------------------------------------------------------------------


def _problem_args(s, fit, lam):
    return (problem_of(s), fit, *lam)


@pytest.mark.parametrize("log", [False, True], ids=["lam", "log"])
def test_scaled_problem_is_a_rescaling_of_the_exact_rows(small_splits, log):
    s = small_splits
    lam = (0.1, 0.1)
    fit = fit_elastic_net(s.X_train, s.y_train, *lam, **TIGHT)
    problem = exact_direction_problem(*_problem_args(s, fit, lam), log_hyperparameters=log)
    H, active = exact_constraint_matrix(problem_of(s), fit.coef, *lam, log_hyperparameters=log)
    np.testing.assert_array_equal(problem.active, active)
    assert problem.n_aux == 0
    columns = np.concatenate([[1.0, 1.0], problem.param_scale])
    np.testing.assert_allclose(problem.H, problem.row_scale[:, None] * H * columns, rtol=1e-14)
    gradient = validation_gradient(s.X_val, s.y_val, fit.coef, fit.intercept)
    g_active = np.append(gradient[active], gradient[-1])
    np.testing.assert_allclose(
        problem.gradient * problem.objective_scale, g_active * problem.param_scale, rtol=1e-14
    )
    assert np.abs(problem.gradient).max() == pytest.approx(1.0)
    # Column units: the largest response of each parameter to |d_lam|_inf <= 1 (J from
    # the implicit function theorem, computed independently).
    jacobian = implicit_jacobian(problem_of(s), fit.coef, *lam, log_hyperparameters=log).jacobian
    np.testing.assert_allclose(problem.param_scale, np.abs(jacobian).sum(axis=1), rtol=1e-10)
    # Rows: unit infinity norm times the band factor.
    np.testing.assert_allclose(np.abs(problem.H).max(axis=1), problem.band_factor, rtol=1e-14)
    assert problem.band_factor >= 1.0
    assert problem.max_slack <= SLACK_BOUND * (1 + 1e-12)
    assert not problem.singular
    assert problem.box_inactive


def test_every_feasible_point_keeps_the_parameter_box_inactive(paper_house_price):
    # The scaling's guarantee: |u_theta| <= 1 (response) + SLACK_BOUND (band) at every
    # feasible point, far inside the LP's box of PARAM_BOUND. Checked on the two extreme
    # hyperparameter corners, with the band slack pushed both ways.
    s = paper_house_price
    lam = (0.47, 0.04)
    fit = fit_elastic_net(s.X_train, s.y_train, *lam, **TIGHT)
    problem = exact_direction_problem(*_problem_args(s, fit, lam))
    H_lam, K_scaled = problem.H[:, :2], problem.H[:, 2:]
    inverse = np.linalg.inv(K_scaled)
    slack = DELTA * np.abs(inverse).sum(axis=1)
    for u_lam in ([1.0, 1.0], [1.0, -1.0]):
        response = -inverse @ (H_lam @ np.array(u_lam))
        assert np.abs(response).max() <= 1.0 + 1e-8
    assert slack.max() <= SLACK_BOUND * (1 + 1e-8)
    assert 1.0 + SLACK_BOUND < PARAM_BOUND / 50


def test_unscaled_exact_lp_is_nearly_orthogonal_to_descent(paper_house_price):
    # Why the scaling exists: passed in dollars, the +-100 box on d_theta binds, caps
    # d_l2, and the LP answers (1, -5e-4), at 89.8 degrees from -hypergradient.
    s = paper_house_price
    lam = (0.47, 0.04)
    fit = fit_elastic_net(s.X_train, s.y_train, *lam, **TIGHT)
    H, active = exact_constraint_matrix(problem_of(s), fit.coef, *lam)
    gradient = validation_gradient(s.X_val, s.y_val, fit.coef, fit.intercept)
    raw = solve_direction_lp(np.append(gradient[active], gradient[-1]), H)
    assert raw.ok
    assert np.abs(raw.d_raw[2:]).max() == pytest.approx(PARAM_BOUND)  # the box binds
    hypergradient = implicit_hypergradient(*_problem_args(s, fit, lam))
    assert -raw.d_lam @ hypergradient / np.linalg.norm(hypergradient) < 0.01
    scaled = exact_direction(*_problem_args(s, fit, lam))
    assert -scaled.d_lam @ hypergradient / np.linalg.norm(hypergradient) > 0.7


# --- descent: the LP direction lowers the validation loss ----------------------------------


@pytest.fixture(scope="module")
def registry_splits():
    cache = {}

    def load(name):
        if name not in cache:
            cache[name] = load_dataset(name)
        return cache[name]

    return load


def _descent_check(s, lam, *, log, facet_pairs=2):
    """LP direction at lam; asserts descent and returns cos(d, -hypergradient)."""
    problem = problem_of(s, solver="converged")
    fit = problem.fit(*lam)
    assert fit.converged
    args = _problem_args(s, fit, lam)
    direction = exact_direction(*args, log_hyperparameters=log, facet_pairs=facet_pairs)
    assert direction.ok, f"status={direction.status} message={direction.message!r}"
    hypergradient = implicit_hypergradient(*args, log_hyperparameters=log)
    slope = float(hypergradient @ direction.d_lam)
    assert slope < 0.0
    cosine = -slope / np.linalg.norm(hypergradient)
    if facet_pairs == 2:
        # The box corner -sign(hypergradient): the infinity-norm steepest descent.
        np.testing.assert_allclose(direction.d_lam, -np.sign(hypergradient) / np.sqrt(2),
                                   rtol=1e-12)
    assert cosine >= np.cos(np.pi / (2 * facet_pairs)) - 1e-9

    # Finite differences with tight refits: a small step along d lowers the validation
    # MSE (a wrong sign fails here) ...
    lam0 = np.array(lam)

    def validation_along(eps):
        moved = lam0 * np.exp(eps * direction.d_lam) if log else lam0 + eps * direction.d_lam
        # Cold refits: the minimiser at each step, whatever the kernel's release (a warm
        # start within the 1e-9 gap may keep a weight that is about to leave).
        refit = problem.fit(*moved)
        assert refit.converged
        return mse(s.X_val, s.y_val, refit.coef, refit.intercept), refit

    before = mse(s.X_val, s.y_val, fit.coef, fit.intercept)
    eps = 1e-3 if log else 1e-3 * min(lam)
    after, refit = validation_along(eps)
    assert after < before
    # ... by the first-order amount (a wrong factor fails here), on a step short enough
    # to keep the active set: the implicit derivative is one-sided where a weight is
    # about to leave it (simulation at (0.5, 0.05): |w_j| = 6e-6 leaves within a step
    # of 5e-8, and the slope beyond is 5% flatter).
    for _ in range(4):
        if np.array_equal(np.flatnonzero(refit.coef), np.flatnonzero(fit.coef)):
            break
        eps /= 10
        after, refit = validation_along(eps)
    np.testing.assert_array_equal(np.flatnonzero(refit.coef), np.flatnonzero(fit.coef))
    assert (after - before) / eps == pytest.approx(slope, rel=0.02)
    # The LP's parameter step is the linearised response J d_lam, up to the band.
    jacobian = implicit_jacobian(problem_of(s), fit.coef, *lam, log_hyperparameters=log).jacobian
    d_raw = direction.d_raw
    np.testing.assert_allclose(d_raw[2:], jacobian @ d_raw[:2],
                               atol=SLACK_BOUND * 1.01 * np.abs(jacobian).sum(axis=1).max())
    return cosine


HOUSE_STARTS = [(0.47, 0.04), (0.9, 0.5), (0.27, 0.047)]


@pytest.mark.parametrize("log", [False, True], ids=["lam", "log"])
@pytest.mark.parametrize("lam", HOUSE_STARTS, ids=[f"{a}-{b}" for a, b in HOUSE_STARTS])
def test_exact_direction_descends_on_house_price(paper_house_price, lam, log):
    _descent_check(paper_house_price, lam, log=log)


@pytest.mark.parametrize("log", [False, True], ids=["lam", "log"])
@pytest.mark.parametrize("lam", [(0.1, 0.1), (0.5, 0.05)], ids=["0.1-0.1", "0.5-0.05"])
def test_exact_direction_descends_on_small_splits(small_splits, lam, log):
    _descent_check(small_splits, lam, log=log)


@pytest.mark.parametrize("log", [False, True], ids=["lam", "log"])
@pytest.mark.parametrize("name", DATASET_NAMES)
def test_exact_direction_descends_on_every_data_set(registry_splits, name, log):
    # The acceptance: exact passes its descent-direction test on all four data
    # sets, from (0.5, 0.05).
    _descent_check(registry_splits(name), (0.5, 0.05), log=log)


@pytest.mark.parametrize("log", [False, True], ids=["lam", "log"])
@pytest.mark.parametrize("name", ["diabetes", "simulation"])
def test_polygon_direction_is_within_its_angle_of_descent(registry_splits, name, log):
    # 16 facet pairs: the optimal vertex is within pi / 32 of -hypergradient.
    cosine = _descent_check(registry_splits(name), (0.5, 0.05), log=log, facet_pairs=16)
    assert cosine >= np.cos(np.pi / 32) - 1e-9


def test_polygon_rows_and_validation(small_splits):
    s = small_splits
    fit = fit_elastic_net(s.X_train, s.y_train, 0.1, 0.1, **TIGHT)
    problem = exact_direction_problem(*_problem_args(s, fit, (0.1, 0.1)), facet_pairs=4)
    n = problem.active.size + 1
    assert problem.n_aux == 2
    assert problem.H.shape == (n + 2, 2 + n + 2)
    root = np.sqrt(0.5)
    np.testing.assert_allclose(problem.H[n:, :2], DELTA * np.array([[root, root], [-root, root]]),
                               atol=1e-20)
    np.testing.assert_array_equal(problem.H[:, 2 + n :], 0.0)
    np.testing.assert_array_equal(problem.gradient[n:], 0.0)
    for bad in (0, 3, 5):
        with pytest.raises(ValueError, match="facet_pairs must be an even integer >= 2"):
            exact_direction_problem(*_problem_args(s, fit, (0.1, 0.1)), facet_pairs=bad)


def test_exact_direction_reports_in_problem_units(small_splits):
    s = small_splits
    fit = fit_elastic_net(s.X_train, s.y_train, 0.5, 0.05, **TIGHT)
    args = _problem_args(s, fit, (0.5, 0.05))
    problem = exact_direction_problem(*args)
    scaled = solve_direction_lp(problem.gradient, problem.H)
    direction = exact_direction(*args)
    np.testing.assert_allclose(direction.d_raw, problem.unscale(scaled.d_raw))
    gradient = validation_gradient(s.X_val, s.y_val, fit.coef, fit.intercept)
    g_active = np.append(gradient[problem.active], gradient[-1])
    assert direction.objective == pytest.approx(g_active @ direction.d_raw[2:], rel=1e-12)
    ranged = exact_direction(*args, method="ranged")
    np.testing.assert_allclose(ranged.d_lam, direction.d_lam, atol=1e-12)


# --- where the scaling cannot help ------------------------------------------------------


@pytest.mark.parametrize("log", [False, True], ids=["lam", "log"])
def test_grid_start_is_reported_ill_conditioned(paper_house_price, log):
    # The grid sampler's start (1, 1e-10), fitted as the paper fits it (max_iter 1000,
    # not converged): cond(K) ~1e12, the band factor hits its cap and the band admits
    # d_theta slack of 1e3-1e4 response units, beyond the box of 100. Solving anyway
    # took HiGHS 16 s to fail (lam) or ended on the box (log).
    s = paper_house_price
    fit = fit_elastic_net(s.X_train, s.y_train, 1.0, 1e-10)
    args = _problem_args(s, fit, (1.0, 1e-10))
    problem = exact_direction_problem(*args, log_hyperparameters=log)
    assert problem.band_factor == MAX_BAND_FACTOR
    assert problem.max_slack > PARAM_BOUND
    assert not problem.box_inactive
    direction = exact_direction(*args, log_hyperparameters=log)
    assert direction.status == "ill_conditioned"
    assert not direction.ok
    np.testing.assert_array_equal(direction.d_lam, [0.0, 0.0])
    assert "LP not solved" in direction.message


def test_no_active_weight_gives_no_direction(small_splits):
    s = small_splits
    b = float(s.y_train.mean())
    null_model = ElasticNetFit(np.zeros(6), b, 0, True)
    direction = exact_direction(problem_of(s), null_model, 100.0, 0.1)
    assert direction.status == "zero_direction"
    np.testing.assert_array_equal(direction.d_lam, [0.0, 0.0])


def test_singular_block_is_reported_ill_conditioned():
    rng = np.random.default_rng(5)
    column = rng.normal(size=30)
    X = np.column_stack([column, column, rng.normal(size=30)])
    y = X @ [1.0, 1.0, -0.5] + rng.normal(size=30)
    w = np.array([1.0, 1.0, -0.5])
    # l2 = 0 and two identical active columns
    args = (ElasticNetProblem(X, y, X, y), ElasticNetFit(w, 0.0, 0, True), 0.2, 0.0)
    problem = exact_direction_problem(*args)
    assert problem.singular
    assert not problem.box_inactive
    direction = exact_direction(*args)
    assert direction.status == "ill_conditioned"
    assert "singular" in direction.message


def test_solution_on_the_parameter_box_is_reported(small_splits, monkeypatch):
    s = small_splits
    fit = fit_elastic_net(s.X_train, s.y_train, 0.1, 0.1, **TIGHT)
    args = _problem_args(s, fit, (0.1, 0.1))
    n_params = exact_direction_problem(*args).param_scale.shape[0]

    def on_the_box(gradient, H, *, method="reference"):
        d = np.zeros(2 + n_params)
        d[:2] = [1.0, -1.0]
        d[3] = -PARAM_BOUND
        return Direction("optimal", d[:2] / np.sqrt(2), d, -1.0, 0.0, "stub")

    monkeypatch.setattr(exact_formulation, "solve_direction_lp", on_the_box)
    direction = exact_direction(*args)
    assert direction.status == "box_active"
    np.testing.assert_array_equal(direction.d_lam, [0.0, 0.0])
    assert "|u_theta| = 100" in direction.message
