"""Why the paper's HLS step behaves differently under the two solvers: sawtooth or slope?

From TPE starts on house_price (Optuna studies of 100 trials, the run's seeds), the paper's
LP direction d at the start model, then the validation MSE along lam(t) = max(lam0 + t d,
1e-10) at the bounding phase's points t = 0, 1e-3, 2e-3, ..., fitted by both solvers
(scikit-learn's tol 1e-4, cold; the converged one), beside the exact slope at t = 0: the
implicit hypergradient of the converged start model dotted with d (what a decrease at
t = 1e-3 would need to be negative). Prints where each solver's bounding phase stops.

    python expes/hls_first_step.py --starts 5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import optuna
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datasets.registry import load_dataset
from experiment.unit import make_problem
from hyper_local_search.hls_step import hls_direction, hyperparameters_along
from hyper_local_search.hypergradient import implicit_hypergradient
from optuna_training.study import run_study
from utils.seeding import simulation_seeds

STEPS = [0.0] + [1e-3 * 2.0**i for i in range(18)]


def bounding_stop(losses: list[float]) -> float:
    """The t at which the paper's bounding phase stops (first non-decrease)."""
    for i in range(1, len(losses)):
        if not losses[i] < losses[i - 1]:
            return STEPS[i]
    return STEPS[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    splits = load_dataset("house_price")
    problems = {name: make_problem(splits, name) for name in ("sklearn", "converged")}
    with threadpool_limits(limits=1):
        for simulation, seed in enumerate(simulation_seeds(args.seed, args.starts)):
            for solver, problem in problems.items():
                study = run_study(problem, sampler="tpe", n_trials=100, seed=seed)
                lam0 = np.array([study.l1, study.l2])
                direction = hls_direction(problem, study.l1, study.l2, study.fit)
                d = direction.d_lam
                slope = float(implicit_hypergradient(
                    problems["converged"], problems["converged"].fit(study.l1, study.l2),
                    study.l1, study.l2) @ d)
                print(f"simulation {simulation}, {solver} protocol: start ({study.l1:.4f}, "
                      f"{study.l2:.4f}), d = ({d[0]:+.6f}, {d[1]:+.2e}); exact slope "
                      f"dF/dt(0) = {slope:+.4e} (relative {slope / problem.val_mse(study.fit):+.2e}"
                      " per unit t)")
                curves = {}
                for name, fitter in problems.items():
                    losses = []
                    for t in STEPS:
                        l1, l2 = hyperparameters_along(lam0, d, t)
                        fit = study.fit if (t == 0.0 and name == solver) else fitter.fit(
                            float(l1), float(l2))
                        losses.append(fitter.val_mse(fit))
                    curves[name] = losses
                print("      t   " + "".join(f"{name:>26}" for name in curves))
                for k, t in enumerate(STEPS[:8]):
                    cells = "".join(
                        f"{curves[n][k]:>16.6e} ({(curves[n][k] / curves[n][0] - 1):+.1e})"
                        for n in curves)
                    print(f"  {t:8.3g} {cells}")
                print("  bounding phase stops at t = " + ", ".join(
                    f"{bounding_stop(curves[n]):g} ({n})" for n in curves)
                    + f"; loss at t = {STEPS[-3]:g}: " + ", ".join(
                    f"{curves[n][-3]:.4e} ({n})" for n in curves), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
