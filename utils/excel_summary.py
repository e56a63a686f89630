"""The paper's summary table (mean and 95% CI per sampler) and the workbook holding it.

The table has the layout of the published one (``shared/reference/*.csv``): rows
``{sampler}_Mean`` and ``{sampler}_95% CI`` for each sampler, and the paper's eight
columns in `PAPER_COLUMNS` order. It is built from the per-unit records only.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from utils.atomic_io import ReplaceError, to_json_compatible, write_atomic
from utils.errors import InputError
from utils.statistics import mean_ci95

__all__ = [
    "PAPER_COLUMNS",
    "SCIENTIFIC_FORMAT",
    "SHEET_SETTINGS",
    "SHEET_SIMULATIONS",
    "SHEET_SUMMARY",
    "SUMMARY_INDEX_HEADER",
    "summary_filename",
    "summary_table",
    "write_summary_workbook",
]

#: The paper's column name -> our column in the per-unit ``simulations`` frame, in the
#: paper's order. Losses are MSE in squared target units, runtimes in seconds.
PAPER_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "Training_Losses_optuna": "train_mse_optuna",
        "Training_Losses_hls": "train_mse_hls",
        "Validation_Losses_optuna": "val_mse_optuna",
        "Validation_Losses_hls": "val_mse_hls",
        "Testing_Losses_optuna": "test_mse_optuna",
        "Testing_Losses_hls": "test_mse_hls",
        "Runtimes_optuna": "seconds_optuna",
        "Runtimes_hls": "seconds_hls",
    }
)

SHEET_SUMMARY = "summary"
SHEET_SIMULATIONS = "simulations"
SHEET_SETTINGS = "settings"
#: Header of the summary sheet's first column (the row labels).
SUMMARY_INDEX_HEADER = "statistic"
#: Excel number format of the summary's numbers and of the simulations' losses:
#: scientific, seven significant digits (the cells keep every digit).
SCIENTIFIC_FORMAT = "0.000000E+00"

_MEAN_SUFFIX = "_Mean"
_CI_SUFFIX = "_95% CI"
_EXCEL_SHEET_NAME_MAX = 31
_EXCEL_SHEET_NAME_FORBIDDEN = frozenset("[]:*?/\\")
_MAX_COLUMN_WIDTH = 60
#: Characters that XML (so .xlsx) cannot hold; written as ``\x..`` escapes instead.
_ILLEGAL_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Longest text an Excel cell holds.
_EXCEL_CELL_MAX_CHARACTERS = 32_767


def summary_filename(n_trials: int, n_simulations: int, dataset: str | None = None) -> str:
    """File name of the summary workbook: the paper's name, with the data set.

    Parameters
    ----------
    n_trials : int
        Optuna trials per study (the paper: 100).
    n_simulations : int
        Studies per sampler (the paper: 50).
    dataset : str, optional
        A label of the data set (e.g. "house_price"), so that runs on two data sets can
        share an output directory.

    Returns
    -------
    name : str
        ``"results_summary_{dataset}_{n_trials}_{n_simulations}.xlsx"``, or the paper's
        ``"results_summary_{n_trials}_{n_simulations}.xlsx"`` without a dataset.
    """
    label = "" if dataset is None else f"{dataset}_"
    return f"results_summary_{label}{int(n_trials)}_{int(n_simulations)}.xlsx"


def summary_table(simulations: pd.DataFrame, samplers: Sequence[str]) -> pd.DataFrame:
    """Mean and 95% CI of the paper's eight columns, per sampler.

    Parameters
    ----------
    simulations : DataFrame of shape (n_units, n_columns)
        One row per (sampler, simulation) unit, with a ``sampler`` column and every
        column named in `PAPER_COLUMNS` values (losses in squared target units, times in
        seconds). Other columns are ignored.
    samplers : sequence of str
        Samplers to report, in the order of the rows (the paper: random, tpe, qmc, grid).

    Returns
    -------
    summary : DataFrame of shape (2 * len(samplers), 8)
        Index ``{sampler}_Mean``, ``{sampler}_95% CI`` per sampler, in `samplers`
        order (index name None); columns the keys of `PAPER_COLUMNS`, in order; float64.
        Reading the written table back with ``index_col=0`` gives the published
        reference table's index and column layout.

    Raises
    ------
    ValueError
        When `samplers` is empty or repeats a name, a sampler has no row, or a column
        is missing: the records do not match the run, a bug upstream.

    Notes
    -----
    Every row of a sampler counts; see `utils.statistics.mean_ci95`. A nan (a failed
    unit) makes that sampler's mean and CI nan in that column; with a single simulation
    the CI is nan ("not computable"). When every simulation gives the same number (the
    grid sampler's, QMC's) the mean is that number and the CI exactly 0, not the
    rounding residue of a standard deviation (such as 6.7e-08 on means of 1e8).
    """
    if len(samplers) == 0:
        raise ValueError("summary_table: no samplers given")
    if len(set(samplers)) != len(samplers):
        raise ValueError(f"summary_table: samplers repeat a name: {list(samplers)}")
    needed = ["sampler", *PAPER_COLUMNS.values()]
    missing = [name for name in needed if name not in simulations.columns]
    if missing:
        raise ValueError(
            f"summary_table: simulations lack the columns {missing}; "
            f"they have {list(map(str, simulations.columns))}"
        )
    present = set(simulations["sampler"])
    absent = [sampler for sampler in samplers if sampler not in present]
    if absent:
        raise ValueError(
            f"summary_table: no simulation for the samplers {absent}; "
            f"the records hold {sorted(map(str, present))}"
        )

    rows: dict[str, list[float]] = {}
    for sampler in samplers:
        units = simulations.loc[simulations["sampler"] == sampler]
        means: list[float] = []
        cis: list[float] = []
        for ours in PAPER_COLUMNS.values():
            values = units[ours].to_numpy(dtype=np.float64, na_value=np.nan)
            mean, ci95 = mean_ci95(values)
            if values.size >= 2 and np.all(values == values[0]):
                mean, ci95 = float(values[0]), 0.0  # identical runs: no spread at all
            means.append(mean)
            cis.append(ci95)
        rows[f"{sampler}{_MEAN_SUFFIX}"] = means
        rows[f"{sampler}{_CI_SUFFIX}"] = cis
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=list(PAPER_COLUMNS), dtype=np.float64
    )


def write_summary_workbook(
    path: str | os.PathLike[str],
    summary: pd.DataFrame,
    simulations: pd.DataFrame,
    settings: Mapping[str, str],
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the summary workbook (.xlsx) atomically.

    Sheets, in order:

    1. ``summary``: `summary` with its index as the first column under the header
       `SUMMARY_INDEX_HEADER` ("statistic"), so ``pd.read_excel(path, index_col=0)``
       gives the table back (index named "statistic"). Numbers in `SCIENTIFIC_FORMAT`.
       nan cells (a CI that is not computable with one simulation, or a failed unit)
       are left empty; the settings sheet says why.
    2. ``simulations``: `simulations`, all columns in order, without the index. Cells
       holding lists, dicts or tuples are written as JSON text; nan as empty cells.
       Loss columns (names containing "_mse") in `SCIENTIFIC_FORMAT`.
    3. ``settings``: two columns ``setting`` and ``value``, one row per item of
       `settings`, in its order (values written as text).
    4. Each of `extra_sheets`, in its order, without the index.

    Parameters
    ----------
    path : str or os.PathLike
        Target ``.xlsx`` file (see `summary_filename`); parent directories are created.
    summary : DataFrame of shape (2 * n_samplers, 8)
        From `summary_table`.
    simulations : DataFrame of shape (n_units, n_columns)
        The per-unit records the summary was built from.
    settings : mapping of str to str
        Run settings (dataset, trials, simulations, seeds, versions, notes).
    extra_sheets : mapping of str to DataFrame, optional
        More sheets; names must be valid Excel sheet names (at most 31 characters, none
        of ``[]:*?/\\``) and differ from the three above.

    Returns
    -------
    path : Path
        The written workbook.

    Raises
    ------
    InputError
        When the target cannot be replaced or the directory is not writable (typically
        the workbook is open in Excel). The old file is untouched, the temporary file
        removed, and the caller's per-unit results are not affected.
    ValueError
        When an extra sheet name is invalid or repeats one of the sheets above.
    """
    target = Path(path)
    summary = summary.rename_axis(SUMMARY_INDEX_HEADER)
    sheets = {
        SHEET_SUMMARY: (summary, True),
        SHEET_SIMULATIONS: (_cells_as_text(simulations), False),
        SHEET_SETTINGS: (_settings_frame(settings), False),
    }
    for name, frame in (extra_sheets or {}).items():
        _check_sheet_name(name, taken=sheets)
        sheets[name] = (_cells_as_text(frame), False)

    def write(tmp: Path) -> None:
        tmp.write_bytes(_workbook_bytes(sheets))

    try:
        return write_atomic(target, write)
    except (ReplaceError, PermissionError) as error:
        reason = error.strerror or type(error).__name__
        raise InputError(
            f"cannot write {target}: the file is open in another program or not writable "
            f"({reason}); close it or choose another --output-dir and run again. "
            "The results already computed are kept, the old file is unchanged and the "
            "temporary file was removed."
        ) from error


def _workbook_bytes(sheets: Mapping[str, tuple[pd.DataFrame, bool]]) -> bytes:
    """The .xlsx file holding `sheets` (name -> (frame, write the index?)), in memory.

    Built in memory and saved only when every sheet was written: an error in a sheet
    then surfaces as itself (a ``with pd.ExcelWriter`` block would try to save the
    half-built workbook on the way out and raise something else instead).
    """
    buffer = io.BytesIO()
    writer = pd.ExcelWriter(buffer, engine="openpyxl")
    for name, (frame, with_index) in sheets.items():
        frame.to_excel(writer, sheet_name=name, index=with_index)
        worksheet = writer.sheets[name]
        _text_cells_as_text(worksheet)
        if name == SHEET_SUMMARY:
            _number_format(worksheet, range(2, 2 + frame.shape[1]))
        elif name == SHEET_SIMULATIONS:
            _number_format(worksheet, [i + 1 for i, column in enumerate(frame.columns)
                                       if "_mse" in str(column)])
        _tidy_sheet(worksheet, freeze="B2" if with_index else "A2")
    writer.close()
    return buffer.getvalue()


def _number_format(worksheet: Any, columns: Any) -> None:
    """`SCIENTIFIC_FORMAT` on the numeric cells (header row excluded) of the given
    1-based columns."""
    for column in columns:
        for (cell,) in worksheet.iter_rows(min_row=2, min_col=column, max_col=column):
            if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                cell.number_format = SCIENTIFIC_FORMAT


def _settings_frame(settings: Mapping[str, str]) -> pd.DataFrame:
    """Two text columns ``setting`` and ``value``, one row per item, in order."""
    return pd.DataFrame(
        {
            "setting": [_safe_text(str(key)) for key in settings],
            "value": [_safe_text(str(value)) for value in settings.values()],
        },
        dtype=object,
    )


def _cells_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of `frame` with list, tuple and dict cells as JSON text (Excel holds scalars),
    and text a cell can hold (see `_safe_text`)."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype != object and not pd.api.types.is_string_dtype(frame[column]):
            continue
        frame[column] = frame[column].map(_cell_as_text)
    return frame


def _cell_as_text(value: Any) -> Any:
    if isinstance(value, list | tuple | dict | np.ndarray):
        return _safe_text(json.dumps(to_json_compatible(value), allow_nan=False))
    if isinstance(value, str):
        return _safe_text(value)
    return value


def _safe_text(text: str) -> str:
    """``text`` as a cell can hold it: XML-illegal characters escaped, cut at Excel's limit."""
    text = _ILLEGAL_IN_XLSX.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    if len(text) > _EXCEL_CELL_MAX_CHARACTERS:
        marker = " ... (cut at Excel's cell limit)"
        text = text[: _EXCEL_CELL_MAX_CHARACTERS - len(marker)] + marker
    return text


def _text_cells_as_text(worksheet: Any) -> None:
    """Every text cell stays text: nothing a user typed ("=HYPERLINK(...)") becomes a formula.

    openpyxl turns any string that starts with "=" into a formula; no cell of ours is
    one, so each such cell is set back to a string (written as an inline string).
    """
    for row in worksheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _check_sheet_name(name: str, *, taken: Mapping[str, Any]) -> None:
    if not isinstance(name, str) or not name or len(name) > _EXCEL_SHEET_NAME_MAX:
        raise ValueError(f"sheet name {name!r}: use 1 to {_EXCEL_SHEET_NAME_MAX} characters")
    if _EXCEL_SHEET_NAME_FORBIDDEN.intersection(name):
        raise ValueError(f"sheet name {name!r}: Excel forbids the characters []:*?/\\")
    if name.casefold() in {existing.casefold() for existing in taken}:
        raise ValueError(f"sheet name {name!r} is already used; the sheets are {list(taken)}")


def _tidy_sheet(worksheet: Any, *, freeze: str) -> None:
    """Freeze the header and fit each column's width to its longest cell (capped)."""
    worksheet.freeze_panes = freeze
    for cells in worksheet.iter_cols():
        width = max((len(_display(cell.value)) for cell in cells), default=0)
        letter = cells[0].column_letter
        worksheet.column_dimensions[letter].width = min(width + 2, _MAX_COLUMN_WIDTH)


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6E}"  # as SCIENTIFIC_FORMAT shows it, or wider than the text
    return str(value)
