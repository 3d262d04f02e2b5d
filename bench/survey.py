"""Benchmark: ingest survey responses (checked against the form, pseudonymised, loaded) from each
tool's export.

    python bench/survey.py                  # 10,000 responses per tool
    python bench/survey.py --responses 2000

The synthetic export is written first, outside the timing. Each tool's file is ingested twice into
a fresh store: cold (the store created, the form read) and warm (the same file again: every row
checked, found already loaded, nothing written). Wall-clock seconds and the load average are
printed; other work on the machine slows the figures.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from pathlib import Path

from triangulate.survey import ingest_responses, load_form
from triangulate.survey.exports import Layout, write_export
from triangulate.survey.synthetic import synthetic_responses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=10_000)
    args = parser.parse_args()
    form = load_form().without_licensed()
    key = secrets.token_bytes(32)
    started = time.perf_counter()
    responses = synthetic_responses(args.responses, seed=1, form=form)
    print(f"synthesised {len(responses):,} responses in {time.perf_counter() - started:.1f} s (not timed below)")
    with tempfile.TemporaryDirectory() as folder:
        for tool in ("odk", "kobo", "redcap"):
            path = write_export(Layout(tool, form), responses, Path(folder) / f"{tool}.csv")
            store = Path(folder) / f"{tool}.duckdb"
            for run in ("cold", "warm"):
                t0 = time.perf_counter()
                report = ingest_responses(path, store, key, area="E09000022", form=form)
                seconds = time.perf_counter() - t0
                print(f"{tool:6s} {run}: {report.rows_in:,} rows in, {report.loaded:,} loaded, {report.already:,} "
                      f"already, {report.rejected:,} rejected in {seconds:.2f} s "
                      f"({path.stat().st_size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
