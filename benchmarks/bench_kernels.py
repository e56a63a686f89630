"""Time the two kernels of a run on the paper's house-price split, and check they agree.

A. Elastic-net fits: ``fit_elastic_net`` (scikit-learn's estimator, as the authors call
   it) against ``ElasticNetProblem.fit`` on the Gram path and on the plain path, cold
   and warm-started from the fit at a nearby point (1.1 * (l1, l2)).
B. The direction LP: ``solve_direction_lp`` with the reference rows [H; -H] against the
   ranged rows, each with HiGHS's presolve on and off.

Prints the median wall time of ``--repeats`` calls per variant (after one untimed
call), the ratios, and how far the variants' answers are apart. Not collected by
pytest. Run from anywhere: ``python benchmarks/bench_kernels.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # repository root first

import numpy as np
import pandas as pd

from hyper_local_search.curvature_information import (
    paper_constraint_matrix,
    validation_gradient,
)
from hyper_local_search.direction_lp import solve_direction_lp
from optuna_training.elastic_net import (
    ElasticNetProblem,
    fit_elastic_net,
)

PAPER_SPLIT = (
    Path(__file__).resolve().parents[2] / "shared" / "datasets" / "house_price" / "paper_split"
)
#: (l1, l2) typical of a study and its HLS step; (1, 1e-10) is the grid sampler's
#: end point, where every fit runs into max_iter; (1e-10, 0.0387) lies on the floor line
#: of the HLS step from (0.9, 0.5), below ElasticNetProblem's Gram floor.
FIT_POINTS = [
    (0.5, 0.04), (0.27, 0.047), (1.0, 1e-10), (101.0, 1e-10), (0.9, 0.5), (1e-10, 0.0387)
]
#: HLS starts: the paper's, the QMC sampler's, one that turns to lower l1, the grid's.
LP_STARTS = [(0.47, 0.04), (0.27, 0.047), (0.9, 0.5), (1.0, 1e-10)]
#: Warm starts come from the fit at NEIGHBOUR * (l1, l2).
NEIGHBOUR = 1.1


def load_paper_split() -> dict[str, np.ndarray]:
    def read(name: str) -> np.ndarray:
        return pd.read_csv(PAPER_SPLIT / f"{name}.csv", index_col=0).to_numpy(np.float64)

    data = {f"X_{part}": read(f"x_{part}") for part in ("train", "val")}
    data.update({f"y_{part}": read(f"y_{part}").ravel() for part in ("train", "val")})
    return data


def median_ms(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def objective(X: np.ndarray, y: np.ndarray, fit, l1: float, l2: float) -> float:
    """(1/(2n))||y - Xw - b||^2 + l1 ||w||_1 + (l2/2)||w||^2, computed from scratch."""
    residual = y - X @ fit.coef - fit.intercept
    return float(
        residual @ residual / (2 * y.shape[0])
        + l1 * np.abs(fit.coef).sum()
        + 0.5 * l2 * fit.coef @ fit.coef
    )


def bench_fits(data: dict[str, np.ndarray], repeats: int) -> None:
    X, y = data["X_train"], data["y_train"]
    build_ms = median_ms(partial(ElasticNetProblem, X, y), repeats)
    gram = ElasticNetProblem(X, y)
    plain = ElasticNetProblem(X, y, gram=False)
    bound = 1e-4 * float(np.var(y))  # tol * ||y_c||^2 / n: each fit's objective slack
    print(f"A. elastic-net fits, X_train {X.shape}; ElasticNetProblem(X, y) once: "
          f"{build_ms:.2f} ms; Gram path for l1 >= {gram.gram_l1_min:.2e}; converged fits "
          f"are within tol*var(y) = {bound:.3e} of the optimum")
    print(f"{'(l1, l2)':>15} {'start':>5} {'n_iter':>9} {'sklearn':>8} {'fast':>7} "
          f"{'plain':>7} {'ratio':>6} {'|dcoef|/max':>11} {'dobj/obj':>9} path  plain==sklearn")
    for l1, l2 in FIT_POINTS:
        near = fit_elastic_net(X, y, NEIGHBOUR * l1, NEIGHBOUR * l2).coef
        for start, coef_init in (("cold", None), ("warm", near)):
            reference = fit_elastic_net(X, y, l1, l2, coef_init=coef_init)
            fast = gram.fit(l1, l2, coef_init=coef_init)
            same = plain.fit(l1, l2, coef_init=coef_init)
            t_ref = median_ms(partial(fit_elastic_net, X, y, l1, l2, coef_init=coef_init),
                              repeats)
            t_gram = median_ms(partial(gram.fit, l1, l2, coef_init=coef_init), repeats)
            t_plain = median_ms(partial(plain.fit, l1, l2, coef_init=coef_init), repeats)
            coef_gap = np.abs(fast.coef - reference.coef).max() / np.abs(reference.coef).max()
            obj_ref = objective(X, y, reference, l1, l2)
            obj_gap = abs(objective(X, y, fast, l1, l2) - obj_ref) / obj_ref
            bitwise = np.array_equal(same.coef, reference.coef) and (
                same.intercept == reference.intercept
            )
            print(f"{f'({l1:g}, {l2:g})':>15} {start:>5} "
                  f"{f'{reference.n_iter}/{fast.n_iter}':>9} {t_ref:8.2f} {t_gram:7.2f} "
                  f"{t_plain:7.2f} {t_ref / t_gram:6.1f} {coef_gap:11.1e} {obj_gap:9.1e} "
                  f"{'gram' if gram.gram_applies(l1) else 'plain':<5} {bitwise}")
    print("  ms per fit (median): sklearn = fit_elastic_net, fast = ElasticNetProblem(X, y)"
          ".fit, plain = ElasticNetProblem(X, y, gram=False).fit; ratio = sklearn / fast;"
          " n_iter = sklearn/fast")


def bench_lps(data: dict[str, np.ndarray], repeats: int) -> None:
    X, y = data["X_train"], data["y_train"]
    variants = {
        "reference": {"method": "reference"},
        "reference, presolve off": {"method": "reference", "presolve": False},
        "ranged, presolve on": {"method": "ranged", "presolve": True},
        "ranged": {"method": "ranged"},
    }
    print(f"\nB. direction LP, {X.shape[1] + 1} rows x {X.shape[1] + 3} columns; "
          "ms per LP (median), ratio = reference / variant")
    for l1, l2 in LP_STARTS:
        fit = fit_elastic_net(X, y, l1, l2)
        gradient = validation_gradient(data["X_val"], data["y_val"], fit.coef, fit.intercept)
        H = paper_constraint_matrix(X, fit.coef, l2)
        base = solve_direction_lp(gradient, H)
        t_base = median_ms(partial(solve_direction_lp, gradient, H), repeats)
        print(f"  start ({l1:g}, {l2:g}): reference d_lam = ({base.d_lam[0]:.9f}, "
              f"{base.d_lam[1]:.6e}), objective {base.objective:.9e}, {base.status}")
        for name, options in variants.items():
            answer = solve_direction_lp(gradient, H, **options)
            t = t_base if name == "reference" else median_ms(
                partial(solve_direction_lp, gradient, H, **options), repeats
            )
            d_lam_gap = np.abs(answer.d_lam - base.d_lam).max()
            obj_gap = abs(answer.objective - base.objective) / abs(base.objective)
            d_raw_gap = np.abs(answer.d_raw - base.d_raw).max()
            print(f"    {name:<24} {t:7.1f} ms  ratio {t_base / t:4.2f}  {answer.status:<8} "
                  f"|d_lam - ref| {d_lam_gap:.1e}  |obj - ref|/|ref| {obj_gap:.1e}  "
                  f"|d - ref|max {d_raw_gap:.1e}  violation {answer.max_violation:.1e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per variant")
    parser.add_argument("--only", choices=("fits", "lps"), help="run one part only")
    args = parser.parse_args(argv)
    if not PAPER_SPLIT.is_dir():
        print(f"{PAPER_SPLIT} not found: the repository must sit beside ../shared",
              file=sys.stderr)
        return 2
    data = load_paper_split()
    if args.only in (None, "fits"):
        bench_fits(data, args.repeats)
    if args.only in (None, "lps"):
        bench_lps(data, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
