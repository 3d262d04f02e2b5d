"""The steward's documentation lists exactly the rules, refusals, tables and columns in the code."""

from __future__ import annotations

import re
from pathlib import Path

from triangulate.ingest import REFUSALS, RULES
from triangulate.ingest.validate import REJECTS_COLUMNS
from triangulate.standard import AGENCY_TABLES
from triangulate.store import store_tables

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _listed_names(marker: str) -> list[str]:
    text = (DOCS / "ingest.md").read_text(encoding="utf-8")
    section = text.split(f"<!-- {marker}: start -->")[1].split(f"<!-- {marker}: end -->")[0]
    return re.findall(r"^- `([a-z_0-9]+)`", section, flags=re.MULTILINE)


def test_every_rule_is_documented_once_and_nothing_else() -> None:
    names = _listed_names("rules")
    assert sorted(names) == sorted(RULES) and len(names) == len(set(names))


def test_every_refusal_is_documented_once_and_nothing_else() -> None:
    names = _listed_names("refusals")
    assert sorted(names) == sorted(REFUSALS) and len(names) == len(set(names))


def test_the_rejects_file_columns_are_documented() -> None:
    text = (DOCS / "ingest.md").read_text(encoding="utf-8")
    for column in REJECTS_COLUMNS:
        assert f"| `{column}` |" in text


def test_every_store_table_and_column_is_documented() -> None:
    text = (DOCS / "store.md").read_text(encoding="utf-8")
    listed = {
        m.group(1): re.findall(r"`([a-z_0-9]+)`", m.group(2))
        for m in re.finditer(r"^\| `([a-z_]+\.[a-z_]+)` \| (.+) \|$", text, flags=re.MULTILINE)
    }
    agency = {t for t in store_tables() if t.split(".")[1] in AGENCY_TABLES}
    assert set(listed) == agency
    for table, columns in store_tables().items():
        assert f"`{table}`" in text, table
        names = [c.name for c in columns]
        if table in listed:
            assert listed[table] == names, table
        else:
            for name in names:
                assert f"`{name}`" in text, f"{table}.{name}"
