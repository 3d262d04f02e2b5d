"""Conformance: the publication is the same on Spark as on DuckDB.

The measures are written once as Ibis expressions; this reads every measure's fine counts on both
engines over one small synthetic store (linked from its ground truth), then makes the publication
from each, unsuppressed and under the NHS England rule, and compares them row by row.
"""

from __future__ import annotations

import math

import pytest

from triangulate.disclosure import NHS_ENGLAND
from triangulate.ingest import ingest
from triangulate.measures import measures
from triangulate.publish.compute import compute_from_fine, fine_counts
from triangulate.synth import write_synthetic_extracts

from .conftest import KEY, link_from_truth

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engines")
    result = write_synthetic_extracts(folder / "synth", people=200, seed=7)
    store = folder / "store.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], store, key=KEY)
    link_from_truth(store, result.truth_file)
    return fine_counts(store, "duckdb"), fine_counts(store, "spark")


def _rows(table) -> list[tuple]:
    def key(value):
        if isinstance(value, float):
            return ("nan",) if math.isnan(value) else ("num", round(value, 6))
        return ("val", str(value))

    return sorted(tuple(key(v) for v in row.values()) for row in table.to_pylist())


@pytest.mark.parametrize("rule", [None, NHS_ENGLAND], ids=["unsuppressed", "nhs_england"])
def test_the_publication_is_the_same_on_spark_as_on_duckdb(engines, rule):
    on_duckdb, on_spark = (compute_from_fine(f, rule=rule).tables for f in engines)
    assert set(on_duckdb) == set(on_spark) == {m.name for m in measures()}
    for name in on_duckdb:
        a, b = on_duckdb[name], on_spark[name]
        assert a.column_names == b.column_names, name
        assert a.num_rows == b.num_rows > 0, name
        assert _rows(a) == _rows(b), name
