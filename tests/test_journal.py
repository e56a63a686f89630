"""The run's Optuna journal: every unit's study, its HLS point a trial, readable by optuna,
and complete again after a resume, a torn last line or a study cut short."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from datasets.registry import load_dataset
from experiment.config import RunConfig
from experiment.execution import run
from experiment.journal import JOURNAL_NAME, study_name
from experiment.store import open_store
from utils.run_store import content_checksum

N_TRIALS = 12


def _config(n_simulations: int) -> RunConfig:
    return RunConfig(dataset="diabetes", samplers=("tpe", "random"), n_trials=N_TRIALS,
                     n_simulations=n_simulations, seed=3, n_jobs=1)


def _run(tmp_path, n_simulations):
    config = _config(n_simulations)
    store = open_store(config, tmp_path)
    units = run(config, load_dataset("diabetes", seed=3), store=store)
    return units, store.directory / JOURNAL_NAME


def _studies(path) -> dict[str, optuna.Study]:
    storage = JournalStorage(JournalFileBackend(str(path)))
    return {summary.study_name: optuna.load_study(study_name=summary.study_name,
                                                  storage=storage)
            for summary in optuna.get_all_study_summaries(storage)}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("journal")
    units, path = _run(tmp_path, 2)
    return tmp_path, units, path


def test_every_unit_is_a_study_with_its_trials_and_the_hls_point(first_run):
    _, units, path = first_run
    studies = _studies(path)
    assert sorted(studies) == ["random_0000", "random_0001", "tpe_0000", "tpe_0001"]
    for unit in units:
        record = unit.record
        study = studies[study_name(record["sampler"], record["simulation"])]
        trials = study.trials
        assert len(trials) == N_TRIALS + 1
        optuna_trials, hls = trials[:-1], trials[-1]
        assert [(t.params["l1"], t.params["l2"]) for t in optuna_trials] == list(unit.trials)
        assert min(t.value for t in optuna_trials) == record["val_mse_optuna"]
        assert (hls.params["l1"], hls.params["l2"]) == (record["l1_hls"], record["l2_hls"])
        assert hls.value == record["val_mse_hls"]
        assert hls.user_attrs["hls_source"] == "hls"
        assert hls.user_attrs["hls_fits"] == record["hls_fits"]
        assert hls.user_attrs["test_mse"] == record["test_mse_hls"]
        assert study.best_value <= record["val_mse_optuna"]
        assert study.user_attrs["sampler"] == record["sampler"]
        assert study.user_attrs["seed"] == record["seed"]


def test_the_trial_values_are_the_validation_mse_of_their_points(first_run):
    from sklearn.linear_model import ElasticNet

    _, _, path = first_run
    s = load_dataset("diabetes", seed=3)
    trial = _studies(path)["tpe_0001"].trials[4]
    l1, l2 = trial.params["l1"], trial.params["l2"]
    model = ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2)).fit(s.X_train, s.y_train)
    assert trial.value == pytest.approx(np.mean((model.predict(s.X_val) - s.y_val) ** 2),
                                        rel=1e-9)


def test_a_resumed_run_adds_the_new_units_once(first_run):
    tmp_path, _, path = first_run
    before = path.read_bytes()
    _run(tmp_path, 2)  # nothing new: the file is untouched
    assert path.read_bytes() == before
    _run(tmp_path, 3)
    studies = _studies(path)
    assert len(studies) == 6
    assert all(len(study.trials) == N_TRIALS + 1 for study in studies.values())
    assert path.read_bytes().startswith(before)


def test_a_torn_line_and_a_study_cut_short_are_repaired(tmp_path):
    _, path = _run(tmp_path, 1)
    lines = path.read_bytes().splitlines(keepends=True)
    # Cut the last study's last three trials off, then leave half a line (a kill mid-write).
    path.write_bytes(b"".join(lines[:-3]) + lines[-3][: len(lines[-3]) // 2])
    _, path = _run(tmp_path, 1)
    studies = _studies(path)
    assert sorted(studies) == ["random_0000", "tpe_0000"]
    assert all(len(study.trials) == N_TRIALS + 1 for study in studies.values())
    for line in path.read_bytes().splitlines():
        json.loads(line)


def test_units_stored_without_trial_values_are_skipped(tmp_path):
    _, path = _run(tmp_path, 1)
    path.unlink()
    for unit_file in (path.parent / "units").glob("*.json"):
        envelope = json.loads(unit_file.read_text())  # a unit as older code stored it:
        del envelope["unit"]["trial_values"]  # no trial values (checksum made to match)
        envelope["checksum"] = content_checksum({"key": envelope["key"],
                                                 "unit": envelope["unit"]})
        unit_file.write_text(json.dumps(envelope))
    _run(tmp_path, 1)
    assert _studies(path) == {}
