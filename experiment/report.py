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

from experiment.comparison import comparison_table, refiners_frame
from experiment.config import RunConfig
from experiment.unit import UnitResult
from hyper_local_search.landscape import ValidationGrid
from hyper_local_search.refiners import REFINER_NAMES
from optuna_training.elastic_net import make_solver
from optuna_training.samplers import SAMPLER_NAMES, describe_tpe
from optuna_training.search_space import SEARCH_SPACES
from utils.atomic_io import write_atomic, write_json_atomic
from utils.excel_summary import summary_filename, summary_table, write_summary_workbook
from utils.figures import plot_sampler_losses
from utils.landscape_figure import plot_landscape
from utils.summary_text import format_summary

#: Packages whose versions the settings sheet records.
RECORDED_PACKAGES = (
    "numpy", "scipy", "scikit-learn", "optuna", "pandas", "openpyxl", "matplotlib", "joblib",
)


#: Units of the target of the named data sets (MSEs are in their squares).
TARGET_UNITS = {"house_price": "dollars", "california_housing": "dollars"}


def target_units(dataset: str) -> str:
    """The target's units for figures and the terminal ("dollars" for house prices).

    Parameters
    ----------
    dataset : str
        A data set name or a CSV path.
    """
    return TARGET_UNITS.get(dataset, "target units")


def dataset_label(config: RunConfig) -> str:
    """The data set's name in file names: the name, or a CSV file's stem.

    Parameters
    ----------
    config : RunConfig
    """
    if config.dataset.lower().endswith(".csv"):
        return Path(config.dataset).stem
    return config.dataset


def run_label(config: RunConfig) -> str:
    """The data set's label, with ``_replay`` for a run from --starts.

    Parameters
    ----------
    config : RunConfig
    """
    return dataset_label(config) + ("_replay" if config.starts is not None else "")


def output_tag(config: RunConfig) -> str:
    """``{dataset}_{trials}_{simulations}`` (``{dataset}_replay_...`` from --starts).

    The suffix of every output file name, so that runs on other data sets, or a replay
    beside a fresh run, do not overwrite each other in one output directory.

    Parameters
    ----------
    config : RunConfig
    """
    return f"{run_label(config)}_{config.n_trials}_{config.n_simulations}"


def paper_order(samplers: tuple[str, ...] | list[str]) -> list[str]:
    """The samplers in the paper's row order: random, tpe, qmc, grid.

    Parameters
    ----------
    samplers : sequence of str
    """
    return [name for name in SAMPLER_NAMES if name in samplers]


def paper_summary(units: list[UnitResult], config: RunConfig) -> pd.DataFrame:
    """The summary sheet: the paper's table of the run, rows in the paper's order.

    Parameters
    ----------
    units : list of UnitResult
    config : RunConfig
    """
    return summary_table(simulations_frame(units), paper_order(config.samplers))


def summary_text(summary: pd.DataFrame, config: RunConfig) -> str:
    """The summary as the terminal shows it at the end of a run (utils.summary_text).

    Parameters
    ----------
    summary : DataFrame
        ``paper_summary``'s table.
    config : RunConfig
    """
    source = " from the given starts" if config.starts is not None else ""
    title = (f"{dataset_label(config)}{source}: {config.n_trials} trials x "
             f"{config.n_simulations} simulations per sampler, line search "
             f"{config.line_search}")
    return format_summary(summary, title=title, target_units=target_units(config.dataset))


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
        "tpe": describe_tpe(config.tpe),
        "starts": "" if config.starts is None else (
            f"{config.starts}: no studies; each unit refits its sampler's next model of the "
            "file and runs HLS from it; Runtimes_optuna are the file's runtime_optuna_s"),
        "solver": make_solver(config.effective_solver).describe(),
        "wall_seconds": f"{wall_seconds:.1f}",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical cores, "
        f"{platform.processor() or 'processor not reported'}",
    }
    if config.n_simulations < 2:
        settings["note"] = (
            "95% CI not computable with one simulation (its cells are empty); run at least "
            "2 simulations."
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


def comparison_sheets(
    units: list[UnitResult], config: RunConfig, grid: ValidationGrid | None
) -> dict[str, pd.DataFrame]:
    """The ``comparison`` and ``refiners`` sheets (empty dict without refiners)."""
    refiners = refiners_frame(units)
    if refiners.empty:
        return {}
    order = [name for name in REFINER_NAMES if name in set(refiners.refiner)]
    comparison = comparison_table(
        refiners, list(config.samplers), order,
        grid_best_val=None if grid is None else grid.best_val,
    )
    return {"comparison": comparison, "refiners": refiners}


def _landscape_figures(
    units: list[UnitResult], config: RunConfig, grid: ValidationGrid, output_dir: Path, tag: str
) -> list[Path]:
    """One landscape per sampler, for its first simulation."""
    space = SEARCH_SPACES[config.search_space]
    figures = []
    for sampler in config.samplers:
        unit = next(u for u in units if u.record["sampler"] == sampler)
        hls = next((r for r in unit.refiners if r["refiner"] == "hls"), None)
        hls_path = [(p[0], p[1]) for p in hls["path"]] if hls else [
            (unit.record["l1_optuna"], unit.record["l2_optuna"]),
            (unit.record["l1_hls"], unit.record["l2_hls"]),
        ]
        if hls:  # the line search's evaluations are on the line: keep start, best, end
            hls_path = [hls_path[0], (hls["l1"], hls["l2"])]
        figures.append(plot_landscape(
            grid,
            trials=list(unit.trials),
            hls_path=hls_path,
            end_points={r["refiner"]: (r["l1"], r["l2"]) for r in unit.refiners},
            search_box=(space.low, space.high),
            title=f"{dataset_label(config)}: {sampler} simulation {unit.record['simulation']}, "
            f"{config.search_space} search space",
            path=output_dir / "figures" / f"landscape_{sampler}_{tag}.png",
        ))
    return figures


def _warn_if_replacing(summary_path: Path, run_directory: str | None) -> None:
    """Say so when the workbook about to be replaced came from a run with other settings.

    Nothing is lost (that run's simulations stay in its run directory, and the same
    command writes its files again), but the files of the output directory change.
    """
    if run_directory is None or not summary_path.exists():
        return
    try:
        old = pd.read_excel(summary_path, sheet_name="settings").set_index("setting")["value"]
        previous = str(old.get("run_directory", ""))
    except (OSError, ValueError, KeyError):
        return
    if previous and previous != run_directory:
        print(f"warning: replacing {summary_path}, written by a run with other settings (its "
              f"simulations stay in {previous}); give each experiment its own --output-dir "
              "to keep both.", file=sys.stderr)


def write_outputs(
    units: list[UnitResult],
    config: RunConfig,
    settings: dict[str, str],
    output_dir: Path,
    feature_names: tuple[str, ...],
    grid: ValidationGrid | None = None,
) -> OutputPaths:
    """Write the Excel summary, one figure per sampler, the models and the histories.

    Layout under ``output_dir``, with ``{tag}`` = ``output_tag(config)``, e.g.
    ``house_price_100_50``: ``results_summary/results_summary_{tag}.xlsx``,
    ``figures/losses_{sampler}_{tag}.png``, ``models/models_{tag}.npz`` (weights and
    bias of every Optuna and HLS model) and ``results_summary/incumbents_{tag}.json``.
    With refiners, the workbook also has the ``comparison`` and ``refiners`` sheets, and
    with a validation grid each sampler gets ``figures/landscape_{sampler}_{tag}.png``.
    Summary rows, simulations rows, models and figures come in the paper's sampler order
    (random, tpe, qmc, grid); with one simulation the CI cells are empty (the settings
    sheet's ``note`` says why).
    """
    tag = output_tag(config)
    order = paper_order(config.samplers)
    units = sorted(units, key=lambda unit: order.index(str(unit.record["sampler"])))
    simulations = simulations_frame(units)
    summary = paper_summary(units, config)
    summary_path = output_dir / "results_summary" / summary_filename(
        config.n_trials, config.n_simulations, run_label(config)
    )
    _warn_if_replacing(summary_path, settings.get("run_directory"))
    extra = comparison_sheets(units, config, grid)
    if grid is not None:
        settings = {**settings, "validation_grid": grid.resolution,
                    "validation_grid_best": f"l1 = {grid.best_l1:.6g}, l2 = {grid.best_l2:.6g}, "
                    f"validation MSE {grid.best_val:.8g}"}
    write_summary_workbook(summary_path, summary, simulations, settings, extra)

    figures = []
    for sampler in order:
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
                target_units=target_units(config.dataset),
                dataset=dataset_label(config) + (
                    " (replay of given starts)" if config.starts is not None else ""),
            )
        )

    if grid is not None and extra:
        figures.extend(_landscape_figures(units, config, grid, output_dir, tag))

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

