"""``triangulate ingest``: validate, split, pseudonymise and load extracts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console, progress_bars


@app.command()
def ingest(
    paths: Optional[list[Path]] = typer.Argument(
        None, help="Extract files, or folders of them (CSV, Parquet, XLSX); none with --parquet to write only the zone."),
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The DuckDB store file."),
    key_file: Optional[Path] = typer.Option(
        None, "--key-file", help="File holding the pseudonymisation key (else TRIANGULATE_KEY)."),
    rejects: Optional[Path] = typer.Option(
        None, "--rejects", help="Folder for rejects files (default: beside the store)."),
    parquet: Optional[Path] = typer.Option(
        None, "--parquet", help="Also write the store's Parquet zone (everything but identifiers) to this folder, "
        "kept up to date by later commands; what Spark reads at scale."),
) -> None:
    """Validate extracts against the data standard, split identifiers from content, pseudonymise
    and load them atomically; every row is loaded or written to a rejects file."""
    from triangulate.ingest import IngestFailed, IngestRefused, ingest as run_ingest, load_key
    from triangulate.store import StoreError
    from triangulate.store.parquet import ZoneNotWritten

    if not paths:
        if parquet is None:
            err_console.print("Give the extracts to load (files or folders), or --parquet FOLDER to write only the "
                              "store's Parquet zone.", markup=False)
            raise typer.Exit(code=2)
        _zone_only(store, parquet)
        return
    try:
        key = load_key(key_file)
        with progress_bars() as progress:
            report = run_ingest(paths, store, key, rejects_dir=rejects, progress=progress, parquet=parquet)
    except IngestRefused as refusal:
        err_console.print(f"Refused, nothing was loaded: {refusal}", markup=False)
        raise typer.Exit(code=2) from None
    except ZoneNotWritten as failure:  # before StoreError: the load itself was committed
        err_console.print(str(failure), markup=False)
        raise typer.Exit(code=1) from None
    except (IngestFailed, StoreError) as failure:
        err_console.print(f"Failed, nothing was loaded: {failure}", markup=False)
        raise typer.Exit(code=1) from None
    console.print(report.accounting_table())


def _zone_only(store: Path, folder: Path) -> None:
    from triangulate.store import StoreError
    from triangulate.store.parquet import attach

    if not store.is_file():
        err_console.print(f"No store at {store}: load extracts first (with --parquet to write its zone too).",
                          markup=False)
        raise typer.Exit(code=1)
    try:
        manifest = attach(store, folder)
    except StoreError as failure:
        err_console.print(f"Failed: {failure}", markup=False)
        raise typer.Exit(code=1) from None
    rows = sum(t["rows"] for t in manifest["tables"].values())
    console.print(f"Wrote the Parquet zone {folder}: {len(manifest['tables'])} tables, {rows:,} rows; "
                  "later commands on the store keep it up to date.", markup=False)
