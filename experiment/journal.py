"""Every study of a run in one Optuna journal file, HLS points included as trials.

``{run directory}/studies.journal`` is an Optuna ``JournalStorage`` file (a log of JSON
lines; ``optuna.load_study(study_name=..., storage=JournalStorage(JournalFileBackend(
path)))`` or ``optuna-dashboard path`` open it). One study per unit, named
``{sampler}_{simulation:04d}`` as the unit's JSON file; its trials are the unit's Optuna
trials in order (params l1, l2 in the run's search space; value the validation MSE),
then one trial for the HLS point (user attribute ``hls_source`` = "hls", with the
direction, step length, fits, LP status and the train and test MSEs).

Written in the main process only, from the finished units (workers, local or on Dask,
never touch the file): each unit's study goes to the file in one append (one lock and
one fsync), so the journal costs a few milliseconds per unit. A resumed run adds the
studies the file lacks (a unit whose study is missing or incomplete, e.g. after a kill
mid-write, is written again), so after every run the journal holds exactly the run's
finished units.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend
from optuna.trial import TrialState

from experiment.config import RunConfig
from experiment.unit import UnitResult
from optuna_training.search_space import SEARCH_SPACES

#: The journal's file name inside the run directory.
JOURNAL_NAME = "studies.journal"


def study_name(sampler: str, simulation: int) -> str:
    """The unit's study name (its JSON file's stem)."""
    return f"{sampler}_{simulation:04d}"


class _BufferedBackend(BaseJournalBackend):
    """A journal backend that collects appends in memory until ``flush``.

    Optuna's file backend locks, writes and fsyncs once per operation (about 2.5 ms a
    trial here); a unit's study is a hundred operations, so they are collected and
    written at once. Only this process writes the file.
    """

    def __init__(self, backend: JournalFileBackend) -> None:
        self._backend = backend
        self._logs: list[dict[str, Any]] = list(backend.read_logs(0))
        self._pending: list[dict[str, Any]] = []

    def read_logs(self, log_number_from: int) -> list[dict[str, Any]]:
        return self._logs[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self._logs.extend(logs)
        self._pending.extend(logs)

    def flush(self) -> None:
        if self._pending:
            self._backend.append_logs(self._pending)
            self._pending = []


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line without its newline (a write killed midway) off the file."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        handle.seek(0)
        data = handle.read()
        handle.truncate(data.rfind(b"\n") + 1)


def _float_trial(params: dict[str, float], space_distribution: FloatDistribution, value: float,
                 user_attrs: dict[str, Any] | None = None) -> optuna.trial.FrozenTrial:
    distributions = {
        name: FloatDistribution(min(space_distribution.low, v), max(space_distribution.high, v),
                                log=space_distribution.log)
        for name, v in params.items()
    }
    finite = math.isfinite(value)
    return optuna.trial.create_trial(
        params=params, distributions=distributions, value=value if finite else None,
        state=TrialState.COMPLETE if finite else TrialState.FAIL, user_attrs=user_attrs or {},
    )


def _number(record: dict[str, object], key: str) -> float:
    value = record.get(key)
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


class RunJournal:
    """The run's journal file; ``add(unit)`` writes a unit's study unless it is there.

    Parameters
    ----------
    path : Path
        The journal file (created if missing).
    config : RunConfig
        The run's settings (search space; stored as study attributes).
    """

    def __init__(self, path: Path, config: RunConfig) -> None:
        self.path = Path(path)
        _drop_torn_tail(self.path)
        self._buffer = _BufferedBackend(JournalFileBackend(str(self.path)))
        self.storage = JournalStorage(self._buffer)
        self._config = config
        self.skipped = 0

    def _complete(self, name: str, n_trials: int) -> bool:
        try:
            study = optuna.load_study(study_name=name, storage=self.storage)
        except KeyError:
            return False
        if len(study.get_trials(deepcopy=False)) == n_trials:
            return True
        optuna.delete_study(study_name=name, storage=self.storage)
        return False

    def add(self, unit: UnitResult) -> bool:
        """Write the unit's study (Optuna trials, then the HLS point) if it is missing.

        Returns False (and counts it in ``skipped``) for a unit stored by older code
        without its trials' values.

        Parameters
        ----------
        unit : UnitResult
        """
        record = unit.record
        if len(unit.trial_values) != len(unit.trials) or not unit.trials:
            self.skipped += 1
            return False
        name = study_name(str(record["sampler"]), int(record["simulation"]))  # type: ignore[arg-type]
        if self._complete(name, len(unit.trials) + 1):
            return True
        config = self._config
        space = SEARCH_SPACES[config.search_space]
        box = FloatDistribution(space.low, space.high, log=space.log)
        trials = [_float_trial({"l1": l1, "l2": l2}, box, value)
                  for (l1, l2), value in zip(unit.trials, unit.trial_values, strict=True)]
        hls_attrs = {
            "hls_source": "hls",
            "hls_start_trial": unit.history[-1].trial if unit.history else None,
            "hls_direction": [_number(record, "d_l1"), _number(record, "d_l2")],
            "hls_t_star": _number(record, "t_star"),
            "hls_fits": record.get("hls_fits"),
            "hls_lp_status": record.get("lp_status"),
            "hls_steps_taken": record.get("hls_steps_taken"),
            "train_mse": _number(record, "train_mse_hls"),
            "test_mse": _number(record, "test_mse_hls"),
            "seconds": _number(record, "seconds_hls"),
            "faults": record.get("faults", ""),
        }
        hls_attrs = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                     for k, v in hls_attrs.items()}
        trials.append(_float_trial(
            {"l1": _number(record, "l1_hls"), "l2": _number(record, "l2_hls")}, box,
            _number(record, "val_mse_hls"), hls_attrs))
        level = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" lines
        try:
            study = optuna.create_study(storage=self.storage, study_name=name,
                                        direction="minimize")
        finally:
            optuna.logging.set_verbosity(level)
        for key, value in (("sampler", record["sampler"]), ("simulation", record["simulation"]),
                           ("seed", record["seed"]), ("dataset", config.dataset),
                           ("search_space", config.search_space),
                           ("line_search", config.line_search),
                           ("formulation", config.formulation),
                           ("solver", config.effective_solver)):
            study.set_user_attr(key, value)
        study.add_trials(trials)
        self._buffer.flush()
        return True

    def close(self) -> None:
        """Write anything not yet written (``add`` flushes after each unit already)."""
        self._buffer.flush()


def open_journal(directory: Path, config: RunConfig) -> RunJournal:
    """The journal of the run directory ``directory`` (``JOURNAL_NAME`` inside it).

    Parameters
    ----------
    directory : Path
        The run directory (``RunStore.directory``).
    config : RunConfig
    """
    return RunJournal(Path(directory) / JOURNAL_NAME, config)
