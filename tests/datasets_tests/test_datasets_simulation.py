"""The simulated regression: shapes, determinism, and the authors' global-seed recipe."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split

from datasets.simulation import load_simulation, simulate_regression


@pytest.fixture(scope="module")
def simulated() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_regression()


def test_shapes_and_names():
    splits = load_simulation()
    assert splits.n_samples == (6400, 1600, 2000)
    assert splits.n_features == 100
    assert splits.feature_names[:2] == ("x0", "x1")
    assert splits.target_name == "y"
    assert splits.name == "simulation"


def test_same_seed_same_data_and_other_seed_other_data(simulated):
    X, y, coef = simulated
    X_again, y_again, coef_again = simulate_regression()
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    np.testing.assert_array_equal(coef, coef_again)
    assert not np.array_equal(y, simulate_regression(seed=1)[1])
    first, again = load_simulation(), load_simulation()
    np.testing.assert_array_equal(first.X_val, again.X_val)
    np.testing.assert_array_equal(first.y_test, again.y_test)


def test_global_random_state_is_untouched():
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    simulate_regression()
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_equals_the_authors_global_seed_code(simulated):
    """The authors seeded numpy's global stream; a private RandomState in the same
    call order must give the same numbers. (The global state is restored.)"""
    saved = np.random.get_state()  # noqa: NPY002
    try:
        X, _, coef = make_regression(
            n_samples=10000,
            n_features=100,
            n_informative=10,
            noise=0.5,
            effective_rank=50,
            tail_strength=0.5,
            coef=True,
            random_state=42,
        )
        np.random.seed(42)  # noqa: NPY002 - the authors' legacy call, on purpose
        base = np.random.randn(10000, 70)  # noqa: NPY002
        X += base @ np.random.randn(70, 100)  # noqa: NPY002
        coef[np.random.choice(range(100), size=int(0.7 * 100), replace=False)] = 0  # noqa: NPY002
        y = X @ coef + 0.5 * np.random.randn(10000)  # noqa: NPY002
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    np.testing.assert_array_equal(simulated[0], X)
    np.testing.assert_array_equal(simulated[1], y)
    np.testing.assert_array_equal(simulated[2], coef)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=2000, random_state=123)
    X_train, X_val, y_train, y_val = train_test_split(
        X_train, y_train, test_size=0.2, random_state=123
    )
    expected = {"X_train": X_train, "X_val": X_val, "X_test": X_test}
    expected |= {"y_train": y_train, "y_val": y_val, "y_test": y_test}
    splits = load_simulation()
    for part, values in expected.items():
        np.testing.assert_array_equal(getattr(splits, part), values)


def test_true_model_and_noise(simulated):
    X, y, coef = simulated
    # 10 informative coefficients, 70 random ones zeroed: 4 survive with seed 42
    np.testing.assert_array_equal(np.flatnonzero(coef), [12, 43, 47, 71])
    residual = y - X @ coef
    assert residual.std() == pytest.approx(0.5, rel=0.03)  # noise 0.5, 10000 draws
    # not standardised: correlated columns with standard deviations of about 7-10
    assert 6.0 < X.std(axis=0).min() < X.std(axis=0).max() < 11.0
