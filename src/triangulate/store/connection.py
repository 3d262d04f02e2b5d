"""The one way to open the warehouse.

Every room that reads or writes the store file gets its connection here. The store file is DuckDB;
other engines over it (Ibis, Spark) are made in ``engines.py``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import duckdb

from .private import private_folder

#: The store file used when none is named.
DEFAULT_STORE = Path("triangulate.duckdb")

class StoreError(Exception):
    """The store cannot be opened or does not have the shape this version of Triangulate expects."""


def connect(path: str | Path = DEFAULT_STORE, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store (a DuckDB file, created with its folder if missing unless ``read_only``).

    ``path`` may also be a Parquet zone folder (``store.parquet``), opened read-only as views over its files.

    The connection never draws DuckDB's own progress bar: callers report progress themselves, and
    a bar written to stdout would mix with command output.
    """
    path = Path(path)
    from .parquet import is_zone, open_zone

    if is_zone(path):
        if not read_only:
            raise StoreError(f"{path} is a Parquet zone, which is read-only: give the DuckDB store it was written "
                             "from (the zone is written again from it)")
        return open_zone(path)
    if read_only and not path.is_file():
        raise StoreError(f"no store at {path}: ingest an extract first to create it")
    writing = not read_only and str(path) != ":memory:"
    if writing:
        owner_only_files()
        if not path.parent.exists():
            private_folder(path.parent)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the store {path}: {exc}") from None
    if writing:
        with contextlib.suppress(PermissionError):  # another owner's store: theirs to keep private
            os.chmod(path, 0o600)
    con.execute("SET enable_progress_bar = false")
    return con


def owner_only_files() -> None:
    """Make every file this process creates from now on owner-only (umask 077, added to the one set).

    The store holds identifiers, and so do files DuckDB makes beside it after it is opened (its
    write-ahead log ``.wal`` and spill files), which DuckDB creates with the process's umask: with the
    usual 022 they would be readable by anyone on the machine. Opening the store for writing
    therefore tightens the process's umask (``connect`` calls this).
    """
    current = os.umask(0o077)
    os.umask(current | 0o077)


def has_tables(con: duckdb.DuckDBPyConnection, schema: str, *names: str) -> bool:
    """Whether the store holds every one of the named tables of ``schema`` (a store made before a room
    existed, or before its first load, has none of that room's tables)."""
    found = con.execute(
        f"SELECT count(DISTINCT table_name) FROM information_schema.tables WHERE table_schema = ? "
        f"AND table_name IN ({', '.join('?' for _ in names)})", [schema, *names]).fetchall()[0][0]
    return found == len(set(names))
