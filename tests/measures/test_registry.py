import re
from pathlib import Path

from triangulate.measures import measures
from triangulate.measures.registry import MODULES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "measures.md"


def test_every_registered_measure_is_documented_with_its_definition():
    text = DOCS.read_text(encoding="utf-8")
    registered = measures()
    assert len(registered) >= 3
    for m in registered:
        section = re.search(rf"^### `{m.name}`\n(.*?)(?=^### |\Z)", text, re.S | re.M)
        assert section, f"docs/measures.md has no section for the measure {m.name}"
        body = " ".join(section.group(1).split())
        for field in ("title", "definition", "numerator", "denominator", "method", "caveats"):
            value = " ".join(getattr(m, field).split())
            assert value, f"{m.name} has no {field}"
            assert value in body, f"docs/measures.md is out of date for {m.name}'s {field}"


def test_documentation_lists_no_measure_that_is_not_registered():
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `([a-z_0-9]+)`", text, re.M))
    assert documented == {m.name for m in measures()}


def test_each_measure_publishes_the_columns_it_registers(synthetic):
    from .conftest import figures

    for m in measures():
        rows = figures(synthetic["store"], m.name, ("area",))
        assert rows, m.name
        columns = set(next(iter(rows.values())))
        assert {c.name for c in m.columns} <= columns, m.name
        assert {c.name for c in m.published_counts} <= columns, m.name
        assert not {c.name for c in m.counts if not c.published} & columns, m.name  # sums behind a mean stay in
        assert {"area", "year", "breakdown", "group", *m.keys} <= columns, m.name
    assert MODULES
