"""``triangulate measures``: one view of the latest publication (or of a new one, ``--engine``), as one CSV per
measure."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console


@app.command()
def measures(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The published store."),
    out: Path = typer.Option(..., "--out", help="Folder for one CSV per measure and metadata.json."),
    area: Optional[str] = typer.Option(None, "--area", help="ONS local authority code (default: all areas)."),
    year: Optional[str] = typer.Option(None, "--year", help="Financial year, e.g. 2023/24 (default: all years)."),
    publication: Optional[Path] = typer.Option(None, "--publication", help="A publication folder (default: the "
                                                                           "store's latest)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Count the store again on this engine (duckdb or "
                                         "spark) first: a new publication, as `triangulate publish --engine` "
                                         "makes with its defaults (of --year only, if given), and the view "
                                         "from it."),
) -> None:
    """Write one view (an area and a financial year) of the latest publication as CSV files: the same
    figures as the report and the dashboard. With --engine, publish the store anew on that engine first."""
    from triangulate.publish.dimensions import ALL_AREAS, ALL_YEARS
    from triangulate.publish.export import write_view
    from triangulate.publish.publication import PublicationError, publications_root
    from triangulate.report.build import ReportError, resolve_publication

    if engine is not None:
        if publication is not None:
            err_console.print("Nothing written: --engine publishes the store anew and --publication reads one "
                              "already made; give one of them", markup=False)
            raise typer.Exit(code=2)
        from triangulate.cli.publish import publish_now

        # Only the year asked for, if one is: a view of one year needs no other year counted and controlled.
        publication = publish_now(store, publications_root(store), engine=engine, years=year).folder
    try:
        published = resolve_publication(publication or store)
        written = write_view(published, out, area=area or ALL_AREAS, year=year or ALL_YEARS)
    except (PublicationError, ReportError) as problem:
        err_console.print(f"Nothing written: {problem}", markup=False)
        raise typer.Exit(code=2) from None
    for name, (path, rows) in written.items():
        console.print(f"  {name:<28} {rows:>8,} rows  {path}")
    console.print(f"Metadata: {Path(out) / 'metadata.json'} (publication {published.version})")
