"""Statistics over simulations: the paper's mean and 95% CI, and paired comparisons.

- ``mean_ci95``: the paper's interval, 1.96 * s / sqrt(n) (the summary sheet keeps it,
  for fidelity to the published table);
- ``mean_ci95_t``: Student's t interval, t_(n-1, 0.975) * s / sqrt(n) (the comparison
  sheet: with 5 simulations t is 2.78, not 1.96);
- ``paired_outcomes``: win / tie / loss counts of paired losses, with ties defined by a
  relative tolerance (the solver's accuracy);
- ``wilcoxon_p_value``: the two-sided paired Wilcoxon signed-rank test
  (``scipy.stats.wilcoxon``) on differences with the ties zeroed;
- ``holm_adjust``: Holm's step-down adjustment of a family of p-values.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "Z_95",
    "holm_adjust",
    "mean_ci95",
    "mean_ci95_t",
    "paired_outcomes",
    "tied_differences",
    "wilcoxon_p_value",
]

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


def mean_ci95_t(values: ArrayLike) -> tuple[float, float]:
    """Mean and half-width of Student's t 95% confidence interval of the mean.

    The half-width is ``t * s / sqrt(n)`` with ``t`` the 0.975 quantile of Student's t
    distribution with n - 1 degrees of freedom (``scipy.stats.t.ppf``; 2.776 for n = 5,
    2.093 for n = 20, 2.010 for n = 50) and ``s`` the sample standard deviation
    (``ddof=1``).

    Parameters
    ----------
    values : array_like of shape (n,)
        One number per simulation (flattened).

    Returns
    -------
    mean, ci95 : float
        As ``mean_ci95``: nan mean for no value, nan half-width for fewer than 2, and a
        nan or infinite value propagates (nothing is dropped silently).
    """
    array = np.asarray(values, dtype=np.float64).ravel()
    n_values = array.size
    if n_values == 0:
        return math.nan, math.nan
    mean = float(array.mean())
    if n_values < 2:
        return mean, math.nan
    with np.errstate(invalid="ignore"):
        std = float(array.std(ddof=1))
    quantile = float(stats.t.ppf(0.975, n_values - 1))
    return mean, quantile * std / math.sqrt(n_values)


def tied_differences(values: ArrayLike, reference: ArrayLike, *, rtol: float) -> np.ndarray:
    """Paired differences values - reference, with ties set to exactly 0.

    Parameters
    ----------
    values, reference : array_like of shape (n,)
        Paired losses (e.g. a refiner's and the start's validation MSE per simulation).
    rtol : float
        A difference with ``|values - reference| <= rtol * |reference|`` is a tie: below
        the accuracy the losses are known to (the solver's), so neither side wins.

    Returns
    -------
    differences : ndarray of shape (n,)
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    reference = np.asarray(reference, dtype=np.float64).ravel()
    if values.shape != reference.shape:
        raise ValueError(f"paired values need equal lengths; got {values.size} and "
                         f"{reference.size}")
    differences = values - reference
    differences[np.abs(differences) <= rtol * np.abs(reference)] = 0.0
    return differences


def paired_outcomes(values: ArrayLike, reference: ArrayLike, *,
                    rtol: float) -> tuple[int, int, int]:
    """(wins, ties, losses) of ``values`` against ``reference``, lower is better.

    Parameters
    ----------
    values, reference : array_like of shape (n,)
        Paired losses.
    rtol : float
        Relative tie tolerance (``tied_differences``).

    Returns
    -------
    wins, ties, losses : int
        Pairs where ``values`` is lower beyond the tolerance, within it, higher beyond
        it; a nan in either side of a pair counts in none.
    """
    differences = tied_differences(values, reference, rtol=rtol)
    known = ~np.isnan(differences)
    d = differences[known]
    return int((d < 0).sum()), int((d == 0).sum()), int((d > 0).sum())


def wilcoxon_p_value(values: ArrayLike, reference: ArrayLike, *, rtol: float) -> float:
    """Two-sided paired Wilcoxon signed-rank p-value of ``values`` against ``reference``.

    The differences are formed and their ties zeroed by ``tied_differences``, then
    passed to ``scipy.stats.wilcoxon`` with ``zero_method="wilcox"``: the ties are
    dropped, so the test speaks only about the pairs that differ measurably (a tie is
    evidence for neither side: 2 wins and 18 ties give p = 0.5, not a small p), and with
    few pairs and no tied magnitudes scipy's exact null distribution is used. (scipy's
    "zsplit" and "pratt" rules would keep the ties in the ranking, but its automatic
    method then mixes an exact p-value over the non-zero pairs with the zsplit
    statistic; dropping the ties is the rule whose p-value is well defined.)

    Parameters
    ----------
    values, reference : array_like of shape (n,)
        Paired losses.
    rtol : float
        Relative tie tolerance.

    Returns
    -------
    p_value : float
        1.0 when fewer than 2 pairs differ beyond the tolerance; nan with fewer than 2
        pairs or any nan.
    """
    differences = tied_differences(values, reference, rtol=rtol)
    if differences.size < 2 or np.isnan(differences).any():
        return math.nan
    if not differences.any():
        return 1.0
    if np.count_nonzero(differences) < 2:
        return 1.0  # one measurable difference is no evidence
    with warnings.catch_warnings():
        # scipy warns when tied magnitudes make it use the normal approximation; that is
        # the documented behaviour we want.
        warnings.simplefilter("ignore", UserWarning)
        # the ties dropped here, not by scipy: with zeros in its input scipy's automatic
        # method falls back to the normal approximation even for 2 pairs
        result = stats.wilcoxon(differences[differences != 0], zero_method="wilcox",
                                alternative="two-sided")
    return float(result.pvalue)


def holm_adjust(p_values: ArrayLike) -> np.ndarray:
    """Holm's step-down adjusted p-values of one family of tests.

    With the m finite p-values sorted, p_(1) <= ... <= p_(m), the adjusted value of the
    k-th is max over j <= k of min(1, (m - j + 1) p_(j)); rejecting the adjusted values
    below alpha controls the family-wise error rate at alpha (Holm 1979).

    Parameters
    ----------
    p_values : array_like of shape (m,)
        nan entries (tests that could not be made) are left nan and not counted in m.

    Returns
    -------
    adjusted : ndarray of shape (m,)
        In the input order.
    """
    p = np.asarray(p_values, dtype=np.float64).ravel()
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(~np.isnan(p))
    m = finite.size
    if m == 0:
        return adjusted
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted
