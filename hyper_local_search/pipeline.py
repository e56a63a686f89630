"""The experiment: for each (sampler, simulation) an Optuna study, then the HLS search
from its best model, then (with refiners) the equal-budget alternatives.

``run(config, splits)`` is the whole protocol as a Python call; the command line only
turns flags into a RunConfig and writes the outputs (hyper_local_search/report.py).
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import optuna
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_limits

from datasets.splits import Splits
from hyper_local_search.hls_search import HLSSearchResult, hls_search
from hyper_local_search.hls_step import (
    FORMULATIONS,
    HYPERPARAMETER_FLOOR,
    LINE_SEARCHES,
    HLSResult,
)
from hyper_local_search.refiners import REFINER_NAMES, run_refiners
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, mse
from optuna_training.samplers import SAMPLER_NAMES
from optuna_training.search_space import SEARCH_SPACES
from optuna_training.study import ElasticNetStudy, Incumbent
from utils.errors import InputError
from utils.run_store import RunStore, file_digest
from utils.seeding import simulation_seeds

#: Execution backends: joblib's local process pool, or a Dask distributed cluster.
BACKENDS = ("loky", "dask")
#: How long to wait for a Dask scheduler before giving up.
DASK_CONNECT_SECONDS = 10


@dataclass(frozen=True)
class RunConfig:
    """Settings of one run of the protocol.

    Attributes
    ----------
    dataset : str
        A dataset name (datasets.DATASET_NAMES) or a path to a CSV file.
    target : str or None
        Target column of a CSV dataset.
    samplers : tuple of str
        Optuna samplers, each studied ``n_simulations`` times.
    n_trials : int
        Optuna trials per study (the paper's OPTUNA_TRIALS).
    n_simulations : int
        Studies per sampler (the paper's SIMULATIONS).
    seed : int
        Run seed; every simulation's seed derives from it.
    n_jobs : int
        Parallel worker processes; -1 uses every core. Results do not depend on it.
    line_search : {"fast", "paper"}
        The HLS step's line search (hyper_local_search.hls_step); "paper" is the
        authors' search as METHOD.md describes it.
    backend : {"loky", "dask"}
        "loky": worker processes on this machine; "dask": the units go to the Dask
        distributed cluster whose scheduler is at ``scheduler`` (joblib's dask backend).
    scheduler : str or None
        Address of the Dask scheduler (e.g. "tcp://10.0.0.5:8786"); only with "dask".
    search_space : {"paper", "log"}
        The Optuna studies' space: the paper's uniform [1e-10, 1] for l1 and l2, or
        log-uniform [1e-4, 1e4] for each (optuna_training.search_space).
    formulation : {"paper", "exact"}
        The HLS step's LP (hyper_local_search.hls_step.hls_direction).
    log_hyperparameters : bool
        HLS in (log l1, log l2) (exact formulation only).
    hls_steps : int
        Most HLS steps (hyper_local_search.hls_search); the paper takes 1.
    refiners : tuple of str
        Refiners compared at equal budget from each Optuna model
        (hyper_local_search.refiners.REFINER_NAMES); "hls" always runs with them, its
        fits setting the budget.
    budget : int or None
        Elastic-net fits each refiner may spend; None: as many as "hls" spent in that
        simulation.
    """

    dataset: str = "house_price"
    target: str | None = None
    samplers: tuple[str, ...] = SAMPLER_NAMES
    n_trials: int = 100
    n_simulations: int = 50
    seed: int = 0
    n_jobs: int = -1
    line_search: str = "fast"
    backend: str = "loky"
    scheduler: str | None = None
    search_space: str = "paper"
    formulation: str = "paper"
    log_hyperparameters: bool = False
    hls_steps: int = 1
    refiners: tuple[str, ...] = ()
    budget: int | None = None

    def __post_init__(self) -> None:
        if not self.samplers:
            raise InputError("no sampler given; choose from " + ", ".join(SAMPLER_NAMES) + ".")
        unknown = [name for name in self.samplers if name not in SAMPLER_NAMES]
        if unknown:
            raise InputError(
                f"unknown sampler {unknown[0]!r}; choose from {', '.join(SAMPLER_NAMES)} "
                "(--samplers)."
            )
        if len(set(self.samplers)) != len(self.samplers):
            raise InputError("a sampler is listed twice in --samplers; list each once.")
        if self.n_trials < 1:
            raise InputError(f"--trials must be at least 1, got {self.n_trials}.")
        if self.n_simulations < 1:
            raise InputError(f"--simulations must be at least 1, got {self.n_simulations}.")
        if self.n_jobs == 0:
            raise InputError("--n-jobs must not be 0; use a positive count or -1 for all cores.")
        if self.line_search not in LINE_SEARCHES:
            raise InputError(
                f"unknown line search {self.line_search!r}; choose from "
                f"{', '.join(LINE_SEARCHES)} (--line-search)."
            )
        if self.search_space not in SEARCH_SPACES:
            raise InputError(
                f"unknown search space {self.search_space!r}; choose from "
                f"{', '.join(SEARCH_SPACES)} (--search-space)."
            )
        if self.formulation not in FORMULATIONS:
            raise InputError(
                f"unknown formulation {self.formulation!r}; choose from "
                f"{', '.join(FORMULATIONS)} (--formulation)."
            )
        if self.log_hyperparameters and self.formulation != "exact":
            raise InputError("--log-hyperparameters needs --formulation exact.")
        if self.hls_steps < 1:
            raise InputError(f"--hls-steps must be at least 1, got {self.hls_steps}.")
        unknown = [name for name in self.refiners if name not in REFINER_NAMES]
        if unknown:
            raise InputError(
                f"unknown refiner {unknown[0]!r}; choose from {', '.join(REFINER_NAMES)} "
                "(--refiners)."
            )
        if len(set(self.refiners)) != len(self.refiners):
            raise InputError("a refiner is listed twice in --refiners; list each once.")
        if self.budget is not None and self.budget < 1:
            raise InputError(f"--budget must be at least 1 fit, got {self.budget}.")
        if self.budget is not None and not self.refiners:
            raise InputError("--budget applies to the refiners; add --refiners.")
        if self.backend not in BACKENDS:
            raise InputError(
                f"unknown backend {self.backend!r}; choose from {', '.join(BACKENDS)} (--backend)."
            )
        if self.backend == "dask" and not self.scheduler:
            raise InputError(
                "--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786), the "
                "address 'dask scheduler' prints."
            )
        if self.backend != "dask" and self.scheduler:
            raise InputError("--scheduler only applies with --backend dask; add --backend dask.")
        if self.seed < 0:
            raise InputError(f"--seed must be a non-negative integer, got {self.seed}.")


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
    """

    record: dict[str, object]
    history: tuple[Incumbent, ...]
    optuna_fit: ElasticNetFit
    hls_fit: ElasticNetFit = field(repr=False)
    refiners: tuple[dict[str, object], ...] = ()
    trials: tuple[tuple[float, float], ...] = field(default=(), repr=False)


def _losses(splits: Splits, fit: ElasticNetFit) -> tuple[float, float, float]:
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
    l1: float,
    l2: float,
    start: ElasticNetFit,
    *,
    line_search: str,
    problem: ElasticNetProblem | None = None,
    steps: int = 1,
    formulation: str = "paper",
    log_hyperparameters: bool = False,
) -> TimedHLS:
    """An HLS search (one step by default) timed as the authors time it.

    The time covers building and solving the LP, the line search, the refit and the six
    loss evaluations (train, validation, test before and after). "fast" fits through
    ``problem`` (built here if not given); "paper" keeps the authors' plain
    scikit-learn fits, and their cost.
    """
    begin = time.perf_counter()
    fitter = None
    if line_search == "fast":
        problem = problem or ElasticNetProblem(splits.X_train, splits.y_train)

        def fitter(l1: float, l2: float, coef_init: np.ndarray | None) -> ElasticNetFit:
            return problem.fit(l1, l2, coef_init=coef_init)

    search = hls_search(
        splits.X_train, splits.y_train, splits.X_val, splits.y_val, l1, l2, start,
        steps=steps, line_search=line_search, fitter=fitter, formulation=formulation,
        log_hyperparameters=log_hyperparameters,
    )
    losses_start = _losses(splits, start)
    losses_end = _losses(splits, search.fit)
    return TimedHLS(search, losses_start, losses_end, time.perf_counter() - begin)


def run_unit(
    splits: Splits, config: RunConfig, sampler: str, simulation: int, seed: int
) -> UnitResult:
    """One Optuna study, the HLS search from its best model, then the refiners.

    See ``timed_hls_step`` for what the HLS time covers; every refiner starts from the
    same Optuna model with the same budget (``run_refiners``). BLAS runs on one thread:
    the units are the parallelism, and small multi-threaded factorisations on a busy
    machine were measured 100-1000x slower than single-threaded ones.
    """
    _ignore_interrupts_in_workers()
    with threadpool_limits(limits=1):
        return _run_unit(splits, config, sampler, simulation, seed)


def _ignore_interrupts_in_workers() -> None:
    """Leave Ctrl-C to the main process: it stops the run and keeps the finished units.

    A terminal sends SIGINT to every process of the run; worker processes would print a
    KeyboardInterrupt traceback each. Only in a worker process's main thread (a unit run
    in the main process, or in a Dask worker's thread, is left alone).
    """
    if (multiprocessing.current_process().name != "MainProcess"
            and threading.current_thread() is threading.main_thread()):
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_unit(
    splits: Splits, config: RunConfig, sampler: str, simulation: int, seed: int
) -> UnitResult:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = ElasticNetProblem(splits.X_train, splits.y_train)
    begin = time.perf_counter()
    study = ElasticNetStudy(
        splits.X_train, splits.y_train, splits.X_val, splits.y_val, splits.X_test,
        splits.y_test, sampler=sampler, n_trials=config.n_trials, seed=seed,
        space=SEARCH_SPACES[config.search_space], problem=problem,
    )
    study.optimize(config.n_trials)
    result = study.result(time.perf_counter() - begin)
    trials = tuple(study.points())
    hls = timed_hls_step(
        splits, result.l1, result.l2, result.fit, line_search=config.line_search,
        problem=problem, steps=config.hls_steps, formulation=config.formulation,
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
        "hls_clipped_at_floor": min(search.l1, search.l2) <= HYPERPARAMETER_FLOOR,
        "hls_unconverged_fits": sum(s.n_unconverged_fits for s in search.steps),
        "hls_nonfinite_losses": sum(s.n_nonfinite_losses for s in search.steps),
        "faults": "; ".join(unit_faults(result.fit, search)),
        "lp_message": step.direction.message,
    }
    refiners = run_refiners(splits, config, problem, result, study, seed)
    return UnitResult(record, result.history, result.fit, search.fit, refiners, trials)


def unit_faults(optuna_fit: ElasticNetFit, search: HLSSearchResult) -> list[str]:
    """Numerical faults of one unit, as short labels for the per-simulation sheet.

    None of them stops a run: the unit keeps its Optuna model when the LP gives no
    direction, and the labels say what happened.
    """
    faults = []
    first = search.steps[0]
    if not first.direction.ok:
        faults.append(f"lp {first.direction.status}")
    elif search.stop_reason.startswith("lp "):
        faults.append(f"{search.stop_reason} at step {len(search.steps)}")
    if not optuna_fit.converged:
        faults.append("optuna model not converged")
    if first.line_search is not None and not search.fit.converged:
        faults.append("hls model not converged")
    unconverged = sum(step.n_unconverged_fits for step in search.steps)
    if unconverged:
        faults.append(f"{unconverged} line-search fits not converged")
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
    """
    seeds = simulation_seeds(config.seed, config.n_simulations)
    return [
        (sampler, simulation, seeds[simulation])
        for sampler in config.samplers
        for simulation in range(config.n_simulations)
    ]


#: Bumped whenever a change of the code changes what a unit computes, so that stored
#: units of older code are never mixed with new ones.
RESULTS_VERSION = 1


def result_settings(config: RunConfig) -> dict[str, object]:
    """The settings that decide each unit's result (the run store's key).

    Samplers, the number of simulations, n_jobs and the backend are left out: they
    choose which units run and where, not what a unit computes. A CSV data set is
    identified by its content, so an edited file starts a new run.
    """
    dataset: dict[str, object] = {"name": config.dataset}
    path = Path(config.dataset)
    if config.dataset.lower().endswith(".csv") and path.is_file():
        dataset = {"csv": str(path.resolve()), "sha256": file_digest(path)}
    return {
        "results_version": RESULTS_VERSION,
        "dataset": dataset,
        "target": config.target,
        "n_trials": config.n_trials,
        "seed": config.seed,
        "line_search": config.line_search,
        "search_space": config.search_space,
        "formulation": config.formulation,
        "log_hyperparameters": config.log_hyperparameters,
        "hls_steps": config.hls_steps,
        "refiners": sorted(config.refiners),
        "budget": config.budget,
    }


def open_store(config: RunConfig, output_dir: Path, *, fresh: bool = False) -> RunStore:
    """The run store for ``config`` under ``output_dir/runs`` (emptied with ``fresh``)."""
    label = Path(config.dataset).stem if config.dataset.lower().endswith(".csv") else (
        config.dataset
    )
    return RunStore(output_dir / "runs", label, result_settings(config)).open(fresh=fresh)


def unit_to_json(unit: UnitResult) -> dict[str, object]:
    """A JSON-ready dict of one unit (its record, incumbents and both models)."""

    def model(fit: ElasticNetFit) -> dict[str, object]:
        return {"coef": fit.coef.tolist(), "intercept": fit.intercept, "n_iter": fit.n_iter,
                "converged": fit.converged}

    return {
        "record": unit.record,
        "history": [asdict(incumbent) for incumbent in unit.history],
        "optuna_fit": model(unit.optuna_fit),
        "hls_fit": model(unit.hls_fit),
        "refiners": list(unit.refiners),
        "trials": [list(point) for point in unit.trials],
    }


def unit_from_json(payload: dict) -> UnitResult:
    """The unit ``unit_to_json`` wrote (JSON null, which stands for NaN, becomes NaN)."""

    def model(entry: dict) -> ElasticNetFit:
        return ElasticNetFit(np.asarray(entry["coef"], dtype=np.float64),
                             float(entry["intercept"]), int(entry["n_iter"]),
                             bool(entry["converged"]))

    record = {key: np.nan if value is None else value
              for key, value in payload["record"].items()}
    history = tuple(Incumbent(**entry) for entry in payload["history"])
    refiners = tuple(
        {key: np.nan if value is None else value for key, value in entry.items()}
        for entry in payload.get("refiners", ())
    )
    trials = tuple((float(a), float(b)) for a, b in payload.get("trials", ()))
    return UnitResult(record, history, model(payload["optuna_fit"]), model(payload["hls_fit"]),
                      refiners, trials)


def run(
    config: RunConfig,
    splits: Splits,
    *,
    store: RunStore | None = None,
    on_unit_done: Callable[[UnitResult], None] | None = None,
) -> list[UnitResult]:
    """Run every unit of ``config`` on ``splits``, in parallel over ``config.n_jobs``.

    Parameters
    ----------
    config : RunConfig
    splits : Splits
        The data set (datasets.load_dataset).
    store : RunStore, optional
        Where finished units are kept: units found there are not run again, and each
        unit that finishes is saved there at once (in this process).
    on_unit_done : callable, optional
        Called in this process with each unit as soon as it is available (loaded from
        the store or finished), for a progress bar.

    Returns
    -------
    list of UnitResult
        In table order (sampler by sampler, simulation by simulation), whatever the
        order in which the units finished.
    """
    units = units_of(config)
    results: dict[tuple[str, int], UnitResult] = {}
    if store is not None:
        for sampler, simulation, _ in units:
            payload = store.load(sampler, simulation)
            if payload is not None:
                results[(sampler, simulation)] = unit_from_json(payload)
                if on_unit_done is not None:
                    on_unit_done(results[(sampler, simulation)])
    pending = [unit for unit in units if (unit[0], unit[1]) not in results]
    for result in _execute(pending, splits, config):
        key = (str(result.record["sampler"]), int(result.record["simulation"]))
        if store is not None:
            store.save(*key, unit_to_json(result))
        results[key] = result
        if on_unit_done is not None:
            on_unit_done(result)
    return [results[(sampler, simulation)] for sampler, simulation, _ in units]


def _execute(
    units: list[tuple[str, int, int]], splits: Splits, config: RunConfig
) -> Iterator[UnitResult]:
    tasks = (
        delayed(run_unit)(splits, config, sampler, simulation, seed)
        for sampler, simulation, seed in units
    )
    if config.backend == "dask":
        with _dask_client(str(config.scheduler)), parallel_config(backend="dask"):
            yield from Parallel(n_jobs=config.n_jobs, return_as="generator_unordered")(tasks)
        return
    if not units:
        return
    if config.n_jobs == 1:
        for sampler, simulation, seed in units:
            yield run_unit(splits, config, sampler, simulation, seed)
        return
    yield from Parallel(n_jobs=config.n_jobs, return_as="generator_unordered")(tasks)


def _dask_client(address: str):
    """A dask.distributed Client connected to the scheduler at ``address``."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "--backend dask needs the packages dask and distributed; install them with "
            "'pip install -r requirements-dask.txt'."
        ) from None
    try:
        return Client(address, timeout=DASK_CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(
            f"cannot reach the Dask scheduler at {address!r} ({error}); start one with "
            "'dask scheduler' and give its address, e.g. --scheduler tcp://10.0.0.5:8786."
        ) from None
