"""The elastic-net fits of the protocol: their cost by path, warm vs cold, the two solvers.

On the paper's house-price split (datasets.load_dataset("house_price"), the authors'
preprocessing), one process, BLAS on one thread (as in the protocol's units):

A. **One fit, four ways**, at points typical of a study, of an HLS step and of the grid
   sampler's corners: scikit-learn's ``ElasticNet.fit`` (``fit_elastic_net``, the
   authors' call), ``sklearn.linear_model.enet_path`` with the precomputed Gram matrix
   (the route the project took before its thin call), ``ElasticNetProblem.fit`` with the
   "sklearn" solver (one kernel call on the Gram matrix built once), and the bare
   kernel call (``_cd_fast.enet_coordinate_descent_gram``) with nothing around it.
   Median ms per fit, and how far each answer is from ``ElasticNet.fit``'s.
B. **Warm vs cold, per solver and setting**: the same fits started from zero and from
   the fit the caller would have at hand (a study: the previous trial's, or the nearest
   trial's in (log l1, log l2) as ElasticNetStudy starts from; an HLS line
   search: the nearest step evaluated so far), on the trial sequences of a random and a
   TPE study and on the fast line search from the study's best model. Reported: the
   largest change of the validation MSE a warm start makes, against the solver's
   accuracy in that loss (scikit-learn's tol = 1e-4: the 1e-5 sawtooth of METHOD.md;
   the converged solver's relative gap 1e-9: 1e-8, hls_search's threshold), the time
   saved, and, for the line search, where a warm-started search ends.
C. **Converged vs sklearn solver** on study-like point sets (each sampler's 100 trials,
   converged fits warm-started from the nearest trial as ElasticNetStudy does) and
   HLS-like ones (the fast line search's points from each study's best model,
   warm-started from the nearest step as hls_step does): CPU of each, the ratio.

    python benchmarks/bench_fits.py [--repeats 5] [--only A|B|C]

Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # repository root first

import numpy as np
import optuna
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import _cd_fast, enet_path
from threadpoolctl import threadpool_limits

from datasets.registry import load_dataset
from hyper_local_search.hls_step import hls_step, hyperparameters_along
from hyper_local_search.line_search import fast_line_search
from optuna_training.elastic_net import ElasticNetProblem, fit_elastic_net, mse
from optuna_training.samplers import SAMPLER_NAMES
from optuna_training.study import ElasticNetStudy
from optuna_training.warm_start import NearestModels
from utils.seeding import simulation_seeds

#: (l1, l2): a TPE/QMC optimum, the paper's HLS start, a point of the HLS line, the
#: HLS end on the floor, a large-l2 study point, and the grid's corners (l2 = 1e-10:
#: scikit-learn stops at max_iter; (1e-10, 0.111): tiny l1, where scikit-learn's gap
#: cannot certify convergence and it runs to max_iter; near-OLS (1e-10, 1e-10)).
FIT_POINTS = [(0.2656, 0.0469), (0.47, 0.04), (30.0, 0.02), (101.0, 1e-10), (0.9, 0.5),
              (1.0, 1e-10), (1e-10, 1 / 9), (1e-10, 1e-10)]
#: The solvers' accuracy in the validation MSE (relative): scikit-learn's sawtooth at
#: tol = 1e-4 (METHOD.md), the converged solver's (hyper_local_search.hls_search).
ACCURACY = {"sklearn": 1e-5, "converged": 1e-8}


def machine() -> str:
    model = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return (f"{model}, {os.cpu_count()} logical cores, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}; load average {load}")


def median_ms(repeats: int, call: Callable[..., object], *args: object) -> float:
    call(*args)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call(*args)
        times.append(time.process_time() - start)
    return 1e3 * float(np.median(times))


class _UnusedRng:
    @staticmethod
    def randint(low: int, high: int) -> int:
        return 0


# ----------------------------------------------------------------------------- A
def bench_paths(splits, repeats: int) -> None:
    X, y = splits.X_train, splits.y_train
    problem = ElasticNetProblem(X, y, splits.X_val, splits.y_val)
    design, n = problem._design, problem.n_samples
    X_c = np.asfortranarray(design.X)
    print(f"A. one fit, four ways (median CPU ms of {repeats}; differences relative to "
          "ElasticNet.fit: max |coef| difference / max |coef|, validation MSE)")
    exact = problem.with_solver("converged")
    print(f"{'(l1, l2)':>18} {'n_iter':>6} {'ElasticNet':>10} {'enet_path':>9} "
          f"{'problem':>8} {'bare':>7} {'ratio':>6} {'path dcoef':>10} {'problem dcoef':>13} "
          f"{'problem dval':>12} {'exact dval':>10} {'exact ms':>8}")

    def bare(l1, l2):
        alpha = l1 + l2
        w = np.zeros(problem.n_features)
        _cd_fast.enet_coordinate_descent_gram(
            w, l1 / alpha * alpha * n, alpha * (1 - l1 / alpha) * n, design.gram, design.Xy,
            design.y, 1000, 1e-4, _UnusedRng, False, False)
        return w

    def path(l1, l2):
        alpha = l1 + l2
        _, coefs, _ = enet_path(X_c, design.y, l1_ratio=l1 / alpha, alphas=[alpha],
                                precompute=design.gram, Xy=design.Xy, check_input=False,
                                max_iter=1000, tol=1e-4)
        return coefs[:, 0]

    for l1, l2 in FIT_POINTS:
        reference = fit_elastic_net(X, y, l1, l2)
        fit = problem.fit(l1, l2)
        scale = np.abs(reference.coef).max()
        d_path = np.abs(path(l1, l2) - reference.coef).max() / scale
        d_fit = np.abs(fit.coef - reference.coef).max() / scale
        val_ref = mse(splits.X_val, splits.y_val, reference.coef, reference.intercept)
        d_val = (problem.val_mse(fit) - val_ref) / val_ref
        t_ref = median_ms(repeats, fit_elastic_net, X, y, l1, l2)
        t_path = median_ms(repeats, path, l1, l2)
        t_fit = median_ms(repeats, problem.fit, l1, l2)
        t_bare = median_ms(repeats, bare, l1, l2)
        d_exact = (exact.val_mse(exact.fit(l1, l2)) - val_ref) / val_ref
        t_exact = median_ms(repeats, exact.fit, l1, l2)
        print(f"{f'({l1:g}, {l2:.3g})':>18} {reference.n_iter:6d} {t_ref:10.2f} {t_path:9.2f} "
              f"{t_fit:8.2f} {t_bare:7.2f} {t_ref / t_fit:6.1f} {d_path:10.1e} {d_fit:13.1e} "
              f"{d_val:+12.1e} {d_exact:+10.1e} {t_exact:8.2f}")
    print("  ratio = ElasticNet.fit / problem.fit; problem = ElasticNetProblem.fit, solver "
          "sklearn; bare = the kernel call alone; exact = the converged solver (the minimiser):"
          " where its validation MSE differs from scikit-learn's by more than 1e-9, an exact "
          "solve would change scikit-learn's answer, so the sklearn solver keeps its bounded "
          "coordinate descent (max_iter)")


# ----------------------------------------------------------------------------- B/C data
def study_points(problem, sampler: str, seed: int, n_trials: int):
    study = ElasticNetStudy(problem, sampler=sampler, n_trials=n_trials, seed=seed)
    study.optimize(n_trials)
    return study.points(), study.result(0.0)


def line_points(problem, result):
    step = hls_step(problem, result.l1, result.l2, result.fit, line_search="fast")
    lam0 = np.array([result.l1, result.l2])
    return lam0, step.direction.d_lam, [float(t) for t in step.line_search.steps if t != 0.0]


def fit_chain(problem, points, start: str):
    """Fit ``points`` in order, each "cold", from the "previous" fit or from the "nearest"
    one in (log l1, log l2) (``NearestModels``, as ElasticNetStudy does)."""
    fits, models = [], NearestModels()
    for l1, l2 in points:
        coef_init = None
        if start == "previous" and fits:
            coef_init = fits[-1].coef
        elif start == "nearest":
            coef_init = models.nearest(l1, l2)
        fits.append(problem.fit(l1, l2, coef_init=coef_init))
        if start == "nearest":
            models.add(l1, l2, fits[-1].coef)
    return fits


def fit_line(problem, lam0, d_lam, steps, start, warm: bool):
    done, fits = {0.0: start}, []
    for t in steps:
        lam = hyperparameters_along(lam0, d_lam, t)
        near = done[min(done, key=lambda s: abs(s - t))]
        fit = problem.fit(float(lam[0]), float(lam[1]), coef_init=near.coef if warm else None)
        done[t] = fit
        fits.append(fit)
    return fits


def cpu(call, *args):
    start = time.process_time()
    result = call(*args)
    return time.process_time() - start, result


# ----------------------------------------------------------------------------- B
def bench_warm(splits, n_trials: int, seed: int) -> None:
    base = ElasticNetProblem(splits.X_train, splits.y_train, splits.X_val, splits.y_val)
    print(f"\nB. warm vs cold: the largest |validation MSE change| a warm start makes, "
          f"relative, against the solver's accuracy in that loss ({ACCURACY})")
    print(f"{'setting':>26} {'solver':>9} {'fits':>5} {'max dval':>9} {'median':>9} "
          f"{'> accuracy':>10} {'cold ms':>8} {'warm ms':>8} {'verdict':>22}")
    for solver in ("sklearn", "converged"):
        problem = base.with_solver(solver)
        for sampler in ("random", "tpe"):
            points, result = study_points(base, sampler, seed, n_trials)
            t_cold, cold = cpu(fit_chain, problem, points, "cold")
            for start in ("previous", "nearest"):
                t_warm, warm = cpu(fit_chain, problem, points, start)
                report(f"{sampler} study, {start} trial", solver, problem, cold, warm,
                       t_cold, t_warm)
            lam0, d_lam, steps = line_points(base, result)
            start = problem.fit(result.l1, result.l2)
            t_cold, cold = cpu(fit_line, problem, lam0, d_lam, steps, start, False)
            t_warm, warm = cpu(fit_line, problem, lam0, d_lam, steps, start, True)
            report(f"{sampler} HLS line, nearest t", solver, problem, cold, warm, t_cold,
                   t_warm)
            ends = {}
            for mode in ("cold", "warm"):
                ends[mode] = warm_line_search(problem, lam0, d_lam, start, mode == "warm")
            print(f"{'':>26} {'':>9} line search from the {sampler} start: cold ends at "
                  f"t = {ends['cold'][0]:.4g} (val {ends['cold'][1]:.6e}, {ends['cold'][2]} "
                  f"fits), warm at t = {ends['warm'][0]:.4g} (val {ends['warm'][1]:.6e}, "
                  f"{ends['warm'][2]} fits)")


def warm_line_search(problem, lam0, d_lam, start, warm: bool):
    done = {0.0: start}

    def loss(t: float) -> float:
        if t == 0.0:
            return problem.val_mse(start)
        lam = hyperparameters_along(lam0, d_lam, t)
        near = done[min(done, key=lambda s: abs(s - t))]
        done[t] = problem.fit(float(lam[0]), float(lam[1]),
                              coef_init=near.coef if warm else None)
        return problem.val_mse(done[t])

    search = fast_line_search(loss)
    return search.t, search.loss, len(done) - 1


def report(setting, solver, problem, cold, warm, t_cold, t_warm):
    rel = np.array([abs(problem.val_mse(w) - problem.val_mse(c)) / problem.val_mse(c)
                    for c, w in zip(cold, warm, strict=True)])
    over = int((rel > ACCURACY[solver]).sum())
    verdict = "same model" if over == 0 else f"differs at {over} fits"
    print(f"{setting:>26} {solver:>9} {len(rel):5d} {rel.max():9.1e} {np.median(rel):9.1e} "
          f"{over:10d} {1e3 * t_cold:8.1f} {1e3 * t_warm:8.1f} {verdict:>22}")


# ----------------------------------------------------------------------------- C
def bench_solvers(splits, n_trials: int, seed: int) -> None:
    sk = ElasticNetProblem(splits.X_train, splits.y_train, splits.X_val, splits.y_val)
    cv = sk.with_solver("converged")
    print("\nC. converged (warm-started as in the project) vs sklearn (cold) solver, CPU ms "
          "per point set")
    print(f"{'point set':>18} {'fits':>5} {'sklearn':>8} {'converged':>9} {'ratio':>6} "
          f"{'stalled':>7} {'max fit ratio':>13}")
    totals = np.zeros(2)
    for sampler in SAMPLER_NAMES:
        points, result = study_points(sk, sampler, seed, n_trials)
        t_sk, _ = cpu(fit_chain, sk, points, "cold")
        t_cv, fits = cpu(fit_chain, cv, points, "nearest")
        totals += (t_sk, t_cv)
        print(f"{sampler + ' study':>18} {len(points):5d} {1e3 * t_sk:8.1f} {1e3 * t_cv:9.1f} "
              f"{t_cv / t_sk:6.2f} {sum(not f.converged for f in fits):7d} "
              f"{worst_point(sk, cv, points):>13}")
        lam0, d_lam, steps = line_points(sk, result)
        start_sk, start_cv = sk.fit(result.l1, result.l2), cv.fit(result.l1, result.l2)
        t_sk, _ = cpu(fit_line, sk, lam0, d_lam, steps, start_sk, False)
        t_cv, fits = cpu(fit_line, cv, lam0, d_lam, steps, start_cv, True)
        totals += (t_sk, t_cv)
        print(f"{sampler + ' HLS line':>18} {len(steps):5d} {1e3 * t_sk:8.1f} "
              f"{1e3 * t_cv:9.1f} {t_cv / t_sk:6.2f} {sum(not f.converged for f in fits):7d}")
    print(f"{'all sets':>18} {'':5} {1e3 * totals[0]:8.1f} {1e3 * totals[1]:9.1f} "
          f"{totals[1] / totals[0]:6.2f}")


def worst_point(sk, cv, points) -> str:
    """The point where the converged fit costs most relative to the sklearn one (cold)."""
    worst, label = 0.0, ""
    for l1, l2 in points:
        t_sk, _ = cpu(sk.fit, l1, l2)
        t_cv, _ = cpu(cv.fit, l1, l2)
        if t_cv - t_sk > worst:
            worst, label = t_cv - t_sk, f"({l1:.2g}, {l2:.2g})"
    return label


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="run seed (first simulation's)")
    parser.add_argument("--only", choices=("A", "B", "C"))
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    splits = load_dataset("house_price")
    seed = simulation_seeds(args.seed, 1)[0]
    print(f"# elastic-net fits: {splits.description}; {machine()}")
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if args.only in (None, "A"):
            bench_paths(splits, args.repeats)
        if args.only in (None, "B"):
            bench_warm(splits, args.trials, seed)
        if args.only in (None, "C"):
            bench_solvers(splits, args.trials, seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
