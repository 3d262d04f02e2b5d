"""A synthetic store for the report tests, linked from its ground truth (linkage is tested elsewhere)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from triangulate.disclosure import NHS_ENGLAND
from triangulate.ingest import ingest
from triangulate.publish.publication import write_publication
from triangulate.report.build import draw_charts
from triangulate.store.subset import restrict
from triangulate.synth import link_from_truth, write_synthetic_extracts

KEY = b"report-test-key-".ljust(64, b"r")


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report-store")
    result = write_synthetic_extracts(folder / "synth", people=3000, seed=2024)
    path = folder / "store.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], path, key=KEY)
    link_from_truth(path, result.truth_file)
    # One area and two financial years keep publishing quick.
    con = duckdb.connect(str(path), read_only=True)
    areas = [r[0] for r in con.sql("SELECT area_code FROM content.prison_custody GROUP BY 1 ORDER BY count(*) DESC, 1")
             .fetchall()]
    con.close()
    restrict(path, areas=[areas[0]], start=dt.date(2023, 4, 1), end=dt.date(2025, 3, 31))
    write_publication(path, rule=NHS_ENGLAND, charts=draw_charts)
    return path
