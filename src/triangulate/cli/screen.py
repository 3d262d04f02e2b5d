"""``triangulate screen``: pre-screen a custody or court list (the result names people)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console, progress_bars


@app.command()
def screen(
    listing: Path = typer.Argument(..., help="The day's custody or court list (CSV; docs/screening.md)."),
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The linked DuckDB store."),
    out: Path = typer.Option(..., "--out", help="Where to write the screening result (CSV)."),
    on: Optional[str] = typer.Option(None, "--date", help="The list's date, YYYY-MM-DD (default: today)."),
) -> None:
    """Screen a day's custody or court list against the linked records: who is known to mental
    health services, who is a repeat attendee, what L&D did last time. The result names people."""
    from rich.table import Table

    from triangulate.link.run import LinkError
    from triangulate.link.screen import NOTICE, screen as run_screen
    from triangulate.link.screen_list import ScreenListError

    try:
        today = date.fromisoformat(on) if on else None
    except ValueError:
        err_console.print("Not screened: --date must be a date as YYYY-MM-DD", markup=False)
        raise typer.Exit(code=2) from None
    try:
        with progress_bars() as progress:
            result = run_screen(store, listing, today=today, progress=progress)
    except ScreenListError as problem:
        err_console.print(f"Not screened, the list has problems (nothing was scored):\n{problem}",
                          markup=False)
        raise typer.Exit(code=2) from None
    except LinkError as refusal:
        err_console.print(f"Not screened: {refusal}", markup=False)
        raise typer.Exit(code=2) from None
    path = result.write_csv(out)
    counts = result.counts
    summary = Table(title=f"Screened {len(result.rows):,} listed people against "
                          f"{result.records_searched:,} records in {result.seconds:.1f} s",
                    title_justify="left")
    for column in ("known to mental health services", "people"):
        summary.add_column(column, justify="right" if column == "people" else "left")
    for answer in ("yes", "possible", "no"):
        summary.add_row(answer, f"{counts[answer]:,}")
    summary.add_row("repeat attendees", f"{sum(r.repeat_attendee for r in result.rows):,}")
    console.print(summary)
    console.print(f"Result, sorted by who to see first: {path}")
    console.print(NOTICE, markup=False)
