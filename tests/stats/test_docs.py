"""docs/statistics.md documents every public name of triangulate.stats, and nothing else.

Like Datasette's test_docs.py: the documentation cannot drift from the code unnoticed.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import triangulate.stats as stats

DOCS = Path(__file__).resolve().parents[2] / "docs" / "statistics.md"


def _documented_names() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(r"^### `([A-Za-z_][A-Za-z0-9_]*)`\s*$", text, flags=re.MULTILINE)


def test_every_public_name_has_a_section_in_the_docs():
    documented = set(_documented_names())
    missing = [name for name in stats.__all__ if name not in documented]
    assert not missing, f"not documented in docs/statistics.md: {missing}"


def test_the_docs_describe_no_name_that_is_not_public():
    stale = [name for name in _documented_names() if name not in stats.__all__]
    assert not stale, f"documented but not in triangulate.stats.__all__: {stale}"


def test_every_public_name_exists_and_callables_have_docstrings():
    for name in stats.__all__:
        thing = getattr(stats, name)
        if inspect.isfunction(thing) or inspect.isclass(thing):
            assert inspect.getdoc(thing), f"{name} has no docstring"


def test_each_function_section_gives_its_signature():
    text = DOCS.read_text(encoding="utf-8")
    for name in stats.__all__:
        thing = getattr(stats, name)
        if inspect.isfunction(thing):
            assert f"`{name}(" in text, f"docs/statistics.md does not show how to call {name}"
