"""The examples in the packages' docstrings run, so that they stay true.

Every module of the packages whose source holds an example (``>>>``) is imported and its
examples are run with :mod:`doctest`. An example that needs a file or a device says
``# doctest: +SKIP``.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The packages, as pyproject.toml lists them for mypy.
PACKAGES = ("rehablink", "wearable", "firmware_protocol", "server", "dashboards")


def modules_with_examples() -> list[str]:
    """Dotted names of the packages' modules whose source holds ``>>>``."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] != "__main__" and ">>>" in path.read_text(encoding="utf-8"):
                names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_examples_are_found() -> None:
    assert {"wearable.silence", "wearable.clock", "dashboards.svg"} <= set(
        modules_with_examples())


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
