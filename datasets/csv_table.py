"""Any numeric CSV table as a regression data set: checked, split 60/20/20, standardised.

Every problem a user can make with the file becomes an `InputError` with one
line saying what is wrong and how to fix it; the command line prints it and
exits with status 2. The checks, in order: the file exists, is a regular file
(not a pipe or a device, which could block for ever), can be read, is not empty,
has unique column names and more than one column; the target is given and
exists; then, all reported together in one message: features and target are
numeric; no value is missing, infinite or too large to square; there are enough
rows for the split; the target varies. After the split, the training part's
target must vary too.

Handled, and said so (a `utils.errors.RunWarning`): a table separated by
semicolons or tabs, with decimal commas (``1,5``) or points; a first column
without a name that numbers the rows 0..n-1 or 1..n (a pandas index saved with
the table), which is left out of the features; few rows for the features.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from datasets.splits import MIN_SAMPLES, MIN_SAMPLES_PER_SPLIT, Splits, split_standardise
from utils.errors import InputError, RunWarning

#: Column lists in messages are cut after this many names.
_MAX_NAMES_SHOWN = 20
#: Larger magnitudes overflow when squared (variances, MSE): such tables are refused.
MAX_ABS_VALUE = 1e150
#: Most feature columns: every fit keeps two dense (n_features + 1)^2 Gram matrices and the
#: HLS step's LP a dense constraint matrix of that size, about 40 * n_features^2 bytes in
#: all per worker (1 GB at 5000 features).
MAX_FEATURES = 5000
#: Below these a table gets a warning that its losses and tuning will be noisy.
ADVISED_TRAIN_ROWS_PER_FEATURE = 10
ADVISED_VAL_ROWS = 20
#: Bytes read to recognise the field separator and the decimal mark.
_SNIFF_BYTES = 1 << 16
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*$")


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
    frame, notes = _read_table(path)
    try:
        X, y, feature_names = regression_arrays(frame, target, source=str(path))
    except InputError as error:
        if not notes:
            raise
        raise InputError(f"{error} (Read {'; '.join(notes)}.)") from None
    for note in notes:
        warnings.warn(RunWarning(f"{path}: read {note}."), stacklevel=2)
    splits = split_standardise(
        X, y, seed=seed, feature_names=feature_names, target_name=str(target), name=path.stem
    )
    if np.all(splits.y_train == splits.y_train[0]):
        raise InputError(
            f"{path}: the training part of the split (--seed {seed}) has a constant target "
            f"(all {splits.y_train.shape[0]} rows are {splits.y_train[0]:g}); nothing can be "
            "learnt from it: choose another --seed or give a table whose target varies more."
        )
    n_train, n_val, _ = splits.n_samples
    if n_train < ADVISED_TRAIN_ROWS_PER_FEATURE * splits.n_features or n_val < ADVISED_VAL_ROWS:
        warnings.warn(RunWarning(
            f"{path}: only {n_train} training and {n_val} validation rows for "
            f"{splits.n_features} feature(s); the tuned (l1, l2) and the losses will be noisy "
            f"(advised: {ADVISED_TRAIN_ROWS_PER_FEATURE} training rows per feature and "
            f"{ADVISED_VAL_ROWS} validation rows or more)."
        ), stacklevel=2)
    return splits


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
        If the file is missing, a directory, not a regular file, unreadable,
        empty, has duplicate column names or only one column.

    Warns
    -----
    RunWarning
        When the table was read with semicolons or tabs, decimal commas, or
        without its saved row index (see the module docstring).
    """
    frame, notes = _read_table(Path(path))
    for note in notes:
        warnings.warn(RunWarning(f"{path}: read {note}."), stacklevel=2)
    return frame


def _read_table(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """`read_csv_table`'s work: the frame, and how it was read (notes for the user)."""
    try:
        _check_is_file(path)
    except OSError as error:  # e.g. a name too long for the file system
        raise InputError(f"{path}: cannot be opened ({error.strerror}); check the path of the "
                         "CSV table.") from None
    header = None
    notes: list[str] = []
    try:
        separator, decimal = _dialect(path)
        header = _header_row(path, separator)
        frame = None if header is None else _read_frame(path, separator, decimal)
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
    if separator != "," or decimal != ".":
        notes.append(f"as a {_SEPARATORS[separator]}-separated table"
                     + (" with decimal commas" if decimal == "," else ""))
    if _is_saved_index(header[0], frame.iloc[:, 0]):
        notes.append(f"without its first column ({frame.columns[0]!r}): it has no name and "
                     "numbers the rows, a saved row index, not a feature (name the column to "
                     "keep it)")
        frame = frame.iloc[:, 1:]
    return frame, notes


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
    problems = []  # every problem of the table, reported together
    not_numeric = [c for c in features if not _is_numeric(frame[c])]
    if not_numeric:
        examples = [f"{c} (e.g. {_non_numeric_example(frame[c])!r})" for c in not_numeric]
        problems.append(
            f"non-numeric feature column(s) {_names(examples)}; encode them as numbers (e.g. "
            "one-hot) or drop them" + _decimal_comma_hint(frame, not_numeric)
        )
    target_numeric = _is_numeric(frame[target])
    if not target_numeric:
        problems.append(
            f"target column {target!r} is not numeric (e.g. "
            f"{_non_numeric_example(frame[target])!r}); a regression needs a numeric target"
            + _decimal_comma_hint(frame, [target])
        )
    names = [c for c in [*features, target] if c not in not_numeric and _is_numeric(frame[c])]
    values = frame[names].to_numpy(dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        suspicious = not np.isfinite(np.square(values).sum())  # cheap test first
    if suspicious:  # the scans below only explain the failure
        report = _non_finite_report(names, values)
        if report:
            n_rows = int(np.count_nonzero(~np.isfinite(values).all(axis=1)))
            problems.append(
                f"missing or infinite values in {n_rows} row(s): {report}; fill them in or drop "
                "those rows"
            )
        finite = np.where(np.isfinite(values), values, 0.0)
        largest = np.abs(finite).max(axis=0) if finite.size else np.zeros(len(names))
        huge = [f"{name} (up to {big:.3g})" for name, big in zip(names, largest, strict=True)
                if big > MAX_ABS_VALUE]  # fmt: skip
        if huge:
            problems.append(
                f"values too large to square in column(s) {_names(huge)}; rescale them to "
                f"magnitudes below {MAX_ABS_VALUE:.0e} (e.g. change their unit)"
            )
    n_samples = values.shape[0]
    if len(features) > MAX_FEATURES:
        gigabytes = 40 * len(features) ** 2 / 1e9
        problems.append(
            f"{len(features)} feature columns, more than {MAX_FEATURES}: the Gram matrices "
            f"and the HLS step's LP would need about {gigabytes:.3g} GB per worker; select "
            f"or combine features (e.g. PCA) down to {MAX_FEATURES} or fewer"
        )
    if n_samples < MIN_SAMPLES:
        problems.append(
            f"only {n_samples} data row(s); the 60/20/20 train/validation/test split needs at "
            f"least {MIN_SAMPLES} (at least {MIN_SAMPLES_PER_SPLIT} rows per part)"
        )
    if target_numeric:
        y = frame[target].to_numpy(dtype=np.float64)
        present = y[np.isfinite(y)]
        if present.size and np.all(present == present[0]):
            problems.append(
                f"target column {target!r} is constant (every row is {present[0]:g}); a "
                "regression needs a target that varies"
            )
    if len(problems) == 1:
        raise InputError(f"{source}: {problems[0]}.")
    if problems:
        numbered = " ".join(f"({i}) {problem}." for i, problem in enumerate(problems, 1))
        raise InputError(f"{source}: {len(problems)} problems. {numbered}")
    return values[:, :-1], values[:, -1], tuple(features)


def _decimal_comma_hint(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """A hint when non-numeric cells look like numbers with a decimal comma."""
    for column in columns:
        example = _non_numeric_example(frame[column])
        if _DECIMAL_COMMA.match(example):
            return (f" ({example!r} looks like a number with a decimal comma: write "
                    f"{example.strip().replace(',', '.')!r}, or separate the fields with ';')")
    return ""


def _check_is_file(path: Path) -> None:
    """InputError unless ``path`` is a regular file (OSError if it cannot even be looked at)."""
    if not (path.exists() or path.is_symlink()):
        raise InputError(f"{path}: no such file; check the path of the CSV table.")
    if not path.exists():
        raise InputError(f"{path}: a link to a missing file; check the path of the CSV table.")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a CSV file; give the path of a .csv file.")
    if not path.is_file():
        raise InputError(
            f"{path} is not a regular file (a pipe, socket or device, which may never end); "
            "save the table to a file and give that file's path."
        )


def _read_frame(path: Path, separator: str = ",", decimal: str = ".") -> pd.DataFrame:
    """pandas' reader, strict: without ``index_col=False`` a first data row longer
    than the header silently becomes a row index; with it pandas only warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(path, sep=separator, decimal=decimal, index_col=False,
                           low_memory=False)


def _header_row(path: Path, separator: str = ",") -> list[str] | None:
    """First non-blank row of the file as written (pandas renames duplicates)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.reader(handle, delimiter=separator):
            if any(cell.strip() for cell in row):
                return row
    return None


def _dialect(path: Path) -> tuple[str, str]:
    """The field separator (comma, semicolon or tab) and decimal mark of the table.

    The separator is the one that splits the header row into the most fields (comma on
    a tie). With semicolons or tabs, numbers written ``1,5`` (and none written ``1.5``)
    mean decimal commas, as spreadsheets of many locales save them.
    """
    with open(path, "rb") as handle:
        sample = handle.read(_SNIFF_BYTES)
    text = sample.decode("utf-8-sig", errors="ignore")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        return ",", "."
    counts = {sep: len(next(csv.reader([lines[0]], delimiter=sep))) for sep in _SEPARATORS}
    separator = max(_SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    if separator == ",":
        return ",", "."
    cells = [cell for row in csv.reader(lines[1:], delimiter=separator) for cell in row]
    commas = sum(bool(_DECIMAL_COMMA.match(cell)) for cell in cells)
    points = sum(bool(_DECIMAL_POINT.match(cell)) for cell in cells)
    return separator, "," if commas and not points else "."


def _is_saved_index(name: str, column: pd.Series) -> bool:
    """A first column without a name holding 0..n-1 or 1..n (in any order): a row index."""
    if name.strip() not in ("", "Unnamed: 0") or not pd.api.types.is_integer_dtype(column):
        return False
    values = np.sort(column.to_numpy())
    n_rows = values.shape[0]
    return bool(np.array_equal(values, np.arange(n_rows))
                or np.array_equal(values, np.arange(1, n_rows + 1)))


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
