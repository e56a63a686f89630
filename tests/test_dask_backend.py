"""The Dask path: units sent to a dask.distributed cluster give the local run's results."""

from __future__ import annotations

import pandas as pd
import pytest

from datasets.registry import load_dataset
from experiment.config import RunConfig
from experiment.execution import run
from experiment.report import simulations_frame
from utils.errors import InputError

distributed = pytest.importorskip("distributed")

RESULT_COLUMNS = ["sampler", "simulation", "seed", "l1_optuna", "l2_optuna", "l1_hls", "l2_hls",
                  "train_mse_optuna", "val_mse_optuna", "test_mse_optuna", "train_mse_hls",
                  "val_mse_hls", "test_mse_hls", "hls_fits", "lp_status"]


def test_local_cluster_run_equals_local_run():
    splits = load_dataset("diabetes", seed=1)
    settings = dict(dataset="diabetes", samplers=("tpe", "grid"), n_trials=8, n_simulations=3,
                    seed=1)
    local = simulations_frame(run(RunConfig(**settings, n_jobs=1), splits))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        config = RunConfig(**settings, backend="dask", scheduler=cluster.scheduler_address)
        remote = simulations_frame(run(config, splits))
    pd.testing.assert_frame_equal(local[RESULT_COLUMNS], remote[RESULT_COLUMNS])


def test_unreachable_scheduler_is_a_clear_error():
    config = RunConfig(dataset="diabetes", n_trials=2, n_simulations=1, samplers=("random",),
                       backend="dask", scheduler="tcp://127.0.0.1:9")
    with pytest.raises(InputError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        run(config, load_dataset("diabetes"))


def test_dask_needs_a_scheduler_and_scheduler_needs_dask():
    with pytest.raises(InputError, match=r"--backend dask needs --scheduler ADDRESS"):
        RunConfig(backend="dask")
    with pytest.raises(InputError, match=r"--scheduler only applies with --backend dask"):
        RunConfig(scheduler="tcp://127.0.0.1:8786")
