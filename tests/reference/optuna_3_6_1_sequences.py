"""Trial sequences of Optuna 3.6.1's samplers at their defaults, as the authors ran them.

Writes ``optuna_3_6_1_sequences.json`` beside this file, the reference of
``tests/optuna_training_tests/test_samplers_optuna_3_6_1.py``. Run it with Optuna 3.6.1,
outside the project's environment (it imports only optuna, numpy and, for QMC, scipy):

    python3 -m venv /tmp/venv361
    /tmp/venv361/bin/pip install optuna==3.6.1 "numpy<2" "scipy<1.14"
    /tmp/venv361/bin/python tests/reference/optuna_3_6_1_sequences.py

Each study suggests ``l1`` then ``l2`` as optuna_training.study.ElasticNetStudy does and
minimises `objective`, a pure-Python stand-in for the house-price validation loss (a
valley along l2 ~ 0.038, gently sloped in l1): the samplers only see (params, value)
pairs, and pure-Python floats are the same under every numpy, so both Optuna releases
see the same values for the same params.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

#: Where the reference goes.
OUTPUT = Path(__file__).with_suffix(".json")
#: Trials per study and the seeds of the studies.
N_TRIALS = 100
SEEDS = (0, 1, 2)
#: The search spaces: name -> (low, high, log), as optuna_training.search_space.
SPACES = {"paper": (1e-10, 1.0, False), "log": (1e-4, 1e4, True)}
#: Which (sampler, space) pairs are recorded.
CASES = (("random", "paper"), ("tpe", "paper"), ("tpe", "log"), ("qmc", "paper"),
         ("grid", "paper"))
#: The grid sampler's values per axis for N_TRIALS trials: ceil(sqrt(100)) = 10.
GRID_POINTS = 10


def objective(l1: float, l2: float) -> float:
    """A smooth valley in (l1, l2) with its floor near l2 = 0.038 (pure Python floats)."""
    return (
        8.44
        + 40.0 * (math.log10(l2 + 1e-3) - math.log10(0.039)) ** 2
        + 0.05 * (math.log10(l1 + 1e-3) - 0.3) ** 2
        + 0.01 * math.sin(5.0 * l1 + 3.0 * l2)
    )


def grid_axis(low: float, high: float) -> list[float]:
    """GRID_POINTS evenly spaced values, as numpy.linspace(low, high, GRID_POINTS)."""
    import numpy as np

    return [float(value) for value in np.linspace(low, high, GRID_POINTS)]


def authors_sampler(name: str, seed: int, low: float, high: float):
    """The authors' samplers: each at its defaults (their seed was None; ours is given)."""
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed)
    if name == "grid":
        axis = grid_axis(low, high)
        return optuna.samplers.GridSampler({"l1": axis, "l2": axis}, seed=seed)
    raise ValueError(name)


def sequence(sampler, low: float, high: float, log: bool) -> list[list[float]]:
    """(l1, l2) of every trial of a study of `objective` driven by `sampler`."""
    import optuna

    def trial_objective(trial) -> float:
        l1 = trial.suggest_float("l1", low, high, log=log)
        l2 = trial.suggest_float("l2", low, high, log=log)
        return objective(l1, l2)

    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(trial_objective, n_trials=N_TRIALS)
    return [[t.params["l1"], t.params["l2"]] for t in study.trials]


def main() -> int:
    import warnings

    import numpy
    import optuna

    if optuna.__version__ != "3.6.1":
        print(f"error: needs optuna 3.6.1, this is {optuna.__version__} "
              f"({sys.executable}); see this file's docstring.", file=sys.stderr)
        return 2
    import scipy

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    sequences = {}
    for name, space in CASES:
        low, high, log = SPACES[space]
        for seed in SEEDS:
            sampler = authors_sampler(name, seed, low, high)
            sequences[f"{name}/{space}/{seed}"] = sequence(sampler, low, high, log)
    payload = {
        "made_by": "tests/reference/optuna_3_6_1_sequences.py",
        "versions": {"python": sys.version.split()[0], "optuna": optuna.__version__,
                     "numpy": numpy.__version__, "scipy": scipy.__version__},
        "n_trials": N_TRIALS,
        "spaces": {name: list(bounds) for name, bounds in SPACES.items()},
        "sequences": sequences,
    }
    OUTPUT.write_text(json.dumps(payload, indent=None) + "\n")
    print(f"wrote {OUTPUT}: {len(sequences)} studies of {N_TRIALS} trials")
    return 0


if __name__ == "__main__":
    sys.exit(main())
