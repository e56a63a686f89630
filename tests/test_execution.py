"""Dispatch order and worker housekeeping of experiment.execution (not the numbers: those
are test_end_to_end's n_jobs test and test_reproduction's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from experiment.config import RunConfig
from experiment.execution import RELATIVE_UNIT_COST, run, slowest_first
from experiment.unit import units_of

ROOT = Path(__file__).resolve().parents[1]


def test_slowest_units_are_dispatched_first_and_in_order_within_a_sampler():
    config = RunConfig(dataset="diabetes", n_simulations=3)
    units = units_of(config)
    order = slowest_first(units)
    assert sorted(order) == sorted(units)
    costs = [RELATIVE_UNIT_COST[sampler] for sampler, _, _ in order]
    assert costs == sorted(costs, reverse=True)
    assert [u[0] for u in order[:3]] == ["grid"] * 3
    assert [u for u in order if u[0] == "tpe"] == [u for u in units if u[0] == "tpe"]


def test_results_come_back_in_table_order_whatever_the_dispatch_order(small_splits):
    config = RunConfig(dataset="diabetes", samplers=("random", "grid"), n_trials=4,
                       n_simulations=2, n_jobs=2)
    units = run(config, small_splits)
    assert [(u.record["sampler"], u.record["simulation"]) for u in units] == [
        ("random", 0), ("random", 1), ("grid", 0), ("grid", 1)]


def test_a_worker_freezes_its_long_lived_objects_once():
    # In a fresh interpreter (the freeze is process-wide): before its first unit nothing
    # is frozen, after it the imported modules are, and a second unit freezes no more.
    code = """
import gc
from tests.conftest import make_regression_splits
from experiment.config import RunConfig
from experiment.execution import _run_unit_in_worker
splits = make_regression_splits()
config = RunConfig(dataset="diabetes", samplers=("random",), n_trials=3, n_simulations=1)
calls = []
freeze = gc.freeze
gc.freeze = lambda: (calls.append(1), freeze())
before = gc.get_freeze_count()
_run_unit_in_worker(splits, config, "random", 0, 7)
first = gc.get_freeze_count()
_run_unit_in_worker(splits, config, "random", 0, 8)
print(before, first, len(calls))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    before, first, calls = map(int, out)
    assert before == 0
    assert first > 10_000  # numpy, scipy, scikit-learn, optuna: far more than this
    assert calls == 1
