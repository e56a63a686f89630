"""Benchmark the HLS step (paper vs fast line search) and the whole protocol.

Mode ``step`` (default): Optuna studies give N starting models per sampler; from each,
the HLS step runs with ``--line-search paper`` and with ``fast``, side by side in this
one process (order alternating), timed as the pipeline times Runtimes_hls (LP, line
search, refit, six loss evaluations). Prints per-simulation rows, then median times,
fits, the speed ratio and the largest validation-loss difference.

Mode ``protocol``: runs the whole protocol (pipeline.run) and prints its wall time and
the peak resident memory summed over this process and all its children (worker
processes), sampled every 50 ms from /proc (Linux).

    python benchmarks/bench_hls.py --simulations 10
    python benchmarks/bench_hls.py protocol --dataset house_price --simulations 50
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna

from datasets.registry import load_dataset
from experiment.config import RunConfig
from experiment.execution import run
from experiment.unit import make_problem, timed_hls_step
from optuna_training.samplers import SAMPLER_NAMES
from optuna_training.study import run_study
from utils.seeding import simulation_seeds


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


def bench_step(args: argparse.Namespace) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    splits = load_dataset(args.dataset)
    problem = make_problem(splits, "sklearn")
    seeds = simulation_seeds(args.seed, args.simulations)
    print(f"# HLS step, paper vs fast: {splits.description}; {machine()}")
    print(f"# samplers {' '.join(args.samplers)}, {args.simulations} simulations each, "
          f"{args.trials} Optuna trials per start, seed {args.seed}")
    header = (f"{'sampler':>7} {'sim':>3} {'l1_0':>8} {'l2_0':>8} {'paper_s':>8} {'fast_s':>7} "
              f"{'ratio':>6} {'fits_p':>6} {'fits_f':>6} {'val_paper':>13} {'val_fast':>13} "
              f"{'rel_diff':>9}")
    print(header)
    rows = []
    for sampler in args.samplers:
        for simulation, seed in enumerate(seeds):
            study = run_study(problem, test=(splits.X_test, splits.y_test), sampler=sampler,
                              n_trials=args.trials, seed=seed)
            order = ("paper", "fast") if simulation % 2 == 0 else ("fast", "paper")
            timed = {
                mode: timed_hls_step(splits, problem, study.l1, study.l2, study.fit,
                                     line_search=mode)
                for mode in order
            }
            paper, fast = timed["paper"], timed["fast"]
            rel = (fast.losses_end[1] - paper.losses_end[1]) / paper.losses_end[1]
            rows.append((paper.seconds, fast.seconds, paper.step.n_fits, fast.step.n_fits, rel))
            print(f"{sampler:>7} {simulation:>3} {study.l1:8.4f} {study.l2:8.4f} "
                  f"{paper.seconds:8.3f} {fast.seconds:7.3f} {paper.seconds / fast.seconds:6.1f} "
                  f"{paper.step.n_fits:6d} {fast.step.n_fits:6d} {paper.losses_end[1]:13.6e} "
                  f"{fast.losses_end[1]:13.6e} {rel:+9.2e}", flush=True)
    data = np.array(rows)
    paper_s, fast_s = np.median(data[:, 0]), np.median(data[:, 1])
    print(f"\nmedian seconds per HLS step: paper {paper_s:.3f}, fast {fast_s:.3f}; "
          f"ratio of medians {paper_s / fast_s:.1f}x; median per-simulation ratio "
          f"{np.median(data[:, 0] / data[:, 1]):.1f}x; slowest-case ratio "
          f"{np.min(data[:, 0] / data[:, 1]):.1f}x")
    print(f"median fits: paper {np.median(data[:, 2]):.0f}, fast {np.median(data[:, 3]):.0f}")
    print(f"validation loss, fast relative to paper: largest {data[:, 4].max():+.2e}, "
          f"smallest {data[:, 4].min():+.2e}; fast lower or equal in "
          f"{int((data[:, 4] <= 0).sum())} of {len(data)}")


class PeakMemory:
    """Peak of the resident memory summed over a process tree, sampled from /proc."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak_bytes = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _tree_rss(root: int) -> int:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            pid, ppid = int(entry.name), int(fields["PPid"])
            children.setdefault(ppid, []).append(pid)
            rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        total, stack = 0, [root]
        while stack:
            pid = stack.pop()
            total += rss.get(pid, 0)
            stack.extend(children.get(pid, []))
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._tree_rss(os.getpid()))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_protocol(args: argparse.Namespace) -> None:
    splits = load_dataset(args.dataset)
    config = RunConfig(dataset=args.dataset, samplers=tuple(args.samplers),
                       n_trials=args.trials, n_simulations=args.simulations, seed=args.seed,
                       n_jobs=args.n_jobs, line_search=args.line_search)
    print(f"# whole protocol: {splits.description}; {machine()}")
    print(f"# {len(config.samplers)} samplers x {config.n_simulations} simulations x "
          f"{config.n_trials} trials, line search {config.line_search}, n_jobs {config.n_jobs}")
    start = time.perf_counter()
    with PeakMemory() as memory:
        units = run(config, splits)
    wall = time.perf_counter() - start
    optuna_s = sum(float(u.record["seconds_optuna"]) for u in units)
    hls_s = sum(float(u.record["seconds_hls"]) for u in units)
    print(f"wall {wall:.1f} s for {len(units)} units; summed in workers: Optuna {optuna_s:.1f} s, "
          f"HLS {hls_s:.1f} s; peak RSS summed over all processes "
          f"{memory.peak_bytes / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", choices=("step", "protocol"), default="step")
    parser.add_argument("--dataset", default="house_price")
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLER_NAMES))
    parser.add_argument("--simulations", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--line-search", choices=("fast", "paper"), default="fast")
    args = parser.parse_args()
    (bench_step if args.mode == "step" else bench_protocol)(args)


if __name__ == "__main__":
    main()
