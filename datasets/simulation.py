"""The paper's simulated regression: 100 correlated features, 30 of them active.

Recipe (the authors' code, step for step):

1. ``make_regression(n_samples=10000, n_features=100, n_informative=10,
   noise=0.5, effective_rank=50, tail_strength=0.5, coef=True,
   random_state=42)`` gives X, y and the coefficients (y is discarded).
2. With the legacy ``RandomState(42)`` stream (the authors called
   ``np.random.seed(42)`` and then ``np.random.*``; a private ``RandomState`` in
   the same call order gives the same numbers without touching global state):
   ``base = randn(10000, 70)``; ``X += base @ randn(70, 100)`` (correlated
   features); ``choice(100, 70, replace=False)`` picks the coefficients set to
   zero; ``y = X @ coef + 0.5 * randn(10000)``.
3. ``train_test_split`` with ``random_state=123``: 2000 test rows, then 20 % of
   the remaining 8000 as validation: 6400 / 1600 / 2000 rows.

No standardisation: the authors fit the elastic net on X and y as simulated
(the METHOD notes name no scaling step), so neither do we. The columns of X
have standard deviations between about 7 and 10, not 1; y about 600.

Note that ``make_regression`` draws 10 informative coefficients and step 2
zeroes 70 coefficients chosen without regard to them, so the true model has
at most 10 nonzero coefficients: those of the informative features that survive
the zeroing. With seed 42 only 4 survive (features 12, 43, 47 and 71).
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split

from datasets.splits import Splits

N_SAMPLES = 10_000
N_FEATURES = 100
N_INFORMATIVE = 10
N_LATENT = 70
ZERO_FRACTION = 0.7
NOISE_STD = 0.5
N_TEST = 2000
VAL_FRACTION = 0.2
SPLIT_RANDOM_STATE = 123
SEED = 42


def simulate_regression(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate the paper's regression problem (before any split).

    Parameters
    ----------
    seed : int, default 42
        Seed of ``make_regression`` and of the ``RandomState`` stream that adds
        correlation, zeroes coefficients and draws the noise. 42 is the paper's.

    Returns
    -------
    X : ndarray of shape (10000, 100)
        Features (unitless, not standardised).
    y : ndarray of shape (10000,)
        ``X @ coef`` plus Gaussian noise of standard deviation 0.5.
    coef : ndarray of shape (100,)
        True coefficients; 70 of them are set to zero (more are zero already).
    """
    X, _, coef = make_regression(
        n_samples=N_SAMPLES,
        n_features=N_FEATURES,
        n_informative=N_INFORMATIVE,
        noise=NOISE_STD,
        effective_rank=50,
        tail_strength=0.5,
        coef=True,
        random_state=seed,
    )
    rng = np.random.RandomState(seed)
    base = rng.randn(N_SAMPLES, N_LATENT)
    X = X + base @ rng.randn(N_LATENT, N_FEATURES)
    coef = np.array(coef, dtype=np.float64)
    zeroed = rng.choice(N_FEATURES, int(ZERO_FRACTION * N_FEATURES), replace=False)
    coef[zeroed] = 0.0
    y = X @ coef + NOISE_STD * rng.randn(N_SAMPLES)
    return X, y, coef


def load_simulation(seed: int = SEED) -> Splits:
    """The paper's simulated split: 6400 / 1600 / 2000 rows, 100 features.

    Parameters
    ----------
    seed : int, default 42
        Simulation seed (see `simulate_regression`); the split itself always
        uses ``random_state=123``, as in the paper.

    Returns
    -------
    Splits
        ``X_*`` of shape (n, 100), features x0..x99 as simulated (no scaling);
        ``y_*`` of shape (n,). Named ``"simulation"``.
    """
    X, y, _ = simulate_regression(seed)
    X_train_full, X_test, y_train_full, y_test = train_test_split(
        X, y, test_size=N_TEST, random_state=SPLIT_RANDOM_STATE
    )
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
        feature_names=tuple(f"x{j}" for j in range(N_FEATURES)),
        target_name="y",
        name="simulation",
    )
