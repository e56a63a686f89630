"""The install's "done when" checks, run by .ci/install_check with the installed
environment's Python from a directory outside the clone (see that script).

Usage: python install_check.py library CLONE   (right after `pip install CLONE`)
       python install_check.py journal RUN_DIR  (after a pipeline run from the clone)
       python install_check.py editable CLONE   (after `pip install -e CLONE`)
Prints one line per check; exits non-zero at the first that fails.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path


def check(label: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {label}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        sys.exit(1)


def generic_names_absent() -> None:
    for name in ("datasets", "utils", "experiment"):
        check(f"no top-level {name!r} importable", importlib.util.find_spec(name) is None)


def library(clone: Path) -> None:
    import numpy as np
    import optuna
    from sklearn.datasets import load_diabetes
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet, ElasticNetCV
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.estimator_checks import check_estimator

    import hyper_local_search
    from hyper_local_search import ElasticNetHLS, hls_refine

    where = Path(hyper_local_search.__file__).resolve()
    check("from hyper_local_search import ElasticNetHLS, hls_refine", True, str(where))
    check("imported from the install, not the clone", clone.resolve() not in where.parents)
    check("the user's script is not installed",
          importlib.util.find_spec("hyper_local_search.HLS_one_direction_search") is None)
    generic_names_absent()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(ElasticNetHLS(n_trials=5, random_state=0))
    check("check_estimator(ElasticNetHLS(n_trials=5, random_state=0))", True)

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    ours = make_pipeline(StandardScaler(), ElasticNetHLS(random_state=0)).fit(X_train, y_train)
    reference = make_pipeline(StandardScaler(), ElasticNetCV()).fit(X_train, y_train)
    r2, r2_cv = ours.score(X_test, y_test), reference.score(X_test, y_test)
    check("Pipeline on diabetes: test R^2 within 0.05 of ElasticNetCV's", r2 >= r2_cv - 0.05,
          f"ElasticNetHLS {r2:.4f}, ElasticNetCV {r2_cv:.4f}")

    X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.25,
                                                  random_state=0)

    def objective(trial):
        alpha = trial.suggest_float("alpha", 1e-4, 10.0, log=True)
        l1_ratio = trial.suggest_float("l1_ratio", 0.0, 1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio).fit(X_fit, y_fit)
        return float(np.mean((model.predict(X_val) - y_val) ** 2))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=15)
    best = study.best_value
    trial = hls_refine(study, X_fit, y_fit, X_val, y_val)
    check("hls_refine on a 15-trial random study adds exactly one trial",
          len(study.trials) == 16 and study.trials[-1].number == trial.number)
    check("... no worse than the study's best", trial.value <= best,
          f"best {best:.6g}, HLS trial {trial.value:.6g}")


def journal(run_directory: Path) -> None:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    paths = sorted(run_directory.glob("runs/*/studies.journal"))
    check("the pipeline run left a journal file", len(paths) == 1, ", ".join(map(str, paths)))
    storage = JournalStorage(JournalFileBackend(str(paths[0])))
    summaries = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summaries[0].study_name, storage=storage)
    check("optuna opens it", len(summaries) > 0 and len(study.trials) > 1,
          f"{len(summaries)} studies; {study.study_name}: {len(study.trials)} trials, last "
          f"one {study.trials[-1].user_attrs.get('hls_source')!r}")


def editable(clone: Path) -> None:
    import hyper_local_search
    from hyper_local_search import ElasticNetHLS, hls_refine  # noqa: F401

    where = Path(hyper_local_search.__file__).resolve()
    check("editable: hyper_local_search imported from the clone", clone.resolve() in
          where.parents, str(where))
    generic_names_absent()


if __name__ == "__main__":
    mode, path = sys.argv[1], Path(sys.argv[2])
    {"library": library, "journal": journal, "editable": editable}[mode](path)
