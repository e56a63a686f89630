"""Benchmark: the converged solver's cost against scikit-learn's defaults (issue 11: within 2x).

Two measurements, side by side in one process (the two solvers alternate, so a busy
machine slows both alike):

- ``fits``: the same (l1, l2) points fitted by both solvers: 50 points uniform in the
  paper's box [1e-10, 1]^2 and 50 log-uniform in [1e-4, 1e4]^2 (what the Optuna studies
  sample), in random order; "sklearn" cold (as the runs fit), "converged" both cold and
  warm-started from the model of the nearest point fitted before it (as a study fits,
  trial after trial: ``NearestModels``).
- ``units``: whole refiner units (an Optuna study of 100 trials, the HLS step and the six
  refiners at 50 fits each) run with ``--solver sklearn`` and ``--solver converged``.

    python benchmarks/bench_solvers.py --datasets house_price diabetes california_housing
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_hls import machine
from datasets.registry import load_dataset
from experiment.config import RunConfig
from experiment.unit import make_problem, run_unit
from hyper_local_search.refiners import REFINER_NAMES
from optuna_training.warm_start import NearestModels
from utils.seeding import simulation_seeds


def bench_fits(name: str, n_points: int, seed: int) -> None:
    splits = load_dataset(name)
    sklearn, converged = make_problem(splits, "sklearn"), make_problem(splits, "converged")
    rng = np.random.default_rng(seed)
    points = np.vstack([rng.uniform(1e-10, 1.0, size=(n_points // 2, 2)),
                        10.0 ** rng.uniform(-4, 4, size=(n_points - n_points // 2, 2))])
    points = points[rng.permutation(len(points))]
    seconds = {"sklearn": 0.0, "converged cold": 0.0, "converged warm": 0.0}
    stalled, worst_gap, models = 0, 0.0, NearestModels()
    for l1, l2 in points:
        begin = time.perf_counter()
        sklearn.fit(l1, l2)
        seconds["sklearn"] += time.perf_counter() - begin
        begin = time.perf_counter()
        fit = converged.fit(l1, l2)
        seconds["converged cold"] += time.perf_counter() - begin
        begin = time.perf_counter()
        warm = converged.fit(l1, l2, coef_init=models.nearest(l1, l2))
        seconds["converged warm"] += time.perf_counter() - begin
        models.add(l1, l2, warm.coef)
        stalled += (not fit.converged) + (not warm.converged)
        worst_gap = max(worst_gap, fit.gap, warm.gap)
    base = seconds["sklearn"]
    print(f"fits  {name:>18} {len(points):4d} points: sklearn {base:7.3f} s | converged cold "
          f"{seconds['converged cold']:7.3f} s ({seconds['converged cold'] / base:4.2f}x) | "
          f"converged warm {seconds['converged warm']:7.3f} s "
          f"({seconds['converged warm'] / base:4.2f}x) | stalled {stalled}, largest gap "
          f"{worst_gap:.1e}", flush=True)


def bench_units(name: str, n_units: int, seed: int) -> None:
    splits = load_dataset(name)
    seeds = simulation_seeds(seed, n_units)
    totals = {"sklearn": 0.0, "converged": 0.0}
    fits = {"sklearn": 0, "converged": 0}
    for simulation, unit_seed in enumerate(seeds):
        for solver in ("sklearn", "converged") if simulation % 2 == 0 else ("converged",
                                                                             "sklearn"):
            config = RunConfig(dataset=name, samplers=("tpe",), n_trials=100,
                               n_simulations=n_units, refiners=REFINER_NAMES, solver=solver,
                               n_jobs=1)
            begin = time.perf_counter()
            unit = run_unit(splits, config, "tpe", simulation, unit_seed)
            totals[solver] += time.perf_counter() - begin
            fits[solver] += (int(unit.record["n_trials"]) + int(unit.record["hls_fits"])
                             + sum(int(r["fits"]) for r in unit.refiners))
    ratio = totals["converged"] / totals["sklearn"]
    print(f"units {name:>18} {n_units:4d} tpe units: sklearn {totals['sklearn']:7.2f} s "
          f"({fits['sklearn']} fits) | converged {totals['converged']:7.2f} s "
          f"({fits['converged']} fits) | ratio {ratio:4.2f}x", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["house_price", "diabetes",
                                                          "california_housing", "simulation"])
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--units", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"# converged vs sklearn solver; {machine()}")
    with threadpool_limits(limits=1):
        for name in args.datasets:
            bench_fits(name, args.points, args.seed)
            if args.units:
                bench_units(name, args.units, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
