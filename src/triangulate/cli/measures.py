"""``triangulate measures``: every measure for one view, as CSV."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console, progress_bars


class DisclosurePreset(str, Enum):
    nhs_england = "nhs_england"
    ons_sro = "ons_sro"


@app.command()
def measures(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The linked DuckDB store."),
    out: Path = typer.Option(..., "--out", help="Folder for one CSV per measure and metadata.json."),
    area: Optional[list[str]] = typer.Option(None, "--area", help="ONS local authority code (repeatable)."),
    period: Optional[str] = typer.Option(None, "--period", help="FROM:TO, ISO dates (e.g. 2022-04-01:2023-03-31)."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default) or spark."),
    rule: DisclosurePreset = typer.Option(DisclosurePreset.nhs_england, "--rule",
                                          help="Disclosure rule applied to every table."),
    unsuppressed: bool = typer.Option(
        False, "--unsuppressed", help="Write counts without disclosure control (never for publication)."),
) -> None:
    """Write every measure as a disclosure-controlled CSV plus one metadata JSON."""
    from triangulate.disclosure import preset
    from triangulate.measures import MeasuresError, write_measures

    if unsuppressed:
        err_console.print("WARNING: --unsuppressed writes small counts that can identify people. The output "
                          "is not for publication; metadata.json records that it is unsuppressed.", markup=False)
    try:
        with progress_bars() as progress:
            report = write_measures(store, out, area=area or None, period=period, engine=engine,
                                    unsuppressed=unsuppressed, rule=preset(rule.value),
                                    progress=lambda name, i, n: progress(f"Measures: {name}", i, n))
    except MeasuresError as problem:
        err_console.print(f"Cannot measure: {problem}", markup=False)
        raise typer.Exit(code=2) from None
    for name, path in report.files.items():
        console.print(f"  {name:<24} {report.rows[name]:>7,} rows  {path}")
    console.print(f"Metadata: {report.metadata_file}")
    for note in report.notes:
        console.print(f"Note: {note}")
