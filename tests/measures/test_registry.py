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


def test_each_measure_declares_counts_and_derived_columns_it_produces(synthetic):
    from triangulate.measures import Bases, Filters, connect, run_measure

    con = connect(synthetic["store"])
    bases = Bases(con, Filters())
    for m in measures():
        table = run_measure(m, bases, population_year=2021)
        d = m.disclosure
        named = set(d.counts) | set(d.dimensions) | set(d.by)
        named |= {c for cols in d.dependents.values() for c in cols}
        assert named <= set(table.column_names), m.name
        assert table.num_rows > 0, m.name
    assert MODULES
