"""implicit_hypergradient and implicit_jacobian against finite differences of refits.

The finite differences refit scikit-learn's estimator cold at tol = 1e-12 (relative step
1e-4: on house_price the l2 curvature makes a 1e-3 step err by 1e-5, and warm starts or
the Gram path add noise of a few 1e-5 to the small l1 component) and check that the
active set is the same at both ends, where the implicit derivative holds.
"""

from __future__ import annotations

import numpy as np
import pytest

from hyper_local_search.hypergradient import (
    active_set,
    implicit_hypergradient,
    implicit_jacobian,
    parameter_block,
)
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, fit_elastic_net, mse
from tests.conftest import problem_of

TIGHT = {"tol": 1e-12, "max_iter": 100000}
#: Relative step of the central differences in each hyperparameter.
RELATIVE_STEP = 1e-4


def _tight_fit(s, l1, l2):
    fit = fit_elastic_net(s.X_train, s.y_train, l1, l2, **TIGHT)
    assert fit.converged
    return fit


def _moved(lam, index, sign, *, log):
    moved = np.array(lam, dtype=np.float64)
    if log:
        moved[index] *= np.exp(sign * RELATIVE_STEP)
    else:
        moved[index] += sign * RELATIVE_STEP * moved[index]
    return moved


def _central_difference(s, lam, index, base, *, log):
    """dF/dlam_index (or dF/dlog lam_index) by central differences of tight refits."""
    ends = []
    for sign in (1.0, -1.0):
        moved = _moved(lam, index, sign, log=log)
        fit = _tight_fit(s, *moved)
        np.testing.assert_array_equal(
            np.flatnonzero(fit.coef), np.flatnonzero(base.coef),
            err_msg=f"active set changed within the step at {moved}",
        )
        ends.append(mse(s.X_val, s.y_val, fit.coef, fit.intercept))
    step = RELATIVE_STEP if log else RELATIVE_STEP * lam[index]
    return (ends[0] - ends[1]) / (2 * step)


CASES = [
    pytest.param("small_splits", (0.1, 0.1), id="small-0.1-0.1"),
    pytest.param("small_splits", (0.5, 0.05), id="small-0.5-0.05"),
    pytest.param("paper_house_price", (0.47, 0.04), id="house-0.47-0.04"),
    pytest.param("paper_house_price", (0.9, 0.5), id="house-0.9-0.5"),
]


@pytest.mark.parametrize("log", [False, True], ids=["lam", "log"])
@pytest.mark.parametrize(("splits_name", "lam"), CASES)
def test_hypergradient_matches_finite_differences(request, splits_name, lam, log):
    s = request.getfixturevalue(splits_name)
    base = _tight_fit(s, *lam)
    numeric = [_central_difference(s, lam, index, base, log=log) for index in range(2)]
    analytic = implicit_hypergradient(problem_of(s), base, *lam,
        log_hyperparameters=log,
    )
    # A relative check per component, the small one included (on house_price dF/dl1 is
    # 4e-3 and 5e-4 of |dF/dl2|); observed agreement 3e-7 or better.
    assert np.all(np.abs(numeric) > 1e-4 * np.linalg.norm(numeric))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5)


def test_log_hypergradient_is_chain_rule(small_splits):
    s = small_splits
    fit = _tight_fit(s, 0.3, 0.1)
    args = (problem_of(s), fit, 0.3, 0.1)
    np.testing.assert_allclose(
        implicit_hypergradient(*args, log_hyperparameters=True),
        implicit_hypergradient(*args) * [0.3, 0.1],
        rtol=1e-14,
    )


@pytest.mark.parametrize("log", [False, True], ids=["lam", "log"])
def test_jacobian_matches_finite_differences_of_coefficients(small_splits, log):
    s = small_splits
    lam = (0.1, 0.1)
    base = _tight_fit(s, *lam)
    jac = implicit_jacobian(problem_of(s), base.coef, *lam, log_hyperparameters=log)
    assert not jac.singular
    np.testing.assert_array_equal(jac.active, [0, 1, 2, 3])  # two inactive weights
    full = jac.full_jacobian(s.X_train.shape[1])
    for index in range(2):
        ends = []
        for sign in (1.0, -1.0):
            fit = _tight_fit(s, *_moved(lam, index, sign, log=log))
            np.testing.assert_array_equal(np.flatnonzero(fit.coef), jac.active)
            ends.append(np.append(fit.coef, fit.intercept))
        step = RELATIVE_STEP if log else RELATIVE_STEP * lam[index]
        numeric = (ends[0] - ends[1]) / (2 * step)
        np.testing.assert_allclose(full[:, index], numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(full[[4, 5]], 0.0)


def test_hypergradient_is_jacobian_transpose_times_validation_gradient(small_splits):
    s = small_splits
    fit = _tight_fit(s, 0.5, 0.05)
    jac = implicit_jacobian(problem_of(s), fit.coef, 0.5, 0.05).full_jacobian(6)
    residual = s.X_val @ fit.coef + fit.intercept - s.y_val
    gradient = 2.0 * np.append(s.X_val.T @ residual, residual.sum()) / s.y_val.shape[0]
    analytic = implicit_hypergradient(problem_of(s), fit, 0.5, 0.05
    )
    np.testing.assert_allclose(analytic, jac.T @ gradient, rtol=1e-12)


def test_jacobian_closed_form_on_orthogonal_design():
    # Centred design with X^T X / n = I: w_j = (q_j - l1 sign(w_j)) / (1 + l2) on the
    # active set (q = X^T y / n), so dw/dl1 = -s / (1 + l2), dw/dl2 = -w / (1 + l2),
    # and the bias b = mean(y) does not move.
    rng = np.random.default_rng(0)
    n_samples = 50
    X = rng.normal(size=(n_samples, 4))
    X, _ = np.linalg.qr(X - X.mean(axis=0))  # orthonormal columns orthogonal to 1
    X *= np.sqrt(n_samples)
    y = X @ np.array([3.0, -2.0, 0.1, 0.0]) + 7.0 + 0.01 * rng.normal(size=n_samples)
    l1, l2 = 0.5, 0.25
    q = X.T @ (y - y.mean()) / n_samples
    w = np.sign(q) * np.maximum(np.abs(q) - l1, 0.0) / (1 + l2)
    assert np.count_nonzero(w) == 2
    jac = implicit_jacobian(ElasticNetProblem(X, y), w, l1, l2)
    np.testing.assert_array_equal(jac.active, [0, 1])
    expected = np.array(
        [[-np.sign(w[0]) / (1 + l2), -w[0] / (1 + l2)],
         [-np.sign(w[1]) / (1 + l2), -w[1] / (1 + l2)],
         [0.0, 0.0]]
    )
    np.testing.assert_allclose(jac.jacobian, expected, atol=1e-12)


def test_parameter_block_has_no_ridge_on_bias():
    X = np.arange(12.0).reshape(4, 3)
    K = parameter_block(ElasticNetProblem(X, np.zeros(4)), np.array([0, 2]), 0.5)
    design = np.column_stack([X[:, 0], X[:, 2], np.ones(4)])
    np.testing.assert_allclose(K, design.T @ design / 4 + np.diag([0.5, 0.5, 0.0]))


def test_active_set_and_tolerance():
    w = np.array([0.0, -0.0, 1e-9, -2.0, 3.0])
    np.testing.assert_array_equal(active_set(w), [2, 3, 4])
    np.testing.assert_array_equal(active_set(w, active_tol=1e-6), [3, 4])


def test_empty_active_set_gives_zero_hypergradient(small_splits):
    s = small_splits
    w = np.zeros(6)
    null_model = ElasticNetFit(w, float(s.y_train.mean()), 0, True)
    result = implicit_hypergradient(problem_of(s), null_model, 100.0, 0.1)
    np.testing.assert_array_equal(result, [0.0, 0.0])


def test_singular_block_falls_back_to_least_squares():
    # Two identical active columns and l2 = 0: K is singular; the derivative of their
    # sum is still determined, and the minimum-norm solution splits it evenly.
    rng = np.random.default_rng(3)
    column = rng.normal(size=30)
    X = np.column_stack([column, column, rng.normal(size=30)])
    w = np.array([1.0, 1.0, -0.5])
    problem = ElasticNetProblem(X, np.zeros(30))
    jac = implicit_jacobian(problem, w, 0.2, 0.0)
    assert jac.singular
    assert np.all(np.isfinite(jac.jacobian))
    np.testing.assert_allclose(jac.jacobian[0], jac.jacobian[1], atol=1e-10)
    K = parameter_block(problem, jac.active, 0.0)
    rhs = -np.array([[1.0, 1.0], [1.0, 1.0], [-1.0, -0.5], [0.0, 0.0]])
    np.testing.assert_allclose(K @ jac.jacobian, rhs, atol=1e-10)
    assert not implicit_jacobian(problem, w, 0.2, 1e-3).singular  # l2 > 0: positive definite
