"""``triangulate ingest``: validate, split, pseudonymise and load extracts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console, progress_bars


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Extract files, or folders of them (CSV, Parquet, XLSX)."),
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The DuckDB store file."),
    key_file: Optional[Path] = typer.Option(
        None, "--key-file", help="File holding the pseudonymisation key (else TRIANGULATE_KEY)."),
    rejects: Optional[Path] = typer.Option(
        None, "--rejects", help="Folder for rejects files (default: beside the store)."),
) -> None:
    """Validate extracts against the data standard, split identifiers from content, pseudonymise
    and load them atomically; every row is loaded or written to a rejects file."""
    from triangulate.ingest import IngestFailed, IngestRefused, ingest as run_ingest, load_key
    from triangulate.store import StoreError

    try:
        key = load_key(key_file)
        with progress_bars() as progress:
            report = run_ingest(paths, store, key, rejects_dir=rejects, progress=progress)
    except IngestRefused as refusal:
        err_console.print(f"Refused, nothing was loaded: {refusal}", markup=False)
        raise typer.Exit(code=2) from None
    except (IngestFailed, StoreError) as failure:
        err_console.print(f"Failed, nothing was loaded: {failure}", markup=False)
        raise typer.Exit(code=1) from None
    console.print(report.accounting_table())
