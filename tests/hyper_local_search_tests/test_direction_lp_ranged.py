"""The ranged-row direction LP (method="ranged") against the reference rows [H; -H].

Both hand the same LP to the same HiGHS. Where the optimum is a single point they must
return it; where the optimal face is wider they may return different vertices of it,
with the same objective. Measured (scipy 1.17.1, 2-core Intel Xeon VM): on 900 random
LPs (`_random_lp` with seeds 0-299 at each of the sizes 6, 20 and 50) the normalised
d_lam agree to <= 1.5e-12 and the objectives to <= 2.6e-12 relative; at the four
house-price starts below to <= 7.3e-16 and <= 3.8e-13. The tests run 30 of those random
LPs (seeds 0-9 at each size) and the four starts, and ask for 1e-9 in both. At the grid
start (1, 1e-10) the (w, b) block is singular and the two answers are different optimal
vertices: the columns GarageQual_Missing and GarageCond_Missing are equal in X_train and
X_val, so their weights share one gradient entry and, but for l2 = 1e-10 on the
diagonal, one column of H; only the sum of their two d_w entries matters, and the
reference returns (-100, +100) where the ranged rows give (+100, -100). d_lam and the
objective agree.
"""

import numpy as np
import pytest
from scipy.optimize import OptimizeResult

from hyper_local_search import direction_lp
from hyper_local_search.curvature_information import paper_constraint_matrix, validation_gradient
from hyper_local_search.direction_lp import (
    DELTA,
    HYPER_BOUND,
    PARAM_BOUND,
    solve_direction_lp,
)
from optuna_training.elastic_net import ElasticNetProblem, fit_elastic_net

#: Agreement asked of the two methods (measured: 1.5e-12 for d_lam, 2.6e-12 objective).
D_LAM_ATOL = 1e-9
OBJECTIVE_RTOL = 1e-9
#: HLS starts: the paper's, the QMC sampler's, one turning to lower l1, the grid's.
HOUSE_STARTS = [(0.47, 0.04), (0.27, 0.047), (0.9, 0.5), (1.0, 1e-10)]


def _random_lp(seed, n_params=6):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n_params), rng.normal(size=(n_params, 2 + n_params))


def _describe(direction):
    return f"status={direction.status} message={direction.message!r}"


def _assert_same_direction(ranged, reference):
    assert reference.ok, _describe(reference)
    assert ranged.ok, _describe(ranged)
    np.testing.assert_allclose(ranged.d_lam, reference.d_lam, rtol=0, atol=D_LAM_ATOL)
    assert ranged.objective == pytest.approx(reference.objective, rel=OBJECTIVE_RTOL)


@pytest.fixture(scope="module")
def house_lps(paper_house_price):
    s = paper_house_price
    lps = {}
    for l1, l2 in HOUSE_STARTS:
        fit = fit_elastic_net(s.X_train, s.y_train, l1, l2)
        lps[(l1, l2)] = (
            validation_gradient(s.X_val, s.y_val, fit.coef, fit.intercept),
            paper_constraint_matrix(ElasticNetProblem(s.X_train, s.y_train), fit.coef, l2),
        )
    return lps


@pytest.mark.parametrize("n_params", [6, 20, 50])
@pytest.mark.parametrize("seed", range(10))
def test_random_lps_give_the_reference_direction(seed, n_params):
    gradient, H = _random_lp(seed, n_params)
    ranged = solve_direction_lp(gradient, H, method="ranged")
    _assert_same_direction(ranged, solve_direction_lp(gradient, H))
    d = ranged.d_raw
    assert np.all(np.abs(H @ d) <= DELTA * (1 + 1e-6)), _describe(ranged)
    assert np.all(np.abs(d[:2]) <= HYPER_BOUND + 1e-9)
    assert np.all(np.abs(d[2:]) <= PARAM_BOUND + 1e-9)
    assert ranged.max_violation <= 1e-9
    assert np.linalg.norm(ranged.d_lam) == pytest.approx(1.0)


@pytest.mark.parametrize("presolve", [True, False])
def test_presolve_does_not_change_the_answer(presolve):
    gradient, H = _random_lp(3, 20)
    for method in ("reference", "ranged"):
        _assert_same_direction(
            solve_direction_lp(gradient, H, method=method, presolve=presolve),
            solve_direction_lp(gradient, H),
        )


@pytest.mark.parametrize("start", HOUSE_STARTS, ids=str)
def test_house_price_starts_give_the_reference_direction(house_lps, start):
    gradient, H = house_lps[start]
    reference = solve_direction_lp(gradient, H)
    ranged = solve_direction_lp(gradient, H, method="ranged")
    _assert_same_direction(ranged, reference)
    assert ranged.max_violation <= 1e-9
    assert ranged.objective < 0.0  # d = 0 is feasible, and the gradient is not zero


def test_house_price_direction_is_the_published_one(house_lps):
    # METHOD.md: about (+1, -6e-4 .. -1e-3) at the paper's start.
    direction = solve_direction_lp(*house_lps[(0.47, 0.04)], method="ranged")
    assert direction.ok, _describe(direction)
    assert direction.d_lam[0] == pytest.approx(1.0, abs=1e-6)
    assert -1e-3 <= direction.d_lam[1] <= -6e-4


def test_reference_call_is_unchanged(monkeypatch):
    # method="reference" with presolve=None must make the original linprog call, with
    # only HiGHS's time limit added (it changes nothing unless an LP would hang).
    calls = []

    def spy(c, **kwargs):
        calls.append(kwargs)
        return OptimizeResult(status=4, x=None, message="spy")

    monkeypatch.setattr(direction_lp, "linprog", spy)
    gradient, H = _random_lp(0)
    solve_direction_lp(gradient, H)
    assert set(calls[0]) == {"A_ub", "b_ub", "bounds", "method", "options"}
    assert calls[0]["options"] == {"time_limit": direction_lp.LP_TIME_LIMIT}
    assert calls[0]["method"] == "highs"
    assert calls[0]["A_ub"].shape == (2 * H.shape[0], H.shape[1])
    solve_direction_lp(gradient, H, presolve=False)
    assert calls[1]["options"] == {"presolve": False, "time_limit": direction_lp.LP_TIME_LIMIT}


def test_ranged_rows_are_passed_once(monkeypatch):
    seen = {}

    def spy(c, *, constraints, bounds, options):
        seen.update(constraints=constraints, bounds=bounds, options=options)
        return OptimizeResult(status=4, x=None, message="spy")

    monkeypatch.setattr(direction_lp, "milp", spy)
    gradient, H = _random_lp(0)
    solve_direction_lp(gradient, H, method="ranged")
    rows = seen["constraints"]
    assert rows.A.shape == H.shape
    np.testing.assert_array_equal(rows.lb, -rows.ub)
    assert seen["options"] == {"presolve": False, "time_limit": direction_lp.LP_TIME_LIMIT}
    np.testing.assert_array_equal(seen["bounds"].ub, [HYPER_BOUND] * 2 + [PARAM_BOUND] * 6)


def test_inaccurate_ranged_solution_is_reported_not_trusted(monkeypatch):
    gradient, H = _random_lp(0)
    monkeypatch.setattr(
        direction_lp, "milp",
        lambda *a, **k: OptimizeResult(status=0, x=np.full(H.shape[1], 0.5), message="fake"),
    )
    direction = solve_direction_lp(gradient, H, method="ranged")
    assert direction.status == "inaccurate"
    assert direction.max_violation > 1e-3
    np.testing.assert_array_equal(direction.d_lam, [0.0, 0.0])


@pytest.mark.parametrize(("code", "status"), [(1, "failed"), (2, "infeasible"), (3, "unbounded"),
                                              (4, "failed")])
def test_ranged_solver_failures_map_to_statuses(monkeypatch, code, status):
    gradient, H = _random_lp(1)
    monkeypatch.setattr(
        direction_lp, "milp",
        lambda *a, **k: OptimizeResult(status=code, x=None, message="solver said no"),
    )
    direction = solve_direction_lp(gradient, H, method="ranged")
    assert direction.status == status
    assert direction.message == "solver said no"
    assert not direction.ok


def test_ranged_zero_gradient_gives_zero_direction_status():
    H = np.hstack([np.zeros((3, 2)), np.eye(3)])
    direction = solve_direction_lp(np.zeros(3), H, method="ranged")
    assert direction.status in {"zero_direction", "optimal"}
    if direction.status == "optimal":  # any feasible point is optimal; d_lam must be unit
        assert np.linalg.norm(direction.d_lam) == pytest.approx(1.0)


def test_unknown_method_is_rejected():
    gradient, H = _random_lp(0)
    with pytest.raises(ValueError,
                       match=r"method must be one of \('reference', 'ranged', 'structured'\)"):
        solve_direction_lp(gradient, H, method="dual")
