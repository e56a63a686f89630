"""Runs that cannot end, or that would swamp the machine, are refused or announced first.

Three guards, each before any unit is computed:

- ``check_counts``: hard limits on --trials and --simulations (Optuna keeps every trial in
  memory, the unit list and the workbook grow with the simulations, and Excel holds at
  most 1,048,576 rows a sheet);
- ``resolve_workers``: --n-jobs capped at the cores this process may use (and at the
  units to run), with a warning when it asked for more;
- ``check_run_time``: an estimate of the run's wall time from the time of a few fits on
  the actual data and the measured cost of Optuna's samplers; a warning above an hour,
  a refusal above 30 days.

The costs of Optuna's bookkeeping per trial were measured on the 2-core Intel Xeon VM
(Optuna 5.0, diabetes data, machine shared with other work): random 0.27 ms, QMC 0.9 ms,
TPE 0.6 ms plus 5.9 us per earlier trial, grid 0.3 ms plus 0.12 ms per earlier trial
(``GridSampler.after_trial`` compares each trial with every earlier one). An estimate is
therefore good to a factor of about 2, enough to tell minutes from months.
"""

from __future__ import annotations

import math
import time
import warnings

import joblib
import numpy as np

from utils.errors import InputError, RunWarning

#: Most Optuna trials per study: about 2-9 KiB of memory each (0.2-0.9 GB per study at
#: the limit), and the grid and TPE samplers' cost grows with the square of the trials.
MAX_TRIALS = 100_000
#: Most simulations per sampler.
MAX_SIMULATIONS = 100_000
#: Most elastic-net fits per refiner (--budget): optuna-continue turns them into trials.
MAX_BUDGET = MAX_TRIALS
#: HLS steps the estimate counts at most: --hls-steps K stops early once a step gains
#: less than 1e-5, so a large K is an upper bound, not the steps taken.
ESTIMATED_HLS_STEPS = 10
#: Rows of an Excel sheet, header included.
EXCEL_MAX_ROWS = 1_048_576
#: Above this estimate the run starts with a warning that says how long it will take.
WARN_SECONDS = 3600.0
#: Above this estimate the run is refused.
REFUSE_SECONDS = 30 * 24 * 3600.0
#: Optuna's own cost per trial: (seconds per trial, seconds per trial per earlier trial).
SAMPLER_COSTS = {
    "random": (0.27e-3, 0.0),
    "qmc": (0.9e-3, 0.0),
    "tpe": (0.6e-3, 5.9e-6),
    "grid": (0.3e-3, 0.12e-3),
}
#: Elastic-net fits of one HLS step, per line search (measured: 38 and 94 on house_price).
HLS_FITS = {"fast": 40, "paper": 95}


def check_counts(
    *, n_trials: int, n_simulations: int, n_samplers: int, n_refiners: int,
    budget: int | None = None,
) -> None:
    """Refuse --trials, --simulations and --budget that no run could hold (before anything).

    Parameters
    ----------
    n_trials : int
        --trials.
    n_simulations : int
        --simulations.
    n_samplers : int
        Number of samplers.
    n_refiners : int
        Number of refiners besides "hls" (0 without --refiners).
    budget : int, optional
        --budget.

    Raises
    ------
    InputError
        Naming the flag, the limit and why.
    """
    if n_trials > MAX_TRIALS:
        gigabytes = n_trials * 6 * 1024 / 1e9
        raise InputError(
            f"--trials {n_trials} is more than {MAX_TRIALS:,}: Optuna keeps every trial in "
            f"memory (about {gigabytes:.3g} GB per study) and its grid and TPE samplers "
            "slow down with the square of the trials; use at most "
            f"{MAX_TRIALS:,} (the paper uses 100)."
        )
    if n_simulations > MAX_SIMULATIONS:
        raise InputError(
            f"--simulations {n_simulations} is more than {MAX_SIMULATIONS:,}; use at most "
            f"{MAX_SIMULATIONS:,} (the paper uses 50)."
        )
    if budget is not None and budget > MAX_BUDGET:
        raise InputError(
            f"--budget {budget} is more than {MAX_BUDGET:,} fits per refiner: optuna-continue "
            "would run that many more trials and path would hold that many models; use at "
            f"most {MAX_BUDGET:,}."
        )
    rows = n_samplers * n_simulations * (1 + n_refiners)
    if rows > EXCEL_MAX_ROWS - 1:
        sheet = "refiners" if n_refiners else "simulations"
        raise InputError(
            f"{n_samplers} samplers x {n_simulations} simulations need {rows:,} rows in the "
            f"workbook's {sheet} sheet, more than Excel's {EXCEL_MAX_ROWS - 1:,}; lower "
            "--simulations."
        )


def available_cores() -> int:
    """Cores this process may use (affinity and container limits included)."""
    return max(1, int(joblib.cpu_count()))


def resolve_workers(n_jobs: int, n_units: int, *, cores: int | None = None) -> int:
    """Worker processes for ``n_units`` units on this machine.

    Parameters
    ----------
    n_jobs : int
        --n-jobs: a positive count, or -1 for every core.
    n_units : int
        Units to compute (no more workers than units are started).
    cores : int, optional
        Cores available (default `available_cores`).

    Returns
    -------
    workers : int
        ``min(n_jobs or cores, cores, n_units)``, at least 1. A `RunWarning` says so when
        ``n_jobs`` asked for more than the cores.

    Raises
    ------
    InputError
        If ``n_jobs`` is 0 or below -1.
    """
    cores = available_cores() if cores is None else cores
    if n_jobs == 0 or n_jobs < -1:
        raise InputError(
            f"--n-jobs must be a positive count or -1 for every core, got {n_jobs}."
        )
    workers = cores if n_jobs == -1 else n_jobs
    if workers > cores:
        warnings.warn(RunWarning(
            f"--n-jobs {n_jobs} is more than the {cores} cores of this machine; using "
            f"{cores} worker processes (more would only compete for the cores and memory)."
        ), stacklevel=2)
        workers = cores
    return max(1, min(workers, n_units))


def seconds_per_fit(problem, space, *, n_points: int = 3, seed: int = 0) -> float:
    """Median wall time of a few elastic-net fits of ``problem`` at points of ``space``.

    Parameters
    ----------
    problem : ElasticNetProblem
    space : SearchSpace
        The points are drawn from it as the random sampler draws them.
    n_points : int, default 3
    seed : int, default 0

    Returns
    -------
    seconds : float
    """
    rng = np.random.default_rng(seed)
    times = []
    for _ in range(n_points):
        if space.log:
            l1, l2 = np.exp(rng.uniform(math.log(space.low), math.log(space.high), size=2))
        else:
            l1, l2 = rng.uniform(space.low, space.high, size=2)
        begin = time.perf_counter()
        problem.fit(float(l1), float(l2))
        times.append(time.perf_counter() - begin)
    return float(np.median(times))


def estimate_seconds(
    *,
    samplers: list[str],
    n_units_per_sampler: dict[str, int],
    n_trials: int,
    fit_seconds: float,
    line_search: str,
    hls_steps: int,
    n_refiners: int,
    workers: int,
    budget: int | None = None,
) -> float:
    """Wall time of the units to run, in seconds (see the module docstring).

    Parameters
    ----------
    samplers : list of str
    n_units_per_sampler : dict of str to int
        Units still to compute, per sampler.
    n_trials : int
    fit_seconds : float
        One elastic-net fit on the data (`seconds_per_fit`).
    line_search : {"fast", "paper"}
    hls_steps : int
    n_refiners : int
        Refiners besides "hls".
    workers : int
        Units computed at once.
    budget : int, optional
        --budget: fits per refiner (each refiner may spend them all; optuna-continue as
        trials of the sampler). None: as many as the HLS step spent.

    Returns
    -------
    seconds : float
    """
    hls = HLS_FITS.get(line_search, 95) * min(hls_steps, ESTIMATED_HLS_STEPS)
    refiner_fits = n_refiners * (hls if budget is None else budget)
    total = 0.0
    for sampler in samplers:
        per_trial, per_pair = SAMPLER_COSTS.get(sampler, SAMPLER_COSTS["tpe"])

        def study(trials: int, per_trial=per_trial, per_pair=per_pair) -> float:
            return trials * per_trial + per_pair * trials * (trials - 1) / 2

        continued = 0.0 if budget is None or not n_refiners else (
            study(n_trials + budget) - study(n_trials))
        unit = (study(n_trials) + continued
                + (n_trials + hls + refiner_fits) * fit_seconds)
        total += n_units_per_sampler.get(sampler, 0) * unit
    return total / max(1, workers)


def describe_seconds(seconds: float) -> str:
    """``"40 s"``, ``"12 min"``, ``"3.2 h"``, ``"4.1 days"``, ``"2.3 years"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 730 * 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / (365.25 * 86400):.3g} years"


def check_run_time(estimate: float, *, what: str) -> None:
    """Warn (above `WARN_SECONDS`) or refuse (above `REFUSE_SECONDS`) a run's estimate.

    Parameters
    ----------
    estimate : float
        Seconds (`estimate_seconds`).
    what : str
        What the estimate covers, for the message (units, trials, workers, fit time).

    Raises
    ------
    InputError
        Above `REFUSE_SECONDS`.
    """
    if estimate > REFUSE_SECONDS:
        raise InputError(
            f"this run would need about {describe_seconds(estimate)} ({what}); lower "
            "--trials or --simulations, or spread it over more workers (--backend dask)."
        )
    if estimate > WARN_SECONDS:
        warnings.warn(RunWarning(
            f"this run needs about {describe_seconds(estimate)} ({what}); each unit is "
            "saved when it finishes, so Ctrl-C and the same command again lose little."
        ), stacklevel=2)
