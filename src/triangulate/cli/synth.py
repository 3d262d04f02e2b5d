"""``triangulate synth``: write a synthetic multi-agency population."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from triangulate.cli.app import app, console, progress_bars


class ExtractFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


class NoiseLevel(str, Enum):
    low = "low"
    default = "default"
    high = "high"


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the extracts, population and truth into."),
    people: int = typer.Option(50_000, "--people", min=1, help="People with at least one agency contact."),
    seed: int = typer.Option(2026, "--seed", help="Random seed: the same seed writes the same bytes."),
    fmt: ExtractFormat = typer.Option(ExtractFormat.csv, "--format", help="File format of the extracts."),
    noise: NoiseLevel = typer.Option(NoiseLevel.default, "--noise", help="How noisy the identifiers are."),
) -> None:
    """Write a synthetic multi-agency population: one extract per agency, a population file and,
    apart from them, the ground truth (the true person of every record)."""
    from triangulate.synth import write_synthetic_extracts

    with progress_bars() as progress:
        result = write_synthetic_extracts(out, people=people, seed=seed, fmt=fmt.value,
                                          noise=noise.value, progress=progress)
    total = sum(result.records.values())
    console.print(f"Wrote {total:,} records for {result.people:,} people to {out} in {result.seconds:.1f} s")
    for table, n in result.records.items():
        console.print(f"  {table:<24} {n:>10,}  {result.files[table]}")
    console.print(f"Ground truth (keep apart from the extracts): {result.truth_file}")
