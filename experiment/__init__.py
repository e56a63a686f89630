"""The experiment runner (not installed): the protocol's settings, units, store, execution,
command line and report, around the numeric core in hyper_local_search and
optuna_training.

Modules: ``config`` (RunConfig, flag-worded checks), ``unit`` (one sampler x simulation
unit: study, HLS, refiners), ``store`` (the run key and units as JSON), ``execution``
(``run``: local processes or Dask, resume), ``cli`` (flags -> outputs), ``report``
(Excel, figures, models) and ``comparison`` (the refiners' tables).
"""
