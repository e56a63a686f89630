"""--resplit's redraw of the train/validation split: test rows kept, the same split as a
fresh standardisation of the raw rows, seeded."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from datasets.splits import redraw_train_validation, split_standardise


@pytest.fixture(scope="module")
def raw():
    rng = np.random.default_rng(4)
    X = rng.normal(loc=3.0, scale=[1.0, 5.0, 0.1, 2.0], size=(60, 4))
    X[:, 3] = 7.0  # a constant column: centred, not scaled
    y = np.arange(60, dtype=float) * 1.5 + 10.0  # unique: identifies each row
    return X, y


def test_redraw_keeps_the_test_rows_and_pools_the_rest(raw):
    X, y = raw
    splits = split_standardise(X, y, seed=0, feature_names=tuple("abcd"))
    again = redraw_train_validation(splits, 11)
    assert again.n_samples == splits.n_samples
    np.testing.assert_array_equal(again.y_test, splits.y_test)
    assert sorted(again.y_train.tolist() + again.y_val.tolist()) == sorted(
        splits.y_train.tolist() + splits.y_val.tolist())
    assert set(again.y_val) != set(splits.y_val)


def test_redraw_is_the_split_of_the_raw_rows_standardised_on_the_new_training_rows(raw):
    X, y = raw
    splits = split_standardise(X, y, seed=0, feature_names=tuple("abcd"))
    again = redraw_train_validation(splits, 11)
    row = {value: i for i, value in enumerate(y)}  # y identifies the raw row
    scaler = StandardScaler().fit(X[[row[v] for v in again.y_train]])
    for part in ("train", "val", "test"):
        rows = [row[v] for v in getattr(again, f"y_{part}")]
        np.testing.assert_allclose(getattr(again, f"X_{part}"), scaler.transform(X[rows]),
                                   rtol=0, atol=1e-12)


def test_redraw_is_seeded(raw):
    X, y = raw
    splits = split_standardise(X, y, seed=0, feature_names=tuple("abcd"))
    one, two = redraw_train_validation(splits, 5), redraw_train_validation(splits, 5)
    np.testing.assert_array_equal(one.X_val, two.X_val)
    assert not np.array_equal(one.y_val, redraw_train_validation(splits, 6).y_val)
