"""Which Python runs the project: a one-line answer when a dependency is missing.

Standard library only, so that it works under an interpreter that lacks every
requirement (typically VSCode's default interpreter instead of the project's .venv).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["PROJECT_PACKAGES", "missing_dependency_message", "project_python"]

#: The project's own top-level packages: a missing one is a broken checkout, not a
#: missing dependency.
PROJECT_PACKAGES = frozenset({"datasets", "experiment", "hyper_local_search",
                              "optuna_training", "utils", "tests"})
#: Import names whose distribution is called otherwise.
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml"}
ROOT = Path(__file__).resolve().parents[1]


def project_python(root: Path = ROOT) -> Path:
    """The interpreter of the project's virtual environment ``root/.venv``.

    Parameters
    ----------
    root : Path
        The project root.
    """
    if os.name == "nt":
        return root / ".venv" / "Scripts" / "python.exe"
    return root / ".venv" / "bin" / "python"


def missing_dependency_message(error: ModuleNotFoundError, root: Path = ROOT) -> str | None:
    """One line saying which package is missing and which interpreter to choose.

    Parameters
    ----------
    error : ModuleNotFoundError
        From importing the project under the current interpreter.
    root : Path
        The project root.

    Returns
    -------
    message : str or None
        None when the missing module is one of the project's own packages (then the
        checkout is broken and the traceback is the better answer).
    """
    name = (error.name or "").split(".")[0]
    if not name or name in PROJECT_PACKAGES:
        return None
    package = _DISTRIBUTIONS.get(name, name)
    venv = project_python(root)
    here = f"this Python ({sys.executable}) lacks the package {package!r}"
    requirements = root / "requirements.txt"
    # Environments are told apart by their prefix: a venv's python is a symlink to the
    # same base interpreter as every other venv's.
    in_project_env = Path(sys.prefix).resolve() == (root / ".venv").resolve()
    if venv.is_file() and not in_project_env:
        return (f"error: {here}; run the script with the project's environment {venv} "
                "(VSCode: 'Python: Select Interpreter', then .venv).")
    if venv.is_file():
        return (f"error: {here}; install the requirements into it: {venv} -m pip install "
                f"-r {requirements}")
    return (f"error: {here}; create the project's environment and choose it (VSCode: "
            f"'Python: Select Interpreter', then .venv): python3 -m venv {root / '.venv'} "
            f"&& {venv} -m pip install -r {requirements}")
