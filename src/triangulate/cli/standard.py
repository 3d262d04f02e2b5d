"""``triangulate standard``: the data standard's tables, fields and code lists."""

from __future__ import annotations

from pathlib import Path

import typer

from triangulate.cli.app import app, console

standard_app = typer.Typer(help="The data standard: tables, fields and code lists.", no_args_is_help=True)
app.add_typer(standard_app, name="standard")


@standard_app.command("docs")
def standard_docs(
    out: Path = typer.Option(Path("docs/data-standard.md"), "--out", help="Where to write the page."),
) -> None:
    """Write the human-readable data standard generated from the schemas and code lists."""
    from triangulate.standard.docs import render_markdown

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(), encoding="utf-8")
    console.print(f"Wrote {out}")
