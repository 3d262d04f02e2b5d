"""Conformance: the publication is the same on Spark as on DuckDB.

The measures are written once as Ibis expressions; this reads every measure's fine counts on both
engines over one small synthetic store (linked from its ground truth), compares them row by row,
then makes the unsuppressed publication from each and compares that row by row. Disclosure control
works on the fine counts alone (``compute_from_fine``, the same code whichever engine read them), so
equal fine counts give the same controlled publication; protecting both here would add two minutes
and test nothing the engines do.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from triangulate.ingest import ingest
from triangulate.measures import measures
from triangulate.publish.compute import compute_from_fine, fine_counts
from triangulate.survey import ingest_responses, load_form
from triangulate.survey.exports import Layout, write_export
from triangulate.survey.synthetic import synthetic_responses
from triangulate.synth import link_from_truth, write_synthetic_extracts

from .conftest import KEY, code_free_text

#: One worker builds this module's fixture and runs its tests (make test runs with --dist loadgroup): split
#: across two, each worker built it again.
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark-engines")]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engines")
    result = write_synthetic_extracts(folder / "synth", people=200, seed=7)
    store = folder / "store.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], store, key=KEY)
    link_from_truth(store, result.truth_file)
    form = load_form().without_licensed()  # and survey answers, which Spark reads from the survey schema
    export = write_export(Layout("redcap", form), synthetic_responses(60, seed=7, form=form, start=dt.date(2024, 4, 1)),
                          folder / "survey.csv")
    ingest_responses(export, store, KEY, area="E09000022", form=form, today=dt.date(2026, 1, 1))
    code_free_text(store, folder)  # and coded themes, which Spark reads too
    return fine_counts(store, "duckdb"), fine_counts(store, "spark")


def _rows(table) -> list[tuple]:
    def key(value):
        if isinstance(value, float):
            return ("nan",) if math.isnan(value) else ("num", round(value, 6))
        return ("val", str(value))

    return sorted(tuple(key(v) for v in row.values()) for row in table.to_pylist())


def test_every_fine_count_is_the_same_on_spark_as_on_duckdb(engines):
    on_duckdb, on_spark = engines
    assert set(on_duckdb) == set(on_spark) == {m.name for m in measures()}
    for name, counts in on_duckdb.items():
        assert set(counts) == set(on_spark[name]), name
        for count, a in counts.items():
            b = on_spark[name][count]
            assert sorted(a.column_names) == sorted(b.column_names), (name, count)
            assert a.num_rows == b.num_rows, (name, count)
            assert _rows(a.select(sorted(a.column_names))) == _rows(b.select(sorted(b.column_names))), (name, count)


def test_the_publication_is_the_same_on_spark_as_on_duckdb(engines):
    on_duckdb, on_spark = (compute_from_fine(f, rule=None).tables for f in engines)
    assert set(on_duckdb) == set(on_spark) == {m.name for m in measures()}
    for name in on_duckdb:
        a, b = on_duckdb[name], on_spark[name]
        assert a.column_names == b.column_names, name
        assert a.num_rows == b.num_rows > 0, name
        assert _rows(a) == _rows(b), name
