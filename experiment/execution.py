"""Running the units of a run: in this process, in local worker processes, or on Dask.

``run(config, splits)`` is the whole protocol as a Python call; the command line only
turns flags into a RunConfig and writes the outputs (experiment.report).

Before the first unit: the stored units are checked (anything untrustworthy is set
aside and computed again), the workers are capped at the cores (experiment.guards), the
run's duration is estimated (warned about above an hour, refused above 30 days) and a
Dask cluster is probed (experiment.dask_backend). During the run a unit is computed only
while this run holds its claim in the store, so runs sharing a directory never compute
a unit twice; at the end this run waits for the units another run is computing.
Worker processes leave when the main process dies, even by SIGKILL.

Every unit's study is also kept in the run directory's Optuna journal
(experiment.journal), written in the main process. Runs sharing the directory take
turns: the run holding the journal's claim writes each unit as it becomes available;
another run adds what the journal lacks at its end, under the same claim.
"""

from __future__ import annotations

import collections
import gc
import multiprocessing
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator

from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from datasets.splits import Splits
from experiment import guards
from experiment.config import RunConfig
from experiment.journal import open_journal
from experiment.published_starts import PublishedStart, read_starts
from experiment.store import check_unit, unit_to_json
from experiment.unit import UnitResult, make_problem, run_unit, units_of
from optuna_training.search_space import SEARCH_SPACES
from utils.atomic_io import WriteError
from utils.errors import InputError, RunWarning
from utils.run_store import RunStore

#: How long to wait for a Dask scheduler before giving up.
DASK_CONNECT_SECONDS = 10
#: CPU of one unit relative to a random-sampler unit, per sampler (house_price, 100
#: trials, fast line search, measured 3.0 / 2.1 / 1.1 / 1.0, benchmarks/bench_protocol.py):
#: the grid's l2 = 1e-10 row runs into max_iter and its LP is singular (the full LP),
#: TPE's sampling costs more per trial. Only the order matters: the slowest units are
#: dispatched first, so that the last ones to finish are short.
RELATIVE_UNIT_COST = {"grid": 3.0, "tpe": 2.0, "qmc": 1.1, "random": 1.0}
#: Seconds between looks at the units another run is computing.
WAIT_POLL_SECONDS = 0.5
#: Seconds between a worker process's checks that the main process is still there.
PARENT_POLL_SECONDS = 1.0
#: Seconds a run waits at its end for another run to finish writing the journal.
JOURNAL_WAIT_SECONDS = 60.0
#: The journal's claim among the units' claims (no unit has this name).
JOURNAL_CLAIM = "studies.journal"

_watchdog_started = False


class WorkerDied(InputError):
    """A local worker process died mid-run (killed, or out of memory): one line."""


def _run_unit_in_worker(
    splits: Splits, config: RunConfig, sampler: str, simulation: int, seed: int,
    start: PublishedStart | None = None,
) -> UnitResult:
    """``run_unit``, with Ctrl-C left to the main process and an eye on the main process."""
    _ignore_interrupts_in_workers()
    _leave_with_parent()
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


def _in_worker_process() -> bool:
    return (multiprocessing.current_process().name != "MainProcess"
            and threading.current_thread() is threading.main_thread())


def _ignore_interrupts_in_workers() -> None:
    """Leave Ctrl-C to the main process: it stops the run and keeps the finished units.

    A terminal sends SIGINT to every process of the run; worker processes would print a
    KeyboardInterrupt traceback each. Only in a worker process's main thread (a unit run
    in the main process, or in a Dask worker's thread, is left alone).
    """
    if _in_worker_process():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _leave_with_parent() -> None:
    """In a worker process: exit as soon as the main process is gone (SIGKILL included).

    Without this, loky's idle workers of a killed run stay for ever, and with them the
    semaphores in /dev/shm that their resource tracker would otherwise remove.
    """
    global _watchdog_started
    if _watchdog_started or not _in_worker_process() or not hasattr(os, "getppid"):
        return
    _watchdog_started = True
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


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
        Where finished units are kept: units found there (and passing their checks) are
        not run again, each unit that finishes is saved there at once (in this
        process), its study too, in the run directory's Optuna journal
        (experiment.journal), and units are claimed there so that runs sharing it never
        compute the same unit.
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

    Raises
    ------
    InputError
        Before any unit: a run too long to finish (with its estimate), a Dask cluster
        that cannot run the units. Mid-run (the finished units are saved): a worker
        process that died, a lost Dask cluster.
    WriteError
        A unit that cannot be saved (full disk, ...); the units saved before are kept.
    """
    units = units_of(config)
    starts = None if config.starts is None else read_starts(
        config.starts, samplers=config.samplers, n_simulations=config.n_simulations,
        n_features=splits.X_train.shape[1],
    )
    results: dict[tuple[str, int], UnitResult] = {}
    seeds = {(sampler, simulation): seed for sampler, simulation, seed in units}
    journal = None if store is None else _Journal(store, config)

    def done(unit: UnitResult) -> None:
        key = (str(unit.record["sampler"]), int(unit.record["simulation"]))
        results[key] = unit
        if journal is not None:
            journal.add(unit)
        if on_unit_done is not None:
            on_unit_done(unit)

    def stored(sampler: str, simulation: int) -> UnitResult | None:
        if store is None:
            return None
        seed = seeds[(sampler, simulation)]
        return store.load(sampler, simulation, seed, check=lambda payload: check_unit(
            payload, sampler=sampler, simulation=simulation, seed=seed,
            n_features=splits.n_features))

    try:
        for sampler, simulation, _ in units:
            unit = stored(sampler, simulation)
            if unit is not None:
                done(unit)
        pending = [unit for unit in units if (unit[0], unit[1]) not in results]
        if pending:
            _compute(pending, splits, config, store, done, stored, starts or {})
        if journal is not None:
            journal.finish(results.values())
    finally:
        if journal is not None:
            journal.release()
        if store is not None:
            store.close()
    return [results[(sampler, simulation)] for sampler, simulation, _ in units]


class _Journal:
    """The run directory's Optuna journal, written by one run at a time.

    The run that gets the journal's claim first writes each unit as it becomes
    available (experiment.journal); any other run sharing the directory writes nothing
    during its run and, at its end, waits (at most `JOURNAL_WAIT_SECONDS`) for the claim,
    opens the journal afresh and adds the studies it lacks. A journal never has two
    writers, so it is never torn by them.
    """

    def __init__(self, store: RunStore, config: RunConfig) -> None:
        self.store, self.config = store, config
        self.writer = (open_journal(store.directory, config)
                       if store.claims.try_claim(JOURNAL_CLAIM) else None)

    def add(self, unit: UnitResult) -> None:
        if self.writer is not None:
            self.writer.add(unit)

    def finish(self, units) -> None:
        """Make sure the journal holds ``units`` (all the run's units, finished)."""
        if self.writer is None:
            deadline = time.monotonic() + JOURNAL_WAIT_SECONDS
            while not self.store.claims.try_claim(JOURNAL_CLAIM):
                if time.monotonic() > deadline:
                    warnings.warn(RunWarning(
                        f"another run is writing {self.store.directory}'s Optuna journal; "
                        "the studies it lacks are added at the next run."), stacklevel=3)
                    return
                time.sleep(WAIT_POLL_SECONDS)
            self.writer = open_journal(self.store.directory, self.config)
        for unit in units:
            self.writer.add(unit)
        self.writer.close()

    def release(self) -> None:
        self.store.claims.release(JOURNAL_CLAIM)


def _compute(
    pending: list[tuple[str, int, int]],
    splits: Splits,
    config: RunConfig,
    store: RunStore | None,
    done: Callable[[UnitResult], None],
    stored: Callable[[str, int], UnitResult | None],
    starts: dict[tuple[str, int], PublishedStart],
) -> None:
    """Compute the pending units (claimed one by one), then wait for other runs' ones."""
    busy: list[tuple[str, int, int]] = []
    found: collections.deque[UnitResult] = collections.deque()  # finished by another run

    def claimed(candidates: list[tuple[str, int, int]]) -> Iterator[tuple[str, int, int]]:
        for sampler, simulation, seed in candidates:
            if store is not None:
                if not store.claim(sampler, simulation):
                    busy.append((sampler, simulation, seed))
                    continue
                unit = stored(sampler, simulation) if store.has(sampler, simulation) else None
                if unit is not None:  # another run finished it in the meantime
                    store.release(sampler, simulation)
                    found.append(unit)  # `done` runs in this thread, not joblib's
                    continue
            yield sampler, simulation, seed

    def finish(result: UnitResult) -> None:
        sampler, simulation = str(result.record["sampler"]), int(result.record["simulation"])
        if store is not None:
            store.save(sampler, simulation, seeds_of[(sampler, simulation)], unit_to_json(result))
            store.release(sampler, simulation)
        done(result)

    seeds_of = {(sampler, simulation): seed for sampler, simulation, seed in pending}
    with _backend(config, len(pending)) as backend:
        _check_duration(config, splits, pending, backend.workers)
        todo = slowest_first(pending)
        while todo:
            try:
                for result in backend.execute(claimed(todo), splits, config, starts):
                    finish(result)
                    while found:
                        done(found.popleft())
                while found:
                    done(found.popleft())
            except (InputError, WriteError) as error:
                raise _with_kept(error, store) from error.__cause__
            todo = _wait_for_others(busy, store, stored, done) if store is not None else []


def _wait_for_others(busy, store, stored, done) -> list[tuple[str, int, int]]:
    """Wait until the units other runs hold are finished; return those left to us.

    A unit whose claim comes free without a finished file (the other run died or
    stopped) is returned, claimed, to be computed here.
    """
    if not busy:
        return []
    holder = store.holder(busy[0][0], busy[0][1])
    warnings.warn(RunWarning(
        f"waiting for {len(busy)} unit(s) that another run ({holder}) is computing in "
        f"{store.directory}; Ctrl-C stops waiting (what is finished is kept)."
    ), stacklevel=3)
    ours = []
    while busy:
        time.sleep(WAIT_POLL_SECONDS)
        for unit in list(busy):
            sampler, simulation, _ = unit
            if store.has(sampler, simulation):
                loaded = stored(sampler, simulation)
                if loaded is not None:
                    busy.remove(unit)
                    done(loaded)
                    continue
            if store.claim(sampler, simulation):
                busy.remove(unit)
                store.release(sampler, simulation)  # claimed again by `claimed`
                ours.append(unit)
        if ours:
            return ours
    return ours


def _with_kept(error: Exception, store: RunStore | None) -> Exception:
    """``error`` with a note that the finished units are kept (same type and fields)."""
    if store is None:
        return error
    note = (f" The finished units are kept in {store.directory}; run the same command again "
            "to go on.")
    if isinstance(error, WriteError):
        return type(error)(error.errno, f"{error}.{note}", error.filename)
    return type(error)(f"{error}{note}")


def _check_duration(
    config: RunConfig, splits: Splits, pending: list[tuple[str, int, int]], workers: int
) -> None:
    """Warn about (or refuse) a run whose estimated wall time is long (experiment.guards)."""
    problem = make_problem(splits, config.effective_solver)
    with threadpool_limits(limits=1):  # as the units fit (experiment.unit.run_unit)
        fit_seconds = guards.seconds_per_fit(problem, SEARCH_SPACES[config.search_space])
    per_sampler: dict[str, int] = {}
    for sampler, _, _ in pending:
        per_sampler[sampler] = per_sampler.get(sampler, 0) + 1
    n_refiners = len(set(config.refiners) - {"hls"})
    estimate = guards.estimate_seconds(
        samplers=list(config.samplers), n_units_per_sampler=per_sampler,
        n_trials=config.n_trials, fit_seconds=fit_seconds, line_search=config.line_search,
        hls_steps=config.hls_steps, n_refiners=n_refiners, workers=workers,
        budget=config.fixed_budget if config.refiners else None,
    )
    growing = [s for s in per_sampler if guards.SAMPLER_COSTS.get(s, (0, 1))[1]]
    what = (f"{len(pending)} units of {config.n_trials} trials on {workers} worker(s), "
            f"{fit_seconds * 1e3:.2g} ms per fit on this data"
            + (f", {' and '.join(growing)} slowing down with the square of --trials"
               if growing and config.n_trials > 1000 else ""))
    guards.check_run_time(estimate, what=what)


class _Backend:
    """Where units run: ``execute`` yields results; ``workers`` units run at once."""

    workers = 1

    def __enter__(self) -> _Backend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def execute(self, units, splits, config, starts) -> Iterator[UnitResult]:
        raise NotImplementedError


class _InProcess(_Backend):
    def execute(self, units, splits, config, starts) -> Iterator[UnitResult]:
        for sampler, simulation, seed in units:
            yield run_unit(splits, config, sampler, simulation, seed,
                           starts.get((sampler, simulation)))


class _Loky(_Backend):
    def __init__(self, workers: int) -> None:
        self.workers = workers

    def execute(self, units, splits, config, starts) -> Iterator[UnitResult]:
        from joblib.externals.loky.process_executor import TerminatedWorkerError

        tasks = (delayed(_run_unit_in_worker)(splits, config, sampler, simulation, seed,
                                              starts.get((sampler, simulation)))
                 for sampler, simulation, seed in units)
        parallel = Parallel(n_jobs=self.workers, return_as="generator_unordered",
                            batch_size=1, pre_dispatch="n_jobs")
        try:
            with warnings.catch_warnings():  # stopped early (a fault): said in one line
                warnings.filterwarnings("ignore", message=".*tasks which were still being "
                                        "processed by the workers have been cancelled")
                yield from parallel(tasks)
        except TerminatedWorkerError:
            raise WorkerDied(
                "a worker process died while computing (killed, or out of memory); run the "
                "same command again, with a smaller --n-jobs if memory is short."
            ) from None


class _Dask(_Backend):
    def __init__(self, config: RunConfig) -> None:
        from experiment.dask_backend import DaskCluster

        self.cluster = DaskCluster(str(config.scheduler))
        try:
            threads = self.cluster.check()
        except BaseException:
            self.cluster.close()
            raise
        self.workers = max(1, min(threads, config.n_jobs) if config.n_jobs > 0 else threads)

    def __exit__(self, *exc_info: object) -> None:
        self.cluster.close()

    def execute(self, units, splits, config, starts) -> Iterator[UnitResult]:
        yield from self.cluster.execute(
            units, splits, config, starts=starts, in_flight=self.workers,
            describe=lambda sampler, simulation: f"{sampler} simulation {simulation}")


def _backend(config: RunConfig, n_units: int) -> _Backend:
    if config.backend == "dask":
        return _Dask(config)
    workers = guards.resolve_workers(config.n_jobs, n_units)
    if config.n_jobs == 1 or workers == 1:
        return _InProcess()
    return _Loky(workers)
