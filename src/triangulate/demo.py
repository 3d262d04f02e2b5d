"""The demo: the main job end to end on the embedded default (synthetic data, DuckDB file).

Each later stage of the pipeline (link, measures, report, dashboard) adds a step here, so
``make demo`` always shows the whole product working on data anyone may see.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEMO_KEY_NOTE = (
    "A demo pseudonymisation key was generated for this synthetic data and kept in {path}, "
    "outside the store. Real data needs a key of its own (TRIANGULATE_KEY or --key-file)."
)


def demo_key(out_dir: Path) -> tuple[bytes, Path | None]:
    """The key for the demo: ``TRIANGULATE_KEY`` if set, else a random key kept beside the store.

    The key file is created once and reused, so re-running the demo keeps record keys stable.
    """
    env = os.environ.get("TRIANGULATE_KEY")
    if env:
        return env.encode("utf-8"), None
    path = out_dir / "demo.key"
    if not path.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip().encode("utf-8"), path


def run_demo(out_dir: Path, *, people: int, seed: int, console: Console, progress_bars) -> Path:
    from triangulate.ingest import ingest
    from triangulate.store import connect, summary
    from triangulate.synth import write_synthetic_extracts

    out_dir = Path(out_dir)
    synthetic = out_dir / "synthetic"
    store = out_dir / "triangulate.duckdb"
    console.rule("1. Synthesise")
    with progress_bars() as progress:
        result = write_synthetic_extracts(synthetic, people=people, seed=seed, fmt="csv",
                                          noise="default", progress=progress)
    console.print(f"{sum(result.records.values()):,} records for {result.people:,} synthetic people "
                  f"in {result.seconds:.1f} s; ground truth kept apart in {result.truth_file}")

    console.rule("2. Ingest")
    key, key_path = demo_key(out_dir)
    if key_path is not None:
        console.print(DEMO_KEY_NOTE.format(path=key_path))
    # A fresh store each run, so the accounting shown is this run's.
    for stale in (store, store.with_name(store.name + ".wal"), store.with_name(store.name + ".rejects")):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    paths = [result.files[t] for t in result.files if t != "population"] + [result.files["population"]]
    with progress_bars() as progress:
        report = ingest(paths, store, key, progress=progress)
    console.print(report.accounting_table())

    console.rule("3. Link")
    from triangulate.link import evaluate, link

    with progress_bars() as progress:
        linked = link(store, progress=progress)
    for line in linked.lines():
        console.print(line, markup=False)
    quality = evaluate(store, result.truth_file)
    console.print(
        f"Link quality against the synthetic truth: pairwise precision {quality['precision']:.4f}, "
        f"recall {quality['recall']:.4f}, F1 {quality['f1']:.4f}; "
        f"{quality['people_split']:.2%} of true people split across person keys, "
        f"{quality['clusters_mixing_people']:,} person keys mixing two or more true people")

    console.rule("4. What is in the store")
    with connect(store, read_only=True) as con:
        facts = summary(con)
    console.print(summary_tables(facts))
    console.print(f"Store: {store}")
    return store


#: Titles that say what is counted: records, not people (people exist only after linkage).
SUMMARY_TITLES = {
    "records_per_table": "Records per table",
    "ethnic_mix": "Ethnic mix of agency records, as each agency recorded it (NHS 2001 groups: Chinese under Other)",
    "needs_recorded": "Needs recorded (rows of the need table)",
}


def summary_tables(facts) -> Table:
    """One table per fact the summary returns, one under another."""
    grid = Table.grid(padding=(0, 4))
    columns = []
    for key, rows in facts.items():
        t = Table(title=SUMMARY_TITLES.get(key, key.replace("_", " ").capitalize()), title_justify="left")
        if not rows:
            continue
        header = list(rows[0].keys())
        for h in header:
            t.add_column(h.replace("_", " "), justify="right" if isinstance(rows[0][h], (int, float)) else "left")
        for r in rows:
            t.add_row(*(f"{v:,}" if isinstance(v, int) else (f"{v:.1f}" if isinstance(v, float) else str(v))
                        for v in r.values()))
        columns.append(t)
    for t in columns:
        grid.add_row(t)
    return grid
