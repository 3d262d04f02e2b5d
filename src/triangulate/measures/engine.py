"""Where the measures meet an engine: the only module that knows DuckDB from Spark.

Every measure is an Ibis expression over the store's content zone, so the same code runs on any
backend Ibis supports. This module opens the store for one engine and hands back an Ibis
connection; nothing else in the room imports duckdb or pyspark.
"""

from __future__ import annotations

from pathlib import Path

import ibis

from triangulate.measures.errors import MeasuresError

ENGINES = ("duckdb", "spark")


def connect(store: str | Path, engine: str = "duckdb") -> ibis.BaseBackend:
    """Open ``store`` read-only for the measures on ``engine`` ("duckdb" or "spark")."""
    path = Path(store)
    if engine not in ENGINES:
        raise MeasuresError(f"Unknown engine {engine!r}: use one of {', '.join(ENGINES)}.")
    if not path.is_file():
        raise MeasuresError(
            f"No store at {path}: load extracts with `triangulate ingest` first, or give the path"
            " of an existing store."
        )
    if engine == "duckdb":
        con = ibis.duckdb.connect(str(path), read_only=True)
        con.raw_sql("SET enable_progress_bar = false")
        return con
    return _spark(path)


def _spark(path: Path) -> ibis.BaseBackend:
    # Spark cannot read a DuckDB file: the content zone is copied into Spark tables (under a
    # database named like the zone) so that the measures' `database="content"` lookups resolve.
    import duckdb
    from pyspark.sql import SparkSession

    import tempfile

    # An in-memory catalogue with a throwaway warehouse: nothing is left behind in the working
    # directory, and the copies live only as long as the session.
    session = (
        SparkSession.builder.master("local[2]")
        .appName("triangulate-measures")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="triangulate-spark-"))
        .getOrCreate()
    )
    session.sql("CREATE DATABASE IF NOT EXISTS content")
    with duckdb.connect(str(path), read_only=True) as source:
        names = source.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'content'"
        ).to_arrow_table().column("table_name").to_pylist()
        for name in names:
            frame = source.sql(f'SELECT * FROM content."{name}"').to_arrow_table()
            session.sql(f"DROP TABLE IF EXISTS content.{name}")
            session.createDataFrame(frame).write.saveAsTable(f"content.{name}")
    return ibis.pyspark.connect(session)
