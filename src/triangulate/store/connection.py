"""The one way to open the warehouse.

Every room that reads or writes the store file gets its connection here. The store file is DuckDB;
other engines over it (Ibis, Spark) are made in ``engines.py``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

#: The store file used when none is named.
DEFAULT_STORE = Path("triangulate.duckdb")

class StoreError(Exception):
    """The store cannot be opened or does not have the shape this version of Triangulate expects."""


def connect(path: str | Path = DEFAULT_STORE, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store (a DuckDB file, created with its folder if missing unless ``read_only``).

    The connection never draws DuckDB's own progress bar: callers report progress themselves, and
    a bar written to stdout would mix with command output.
    """
    path = Path(path)
    if read_only and not path.is_file():
        raise StoreError(f"no store at {path}: ingest an extract first to create it")
    if not read_only and str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the store {path}: {exc}") from None
    con.execute("SET enable_progress_bar = false")
    return con
