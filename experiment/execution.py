"""Running the units of a run: in this process, in local worker processes, or on Dask.

``run(config, splits)`` is the whole protocol as a Python call; the command line only
turns flags into a RunConfig and writes the outputs (experiment.report).
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator

from joblib import Parallel, delayed, parallel_config

from datasets.splits import Splits
from experiment.config import RunConfig
from experiment.journal import open_journal
from experiment.published_starts import PublishedStart, read_starts
from experiment.store import unit_from_json, unit_to_json
from experiment.unit import UnitResult, run_unit, units_of
from utils.errors import InputError
from utils.run_store import RunStore

#: How long to wait for a Dask scheduler before giving up.
DASK_CONNECT_SECONDS = 10
#: CPU of one unit relative to a random-sampler unit, per sampler (house_price, 100
#: trials, fast line search, measured 3.0 / 2.1 / 1.1 / 1.0, benchmarks/bench_protocol.py):
#: the grid's l2 = 1e-10 row runs into max_iter and its LP is singular (the full LP),
#: TPE's sampling costs more per trial. Only the order matters: the slowest units are
#: dispatched first, so that the last ones to finish are short.
RELATIVE_UNIT_COST = {"grid": 3.0, "tpe": 2.0, "qmc": 1.1, "random": 1.0}


def _run_unit_in_worker(
    splits: Splits, config: RunConfig, sampler: str, simulation: int, seed: int,
    start: PublishedStart | None = None,
) -> UnitResult:
    """``run_unit``, with Ctrl-C left to the main process (see below)."""
    _ignore_interrupts_in_workers()
    result = run_unit(splits, config, sampler, simulation, seed, start)
    _freeze_long_lived_objects()
    return result


def _freeze_long_lived_objects() -> None:
    """After a worker's first unit: collect once, then exempt what survived from the GC.

    The modules a unit imports (numpy, scipy, scikit-learn, optuna, ...) are about 130,000
    tracked objects; every full collection walks them all (about 50 ms on house_price's
    workers, 7% of a unit). Without psutil loky collects after every task; Python's own
    full collections walk them too. ``gc.freeze`` moves the survivors to the permanent
    generation, so later collections only see what later units create. Once per process.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def slowest_first(units: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The units in dispatch order: expected slowest first (``RELATIVE_UNIT_COST``).

    With the long units first, the work left when the first worker runs out is one short
    unit at most, so the wall time of n workers comes close to their summed CPU / n.
    Results are put back in table order by ``run``: the order changes no number.

    Parameters
    ----------
    units : list of (sampler, simulation, seed)
    """
    return sorted(units, key=lambda unit: -RELATIVE_UNIT_COST.get(unit[0], 1.0))


def _ignore_interrupts_in_workers() -> None:
    """Leave Ctrl-C to the main process: it stops the run and keeps the finished units.

    A terminal sends SIGINT to every process of the run; worker processes would print a
    KeyboardInterrupt traceback each. Only in a worker process's main thread (a unit run
    in the main process, or in a Dask worker's thread, is left alone).
    """
    if (multiprocessing.current_process().name != "MainProcess"
            and threading.current_thread() is threading.main_thread()):
        signal.signal(signal.SIGINT, signal.SIG_IGN)


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
        unit that finishes is saved there at once (in this process), its study too, in
        the run directory's Optuna journal (experiment.journal).
    on_unit_done : callable, optional
        Called in this process with each unit as soon as it is available (loaded from
        the store or finished), for a progress bar.

    With ``config.starts`` the file is read and checked first (InputError before any
    unit runs), and each unit gets its start instead of a study.

    Returns
    -------
    list of UnitResult
        In table order (sampler by sampler, simulation by simulation), whatever the
        order in which the units finished.
    """
    units = units_of(config)
    starts = None if config.starts is None else read_starts(
        config.starts, samplers=config.samplers, n_simulations=config.n_simulations,
        n_features=splits.X_train.shape[1],
    )
    results: dict[tuple[str, int], UnitResult] = {}
    journal = None if store is None else open_journal(store.directory, config)
    if store is not None:
        for sampler, simulation, _ in units:
            payload = store.load(sampler, simulation)
            if payload is not None:
                results[(sampler, simulation)] = unit_from_json(payload)
                journal.add(results[(sampler, simulation)])
                if on_unit_done is not None:
                    on_unit_done(results[(sampler, simulation)])
    pending = [unit for unit in units if (unit[0], unit[1]) not in results]
    for result in _execute(pending, splits, config, starts):
        key = (str(result.record["sampler"]), int(result.record["simulation"]))
        if store is not None:
            store.save(*key, unit_to_json(result))
            journal.add(result)
        results[key] = result
        if on_unit_done is not None:
            on_unit_done(result)
    return [results[(sampler, simulation)] for sampler, simulation, _ in units]


def _execute(
    units: list[tuple[str, int, int]], splits: Splits, config: RunConfig,
    starts: dict[tuple[str, int], PublishedStart] | None = None,
) -> Iterator[UnitResult]:
    starts = starts or {}
    units = slowest_first(units)
    tasks = (
        delayed(_run_unit_in_worker)(splits, config, sampler, simulation, seed,
                                     starts.get((sampler, simulation)))
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
            yield run_unit(splits, config, sampler, simulation, seed,
                           starts.get((sampler, simulation)))
        return
    # One unit per task (units take a second or so): joblib's automatic batching could
    # put several in the last batch and leave the other worker idle.
    yield from Parallel(n_jobs=config.n_jobs, return_as="generator_unordered",
                        batch_size=1)(tasks)


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
