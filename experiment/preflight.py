"""Checks of the output directory before any work: every file the run will write can be.

A directory where the workbook, a figure or the models file goes, or a file where a
directory must be (``results_summary``, ``figures``, ``models``, ``runs``), would
otherwise be found only after every unit was computed. Temporary files that killed
writes left in the output folders are removed here too.
"""

from __future__ import annotations

from pathlib import Path

from experiment.config import RunConfig
from experiment.report import output_tag, run_label
from utils.atomic_io import BlockedPathError, check_writable_target, remove_stale_temporaries
from utils.errors import InputError
from utils.excel_summary import summary_filename

#: The output directory's sub-directories (experiment.report, experiment.store).
OUTPUT_FOLDERS = ("results_summary", "figures", "models", "runs")


def planned_outputs(config: RunConfig, output_dir: Path) -> list[Path]:
    """Every file ``experiment.report.write_outputs`` writes for ``config``.

    Parameters
    ----------
    config : RunConfig
    output_dir : Path

    Returns
    -------
    list of Path
    """
    tag = output_tag(config)
    paths = [
        output_dir / "results_summary" / summary_filename(config.n_trials, config.n_simulations,
                                                          run_label(config)),
        output_dir / "results_summary" / f"incumbents_{tag}.json",
        output_dir / "models" / f"models_{tag}.npz",
    ]
    paths += [output_dir / "figures" / f"losses_{s}_{tag}.png" for s in config.samplers]
    if config.refiners:
        paths += [output_dir / "figures" / f"landscape_{s}_{tag}.png" for s in config.samplers]
        paths += [output_dir / "figures" / f"changes_{s}_{tag}.png" for s in config.samplers]
    return paths


def check_output_paths(config: RunConfig, output_dir: Path) -> None:
    """Refuse, in one line, an output directory where a planned file cannot be written.

    Parameters
    ----------
    config : RunConfig
    output_dir : Path

    Raises
    ------
    InputError
        If a planned file's place is a directory, or a folder's place is a file.
    """
    for folder in OUTPUT_FOLDERS:
        path = output_dir / folder
        if (path.exists() or path.is_symlink()) and not path.is_dir():
            raise InputError(
                f"{path} is a file, but the run writes its {folder} there; remove or rename "
                "it, or choose another --output-dir."
            )
    for path in planned_outputs(config, output_dir):
        try:
            check_writable_target(path)
        except BlockedPathError as error:
            raise InputError(f"{error}.") from None
        except OSError as error:  # e.g. a CSV's name makes the file name too long
            raise InputError(
                f"cannot write {path} ({error.strerror}); give the CSV table a shorter name "
                "or choose another --output-dir."
            ) from None
    for folder in OUTPUT_FOLDERS[:3]:
        remove_stale_temporaries(output_dir / folder)
