"""``triangulate link``: link records into people, or evaluate the latest link."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console, progress_bars


@app.command()
def link(
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The DuckDB store file."),
    threshold: Optional[float] = typer.Option(
        None, "--threshold", help="Match probability at which records are one person (default: chosen from the data, between 0.5 and 0.999; see docs/linkage.md)."),
    evaluate: Optional[Path] = typer.Option(
        None, "--evaluate", help="Ground-truth CSV: measure the latest link against it instead of linking."),
    report_dir: Optional[Path] = typer.Option(
        None, "--report-dir", help="With --evaluate: folder for the charts page and clerical-review sample."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default) or spark (local mode)."),
    review_sample: Optional[Path] = typer.Option(
        None, "--review-sample", help="Write the latest link's clerical-review sample (with identifiers: "
        "authorised reviewers only) and charts to this folder, without a ground truth."),
    review_marks: Optional[Path] = typer.Option(
        None, "--review-marks", help="A review sample with reviewer_decision filled in (match, non-match, unsure): "
        "keep the marks; every later link re-estimates the model from them and keeps each decision."),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="With --review-marks: who made the marks."),
    train_from_marks: bool = typer.Option(
        False, "--train-from-marks", help="Also re-estimate the model's m probabilities from the pairs marked match "
        "(off by default: a sample of borderline pairs is not representative of matches; docs/linkage.md)."),
    secret: Optional[Path] = typer.Option(
        None, "--secret", help="The project's secret file (mode 600, at least 32 bytes): encode every record "
        "on arrival (CLK Bloom filters, keyed hashes) and link on the encodings alone; see docs/linkage.md."),
) -> None:
    """Link every agency record into people and write a pseudonymous person key to each content
    record; or, with --evaluate, measure the latest link against a ground truth."""
    from triangulate.link import LinkError, evaluate as run_evaluate, link as run_link

    try:
        if review_sample is not None:
            from triangulate.link.evaluate import review_sample as write_sample

            written = write_sample(store, review_sample)
            console.print(f"Clerical-review sample (identifiers: authorised reviewers only): {written['clerical_review']}",
                          markup=False)
            console.print(f"Charts: {written['charts']}", markup=False)
            console.print("Fill in reviewer_decision (match, non-match or unsure) and read it back with "
                          "--review-marks FILE --reviewer NAME", markup=False)
            return
        if review_marks is not None:
            from triangulate.link.review import import_marks

            for line in import_marks(store, review_marks, reviewer or "").lines():
                console.print(line, markup=False)
            return
        if evaluate is not None:
            result = run_evaluate(store, evaluate, report_dir)
            for name, value in result.items():
                if name == "blocking_rules":
                    console.print("blocking rules (true pairs each compares; of them, compared by no other rule):",
                                  markup=False)
                    for r in value:
                        console.print(f"  {r['recall']:.4f}  {r['true_pairs_compared']:>12,}  {r['only_this_rule']:>10,}"
                                      f"  {r['rule']}", markup=False)
                    continue
                console.print(f"{name.replace('_', ' '):<26} {value:,.4f}" if isinstance(value, float)
                              else f"{name.replace('_', ' '):<26} {value:,}" if isinstance(value, int)
                              else f"{name.replace('_', ' '):<26} {value}", markup=False)
            return
        key = None
        if secret is not None:
            from triangulate.link.encode import load_secret

            key = load_secret(secret)
        with progress_bars() as progress:
            report = run_link(store, engine=engine, threshold=threshold, progress=progress, secret=key,
                              train_from_marks=train_from_marks)
    except LinkError as refusal:
        err_console.print(f"Not linked: {refusal}", markup=False)
        raise typer.Exit(code=2) from None
    for line in report.lines():
        console.print(line, markup=False)
