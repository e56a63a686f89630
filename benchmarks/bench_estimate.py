"""How good is the run-time estimate that warns about long runs (experiment.guards)?

For a few runs small enough to time, prints side by side the estimate that
``experiment.execution.run`` would compute before the first unit and the measured wall
time of the same run (in this process, one worker, no output files). A ratio near 1 is
good; the guards need the order of magnitude (they warn above an hour, refuse above 30
days).

    python benchmarks/bench_estimate.py            # about 3 minutes on 2 cores
    python benchmarks/bench_estimate.py --quick    # about 1 minute
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna

from benchmarks.bench_hls import machine
from datasets.registry import load_dataset
from experiment import guards
from experiment.config import RunConfig
from experiment.execution import run
from experiment.unit import make_problem
from optuna_training.search_space import SEARCH_SPACES

#: (data set, sampler, trials, simulations)
RUNS = [
    ("diabetes", "random", 2000, 2),
    ("diabetes", "qmc", 1000, 2),
    ("diabetes", "tpe", 1000, 2),
    ("diabetes", "grid", 400, 2),
    ("house_price", "tpe", 100, 4),
    ("house_price", "grid", 100, 2),
]
QUICK = [("diabetes", "random", 1000, 2), ("diabetes", "tpe", 400, 2),
         ("diabetes", "grid", 200, 2), ("house_price", "tpe", 100, 2)]


def estimate(config: RunConfig, splits) -> float:
    problem = make_problem(splits, config.effective_solver)
    fit_seconds = guards.seconds_per_fit(problem, SEARCH_SPACES[config.search_space])
    return guards.estimate_seconds(
        samplers=list(config.samplers), n_units_per_sampler={config.samplers[0]:
                                                             config.n_simulations},
        n_trials=config.n_trials, fit_seconds=fit_seconds, line_search=config.line_search,
        hls_steps=config.hls_steps, n_refiners=0, workers=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    print(f"# run-time estimate vs measured; {machine()}")
    print(f"{'dataset':>12} {'sampler':>7} {'trials':>6} {'sims':>4} {'estimate_s':>10} "
          f"{'measured_s':>10} {'ratio':>6}")
    ratios = []
    for dataset, sampler, trials, simulations in QUICK if args.quick else RUNS:
        splits = load_dataset(dataset)
        config = RunConfig(dataset=dataset, samplers=(sampler,), n_trials=trials,
                           n_simulations=simulations, n_jobs=1, seed=0)
        guess = estimate(config, splits)
        begin = time.perf_counter()
        run(config, splits)
        measured = time.perf_counter() - begin
        ratios.append(guess / measured)
        print(f"{dataset:>12} {sampler:>7} {trials:>6} {simulations:>4} {guess:>10.1f} "
              f"{measured:>10.1f} {guess / measured:>6.2f}")
    print(f"estimate / measured: from {min(ratios):.2f} to {max(ratios):.2f}")


if __name__ == "__main__":
    main()
