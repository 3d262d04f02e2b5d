"""The warehouse: one DuckDB file split into an identity zone, a content zone and a manifest.

Every room opens the store through :func:`connect`, so the engine (DuckDB today, Spark later) is
chosen in one place. :func:`ensure_schema` creates the zones and tables from the data standard; see
``triangulate.store.zones`` for who may read what and docs/store.md for the columns.
"""

from __future__ import annotations

from .connection import DEFAULT_STORE, ENGINES, StoreError, connect
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
    "StoreError",
    "StoreSummary",
    "connect",
    "content_columns",
    "ensure_schema",
    "identity_columns",
    "store_tables",
    "summary",
]
