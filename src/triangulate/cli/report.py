"""``triangulate report``: the health needs assessment as HTML or PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console, progress_bars


@app.command()
def report(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The linked DuckDB store."),
    out: Path = typer.Option(..., "--out", help="REPORT.html or REPORT.pdf"),
    area: Optional[list[str]] = typer.Option(None, "--area", help="ONS local authority code (repeatable)."),
    period: Optional[str] = typer.Option(None, "--period", help="FROM:TO, ISO dates."),
    title: Optional[str] = typer.Option(None, "--title", help="The report's title."),
    rule: str = typer.Option("nhs_england", "--rule", help="Disclosure rule: nhs_england or ons_sro."),
) -> None:
    """Write the health needs assessment (HTML or PDF), every figure disclosure-controlled."""
    from triangulate.disclosure import preset
    from triangulate.measures import MeasuresError
    from triangulate.report import ReportError, write_report

    try:
        chosen = preset(rule)
    except (KeyError, ValueError):
        err_console.print(f"No report written: unknown disclosure rule {rule!r}; use nhs_england or ons_sro",
                          markup=False)
        raise typer.Exit(code=2) from None
    try:
        with progress_bars() as progress:
            result = write_report(store, out, area=area or None, period=period, title=title, rule=chosen,
                                  progress=progress)
    except (ReportError, MeasuresError) as problem:
        err_console.print(f"No report written: {problem}", markup=False)
        raise typer.Exit(code=2) from None
    pages = f", {result.pages} pages" if result.pages else ""
    console.print(f"Wrote the health needs assessment ({result.kind.upper()}{pages}, "
                  f"{result.recommendations} recommendations) in {result.seconds:.1f} s: {result.path}")
