"""The equal-budget comparison: per (refiner, sampler) statistics a referee can check.

Pure tables: the per-simulation refiner records in, the ``comparison`` sheet out. Every
statistic is paired over the simulations of one sampler (each refiner starts from the
same Optuna model in a simulation):

- means with Student-t 95% CIs (``utils.statistics.mean_ci95_t``; the paper's 1.96 CI
  stays in the summary sheet only);
- the relative change against the start, on validation (what the refiners minimise)
  and on test (what nobody tuned on: the truth);
- win / tie / loss counts against the start and against ``hls``, a tie being a
  relative difference within the solver's accuracy (``TIE_RTOL``);
- two-sided paired Wilcoxon signed-rank p-values (``scipy.stats.wilcoxon``) against
  ``hls`` and against the start on validation, and against the start on test,
  each Holm-adjusted over the refiners of one sampler;
- the gap to the reference optimum (hyper_local_search.reference_optimum), the count
  of end points whose fit did not reach the solver's target, and how many refiners
  stopped before spending their budget, and why.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from utils.statistics import holm_adjust, mean_ci95_t, paired_outcomes, wilcoxon_p_value

#: Relative difference of two validation (or test) MSEs below which they tie, by solver.
#: "sklearn": scikit-learn's tol = 1e-4 makes the loss a sawtooth with jumps of about
#: 1e-5 relative (METHOD.md). "converged": two fits within the 1e-9 duality gap agree to
#: 2e-7 in validation MSE at the worst point measured (house_price at (1, 1e-10), where
#: cond(Q) ~ 1e12; tests/refiners_tests/test_refiners_contract.py), rounded up to 1e-6.
TIE_RTOL = {"sklearn": 1e-5, "converged": 1e-6}

#: Columns of the comparison sheet, in order.
COMPARISON_COLUMNS = (
    "refiner", "sampler", "simulations",
    "validation_mean", "validation_ci95", "test_mean", "test_ci95",
    "validation_change_mean", "validation_change_ci95",
    "wins_vs_start", "ties_vs_start", "losses_vs_start", "p_value_vs_start",
    "wins_vs_hls", "ties_vs_hls", "losses_vs_hls", "p_value_vs_hls",
    "test_change_mean", "test_change_ci95", "test_improved", "test_worse", "p_value_test",
    "reference_gap_mean", "reference_gap_ci95", "reference_gap_min",
    "fits_mean", "fits_max", "budget_min", "budget_mean", "over_budget", "stopped_early",
    "stop_reasons", "unconverged", "fit_gap_max", "seconds_mean",
    "improved", "worse_than_start",
)


def refiners_frame(units, references=None) -> pd.DataFrame:
    """One row per (sampler, simulation, refiner), with the start's losses.

    Parameters
    ----------
    units : sequence of UnitResult
        The pipeline's units. The ``path`` of each refiner is left out (it goes to the
        JSON records), so the frame stays flat.
    references : callable (simulation) -> (reference_val_mse, reference_test_mse), optional
        The reference optimum of a simulation's split (one for all without --resplit);
        adds the columns ``reference_val_mse`` and ``reference_gap``.
    """
    rows = []
    for unit in units:
        simulation = unit.record["simulation"]
        reference = references(simulation) if references is not None else None
        for record in unit.refiners:
            row = {key: value for key, value in record.items() if key != "path"}
            extra = {}
            if reference is not None:
                extra = {"reference_val_mse": reference[0],
                         "reference_gap": (row["val_mse"] - reference[0]) / reference[0]}
            rows.append({
                "sampler": unit.record["sampler"],
                "simulation": simulation,
                "start_val_mse": unit.record["val_mse_optuna"],
                "start_test_mse": unit.record["test_mse_optuna"],
                **row,
                **extra,
            })
    return pd.DataFrame(rows)


def _stop_reasons(part: pd.DataFrame) -> str:
    """'reason: count' of the simulations that stopped with fits left, most common first."""
    if "stop_reason" not in part:
        return ""
    early = part[part.fits < part.budget]
    counts = Counter(str(reason) for reason in early.stop_reason)
    return "; ".join(f"{reason}: {count}" for reason, count in counts.most_common())


def comparison_table(
    refiners: pd.DataFrame,
    samplers: list[str],
    refiner_order: list[str],
    *,
    tie_rtol: float = TIE_RTOL["converged"],
) -> pd.DataFrame:
    """The comparison sheet: one row per (refiner, sampler).

    Parameters
    ----------
    refiners : DataFrame
        ``refiners_frame``'s rows (columns sampler, simulation, refiner, val_mse,
        test_mse, start_val_mse, start_test_mse, fits, budget, seconds; optional
        stop_reason, converged, gap, reference_val_mse).
    samplers, refiner_order : list of str
        Row order.
    tie_rtol : float
        Relative tie tolerance of paired comparisons (``TIE_RTOL`` of the run's solver).

    Returns
    -------
    DataFrame with COMPARISON_COLUMNS:

    - ``validation_*``/``test_*`` mean and Student-t 95% CI half-width;
      ``*_change_*``: mean relative change (end - start) / start and its t CI;
    - ``wins/ties/losses_vs_start`` and ``_vs_hls``: simulations where the refiner's
      validation MSE is lower / within ``tie_rtol`` / higher; ``p_value_vs_*``: the
      paired two-sided Wilcoxon signed-rank p-value on validation MSE, Holm-adjusted
      over the refiners of the sampler (nan for hls against itself);
    - ``test_improved``/``test_worse``: test MSE lower / higher than the start's beyond
      ``tie_rtol``; ``p_value_test``: Wilcoxon on test MSE against the start, adjusted
      the same way;
    - ``reference_gap_*``: (val - reference) / reference (nan without a reference);
      ``reference_gap_min`` below 0 means a refiner beat the reference;
    - ``over_budget``: simulations that spent more fits than their budget (0, by
      construction and by test); ``stopped_early``: fewer fits than the budget, with
      ``stop_reasons`` counting why; ``unconverged``: end points whose fit did not reach
      the solver's stopping rule; ``fit_gap_max``: the largest relative duality gap of
      an end point;
    - ``improved``/``worse_than_start``: strict validation comparisons with the start
      (no tolerance).
    """
    rows = []
    hls = refiners[refiners.refiner == "hls"].set_index(["sampler", "simulation"])
    for refiner in refiner_order:
        for sampler in samplers:
            part = refiners[(refiners.refiner == refiner) & (refiners.sampler == sampler)]
            if part.empty:
                continue
            part = part.sort_values("simulation")
            val = part.val_mse.to_numpy(dtype=float)
            test = part.test_mse.to_numpy(dtype=float)
            start_val = part.start_val_mse.to_numpy(dtype=float)
            start_test = part.start_test_mse.to_numpy(dtype=float)
            keys = list(zip(part.sampler, part.simulation, strict=True))
            if refiner != "hls" and all(key in hls.index for key in keys):
                hls_val = hls.loc[keys, "val_mse"].to_numpy(dtype=float)
                vs_hls = paired_outcomes(val, hls_val, rtol=tie_rtol)
                p_hls = wilcoxon_p_value(val, hls_val, rtol=tie_rtol)
            else:
                vs_hls, p_hls = (np.nan, np.nan, np.nan), np.nan
            vs_start = paired_outcomes(val, start_val, rtol=tie_rtol)
            test_vs_start = paired_outcomes(test, start_test, rtol=tie_rtol)
            if "reference_val_mse" in part:
                reference = part.reference_val_mse.to_numpy(dtype=float)
                gaps = (val - reference) / reference
            else:
                gaps = np.full_like(val, np.nan)
            val_mean, val_ci = mean_ci95_t(val)
            test_mean, test_ci = mean_ci95_t(test)
            change_mean, change_ci = mean_ci95_t((val - start_val) / start_val)
            test_change_mean, test_change_ci = mean_ci95_t((test - start_test) / start_test)
            gap_mean, gap_ci = mean_ci95_t(gaps)
            converged = part.converged.astype(bool) if "converged" in part else None
            fit_gaps = part.gap.to_numpy(dtype=float) if "gap" in part else np.array([np.nan])
            rows.append({
                "refiner": refiner,
                "sampler": sampler,
                "simulations": len(part),
                "validation_mean": val_mean,
                "validation_ci95": val_ci,
                "test_mean": test_mean,
                "test_ci95": test_ci,
                "validation_change_mean": change_mean,
                "validation_change_ci95": change_ci,
                "wins_vs_start": vs_start[0],
                "ties_vs_start": vs_start[1],
                "losses_vs_start": vs_start[2],
                "p_value_vs_start": wilcoxon_p_value(val, start_val, rtol=tie_rtol),
                "wins_vs_hls": vs_hls[0],
                "ties_vs_hls": vs_hls[1],
                "losses_vs_hls": vs_hls[2],
                "p_value_vs_hls": p_hls,
                "test_change_mean": test_change_mean,
                "test_change_ci95": test_change_ci,
                "test_improved": test_vs_start[0],
                "test_worse": test_vs_start[2],
                "p_value_test": wilcoxon_p_value(test, start_test, rtol=tie_rtol),
                "reference_gap_mean": gap_mean,
                "reference_gap_ci95": gap_ci,
                "reference_gap_min": float(np.min(gaps)) if gaps.size else np.nan,
                "fits_mean": float(part.fits.mean()),
                "fits_max": int(part.fits.max()),
                "budget_min": int(part.budget.min()),
                "budget_mean": float(part.budget.mean()),
                "over_budget": int((part.fits > part.budget).sum()),
                "stopped_early": int((part.fits < part.budget).sum()),
                "stop_reasons": _stop_reasons(part),
                "unconverged": np.nan if converged is None else int((~converged).sum()),
                "fit_gap_max": float(np.nanmax(fit_gaps)) if np.isfinite(fit_gaps).any()
                else np.nan,
                "seconds_mean": float(part.seconds.mean()),
                "improved": int((part.val_mse < part.start_val_mse).sum()),
                "worse_than_start": int((part.val_mse > part.start_val_mse).sum()),
            })
    table = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    for column in ("p_value_vs_start", "p_value_vs_hls", "p_value_test"):
        for sampler in samplers:
            mask = (table.sampler == sampler).to_numpy()
            if mask.any():
                table.loc[mask, column] = holm_adjust(table.loc[mask, column].to_numpy(float))
    return table
