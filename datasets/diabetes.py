"""scikit-learn's bundled diabetes data (Efron et al. 2004): a small extra data set.

442 patients, 10 baseline measurements (age, sex, body-mass index, blood
pressure, six blood serum values), target a quantitative measure of disease
progression one year after baseline. The paper does not use it; it is a fast,
offline check of the pipeline. Split 60/20/20 with a seed and standardised on
the training part by `datasets.splits.split_standardise`.
"""

from __future__ import annotations

from sklearn.datasets import load_diabetes as _sklearn_load_diabetes

from datasets.splits import Splits, split_standardise


def load_diabetes(*, seed: int = 0) -> Splits:
    """Diabetes data, seeded 60/20/20 split: 264 / 89 / 89 rows, 10 features.

    Parameters
    ----------
    seed : int, default 0
        Seed of the split (see `split_standardise`).

    Returns
    -------
    Splits
        ``X_*`` of shape (n, 10): the raw measurements (``scaled=False``: age in
        years, BMI in kg/m^2, ...) standardised on the training rows.
        ``y_*`` of shape (n,): disease progression (about 25 to 346).
        Named ``"diabetes"``.
    """
    bunch = _sklearn_load_diabetes(scaled=False)
    return split_standardise(
        bunch.data,
        bunch.target,
        seed=seed,
        feature_names=tuple(bunch.feature_names),
        target_name="disease_progression",
        name="diabetes",
    )
