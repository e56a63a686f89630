"""Run the paper's experiment: Optuna studies, then one LP-based HLS step each.

Edit the constants below, or override them with flags (``--help`` lists them).
The Excel summary lands in outputs/results_summary/.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, VSCode too

try:
    from experiment.cli import main
except ModuleNotFoundError as missing:  # not the project's Python (e.g. VSCode's default)
    from experiment.environment import missing_dependency_message

    message = missing_dependency_message(missing)
    if message is None:
        raise
    print(message, file=sys.stderr)  # one line: which interpreter to choose
    sys.exit(2)

OPTUNA_TRIALS = 100
SIMULATIONS = 50
DATASET = "house_price"
SAMPLERS = ("grid", "random", "tpe", "qmc")
SEED = 0

if __name__ == "__main__":
    sys.exit(
        main(
            trials=OPTUNA_TRIALS,
            simulations=SIMULATIONS,
            dataset=DATASET,
            samplers=SAMPLERS,
            seed=SEED,
        )
    )
