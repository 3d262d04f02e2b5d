"""``triangulate demo``: the main job on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, progress_bars


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the demo's files."),
    people: int = typer.Option(50_000, "--people", min=100, help="Size of the synthetic cohort."),
    seed: int = typer.Option(2026, "--seed"),
    years: Optional[str] = typer.Option(None, "--years", help="Financial years to publish, comma-separated "
                                                              "(default: every year in the data)."),
    encoded: bool = typer.Option(False, "--encoded", help="Link on CLK Bloom-filter encodings under a demo secret "
                                 "(link --secret): no name, date of birth or postcode reaches the linker."),
) -> None:
    """Run the main job on the embedded default: synthesise, ingest, link, publish, report, serve."""
    from triangulate.demo import run_demo

    run_demo(out, people=people, seed=seed, console=console, progress_bars=progress_bars,
             years=[y.strip() for y in years.split(",") if y.strip()] if years else None, encoded=encoded)
