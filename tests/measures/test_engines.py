"""Conformance: every registered measure gives the same table on Spark as on DuckDB.

The measures are written once as Ibis expressions; this runs each on both engines over one small
synthetic store (linked from its ground truth) and compares the finished tables row by row.
"""

from __future__ import annotations

import math

import pytest

from triangulate.ingest import ingest
from triangulate.measures import REGISTRY, Bases, Filters, connect, measures, run_measure
from triangulate.synth import write_synthetic_extracts

from .conftest import KEY, link_from_truth

pytestmark = pytest.mark.spark

measures()


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engines")
    result = write_synthetic_extracts(folder / "synth", people=200, seed=7)
    store = folder / "store.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], store, key=KEY)
    link_from_truth(store, result.truth_file)
    return Bases(connect(store), Filters()), Bases(connect(store, engine="spark"), Filters())


def _rows(table) -> list[tuple]:
    def key(value):
        if isinstance(value, float):
            return ("nan",) if math.isnan(value) else ("num", round(value, 6))
        return ("val", str(value))

    return sorted(tuple(key(v) for v in row.values()) for row in table.to_pylist())


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_measure_is_the_same_on_spark_as_on_duckdb(engines, name):
    on_duckdb, on_spark = engines
    a = run_measure(REGISTRY[name], on_duckdb)
    b = run_measure(REGISTRY[name], on_spark)
    assert a.column_names == b.column_names
    assert a.num_rows == b.num_rows > 0
    assert _rows(a) == _rows(b)
