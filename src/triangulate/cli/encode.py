"""``triangulate encode``: an agency encodes its own extracts before they leave it."""

from __future__ import annotations

from pathlib import Path

import typer

from triangulate.cli.app import app, console, err_console


@app.command()
def encode(
    extracts: list[Path] = typer.Argument(..., help="The agency's extracts (CSV, Parquet or Excel) of the data standard: "
                                          "its agency tables and its needs."),
    secret: Path = typer.Option(..., "--secret", help="The project's linkage secret file (mode 600, at least 32 bytes), "
                                "the same for every agency of the project."),
    out: Path = typer.Option(Path("encoded"), "--out", help="Folder for the encoded extracts (written mode 600)."),
) -> None:
    """Check each extract as the ingest will, then write it with the names, date of birth, postcode, NHS
    number and PNC ID replaced by one encoding (identity_encoding) and the age at each event worked out
    here; send what it writes in place of the extract. See docs/linkage.md, "Linkage without names"."""
    from triangulate.link import LinkError
    from triangulate.link.agency import encode_extract
    from triangulate.link.encode import load_secret

    try:
        key = load_secret(secret)
        done = [encode_extract(path, key, out) for path in extracts]
    except LinkError as refusal:
        err_console.print(str(refusal), markup=False)
        raise typer.Exit(code=2) from None
    for result in done:
        console.print(f"{result.source.name}: {result.rows:,} rows of {result.table} encoded to {result.out}", markup=False)
    console.print("Nothing identifying is left in them; the secret stays with you (the service needs it only to "
                  "encode extracts that arrive plain).", markup=False)
