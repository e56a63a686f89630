"""The installed library: the wheel holds hyper_local_search and optuna_training only, and an
install of it works from another directory with no top-level datasets, utils or experiment.

Builds the wheel without the package index (hatchling from requirements-dev.txt, no build
isolation, --no-deps), installs it into a temporary directory and imports it from there in
a fresh interpreter. The full check from scratch (a fresh virtual environment, `pip
install .` with its dependencies, check_estimator, the pipeline's journal, `pip install
-e .`) needs the index and is .ci/install_check.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXCLUDED = {"hyper_local_search/HLS_one_direction_search.py", "optuna_training/__main__.py"}

if importlib.util.find_spec("hatchling") is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but hatchling is missing: pip install -r requirements-dev.txt")
    pytest.skip("hatchling is not installed (pip install -r requirements-dev.txt)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (path,) = out.glob("hyper_local_tuning-*.whl")
    return path


def test_the_wheel_holds_the_two_library_packages_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"hyper_local_search", "optuna_training", "hyper_local_tuning-0.1.0.dist-info"}
    assert not EXCLUDED & set(names)
    expected = {str(path.relative_to(ROOT)) for package in ("hyper_local_search",
                                                            "optuna_training")
                for path in (ROOT / package).rglob("*.py")} - EXCLUDED
    assert expected <= set(names)
    metadata = zipfile.ZipFile(wheel).read("hyper_local_tuning-0.1.0.dist-info/METADATA")
    requires = {line.split(":", 1)[1].strip() for line in metadata.decode().splitlines()
                if line.startswith("Requires-Dist:")}
    assert {r.split(">")[0].split("<")[0] for r in requires} == {"numpy", "scipy",
                                                                 "scikit-learn", "optuna"}


PROGRAM = """
import importlib.util, sys
import numpy as np
from hyper_local_search import ElasticNetHLS, hls_refine
import hyper_local_search, optuna_training.elastic_net
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4)); y = X @ np.array([1.0, 0.0, -2.0, 0.5]) + rng.normal(size=60)
for sampler in ("tpe", "grid", "qmc", "random"):
    model = ElasticNetHLS(n_trials=4, sampler=sampler, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.5, sampler
print(hyper_local_search.__file__)
print(sorted(n for n in ("datasets", "utils", "experiment") if n in sys.modules
             or importlib.util.find_spec(n) is not None))
"""


def test_an_install_works_from_another_directory(wheel, tmp_path):
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    result = subprocess.run([sys.executable, "-c", PROGRAM], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    where, generic = result.stdout.split("\n")[:2]
    assert Path(where).is_relative_to(target)
    assert generic == "[]"
