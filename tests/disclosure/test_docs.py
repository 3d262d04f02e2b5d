"""The documentation cannot drift from the code: its worked example is recomputed here."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from triangulate.disclosure import NHS_ENGLAND, ONS_SRO, CellStatus, add_totals, apply_disclosure_control, presets

DOCS = Path(__file__).resolve().parents[2] / "docs" / "disclosure.md"
GROUPS = ["Asian", "Black", "Mixed", "White", "Other"]


def worked_example() -> pa.Table:
    table = pa.table(
        {
            "ethnic_group": GROUPS * 2,
            "sex": ["Female"] * 5 + ["Male"] * 5,
            "detentions": [3, 6, 2, 48, 0, 14, 41, 9, 160, 5],
        }
    )
    return add_totals(table, "detentions", ["ethnic_group", "sex"])


def as_markdown(table: pa.Table) -> str:
    cells = {(r["ethnic_group"], r["sex"]): r["detentions"] for r in table.to_pylist()}
    lines = ["| ethnic group | Female | Male | Total |", "|---|---:|---:|---:|"]
    for group in GROUPS + ["Total"]:
        lines.append(f"| {group} | " + " | ".join(str(cells[group, sex]) for sex in ("Female", "Male", "Total")) + " |")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def docs() -> str:
    return DOCS.read_text("utf-8")


def test_worked_example_before(docs):
    assert as_markdown(worked_example()) in docs


@pytest.mark.parametrize("rule", [NHS_ENGLAND, ONS_SRO], ids=lambda rule: rule.name)
def test_worked_example_after(docs, rule):
    published = apply_disclosure_control(worked_example(), "detentions", ["ethnic_group", "sex"], rule=rule)
    section = docs.split(f"After `{rule.name.upper()}`")[1]
    assert section.lstrip(" :(").split("\n\n", 1)[1].startswith(as_markdown(published.for_display()))


def test_every_preset_and_status_is_documented(docs):
    for name in presets():
        assert f"`{name.upper()}`" in docs
    for status in CellStatus:
        assert f"| `{status.value}` |" in docs
