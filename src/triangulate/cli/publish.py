"""``triangulate publish``: every measure in every view, disclosure-controlled once, as a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console, progress_bars


@app.command()
def publish(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The linked DuckDB store, or its Parquet zone folder (ingest --parquet)."),
    rule: str = typer.Option("nhs_england", "--rule", help="Disclosure rule: nhs_england or ons_sro."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder of publications (default: beside the store)."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default) or spark."),
    years: Optional[str] = typer.Option(None, "--years", help="Financial years to publish, comma-separated "
                                                              "(e.g. 2023/24,2024/25); default: every year."),
    pooled: bool = typer.Option(True, "--pooled/--no-pooled", help="Also publish periods of three financial years "
                                "(all people), for trends in small areas; --no-pooled is quicker on large stores."),
    charts: bool = typer.Option(True, "--charts/--no-charts", help="Draw every view's charts into the publication "
                                "(default); --no-charts is quicker on large stores, and the dashboard then draws "
                                "each chart when its page is first asked for."),
    unsuppressed: bool = typer.Option(False, "--unsuppressed",
                                      help="The analysts' unsuppressed publication (never for release)."),
    audit: bool = typer.Option(False, "--audit", help="Attack the new publication and report every suppressed "
                                                      "cell's range (slow on large stores)."),
    audit_sample: Optional[int] = typer.Option(20, "--audit-sample", help="Suppressed counts per group of linked "
                                               "quantities the audit's linear programme attacks (0: propagation "
                                               "only; every count is always attacked by propagation)."),
    list_: bool = typer.Option(False, "--list", help="List the publications and stop."),
    remove: Optional[str] = typer.Option(None, "--remove", help="Remove one version (e.g. v0001) and stop."),
) -> None:
    """Compute every registered measure for every area, year and group at once, control disclosure across
    all of them together, and write a new publication version (Parquet + manifest)."""
    from triangulate.publish.publication import (PublicationError, publications_root, read_publication,
                                                 remove_version, versions)
    root = out or publications_root(store, unsuppressed=unsuppressed)
    if list_:
        found = versions(root)
        if not found:
            console.print(f"No publications under {root}")
        for folder in found:
            m = read_publication(folder).manifest
            console.print(f"{m['version']}  {m['created_at']}  rule {(m['rule'] or {}).get('name', 'unsuppressed')}  "
                          f"{sum(e['rows'] for e in m['measures']):,} rows")
        return
    if remove:
        try:
            remove_version(root, remove)
        except PublicationError as problem:
            err_console.print(f"Nothing removed: {problem}", markup=False)
            raise typer.Exit(code=2) from None
        console.print(f"Removed {remove} from {root}")
        return
    published = publish_now(store, root, rule=rule, engine=engine, unsuppressed=unsuppressed, charts=charts,
                            pooled=pooled, years=years)
    if audit:
        from triangulate.publish.audit import audit_publication

        with progress_bars() as progress:
            result = audit_publication(published.folder, sample=audit_sample, progress=progress)
        console.print(result.summary(), markup=False)
        if not result.passed:
            raise typer.Exit(code=1)


def publish_now(store: Path, root: Path, *, rule: str = "nhs_england", engine: str = "duckdb",
                unsuppressed: bool = False, charts: bool = True, pooled: bool = True, years: str | None = None):
    """Write a new publication of ``store`` under ``root`` as ``triangulate publish`` does, printing what
    it wrote; a refusal is printed and exits 2. Returns the publication."""
    from triangulate.disclosure import preset
    from triangulate.measures import MeasuresError
    from triangulate.publish.publication import PublicationError, write_publication

    try:
        chosen = None if unsuppressed else preset(rule)
    except ValueError:
        err_console.print(f"Not published: unknown disclosure rule {rule!r}; use nhs_england or ons_sro", markup=False)
        raise typer.Exit(code=2) from None
    from triangulate.derived import derived_tables  # the writers' parts, not needed to list or remove
    from triangulate.provision import published_directory
    from triangulate.report.build import draw_charts
    from triangulate.survey.qda import cleared_quotes

    if unsuppressed:
        err_console.print("WARNING: --unsuppressed writes small counts that can identify people, for analysts only; "
                          "the files are private (mode 600) and the manifest records that they are unsuppressed.",
                          markup=False)
    try:
        with progress_bars() as progress:
            published = write_publication(store, root, rule=chosen, engine=engine, progress=progress,
                                          charts=draw_charts if charts else None,
                                          directory=published_directory, derived=derived_tables, quotes=cleared_quotes, pooled=pooled,
                                          years=[y.strip() for y in years.split(",") if y.strip()] if years else None)
    except (PublicationError, MeasuresError) as problem:
        err_console.print(f"Not published: {problem}", markup=False)
        raise typer.Exit(code=2) from None
    m = published.manifest
    console.print(f"Published {m['version']} to {published.folder}")
    for entry in m["measures"]:
        console.print(f"  {entry['measure']:<28} {entry['rows']:>10,} rows")
    if m["protection"]:
        p = m["protection"]
        console.print(f"Disclosure control ({m['rule']['name']}): {p['primary']:,} small counts suppressed, "
                      f"{p['secondary']:,} more to protect them; every suppressed count's range is at least "
                      f"{m['rule']['protection_width']} wide.")
    console.print("Seconds: " + ", ".join(f"{k} {v}" for k, v in m["timings_seconds"].items()))
    return published
