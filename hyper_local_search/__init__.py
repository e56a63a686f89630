"""LP-based hyper local search (HLS) for the elastic net's hyperparameters (Sinha & Gunwal).

The library:

- ``ElasticNetHLS``: a scikit-learn regressor: an Optuna study of (l1, l2) on a held-out
  validation part (or cross-validation folds), then the HLS search, then the refit.
- ``hls_refine``: HLS from the best trial of your own Optuna study; the point it ends at
  is added to the study as a trial.
- The numeric core they share (and the experiment pipeline and its refiners use):
  ``ElasticNetProblem`` (training and validation data, centred, with their Gram
  matrix, and the solver), ``hls_step``, ``hls_search``, ``hls_direction``.

Penalty: (1 / (2 n)) ||y - X w - b||^2 + l1 ||w||_1 + (l2 / 2) ||w||^2, scikit-learn's
``ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2))``.
"""

from hyper_local_search.direction_lp import Direction
from hyper_local_search.estimator import ElasticNetHLS
from hyper_local_search.hls_search import HLSSearchResult, hls_search
from hyper_local_search.hls_step import HLSResult, hls_direction, hls_step
from hyper_local_search.optuna_refine import hls_refine
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, Solver

__all__ = [
    "Direction",
    "ElasticNetFit",
    "ElasticNetHLS",
    "ElasticNetProblem",
    "HLSResult",
    "HLSSearchResult",
    "Solver",
    "hls_direction",
    "hls_refine",
    "hls_search",
    "hls_step",
]
