"""Run one Optuna study on its own: ``python -m optuna_training --sampler tpe``.

Prints the best (l1, l2) and its losses, and with ``--output model.json`` saves the
study's best model (weights, bias, incumbent history) as JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import optuna

from datasets.registry import DATASET_NAMES, load_dataset
from optuna_training.elastic_net import ElasticNetProblem
from optuna_training.samplers import SAMPLER_NAMES
from optuna_training.study import run_study
from utils.atomic_io import write_json_atomic
from utils.errors import InputError


def main(argv: Sequence[str] | None = None) -> int:
    """Run one study from command-line flags; returns the exit status (2 on bad input)."""
    parser = argparse.ArgumentParser(prog="python -m optuna_training", description=__doc__)
    parser.add_argument("--dataset", default="house_price",
                        help=f"one of {', '.join(DATASET_NAMES)} or a CSV path (with --target).")
    parser.add_argument("--target", default=None)
    parser.add_argument("--sampler", default="tpe", help=f"one of {', '.join(SAMPLER_NAMES)}.")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="JSON file for the best model.")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        if args.sampler not in SAMPLER_NAMES:
            raise InputError(f"unknown sampler {args.sampler!r}; choose from "
                             f"{', '.join(SAMPLER_NAMES)} (--sampler).")
        if args.trials < 1:
            raise InputError(f"--trials must be at least 1, got {args.trials}.")
        s = load_dataset(args.dataset, target=args.target, seed=args.seed)
        problem = ElasticNetProblem(s.X_train, s.y_train, s.X_val, s.y_val)
        result = run_study(problem, test=(s.X_test, s.y_test), sampler=args.sampler,
                           n_trials=args.trials, seed=args.seed)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    best = result.best
    print(f"{args.sampler}: best (l1, l2) = ({result.l1:.6g}, {result.l2:.6g}) after "
          f"{result.n_trials} trials in {result.seconds:.2f} s; MSE train {best.train_mse:.6e}, "
          f"validation {best.val_mse:.6e}, test {best.test_mse:.6e}")
    if args.output is not None:
        write_json_atomic(args.output, {
            "dataset": args.dataset, "sampler": args.sampler, "seed": args.seed,
            "n_trials": result.n_trials, "l1": result.l1, "l2": result.l2,
            "feature_names": list(s.feature_names), "coef": result.fit.coef,
            "intercept": result.fit.intercept, "seconds": result.seconds,
            "incumbents": [asdict(incumbent) for incumbent in result.history],
        })
        print(f"model: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
