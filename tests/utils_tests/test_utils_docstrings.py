"""The numpydoc Parameters sections of the public utils functions match their signatures."""

from __future__ import annotations

import inspect
import re

import pytest

from utils import atomic_io, excel_summary, figures, statistics

MODULES = [atomic_io, excel_summary, figures, statistics]
_HEADER = re.compile(r"^(\w[\w ]*)\n-+$", re.MULTILINE)
_PARAMETER = re.compile(r"^(\w+)(?: :.*)?$")


def _documented_parameters(function) -> list[str]:
    doc = inspect.getdoc(function) or ""
    headers = list(_HEADER.finditer(doc))
    for index, header in enumerate(headers):
        if header.group(1) != "Parameters":
            continue
        end = headers[index + 1].start() if index + 1 < len(headers) else len(doc)
        lines = doc[header.end() : end].splitlines()
        return [m.group(1) for line in lines if (m := _PARAMETER.match(line))]
    return []


def _public_functions():
    for module in MODULES:
        for name in module.__all__:
            member = getattr(module, name)
            if inspect.isfunction(member):
                yield pytest.param(member, id=f"{module.__name__}.{name}")


@pytest.mark.parametrize("function", list(_public_functions()))
def test_docstring_parameters_match_signature(function):
    names = [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]
    assert _documented_parameters(function) == names
