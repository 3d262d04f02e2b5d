"""The ``triangulate`` command: one thin function per verb; the work lives in the rooms."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(
    help="Triangulate: ingest, link and measure data on mental health and the justice pathway.",
    no_args_is_help=True,
    add_completion=False,
)
standard_app = typer.Typer(help="The data standard: tables, fields and code lists.", no_args_is_help=True)
app.add_typer(standard_app, name="standard")

console = Console()
err_console = Console(stderr=True)


@standard_app.command("docs")
def standard_docs(
    out: Path = typer.Option(Path("docs/data-standard.md"), "--out", help="Where to write the page."),
) -> None:
    """Write the human-readable data standard generated from the schemas and code lists."""
    from triangulate.standard.docs import render_markdown

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(), encoding="utf-8")
    console.print(f"Wrote {out}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
