"""Mean and 95% confidence interval over simulations, as the paper reports them."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Z_95", "mean_ci95"]

#: Two-sided 95% quantile of the standard normal distribution, as used in the paper.
Z_95 = 1.96


def mean_ci95(values: ArrayLike) -> tuple[float, float]:
    """Mean and half-width of the paper's 95% confidence interval.

    The half-width is ``1.96 * s / sqrt(n)`` with ``s`` the sample standard deviation
    (``ddof=1``) and ``n`` the number of values: the normal approximation the paper uses
    (not Student's t), so it matches the published tables.

    Parameters
    ----------
    values : array_like of shape (n,)
        One number per simulation (a loss in squared target units, or seconds). Any
        shape is accepted and flattened.

    Returns
    -------
    mean : float
        Arithmetic mean, in the units of `values`; nan when `values` is empty.
    ci95 : float
        Half-width of the interval, in the units of `values`. nan when it is not
        computable: fewer than 2 values (one simulation has no spread to estimate).
        Callers show this nan as "not computable" (an empty cell in Excel).

    Notes
    -----
    Nothing is dropped silently: a nan among `values` (for instance a failed unit) makes
    both the mean and the half-width nan, and an infinite value makes the mean infinite
    and the half-width nan. Filter such values explicitly before calling, and say so,
    if a summary without them is wanted.

    Identical values give a half-width of 0 here; the published grid rows show
    1.67e-08 on means of about 3.4e8 instead, round-off in the authors' standard
    deviation (one unit in the last place of the mean), not a real spread.

    Examples
    --------
    >>> mean, ci95 = mean_ci95([1.0, 2.0, 3.0])  # s = 1, so ci95 = 1.96 / sqrt(3)
    >>> mean, round(ci95, 6)
    (2.0, 1.131607)
    """
    array = np.asarray(values, dtype=np.float64).ravel()
    n_values = array.size
    if n_values == 0:
        return math.nan, math.nan
    mean = float(array.mean())
    if n_values < 2:
        return mean, math.nan
    with np.errstate(invalid="ignore"):  # inf - inf: a documented nan, not a surprise
        std = float(array.std(ddof=1))
    half_width = Z_95 * std / math.sqrt(n_values)
    return mean, half_width
