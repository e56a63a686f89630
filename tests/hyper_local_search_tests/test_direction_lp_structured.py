"""The structured direction LP (method="structured") against the full LP and a closed form.

The structured method solves the LP over (d_lam, r = H d) by constraint generation; it is
the same LP, so where the optimum is a single point it must return it. The reference is
the full LP as the authors pass it ([H; -H] rows, ``linprog``). The tests ask for 1e-10
in d_lam and in the objective (relative), on 400 random LPs (100 seeds x 6-120
parameters) and at six house-price starts. Where M (the (w, b) block) is ill-conditioned
the full LP is solved instead, and the answer is the "ranged" one.
"""

import numpy as np
import pytest

from hyper_local_search import direction_lp
from hyper_local_search.curvature_information import paper_constraint_matrix, validation_gradient
from hyper_local_search.direction_lp import (
    DELTA,
    HYPER_BOUND,
    PARAM_BOUND,
    solve_direction_lp,
)
from optuna_training.elastic_net import ElasticNetProblem, fit_elastic_net

D_LAM_ATOL = 1e-10
OBJECTIVE_RTOL = 1e-10
#: The paper's start, the QMC sampler's, two turning to lower l1, one on the l1 floor,
#: and the grid's (1, 1e-10), where M is singular and the full LP is solved.
HOUSE_STARTS = [(0.47, 0.04), (0.27, 0.047), (0.9, 0.5), (0.2, 0.2), (1e-10, 0.0387),
                (1.0, 1e-10)]


def _random_lp(seed, n_params):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n_params), rng.normal(size=(n_params, 2 + n_params))


def _describe(direction):
    return f"status={direction.status} message={direction.message!r}"


def _assert_same_direction(structured, reference):
    assert reference.ok, _describe(reference)
    assert structured.ok, _describe(structured)
    np.testing.assert_allclose(structured.d_lam, reference.d_lam, rtol=0, atol=D_LAM_ATOL)
    assert structured.objective == pytest.approx(reference.objective, rel=OBJECTIVE_RTOL)


@pytest.mark.parametrize("n_params", [6, 20, 50, 120])
@pytest.mark.parametrize("seed", range(100))
def test_random_lps_give_the_reference_direction(seed, n_params):
    gradient, H = _random_lp(seed, n_params)
    structured = solve_direction_lp(gradient, H, method="structured")
    _assert_same_direction(structured, solve_direction_lp(gradient, H))
    assert structured.message.startswith("structured LP:"), _describe(structured)
    d = structured.d_raw
    assert np.all(np.abs(H @ d) <= DELTA * (1 + 1e-6)), _describe(structured)
    assert np.all(np.abs(d[:2]) <= HYPER_BOUND + 1e-9)
    assert np.all(np.abs(d[2:]) <= PARAM_BOUND * (1 + 1e-9))
    assert structured.max_violation <= 1e-6


def test_box_optimum_in_closed_form():
    # M = I and small hyperparameter columns: no d_theta row binds, so the optimum is the
    # box's: d_lam = sign(A^T g) (unit-normalised), r = -delta sign(g),
    # d_theta = r - A d_lam. No LP is solved.
    rng = np.random.default_rng(4)
    n_params = 30
    A = rng.normal(size=(n_params, 2))
    gradient = rng.normal(size=n_params)
    H = np.hstack([A, np.eye(n_params)])
    structured = solve_direction_lp(gradient, H, method="structured")
    assert structured.ok, _describe(structured)
    d_lam = np.sign(A.T @ gradient)
    np.testing.assert_allclose(structured.d_lam, d_lam / np.linalg.norm(d_lam), atol=1e-15)
    np.testing.assert_allclose(structured.d_raw[2:], -DELTA * np.sign(gradient) - A @ d_lam,
                               atol=1e-15)
    assert "box optimum feasible" in structured.message
    assert "0 of 30 d_theta rows" in structured.message
    _assert_same_direction(structured, solve_direction_lp(gradient, H))


@pytest.fixture(scope="module")
def house_lps(paper_house_price):
    s = paper_house_price
    problem = ElasticNetProblem(s.X_train, s.y_train)
    lps = {}
    for l1, l2 in HOUSE_STARTS:
        fit = fit_elastic_net(s.X_train, s.y_train, l1, l2)
        lps[(l1, l2)] = (
            validation_gradient(s.X_val, s.y_val, fit.coef, fit.intercept),
            paper_constraint_matrix(problem, fit.coef, l2),
        )
    return lps


@pytest.mark.parametrize("start", HOUSE_STARTS, ids=str)
def test_house_price_starts_give_the_reference_direction(house_lps, start):
    gradient, H = house_lps[start]
    structured = solve_direction_lp(gradient, H, method="structured")
    _assert_same_direction(structured, solve_direction_lp(gradient, H))
    assert structured.max_violation <= 1e-9
    if start[1] > 1e-6:  # M = (2/n) [X 1]^T [X 1] + l2 I is well-conditioned
        assert structured.message.startswith("structured LP:"), _describe(structured)
        assert "of 285 d_theta rows generated" in structured.message


def test_singular_block_falls_back_to_the_full_lp(house_lps):
    # The grid start (1, 1e-10): M has a null space (collinear one-hot columns); the
    # answer is exactly the ranged full LP's.
    gradient, H = house_lps[(1.0, 1e-10)]
    structured = solve_direction_lp(gradient, H, method="structured")
    ranged = solve_direction_lp(gradient, H, method="ranged")
    assert structured.message.startswith("structured LP not used (M is ill-conditioned")
    np.testing.assert_array_equal(structured.d_raw, ranged.d_raw)


def test_exactly_singular_block_falls_back():
    rng = np.random.default_rng(0)
    gradient, H = rng.normal(size=5), rng.normal(size=(5, 7))
    H[:, 3] = H[:, 2]  # two equal columns of M
    structured = solve_direction_lp(gradient, H, method="structured")
    assert "structured LP not used" in structured.message
    _assert_same_direction(structured, solve_direction_lp(gradient, H, method="ranged"))


def test_rounds_running_out_falls_back(monkeypatch):
    gradient, H = _random_lp(1, 50)
    monkeypatch.setattr(direction_lp, "STRUCTURED_MAX_ROUNDS", 0)
    H = H.copy()
    H[:, :2] *= 1e4  # large hyperparameter columns: the box optimum violates rows
    structured = solve_direction_lp(gradient, H, method="structured")
    assert "0 rounds did not reach a feasible answer" in structured.message
    _assert_same_direction(structured, solve_direction_lp(gradient, H))


def test_zero_gradient_gives_zero_direction():
    H = np.hstack([np.ones((3, 2)), np.eye(3)])
    direction = solve_direction_lp(np.zeros(3), H, method="structured")
    assert direction.status == "zero_direction"
    np.testing.assert_array_equal(direction.d_lam, [0.0, 0.0])
