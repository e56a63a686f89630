"""Train / validation / test splits: the one container every loader returns.

`Splits` holds the three parts of a regression data set as float64 arrays, with
the names of the features and of the target. `split_standardise` makes the
generic seeded 60/20/20 split used for data sets that the paper does not fix
(scikit-learn's diabetes data, user CSV tables).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import StandardScaler

#: Fewest rows a user's table must have (60/20/20 of 10 rows is 6/2/2). The split
#: itself only needs `MIN_SAMPLES_PER_SPLIT` rows in each part (6 rows at least).
MIN_SAMPLES = 10
#: Fewest rows each part of a split must keep (a scaler and an MSE need two).
MIN_SAMPLES_PER_SPLIT = 2


def _frozen_float_array(values: np.ndarray, ndim: int, field: str) -> np.ndarray:
    array = np.array(values, dtype=np.float64, order="C", copy=True)
    if array.ndim != ndim:
        raise ValueError(f"Splits.{field} must have {ndim} dimension(s), got shape {array.shape}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Splits:
    """A regression data set split into train, validation and test parts.

    The arrays are float64 copies, C-ordered and read-only: a loader's result can
    be shared between studies without one of them changing it for the others.

    Attributes
    ----------
    X_train : ndarray of shape (n_train, n_features)
    X_val : ndarray of shape (n_val, n_features)
    X_test : ndarray of shape (n_test, n_features)
        Features, already preprocessed (e.g. standardised on the training part).
    y_train : ndarray of shape (n_train,)
    y_val : ndarray of shape (n_val,)
    y_test : ndarray of shape (n_test,)
        Targets in the data set's own units (house prices: dollars), never scaled.
    feature_names : tuple of str, length n_features
        Column names of the X arrays, in order.
    target_name : str
        Name of the target column.
    name : str
        Name of the data set (``"house_price"``, or the CSV file's name).
    """

    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    name: str

    def __post_init__(self) -> None:
        for part in ("train", "val", "test"):
            X = _frozen_float_array(getattr(self, f"X_{part}"), 2, f"X_{part}")
            y = _frozen_float_array(getattr(self, f"y_{part}"), 1, f"y_{part}")
            if X.shape[0] != y.shape[0]:
                raise ValueError(
                    f"Splits: X_{part} has {X.shape[0]} rows but y_{part} has {y.shape[0]}"
                )
            if X.shape[1] != len(self.feature_names):
                raise ValueError(
                    f"Splits: X_{part} has {X.shape[1]} columns but there are "
                    f"{len(self.feature_names)} feature names"
                )
            object.__setattr__(self, f"X_{part}", X)
            object.__setattr__(self, f"y_{part}", y)
        object.__setattr__(self, "feature_names", tuple(str(n) for n in self.feature_names))

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return len(self.feature_names)

    @property
    def n_samples(self) -> tuple[int, int, int]:
        """Row counts ``(n_train, n_val, n_test)``."""
        return (self.y_train.shape[0], self.y_val.shape[0], self.y_test.shape[0])

    @property
    def description(self) -> str:
        """One line: name, rows per part, number of features and the target.

        Example: ``"house_price: 934/234/292 rows (train/val/test), 284 features,
        target SalePrice"``.
        """
        n_train, n_val, n_test = self.n_samples
        return (
            f"{self.name}: {n_train}/{n_val}/{n_test} rows (train/val/test), "
            f"{self.n_features} features, target {self.target_name}"
        )

    def __repr__(self) -> str:
        return f"Splits({self.description})"


def split_sizes(
    n_samples: int, *, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> tuple[int, int, int]:
    """Row counts of a train/validation/test split.

    The validation and test parts get ``ceil(fraction * n_samples)`` rows each (as
    scikit-learn's ``train_test_split`` rounds a test fraction), training the rest.

    Parameters
    ----------
    n_samples : int
        Number of rows to split.
    val_fraction, test_fraction : float
        Shares of the rows for validation and test, each in (0, 1), sum below 1.

    Returns
    -------
    (n_train, n_val, n_test) : tuple of int

    Raises
    ------
    ValueError
        If a part would get fewer than `MIN_SAMPLES_PER_SPLIT` rows.
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must lie in (0, 1) "
            "and sum to less than 1"
        )
    n_test = math.ceil(test_fraction * n_samples)
    n_val = math.ceil(val_fraction * n_samples)
    n_train = n_samples - n_val - n_test
    if min(n_train, n_val, n_test) < MIN_SAMPLES_PER_SPLIT:
        raise ValueError(
            f"{n_samples} rows give a {n_train}/{n_val}/{n_test} train/val/test split; "
            f"each part needs at least {MIN_SAMPLES_PER_SPLIT} rows"
        )
    return n_train, n_val, n_test


def split_standardise(
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    feature_names: Sequence[str],
    target_name: str = "y",
    name: str = "data",
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """Seeded random train/validation/test split, features standardised on train.

    Rows are permuted by ``np.random.default_rng(seed).permutation(n_samples)``; the
    first ``n_test`` permuted rows form the test part, the next ``n_val`` the
    validation part, the rest (default 60 %) the training part, each kept in
    permuted order. A ``StandardScaler`` is fitted on the training features only
    and applied to all three parts (a constant training column is centred, not
    scaled). The target is left in its units.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numeric, finite features.
    y : array-like of shape (n_samples,)
        Numeric, finite target.
    seed : int
        Seed of the permutation; the same seed gives the same split.
    feature_names : sequence of str, length n_features
    target_name : str, default "y"
    name : str, default "data"
        Name of the data set, kept in the result.
    val_fraction, test_fraction : float, default 0.2
        Shares of the rows for validation and test (see `split_sizes`).

    Returns
    -------
    Splits

    Raises
    ------
    ValueError
        If the shapes disagree or there are too few rows (see `split_sizes`);
        loaders check user input before calling this.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X must be (n_samples, n_features), y (n_samples,); got {X.shape}, {y.shape}"
        )
    _, n_val, n_test = split_sizes(
        X.shape[0], val_fraction=val_fraction, test_fraction=test_fraction
    )
    order = np.random.default_rng(seed).permutation(X.shape[0])
    test_rows = order[:n_test]
    val_rows = order[n_test : n_test + n_val]
    train_rows = order[n_test + n_val :]
    scaler = StandardScaler().fit(X[train_rows])
    return Splits(
        X_train=scaler.transform(X[train_rows]),
        X_val=scaler.transform(X[val_rows]),
        X_test=scaler.transform(X[test_rows]),
        y_train=y[train_rows],
        y_val=y[val_rows],
        y_test=y[test_rows],
        feature_names=tuple(feature_names),
        target_name=target_name,
        name=name,
    )


def redraw_train_validation(splits: Splits, seed: int) -> Splits:
    """The same data with a new train/validation split; the test part is kept.

    The training and validation rows of ``splits`` are pooled, permuted by
    ``np.random.default_rng(seed)``, and cut into parts of the original sizes (the
    first ``n_val`` permuted rows validate, the rest train). The features of all three
    parts are then standardised on the new training rows (``StandardScaler``, as
    `split_standardise` does). Because standardising is affine per column, this is the
    split `split_standardise` would make of the raw table with these rows, up to
    rounding: the earlier scaling cancels.

    Used by ``--resplit``: each simulation draws its own split, so that a validation
    gain that is split noise shows as such, while the test rows stay the same for every
    simulation (fixed by the run seed).

    Parameters
    ----------
    splits : Splits
        A seeded split (a CSV table's or diabetes').
    seed : int
        Seed of the new train/validation permutation.

    Returns
    -------
    Splits
        Same name, feature and target names, and part sizes.
    """
    n_train, n_val, _ = splits.n_samples
    X_pool = np.vstack([splits.X_train, splits.X_val])
    y_pool = np.concatenate([splits.y_train, splits.y_val])
    order = np.random.default_rng(seed).permutation(n_train + n_val)
    val_rows, train_rows = order[:n_val], order[n_val:]
    scaler = StandardScaler().fit(X_pool[train_rows])
    return Splits(
        X_train=scaler.transform(X_pool[train_rows]),
        X_val=scaler.transform(X_pool[val_rows]),
        X_test=scaler.transform(splits.X_test),
        y_train=y_pool[train_rows],
        y_val=y_pool[val_rows],
        y_test=splits.y_test,
        feature_names=splits.feature_names,
        target_name=splits.target_name,
        name=splits.name,
    )
