"""Data set loaders: each returns a `Splits` (train / validation / test arrays).

Use `load_dataset(name, target=..., seed=...)`; see `datasets.registry`.
"""

from datasets.registry import DATASET_NAMES, load_dataset
from datasets.splits import Splits

__all__ = ["DATASET_NAMES", "Splits", "load_dataset"]
