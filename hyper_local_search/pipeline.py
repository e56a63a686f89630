"""The experiment: for each (sampler, simulation) an Optuna study, then one HLS step.

``run(config)`` is the whole protocol as a Python call; the command line only turns
flags into a RunConfig and writes the outputs (hyper_local_search/report.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import optuna
from joblib import Parallel, delayed, parallel_config

from datasets.splits import Splits
from hyper_local_search.hls_step import LINE_SEARCHES, HLSResult, hls_step
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, mse
from optuna_training.samplers import SAMPLER_NAMES
from optuna_training.study import Incumbent, run_study
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
    """

    record: dict[str, object]
    history: tuple[Incumbent, ...]
    optuna_fit: ElasticNetFit
    hls_fit: ElasticNetFit = field(repr=False)


def _losses(splits: Splits, fit: ElasticNetFit) -> tuple[float, float, float]:
    return (
        mse(splits.X_train, splits.y_train, fit.coef, fit.intercept),
        mse(splits.X_val, splits.y_val, fit.coef, fit.intercept),
        mse(splits.X_test, splits.y_test, fit.coef, fit.intercept),
    )


@dataclass(frozen=True)
class TimedHLS:
    """One HLS step with the losses before and after it, and its wall time in seconds."""

    step: HLSResult
    losses_start: tuple[float, float, float]
    losses_end: tuple[float, float, float]
    seconds: float


def timed_hls_step(
    splits: Splits,
    l1: float,
    l2: float,
    start: ElasticNetFit,
    *,
    line_search: str,
    problem: ElasticNetProblem | None = None,
) -> TimedHLS:
    """An HLS step timed as the authors time it.

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

    step = hls_step(
        splits.X_train, splits.y_train, splits.X_val, splits.y_val, l1, l2, start,
        line_search=line_search, fitter=fitter,
    )
    losses_start = _losses(splits, start)
    losses_end = _losses(splits, step.fit)
    return TimedHLS(step, losses_start, losses_end, time.perf_counter() - begin)


def run_unit(
    splits: Splits,
    sampler: str,
    simulation: int,
    seed: int,
    n_trials: int,
    line_search: str = "fast",
) -> UnitResult:
    """Run one Optuna study and one HLS step from its best model (see timed_hls_step)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = ElasticNetProblem(splits.X_train, splits.y_train)
    study = run_study(
        splits.X_train,
        splits.y_train,
        splits.X_val,
        splits.y_val,
        splits.X_test,
        splits.y_test,
        sampler=sampler,
        n_trials=n_trials,
        seed=seed,
        problem=problem,
    )
    hls = timed_hls_step(
        splits, study.l1, study.l2, study.fit, line_search=line_search, problem=problem
    )
    step, losses_optuna, losses_hls, seconds_hls = (
        hls.step, hls.losses_start, hls.losses_end, hls.seconds
    )

    search = step.line_search
    record: dict[str, object] = {
        "sampler": sampler,
        "simulation": simulation,
        "seed": seed,
        "n_trials": study.n_trials,
        "l1_optuna": study.l1,
        "l2_optuna": study.l2,
        "l1_hls": step.l1,
        "l2_hls": step.l2,
        "train_mse_optuna": losses_optuna[0],
        "val_mse_optuna": losses_optuna[1],
        "test_mse_optuna": losses_optuna[2],
        "train_mse_hls": losses_hls[0],
        "val_mse_hls": losses_hls[1],
        "test_mse_hls": losses_hls[2],
        "seconds_optuna": study.seconds,
        "seconds_hls": seconds_hls,
        "lp_status": step.direction.status,
        "hls_fits": step.n_fits,
        "t_star": step.t,
        "d_l1": float(step.direction.d_lam[0]),
        "d_l2": float(step.direction.d_lam[1]),
        "lp_objective": step.direction.objective,
        "lp_max_violation": step.direction.max_violation,
        "bracket_low": np.nan if search is None else search.bracket[0],
        "bracket_high": np.nan if search is None else search.bracket[1],
        "optuna_fit_converged": study.fit.converged,
        "hls_fit_converged": step.fit.converged,
        "hls_clipped_at_floor": step.clipped,
        "hls_unconverged_fits": step.n_unconverged_fits,
        "hls_nonfinite_losses": step.n_nonfinite_losses,
        "faults": "; ".join(unit_faults(study.fit, step)),
        "lp_message": step.direction.message,
    }
    return UnitResult(record, study.history, study.fit, step.fit)


def unit_faults(optuna_fit: ElasticNetFit, step: HLSResult) -> list[str]:
    """Numerical faults of one unit, as short labels for the per-simulation sheet.

    None of them stops a run: the unit keeps its Optuna model when the LP gives no
    direction, and the labels say what happened.
    """
    faults = []
    if not step.direction.ok:
        faults.append(f"lp {step.direction.status}")
    if not optuna_fit.converged:
        faults.append("optuna model not converged")
    if step.line_search is not None and not step.fit.converged:
        faults.append("hls model not converged")
    if step.n_unconverged_fits:
        faults.append(f"{step.n_unconverged_fits} line-search fits not converged")
    if step.n_nonfinite_losses:
        faults.append(f"{step.n_nonfinite_losses} non-finite line-search losses")
    if step.line_search is not None and step.line_search.hit_max_doublings:
        faults.append("bounding phase still decreasing at its last doubling")
    if step.clipped:
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
    return UnitResult(record, history, model(payload["optuna_fit"]), model(payload["hls_fit"]))


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
        delayed(run_unit)(splits, sampler, simulation, seed, config.n_trials, config.line_search)
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
            yield run_unit(splits, sampler, simulation, seed, config.n_trials, config.line_search)
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
