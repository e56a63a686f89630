import numpy as np
import pytest

from hyper_local_search.curvature_information import (
    paper_constraint_matrix,
    paper_stationarity,
    validation_gradient,
)
from optuna_training.elastic_net import ElasticNetProblem


def _central_differences(function, x, h):
    columns = []
    for e in np.eye(x.shape[0]):
        columns.append((function(x + h * e) - function(x - h * e)) / (2 * h))
    return np.array(columns).T


def test_validation_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X, y, theta = rng.normal(size=(30, 4)), rng.normal(size=30), rng.normal(size=5)

    def loss(t):  # written independently of the module
        return np.mean((X @ t[:-1] + t[-1] - y) ** 2)

    numeric = _central_differences(lambda t: np.array([loss(t)]), theta, 1e-6)[0]
    analytic = validation_gradient(X, y, theta[:-1], theta[-1])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_validation_gradient_is_zero_at_least_squares_solution():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    design = np.hstack([X, np.ones((40, 1))])
    theta = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(validation_gradient(X, y, theta[:-1], theta[-1]), 0, atol=1e-12)


@pytest.fixture
def lower_level_point():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(25, 5)), rng.normal(size=25)
    w = rng.normal(size=5)  # no zero weight: sign(w) is locally constant
    return X, y, 0.3, 0.7, w, 0.4


def test_constraint_matrix_parameter_block_is_jacobian_of_stationarity(lower_level_point):
    X, y, l1, l2, w, b = lower_level_point
    H = paper_constraint_matrix(ElasticNetProblem(X, y), w, l2)
    theta = np.append(w, b)
    numeric = _central_differences(
        lambda t: paper_stationarity(X, y, l1, l2, t[:-1], t[-1]), theta, 1e-6
    )
    np.testing.assert_allclose(H[:, 2:], numeric, rtol=1e-6, atol=1e-8)


def test_constraint_matrix_hyperparameter_columns(lower_level_point):
    X, y, l1, l2, w, b = lower_level_point
    H = paper_constraint_matrix(ElasticNetProblem(X, y), w, l2)
    lam = np.array([l1, l2])
    numeric = _central_differences(
        lambda v: paper_stationarity(X, y, v[0], v[1], w, b), lam, 1e-6
    )
    # d/dl1 agrees everywhere; d/dl2 agrees on the weights, while the paper's matrix has
    # 0 in the bias row where the stationarity function has b (METHOD.md).
    np.testing.assert_allclose(H[:, 0], numeric[:, 0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(H[:-1, 1], numeric[:-1, 1], rtol=1e-7, atol=1e-9)
    assert numeric[-1, 1] == pytest.approx(b)
    assert H[-1, 1] == 0.0
    assert H[-1, 0] == 0.0


def test_constraint_matrix_layout_and_zero_weights():
    X = np.arange(12.0).reshape(4, 3)
    w = np.array([0.0, -2.0, 5.0])
    H = paper_constraint_matrix(ElasticNetProblem(X, np.zeros(4)), w, 0.25)
    assert H.shape == (4, 6)
    np.testing.assert_array_equal(H[:, 0], [0.0, -1.0, 1.0, 0.0])  # sign(0) = 0
    np.testing.assert_array_equal(H[:, 1], [0.0, -2.0, 5.0, 0.0])
    design = np.hstack([X, np.ones((4, 1))])
    expected = 0.5 * design.T @ design + 0.25 * np.eye(4)  # 2/n with n = 4; bias ridge too
    np.testing.assert_allclose(H[:, 2:], expected)
