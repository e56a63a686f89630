"""Numpydoc "Parameters" sections match the signatures they document, project-wide.

Every module of the packages ``datasets``, ``optuna_training``, ``hyper_local_search``
(with ``refiners``) and ``utils`` is imported; every public function and public method
defined there that has a "Parameters" section must list exactly the signature's
parameters, in order (``self``/``cls`` excluded); so must a public class whose own
docstring has one (numpydoc's place for the constructor's). Functions documented in prose
are allowed, except in the numerical core (``CORE_MODULES``), where every public function of
two or more parameters must have a "Parameters" section.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("datasets", "optuna_training", "hyper_local_search", "utils")
SKIPPED_MODULES = frozenset({"hyper_local_search.HLS_one_direction_search"})  # a script

# The numerical core: every public function (or method) of two or more parameters,
# self excluded, documents them in a "Parameters" section.
CORE_MODULES = (
    "hyper_local_search.curvature_information",
    "hyper_local_search.direction_lp",
    "hyper_local_search.line_search",
    "hyper_local_search.hls_step",
    "hyper_local_search.hls_search",
    "hyper_local_search.exact_formulation",
    "hyper_local_search.hypergradient",
    "hyper_local_search.landscape",
    "hyper_local_search.estimator",
    "hyper_local_search.optuna_refine",
    "hyper_local_search._tuning",
    "optuna_training.elastic_net",
    "optuna_training.study",
)

_HEADER = re.compile(r"^(?P<indent>[ ]*)(?P<title>\w[\w ]*)\n(?P=indent)-+[ ]*$", re.MULTILINE)
# "name : type", "a, b : type", "name", "*args", "**kwargs : dict".
_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:[ ]*,[ ]*\*{0,2}\w+)*)(?:[ ]+:.*|[ ]*)$")


def _module_names() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join(parts)
            if name not in SKIPPED_MODULES:
                names.append(name)
    return names


def _members(module):
    """(qualified name, callable, parameter names) of the module's public callables."""
    for name, member in vars(module).items():
        if name.startswith("_") or getattr(member, "__module__", None) != module.__name__:
            continue
        qualified_name = f"{module.__name__}.{name}"
        if inspect.isfunction(member):
            yield qualified_name, member, list(inspect.signature(member).parameters)
        elif inspect.isclass(member):
            if _parameters_section(member) is not None:  # the constructor's parameters
                yield qualified_name, member, list(inspect.signature(member).parameters)
            for method_name, attribute in vars(member).items():
                if method_name.startswith("_"):
                    continue
                function = getattr(attribute, "__func__", attribute)  # static/classmethod
                if not inspect.isfunction(function) or function.__module__ != module.__name__:
                    continue
                parameters = list(inspect.signature(function).parameters)
                if not isinstance(attribute, staticmethod):
                    parameters = parameters[1:]  # self or cls
                yield f"{qualified_name}.{method_name}", function, parameters


def _collect():
    members = []
    for module_name in _module_names():
        members.extend(_members(importlib.import_module(module_name)))
    return members


def _parameters_section(function) -> str | None:
    """The body of the docstring's "Parameters" section, dedented to its entries."""
    doc = inspect.getdoc(function) or ""
    headers = list(_HEADER.finditer(doc))
    for index, header in enumerate(headers):
        if header.group("title") == "Parameters":
            end = headers[index + 1].start() if index + 1 < len(headers) else len(doc)
            indent = len(header.group("indent"))
            return "\n".join(line[indent:] for line in doc[header.end() : end].splitlines())
    return None


def _documented_parameters(section: str) -> list[str]:
    """Names at the section's own indentation; an unparsable entry is kept verbatim."""
    documented = []
    for line in section.splitlines():
        if not line.strip() or line[0].isspace():
            continue  # blank, or a description line
        match = _ENTRY.match(line)
        if match is None:
            documented.append(line)  # fails the comparison, visibly
            continue
        documented.extend(name.strip().lstrip("*") for name in match.group("names").split(","))
    return documented


MEMBERS = _collect()
DOCUMENTED = [
    pytest.param(function, parameters, id=qualified_name)
    for qualified_name, function, parameters in MEMBERS
    if _parameters_section(function) is not None
]
CORE_REQUIRED = [
    pytest.param(function, id=qualified_name)
    for qualified_name, function, parameters in MEMBERS
    if function.__module__ in CORE_MODULES and len(parameters) >= 2
    and not inspect.isclass(function)
]


@pytest.mark.parametrize(("function", "parameters"), DOCUMENTED)
def test_docstring_parameters_match_signature(function, parameters):
    documented = _documented_parameters(_parameters_section(function))
    assert documented == parameters, f"documented {documented}, signature {parameters}"


@pytest.mark.parametrize("function", CORE_REQUIRED)
def test_core_functions_have_a_parameters_section(function):
    assert _parameters_section(function) is not None, "document the parameters (numpydoc)"


def test_every_package_module_is_walked():
    names = _module_names()
    assert "hyper_local_search.refiners.base" in names
    assert "hyper_local_search.refiners" in names
    assert set(CORE_MODULES) <= set(names)
    assert "optuna_training.__main__" not in names
    assert not SKIPPED_MODULES & set(names)
    assert len(DOCUMENTED) >= 60
    assert len(CORE_REQUIRED) >= 25


def test_the_parser():
    def example(a, b, c, *args, **kwargs):
        """Example.

        Parameters
        ----------
        a, b : int
            Two numbers; "d : int" in a description is not an entry.
        c
        *args : float
        **kwargs : dict

        Returns
        -------
        x : int
        """

    def wrong(a: int, b: int) -> None:
        """Example.

        Parameters
        ----------
        a : int
        """

    assert _documented_parameters(_parameters_section(example)) == [
        "a", "b", "c", "args", "kwargs",
    ]
    assert _documented_parameters(_parameters_section(wrong)) == ["a"]
    assert _parameters_section(test_the_parser) is None
