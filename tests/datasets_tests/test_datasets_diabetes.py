"""scikit-learn's diabetes data behind the seeded 60/20/20 split."""

from __future__ import annotations

import numpy as np

from datasets.diabetes import load_diabetes


def test_shapes_names_and_scaling():
    splits = load_diabetes(seed=0)
    assert splits.n_samples == (264, 89, 89)
    assert splits.feature_names == (
        "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
    )  # fmt: skip
    assert splits.target_name == "disease_progression"
    assert splits.name == "diabetes"
    np.testing.assert_allclose(splits.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(splits.X_train.std(axis=0), 1.0, rtol=1e-12)
    assert splits.y_train.min() >= 25.0  # raw units, not standardised
    assert splits.y_train.max() <= 346.0


def test_seed_decides_the_split():
    first, again, other = load_diabetes(seed=5), load_diabetes(seed=5), load_diabetes(seed=6)
    np.testing.assert_array_equal(first.X_test, again.X_test)
    np.testing.assert_array_equal(first.y_train, again.y_train)
    assert not np.array_equal(first.y_test, other.y_test)
    all_y = np.sort(np.concatenate([first.y_train, first.y_val, first.y_test]))
    np.testing.assert_array_equal(
        all_y, np.sort(np.concatenate([other.y_train, other.y_val, other.y_test]))
    )
