"""Check a --refiners run the way a referee would, with solvers independent of the run.

    python expes/check_refiners.py OUTPUT_DIR [OUTPUT_DIR ...]

For each run (an --output-dir of a ``--refiners`` run; its data set is read back from
the workbook's settings sheet, ``--resplit`` splits redrawn the way the run drew them):

1. **Refits.** Every reported point (each simulation's Optuna start and HLS end, every
   refiner's end point, the reference optimum) is refitted cold with scikit-learn's
   ``ElasticNet`` at tol 1e-12 (max_iter ``--max-iter``); its validation MSE must equal
   the reported one within 1e-4 relative. Where scikit-learn stops at max_iter first
   (the ill-conditioned corner l2 -> 0), the point is refitted with the converged solver
   started cold instead, and the line says so.
2. **Budgets.** Every refiner had at least 20 fits to spend, and none spent more.
3. **Statistics.** The comparison sheet has the p-values (``p_value_vs_hls``,
   ``p_value_vs_start``, ``p_value_test``) and the test counts (``test_improved``,
   ``test_worse``), filled in.
4. **Reference.** An independent fine search (scikit-learn, tol 1e-10, warm-started
   down each l2 column) over 10 points per decade of l1 in [alpha_max 1e-7, alpha_max]
   (clipped at the floor 1e-10, as the refiners are)
   and 6 per decade of l2 in [1e-10, 1e4 s] (s the mean feature variance), plus 40 x 40
   points within half a decade of the reference (not the point itself), finds nothing
   more than 0.1% below the reference optimum (the first ``--references`` splits of a
   --resplit run; a fine-search fit that stops at max_iter near the reference is refitted
   with the converged solver, ``fine_search``). And no refiner ended below the reference
   by more than 1e-6.

Prints one line per check and ``PASS``/``FAIL``; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datasets.registry import load_dataset
from datasets.splits import Splits
from experiment.config import RunConfig
from experiment.unit import unit_splits
from optuna_training.elastic_net import ElasticNetProblem

REFIT_RTOL = 1e-4
MIN_BUDGET = 20
REFERENCE_RTOL = 1e-3
REFINER_BELOW_REFERENCE = 1e-6
STATISTICS = ("p_value_vs_hls", "p_value_vs_start", "p_value_test", "test_improved",
              "test_worse")


def sklearn_fit(splits: Splits, l1: float, l2: float, *, tol: float, max_iter: int,
                coef_init: np.ndarray | None = None) -> tuple[float, np.ndarray, bool]:
    """(validation MSE, coef, converged) of scikit-learn's ElasticNet at (l1, l2)."""
    model = ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), tol=tol, max_iter=max_iter,
                       warm_start=coef_init is not None)
    if coef_init is not None:
        model.coef_ = coef_init.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(splits.X_train, splits.y_train)
    residual = model.predict(splits.X_val) - splits.y_val
    return float(residual @ residual / residual.size), model.coef_, model.n_iter_ < max_iter


def read_run(out: Path) -> dict[str, pd.DataFrame | pd.Series]:
    books = sorted((out / "results_summary").glob("results_summary_*.xlsx"))
    if not books:
        raise SystemExit(f"error: no results_summary_*.xlsx under {out}")
    sheets = pd.read_excel(books[-1], sheet_name=None)
    sheets["settings"] = sheets["settings"].set_index("setting")["value"]
    return sheets


def run_splits(settings: pd.Series,
               simulations: pd.DataFrame) -> tuple[dict[int, Splits], bool]:
    target = settings.get("target")
    target = None if not isinstance(target, str) or not target else target
    seed = int(settings["seed"])
    base = load_dataset(str(settings["dataset"]), target=target, seed=seed)
    resplit = str(settings.get("resplit", "False")) == "True"
    config = RunConfig(dataset=str(settings["dataset"]), target=target, seed=seed,
                       resplit=resplit)
    seeds = simulations.drop_duplicates("simulation").set_index("simulation").seed
    return {int(i): unit_splits(base, config, int(s)) for i, s in seeds.items()}, resplit


def check_refits(sheets, splits, max_iter: int) -> tuple[bool, list[str]]:
    points = []
    for _, row in sheets["simulations"].iterrows():
        points.append((int(row.simulation), "optuna start", row.l1_optuna, row.l2_optuna,
                       row.val_mse_optuna))
        points.append((int(row.simulation), "hls (unit)", row.l1_hls, row.l2_hls,
                       row.val_mse_hls))
    for _, row in sheets["refiners"].iterrows():
        points.append((int(row.simulation), row.refiner, row.l1, row.l2, row.val_mse))
    unique = {}
    for simulation, name, l1, l2, val in points:
        unique.setdefault((simulation, float(l1), float(l2)), []).append((name, float(val)))
    worst, n_fallback, failures = 0.0, 0, []
    problems = {}
    for (simulation, l1, l2), reported in unique.items():
        s = splits[simulation]
        val, _, converged = sklearn_fit(s, l1, l2, tol=1e-12, max_iter=max_iter)
        if not converged:
            n_fallback += 1
            if simulation not in problems:
                problems[simulation] = ElasticNetProblem(s.X_train, s.y_train, s.X_val,
                                                         s.y_val, solver="converged")
            problem = problems[simulation]
            val = problem.val_mse(problem.fit(l1, l2))
        for name, reported_val in reported:
            error = abs(reported_val - val) / val
            worst = max(worst, error)
            if error > REFIT_RTOL:
                failures.append(f"    simulation {simulation} {name} at ({l1:.6g}, {l2:.6g}): "
                                f"reported {reported_val:.10g}, refit {val:.10g} "
                                f"({error:.2e})")
    ok = not failures
    lines = [f"  refits: {len(unique)} distinct points ({len(points)} reported), largest "
             f"relative difference {worst:.2e} (limit {REFIT_RTOL:g}); "
             f"{len(unique) - n_fallback} by scikit-learn tol 1e-12, {n_fallback} by the "
             f"converged solver cold (scikit-learn hit max_iter {max_iter}) "
             f"{'PASS' if ok else 'FAIL'}", *failures[:10]]
    return ok, lines


def check_budgets(sheets) -> tuple[bool, list[str]]:
    refiners = sheets["refiners"]
    least, over = int(refiners.budget.min()), int((refiners.fits > refiners.budget).sum())
    ok = least >= MIN_BUDGET and over == 0
    by = refiners.groupby("refiner").budget.min().to_dict()
    return ok, [f"  budgets: smallest {least} fits (at least {MIN_BUDGET}), {over} over budget; "
                f"per refiner {by} {'PASS' if ok else 'FAIL'}"]


def check_statistics(sheets) -> tuple[bool, list[str]]:
    comparison = sheets["comparison"]
    missing = [c for c in STATISTICS if c not in comparison]
    present = [c for c in STATISTICS if c in comparison]
    others = comparison[comparison.refiner != "hls"]
    empty = [c for c in present
             if (others if c == "p_value_vs_hls" else comparison)[c].isna().any()]
    ok = not missing and not empty
    return ok, [f"  statistics: columns {', '.join(STATISTICS)}: missing {missing or 'none'}, "
                f"empty cells in {empty or 'none'} ({len(comparison)} rows) "
                f"{'PASS' if ok else 'FAIL'}"]


#: An unconverged fine-search point this close above the reference (or below it) is
#: refitted with the converged solver: its scikit-learn loss is not the minimiser's.
VERIFY_BAND = 0.05


def fine_search(splits: Splits, reference: dict) -> tuple[float, tuple[float, float], int]:
    """The lowest validation MSE of the independent fine search (module docstring).

    scikit-learn fits that stop at max_iter are not minimisers (their duality gap can be
    0.2 or more on collinear features, and their validation MSE lower than the optimum's:
    early stopping regularises); each such point within ``VERIFY_BAND`` of the reference
    is refitted cold with the converged solver and counts with that loss. Returns the
    best loss, where, and how many points needed the refit.
    """
    Xc = splits.X_train - splits.X_train.mean(axis=0)
    yc = splits.y_train - splits.y_train.mean()
    n = splits.X_train.shape[0]
    alpha_max = float(np.abs(Xc.T @ yc).max()) / n
    scale = float(np.mean(np.var(splits.X_train, axis=0)))
    l1_grid = np.unique(np.maximum(alpha_max * np.logspace(0, -7, 71), 1e-10))[::-1]
    decades = math.log10(scale) + 14
    l2_grid = np.logspace(-10, math.log10(scale) + 4, round(6 * decades) + 1)
    local_l1 = np.unique(np.maximum(reference["l1"] * np.logspace(0.5, -0.5, 40),
                                    1e-10))[::-1]  # the reference itself excluded
    local_l2 = np.maximum(reference["l2"] * np.logspace(-0.5, 0.5, 40), 1e-10)
    problem = ElasticNetProblem(splits.X_train, splits.y_train, splits.X_val, splits.y_val,
                                solver="converged")
    best, where, n_verified = math.inf, (math.nan, math.nan), 0
    for l1_values, l2_values in ((l1_grid, l2_grid), (local_l1, np.unique(local_l2))):
        for l2 in l2_values:
            coef = None
            for l1 in l1_values:  # decreasing
                val, coef, converged = sklearn_fit(splits, float(l1), float(l2), tol=1e-10,
                                                   max_iter=5000, coef_init=coef)
                if not converged and val < reference["val_mse"] * (1 + VERIFY_BAND):
                    n_verified += 1
                    val = problem.val_mse(problem.fit(float(l1), float(l2)))
                if val < best:
                    best, where = val, (float(l1), float(l2))
    return best, where, n_verified


def check_reference(out: Path, sheets, splits, resplit: bool,
                    n_references: int) -> tuple[bool, list[str]]:
    run_dirs = sorted({p.parent for p in out.glob("runs/*/reference*.json")})
    settings_dir = str(sheets["settings"].get("run_directory", ""))
    run_dir = next((d for d in run_dirs if str(d) == settings_dir), run_dirs[-1])
    if resplit:
        keys = sorted(int(p.stem.split("_")[1]) for p in run_dir.glob("reference_*.json"))
        files = {k: run_dir / f"reference_{k}.json" for k in keys[:n_references]}
    else:
        files = {min(splits): run_dir / "reference.json"}
    ok, lines = True, []
    for simulation, path in files.items():
        document = json.loads(path.read_text())
        # a run document (key, checksum, "unit"), or the bare layout of earlier runs
        reference = document.get("unit", document)["optimum"]
        begin = time.perf_counter()
        best, where, n_verified = fine_search(splits[simulation], reference)
        refit, _, converged = sklearn_fit(splits[simulation], reference["l1"], reference["l2"],
                                          tol=1e-12, max_iter=100_000)
        refit_error = abs(refit - reference["val_mse"]) / reference["val_mse"]
        lines.append(f"  reference refit ({simulation}): scikit-learn tol 1e-12 "
                     f"{'converged' if converged else 'at max_iter'}, relative difference "
                     f"{refit_error:.2e} (reported {reference['val_mse']:.10g}, duality gap "
                     f"{reference['fit']['gap']})")
        below = (reference["val_mse"] - best) / reference["val_mse"]
        passed = below <= REFERENCE_RTOL
        ok &= passed
        label = f"simulation {simulation}" if resplit else "the split"
        lines.append(f"  reference ({label}): ({reference['l1']:.6g}, {reference['l2']:.6g}) "
                     f"val {reference['val_mse']:.10g}; "
                     f"fine search best {best:.10g} at ({where[0]:.6g}, {where[1]:.6g}) "
                     f"({n_verified} unconverged scikit-learn points refitted converged), "
                     f"{-below:+.2e} relative to the reference (must not be below -"
                     f"{REFERENCE_RTOL:g}) [{time.perf_counter() - begin:.0f} s] "
                     f"{'PASS' if passed else 'FAIL'}")
    refiners = sheets["refiners"]
    lowest = float(refiners.reference_gap.min())
    passed = lowest >= -REFINER_BELOW_REFERENCE
    ok &= passed
    lines.append(f"  reference vs refiners: lowest reference_gap of any end point {lowest:+.2e} "
                 f"(>= -{REFINER_BELOW_REFERENCE:g}) {'PASS' if passed else 'FAIL'}")
    return ok, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="output directories of --refiners runs")
    parser.add_argument("--references", type=int, default=3,
                        help="references fine-searched per --resplit run (default 3)")
    parser.add_argument("--max-iter", type=int, default=100_000,
                        help="scikit-learn's epoch limit for the refits (default 100000)")
    parser.add_argument("--only", choices=("refits", "budgets", "statistics", "reference"),
                        nargs="+", default=None, help="run only these checks (default all)")
    args = parser.parse_args()
    all_ok = True
    with threadpool_limits(limits=1):
        for out in args.runs:
            sheets = read_run(out)
            settings = sheets["settings"]
            splits, resplit = run_splits(settings, sheets["simulations"])
            n_sim = sheets["simulations"].simulation.nunique()
            print(f"{out}: {settings['dataset_shapes']}; samplers {settings['samplers']}, "
                  f"{n_sim} simulations, resplit {resplit}, solver {settings['solver']}")
            checks = (
                ("refits", check_refits, (sheets, splits, args.max_iter)),
                ("budgets", check_budgets, (sheets,)),
                ("statistics", check_statistics, (sheets,)),
                ("reference", check_reference, (out, sheets, splits, resplit, args.references)),
            )
            for name, check, check_args in checks:
                if args.only is not None and name not in args.only:
                    continue
                ok, lines = check(*check_args)
                all_ok &= ok
                print("\n".join(lines), flush=True)
    print("ALL PASS" if all_ok else "SOME CHECKS FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
