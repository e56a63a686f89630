"""Units on a Dask distributed cluster, checked before the first unit is sent.

``DaskCluster(address)`` connects to the scheduler; ``check()`` then fails fast, in one
line (a `ClusterError`), when no worker joins, when the scheduler or a worker cannot
import this project (the scheduler unpickles every task, so it needs the project too),
or when a worker runs other package releases or other project code than this machine
(the numbers would differ). An unreachable scheduler is reported after
``CONNECT_SECONDS``, a cluster without workers after ``WORKER_WAIT_SECONDS`` (10 s each),
a scheduler or worker that cannot import the project at once. A scheduler or worker
that is merely slow to answer (importing the project's packages on a loaded machine
takes seconds) is given ``PROBE_SECONDS``, then the run goes on with a warning that it
was not checked. ``execute`` sends the
units, at most one per worker thread at a time, and yields each result as it comes; a
worker that dies, a scheduler that goes away or workers that all leave end the run with
one line, the finished units being saved by the caller.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import platform
import re
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from datasets.splits import Splits
from experiment.config import RunConfig
from experiment.published_starts import PublishedStart
from experiment.store import key_package_versions
from experiment.unit import UnitResult, run_unit
from utils.errors import InputError, RunWarning

#: Seconds to reach the scheduler.
CONNECT_SECONDS = 10
#: Seconds to wait for a first worker.
WORKER_WAIT_SECONDS = 10
#: Seconds for the scheduler and the workers to import the project and answer.
PROBE_SECONDS = 20
#: Seconds without any worker, mid-run, before the run gives up.
NO_WORKER_SECONDS = 30
#: The project's packages, whose source the workers must share with this machine.
PROJECT_PACKAGES = ("datasets", "experiment", "hyper_local_search", "optuna_training", "utils")
_ROOT = Path(__file__).resolve().parents[1]
_START_WORKER = "cd HyperLocalTuning && PYTHONPATH=. dask worker {address} --nthreads 1"
_START_SCHEDULER = "cd HyperLocalTuning && PYTHONPATH=. dask scheduler"


class ClusterError(InputError):
    """The Dask cluster cannot run the units: one line saying what to fix."""


def environment() -> dict[str, Any]:
    """What must be equal on this machine and every worker: releases and project code.

    Returns
    -------
    dict
        ``python`` (version), ``packages`` (`experiment.store.KEY_PACKAGES` versions)
        and ``code`` (SHA-256 of each ``.py`` file of the project's packages, by path).
    """
    code = {}
    for package in PROJECT_PACKAGES:
        for path in sorted((_ROOT / package).rglob("*.py")):
            code[path.relative_to(_ROOT).as_posix()] = hashlib.sha256(
                path.read_bytes()).hexdigest()
    return {"python": platform.python_version(), "packages": key_package_versions(),
            "code": code}


def probe() -> dict[str, Any]:
    """Run on the scheduler and on each worker: import the unit's code, describe it."""
    import experiment.unit  # noqa: F401  (the import is the test)

    return environment()


def run_unit_task(
    splits: Splits, config: RunConfig, sampler: str, simulation: int, seed: int,
    start: PublishedStart | None = None,
) -> UnitResult:
    """One unit, as a Dask task (``experiment.unit.run_unit``)."""
    return run_unit(splits, config, sampler, simulation, seed, start)


def _call_with_timeout(function: Callable[[], Any], seconds: float) -> Any:
    """``function()``, or TimeoutError after ``seconds`` (it runs on a daemon thread)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _reason(error: BaseException) -> str:
    """A remote error in a few words: ``No module named 'x'`` for a failed import."""
    text = str(error)
    missing = re.search(r"No module named '[^']+'", text)
    if missing:
        return missing.group()
    text = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return text


def _differences(mine: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """How a worker's `environment` differs from this machine's, in words (None: equal)."""
    if not isinstance(theirs, dict):
        return "answered with something else than its environment"
    if theirs.get("python") != mine["python"]:
        return f"runs Python {theirs.get('python')}, this machine {mine['python']}"
    packages = theirs.get("packages", {})
    for name, version in mine["packages"].items():
        if packages.get(name) != version:
            return f"has {name} {packages.get(name)}, this machine {version}"
    code = theirs.get("code", {})
    changed = sorted(set(code) ^ set(mine["code"]) | {
        path for path in set(code) & set(mine["code"]) if code[path] != mine["code"][path]})
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3
                                          else "")
        return f"runs other project code ({shown} differ)"
    return None


class DaskCluster:
    """A connection to a Dask scheduler, for running units.

    Parameters
    ----------
    address : str
        The scheduler's address, e.g. ``tcp://10.0.0.5:8786``.

    Raises
    ------
    InputError
        If dask.distributed is not installed or the scheduler cannot be reached.
    """

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise InputError(
                "--backend dask needs the packages dask and distributed; install them with "
                "'pip install -r requirements-dask.txt'."
            ) from None
        self.address = address
        # distributed logs its own account of every fault (reconnecting, closing, ...);
        # this module reports each in one line instead
        self._log_levels = {name: logging.getLogger(name).level for name in
                            ["distributed", *(n for n in logging.root.manager.loggerDict
                                              if n.startswith("distributed."))]}
        for name in self._log_levels:
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            self.client = Client(address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError) as error:
            self._restore_logging()
            raise InputError(
                f"cannot reach the Dask scheduler at {address!r} ({error}); start one with "
                "'dask scheduler' and give its address, e.g. --scheduler tcp://10.0.0.5:8786."
            ) from None

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the cluster keeps running)."""
        with contextlib.suppress(TimeoutError, OSError):
            _call_with_timeout(self.client.close, 5)
        self._restore_logging()

    def _restore_logging(self) -> None:
        for name, level in self._log_levels.items():
            logging.getLogger(name).setLevel(level)

    def check(self) -> int:
        """Fail fast unless the cluster can run units; returns its worker threads.

        The scheduler is probed first, then the run waits for a worker and probes the
        workers.

        Raises
        ------
        ClusterError
            If no worker joins within `WORKER_WAIT_SECONDS`, the scheduler or a worker
            cannot import the project, or a worker's releases or code differ.

        Warns
        -----
        RunWarning
            If the scheduler or the workers do not answer within `PROBE_SECONDS`.
        """
        address = self.address
        try:
            _call_with_timeout(lambda: self.client.run_on_scheduler(probe), PROBE_SECONDS)
        except TimeoutError:
            warnings.warn(RunWarning(
                f"the Dask scheduler at {address} did not answer within {PROBE_SECONDS} s; "
                "whether it can import this project was not checked."), stacklevel=2)
        except ImportError as error:
            raise ClusterError(
                f"the Dask scheduler at {address} cannot import this project ({_reason(error)}), "
                "so it "
                f"cannot read the units' tasks; start it from a clone of this repository: "
                f"{_START_SCHEDULER}"
            ) from None
        except Exception as error:
            raise ClusterError(
                f"the Dask scheduler at {address} cannot run this project's code "
                f"({_reason(error)}); "
                f"start it from a clone of this repository: {_START_SCHEDULER}"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except (TimeoutError, OSError):
            raise ClusterError(
                f"no Dask worker joined the scheduler at {address} within "
                f"{WORKER_WAIT_SECONDS} s; start one from a clone of this repository: "
                f"{_START_WORKER.format(address=address)}"
            ) from None
        try:
            answers = _call_with_timeout(lambda: self.client.run(probe, on_error="return"),
                                         PROBE_SECONDS)
        except TimeoutError:
            warnings.warn(RunWarning(
                f"the Dask workers of {address} did not answer within {PROBE_SECONDS} s; "
                "their code and package versions were not checked."), stacklevel=2)
            answers = {}
        mine = environment()
        for worker, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                raise ClusterError(
                    f"the Dask worker {worker} cannot import this project ({_reason(answer)}); "
                    "start "
                    f"each worker from a clone of this repository: "
                    f"{_START_WORKER.format(address=address)}"
                )
            difference = _differences(mine, answer)
            if difference is not None:
                raise ClusterError(
                    f"the Dask worker {worker} {difference}; every worker needs the same "
                    "code and package versions as this machine (pip install -r "
                    "requirements-dask.txt in a clone at the same commit)."
                )
        return self.threads()

    def threads(self) -> int:
        """Worker threads of the cluster now (0 when it has no worker)."""
        return int(sum(self.client.nthreads().values()))

    def execute(
        self,
        units: Iterator[tuple[str, int, int]],
        splits: Splits,
        config: RunConfig,
        *,
        in_flight: int,
        describe: Callable[[str, int], str],
        starts: dict[tuple[str, int], PublishedStart] | None = None,
    ) -> Iterator[UnitResult]:
        """Run ``units`` (drawn lazily, at most ``in_flight`` at a time); yield each result.

        Parameters
        ----------
        units : iterator of (sampler, simulation, seed)
            Drawn only when a worker thread is free (so claims are taken late).
        splits : Splits
            Sent with each unit's task (not scattered: data held only by a worker would
            be lost with it, and the units waiting for it with it).
        config : RunConfig
        in_flight : int
            Units sent at a time.
        describe : callable
            ``describe(sampler, simulation)``: how messages name a unit.
        starts : dict, optional
            A given Optuna model per (sampler, simulation) (--starts) instead of a study.

        Raises
        ------
        ClusterError
            If a worker died computing a unit (Dask gave up on it), the scheduler went
            away, or no worker was left for `NO_WORKER_SECONDS`.
        """
        from distributed import wait

        client = self.client
        running: dict[Any, tuple[str, int]] = {}
        exhausted = False
        alone_since = None
        try:
            while True:
                while not exhausted and len(running) < in_flight:
                    unit = next(units, None)
                    if unit is None:
                        exhausted = True
                        break
                    sampler, simulation, seed = unit
                    key = f"hls-unit-{sampler}-{simulation}-{uuid.uuid4().hex[:8]}"
                    with warnings.catch_warnings():  # "large object in task graph": wanted
                        warnings.simplefilter("ignore", UserWarning)
                        future = client.submit(run_unit_task, splits, config, sampler,
                                               simulation, seed,
                                               (starts or {}).get((sampler, simulation)),
                                               key=key, pure=False)
                    running[future] = (sampler, simulation)
                if not running:
                    return
                try:
                    done, _ = wait(list(running), timeout=2, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                except concurrent.futures.CancelledError:
                    done = {future for future in running if future.done()}
                for future in done:
                    sampler, simulation = running.pop(future)
                    yield self._result(future, describe(sampler, simulation))
                if done:
                    alone_since = None
                    continue
                alone_since = self._check_alive(alone_since)
        finally:
            if running:  # the cluster may already be gone: nothing to keep then
                with contextlib.suppress(Exception):
                    _call_with_timeout(lambda: client.cancel(list(running)), 5)

    def _result(self, future: Any, unit: str) -> UnitResult:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker:
            raise ClusterError(
                f"Dask workers died computing {unit} (killed, or out of memory) and Dask gave "
                "up on it; check the workers' memory and logs."
            ) from None
        except ImportError as error:
            raise ClusterError(
                f"a Dask worker cannot import this project ({_reason(error)}) while computing "
                f"{unit}; "
                f"start each worker with: {_START_WORKER.format(address=self.address)}"
            ) from None
        except concurrent.futures.CancelledError:
            raise ClusterError(
                f"Dask cancelled {unit}: the scheduler at {self.address} or its workers went "
                "away."
            ) from None
        except OSError as error:
            raise ClusterError(
                f"lost the Dask scheduler at {self.address} while computing {unit} "
                f"({type(error).__name__})."
            ) from None

    def _check_alive(self, alone_since: float | None) -> float | None:
        """Raise if the scheduler is gone or workers have been missing too long."""
        if self.client.status not in ("running", "connecting", "newly-created"):
            raise ClusterError(f"lost the Dask scheduler at {self.address}.")
        try:
            threads = _call_with_timeout(self.threads, PROBE_SECONDS)
        except Exception:
            raise ClusterError(f"lost the Dask scheduler at {self.address}.") from None
        if threads:
            return None
        now = time.monotonic()
        if alone_since is None:
            return now
        if now - alone_since > NO_WORKER_SECONDS:
            raise ClusterError(
                f"no Dask worker has been connected to {self.address} for "
                f"{NO_WORKER_SECONDS} s; start workers again "
                f"({_START_WORKER.format(address=self.address)})."
            )
        return alone_since
