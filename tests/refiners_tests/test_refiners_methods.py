"""What each budgeted refiner does, beyond the shared contract.

random-local: the 1/5th success rule (grow on success, shrink on failure) on fake
problems whose every fit succeeds or fails, and convergence on a quadratic in log space.
hypergradient: the first trial is one natural-log unit along -hypergradient, the loss
decreases, a null model stops at once. path: the grid plan and its accounting, alpha_max,
the selection as the argmin over path points. optuna-continue: trial counting and the
statuses for a missing, exhausted or misbehaving study.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from threadpoolctl import threadpool_limits

from hyper_local_search.hypergradient import implicit_hypergradient
from hyper_local_search.refiners.base import HYPERPARAMETER_FLOOR, RefinerStart
from hyper_local_search.refiners.enet_path import (
    ALPHA_RANGE,
    L1_RATIOS,
    plan_grids,
    refine_path,
)
from hyper_local_search.refiners.hypergradient_descent import refine_hypergradient
from hyper_local_search.refiners.optuna_continue import refine_optuna_continue
from hyper_local_search.refiners.random_local import (
    INITIAL_STEP,
    MAX_STEP,
    adapt_step,
    refine_random_local,
)
from optuna_training.elastic_net import SKLEARN, ElasticNetFit, mse
from optuna_training.search_space import PAPER_SPACE
from tests.conftest import problem_of


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def start_at(splits, l1, l2, budget, *, seed=0, continue_study=None, problem=None,
             solver="converged"):
    problem = problem or problem_of(splits, solver=solver)
    return RefinerStart(
        problem=problem, l1=l1, l2=l2, fit=problem.fit(l1, l2), budget=budget,
        seed=seed, space=PAPER_SPACE, continue_study=continue_study,
    )


# --- random-local -----------------------------------------------------------------

class ScriptedProblem:
    """A fake problem whose validation MSE is loss(l1, l2, k), k the fit's index.

    With X_val = ones((2, 1)) and y_val = 0 the validation MSE of coef [c] is c^2, so a fit
    returns coef [sqrt(loss)].
    """

    solver = SKLEARN

    def __init__(self, loss):
        self.loss, self.calls = loss, 0

    def fit(self, l1, l2, *, coef_init=None):
        value = self.loss(l1, l2, self.calls)
        self.calls += 1
        return ElasticNetFit(np.array([math.sqrt(value)]), 0.0, 1, True)

    def val_mse(self, fit):
        return float(fit.coef[0] ** 2)


def scripted_start(loss, l1, l2, budget, seed=7):
    problem = ScriptedProblem(loss)
    fit = ElasticNetFit(np.array([math.sqrt(loss(l1, l2, -1))]), 0.0, 1, True)
    return RefinerStart(problem=problem, l1=l1, l2=l2, fit=fit, budget=budget,
                        seed=seed, space=PAPER_SPACE)


def step_sizes(result, seed):
    """The step sigma of each proposal, recovered from the replayed random draws.

    The refiner draws, per proposal, the move (rng.integers(3)) then z (2 normals), and
    moves the chosen coordinates by sigma * z from the incumbent.
    """
    rng = np.random.default_rng(seed)
    moves = (np.array([1, 0]), np.array([0, 1]), np.array([1, 1]))
    incumbent = np.log(result.path[0][:2])
    best = result.path[0][2]
    sigmas = []
    for l1, l2, val in result.path[1:]:
        move, z = moves[rng.integers(3)], rng.standard_normal(2)
        delta = np.log([l1, l2]) - incumbent
        chosen = np.flatnonzero(move)
        sigmas.append(float(np.mean(delta[chosen] / z[chosen])))
        np.testing.assert_allclose(delta[move == 0], 0.0)
        if val < best:
            incumbent, best = np.log([l1, l2]), val
    return np.array(sigmas)


def test_adapt_step_is_the_one_fifth_rule():
    assert adapt_step(1.0, True) == pytest.approx(math.exp(0.5))
    assert adapt_step(1.0, False) == pytest.approx(math.exp(-0.125))
    rate_one_fifth = adapt_step(1.0, True)
    for _ in range(4):
        rate_one_fifth = adapt_step(rate_one_fifth, False)
    assert rate_one_fifth == pytest.approx(1.0)
    assert adapt_step(MAX_STEP, True) == MAX_STEP


def test_random_local_step_grows_on_every_success():
    # Every fit is better than all before it (losses 1, 1/2, 1/3, ...).
    start = scripted_start(lambda l1, l2, k: 2.0 / (k + 2), 1e3, 1e3, budget=5)
    result = refine_random_local(start)
    assert result.n_fits == 5
    sigmas = step_sizes(result, start.seed)
    np.testing.assert_allclose(sigmas, INITIAL_STEP * np.exp(0.5 * np.arange(5)), rtol=1e-9)


def test_random_local_step_shrinks_on_every_failure():
    # Every fit is worse than the start: the incumbent never moves.
    start = scripted_start(lambda l1, l2, k: 1.0 if k < 0 else 2.0 + k, 1.0, 1.0, budget=12)
    result = refine_random_local(start)
    assert (result.l1, result.l2, result.status, result.n_fits) == (1.0, 1.0, "no_improvement", 12)
    sigmas = step_sizes(result, start.seed)
    np.testing.assert_allclose(sigmas, INITIAL_STEP * np.exp(-0.125 * np.arange(12)), rtol=1e-9)


def test_random_local_spends_no_fit_on_a_proposal_clipped_onto_the_incumbent():
    # At the floor in both hyperparameters, every proposal moving only downwards is
    # clipped back onto the start: a failure, but not a fit.
    floor = HYPERPARAMETER_FLOOR
    start = scripted_start(lambda l1, l2, k: 1.0 if k < 0 else 2.0, floor, floor, budget=20)
    result = refine_random_local(start)
    assert result.n_fits == 20 == start.problem.calls
    assert all(p[:2] != (floor, floor) for p in result.path[1:])
    assert all(min(p[:2]) >= floor for p in result.path)


def test_random_local_converges_on_a_log_quadratic_and_stops_on_a_small_step():
    optimum = np.array([math.log(20.0), math.log(0.003)])

    def loss(l1, l2, k):
        return 1.0 + float(np.sum((np.log([l1, l2]) - optimum) ** 2))

    result = refine_random_local(scripted_start(loss, 1.0, 1.0, budget=400))
    assert np.linalg.norm(np.log([result.l1, result.l2]) - optimum) < 1e-2
    assert result.status == "improved"
    assert result.n_fits < 400  # stopped by the step falling below MIN_STEP


# --- hypergradient ------------------------------------------------------------------

def test_hypergradient_first_trial_is_one_log_unit_along_minus_the_hypergradient(small_splits):
    s = small_splits
    start = start_at(s, 0.9, 0.5, budget=1)
    g = implicit_hypergradient(start.problem, start.fit, 0.9, 0.5, log_hyperparameters=True)
    result = refine_hypergradient(start)
    step = np.log(result.path[1][:2]) - np.log([0.9, 0.5])
    np.testing.assert_allclose(step, -g / np.linalg.norm(g), rtol=1e-9)


@pytest.mark.parametrize(("l1", "l2"), [(0.9, 0.5), (0.47, 0.04), (0.05, 2.0)])
def test_hypergradient_descent_decreases_the_loss(small_splits, l1, l2):
    result = refine_hypergradient(start_at(small_splits, l1, l2, budget=30))
    assert result.status == "improved"
    assert result.val_mse < 0.9 * result.path[0][2]


def test_hypergradient_replays_as_armijo_backtracking(small_splits):
    # Replay the trials independently: each moves from the last Armijo-accepted point
    # along -g there, with eta doubled after an acceptance and halved after a rejection.
    s = small_splits
    start = start_at(s, 0.9, 0.5, budget=25)
    result = refine_hypergradient(start)
    u, loss, fit = np.log([0.9, 0.5]), result.path[0][2], start.fit
    eta, n_accepted = None, 0
    for l1, l2, val in result.path[1:]:
        g = implicit_hypergradient(start.problem, fit, *np.exp(u), log_hyperparameters=True)
        eta = 1.0 / np.linalg.norm(g) if eta is None else eta
        step = np.log([l1, l2]) - u
        np.testing.assert_allclose(step, -eta * g, rtol=1e-8)
        if val <= loss + 1e-4 * float(g @ step):
            u, loss, fit = np.log([l1, l2]), val, start.problem.fit(l1, l2)
            eta, n_accepted = 2 * eta, n_accepted + 1
        else:
            eta /= 2
    assert 3 <= n_accepted < result.n_fits  # both branches are exercised


def test_hypergradient_stops_at_a_null_model(small_splits):
    # Far above alpha_max every weight is zero: no active set, a zero hypergradient.
    result = refine_hypergradient(start_at(small_splits, 1e4, 1e4, budget=10))
    assert (result.status, result.n_fits) == ("zero_gradient", 0)


# --- path ----------------------------------------------------------------------------

@pytest.mark.parametrize("budget", [*range(0, 12), 38, 100])
def test_path_plan_uses_the_whole_budget(budget):
    plan = plan_grids(budget)
    if budget < 2:
        assert plan == []
        return
    assert sum(n for _, n in plan) == budget
    assert all(n >= 2 for _, n in plan)
    assert {r for r, _ in plan} <= set(L1_RATIOS)
    assert len(plan) == min(len(L1_RATIOS), budget // 2)
    counts = [n for _, n in plan]
    assert max(counts) - min(counts) <= 1


def test_path_grids_start_at_the_zero_model(small_splits):
    # Each grid starts at alpha_max / l1_ratio, where every weight is zero, and ends
    # ALPHA_RANGE below it, geometrically.
    start = start_at(small_splits, 0.47, 0.04, 14)
    result = refine_path(start)
    problem = start.problem
    points = result.path[1:]
    for l1_ratio, n_alphas in plan_grids(14):
        mine = [p for p in points if abs(p[0] / (p[0] + p[1]) - l1_ratio) < 1e-9]
        assert len(mine) == n_alphas
        alphas = np.array([p[0] + p[1] for p in mine])
        assert alphas[0] == pytest.approx(problem.alpha_max / l1_ratio, rel=1e-12)
        assert alphas[-1] == pytest.approx(alphas[0] * ALPHA_RANGE, rel=1e-9)
        np.testing.assert_allclose(np.diff(np.log(alphas)),
                                   math.log(ALPHA_RANGE) / (n_alphas - 1))
        first = problem.fit(mine[0][0], mine[0][1])
        assert not first.coef.any()
        assert problem.fit(0.99 * mine[0][0], 0.99 * mine[0][1]).coef.any()


@pytest.mark.parametrize("budget", [3, 5, 9, 38])
def test_path_accounting_and_selection(small_splits, budget):
    start = start_at(small_splits, 0.47, 0.04, budget)
    result = refine_path(start)
    assert result.status == "selected"
    assert result.n_fits == budget  # every fit a path point
    points = result.path[1:]
    assert len(points) == sum(n for _, n in plan_grids(budget))
    best = min(points, key=lambda p: p[2])
    assert (result.l1, result.l2, result.val_mse) == best
    # Each path point (l1, l2) = (alpha r, alpha (1 - r)) for a planned l1_ratio r.
    ratios = {round(l1 / (l1 + l2), 12) for l1, l2, _ in points}
    assert ratios == {round(r, 12) for r, _ in plan_grids(budget)}


def test_path_points_agree_with_cold_fits(small_splits):
    start = start_at(small_splits, 0.47, 0.04, 38)
    result = refine_path(start)
    s = small_splits
    for l1, l2, val in result.path[1:]:
        cold = start.problem.fit(max(l1, HYPERPARAMETER_FLOOR), max(l2, HYPERPARAMETER_FLOOR))
        assert val == pytest.approx(mse(s.X_val, s.y_val, cold.coef, cold.intercept), rel=1e-8)


def test_path_ignores_the_start_and_may_end_worse(paper_house_price):
    # On house_price the best path point is worse than an in-box valley start: by design.
    start = start_at(paper_house_price, 0.47, 0.04, 38)
    result = refine_path(start)
    assert result.status == "selected"
    assert result.val_mse > result.path[0][2]
    other = refine_path(start_at(paper_house_price, 0.9, 0.5, 38, problem=start.problem))
    assert (other.l1, other.l2, other.val_mse) == (result.l1, result.l2, result.val_mse)


# --- optuna-continue ------------------------------------------------------------------

def study_continuation(splits, seed=0):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = problem_of(splits)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))

    def continue_study(n_trials):
        trials = []

        def objective(trial):
            l1 = trial.suggest_float("l1", PAPER_SPACE.low, PAPER_SPACE.high)
            l2 = trial.suggest_float("l2", PAPER_SPACE.low, PAPER_SPACE.high)
            fit = problem.fit(l1, l2)
            trials.append((l1, l2, fit))
            return problem.val_mse(fit)

        study.optimize(objective, n_trials=n_trials)
        return trials

    return study, continue_study


def test_optuna_continue_runs_exactly_budget_trials(small_splits):
    study, continue_study = study_continuation(small_splits)
    result = refine_optuna_continue(start_at(small_splits, 0.9, 0.5, 7,
                                             continue_study=continue_study))
    assert len(study.trials) == 7 == result.n_fits
    assert [p[:2] for p in result.path[1:]] == [
        (t.params["l1"], t.params["l2"]) for t in study.trials]
    assert [p[2] for p in result.path[1:]] == pytest.approx([t.value for t in study.trials])


def test_optuna_continue_without_a_study(small_splits):
    result = refine_optuna_continue(start_at(small_splits, 0.9, 0.5, 7))
    assert (result.status, result.n_fits, result.l1, result.l2) == ("no_study", 0, 0.9, 0.5)


def test_optuna_continue_exhausted_study(small_splits):
    start = start_at(small_splits, 1e-3, 1e-3, 10,
                     continue_study=lambda n: [(1.0, 1.0, small_problem_fit(small_splits))])
    result = refine_optuna_continue(start)
    assert (result.status, result.n_fits) == ("study_exhausted", 1)


def test_optuna_continue_rejects_extra_trials(small_splits):
    fit = small_problem_fit(small_splits)
    start = start_at(small_splits, 0.9, 0.5, 2, continue_study=lambda n: [(1.0, 1.0, fit)] * 3)
    with pytest.raises(RuntimeError, match=r"continue_study\(2\) returned 3 trials"):
        refine_optuna_continue(start)


def small_problem_fit(splits):
    return problem_of(splits).fit(1.0, 1.0)


def test_random_local_stays_below_the_ceiling_on_a_loss_that_falls_forever():
    # The loss falls without end as l2 grows (as a flat null-model direction can, by
    # rounding): repeated successes grow the step, and the ceiling keeps exp(u) finite.
    from hyper_local_search.refiners.base import HYPERPARAMETER_CEILING

    result = refine_random_local(scripted_start(lambda l1, l2, k: 1.0 / (1.0 + math.log1p(l2)),
                                                1.0, 1.0, budget=300))
    assert max(max(l1, l2) for l1, l2, _ in result.path) <= HYPERPARAMETER_CEILING
    assert result.l2 == pytest.approx(HYPERPARAMETER_CEILING, rel=1e-9)
