"""Conformance: the publication is the same on Spark as on DuckDB, through the command line.

The measures are written once as Ibis expressions. One small synthetic store (linked from its ground
truth, with survey answers and coded themes) is ingested with its Parquet zone; then
``triangulate publish --engine spark`` is run as a user runs it, on the zone (Spark reads the Parquet
files, not the DuckDB file) and on a Spark standalone cluster started for the test (a master and a
worker, reached through ``TRIANGULATE_SPARK_MASTER`` alone), and ``triangulate publish`` on the DuckDB
file, both unsuppressed, and every published table is compared row by row. Disclosure control works on the fine counts alone (the
same code whichever engine read them), so equal unsuppressed tables give the same controlled
publication; protecting both here would add minutes and test nothing the engines do. Nor are charts
drawn (``--no-charts``): they are drawn from the published tables by the same code on either engine.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pyarrow.parquet as pq
import pytest

from triangulate.ingest import ingest
from triangulate.measures import measures
from triangulate.survey import ingest_responses, load_form
from triangulate.survey.exports import Layout, write_export
from triangulate.survey.synthetic import synthetic_responses
from triangulate.synth import link_from_truth, write_synthetic_extracts

from ..conftest import run_cli
from .conftest import KEY, code_free_text

#: One worker builds this module's fixture and runs its tests (make test runs with --dist loadgroup): split
#: across two, each worker built it again.
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark-engines")]


def _publish(store, out, *options: str, env: dict | None = None) -> dict:
    done = run_cli("publish", "--store", str(store), "--out", str(out), "--unsuppressed", "--no-charts", *options,
                   env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    (version,) = [p for p in out.iterdir() if p.name.startswith("v")]
    return {"folder": version, "manifest": json.loads((version / "manifest.json").read_text()), "stderr": done.stderr}


@pytest.fixture(scope="module")
def engines(tmp_path_factory, standalone_spark):
    folder = tmp_path_factory.mktemp("engines")
    result = write_synthetic_extracts(folder / "synth", people=200, seed=7)
    store, zone = folder / "store.duckdb", folder / "zone"
    ingest([result.out_dir / "extracts", result.files["population"]], store, key=KEY, parquet=zone)
    link_from_truth(store, result.truth_file)
    form = load_form().without_licensed()  # and survey answers, which Spark reads from the survey schema
    export = write_export(Layout("redcap", form), synthetic_responses(60, seed=7, form=form, start=dt.date(2024, 4, 1)),
                          folder / "survey.csv")
    ingest_responses(export, store, KEY, area="E09000022", form=form, today=dt.date(2026, 1, 1))
    code_free_text(store, folder)  # and coded themes, which Spark reads too
    # The zone is read by Spark alone: the DuckDB file moved away while Spark publishes shows it is not opened.
    # And Spark is an existing cluster (a master and a worker of their own), reached by settings alone.
    hidden = folder / "elsewhere.duckdb"
    store.rename(hidden)
    try:
        on_spark = _publish(zone, folder / "spark", "--engine", "spark", env={
            "TRIANGULATE_SPARK_MASTER": standalone_spark, "TRIANGULATE_SPARK_EXECUTOR_MEMORY": "1g",
            "TRIANGULATE_SPARK_DRIVER_MEMORY": "2g", "TRIANGULATE_SPARK_EVENT_LOG": str(folder / "events"),
            "TRIANGULATE_SPARK_SHUFFLE_PARTITIONS": "2"})
    finally:
        hidden.rename(store)
    on_spark["events"] = folder / "events"
    return _publish(store, folder / "duckdb"), on_spark


def _rows(table) -> list[tuple]:
    def key(value):
        if isinstance(value, float):
            return ("nan",) if math.isnan(value) else ("num", round(value, 6))
        return ("val", str(value))

    return sorted(tuple(key(v) for v in row.values()) for row in table.to_pylist())


def _published(folder) -> dict:
    return {p.name: pq.read_table(p) for p in sorted(folder.glob("*.parquet"))}


def test_spark_ran_on_the_cluster_named_by_the_settings(engines):
    _, on_spark = engines
    logs = [p for p in on_spark["events"].rglob("events_*") if p.is_file()]  # Spark 4: eventlog_v2_<app>/events_<n>_<app>
    assert logs
    events = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    (environment,) = [e for e in events if e["Event"] == "SparkListenerEnvironmentUpdate"]
    assert environment["Spark Properties"]["spark.master"].startswith("spark://127.0.0.1:")
    executors = {e["Executor ID"] for e in events if e["Event"] == "SparkListenerExecutorAdded"}
    assert executors and "driver" not in executors  # the work went to the worker's executors
    assert any(e["Event"] == "SparkListenerTaskEnd" and e["Task Info"]["Executor ID"] in executors for e in events)
    # Nothing written to disk by Spark: the base tables are kept by the executors (local checkpoints), not
    # as tables in a warehouse folder, which on a cluster of several machines is each one's own disk.
    plans = [e["physicalPlanDescription"] for e in events if e["Event"].endswith("SQLExecutionStart")]
    assert sum("LogicalRDD" in p for p in plans) > 10  # queries read the checkpointed base tables
    assert not [p for p in plans if "InsertInto" in p or "TableAsSelect" in p or "WriteFiles" in p]


def test_every_published_table_is_the_same_on_spark_from_the_zone_as_on_duckdb(engines):
    on_duckdb, on_spark = engines
    assert on_spark["manifest"]["engine"] == "spark" and on_duckdb["manifest"]["engine"] == "duckdb"
    assert "charts" not in on_spark["manifest"] and "charts" not in on_duckdb["manifest"]  # --no-charts
    a, b = _published(on_duckdb["folder"]), _published(on_spark["folder"])
    assert set(a) == set(b)
    assert {f"{m.name}.parquet" for m in measures()} <= set(a)
    for name in a:
        assert a[name].column_names == b[name].column_names, name
        assert a[name].num_rows == b[name].num_rows, name
        assert _rows(a[name]) == _rows(b[name]), name
    for measure in measures():
        assert a[f"{measure.name}.parquet"].num_rows > 0, measure.name
    for key in ("dimensions", "data_period", "area_names", "directory", "quotes", "link_run"):
        assert on_duckdb["manifest"].get(key) == on_spark["manifest"].get(key), key
    # The same store by its fingerprint (only its name differs: the zone's folder against the file).
    assert {k: v for k, v in on_duckdb["manifest"]["store"].items() if k != "name"} == \
        {k: v for k, v in on_spark["manifest"]["store"].items() if k != "name"}

