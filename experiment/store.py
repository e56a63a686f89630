"""Finished units on disk: the run key, and each unit as JSON.

The run store (utils.run_store) keeps one JSON file per finished unit under a directory
named by a hash of the settings that decide a unit's result (``result_settings``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from experiment.config import RunConfig
from experiment.unit import UnitResult
from optuna_training.elastic_net import ElasticNetFit
from optuna_training.study import Incumbent
from utils.run_store import RunStore, file_digest

#: Bumped whenever a change of the code changes what a unit computes, so that stored
#: units of older code are never mixed with new ones.
RESULTS_VERSION = 3


def result_settings(config: RunConfig) -> dict[str, object]:
    """The settings that decide each unit's result (the run store's key).

    Samplers, the number of simulations, n_jobs and the backend are left out: they
    choose which units run and where, not what a unit computes. A CSV data set, and a
    --starts file, is identified by its content, so an edited file starts a new run.
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
        "budget": config.effective_budget if config.refiners else None,
        "solver": config.effective_solver,
        "tpe": config.tpe,
        "starts": None if config.starts is None else {
            "csv": str(Path(config.starts).resolve()), "sha256": file_digest(Path(config.starts))},
        "resplit": config.resplit,
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
                "converged": fit.converged, "gap": fit.gap}

    return {
        "record": unit.record,
        "history": [asdict(incumbent) for incumbent in unit.history],
        "optuna_fit": model(unit.optuna_fit),
        "hls_fit": model(unit.hls_fit),
        "refiners": list(unit.refiners),
        "trials": [list(point) for point in unit.trials],
        "trial_values": list(unit.trial_values),
    }


def unit_from_json(payload: dict) -> UnitResult:
    """The unit ``unit_to_json`` wrote (JSON null, which stands for NaN, becomes NaN)."""

    def model(entry: dict) -> ElasticNetFit:
        gap = entry.get("gap")
        return ElasticNetFit(np.asarray(entry["coef"], dtype=np.float64),
                             float(entry["intercept"]), int(entry["n_iter"]),
                             bool(entry["converged"]), np.nan if gap is None else float(gap))

    record = {key: np.nan if value is None else value
              for key, value in payload["record"].items()}
    history = tuple(Incumbent(**entry) for entry in payload["history"])
    refiners = tuple(
        {key: np.nan if value is None else value for key, value in entry.items()}
        for entry in payload.get("refiners", ())
    )
    trials = tuple((float(a), float(b)) for a, b in payload.get("trials", ()))
    trial_values = tuple(np.nan if v is None else float(v)
                         for v in payload.get("trial_values", ()))
    return UnitResult(record, history, model(payload["optuna_fit"]), model(payload["hls_fit"]),
                      refiners, trials, trial_values)
