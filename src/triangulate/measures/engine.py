"""Where the measures meet an engine: a read-only Ibis backend from the store's one factory.

Every measure is an Ibis expression over the content zone, so the same code runs on DuckDB or Spark;
the backend is made by ``triangulate.store.engines``, and its errors are turned into the measures'
own error here so that the command line has one kind of refusal to print.
"""

from __future__ import annotations

from pathlib import Path

import ibis

from triangulate.measures.errors import MeasuresError
from triangulate.store import StoreError
from triangulate.store.engines import ENGINES, ibis_backend

__all__ = ["ENGINES", "connect"]


def connect(store: str | Path, engine: str = "duckdb") -> ibis.BaseBackend:
    """Open ``store`` read-only for the measures on ``engine`` ("duckdb" or "spark")."""
    try:
        return ibis_backend(store, engine)
    except StoreError as problem:
        raise MeasuresError(str(problem)) from None
