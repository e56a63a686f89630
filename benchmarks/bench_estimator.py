"""ElasticNetHLS against what users pick today: ElasticNetCV, and Optuna alone at equal fits.

On every built-in data set (the training and validation parts together are the data a
user fits on; the test part is held out), for each seed: every method fits on the same
rows and is scored on the same test rows. Prints one row per (data set, method): the
test MSE (mean and 95% CI over the seeds, 1.96 * s / sqrt(n)), the fits and the seconds
per fit call (the whole ``fit``, in this one process, one BLAS thread), and the test
MSE relative to ElasticNetCV's.

Methods:

- ``encv``: ``ElasticNetCV()``: l1_ratio 0.5, 100 alphas on [1e-3, 1] x alpha_max, 5
  folds (shuffled by the seed); fits = 5 x 100 path points + 1 refit.
- ``encv-ratios``: ``ElasticNetCV(l1_ratio=[.1, .5, .7, .9, .95, .99, 1])``, the list
  scikit-learn's documentation suggests; fits = 7 x 5 x 100 + 1.
- ``hls``: ``ElasticNetHLS(random_state=seed)`` with its defaults (50 TPE trials in the
  "auto" box on a 20% validation part, one HLS step, refit on all rows), plus the
  variants given with ``--variants``.
- ``optuna``: ``ElasticNetHLS(hls_steps=0, n_trials=F - 1, random_state=seed)`` with F the
  fits ``hls`` spent with that seed: Optuna alone at the same number of fits.

    python benchmarks/bench_estimator.py --seeds 10
    python benchmarks/bench_estimator.py --datasets diabetes --seeds 3 --variants sklearn
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from datasets.registry import DATASET_NAMES, load_dataset
from hyper_local_search import ElasticNetHLS
from utils.statistics import mean_ci95

#: ElasticNetCV's l1_ratio list from scikit-learn's documentation.
L1_RATIOS = (0.1, 0.5, 0.7, 0.9, 0.95, 0.99, 1.0)
#: ElasticNetHLS variants that --variants can add (keyword arguments).
VARIANTS = {
    "sklearn": {"solver": "sklearn"},
    "exact": {"formulation": "exact", "log_hyperparameters": True, "solver": "converged",
              "hls_steps": 5},
    "cv5": {"cv": 5},
    "refit-train": {"refit": "train"},
}


def machine() -> str:
    model = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}"


def _timed(model, X, y):
    begin = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, time.perf_counter() - begin


def _encv_fits(model, n_folds: int) -> int:
    n_ratios = np.atleast_1d(model.l1_ratio).size
    return n_ratios * n_folds * model.alphas_.shape[-1] + 1


def run_dataset(name: str, seeds: list[int], variants: list[str]) -> dict[str, dict]:
    splits = load_dataset(name, seed=0)
    X = np.vstack([splits.X_train, splits.X_val])
    y = np.concatenate([splits.y_train, splits.y_val])
    X_test, y_test = splits.X_test, splits.y_test
    rows: dict[str, dict[str, list[float]]] = {}

    def add(method: str, model, seconds: float, fits: int) -> None:
        mse = float(np.mean((model.predict(X_test) - y_test) ** 2))
        row = rows.setdefault(method, {"mse": [], "fits": [], "seconds": []})
        row["mse"].append(mse)
        row["fits"].append(fits)
        row["seconds"].append(seconds)

    for seed in seeds:
        folds = KFold(5, shuffle=True, random_state=seed)
        model, seconds = _timed(ElasticNetCV(cv=folds), X, y)
        add("encv", model, seconds, _encv_fits(model, 5))
        model, seconds = _timed(ElasticNetCV(l1_ratio=list(L1_RATIOS), cv=folds), X, y)
        add("encv-ratios", model, seconds, _encv_fits(model, 5))
        model, seconds = _timed(ElasticNetHLS(random_state=seed), X, y)
        add("hls", model, seconds, model.n_fits_)
        n_fits = model.n_fits_
        model, seconds = _timed(ElasticNetHLS(hls_steps=0, n_trials=n_fits - 1,
                                              random_state=seed), X, y)
        add("optuna", model, seconds, model.n_fits_)
        for variant in variants:
            model, seconds = _timed(ElasticNetHLS(random_state=seed, **VARIANTS[variant]), X, y)
            add(f"hls-{variant}", model, seconds, model.n_fits_)
    return {"description": splits.description, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASET_NAMES),
                        choices=DATASET_NAMES)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1 (default 10)")
    parser.add_argument("--variants", nargs="*", default=[], choices=sorted(VARIANTS))
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds))
    print(f"# ElasticNetHLS vs ElasticNetCV; {machine()}; {args.seeds} seeds")
    print("dataset             method           test_mse      (95% CI)   vs_encv   fits  "
          "seconds")
    with threadpool_limits(limits=1):
        for name in args.datasets:
            result = run_dataset(name, seeds, args.variants)
            print(f"# {result['description']}")
            rows = result["rows"]
            reference = mean_ci95(rows["encv"]["mse"])[0]
            for method, row in rows.items():
                mean, ci = mean_ci95(row["mse"])
                print(f"{name:19s} {method:15s} {mean:11.5g} (±{ci:9.3g})  "
                      f"{mean / reference:7.4f}  {np.mean(row['fits']):5.0f}  "
                      f"{np.mean(row['seconds']):7.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
