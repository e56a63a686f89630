"""The Splits container and the seeded 60/20/20 split with train-only scaling."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.splits import MIN_SAMPLES, Splits, split_sizes, split_standardise


def _toy(n_samples: int = 50, n_features: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.normal(loc=5.0, scale=3.0, size=(n_samples, n_features))
    y = np.arange(n_samples, dtype=float)  # y identifies the row
    return X, y


def _splits(**overrides: object) -> Splits:
    fields: dict[str, object] = {
        "X_train": np.zeros((4, 2)),
        "X_val": np.zeros((2, 2)),
        "X_test": np.zeros((3, 2)),
        "y_train": np.zeros(4),
        "y_val": np.zeros(2),
        "y_test": np.zeros(3),
        "feature_names": ("a", "b"),
        "target_name": "t",
        "name": "toy",
    }
    fields.update(overrides)
    return Splits(**fields)  # type: ignore[arg-type]


def test_splits_description_and_counts():
    splits = _splits()
    assert splits.n_samples == (4, 2, 3)
    assert splits.n_features == 2
    assert splits.description == "toy: 4/2/3 rows (train/val/test), 2 features, target t"
    assert "toy: 4/2/3 rows" in repr(splits)


def test_splits_arrays_are_float64_read_only_copies():
    X_train = np.ones((4, 2), dtype=np.int64)
    splits = _splits(X_train=X_train)
    assert splits.X_train.dtype == np.float64
    assert splits.X_train.flags.c_contiguous
    with pytest.raises(ValueError, match="read-only"):
        splits.X_train[0, 0] = 5.0
    X_train[0, 0] = 7  # the caller's array stays independent
    assert splits.X_train[0, 0] == 1.0
    with pytest.raises(AttributeError):
        splits.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"y_val": np.zeros(3)}, "X_val has 2 rows but y_val has 3"),
        ({"feature_names": ("a",)}, "X_train has 2 columns but there are 1 feature names"),
        ({"y_test": np.zeros((3, 1))}, r"y_test must have 1 dimension\(s\)"),
    ],
)
def test_splits_rejects_inconsistent_shapes(overrides, message):
    with pytest.raises(ValueError, match=message):
        _splits(**overrides)


@pytest.mark.parametrize(
    ("n_samples", "sizes"),
    [(10, (6, 2, 2)), (11, (5, 3, 3)), (100, (60, 20, 20)), (442, (264, 89, 89))],
)
def test_split_sizes(n_samples, sizes):
    assert split_sizes(n_samples) == sizes
    assert sum(sizes) == n_samples


def test_split_sizes_needs_two_rows_per_part():
    assert split_sizes(6) == (2, 2, 2)
    with pytest.raises(ValueError, match=r"5 rows give a 3/1/1 .* at least 2 rows"):
        split_sizes(5)
    assert split_sizes(MIN_SAMPLES) == (6, 2, 2)  # what user tables must reach


def test_split_sizes_rejects_bad_fractions():
    with pytest.raises(ValueError, match="sum to less than 1"):
        split_sizes(100, val_fraction=0.5, test_fraction=0.5)


def test_split_standardise_partitions_rows_and_scales_on_train():
    X, y = _toy()
    splits = split_standardise(X, y, seed=3, feature_names=("a", "b", "c"), target_name="t")
    assert splits.n_samples == (30, 10, 10)
    rows = np.concatenate([splits.y_train, splits.y_val, splits.y_test]).astype(int)
    assert sorted(rows) == list(range(50))  # every row exactly once
    train_rows = splits.y_train.astype(int)
    expected = (X[train_rows] - X[train_rows].mean(axis=0)) / X[train_rows].std(axis=0)
    np.testing.assert_allclose(splits.X_train, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(splits.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(splits.X_train.std(axis=0), 1.0, rtol=1e-12)
    test_rows = splits.y_test.astype(int)
    scale = X[train_rows].std(axis=0)
    np.testing.assert_allclose(
        splits.X_test, (X[test_rows] - X[train_rows].mean(axis=0)) / scale, rtol=0, atol=1e-12
    )
    assert splits.feature_names == ("a", "b", "c")
    assert splits.target_name == "t"


def test_split_standardise_is_seeded():
    X, y = _toy()
    first = split_standardise(X, y, seed=7, feature_names=("a", "b", "c"))
    again = split_standardise(X, y, seed=7, feature_names=("a", "b", "c"))
    other = split_standardise(X, y, seed=8, feature_names=("a", "b", "c"))
    for part in ("X_train", "X_val", "X_test", "y_train", "y_val", "y_test"):
        np.testing.assert_array_equal(getattr(first, part), getattr(again, part))
    assert not np.array_equal(first.y_test, other.y_test)


def test_split_standardise_leaves_a_constant_column_centred():
    X, y = _toy()
    X[:, 1] = 4.0
    splits = split_standardise(X, y, seed=0, feature_names=("a", "b", "c"))
    np.testing.assert_array_equal(splits.X_test[:, 1], 0.0)
