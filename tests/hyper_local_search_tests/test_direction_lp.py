import numpy as np
import pytest
from scipy.optimize import OptimizeResult

from hyper_local_search import direction_lp
from hyper_local_search.curvature_information import paper_constraint_matrix, validation_gradient
from hyper_local_search.direction_lp import (
    DELTA,
    HYPER_BOUND,
    PARAM_BOUND,
    constraint_violation,
    solve_direction_lp,
)
from optuna_training.elastic_net import ElasticNetProblem, fit_elastic_net


def _random_lp(seed, n_params=6):
    rng = np.random.default_rng(seed)
    H = rng.normal(size=(n_params, 2 + n_params))
    gradient = rng.normal(size=n_params)
    return gradient, H


def _describe(direction):
    return f"status={direction.status} message={direction.message!r}"


@pytest.mark.parametrize("seed", range(5))
def test_solution_satisfies_rows_and_bounds(seed):
    gradient, H = _random_lp(seed)
    direction = solve_direction_lp(gradient, H)
    assert direction.ok, _describe(direction)
    d = direction.d_raw
    assert np.all(np.abs(H @ d) <= DELTA * (1 + 1e-6)), _describe(direction)
    assert np.all(np.abs(d[:2]) <= HYPER_BOUND + 1e-9)
    assert np.all(np.abs(d[2:]) <= PARAM_BOUND + 1e-9)
    assert direction.max_violation <= 1e-9
    assert np.linalg.norm(direction.d_lam) == pytest.approx(1.0)
    np.testing.assert_allclose(direction.d_lam, d[:2] / np.linalg.norm(d[:2]))


@pytest.mark.parametrize("seed", range(5))
def test_solution_is_optimal_against_independent_solver(seed):
    # The same LP in another form: d_theta = u - v with u, v >= 0, solved by interior point.
    from scipy.optimize import linprog

    gradient, H = _random_lp(seed)
    n = gradient.shape[0]
    H_lam, H_theta = H[:, :2], H[:, 2:]
    c = np.concatenate([np.zeros(2), gradient, -gradient])
    A = np.hstack([H_lam, H_theta, -H_theta])
    result = linprog(
        c,
        A_ub=np.vstack([A, -A]),
        b_ub=np.full(2 * n, DELTA),
        bounds=[(-1, 1)] * 2 + [(0, PARAM_BOUND)] * (2 * n),
        method="highs-ipm",
    )
    assert result.status == 0
    direction = solve_direction_lp(gradient, H)
    assert direction.objective == pytest.approx(result.fun, rel=1e-6, abs=1e-9)
    assert direction.objective <= 0.0  # d = 0 is feasible


def test_violation_measures_rows_and_bounds():
    H = np.array([[1.0, 0.0, 2.0]])
    assert constraint_violation(H, np.array([0.0, 0.0, 0.0]), 2) == 0.0
    assert constraint_violation(H, np.array([0.0, 0.0, 1.0]), 2) == pytest.approx(2.0 - DELTA)
    assert constraint_violation(H, np.array([1.5, 0.0, 0.0]), 2) == pytest.approx(1.5 - DELTA)
    assert constraint_violation(np.zeros((1, 3)), np.array([0.0, 0.0, 101.0]), 2) == (
        pytest.approx(1.0)
    )


def test_inaccurate_solution_is_reported_not_trusted(monkeypatch):
    gradient, H = _random_lp(0)

    def fake_linprog(*args, **kwargs):
        return OptimizeResult(status=0, x=np.full(H.shape[1], 0.5), message="fake optimal")

    monkeypatch.setattr(direction_lp, "linprog", fake_linprog)
    direction = solve_direction_lp(gradient, H)
    assert direction.status == "inaccurate"
    assert direction.max_violation > 1e-3
    np.testing.assert_array_equal(direction.d_lam, [0.0, 0.0])


@pytest.mark.parametrize(("code", "status"), [(1, "failed"), (2, "infeasible"), (3, "unbounded"),
                                              (4, "failed")])
def test_solver_failures_map_to_statuses(monkeypatch, code, status):
    gradient, H = _random_lp(1)
    monkeypatch.setattr(
        direction_lp, "linprog",
        lambda *a, **k: OptimizeResult(status=code, x=None, message="solver said no"),
    )
    direction = solve_direction_lp(gradient, H)
    assert direction.status == status
    assert direction.message == "solver said no"
    assert not direction.ok


def test_zero_gradient_gives_zero_direction_status():
    H = np.hstack([np.zeros((3, 2)), np.eye(3)])
    direction = solve_direction_lp(np.zeros(3), H)
    assert direction.status in {"zero_direction", "optimal"}
    if direction.status == "optimal":  # any feasible point is optimal; d_lam must be unit
        assert np.linalg.norm(direction.d_lam) == pytest.approx(1.0)


def test_paper_start_gives_published_direction(paper_house_price):
    s = paper_house_price
    fit = fit_elastic_net(s.X_train, s.y_train, 0.47, 0.04)
    direction = solve_direction_lp(
        validation_gradient(s.X_val, s.y_val, fit.coef, fit.intercept),
        paper_constraint_matrix(ElasticNetProblem(s.X_train, s.y_train), fit.coef, 0.04),
    )
    assert direction.ok, _describe(direction)
    # METHOD.md: about (+1, -6e-4 .. -1e-3) at the paper's starts.
    assert direction.d_lam[0] == pytest.approx(1.0, abs=1e-6)
    assert -1e-3 <= direction.d_lam[1] <= -6e-4


@pytest.mark.parametrize("method", ["reference", "ranged"])
def test_an_lp_past_its_time_limit_fails_instead_of_hanging(method, monkeypatch):
    # A HiGHS that cycles (scipy 1.13's did on a near-singular house-price LP) stops at
    # LP_TIME_LIMIT and the LP counts as failed: the step keeps its start.
    monkeypatch.setattr(direction_lp, "LP_TIME_LIMIT", 0.0)
    rng = np.random.default_rng(0)
    gradient, H = rng.normal(size=40), rng.normal(size=(40, 42))
    direction = (solve_direction_lp(gradient, H) if method == "reference"
                 else solve_direction_lp(gradient, H, method=method))
    assert direction.status == "failed"
    assert "Time limit" in direction.message
    np.testing.assert_array_equal(direction.d_lam, [0.0, 0.0])
