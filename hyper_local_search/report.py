"""Turn finished units into the run's outputs: Excel summary, figures, models, histories."""

from __future__ import annotations

import io
import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from hyper_local_search.pipeline import RunConfig, UnitResult
from utils.atomic_io import write_atomic, write_json_atomic
from utils.excel_summary import summary_filename, summary_table, write_summary_workbook
from utils.figures import plot_sampler_losses

#: Packages whose versions the settings sheet records.
RECORDED_PACKAGES = (
    "numpy", "scipy", "scikit-learn", "optuna", "pandas", "openpyxl", "matplotlib", "joblib",
)


#: What the summary shows in the 95% CI rows of a run with one simulation.
CI_NOT_COMPUTABLE = "not computable: needs 2 or more simulations"


@dataclass(frozen=True)
class OutputPaths:
    """Files written for one run."""

    summary: Path
    figures: tuple[Path, ...]
    models: Path
    histories: Path


def simulations_frame(units: list[UnitResult]) -> pd.DataFrame:
    """The per-simulation sheet: one row per (sampler, simulation), in table order."""
    return pd.DataFrame([unit.record for unit in units])


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that decide the results."""
    versions = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_settings(
    config: RunConfig, *, command: str, dataset_description: str, wall_seconds: float
) -> dict[str, str]:
    """Everything needed to repeat the run, as the settings sheet's (setting, value) rows."""
    settings = {
        "command": command,
        "dataset": config.dataset,
        "dataset_shapes": dataset_description,
        "target": "" if config.target is None else config.target,
        "samplers": " ".join(config.samplers),
        "optuna_trials": str(config.n_trials),
        "simulations": str(config.n_simulations),
        "seed": str(config.seed),
        "n_jobs": str(config.n_jobs),
        "backend": config.backend if config.scheduler is None
        else f"{config.backend} ({config.scheduler})",
        "formulation": config.formulation,
        "log_hyperparameters": str(config.log_hyperparameters),
        "hls_steps": str(config.hls_steps),
        "search_space": config.search_space,
        "refiners": " ".join(config.refiners),
        "budget": "as many fits as hls used" if config.budget is None else str(config.budget),
        "line_search": config.line_search,
        "wall_seconds": f"{wall_seconds:.1f}",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical cores, "
        f"{platform.processor() or 'processor not reported'}",
    }
    if config.n_simulations < 2:
        settings["note"] = (
            "95% CI not computable with one simulation; run at least 2 simulations."
        )
    settings.update({f"version_{name}": version for name, version in package_versions().items()})
    return settings


def _write_models(path: Path, units: list[UnitResult], feature_names: tuple[str, ...]) -> None:
    arrays = {
        "sampler": np.array([str(unit.record["sampler"]) for unit in units]),
        "simulation": np.array([int(unit.record["simulation"]) for unit in units]),
        "feature_names": np.array(feature_names),
        "coef_optuna": np.stack([unit.optuna_fit.coef for unit in units]),
        "intercept_optuna": np.array([unit.optuna_fit.intercept for unit in units]),
        "coef_hls": np.stack([unit.hls_fit.coef for unit in units]),
        "intercept_hls": np.array([unit.hls_fit.intercept for unit in units]),
    }

    def write(tmp: Path) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        tmp.write_bytes(buffer.getvalue())

    write_atomic(path, write)


def write_outputs(
    units: list[UnitResult],
    config: RunConfig,
    settings: dict[str, str],
    output_dir: Path,
    feature_names: tuple[str, ...],
) -> OutputPaths:
    """Write the Excel summary, one figure per sampler, the models and the histories.

    Layout under ``output_dir``: ``results_summary/results_summary_{T}_{S}.xlsx``,
    ``figures/losses_{sampler}_{T}_{S}.png``, ``models/models_{T}_{S}.npz`` (weights and
    bias of every Optuna and HLS model) and ``results_summary/incumbents_{T}_{S}.json``.
    """
    tag = f"{config.n_trials}_{config.n_simulations}"
    simulations = simulations_frame(units)
    summary = summary_table(simulations, list(config.samplers))
    if config.n_simulations < 2:
        summary = summary.astype(object)
        summary.loc[summary.index.str.endswith("_95% CI"), :] = CI_NOT_COMPUTABLE
    summary_path = output_dir / "results_summary" / summary_filename(
        config.n_trials, config.n_simulations
    )
    write_summary_workbook(summary_path, summary, simulations, settings)

    figures = []
    for sampler in config.samplers:
        mine = [unit for unit in units if unit.record["sampler"] == sampler]
        histories = [[vars(incumbent) for incumbent in unit.history] for unit in mine]
        hls_losses = [
            {key: unit.record[f"{key}_hls"] for key in ("train_mse", "val_mse", "test_mse")}
            for unit in mine
        ]
        figures.append(
            plot_sampler_losses(
                histories,
                hls_losses,
                sampler=sampler,
                n_trials=config.n_trials,
                path=output_dir / "figures" / f"losses_{sampler}_{tag}.png",
            )
        )

    models_path = output_dir / "models" / f"models_{tag}.npz"
    _write_models(models_path, units, feature_names)
    histories_path = output_dir / "results_summary" / f"incumbents_{tag}.json"
    write_json_atomic(
        histories_path,
        [
            {
                "sampler": unit.record["sampler"],
                "simulation": unit.record["simulation"],
                "incumbents": [vars(incumbent) for incumbent in unit.history],
            }
            for unit in units
        ],
    )
    return OutputPaths(summary_path, tuple(Path(p) for p in figures), models_path, histories_path)

