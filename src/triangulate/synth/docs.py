"""The calibration tables of docs/synthetic-population.md, generated from the data files.

The page's prose is written by hand; its tables of figures are rendered here from
``data/*.csv`` and pasted between markers, and a test fails if the page and the files disagree,
so the documentation cannot drift from the figures the generator uses. To refresh the page::

    python -m triangulate.synth.docs docs/synthetic-population.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from triangulate.synth.calibration import read_data_file

BEGIN = "<!-- BEGIN GENERATED: calibration tables (python -m triangulate.synth.docs) -->"
END = "<!-- END GENERATED -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: list[dict[str, str]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def calibration_markdown() -> str:
    calibration = read_data_file("calibration.csv")
    published = [r for r in calibration if r["source"] not in ("synthetic assumption", "design choice")]
    assumed = [r for r in calibration if r["source"] in ("synthetic assumption", "design choice")]
    parts = [
        "### Published figures (`calibration.csv`)",
        "",
        "Figures taken from published sources, as cited in the project's domain primer.",
        "",
        _table(published, ["parameter", "value", "unit", "source", "year", "notes"]),
        "",
        "### Synthetic assumptions and design choices (`calibration.csv`)",
        "",
        "Figures chosen to make the synthetic population plausible where no published figure is "
        "used. They are not evidence about the real world.",
        "",
        _table(assumed, ["parameter", "value", "unit", "source", "notes"]),
        "",
        "### Identifier noise by level (`noise.csv`)",
        "",
        _table(read_data_file("noise.csv"), ["parameter", "low", "default", "high", "unit", "notes"]),
        "",
        "### What each agency records (`recording.csv`)",
        "",
        "Share of records in which the agency records the field at all (before noise). All are "
        "synthetic assumptions.",
        "",
        _table(read_data_file("recording.csv"), ["table", "field", "share_recorded", "notes"]),
        "",
        "### Ethnic groups (`ethnic_groups.csv`)",
        "",
        "National shares are ONS Census 2021 TS021 (England and Wales); the name, religion and "
        "first-language mixes are synthetic assumptions.",
        "",
        _table(
            read_data_file("ethnic_groups.csv"),
            ["ons_ethnic_group", "label", "england_wales_share_percent", "share_source", "name_groups", "religion_mix", "first_language_mix"],
        ),
        "",
        "### Areas (`areas.csv`)",
        "",
        "Real ONS local authority codes with synthetic populations: sizes, ethnic multipliers (applied "
        "to the national shares, then renormalised), systems and codes are synthetic assumptions.",
        "",
        _table(
            read_data_file("areas.csv"),
            ["area_code", "area_name", "area_type", "relative_size", "police_system", "mh_provider", "postcode_districts", "ethnic_multipliers"],
        ),
        "",
        "### Age profiles and route propensities (`age_structure.csv`)",
        "",
        _table(
            read_data_file("age_structure.csv"),
            ["age_band", "resident_share_inner_london", "resident_share_shire", "propensity_justice", "propensity_mha_detention", "propensity_mental_health"],
        ),
    ]
    return "\n".join(parts) + "\n"


def refresh(page: Path) -> None:
    """Replace the generated block of ``page`` with the current tables."""
    text = page.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    page.write_text(f"{head}{BEGIN}\n{calibration_markdown()}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    refresh(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/synthetic-population.md"))
