"""``triangulate report``: the health needs assessment as HTML or PDF, from a publication."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console, progress_bars


@app.command()
def report(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The published store (its latest "
                                                                            "publication is read)."),
    out: Path = typer.Option(..., "--out", help="REPORT.html or REPORT.pdf"),
    publication: Optional[Path] = typer.Option(None, "--publication", help="A publication folder instead."),
    area: Optional[str] = typer.Option(None, "--area", help="ONS local authority code (default: all areas)."),
    year: Optional[str] = typer.Option(None, "--year", help="Financial year, e.g. 2023/24 (default: all, pooled)."),
    title: Optional[str] = typer.Option(None, "--title", help="The report's title."),
    action_plan: Optional[Path] = typer.Option(None, "--action-plan", help="The dashboard's action plan "
                                               "download (JSON), for the Provision and gaps chapter."),
) -> None:
    """Write the health needs assessment (HTML or PDF) from the publication: the dashboard's figures."""
    from triangulate.publish.publication import PublicationError
    from triangulate.report import ReportError, write_report

    try:
        with progress_bars() as progress:
            result = write_report(publication or store, out, area=area, year=year, title=title, progress=progress,
                                  action_plan=action_plan)
    except (ReportError, PublicationError) as problem:
        err_console.print(f"No report written: {problem}", markup=False)
        raise typer.Exit(code=2) from None
    pages = f", {result.pages} pages" if result.pages else ""
    console.print(f"Wrote the health needs assessment ({result.kind.upper()}{pages}, "
                  f"{result.recommendations} recommendations, publication {result.publication}) in "
                  f"{result.seconds:.1f} s: {result.path}")
