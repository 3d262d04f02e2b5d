"""The warehouse: one DuckDB file split into an identity zone, a content zone and a manifest.

Every room opens the store through :func:`connect`, and every other engine (working DuckDB
connections, Ibis backends, Spark sessions) comes from ``triangulate.store.engines``, so engines are
chosen and configured in one place. :func:`ensure_schema` creates the zones and tables from the data standard; see
``triangulate.store.zones`` for who may read what and docs/store.md for the columns.
"""

from __future__ import annotations

from .connection import DEFAULT_STORE, StoreError, connect, has_tables
from .engines import ENGINES, SparkSettings, ibis_backend, scratch_duckdb, spark_session
from .summary import StoreSummary, summary
from .zones import (
    CONTENT_EXCLUDED_FIELDS,
    ZONES,
    Column,
    content_columns,
    ensure_schema,
    identity_columns,
    store_tables,
)

__all__ = [
    "CONTENT_EXCLUDED_FIELDS",
    "DEFAULT_STORE",
    "ENGINES",
    "ZONES",
    "Column",
    "SparkSettings",
    "StoreError",
    "StoreSummary",
    "connect",
    "has_tables",
    "ibis_backend",
    "scratch_duckdb",
    "spark_session",
    "content_columns",
    "ensure_schema",
    "identity_columns",
    "store_tables",
    "summary",
]
