"""Settings of one run of the protocol, checked once, with errors worded as the flags.

``RunConfig`` is what the command line builds from its flags and what the pipeline
(experiment.execution.run) runs; every check raises ``InputError`` naming the flag to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from experiment.guards import check_counts
from hyper_local_search.hls_step import FORMULATIONS, LINE_SEARCHES
from hyper_local_search.refiners import REFINER_NAMES
from optuna_training.elastic_net import SOLVER_NAMES
from optuna_training.samplers import SAMPLER_NAMES, TPE_VARIANTS
from optuna_training.search_space import SEARCH_SPACES
from utils.errors import InputError

#: Execution backends: joblib's local process pool, or a Dask distributed cluster.
BACKENDS = ("loky", "dask")
#: How long to wait for a Dask scheduler before giving up.
DASK_CONNECT_SECONDS = 10
#: Elastic-net fits every refiner may spend when --budget is not given.
DEFAULT_BUDGET = 50
#: --budget's word for the old rule: every refiner gets as many fits as "hls" spent.
BUDGET_AS_HLS = "hls"
#: Data sets whose train/validation split --resplit may redraw (seeded splits); the
#: paper's three data sets have fixed splits.
FIXED_SPLIT_DATASETS = ("house_price", "california_housing", "simulation")


@dataclass(frozen=True)
class RunConfig:
    """Settings of one run of the protocol.

    Attributes
    ----------
    dataset : str
        A dataset name (datasets.DATASET_NAMES) or a path to a CSV file.
    target : str or None
        Target column of a CSV dataset.
    samplers : tuple of str
        Optuna samplers, each studied ``n_simulations`` times.
    n_trials : int
        Optuna trials per study (the paper's OPTUNA_TRIALS).
    n_simulations : int
        Studies per sampler (the paper's SIMULATIONS).
    seed : int
        Run seed; every simulation's seed derives from it.
    n_jobs : int
        Parallel worker processes; -1 uses every core. Results do not depend on it.
    line_search : {"fast", "paper"}
        The HLS step's line search (hyper_local_search.hls_step); "paper" is the
        authors' search as METHOD.md describes it.
    backend : {"loky", "dask"}
        "loky": worker processes on this machine; "dask": the units go to the Dask
        distributed cluster whose scheduler is at ``scheduler`` (joblib's dask backend).
    scheduler : str or None
        Address of the Dask scheduler (e.g. "tcp://10.0.0.5:8786"); only with "dask".
    search_space : {"paper", "log"}
        The Optuna studies' space: the paper's uniform [1e-10, 1] for l1 and l2, or
        log-uniform [1e-4, 1e4] for each (optuna_training.search_space).
    formulation : {"paper", "exact"}
        The HLS step's LP (hyper_local_search.hls_step.hls_direction).
    log_hyperparameters : bool
        HLS in (log l1, log l2) (exact formulation only).
    hls_steps : int
        Most HLS steps (hyper_local_search.hls_search); the paper takes 1.
    refiners : tuple of str
        Refiners compared at equal budget from each Optuna model
        (hyper_local_search.refiners.REFINER_NAMES); "hls" always runs with them, its
        fits setting the budget.
    budget : int, "hls" or None
        Elastic-net fits each refiner, "hls" included, may spend; None: DEFAULT_BUDGET
        (50); "hls": as many as the "hls" refiner (unbudgeted) spent in that simulation.
    resplit : bool
        Each simulation draws its own train/validation split of a CSV table (or
        diabetes), the test part fixed by ``seed``; default one split for all.
    solver : {"sklearn", "converged"} or None
        How every elastic net is fitted (optuna_training.elastic_net.Solver). None:
        "converged" with refiners or the exact formulation, else "sklearn" (the paper's).
    tpe : {"paper", "current"}
        The TPE sampler: Optuna 3.6.1's ``TPESampler()`` as the paper ran it, or the
        installed Optuna's default (optuna_training.samplers.make_sampler).
    starts : str or None
        A CSV of given Optuna models (experiment.published_starts): no study runs, each
        unit starts from its sampler's next model in the file. None: run the studies.
    """

    dataset: str = "house_price"
    target: str | None = None
    samplers: tuple[str, ...] = SAMPLER_NAMES
    n_trials: int = 100
    n_simulations: int = 50
    seed: int = 0
    n_jobs: int = -1
    line_search: str = "fast"
    backend: str = "loky"
    scheduler: str | None = None
    search_space: str = "paper"
    formulation: str = "paper"
    log_hyperparameters: bool = False
    hls_steps: int = 1
    refiners: tuple[str, ...] = ()
    budget: int | str | None = None
    solver: str | None = None
    tpe: str = "paper"
    starts: str | None = None
    resplit: bool = False

    @property
    def effective_budget(self) -> int | str:
        """Fits per refiner (an int), or BUDGET_AS_HLS for "as many as hls spent"."""
        return DEFAULT_BUDGET if self.budget is None else self.budget

    @property
    def fixed_budget(self) -> int | None:
        """Fits per refiner as a number; None under ``--budget hls`` (the HLS step's fits)."""
        budget = self.effective_budget
        return budget if isinstance(budget, int) else None

    @property
    def effective_solver(self) -> str:
        """The solver the run uses ("sklearn" or "converged"; see ``solver``)."""
        if self.solver is not None:
            return self.solver
        return "converged" if self.refiners or self.formulation == "exact" else "sklearn"

    def __post_init__(self) -> None:
        if not self.samplers:
            raise InputError("no sampler given; choose from " + ", ".join(SAMPLER_NAMES) + ".")
        unknown = [name for name in self.samplers if name not in SAMPLER_NAMES]
        if unknown:
            raise InputError(
                f"unknown sampler {unknown[0]!r}; choose from {', '.join(SAMPLER_NAMES)} "
                "(--samplers)."
            )
        if len(set(self.samplers)) != len(self.samplers):
            raise InputError("a sampler is listed twice in --samplers; list each once.")
        if self.n_trials < 1:
            raise InputError(f"--trials must be at least 1, got {self.n_trials}.")
        if self.n_simulations < 1:
            raise InputError(f"--simulations must be at least 1, got {self.n_simulations}.")
        if self.n_jobs == 0:
            raise InputError("--n-jobs must not be 0; use a positive count or -1 for all cores.")
        if self.n_jobs < -1:
            raise InputError(f"--n-jobs must be a positive count or -1 for all cores, got "
                             f"{self.n_jobs}.")
        if self.line_search not in LINE_SEARCHES:
            raise InputError(
                f"unknown line search {self.line_search!r}; choose from "
                f"{', '.join(LINE_SEARCHES)} (--line-search)."
            )
        if self.search_space not in SEARCH_SPACES:
            raise InputError(
                f"unknown search space {self.search_space!r}; choose from "
                f"{', '.join(SEARCH_SPACES)} (--search-space)."
            )
        if self.formulation not in FORMULATIONS:
            raise InputError(
                f"unknown formulation {self.formulation!r}; choose from "
                f"{', '.join(FORMULATIONS)} (--formulation)."
            )
        if self.log_hyperparameters and self.formulation != "exact":
            raise InputError("--log-hyperparameters needs --formulation exact.")
        if self.hls_steps < 1:
            raise InputError(f"--hls-steps must be at least 1, got {self.hls_steps}.")
        unknown = [name for name in self.refiners if name not in REFINER_NAMES]
        if unknown:
            raise InputError(
                f"unknown refiner {unknown[0]!r}; choose from {', '.join(REFINER_NAMES)} "
                "(--refiners)."
            )
        if len(set(self.refiners)) != len(self.refiners):
            raise InputError("a refiner is listed twice in --refiners; list each once.")
        if isinstance(self.budget, str) and self.budget != BUDGET_AS_HLS:
            raise InputError(f"--budget must be a number of fits or '{BUDGET_AS_HLS}', got "
                             f"{self.budget!r}.")
        if isinstance(self.budget, int) and self.budget < 1:
            raise InputError(f"--budget must be at least 1 fit, got {self.budget}.")
        if self.budget is not None and not self.refiners:
            raise InputError("--budget applies to the refiners; add --refiners.")
        if self.backend not in BACKENDS:
            raise InputError(
                f"unknown backend {self.backend!r}; choose from {', '.join(BACKENDS)} (--backend)."
            )
        if self.backend == "dask" and not self.scheduler:
            raise InputError(
                "--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786), the "
                "address 'dask scheduler' prints."
            )
        if self.backend != "dask" and self.scheduler:
            raise InputError("--scheduler only applies with --backend dask; add --backend dask.")
        if self.seed < 0:
            raise InputError(f"--seed must be a non-negative integer, got {self.seed}.")
        if self.tpe not in TPE_VARIANTS:
            raise InputError(
                f"unknown TPE variant {self.tpe!r}; choose from {', '.join(TPE_VARIANTS)} "
                "(--tpe)."
            )
        if self.starts is not None and not Path(self.starts).is_file():
            raise InputError(
                f"--starts {self.starts}: no such file; give the CSV of Optuna models (e.g. "
                "../shared/reference/paper_house_price_optuna_models_100_trials_50_simulations"
                ".csv)."
            )
        if self.resplit and self.dataset in FIXED_SPLIT_DATASETS:
            raise InputError(
                f"--resplit needs a data set with a seeded split (a CSV table or diabetes); "
                f"{self.dataset} has the paper's fixed split (drop --resplit)."
            )
        if self.solver is not None and self.solver not in SOLVER_NAMES:
            raise InputError(
                f"unknown solver {self.solver!r}; choose from {', '.join(SOLVER_NAMES)} "
                "(--solver)."
            )
        check_counts(n_trials=self.n_trials, n_simulations=self.n_simulations,
                     n_samplers=len(self.samplers), n_refiners=len(set(self.refiners) - {"hls"}),
                     budget=self.fixed_budget)
