"""``triangulate provision``: the service directory (import, export, the template, its history)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console

provision_app = typer.Typer(help="The service directory: import, export, the template to fill in.",
                            no_args_is_help=True)
app.add_typer(provision_app, name="provision")

STORE = typer.Option(Path("triangulate.duckdb"), "--store", help="The DuckDB store file.")


@provision_app.command("import")
def provision_import(
    path: Path = typer.Argument(..., help="HSDS JSON (.json), an HSDS tabular package (a folder with "
                                          "services.csv) or the filled-in template (.xlsx or .csv)."),
    store: Path = STORE,
    by: Optional[str] = typer.Option(None, "--by", help="Who is importing (default: your login name)."),
    replace: bool = typer.Option(False, "--replace", help="The file is the whole directory: end services not in it."),
) -> None:
    """Validate a service directory and merge it into the store as a new version (all or nothing)."""
    from triangulate.provision import DirectoryRefused, import_directory
    from triangulate.store import StoreError

    try:
        r = import_directory(path, store, by=by, replace=replace)
    except DirectoryRefused as refused:
        err_console.print(f"Refused: {refused}", markup=False)
        raise typer.Exit(code=2) from None
    except StoreError as failure:
        err_console.print(f"Failed, nothing was imported: {failure}", markup=False)
        raise typer.Exit(code=1) from None
    if r.version is None:
        console.print(f"{r.source}: {r.services_in_file:,} services, all as stored already; no new version.",
                      markup=False)
        return
    console.print(f"{r.source}: version {r.version} of the directory: {r.added:,} added, {r.changed:,} changed, "
                  f"{r.unchanged:,} unchanged, {r.ended:,} ended.", markup=False)


@provision_app.command("export")
def provision_export(
    out: Path = typer.Option(..., "--out", help="File (oruk-json, template) or folder (csv) to write."),
    fmt: str = typer.Option("oruk-json", "--format", help="oruk-json, csv (the HSDS tabular package) or template."),
    store: Path = STORE,
    version: Optional[int] = typer.Option(None, "--version", help="A past version (default: the latest)."),
) -> None:
    """Write the directory as ORUK JSON, as the HSDS tabular CSV package, or as the template to edit."""
    from triangulate.provision import load_services, write_json, write_package, write_template
    from triangulate.store import StoreError

    if fmt not in ("oruk-json", "csv", "template"):
        err_console.print("--format must be oruk-json, csv or template", markup=False)
        raise typer.Exit(code=2)
    try:
        services = load_services(store, version)
    except StoreError as failure:
        err_console.print(str(failure), markup=False)
        raise typer.Exit(code=1) from None
    if not services:
        err_console.print(f"No services in the directory of {store}: import one first "
                          "(`triangulate provision template` writes a sheet to fill in).", markup=False)
        raise typer.Exit(code=1)
    if fmt == "csv":
        counts = write_package(services, out)
        console.print(f"Wrote {out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v), markup=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    (write_json if fmt == "oruk-json" else lambda s, p: write_template(p, s))(services, out)
    console.print(f"Wrote {out}: {len(services):,} services", markup=False)


@provision_app.command("template")
def provision_template(
    out: Path = typer.Option(Path("service-directory.xlsx"), "--out", help="The spreadsheet to write (.xlsx)."),
) -> None:
    """Write the one-sheet spreadsheet a commissioner fills in (with a sheet of the codes), to import."""
    from triangulate.provision import write_template

    out.parent.mkdir(parents=True, exist_ok=True)
    write_template(out)
    console.print(f"Wrote {out}: fill in the Services sheet, then `triangulate provision import {out.name}`.",
                  markup=False)


@provision_app.command("history")
def provision_history(store: Path = STORE) -> None:
    """Every version of the directory: when, by whom, from which file, what changed."""
    from rich.table import Table

    from triangulate.provision import history
    from triangulate.store import StoreError, connect

    try:
        con = connect(store, read_only=True)
    except StoreError as failure:
        err_console.print(str(failure), markup=False)
        raise typer.Exit(code=1) from None
    rows = history(con)
    con.close()
    if not rows:
        console.print("No directory has been imported into this store.", markup=False)
        return
    t = Table("version", "imported (UTC)", "by", "file", "added", "changed", "ended")
    for r in rows:
        t.add_row(str(r["version"]), r["created_at"].isoformat(timespec="seconds"), r["created_by"], r["source"],
                  f"{r['added']:,}", f"{r['changed']:,}", f"{r['ended']:,}")
    console.print(t)
