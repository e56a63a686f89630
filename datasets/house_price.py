"""Kaggle House Prices (Ames, Iowa): the paper's main data set and its exact split.

`load_house_price` reproduces the published split bit for bit (934 / 234 / 292
rows, 284 features, target SalePrice in dollars). The steps, in order:

1. Read Kaggle's ``train.csv`` (1460 rows) with pandas' default missing-value
   strings. Note that these include ``"None"``: the 864 houses whose MasVnrType
   is the string "None" become missing like the 8 really missing ones.
2. Drop Id, PoolQC, MiscFeature, Alley and Fence.
3. Categorical (non-numeric) columns, on all 1460 rows: fill `MISSING_AS_LEVEL`
   with the string "Missing"; fill the others (MasVnrType, Electrical) with their
   most frequent value (so all 872 missing MasVnrType become "BrkFace").
4. One-hot encode every categorical column on all 1460 rows
   (``pandas.get_dummies``, prefix = column name, levels sorted), so a level
   that only occurs in the test rows still has its column.
5. Split 80/20 into train/test (``train_test_split(random_state=42)``).
6. The 36 numeric columns only (MSSubClass included): ``StandardScaler``
   fitted on the training rows (missing values ignored), then
   ``KNNImputer(n_neighbors=10)`` fitted on the scaled training numeric columns,
   applied to both parts. The 0/1 dummy columns are neither scaled nor used as
   imputation distances.
7. Split the training part 80/20 into train/validation (``random_state=42``).

Feature order: the 36 numeric columns in file order, then the dummy columns in
file order of their source column. The published CSVs label rows by position
(test 0..291; train/validation by position within the 1168 training rows), a
sign that the authors turned the frames into arrays after imputation.

If the table is missing it is downloaded once from OpenML (dataset 42165, the
same table) and saved in Kaggle's layout; offline, or when the server does not
answer within `DOWNLOAD_TIMEOUT_SECONDS`, an `InputError` says in one line which
file to put where.
"""

from __future__ import annotations

import http.client
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import fetch_openml
from sklearn.impute import KNNImputer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from datasets.splits import Splits
from utils.atomic_io import WriteError, write_atomic
from utils.errors import InputError

#: Where the loader looks for Kaggle's train.csv when no path is given.
DEFAULT_PATH = Path(__file__).resolve().parent / "House_Price_Prediction" / "train.csv"
#: OpenML id of the same table ("house_prices").
OPENML_DATA_ID = 42165
TARGET = "SalePrice"
DROPPED_COLUMNS = ("Id", "PoolQC", "MiscFeature", "Alley", "Fence")
#: Categorical columns whose missing values mean "no such thing" (no basement, ...).
MISSING_AS_LEVEL = (
    "BsmtQual",
    "BsmtCond",
    "BsmtExposure",
    "BsmtFinType1",
    "BsmtFinType2",
    "FireplaceQu",
    "GarageType",
    "GarageFinish",
    "GarageQual",
    "GarageCond",
)
TEST_FRACTION = 0.2
VAL_FRACTION = 0.2
SPLIT_RANDOM_STATE = 42
KNN_NEIGHBORS = 10
_REQUIRED_COLUMNS = (*DROPPED_COLUMNS, *MISSING_AS_LEVEL, TARGET)
#: The whole download (every request and the transfer) must end within this many
#: seconds; a server that accepts and never answers is given up on then.
DOWNLOAD_TIMEOUT_SECONDS = 15.0


def load_house_price(path: str | os.PathLike[str] | None = None) -> Splits:
    """The paper's house-price split: 934 / 234 / 292 rows, 284 features.

    Parameters
    ----------
    path : path-like, optional
        Kaggle's ``train.csv``; default `DEFAULT_PATH`. If the file does not
        exist it is downloaded from OpenML and saved there (see
        `download_house_price`).

    Returns
    -------
    Splits
        ``X_*`` of shape (n, 284): 36 numeric columns standardised on the
        training rows (unitless), then 248 one-hot columns (0.0 / 1.0).
        ``y_*`` of shape (n,): SalePrice in dollars. Named ``"house_price"``.

    Raises
    ------
    InputError
        If the file is missing and cannot be downloaded, is a directory, cannot
        be read, or lacks the columns of Kaggle's table.
    """
    path = DEFAULT_PATH if path is None else Path(path)
    if not path.exists():
        download_house_price(path)
    return preprocess_house_price(read_house_price_table(path))


def read_house_price_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read Kaggle's ``train.csv`` with pandas' default missing-value strings.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    DataFrame of shape (n_houses, 81)

    Raises
    ------
    InputError
        If the path is a directory, unreadable, or lacks Kaggle's columns.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(
            f"{path} is a directory; give the path of Kaggle's House Prices train.csv."
        )
    if path.exists() and not path.is_file():
        raise InputError(
            f"{path} is not a regular file (a pipe, socket or device); put Kaggle's House "
            "Prices train.csv there."
        )
    try:
        raw = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path}: cannot read it as a CSV table ({reason}); replace it with Kaggle's "
            "House Prices train.csv."
        ) from exc
    missing = [c for c in _REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path} is not Kaggle's House Prices train.csv: no column(s) {', '.join(missing)}."
        )
    return raw


def preprocess_house_price(raw: pd.DataFrame) -> Splits:
    """Apply the paper's preprocessing and splits to the raw Kaggle table.

    Parameters
    ----------
    raw : DataFrame of shape (1460, 81)
        Kaggle's ``train.csv`` as read by `read_house_price_table`.

    Returns
    -------
    Splits
        See `load_house_price`; the steps are listed in this module's docstring.
    """
    frame = raw.drop(columns=list(DROPPED_COLUMNS))
    y = frame.pop(TARGET).to_numpy(dtype=np.float64)

    categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in frame.columns if c not in categorical]
    for column in categorical:
        if column in MISSING_AS_LEVEL:
            frame[column] = frame[column].fillna("Missing")
        else:
            frame[column] = frame[column].fillna(frame[column].mode().iloc[0])
    dummies = pd.get_dummies(frame[categorical], prefix=categorical, dtype=np.float64)

    X_numeric = frame[numeric].to_numpy(dtype=np.float64)
    X_dummies = dummies.to_numpy(dtype=np.float64)
    rows = np.arange(frame.shape[0])
    rows_train, rows_test = train_test_split(
        rows, test_size=TEST_FRACTION, random_state=SPLIT_RANDOM_STATE
    )

    # Fortran order, as a pandas frame hands its columns to scikit-learn: the
    # scaler's column sums then run in the authors' order (C order differs by 1e-13).
    def numeric_rows(part_rows: np.ndarray) -> np.ndarray:
        return np.asfortranarray(X_numeric[part_rows])

    scaler = StandardScaler().fit(numeric_rows(rows_train))
    imputer = KNNImputer(n_neighbors=KNN_NEIGHBORS).fit(scaler.transform(numeric_rows(rows_train)))

    def features(part_rows: np.ndarray) -> np.ndarray:
        scaled = imputer.transform(scaler.transform(numeric_rows(part_rows)))
        return np.hstack([scaled, X_dummies[part_rows]])

    X_train_full, X_test = features(rows_train), features(rows_test)
    y_train_full, y_test = y[rows_train], y[rows_test]
    X_train, X_val, y_train, y_val = train_test_split(
        X_train_full, y_train_full, test_size=VAL_FRACTION, random_state=SPLIT_RANDOM_STATE
    )
    return Splits(
        X_train=X_train,
        X_val=X_val,
        X_test=X_test,
        y_train=y_train,
        y_val=y_val,
        y_test=y_test,
        feature_names=(*numeric, *dummies.columns),
        target_name=TARGET,
        name="house_price",
    )


def download_house_price(path: str | os.PathLike[str]) -> Path:
    """Download the table from OpenML and save it at `path` in Kaggle's layout.

    Parameters
    ----------
    path : path-like
        Where to save the CSV; parent folders are created. The file is written
        to a temporary name first and renamed, so a failure leaves no half file.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    InputError
        If OpenML cannot be reached (offline), does not answer within
        `DOWNLOAD_TIMEOUT_SECONDS`, or the file cannot be written; the one-line
        message says which file to put where.
    """
    path = Path(path)
    try:
        bunch = _fetch_within(DOWNLOAD_TIMEOUT_SECONDS)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path} is missing and downloading OpenML dataset {OPENML_DATA_ID} failed "
            f"({reason}); put Kaggle's House Prices train.csv (1460 rows) at {path}."
        ) from exc
    frame = bunch.frame
    if frame is None:
        frame = pd.concat([bunch.data, bunch.target], axis=1)
    table = openml_to_kaggle_layout(frame)
    try:
        write_atomic(path, lambda tmp: table.to_csv(tmp, index=False, na_rep="NA",
                                                    lineterminator="\n"))
    except OSError as exc:
        reason = str(exc) if isinstance(exc, WriteError) else (exc.strerror or str(exc))
        raise InputError(
            f"could not save the downloaded table at {path} ({reason}); "
            f"put Kaggle's House Prices train.csv (1460 rows) there yourself."
        ) from exc
    return path


def _fetch_within(seconds: float):
    """``fetch_openml`` of the table, or TimeoutError once ``seconds`` have passed.

    scikit-learn's download has no timeout of its own (a server that accepts and never
    answers would block for ever), so it runs on a daemon thread that is abandoned at
    the deadline. One retry, without scikit-learn's multi-line retry warnings.
    """
    outcome = {}

    def fetch() -> None:
        try:
            outcome["bunch"] = fetch_openml(data_id=OPENML_DATA_ID, as_frame=True, n_retries=1,
                                            delay=0.5)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="A network error occurred")
        thread = threading.Thread(target=fetch, name="openml-download", daemon=True)
        thread.start()
        thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["bunch"]


def openml_to_kaggle_layout(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn OpenML's ``house_prices`` frame into the layout of Kaggle's train.csv.

    Columns: Id first (1..n added if OpenML has none), SalePrice last, the others
    in OpenML's order; rows sorted by Id. Categorical columns become plain
    strings; float columns whose values are all whole numbers become nullable
    integers, so the CSV reads "65", not "65.0", as Kaggle's does. Missing values
    stay missing (written as "NA").

    Parameters
    ----------
    frame : DataFrame of shape (1460, 80 or 81)
        ``fetch_openml(data_id=42165, as_frame=True).frame``.

    Returns
    -------
    DataFrame of shape (1460, 81)
    """
    table = frame.copy()
    if "Id" not in table.columns:
        table.insert(0, "Id", np.arange(1, table.shape[0] + 1))
    others = [c for c in table.columns if c not in ("Id", TARGET)]
    table = table[["Id", *others, TARGET]]
    for column in table.columns:
        values = table[column]
        if isinstance(values.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
            values
        ):
            table[column] = values.astype(object).where(values.notna(), None)
        elif pd.api.types.is_float_dtype(values):
            present = values.dropna()
            if np.array_equal(present, np.round(present)):
                table[column] = values.astype("Int64")
    return table.sort_values("Id", kind="stable").reset_index(drop=True)
