"""Any numeric CSV table as a regression data set: checked, split 60/20/20, standardised.

Every problem a user can make with the file becomes an `InputError` with one
line saying what is wrong and how to fix it; the command line prints it and
exits with status 2. The checks, in order: the file exists, is a file, can be
read, is not empty, has unique column names and more than one column; the
target is given and exists; features and target are numeric; no value is
missing, infinite or too large to square; there are enough rows for the split;
the target varies.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from datasets.splits import MIN_SAMPLES, MIN_SAMPLES_PER_SPLIT, Splits, split_standardise
from utils.errors import InputError

#: Column lists in messages are cut after this many names.
_MAX_NAMES_SHOWN = 20
#: Larger magnitudes overflow when squared (variances, MSE): such tables are refused.
MAX_ABS_VALUE = 1e150


def load_csv_table(path: str | os.PathLike[str], target: str | None, *, seed: int) -> Splits:
    """Load a user's CSV table, check it, split it 60/20/20 and standardise it.

    Parameters
    ----------
    path : path-like
        Comma-separated UTF-8 text, header row first, one row per sample.
    target : str or None
        Name of the target column; every other column is a feature. None is
        accepted only to raise a helpful error listing the columns.
    seed : int
        Seed of the split (see `datasets.splits.split_standardise`).

    Returns
    -------
    Splits
        ``X_*`` of shape (n, n_columns - 1), standardised on the training rows;
        ``y_*`` of shape (n,) in the target's units. Named after the file stem.

    Raises
    ------
    InputError
        For every problem with the file or the target, with a one-line message.
    """
    path = Path(path)
    frame = read_csv_table(path)
    X, y, feature_names = regression_arrays(frame, target, source=str(path))
    return split_standardise(
        X, y, seed=seed, feature_names=feature_names, target_name=str(target), name=path.stem
    )


def read_csv_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV table after checking the file and its header row.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    DataFrame of shape (n_rows, n_columns)
        At least one data row and two uniquely named columns.

    Raises
    ------
    InputError
        If the file is missing, a directory, unreadable, empty, has duplicate
        column names or only one column.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path of the CSV table.")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a CSV file; give the path of a .csv file.")
    try:
        header = _header_row(path)
        frame = None if header is None else _read_frame(path)
    except pd.errors.EmptyDataError:
        header, frame = None, None
    except pd.errors.ParserWarning as exc:
        raise InputError(
            f"{path}: a data row has more fields than the {len(header or ())} columns of the "
            "header; fix that row or add the missing column names."
        ) from exc
    except (OSError, UnicodeError, csv.Error, pd.errors.ParserError) as exc:
        raise InputError(
            f"{path}: cannot be read as a CSV table ({_first_line(exc)}); save it as "
            "comma-separated UTF-8 text with a header row."
        ) from exc
    if header is None or frame is None:
        raise InputError(
            f"{path} is empty; a CSV table needs a header row and at least {MIN_SAMPLES} data rows."
        )
    # empty names are no duplicates: pandas calls them "Unnamed: 3", "Unnamed: 5"
    duplicates = [name for name, count in Counter(header).items() if count > 1 and name]
    if duplicates:
        raise InputError(
            f"{path}: duplicate column name(s) {_names(duplicates)}; rename the columns so "
            "that each name is unique."
        )
    if frame.shape[1] < 2:
        raise InputError(
            f"{path}: only one column ({_names(frame.columns)}); a regression table needs a "
            "target column and at least one feature column, separated by commas."
        )
    if frame.shape[0] == 0:
        raise InputError(
            f"{path} has a header row but no data rows; it needs at least {MIN_SAMPLES}."
        )
    return frame


def regression_arrays(
    frame: pd.DataFrame, target: str | None, *, source: str = "table"
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Check a table for regression and return its features and target.

    Parameters
    ----------
    frame : DataFrame of shape (n_samples, n_columns)
    target : str or None
        Name of the target column.
    source : str, default "table"
        How messages name the table (the file path).

    Returns
    -------
    X : ndarray of shape (n_samples, n_columns - 1)
        Every column but the target, in table order, as float64.
    y : ndarray of shape (n_samples,)
    feature_names : tuple of str, length n_columns - 1

    Raises
    ------
    InputError
        If the target is None or missing, a column is not numeric, a value is
        missing, infinite or above `MAX_ABS_VALUE` in magnitude, there are fewer
        than `MIN_SAMPLES` rows, or the target is constant.
    """
    columns = [str(c) for c in frame.columns]
    if target is None:
        raise InputError(
            f"{source}: no target column given; choose one of the columns "
            f"{_names(columns)} with --target."
        )
    if target not in columns:
        raise InputError(
            f"{source}: no target column {target!r}; the columns are {_names(columns)}. "
            "Choose one with --target."
        )
    frame = frame.set_axis(columns, axis=1)
    features = [c for c in columns if c != target]
    not_numeric = [c for c in features if not _is_numeric(frame[c])]
    if not_numeric:
        examples = [f"{c} (e.g. {_non_numeric_example(frame[c])!r})" for c in not_numeric]
        raise InputError(
            f"{source}: non-numeric feature column(s) {_names(examples)}; encode them as "
            "numbers (e.g. one-hot) or drop them."
        )
    if not _is_numeric(frame[target]):
        raise InputError(
            f"{source}: target column {target!r} is not numeric (e.g. "
            f"{_non_numeric_example(frame[target])!r}); a regression needs a numeric target."
        )
    names = [*features, target]
    values = frame[names].to_numpy(dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        suspicious = not np.isfinite(np.square(values).sum())  # cheap test first
    if suspicious:  # the scans below only explain the failure
        problems = _non_finite_report(names, values)
        if problems:
            n_rows = int(np.count_nonzero(~np.isfinite(values).all(axis=1)))
            raise InputError(
                f"{source}: missing or infinite values in {n_rows} row(s): {problems}; fill "
                "them in or drop those rows."
            )
        largest = np.abs(values).max(axis=0)
        huge = [f"{name} (up to {big:.3g})" for name, big in zip(names, largest, strict=True)
                if big > MAX_ABS_VALUE]  # fmt: skip
        if huge:
            raise InputError(
                f"{source}: values too large to square in column(s) {_names(huge)}; rescale "
                f"them to magnitudes below {MAX_ABS_VALUE:.0e} (e.g. change their unit)."
            )
    n_samples = values.shape[0]
    if n_samples < MIN_SAMPLES:
        raise InputError(
            f"{source}: only {n_samples} data row(s); the 60/20/20 train/validation/test split "
            f"needs at least {MIN_SAMPLES} (at least {MIN_SAMPLES_PER_SPLIT} rows per part)."
        )
    y = values[:, -1]
    if np.all(y == y[0]):
        raise InputError(
            f"{source}: target column {target!r} is constant (every row is {y[0]:g}); "
            "a regression needs a target that varies."
        )
    return values[:, :-1], y, tuple(features)


def _read_frame(path: Path) -> pd.DataFrame:
    """pandas' reader, strict: without ``index_col=False`` a first data row longer
    than the header silently becomes a row index; with it pandas only warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(path, index_col=False, low_memory=False)


def _header_row(path: Path) -> list[str] | None:
    """First non-blank row of the file as written (pandas renames duplicates)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.reader(handle):
            if any(cell.strip() for cell in row):
                return row
    return None


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _non_numeric_example(column: pd.Series) -> str:
    present = column.dropna()
    bad = present[pd.to_numeric(present, errors="coerce").isna()]
    return str(bad.iloc[0]) if len(bad) else str(present.iloc[0])


def _non_finite_report(names: Sequence[str], values: np.ndarray) -> str:
    parts = []
    for j, name in enumerate(names):
        n_missing = int(np.count_nonzero(np.isnan(values[:, j])))
        n_infinite = int(np.count_nonzero(np.isinf(values[:, j])))
        counts = [f"{n} {kind}" for n, kind in ((n_missing, "missing"), (n_infinite, "infinite"))]
        counts = [c for c, n in zip(counts, (n_missing, n_infinite), strict=True) if n]
        if counts:
            parts.append(f"{name} ({', '.join(counts)})")
    return _names(parts)


def _names(names: Sequence[object] | pd.Index) -> str:
    names = [str(n) for n in names]
    if len(names) > _MAX_NAMES_SHOWN:
        hidden = len(names) - _MAX_NAMES_SHOWN
        names = [*names[:_MAX_NAMES_SHOWN], f"... ({hidden} more)"]
    return ", ".join(names)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
