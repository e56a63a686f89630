"""The reference optimum of a run's split(s), computed once and kept in the run directory.

Without ``--resplit`` every simulation shares one split and one reference; with it each
simulation has its own split (``experiment.unit.unit_splits``) and so its own reference.
Each is ``hyper_local_search.reference_optimum.reference_optimum`` on the split's training
and validation parts, plus the test MSE of its model, cached as JSON
(``reference.json``, or ``reference_{simulation}.json``) so that a resumed or repeated run
does not compute it again.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from datasets.splits import Splits
from experiment.config import RunConfig
from experiment.unit import make_problem, unit_splits, units_of
from hyper_local_search.reference_optimum import ReferenceOptimum, reference_optimum
from optuna_training.elastic_net import mse
from utils.run_store import RunStore


@dataclass(frozen=True)
class Reference:
    """A split's reference optimum and the test MSE of its model.

    Attributes
    ----------
    optimum : ReferenceOptimum
    test_mse : float
        Test MSE of ``optimum.fit`` (squared target units).
    """

    optimum: ReferenceOptimum
    test_mse: float

    @property
    def val_mse(self) -> float:
        return self.optimum.val_mse


def compute_reference(splits: Splits) -> Reference:
    """The reference optimum of ``splits`` (BLAS on one thread), with its test MSE.

    Parameters
    ----------
    splits : Splits
    """
    with threadpool_limits(limits=1):
        optimum = reference_optimum(make_problem(splits, "converged"))
    return Reference(optimum, mse(splits.X_test, splits.y_test, optimum.fit.coef,
                                  optimum.fit.intercept))


def _name(simulation: int | None) -> str:
    return "reference" if simulation is None else f"reference_{simulation}"


def _from_document(data: dict) -> Reference:
    return Reference(ReferenceOptimum.from_json(data["optimum"]), float(data["test_mse"]))


def _load(store: RunStore, simulation: int | None) -> Reference | None:
    """The cached reference, or None (missing, or damaged: set aside and recomputed)."""
    return store.load_document(_name(simulation), check=_from_document)


def run_references(config: RunConfig, splits: Splits,
                   store: RunStore) -> dict[int | None, Reference]:
    """The reference of every split the run used, from the cache or computed.

    Parameters
    ----------
    config : RunConfig
    splits : Splits
        The run's data set (before any --resplit).
    store : RunStore
        Its run directory holds the cache.

    Returns
    -------
    dict
        ``{None: reference}`` without --resplit; ``{simulation: reference}`` with it.
    """
    if not config.resplit:
        wanted = {None: splits}
    else:
        seeds = {simulation: seed for _, simulation, seed in units_of(config)}
        wanted = {simulation: unit_splits(splits, config, seed)
                  for simulation, seed in sorted(seeds.items())}
    found = {key: _load(store, key) for key in wanted}
    missing = [key for key, value in found.items() if value is None]
    if missing:
        print(f"computing the reference optimum of {len(missing)} split(s) ...",
              file=sys.stderr)
        n_jobs = 1 if len(missing) == 1 or config.backend != "loky" else config.n_jobs
        computed = Parallel(n_jobs=n_jobs)(delayed(compute_reference)(wanted[key])
                                           for key in missing)
        for key, reference in zip(missing, computed, strict=True):
            store.save_document(_name(key), {"optimum": reference.optimum.to_json(),
                                             "test_mse": reference.test_mse})
            found[key] = reference
    return found


def reference_settings(references: dict[int | None, Reference]) -> dict[str, str]:
    """The settings sheet's reference rows.

    ``reference_l1``, ``reference_l2``, ``reference_val_mse``, ``reference_test_mse`` and
    a one-line description; with --resplit (one reference per simulation) the first
    simulation's, and the rows say so.

    Parameters
    ----------
    references : dict
        ``run_references``'s result.
    """
    key = min(references, key=lambda k: -1 if k is None else k)
    reference = references[key]
    optimum = reference.optimum
    note = "" if key is None else (
        f" (simulation {key}'s split; --resplit gives each simulation its own reference, "
        "see reference_val_mse in the refiners sheet)")
    return {
        "reference_l1": f"{optimum.l1:.10g}{note}",
        "reference_l2": f"{optimum.l2:.10g}",
        "reference_val_mse": f"{optimum.val_mse:.10g}",
        "reference_test_mse": f"{reference.test_mse:.10g}",
        "reference_optimum": optimum.description,
        "reference_splits": str(len(references)),
    }
