"""Command line of the HLS experiment: flags -> RunConfig -> execution.run -> outputs."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from datasets.registry import DATASET_NAMES, load_dataset
from experiment.config import BACKENDS, BUDGET_AS_HLS, DEFAULT_BUDGET, RunConfig
from experiment.console import one_line, one_line_faults
from experiment.execution import run
from experiment.journal import JOURNAL_NAME
from experiment.preflight import check_output_paths
from experiment.reference import run_references
from experiment.report import paper_summary, run_settings, summary_text, write_outputs
from experiment.store import open_store
from experiment.unit import UnitResult
from hyper_local_search.hls_step import FORMULATIONS, LINE_SEARCHES
from hyper_local_search.refiners import REFINER_NAMES
from optuna_training.elastic_net import SOLVER_NAMES
from optuna_training.samplers import SAMPLER_NAMES, TPE_VARIANTS
from optuna_training.search_space import SEARCH_SPACES
from utils.atomic_io import WriteError
from utils.errors import InputError
from utils.progress import Progress

#: Default output directory, relative to the project root (not the working directory).
DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parents[1] / "outputs"
#: How the effective command starts (run from the project root).
SCRIPT = "hyper_local_search/HLS_one_direction_search.py"
#: Flags left out of the effective command: they change neither the results nor where
#: they go.
_NOT_IN_COMMAND = frozenset({"help", "fresh", "no_progress"})


def _budget(text: str) -> int | str:
    """--budget's value: a whole number of fits, or 'hls'."""
    if text == BUDGET_AS_HLS:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of fits or '{BUDGET_AS_HLS}', got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """argparse, with flag errors on one line (and exit status 2) like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser(
    *, trials: int, simulations: int, dataset: str, samplers: Sequence[str], seed: int
) -> argparse.ArgumentParser:
    """The argument parser; the keyword arguments are the script's constants (defaults)."""
    parser = _Parser(
        prog="HLS_one_direction_search.py",
        description="Optuna studies of elastic-net (l1, l2), then one LP-based hyper local "
        "search step from each study's best model (Sinha & Gunwal).",
    )
    parser.add_argument("--trials", type=int, default=trials, help=f"Optuna trials per study "
                        f"(default {trials}).")
    parser.add_argument("--simulations", type=int, default=simulations,
                        help=f"studies per sampler (default {simulations}).")
    parser.add_argument("--dataset", default=dataset,
                        help=f"one of {', '.join(DATASET_NAMES)}, or a path to a CSV file "
                        f"(with --target) (default {dataset}).")
    parser.add_argument("--target", default=None, help="target column of a CSV dataset.")
    parser.add_argument("--samplers", nargs="+", default=list(samplers), metavar="SAMPLER",
                        help=f"any of {', '.join(SAMPLER_NAMES)} (default: "
                        f"{' '.join(samplers)}).")
    parser.add_argument("--seed", type=int, default=seed,
                        help=f"run seed; every simulation's seed derives from it (default {seed}).")
    parser.add_argument("--n-jobs", type=int, default=-1,
                        help="worker processes; -1 (default) uses every core. Results do not "
                        "depend on it.")
    parser.add_argument("--line-search", choices=LINE_SEARCHES, default="fast",
                        help="HLS line search: 'fast' (default: memoised golden section, "
                        "relative tolerance, Gram-matrix fits) or 'paper' (the authors' search, "
                        "for the exact reproduction).")
    parser.add_argument("--search-space", choices=tuple(SEARCH_SPACES), default="paper",
                        help="Optuna's space: 'paper' (default): l1, l2 uniform on [1e-10, 1]; "
                        "'log': each log-uniform on [1e-4, 1e4].")
    parser.add_argument("--formulation", choices=FORMULATIONS, default="paper",
                        help="the HLS LP: 'paper' (default, the authors' matrix) or 'exact' "
                        "(scikit-learn's own optimality conditions, well scaled).")
    parser.add_argument("--log-hyperparameters", action="store_true",
                        help="HLS in (log l1, log l2) (with --formulation exact).")
    parser.add_argument("--hls-steps", type=int, default=1, metavar="K",
                        help="repeat direction + line search up to K times while the "
                        "validation MSE improves by more than 1e-5 relative (default 1).")
    parser.add_argument("--refiners", nargs="+", default=[], metavar="REFINER",
                        help=f"compare refiners at equal budget from each Optuna model: any of "
                        f"{', '.join(REFINER_NAMES)} ('hls' always runs with them).")
    parser.add_argument("--budget", type=_budget, default=None, metavar="FITS",
                        help=f"elastic-net fits per refiner, hls included (default "
                        f"{DEFAULT_BUDGET}); 'hls': as many as the paper's HLS step used in "
                        "that simulation.")
    parser.add_argument("--resplit", action="store_true",
                        help="CSV tables (and diabetes): each simulation draws its own "
                        "train/validation split, the test part fixed by --seed (default: "
                        "one split for every simulation).")
    parser.add_argument("--solver", choices=SOLVER_NAMES, default=None,
                        help="how every elastic net is fitted: 'sklearn' (scikit-learn's "
                        "defaults, tol 1e-4, max_iter 1000: the paper's) or 'converged' "
                        "(relative duality gap <= 1e-9). Default: 'converged' with "
                        "--refiners or --formulation exact, else 'sklearn'.")
    parser.add_argument("--backend", choices=BACKENDS, default="loky",
                        help="'loky' (default): processes on this machine; 'dask': a Dask "
                        "distributed cluster (needs --scheduler; pip install -r "
                        "requirements-dask.txt).")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (--backend dask).")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
                        help="where results_summary/, figures/ and models/ go "
                        "(default: outputs/ in the project).")
    parser.add_argument("--fresh", action="store_true",
                        help="start over: discard the finished units of a run with the same "
                        "settings (by default they are reused and only missing units run).")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress report.")
    parser.add_argument("--tpe", choices=TPE_VARIANTS, default="paper",
                        help="the TPE sampler: 'paper' (default): Optuna 3.6.1's TPESampler() "
                        "as the authors ran it (univariate, no constant liar, 3.6.1's "
                        "defaults); 'current': the installed Optuna's TPESampler().")
    parser.add_argument("--starts", default=None, metavar="FILE",
                        help="replay: no Optuna studies; run HLS (and --refiners) from the "
                        "models in FILE, a CSV laid out like ../shared/reference/"
                        "paper_house_price_optuna_models_100_trials_50_simulations.csv (the "
                        "first --simulations starts of each sampler of --samplers).")
    return parser


def effective_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The command that reruns this run: every flag with its effective value.

    The script's constants (and every other default) are spelled out, so the command
    gives the same run whatever the constants at the top of the script say later;
    --fresh and --no-progress are left out, and --output-dir unless it was given.

    Parameters
    ----------
    parser : ArgumentParser
        ``build_parser``'s.
    args : Namespace
        The parsed flags.
    """
    words = ["python", SCRIPT]
    for action in parser._actions:
        if not action.option_strings or action.dest in _NOT_IN_COMMAND:
            continue
        value = getattr(args, action.dest)
        if action.dest == "output_dir" and value == DEFAULT_OUTPUT_DIR:
            continue
        flag = max(action.option_strings, key=len)
        if isinstance(action, argparse._StoreTrueAction):
            if value:
                words.append(flag)
        elif value is None or (isinstance(value, list) and not value):
            continue
        elif isinstance(value, list):
            words.extend([flag, *map(str, value)])
        else:
            words.extend([flag, str(value)])
    return shlex.join(words)


def _check_output_dir(path: Path) -> None:
    try:
        _check_output_dir_exists(path)
    except OSError as error:  # e.g. a name too long for the file system
        raise InputError(f"--output-dir {path} cannot be used ({error.strerror}); choose "
                         "another directory.") from None


def _check_output_dir_exists(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise InputError(f"--output-dir {path} is a file; give a directory.")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"--output-dir {path} cannot be created: {probe} is a file; choose "
                         "another directory.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"--output-dir {path} cannot be written ({probe} is not writable); "
                         "choose another directory.")


@one_line_faults
def main(
    argv: Sequence[str] | None = None,
    *,
    trials: int = 100,
    simulations: int = 50,
    dataset: str = "house_price",
    samplers: Sequence[str] = SAMPLER_NAMES,
    seed: int = 0,
) -> int:
    """Run the experiment from command-line flags; returns the exit status.

    Bad input (InputError) prints one line to stderr and returns 2, without a traceback.
    """
    parser = build_parser(
        trials=trials, simulations=simulations, dataset=dataset, samplers=samplers, seed=seed
    )
    args = parser.parse_args(argv)
    argv_list = list(sys.argv[1:] if argv is None else argv)
    command = effective_command(parser, args)
    typed = shlex.join(["python", SCRIPT, *argv_list])
    store = None
    try:
        config = RunConfig(
            dataset=args.dataset,
            target=args.target,
            samplers=tuple(args.samplers),
            n_trials=args.trials,
            n_simulations=args.simulations,
            seed=args.seed,
            n_jobs=args.n_jobs,
            line_search=args.line_search,
            backend=args.backend,
            scheduler=args.scheduler,
            search_space=args.search_space,
            formulation=args.formulation,
            log_hyperparameters=args.log_hyperparameters,
            hls_steps=args.hls_steps,
            refiners=tuple(args.refiners),
            budget=args.budget,
            solver=args.solver,
            tpe=args.tpe,
            starts=args.starts,
            resplit=args.resplit,
        )
        _check_output_dir(args.output_dir)
        check_output_paths(config, args.output_dir)
        splits = load_dataset(config.dataset, target=config.target, seed=config.seed)
        what = (f"replaying {config.starts}" if config.starts is not None
                else f"{config.n_trials} trial{'s' * (config.n_trials != 1)}")
        n_samplers, n_simulations = len(config.samplers), config.n_simulations
        print(f"{splits.description}; {n_samplers} sampler{'s' * (n_samplers != 1)} x "
              f"{n_simulations} simulation{'s' * (n_simulations != 1)} x {what}",
              file=sys.stderr)
        store = open_store(config, args.output_dir, fresh=args.fresh)
        n_units = len(config.samplers) * config.n_simulations
        cached = {(sampler, i) for sampler in config.samplers
                  for i in range(config.n_simulations) if store.has(sampler, i)}
        n_done = len(cached)
        if n_done:
            print(f"resuming: {n_done} of {n_units} units already finished in {store.directory} "
                  "(--fresh starts over)", file=sys.stderr)
        start = time.perf_counter()
        with Progress(n_units, label="simulations", enabled=not args.no_progress) as progress:
            reported: set[tuple[str, int]] = set()

            def advance(unit: UnitResult) -> None:
                key = (str(unit.record["sampler"]), int(unit.record["simulation"]))
                from_store = key in cached and key not in reported
                reported.add(key)
                progress.advance(f"{key[0]} #{key[1]}", cached=from_store)

            units = run(config, splits, store=store, on_unit_done=advance)
        wall = time.perf_counter() - start
        settings = run_settings(
            config, command=command, dataset_description=splits.description, wall_seconds=wall
        )
        settings["arguments"] = typed
        settings["run_directory"] = str(store.directory)
        references = run_references(config, splits, store) if config.refiners else None
        paths = write_outputs(units, config, settings, args.output_dir, splits.feature_names,
                              references=references)
    except InputError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except WriteError as error:
        message = one_line(error).rstrip(".") + "."
        if store is not None and "kept in" not in message:
            message += f" The finished units are kept in {store.directory}; run it again."
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = "" if store is None else f": the finished units are kept in {store.directory}"
        print(f"interrupted{kept}; run the same command again to go on from there.",
              file=sys.stderr)
        return 130
    print(summary_text(paper_summary(units, config), config))
    print(f"summary: {paths.summary}", file=sys.stderr)
    print(f"figures: {', '.join(str(p) for p in paths.figures)}", file=sys.stderr)
    print(f"models: {paths.models}", file=sys.stderr)
    print(f"studies: {store.directory / JOURNAL_NAME} (Optuna journal)", file=sys.stderr)
    return 0
