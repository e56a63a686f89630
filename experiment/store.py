"""Finished units on disk: the run key, and each unit as JSON.

The run store (utils.run_store) keeps one JSON file per finished unit under a directory
named by a hash of the settings that decide a unit's result (``result_settings``),
package versions included. ``check_unit`` is the schema a stored unit must pass before
it is used (anything else is set aside and computed again).
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from experiment.config import RunConfig
from experiment.unit import UnitResult
from optuna_training.elastic_net import ElasticNetFit
from optuna_training.study import Incumbent
from utils.run_store import RunStore, file_digest

#: Bumped whenever a change of the code changes what a unit computes, so that stored
#: units of older code are never mixed with new ones.
RESULTS_VERSION = 3
#: Packages whose release can change a unit's numbers: part of the run key, so a resumed
#: run never mixes units computed under different releases.
KEY_PACKAGES = ("numpy", "scipy", "scikit-learn", "optuna", "pandas")


def key_package_versions() -> dict[str, str]:
    """Installed versions of `KEY_PACKAGES` ("not installed" for a missing one)."""
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def result_settings(config: RunConfig) -> dict[str, object]:
    """The settings that decide each unit's result (the run store's key).

    Samplers, the number of simulations, n_jobs and the backend are left out: they
    choose which units run and where, not what a unit computes. A CSV data set, and a
    --starts file, is identified by its content, so an edited file starts a new run; the
    releases of the packages that decide the numbers (``KEY_PACKAGES``) are part of the key.
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
        "packages": key_package_versions(),
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


#: A stored record's fields that must be numbers (JSON null stands for NaN).
_RECORD_NUMBERS = (
    "l1_optuna", "l2_optuna", "l1_hls", "l2_hls", "train_mse_optuna", "val_mse_optuna",
    "test_mse_optuna", "train_mse_hls", "val_mse_hls", "test_mse_hls", "seconds_optuna",
    "seconds_hls",
)
_MODEL_FIELDS = ("coef", "intercept", "n_iter", "converged", "gap")


def check_unit(
    payload: Any, *, sampler: str, simulation: int, seed: int, n_features: int
) -> UnitResult:
    """The stored unit ``payload`` as a UnitResult, after checking its whole layout.

    Parameters
    ----------
    payload : object
        A parsed unit (what ``unit_to_json`` wrote).
    sampler, simulation, seed : str, int, int
        The unit it must be.
    n_features : int
        Length both models' ``coef`` must have.

    Returns
    -------
    UnitResult

    Raises
    ------
    ValueError
        Naming the first field that is missing, of the wrong type or size, or of
        another unit.
    """
    _expect(isinstance(payload, dict), "the unit is not a JSON object")
    for name in ("record", "history", "optuna_fit", "hls_fit"):
        _expect(name in payload, f"no {name!r}")
    record = payload["record"]
    _expect(isinstance(record, dict), "'record' is not an object")
    for name, expected in (("sampler", sampler), ("simulation", simulation), ("seed", seed)):
        _expect(name in record, f"the record has no {name!r}")
        _expect(record[name] == expected and type(record[name]) is type(expected),
                f"the record's {name} is {record[name]!r}, not {expected!r}")
    for name in _RECORD_NUMBERS:
        _expect(name in record, f"the record has no {name!r}")
        _expect(_is_number(record[name]), f"the record's {name} is not a number")
    for name, value in record.items():
        _expect(value is None or isinstance(value, str | int | float),
                f"the record's {name} is not a single value")
    for name in ("optuna_fit", "hls_fit"):
        model = payload[name]
        _expect(isinstance(model, dict) and all(f in model for f in _MODEL_FIELDS),
                f"{name!r} lacks one of {', '.join(_MODEL_FIELDS)}")
        coef = model["coef"]
        _expect(isinstance(coef, list) and len(coef) == n_features,
                f"{name}.coef does not hold {n_features} numbers")
        _expect(all(_is_number(c) for c in coef), f"{name}.coef holds a non-number")
        _expect(_is_number(model["intercept"]) and _is_number(model["gap"]),
                f"{name}'s intercept or gap is not a number")
        _expect(_is_int(model["n_iter"]) and isinstance(model["converged"], bool),
                f"{name}'s n_iter or converged has the wrong type")
    history = payload["history"]
    names = [f.name for f in fields(Incumbent)]
    _expect(isinstance(history, list) and history, "'history' is not a non-empty list")
    for entry in history:
        _expect(isinstance(entry, dict) and sorted(entry) == sorted(names),
                "a history entry lacks incumbent fields")
        _expect(_is_int(entry["trial"]) and all(_is_number(entry[n]) for n in names[1:]),
                "a history entry holds a non-number")
    refiners = payload.get("refiners", [])
    _expect(isinstance(refiners, list) and all(isinstance(r, dict) and isinstance(
        r.get("refiner"), str) for r in refiners), "'refiners' is not a list of records")
    trials = payload.get("trials", [])
    _expect(isinstance(trials, list) and all(
        isinstance(p, list) and len(p) == 2 and all(_is_number(v) for v in p) for p in trials
    ), "'trials' is not a list of (l1, l2) pairs")
    values = payload.get("trial_values", [])
    _expect(isinstance(values, list) and all(_is_number(v) for v in values),
            "'trial_values' is not a list of numbers")
    return unit_from_json(payload)


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise ValueError(problem)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A JSON number (not a bool), or null (NaN); finite floats only otherwise."""
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)
