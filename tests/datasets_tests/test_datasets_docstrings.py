"""Every public function of the datasets package documents exactly its parameters."""

from __future__ import annotations

import inspect
import re

import pytest

from datasets import california_housing, csv_table, diabetes, house_price, registry, simulation
from datasets import splits as splits_module

MODULES = [splits_module, house_price, california_housing, simulation, diabetes, csv_table]
MODULES.append(registry)
_SECTION = re.compile(r"^(\w[\w ]*)\n-+$", re.MULTILINE)
_ENTRY = re.compile(r"^(\w+(?:, \w+)*)(?: :.*)?$")  # "name : type" or "a, b : type"


def _documented(function) -> list[str]:
    doc = inspect.getdoc(function) or ""
    sections = list(_SECTION.finditer(doc))
    for k, section in enumerate(sections):
        if section.group(1) == "Parameters":
            end = sections[k + 1].start() if k + 1 < len(sections) else len(doc)
            entries = [_ENTRY.match(line) for line in doc[section.end() : end].splitlines()]
            return [name for m in entries if m for name in m.group(1).split(", ")]
    return []


def _public_functions():
    for module in MODULES:
        for name, member in vars(module).items():
            if (
                inspect.isfunction(member)
                and not name.startswith("_")
                and member.__module__ == module.__name__
            ):
                yield pytest.param(member, id=f"{module.__name__}.{name}")


@pytest.mark.parametrize("function", list(_public_functions()))
def test_docstring_parameters_match_signature(function):
    assert inspect.getdoc(function), "public functions need a docstring"
    assert _documented(function) == list(inspect.signature(function).parameters)


def test_the_check_can_fail():
    def documented_wrong(a: int, b: int) -> None:
        """Example.

        Parameters
        ----------
        a : int
        """

    assert _documented(documented_wrong) == ["a"]
    assert len(list(_public_functions())) >= 15
