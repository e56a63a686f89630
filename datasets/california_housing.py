"""California housing (1990 census, with ocean_proximity): the paper's second data set.

Steps, as in the authors' code:

1. Read ``housing.csv`` (20640 districts) and drop the 207 rows with a missing
   value (all in total_bedrooms): 20433 rows remain.
2. One-hot encode ocean_proximity (5 levels) on all rows.
3. Split 80/20 into train/test (``train_test_split(random_state=42)``).
4. ``StandardScaler`` then ``PCA`` with all 13 components, both fitted on the
   training rows, applied to train and test.
5. Split 15 % of the training rows off as validation (``random_state=432``).

Result: 13894 / 2452 / 4087 rows, 13 features PC1..PC13, target
median_house_value in dollars.

PCA signs: an eigenvector's sign is arbitrary, and scikit-learn's choice has
changed between versions. Here each component is oriented so that its largest
loading (in absolute value) is positive, whatever scikit-learn does; against the
published split PC3 and PC5 come out negated. Elastic-net losses do not depend
on these signs.

PC13 is numerical noise: the five one-hot columns sum to one, so the
standardised training data has an exactly flat direction (its variance is
about 1e-31). Its scores are rounding errors (below 1e-13 in magnitude), in the
published split as here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from datasets.splits import Splits
from utils.errors import InputError

#: Where the loader looks for housing.csv when no path is given.
DEFAULT_PATH = Path(__file__).resolve().parent / "California_Housing_Dataset" / "housing.csv"
TARGET = "median_house_value"
CATEGORICAL = "ocean_proximity"
TEST_FRACTION = 0.2
TEST_RANDOM_STATE = 42
VAL_FRACTION = 0.15
VAL_RANDOM_STATE = 432


def load_california_housing(path: str | os.PathLike[str] | None = None) -> Splits:
    """The paper's California split: 13894 / 2452 / 4087 rows, 13 PCA features.

    Parameters
    ----------
    path : path-like, optional
        ``housing.csv`` (the version with ocean_proximity); default `DEFAULT_PATH`.

    Returns
    -------
    Splits
        ``X_*`` of shape (n, 13): principal-component scores PC1..PC13 of the
        standardised training features (unitless, in decreasing variance).
        ``y_*`` of shape (n,): median_house_value in dollars.
        Named ``"california_housing"``.

    Raises
    ------
    InputError
        If the file is missing, a directory, unreadable, or lacks the columns.
    """
    path = DEFAULT_PATH if path is None else Path(path)
    return preprocess_california_housing(read_california_housing_table(path))


def read_california_housing_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``housing.csv``.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    DataFrame of shape (20640, 10)

    Raises
    ------
    InputError
        If the file is missing, a directory, unreadable, or lacks the target or
        ocean_proximity column.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{path} is missing; put the California housing table housing.csv (20640 rows, "
            f"with the column ocean_proximity) there."
        )
    if path.is_dir():
        raise InputError(f"{path} is a directory; give the path of the California housing.csv.")
    try:
        raw = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path}: cannot read it as a CSV table ({reason}); replace it with the "
            "California housing.csv."
        ) from exc
    missing = [c for c in (TARGET, CATEGORICAL) if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path} is not the California housing.csv: no column(s) {', '.join(missing)}."
        )
    return raw


def orient_components(components: np.ndarray) -> np.ndarray:
    """Signs that make each component's largest absolute loading positive.

    Parameters
    ----------
    components : ndarray of shape (n_components, n_features)
        Unit eigenvectors, one per row (``PCA.components_``).

    Returns
    -------
    signs : ndarray of shape (n_components,)
        +1.0 or -1.0; multiply component k (and its scores) by ``signs[k]``.
    """
    largest = components[np.arange(components.shape[0]), np.argmax(np.abs(components), axis=1)]
    return np.where(largest < 0, -1.0, 1.0)


def preprocess_california_housing(raw: pd.DataFrame) -> Splits:
    """Apply the paper's preprocessing and splits to the raw table.

    Parameters
    ----------
    raw : DataFrame of shape (20640, 10)
        ``housing.csv`` as read by `read_california_housing_table`.

    Returns
    -------
    Splits
        See `load_california_housing`; the steps are in this module's docstring.
    """
    frame = pd.get_dummies(raw.dropna(), columns=[CATEGORICAL], dtype=np.float64)
    y = frame.pop(TARGET).to_numpy(dtype=np.float64)
    X = frame.to_numpy(dtype=np.float64)
    X_train_full, X_test, y_train_full, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, random_state=TEST_RANDOM_STATE
    )
    # Fortran order, as a pandas frame hands its columns to scikit-learn: the
    # scaler's column sums then run in the authors' order (C order differs by 1e-12).
    X_train_full, X_test = np.asfortranarray(X_train_full), np.asfortranarray(X_test)
    scaler = StandardScaler().fit(X_train_full)
    # LAPACK's full SVD: scikit-learn's "auto" picks a covariance eigensolver for
    # tall data, which is 10x further (1e-12) from the published scores.
    pca = PCA(svd_solver="full").fit(scaler.transform(X_train_full))
    signs = orient_components(pca.components_)

    def scores(part: np.ndarray) -> np.ndarray:
        return pca.transform(scaler.transform(part)) * signs

    X_train, X_val, y_train, y_val = train_test_split(
        scores(X_train_full), y_train_full, test_size=VAL_FRACTION, random_state=VAL_RANDOM_STATE
    )
    return Splits(
        X_train=X_train,
        X_val=X_val,
        X_test=scores(X_test),
        y_train=y_train,
        y_val=y_val,
        y_test=y_test,
        feature_names=tuple(f"PC{k}" for k in range(1, pca.n_components_ + 1)),
        target_name=TARGET,
        name="california_housing",
    )
