"""The ``triangulate`` command: one thin function per verb; the work lives in the rooms."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(
    help="Triangulate: ingest, link and measure data on mental health and the justice pathway.",
    no_args_is_help=True,
    add_completion=False,
)
standard_app = typer.Typer(help="The data standard: tables, fields and code lists.", no_args_is_help=True)
app.add_typer(standard_app, name="standard")

# Off a terminal (CI logs, a file) Rich would wrap tables at 80 columns and cut figures short;
# a wider page keeps every figure whole. COLUMNS still wins where it is set. Sentences (messages,
# errors, paths) are never wrapped: a path or a figure cut by a line break cannot be copied or
# searched for, and what a message says must not depend on the width of the terminal.
_PAGE_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
console = Console(width=_PAGE_WIDTH, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, width=_PAGE_WIDTH, soft_wrap=True)


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debugging detail (never values)."),
) -> None:
    """Log lines go to stderr as ``logger: message``; the rooms never log identifying values."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(name)s: %(message)s",
                        force=True)


@contextlib.contextmanager
def progress_bars(console: Console = err_console) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(description, completed, total)`` callback drawing one Rich bar per stage.

    The rooms report progress through a plain callback so they stay free of any UI library. A
    description ``"Bar: detail"`` updates the bar named ``Bar`` and shows the detail, so a job of
    many short steps draws one bar rather than one per step.
    """
    if not console.is_terminal:
        # Not a terminal (a log file, CI, a supervising process): one plain line per update.
        def line(description: str, completed: int, total: int) -> None:
            console.print(f"{description}: {completed:,} of {total:,}", markup=False)

        yield line
        return
    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as bars:
        def update(description: str, completed: int, total: int) -> None:
            bar = description.split(":", 1)[0]
            if bar not in tasks:
                tasks[bar] = bars.add_task(description, total=total)
            bars.update(tasks[bar], description=description, completed=completed, total=total)

        yield update


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


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the demo's files."),
    people: int = typer.Option(50_000, "--people", min=100, help="Size of the synthetic cohort."),
    seed: int = typer.Option(2026, "--seed"),
) -> None:
    """Run the main job on the embedded default: synthesise, ingest, summarise."""
    from triangulate.demo import run_demo

    run_demo(out, people=people, seed=seed, console=console, progress_bars=progress_bars)


@app.command()
def link(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The DuckDB store file."),
    threshold: Optional[float] = typer.Option(
        None, "--threshold", help="Match probability at which records are one person (default 0.999)."),
    evaluate: Optional[Path] = typer.Option(
        None, "--evaluate", help="Ground-truth CSV: measure the latest link against it instead of linking."),
    report_dir: Optional[Path] = typer.Option(
        None, "--report-dir", help="With --evaluate: folder for the charts page and clerical-review sample."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default) or spark (local mode)."),
) -> None:
    """Link every agency record into people and write a pseudonymous person key to each content
    record; or, with --evaluate, measure the latest link against a ground truth."""
    from triangulate.link import DEFAULT_THRESHOLD, LinkError, evaluate as run_evaluate, link as run_link

    try:
        if evaluate is not None:
            result = run_evaluate(store, evaluate, report_dir)
            for name, value in result.items():
                console.print(f"{name.replace('_', ' '):<26} {value:,.4f}" if isinstance(value, float)
                              else f"{name.replace('_', ' '):<26} {value:,}" if isinstance(value, int)
                              else f"{name.replace('_', ' '):<26} {value}", markup=False)
            return
        with progress_bars() as progress:
            report = run_link(store, engine=engine, threshold=threshold or DEFAULT_THRESHOLD, progress=progress)
    except LinkError as refusal:
        err_console.print(f"Not linked: {refusal}", markup=False)
        raise typer.Exit(code=2) from None
    for line in report.lines():
        console.print(line, markup=False)


class DisclosurePreset(str, Enum):
    nhs_england = "nhs_england"
    ons_sro = "ons_sro"


@app.command()
def measures(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The linked DuckDB store."),
    out: Path = typer.Option(..., "--out", help="Folder for one CSV per measure and metadata.json."),
    area: Optional[list[str]] = typer.Option(None, "--area", help="ONS local authority code (repeatable)."),
    period: Optional[str] = typer.Option(None, "--period", help="FROM:TO, ISO dates (e.g. 2022-04-01:2023-03-31)."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default) or spark."),
    rule: DisclosurePreset = typer.Option(DisclosurePreset.nhs_england, "--rule",
                                          help="Disclosure rule applied to every table."),
    unsuppressed: bool = typer.Option(
        False, "--unsuppressed", help="Write counts without disclosure control (never for publication)."),
) -> None:
    """Write every measure as a disclosure-controlled CSV plus one metadata JSON."""
    from triangulate.disclosure import preset
    from triangulate.measures import MeasuresError, write_measures

    if unsuppressed:
        err_console.print("WARNING: --unsuppressed writes small counts that can identify people. The output "
                          "is not for publication; metadata.json records that it is unsuppressed.", markup=False)
    try:
        with progress_bars() as progress:
            report = write_measures(store, out, area=area or None, period=period, engine=engine,
                                    unsuppressed=unsuppressed, rule=preset(rule.value),
                                    progress=lambda name, i, n: progress(f"Measures: {name}", i, n))
    except MeasuresError as problem:
        err_console.print(f"Cannot measure: {problem}", markup=False)
        raise typer.Exit(code=2) from None
    for name, path in report.files.items():
        console.print(f"  {name:<24} {report.rows[name]:>7,} rows  {path}")
    console.print(f"Metadata: {report.metadata_file}")
    for note in report.notes:
        console.print(f"Note: {note}")


@standard_app.command("docs")
def standard_docs(
    out: Path = typer.Option(Path("docs/data-standard.md"), "--out", help="Where to write the page."),
) -> None:
    """Write the human-readable data standard generated from the schemas and code lists."""
    from triangulate.standard.docs import render_markdown

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(), encoding="utf-8")
    console.print(f"Wrote {out}")


def _register_rooms() -> None:
    """Verbs whose command functions live in their own room (each room owns its ``commands.py``)."""
    from triangulate.link.screen_commands import register as screen
    from triangulate.report.commands import register as report
    from triangulate.web.commands import register as web

    for register in (screen, report, web):
        register(app)


_register_rooms()


if __name__ == "__main__":  # pragma: no cover
    app()
