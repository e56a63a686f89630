"""The equal-budget comparison: per (refiner, sampler) means and 95% CIs.

Pure tables: the per-simulation refiner records in, the ``comparison`` sheet out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from utils.statistics import mean_ci95

#: Columns of the comparison sheet, in order (the first nine are the issue's).
COMPARISON_COLUMNS = (
    "refiner", "sampler", "validation_mean", "validation_ci95", "test_mean", "test_ci95",
    "fits_mean", "seconds_mean", "grid_gap_mean", "grid_gap_ci95", "fits_max", "budget_mean",
    "over_budget", "improved", "worse_than_start", "simulations",
)


def refiners_frame(units) -> pd.DataFrame:
    """One row per (sampler, simulation, refiner), with the start's validation MSE.

    ``units``: the pipeline's UnitResults. The ``path`` of each refiner is left out
    (it goes to the JSON records), so the frame stays flat.
    """
    rows = []
    for unit in units:
        for record in unit.refiners:
            row = {key: value for key, value in record.items() if key != "path"}
            rows.append({
                "sampler": unit.record["sampler"],
                "simulation": unit.record["simulation"],
                "start_val_mse": unit.record["val_mse_optuna"],
                **row,
            })
    return pd.DataFrame(rows)


def comparison_table(
    refiners: pd.DataFrame,
    samplers: list[str],
    refiner_order: list[str],
    *,
    grid_best_val: float | None = None,
) -> pd.DataFrame:
    """The comparison sheet: one row per (refiner, sampler).

    Parameters
    ----------
    refiners : DataFrame
        ``refiners_frame``'s rows.
    samplers, refiner_order : list of str
        Row order.
    grid_best_val : float, optional
        Best validation MSE of the dense log-grid (hyper_local_search.landscape); the
        gap of a result is (val_mse - grid_best_val) / grid_best_val, 0.0 = the grid's
        best, negative = better than any grid point. NaN without a grid.

    Returns
    -------
    DataFrame with COMPARISON_COLUMNS. ``worse_than_start`` counts simulations whose
    validation MSE ended above the start's, ``over_budget`` those that spent more fits
    than their budget (0, by construction and by test); ``fits_max`` is the most fits
    any simulation spent.
    """
    rows = []
    for refiner in refiner_order:
        for sampler in samplers:
            part = refiners[(refiners.refiner == refiner) & (refiners.sampler == sampler)]
            if part.empty:
                continue
            val = part.val_mse.to_numpy(dtype=float)
            gaps = (val - grid_best_val) / grid_best_val if grid_best_val else np.full_like(
                val, np.nan)
            val_mean, val_ci = mean_ci95(val)
            test_mean, test_ci = mean_ci95(part.test_mse.to_numpy(dtype=float))
            gap_mean, gap_ci = mean_ci95(gaps)
            rows.append({
                "refiner": refiner,
                "sampler": sampler,
                "validation_mean": val_mean,
                "validation_ci95": val_ci,
                "test_mean": test_mean,
                "test_ci95": test_ci,
                "fits_mean": float(part.fits.mean()),
                "seconds_mean": float(part.seconds.mean()),
                "grid_gap_mean": gap_mean,
                "grid_gap_ci95": gap_ci,
                "fits_max": int(part.fits.max()),
                "budget_mean": float(part.budget.mean()),
                "over_budget": int((part.fits > part.budget).sum()),
                "improved": int((part.val_mse < part.start_val_mse).sum()),
                "worse_than_start": int((part.val_mse > part.start_val_mse).sum()),
                "simulations": len(part),
            })
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
