"""One unit of the protocol: for a (sampler, simulation), an Optuna study, the HLS search
from its best model, then (with refiners) the equal-budget alternatives.

A unit is a pure function of (splits, config, sampler, simulation, seed): no file, no
global state (BLAS is held to one thread inside it); the execution module runs units in
parallel and the store module persists them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import optuna
from threadpoolctl import threadpool_limits

from datasets.splits import Splits
from experiment.config import RunConfig
from experiment.published_starts import (
    COEF_MISMATCH,
    PublishedStart,
    replayed_study,
    start_coef_rel_diff,
)
from hyper_local_search.hls_search import HLSSearchResult, hls_search
from hyper_local_search.hls_step import HYPERPARAMETER_FLOOR, HLSResult
from hyper_local_search.refiners import REFINER_NAMES, make_refiner
from hyper_local_search.refiners.base import RefinerResult, RefinerStart
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, mse
from optuna_training.search_space import SEARCH_SPACES
from optuna_training.study import ElasticNetStudy, Incumbent, StudyResult
from utils.seeding import simulation_seeds

#: Budget of the "hls" refiner when no --budget is given: in effect unlimited, since its
#: own fits set everyone else's budget.
UNLIMITED_BUDGET = 1_000_000


@dataclass(frozen=True)
class UnitResult:
    """One (sampler, simulation) unit: the Optuna study and the HLS step from its best model.

    Attributes
    ----------
    record : dict
        One row of the per-simulation sheet (scalars only; column order is the sheet's).
    history : tuple of Incumbent
        The study's incumbents, for the figures.
    optuna_fit, hls_fit : ElasticNetFit
        The models before and after the HLS step.
    refiners : tuple of dict
        One record per refiner (``run_refiners``), empty without --refiners.
    trials : tuple of (l1, l2)
        Every Optuna trial's point, for the landscape figure.
    trial_values : tuple of float
        Every Optuna trial's value (validation MSE), in the order of ``trials``, for the
        run's journal (experiment.journal); empty in units stored by older code.
    """

    record: dict[str, object]
    history: tuple[Incumbent, ...]
    optuna_fit: ElasticNetFit
    hls_fit: ElasticNetFit = field(repr=False)
    refiners: tuple[dict[str, object], ...] = ()
    trials: tuple[tuple[float, float], ...] = field(default=(), repr=False)
    trial_values: tuple[float, ...] = field(default=(), repr=False)


def make_problem(splits: Splits, solver: str) -> ElasticNetProblem:
    """The unit's ElasticNetProblem: training and validation splits, and the solver."""
    return ElasticNetProblem(splits.X_train, splits.y_train, splits.X_val, splits.y_val,
                             solver=solver)


def losses(splits: Splits, fit: ElasticNetFit) -> tuple[float, float, float]:
    """Training, validation and test MSE of ``fit`` (squared target units)."""
    return (
        mse(splits.X_train, splits.y_train, fit.coef, fit.intercept),
        mse(splits.X_val, splits.y_val, fit.coef, fit.intercept),
        mse(splits.X_test, splits.y_test, fit.coef, fit.intercept),
    )


@dataclass(frozen=True)
class TimedHLS:
    """An HLS search with the losses before and after it, and its wall time in seconds."""

    search: HLSSearchResult
    losses_start: tuple[float, float, float]
    losses_end: tuple[float, float, float]
    seconds: float

    @property
    def step(self) -> HLSResult:
        """The first HLS step (the paper's one step)."""
        return self.search.steps[0]


def timed_hls_step(
    splits: Splits,
    problem: ElasticNetProblem,
    l1: float,
    l2: float,
    start: ElasticNetFit,
    *,
    line_search: str,
    steps: int = 1,
    formulation: str = "paper",
    log_hyperparameters: bool = False,
) -> TimedHLS:
    """An HLS search (one step by default) timed as the authors time it.

    The time covers building and solving the LP, the line search, the refit and the six
    loss evaluations (train, validation, test before and after). The fits are
    ``hls_step``'s defaults: the problem's solver, or for the paper's line search with
    the "sklearn" solver scikit-learn's estimator, as the authors fit.

    Parameters
    ----------
    splits : Splits
        For the test loss.
    problem : ElasticNetProblem
        Built on ``splits`` (training and validation parts).
    l1, l2 : float
        The start.
    start : ElasticNetFit
        The model at the start.
    line_search : {"fast", "paper"}
    steps : int
        Most HLS steps.
    formulation : {"paper", "exact"}
    log_hyperparameters : bool
    """
    begin = time.perf_counter()
    search = hls_search(
        problem, l1, l2, start, steps=steps, line_search=line_search,
        formulation=formulation, log_hyperparameters=log_hyperparameters,
    )
    losses_start = losses(splits, start)
    losses_end = losses(splits, search.fit)
    return TimedHLS(search, losses_start, losses_end, time.perf_counter() - begin)


def run_unit(
    splits: Splits,
    config: RunConfig,
    sampler: str,
    simulation: int,
    seed: int,
    start: PublishedStart | None = None,
) -> UnitResult:
    """One Optuna study, the HLS search from its best model, then the refiners.

    See ``timed_hls_step`` for what the HLS time covers; every refiner starts from the
    same Optuna model with the same budget (``run_refiners``). BLAS runs on one thread:
    the units are the parallelism, and small multi-threaded factorisations on a busy
    machine were measured 100-1000x slower than single-threaded ones.

    Parameters
    ----------
    splits : Splits
    config : RunConfig
    sampler : str
    simulation : int
    seed : int
        The simulation's seed (``units_of``).
    start : PublishedStart, optional
        With ``config.starts``: the given Optuna model of this unit, refitted in place of
        a study (experiment.published_starts).
    """
    with threadpool_limits(limits=1):
        return _run_unit(splits, config, sampler, simulation, seed, start)


def _run_unit(
    splits: Splits,
    config: RunConfig,
    sampler: str,
    simulation: int,
    seed: int,
    start: PublishedStart | None = None,
) -> UnitResult:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = make_problem(splits, config.effective_solver)
    if start is not None:  # --starts: a given model instead of a study
        study = None
        result = replayed_study(problem, start, (splits.X_test, splits.y_test),
                                n_trials=config.n_trials)
        trials = ((result.l1, result.l2),)
        trial_values = (result.best.val_mse,)
    else:
        begin = time.perf_counter()
        study = ElasticNetStudy(
            problem, sampler=sampler, n_trials=config.n_trials, seed=seed,
            space=SEARCH_SPACES[config.search_space], test=(splits.X_test, splits.y_test),
            tpe=config.tpe,
        )
        study.optimize(config.n_trials)
        result = study.result(time.perf_counter() - begin)
        trials = tuple(study.points())
        trial_values = tuple(float(t.value) if t.value is not None else float("nan")
                             for t in study.study.trials)
    hls = timed_hls_step(
        splits, problem, result.l1, result.l2, result.fit, line_search=config.line_search,
        steps=config.hls_steps, formulation=config.formulation,
        log_hyperparameters=config.log_hyperparameters,
    )
    step, search = hls.step, hls.search
    line = step.line_search
    record: dict[str, object] = {
        "sampler": sampler,
        "simulation": simulation,
        "seed": seed,
        "n_trials": result.n_trials,
        "l1_optuna": result.l1,
        "l2_optuna": result.l2,
        "l1_hls": search.l1,
        "l2_hls": search.l2,
        "train_mse_optuna": hls.losses_start[0],
        "val_mse_optuna": hls.losses_start[1],
        "test_mse_optuna": hls.losses_start[2],
        "train_mse_hls": hls.losses_end[0],
        "val_mse_hls": hls.losses_end[1],
        "test_mse_hls": hls.losses_end[2],
        "seconds_optuna": result.seconds,
        "seconds_hls": hls.seconds,
        "lp_status": step.direction.status,
        "hls_fits": search.n_fits,
        "hls_steps_taken": len(search.steps),
        "hls_stop_reason": search.stop_reason,
        "t_star": step.t,
        "d_l1": float(step.direction.d_lam[0]),
        "d_l2": float(step.direction.d_lam[1]),
        "lp_objective": step.direction.objective,
        "lp_max_violation": step.direction.max_violation,
        "bracket_low": np.nan if line is None else line.bracket[0],
        "bracket_high": np.nan if line is None else line.bracket[1],
        "optuna_fit_converged": result.fit.converged,
        "hls_fit_converged": search.fit.converged,
        "optuna_fit_gap": result.fit.gap,
        "hls_fit_gap": search.fit.gap,
        "hls_clipped_at_floor": min(search.l1, search.l2) <= HYPERPARAMETER_FLOOR,
        "hls_unconverged_fits": sum(s.n_unconverged_fits for s in search.steps),
        "hls_nonfinite_losses": sum(s.n_nonfinite_losses for s in search.steps),
        "faults": "; ".join(unit_faults(result.fit, search, problem.solver.name)),
        "lp_message": step.direction.message,
    }
    if start is not None:
        record["start_simulation"] = start.simulation
        record["start_coef_rel_diff"] = start_coef_rel_diff(start, result.fit.coef)
        if record["start_coef_rel_diff"] > COEF_MISMATCH:
            record["faults"] = "; ".join(filter(None, [
                str(record["faults"]), f"published model differs from its refit by "
                f"{record['start_coef_rel_diff']:.1e} relative"]))
    refiners = run_refiners(splits, config, problem, result, study, seed)
    return UnitResult(record, result.history, result.fit, search.fit, refiners, trials,
                      trial_values)


def unit_faults(optuna_fit: ElasticNetFit, search: HLSSearchResult, solver: str) -> list[str]:
    """Numerical faults of one unit, as short labels for the per-simulation sheet.

    None of them stops a run: the unit keeps its Optuna model when the LP gives no
    direction, and the labels say what happened.

    Parameters
    ----------
    optuna_fit : ElasticNetFit
        The study's best model.
    search : HLSSearchResult
    solver : {"sklearn", "converged"}
        Names what "not converged" means: stopped at max_iter, or stalled above the
        converged solver's duality-gap target.
    """
    faults = []
    not_converged = "stalled above its duality-gap target" if solver == "converged" else (
        "not converged")
    first = search.steps[0]
    if not first.direction.ok:
        faults.append(f"lp {first.direction.status}")
    elif search.stop_reason.startswith("lp "):
        faults.append(f"{search.stop_reason} at step {len(search.steps)}")
    if not optuna_fit.converged:
        faults.append(f"optuna model {not_converged}")
    if first.line_search is not None and not search.fit.converged:
        faults.append(f"hls model {not_converged}")
    unconverged = sum(step.n_unconverged_fits for step in search.steps)
    if unconverged:
        faults.append(f"{unconverged} line-search fits {not_converged}")
    nonfinite = sum(step.n_nonfinite_losses for step in search.steps)
    if nonfinite:
        faults.append(f"{nonfinite} non-finite line-search losses")
    if any(s.line_search is not None and s.line_search.hit_max_doublings for s in search.steps):
        faults.append("bounding phase still decreasing at its last doubling")
    if min(search.l1, search.l2) <= HYPERPARAMETER_FLOOR:
        faults.append("hyperparameter clipped at the 1e-10 floor")
    return faults


def units_of(config: RunConfig) -> list[tuple[str, int, int]]:
    """The (sampler, simulation, seed) units of a run, in table order.

    Simulation i of every sampler shares seed i, derived from the run seed.

    Parameters
    ----------
    config : RunConfig
    """
    seeds = simulation_seeds(config.seed, config.n_simulations)
    return [
        (sampler, simulation, seeds[simulation])
        for sampler in config.samplers
        for simulation in range(config.n_simulations)
    ]


def refiner_record(result: RefinerResult, splits: Splits, seconds: float) -> dict:
    """One row of the refiners sheet: where the refiner ended, its losses, fits, time.

    Parameters
    ----------
    result : RefinerResult
    splits : Splits
        For the training and test losses.
    seconds : float
        The refiner's wall time.
    """
    train_mse, _, test_mse = losses(splits, result.fit)
    return {
        "refiner": result.refiner,
        "l1": result.l1,
        "l2": result.l2,
        "train_mse": train_mse,
        "val_mse": result.val_mse,
        "test_mse": test_mse,
        "fits": result.n_fits,
        "budget": result.budget,
        "seconds": seconds,
        "status": result.status,
        "gap": result.fit.gap,
        "converged": result.fit.converged,
        "path": [list(point) for point in result.path],
    }


def run_refiners(
    splits: Splits,
    config: RunConfig,
    problem: ElasticNetProblem,
    study_result: StudyResult,
    study: ElasticNetStudy | None,
    seed: int,
) -> tuple[dict, ...]:
    """Run ``config.refiners`` from the study's best model, each with the same budget.

    "hls" runs first (always): the paper's one HLS step, limited only by --budget; the
    fits it spent are the others' budget unless --budget is given. optuna-continue runs
    last, since it adds trials to the study.

    Parameters
    ----------
    splits : Splits
    config : RunConfig
    problem : ElasticNetProblem
        The unit's problem (its solver fits every refiner's points).
    study_result : StudyResult
    study : ElasticNetStudy or None
        Continued by optuna-continue (None with --starts: nothing to continue).
    seed : int
        The unit's seed; each refiner gets its own child seed.

    Returns
    -------
    tuple of dict
        One record per refiner (``refiner_record``).
    """
    if not config.refiners:
        return ()
    base = RefinerStart(
        problem=problem, l1=study_result.l1, l2=study_result.l2,
        fit=study_result.fit, budget=0, seed=seed,
        space=SEARCH_SPACES[config.search_space],
        continue_study=None if study is None else study.optimize,
    )
    names = ["hls", *[n for n in REFINER_NAMES if n in config.refiners and n != "hls"]]
    names.sort(key=lambda n: n == "optuna-continue")
    records, budget = [], config.budget
    for index, name in enumerate(names):
        child_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
        if name == "hls":
            start = replace(base, budget=config.budget or UNLIMITED_BUDGET, seed=child_seed)
        else:
            start = replace(base, budget=budget, seed=child_seed)
        refine = make_refiner(name, line_search=config.line_search, log_hyperparameters=True)
        begin = time.perf_counter()
        result = refine(start)
        record = refiner_record(result, splits, time.perf_counter() - begin)
        if name == "hls":
            budget = config.budget if config.budget is not None else result.n_fits
            record["budget"] = budget
        records.append(record)
    return tuple(records)
