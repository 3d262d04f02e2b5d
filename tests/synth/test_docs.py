"""docs/synthetic-population.md cannot drift from the data files the generator uses."""

from __future__ import annotations

from pathlib import Path

from triangulate.synth.calibration import read_data_file
from triangulate.synth.docs import BEGIN, END, calibration_markdown

PAGE = Path(__file__).resolve().parents[2] / "docs" / "synthetic-population.md"


def test_page_holds_the_current_calibration_tables():
    text = PAGE.read_text(encoding="utf-8")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert block.strip() == calibration_markdown().strip(), (
        "docs/synthetic-population.md is out of date: run python -m triangulate.synth.docs docs/synthetic-population.md"
    )


def test_every_figure_appears_with_its_value_and_source():
    text = PAGE.read_text(encoding="utf-8")
    for row in read_data_file("calibration.csv"):
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| {row['parameter']} |")), None)
        assert line is not None, row["parameter"]
        assert f"| {row['value']} |" in line
        assert row["source"] in line
    for row in read_data_file("noise.csv"):
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| {row['parameter']} |")), None)
        assert line is not None, row["parameter"]
        assert f"| {row['low']} | {row['default']} | {row['high']} |" in line


def test_every_figure_has_a_source_and_a_readable_value():
    for row in read_data_file("calibration.csv"):
        assert row["source"].strip(), row["parameter"]
        if row["unit"] != "date":
            float(row["value"])  # raises on a value the generator could not read
