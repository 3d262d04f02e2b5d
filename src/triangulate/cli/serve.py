"""``triangulate serve`` and ``triangulate createuser``: the dashboard and its users."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console


@app.command()
def serve(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The linked DuckDB store."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    app_db: Optional[Path] = typer.Option(None, "--app-db", help="SQLite file for users and the audit log."),
    trusted_proxy: Optional[str] = typer.Option(
        None, "--trusted-proxy", envvar="TRIANGULATE_TRUSTED_PROXY",
        help="The address of the TLS proxy in front (e.g. 127.0.0.1): its X-Forwarded-Proto and -For are "
             "believed, nobody else's. See docs/security.md."),
) -> None:
    """Start the dashboard (Django 5.2 on waitress). PostgreSQL: set TRIANGULATE_DATABASE_URL."""
    from triangulate.store.parquet import is_zone
    from triangulate.web import server

    if is_zone(store):
        from triangulate.publish.publication import publications_root
        from triangulate.store import StoreError
        from triangulate.store.parquet import read_manifest

        try:
            source = Path(read_manifest(store, verify=False).get("written_from") or "triangulate.duckdb")
        except StoreError:
            source = Path("triangulate.duckdb")
        err_console.print(f"No dashboard: {store} is a Parquet zone, which holds no identities for the screening "
                          f"page. Serve the DuckDB store it was written from (--store {source}); the dashboard "
                          f"reads the publications beside it, so publish from the zone with --out "
                          f"{publications_root(source)}", markup=False)
        raise typer.Exit(code=2)
    if not store.is_file():
        err_console.print(f"No dashboard: no store at {store}; ingest and link first", markup=False)
        raise typer.Exit(code=2)
    server.configure(store, app_db=app_db)
    server.migrate()
    behind = f", behind the proxy at {trusted_proxy}" if trusted_proxy else ""
    console.print(f"Dashboard on http://{host}:{port}/ (store {store}{behind}); Ctrl+C stops it")
    server.serve(host, port, trusted_proxy=trusted_proxy)

@app.command()
def createuser(
    name: str = typer.Argument(..., help="The user name."),
    role: str = typer.Option(..., "--role", help="viewer, analyst, screener or admin."),
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The store the dashboard serves."),
    app_db: Optional[Path] = typer.Option(None, "--app-db", help="SQLite file for users and the audit log."),
) -> None:
    """Create a dashboard user with a role (the password is read from TRIANGULATE_PASSWORD,
    standard input, or a prompt; never echoed or logged)."""
    from triangulate.web import server

    password = os.environ.get("TRIANGULATE_PASSWORD")
    if password is None:
        password = (sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty()
                    else typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    server.configure(store, app_db=app_db)
    server.migrate()
    from django.core.exceptions import ValidationError

    try:
        server.create_user(name, role, password)
    except (ValueError, ValidationError) as problem:
        message = "; ".join(problem.messages) if isinstance(problem, ValidationError) else str(problem)
        err_console.print(f"No user created: {message}", markup=False)
        raise typer.Exit(code=2) from None
    console.print(f"User {name} has the role {role}")
