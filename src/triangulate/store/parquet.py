"""The store without its identity zone, as Parquet: what Spark (or any engine) reads at scale.

A **Parquet zone** is a folder holding every table of the store that the measures and the publication
read (the content zone, the survey's coded answers, the provision directory and the manifests), one
folder per table and one Parquet file per load, and ``zone.json``: its format, when it was written,
the store's fingerprint (never its key) and, per table, its columns, rows and every file's SHA-256.
The identity zone is never written here, nor the survey's free-text answers: they stay in the DuckDB
file, which only linkage and the survey's coders open.

    folder/
      zone.json
      content/police_custody/<load_id>.parquet      one file per load (the load's rows)
      content/population/<load_id>.parquet
      meta/load_manifest/all.parquet                tables without a load: one file
      survey/answer/all.parquet
      ...

Written by ``triangulate ingest --parquet FOLDER``, which records the folder in the store
(``meta.parquet_zone``); from then on every command that changes what the zone holds (ingest, link,
clerical review, survey imports, the provision directory) writes it again once its own change is
committed, so the zone is always the store as of its last change. A zone is written whole under a
temporary name and renamed into place: a reader never sees half of one.

Read by ``triangulate publish --store FOLDER`` on either engine: Spark reads the Parquet files
directly (``spark_views``), and DuckDB through views over them (``open_zone``), so nothing is copied
and no DuckDB file is needed. A file changed since the zone was written is refused by name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path

import duckdb

from .connection import StoreError, has_tables, owner_only_files
from .private import private_folder, write_private_text

FORMAT = "triangulate-parquet-zone/1"
ZONE_FILE = "zone.json"
#: The store's schemas a zone holds; the identity zone is never among them.
ZONE_SCHEMAS = ("content", "survey", "provision", "meta")
#: Tables of those schemas never written to a zone: the survey's free-text answers (they may name people).
NOT_IN_ZONE = {("survey", "free_text")}
#: Of the meta schema only these (an allow-list): the load manifest and the link runs and model the
#: publication cites; the linkage's own bookkeeping (person-key history, clerical labels) stays behind.
META_IN_ZONE = ("load_manifest", "link_runs", "link_model")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class ZoneNotWritten(StoreError):
    """A command's own change was committed but the store's Parquet zone could not be written after it."""


def is_zone(path: str | Path) -> bool:
    """Whether ``path`` is a Parquet zone folder (it holds ``zone.json``)."""
    path = Path(path)
    return path.is_dir() and (path / ZONE_FILE).is_file()


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        f"AND table_schema IN ({', '.join(repr(s) for s in ZONE_SCHEMAS)}) AND table_type = 'BASE TABLE' "
        "ORDER BY 1, 2").fetchall()
    return [(s, t) for s, t in rows if (s, t) not in NOT_IN_ZONE and (s != "meta" or t in META_IN_ZONE)]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """Identifies a store (and the key it was loaded under) without revealing either: the SHA-256 of the
    key check values and the first load's id. A publication made from another store, or the same data
    loaded under another key, has another fingerprint; a zone has its store's. None before any load."""
    if not has_tables(con, "meta", "load_manifest"):
        return None
    checks = [r[0] for r in con.execute("SELECT DISTINCT key_check FROM meta.load_manifest ORDER BY 1").fetchall()]
    first = con.execute("SELECT min(load_id) FROM meta.load_manifest").fetchall()[0][0]
    return hashlib.sha256(("|".join(checks) + "|" + str(first)).encode("utf-8")).hexdigest()


def _store_path(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return str(Path(rows[0][0]).resolve()) if rows and rows[0][0] else None


def check_folder(folder: str | Path) -> Path:
    """Refuse, before anything is written, a folder that exists and is not a zone (not ours to replace)."""
    folder = Path(folder).resolve()
    if folder.exists() and not is_zone(folder) and (not folder.is_dir() or any(folder.iterdir())):
        raise StoreError(f"{folder} exists and is not a Parquet zone: give a new or empty folder for --parquet")
    return folder


def write_zone(con: duckdb.DuckDBPyConnection, folder: str | Path) -> dict:
    """Write the zone of the store open on ``con`` to ``folder`` (replacing the zone there) and return
    its manifest. Refuses a folder that exists and is not a zone (it is not ours to replace)."""
    folder = check_folder(folder)
    owner_only_files()
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = folder.parent / f".{folder.name}.writing-{secrets.token_hex(4)}"
    private_folder(work)
    try:
        tables = {}
        for zone, table in _tables(con):
            target = private_folder(work / zone / table)
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = current_database() "
                "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position", [zone, table]).fetchall()
            names = [c for c, _ in columns]
            rows = con.execute(f'SELECT count(*) FROM {zone}."{table}"').fetchall()[0][0]
            parts: list[tuple[str, str]] = []  # (file name, WHERE clause)
            if "load_id" in names and rows:
                loads = [r[0] for r in con.execute(f'SELECT DISTINCT load_id FROM {zone}."{table}" ORDER BY 1').fetchall()]
                for load in loads:
                    if load is None or not _SAFE.match(str(load)):
                        parts = [("all.parquet", "TRUE")]  # a load id that cannot name a file: one file
                        break
                    parts.append((f"{load}.parquet", f"load_id = '{load}'"))
            else:
                parts = [("all.parquet" if rows else "empty.parquet", "TRUE")]
            files = {}
            for name, where in parts:
                path = target / name
                con.execute(f"COPY (SELECT * FROM {zone}.\"{table}\" WHERE {where}) TO '{path}' "
                            "(FORMAT parquet, COMPRESSION zstd)")
                os.chmod(path, 0o600)
                files[name] = _sha256(path)
            tables[f"{zone}.{table}"] = {"rows": rows, "columns": [[c, t] for c, t in columns], "files": files}
        manifest = {
            "format": FORMAT,
            "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "store_fingerprint": fingerprint(con),
            "written_from": _store_path(con),
            "not_here": ["the identity zone", *sorted(f"{z}.{t}" for z, t in NOT_IN_ZONE),
                         "meta tables other than " + ", ".join(META_IN_ZONE)],
            "tables": tables,
        }
        write_private_text(work / ZONE_FILE, json.dumps(manifest, indent=1))
        old = None
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{secrets.token_hex(4)}"
            folder.rename(old)
        work.rename(folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    for _, path, digest in _files(folder, tables):  # hashed as written: not hashed again to be read
        _VERIFIED.add(_seen(path, digest))
    return manifest


def record(con: duckdb.DuckDBPyConnection, folder: str | Path) -> None:
    """Record ``folder`` as the store's Parquet zone, so that later changes write it again."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute("CREATE TABLE IF NOT EXISTS meta.parquet_zone (path VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL)")
    con.execute("DELETE FROM meta.parquet_zone")
    con.execute("INSERT INTO meta.parquet_zone VALUES (?, now()::TIMESTAMP)", [str(Path(folder).resolve())])


def recorded(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The store's Parquet zone folder, if one was recorded."""
    if not has_tables(con, "meta", "parquet_zone"):
        return None
    rows = con.execute("SELECT path FROM meta.parquet_zone").fetchall()
    return Path(rows[0][0]) if rows else None


def refresh(con: duckdb.DuckDBPyConnection) -> Path | None:
    """Write the store's Parquet zone again, if it has one (called by every command that changes what
    a zone holds, after its change is committed). Returns the folder written, or None.

    A zone is only ever replaced from the store it was written from: a copy of the store (made to cut
    it down to one area, say) still names the original's zone, which it must not overwrite.
    """
    folder = recorded(con)
    if folder is None:
        return None
    if is_zone(folder):
        try:
            source = json.loads((folder / ZONE_FILE).read_text(encoding="utf-8")).get("written_from")
        except (OSError, ValueError):
            source = None
        if source != _store_path(con):
            return None
    write_zone(con, folder)
    return folder


def attach(store: str | Path, folder: str | Path) -> dict:
    """Give ``store`` a Parquet zone at ``folder`` (recorded, so later changes write it again) and write it."""
    from .connection import connect

    folder = check_folder(folder)
    con = connect(store)
    try:
        record(con, folder)
        return write_zone(con, folder)
    finally:
        con.close()


def read_manifest(folder: str | Path, *, verify: bool = True) -> dict:
    """The zone's manifest, with every file checked against its hash (``verify``)."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / ZONE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise StoreError(f"{folder / ZONE_FILE} cannot be read: write the zone again "
                         "(`triangulate ingest --parquet FOLDER` on the store)") from None
    if manifest.get("format") != FORMAT:
        raise StoreError(f"{folder} is a Parquet zone of another format ({manifest.get('format')!r}); "
                         f"this version reads {FORMAT}")
    if verify:
        for named, path, digest in _files(folder, manifest["tables"]):
            if not path.is_file():
                raise StoreError(f"The file {named} of the Parquet zone {folder} is missing: write the zone again")
            seen = _seen(path, digest)
            if seen in _VERIFIED:
                continue
            if _sha256(path) != digest:
                raise StoreError(f"The file {named} of the Parquet zone {folder} has changed since it was written: "
                                 "write the zone again")
            _VERIFIED.add(seen)
    return manifest


def _files(folder: Path, tables: dict):
    """(zone/table/file as named to a user, its path, its SHA-256) of every file a zone's manifest lists."""
    for name, table in tables.items():
        zone, _, bare = name.partition(".")
        for file, digest in table["files"].items():
            yield f"{zone}/{bare}/{file}", folder / zone / bare / file, digest


def _seen(path: Path, digest: str) -> tuple[str, str, int, int]:
    stat = path.stat()
    return str(path.resolve()), digest, stat.st_size, stat.st_mtime_ns


#: Zone files whose hash this process has checked, with their size and modification time: a publication
#: opens the zone half a dozen times (the measures, the fingerprint, the data period, the area names, the
#: link run), and hashing 471 MB each time was the same work again. A file rewritten since is checked again.
_VERIFIED: set[tuple[str, str, int, int]] = set()


def open_zone(folder: str | Path, *, verify: bool = True, con: duckdb.DuckDBPyConnection | None = None
              ) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose schemas are views over the zone's Parquet files: the same tables, by
    the same names, as the store the zone was written from (read-only: a view cannot be written)."""
    folder = Path(folder).resolve()
    manifest = read_manifest(folder, verify=verify)
    con = con if con is not None else duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for name, table in manifest["tables"].items():
        zone, _, bare = name.partition(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {zone}")
        files = [str(folder / zone / bare / f) for f in table["files"]]
        con.execute(f'CREATE OR REPLACE VIEW {zone}."{bare}" AS SELECT * FROM read_parquet({files!r})')
    return con


def spark_views(session, folder: str | Path, zones: tuple[str, ...], skip: set[tuple[str, str]] = frozenset()) -> None:
    """Make each table of ``zones`` in the zone a view of ``session`` (database named like the schema),
    reading its Parquet files where they are: nothing is copied into Spark."""
    folder = Path(folder).resolve()
    manifest = read_manifest(folder)
    for name in manifest["tables"]:
        zone, _, bare = name.partition(".")
        if zone not in zones or (zone, bare) in skip:
            continue
        session.sql(f"CREATE DATABASE IF NOT EXISTS {zone}")
        session.sql(f"CREATE OR REPLACE VIEW {zone}.{bare} AS SELECT * FROM parquet.`{folder / zone / bare}`")
