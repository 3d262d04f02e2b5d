"""The one engine factory: every DuckDB connection, Ibis backend and Spark session is made here.

Why one place: the rooms that compute (link, measures, publish) must give the same answers on the
embedded default (DuckDB) and at scale (Spark), and their differences (how a session is sized, where
scratch files go, how the content zone reaches Spark) belong to the warehouse, not to each room.
Splink's own database APIs are made in ``link`` from the connections and sessions this module gives.

Spark is configured by settings, not code (``SparkSettings.from_environment``): the master URL
(``local[N]``, a ``spark://`` standalone cluster), a Spark Connect remote (``sc://...``), driver and
executor memory and shuffle partitions, each from a ``TRIANGULATE_SPARK_*`` environment variable,
with local mode sized to the machine as the default.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from .connection import StoreError, connect
from .parquet import is_zone, open_zone, spark_views, write_zone

#: The engines the computing rooms accept.
ENGINES: tuple[str, ...] = ("duckdb", "spark")


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise StoreError(f"Unknown engine {engine!r}: use one of {', '.join(ENGINES)}.")


def duckdb_memory_limit(environ: dict | None = None) -> str:
    """The memory DuckDB may hold before it spills to its scratch folder.

    DuckDB's own default (80% of the machine) let the measures of a million people hold 10.7 GB at
    their peak, more than the publication's 8 GB; this keeps them to 6 GB (or half of a smaller
    machine), spilling the rest to a scratch folder. At 4 GB a million people's measures ran out of
    memory now and then (blocks DuckDB could not spill). ``TRIANGULATE_DUCKDB_MEMORY`` (e.g. ``8GB``)
    sets it.
    """
    env = os.environ if environ is None else environ
    if env.get("TRIANGULATE_DUCKDB_MEMORY"):
        return env["TRIANGULATE_DUCKDB_MEMORY"]
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "6GB"
    return f"{max(1, min(6144, int(total * 0.5 / 2**20)))}MB"


def scratch_duckdb(*, memory_limit: str | None = None, temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for working tables, spilling to ``temp_directory`` past ``memory_limit``."""
    config = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory:
        config["temp_directory"] = temp_directory
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")
    return con


@dataclass(frozen=True)
class SparkSettings:
    """How to reach Spark. ``remote`` (Spark Connect, ``sc://host:15002``) wins over ``master``."""

    master: str = "local[2]"
    remote: str | None = None
    driver_memory: str = "4g"
    executor_memory: str | None = None
    shuffle_partitions: int = 8
    #: A folder for Spark's event log (every job, stage and task with its shuffle and input bytes), for
    #: Spark's history server or ``bench/spark.py``; none by default.
    event_log: str | None = None
    #: A folder every node reads and writes at the same path (a shared file system, ``s3a://...``) for
    #: the measures' base tables as Parquet; none by default (see ``base_tables``).
    warehouse: str | None = None

    @property
    def local(self) -> bool:
        """Whether the session runs on this machine alone (local mode), so every executor sees its disk."""
        return not self.remote and self.master.startswith("local")

    @property
    def base_tables(self) -> str:
        """How the measures keep their base tables: ``parquet`` (tables in the warehouse folder: columnar,
        read column by column; 509 s of fine counts at a million people on 2 cores) where every executor
        sees that folder (local mode, or a shared ``warehouse``), else ``checkpoint`` (local checkpoints
        in the executors' own memory and disks: rows, read whole; 690 s there)."""
        return "parquet" if self.local or self.warehouse else "checkpoint"

    @classmethod
    def from_environment(cls, environ: dict | None = None) -> SparkSettings:
        env = os.environ if environ is None else environ
        cores = os.cpu_count() or 2
        settings = cls(master=f"local[{cores}]", shuffle_partitions=max(4, cores * 4),
                       driver_memory=_local_driver_memory())
        changes = {}
        if env.get("TRIANGULATE_SPARK_MASTER"):
            changes["master"] = env["TRIANGULATE_SPARK_MASTER"]
        if env.get("TRIANGULATE_SPARK_REMOTE"):
            changes["remote"] = env["TRIANGULATE_SPARK_REMOTE"]
        if env.get("TRIANGULATE_SPARK_DRIVER_MEMORY"):
            changes["driver_memory"] = env["TRIANGULATE_SPARK_DRIVER_MEMORY"]
        if env.get("TRIANGULATE_SPARK_EXECUTOR_MEMORY"):
            changes["executor_memory"] = env["TRIANGULATE_SPARK_EXECUTOR_MEMORY"]
        if env.get("TRIANGULATE_SPARK_EVENT_LOG"):
            changes["event_log"] = env["TRIANGULATE_SPARK_EVENT_LOG"]
        if env.get("TRIANGULATE_SPARK_WAREHOUSE"):
            changes["warehouse"] = env["TRIANGULATE_SPARK_WAREHOUSE"]
        if env.get("TRIANGULATE_SPARK_SHUFFLE_PARTITIONS"):
            try:
                changes["shuffle_partitions"] = int(env["TRIANGULATE_SPARK_SHUFFLE_PARTITIONS"])
            except ValueError:
                raise StoreError("TRIANGULATE_SPARK_SHUFFLE_PARTITIONS must be a whole number") from None
        return replace(settings, **changes)


def _local_driver_memory() -> str:
    """Half the machine's memory (2 to 32 GB) for local mode, where the driver's JVM does all the work (it
    was a fixed 4 GB whatever the machine); on a cluster the executors' memory is what counts."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4g"
    return f"{max(2, min(32, int(total / 2**30 / 2)))}g"


#: The session setting that tells the measures how to keep their base tables (``SparkSettings.base_tables``).
BASE_TABLES = "spark.triangulate.baseTables"


def spark_session(scratch: str, *, app_name: str, jars: tuple[str, ...] = (), settings: SparkSettings | None = None):
    """A Spark session whose working files (warehouse, spills, checkpoints) live under ``scratch``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - pyspark is in the locked dependencies
        raise StoreError("the spark engine needs pyspark: install the 'spark' extra") from None
    settings = settings or SparkSettings.from_environment()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    builder = SparkSession.builder.appName(app_name)
    builder = builder.remote(settings.remote) if settings.remote else builder.master(settings.master)
    options = {
        "spark.driver.memory": settings.driver_memory,
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": settings.warehouse or os.path.join(scratch, "warehouse"),
        "spark.local.dir": os.path.join(scratch, "local"),
        BASE_TABLES: settings.base_tables,
    }
    if settings.executor_memory:
        options["spark.executor.memory"] = settings.executor_memory
    if jars:
        options["spark.jars"] = ",".join(jars)
    if settings.event_log:
        Path(settings.event_log).mkdir(parents=True, exist_ok=True)
        options["spark.eventLog.enabled"] = "true"
        options["spark.eventLog.dir"] = Path(settings.event_log).resolve().as_uri()
        options["spark.eventLog.compress"] = "false"  # JSON lines, readable without Spark's codecs
    for key, value in options.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if not settings.remote:
        session.sparkContext.setLogLevel("ERROR")
        _quiet_code_generator(session)
        session.sparkContext.setCheckpointDir(os.path.join(scratch, "checkpoints"))
    return session


#: Spark's loggers that report, at ERROR, a generated method over Java's 64 KB limit (Splink's scoring
#: expressions) with the whole generated source, before falling back to running the plan without it, as
#: it should (``spark.sql.codegen.fallback``): hundreds of lines of Java on the command's error stream
#: for nothing a user can act on.
QUIET_LOGGERS = ("org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator",
                 "org.apache.spark.sql.execution.WholeStageCodegenExec")


def _quiet_code_generator(session) -> None:
    jvm = session.sparkContext._jvm
    off = jvm.org.apache.logging.log4j.Level.OFF
    for name in QUIET_LOGGERS:
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, off)


#: The store's schemas the measures read: the content zone and the survey's coded answers.
SPARK_ZONES = ("content", "survey")
#: Tables of those schemas no measure reads, never copied out of the store (free-text answers, quotations).
NOT_MEASURED = {("survey", "free_text"), ("survey", "quote")}


def ibis_backend(store: str | Path, engine: str = "duckdb"):
    """The store's content zone as an Ibis backend, read-only, on ``engine``.

    ``store`` is a DuckDB file or a Parquet zone folder (``store.parquet``). On Spark the content zone
    and the survey's coded answers are views over Parquet files, under a database named like the schema,
    so that ``con.table(name, database="content")`` resolves the same way on both engines: a zone's own
    files, or, from a DuckDB file, a zone written into the session's scratch folder first.
    """
    import ibis

    check_engine(engine)
    path = Path(store)
    zone = is_zone(path)
    if not zone and not path.is_file():
        raise StoreError(
            f"No store at {path}: load extracts with `triangulate ingest` first, or give the path of an "
            "existing store."
        )
    if engine == "duckdb":
        scratch = tempfile.mkdtemp(prefix="triangulate-duckdb-")
        # Insertion order is not kept: every query the measures run aggregates, and keeping the order
        # is what pins memory that cannot be spilled (an out-of-memory error at 4 GB without this).
        options = dict(memory_limit=duckdb_memory_limit(), temp_directory=scratch, preserve_insertion_order=False)
        if zone:
            con = ibis.duckdb.connect(**options)
            open_zone(path, con=con.con)
        else:
            con = ibis.duckdb.connect(str(path), read_only=True, **options)
        con.raw_sql("SET enable_progress_bar = false")
        weakref.finalize(con, shutil.rmtree, scratch, ignore_errors=True)
        return con
    settings = SparkSettings.from_environment()
    if not zone and not settings.local:
        raise StoreError(
            f"Spark at {settings.remote or settings.master} cannot read the DuckDB file {path.name}: its workers "
            "read the store as a Parquet zone at a path they all see. Write one with `triangulate ingest --store "
            f"{path.name} --parquet /shared/zone` and publish with `--store /shared/zone`."
        )
    scratch = tempfile.mkdtemp(prefix="triangulate-spark-")
    if not zone:
        # A DuckDB file: its zone is written into Spark's scratch folder first (DuckDB writes Parquet
        # streaming, in seconds for millions of records), and Spark reads that as it would a zone on
        # shared storage. (Copying the tables through the driver as Arrow held them all in its memory.)
        source = connect(path, read_only=True)
        try:
            write_zone(source, os.path.join(scratch, "zone"))
        finally:
            source.close()
        path = Path(scratch) / "zone"
    session = spark_session(scratch, app_name="triangulate-measures", settings=settings)
    spark_views(session, path, SPARK_ZONES, NOT_MEASURED)
    con = ibis.pyspark.connect(session)
    weakref.finalize(con, shutil.rmtree, scratch, ignore_errors=True)
    return con
