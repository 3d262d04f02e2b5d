"""A synthetic store for the report tests, linked from its ground truth (linkage is tested elsewhere)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from triangulate.ingest import ingest
from triangulate.standard import AGENCY_TABLES
from triangulate.synth import write_synthetic_extracts

KEY = b"report-test-key-".ljust(64, b"r")


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report-store")
    result = write_synthetic_extracts(folder / "synth", people=3000, seed=2024)
    path = folder / "store.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], path, key=KEY)
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TEMP TABLE truth AS SELECT * FROM read_csv('{result.truth_file}', all_varchar = true)")
    for t in AGENCY_TABLES:
        con.execute(f"""UPDATE content.{t} AS c SET person_key = tr.person_id FROM identity.{t} AS i
            JOIN truth AS tr ON tr.source_table = '{t}' AND tr.source_system = i.source_system
             AND tr.source_record_id = i.source_record_id WHERE i.record_key = c.record_key""")
    con.close()
    return path
