"""Where linkage meets an engine: Splink on DuckDB (default) or on Spark in local mode.

The model (``model.settings()``) is written once in Python; Splink renders its SQL for the engine.
This module makes the engine's Splink database API, hands the prepared records to it, and reads
results back as Arrow, so ``run.link`` is the same for both engines. Everything identifying stays
in private temporary folders (DuckDB's spill pages, Spark's checkpoints and warehouse), removed
when the run ends.

The model saved in the store is always in DuckDB's SQL (``portable_model``): a model trained on
Spark has its parameters copied into the DuckDB rendering of the same settings, so screening and
evaluation, which run on DuckDB, can load whichever engine trained it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from triangulate.store import StoreError
from triangulate.store.engines import SparkSettings, scratch_duckdb
from triangulate.store.engines import spark_session as store_spark_session

from .errors import LinkError

ENGINES = ("duckdb", "spark")
#: Memory Splink's DuckDB may hold before spilling to disk: keeps a 1M-record link inside 8 GB
#: alongside Python's own copies of the input.
MEMORY_LIMIT = "3GB"


@dataclass
class Engine:
    name: str
    db_api: object

    def register(self, records: pa.Table, table_name: str):
        if self.name == "spark":
            return self.db_api.register(_spark_frame(self.db_api.spark, records), table_name=table_name)
        return self.db_api.register(records, table_name=table_name)

    def to_arrow(self, sdf, select: str) -> pa.Table:
        """``SELECT {select} FROM`` a Splink result, as Arrow."""
        return self.sql(f"SELECT {select} FROM {sdf.physical_name}")

    def sql(self, query: str) -> pa.Table:
        """A query over Splink's tables (by their ``physical_name``), as Arrow."""
        if self.name == "spark":
            frame = self.db_api.spark.sql(query)
            if hasattr(frame, "toArrow"):  # Spark 4
                return frame.toArrow()
            return pa.Table.from_pylist([row.asDict() for row in frame.collect()])
        return self.db_api.duckdb_con.sql(query).to_arrow_table()


def _spark_frame(session, records: pa.Table):
    """The prepared records as a Spark DataFrame, nulls kept as nulls.

    Not through pandas: pandas 3 turns a missing string into NaN, which Spark would keep as the
    text "NaN", and every record without an NHS number would then share one.
    """
    from pyspark.sql.types import StringType, StructField, StructType

    # Every prepared column is text (dates are ISO strings), so one type does for all of them and
    # all-null columns (no PNC ID in a table) still get a type.
    records = records.cast(pa.schema([pa.field(f.name, pa.string()) for f in records.schema]))
    try:
        return session.createDataFrame(records)  # Spark 4 takes Arrow directly
    except TypeError:  # Spark 3.5
        schema = StructType([StructField(f.name, StringType(), True) for f in records.schema])
        return session.createDataFrame(records.to_pylist(), schema=schema)


@contextlib.contextmanager
def engine(name: str) -> Iterator[Engine]:
    """The engine's Splink database API, in private temporary folders removed afterwards."""
    if name not in ENGINES:
        raise LinkError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")
    scratch = tempfile.mkdtemp(prefix="triangulate-link-")
    try:
        if name == "duckdb":
            from splink import DuckDBAPI

            con = scratch_duckdb(memory_limit=MEMORY_LIMIT, temp_directory=scratch)
            try:
                yield Engine("duckdb", DuckDBAPI(con))
            finally:
                con.close()
        else:
            session = spark_session(scratch)
            from splink import SparkAPI

            try:
                yield Engine("spark", SparkAPI(spark_session=session))
            finally:
                session.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def spark_session(scratch: str):
    """A Spark session from the settings (``TRIANGULATE_SPARK_*``) with Splink's similarity functions."""
    try:
        from splink.backends.spark import similarity_jar_location

        return store_spark_session(scratch, app_name="triangulate-link", jars=(similarity_jar_location(),),
                                   settings=SparkSettings.from_environment())
    except StoreError as problem:
        raise LinkError(str(problem)) from None


def portable_model(trained: dict, creator) -> dict:
    """The trained parameters in DuckDB's rendering of the same settings.

    ``trained`` is Splink's saved model from any engine; ``creator`` the ``SettingsCreator`` it was
    made from. Levels correspond by position, since both renderings come from one creator.
    """
    if trained.get("sql_dialect") == "duckdb":
        return trained
    portable = creator.create_settings_dict("duckdb")
    portable["sql_dialect"] = "duckdb"
    portable["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    for ours, theirs in zip(portable["comparisons"], trained["comparisons"], strict=True):
        for level, source in zip(ours["comparison_levels"], theirs["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability"):
                if key in source:
                    level[key] = source[key]
    return portable
