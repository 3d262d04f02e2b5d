"""The service directory in the store: the ``provision`` schema, versioned, with who changed what.

Tables (docs/provision.md):

- ``provision.version``: one row per import that changed something: its number, when (UTC), by whom,
  the file's base name and SHA-256, and how many services were added, changed and ended.
- ``provision.service``: every version of every service as a fully nested ORUK / HSDS document (its
  organisation, areas, languages, capacities, locations and attributes inside), valid from
  ``version_from`` until the version that changed or ended it (``version_to``, null while current).
- ``provision.change``: per version and service, ``added``, ``changed`` (with the top-level fields that
  changed) or ``ended``.

An import merges: each service in the file replaces the stored service with its id, new ids are added,
other services stay, unless ``replace`` says the file is the whole directory (then services not in it
are ended). Importing the same file again changes nothing and makes no version. Everything is
validated before anything is written, and the write is one transaction: a file with any problem, or
an import that fails part-way, leaves the directory as it was.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from triangulate import __version__
from triangulate.store import connect, has_tables, parquet

from .formats import read_path
from .validate import DirectoryRefused, Problem, validate

SCHEMA = "provision"

_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.version (
        version INTEGER NOT NULL PRIMARY KEY, created_at TIMESTAMP NOT NULL, created_by VARCHAR NOT NULL,
        source VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, added INTEGER NOT NULL, changed INTEGER NOT NULL,
        ended INTEGER NOT NULL, triangulate_version VARCHAR NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.service (
        id VARCHAR NOT NULL, version_from INTEGER NOT NULL, version_to INTEGER, doc VARCHAR NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.change (
        version INTEGER NOT NULL, service_id VARCHAR NOT NULL, action VARCHAR NOT NULL, fields VARCHAR)""",
)

#: Fields that say when a document was written rather than what it says; ignored when comparing.
_VOLATILE = ("last_modified",)


def ensure_directory_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _DDL:
        con.execute(ddl)


def has_directory(con: duckdb.DuckDBPyConnection) -> bool:
    return has_tables(con, SCHEMA, "service")


@dataclass(frozen=True)
class ImportReport:
    """What an import did. ``version`` is None when nothing changed (no version was made)."""

    source: str
    version: int | None
    services_in_file: int
    added: int
    changed: int
    unchanged: int
    ended: int


def _comparable(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in _VOLATILE}


def _changed_fields(old: dict, new: dict) -> list[str]:
    keys = sorted((set(old) | set(new)) - set(_VOLATILE))
    return [k for k in keys if json.dumps(old.get(k), sort_keys=True, default=str)
            != json.dumps(new.get(k), sort_keys=True, default=str)]


def _keep_capacity_dates(old: dict, new: dict) -> None:
    """A capacity the template left undated takes the stored date when it did not change."""
    before = {c.get("id"): c for c in old.get("capacities") or []}
    for c in new.get("capacities") or []:
        if c.pop("_updated_default", False):
            prev = before.get(c.get("id"))
            if prev and {k: v for k, v in prev.items() if k != "updated"} == {k: v for k, v in c.items() if k != "updated"}:
                c["updated"] = prev["updated"]


def current_services(con: duckdb.DuckDBPyConnection, version: int | None = None) -> list[dict]:
    """The directory's services (nested documents) at ``version`` (default: now), by name then id."""
    if not has_directory(con):
        return []
    if version is None:
        rows = con.execute(f"SELECT doc FROM {SCHEMA}.service WHERE version_to IS NULL").fetchall()
    else:
        rows = con.execute(
            f"SELECT doc FROM {SCHEMA}.service WHERE version_from <= ? AND (version_to IS NULL OR version_to > ?)",
            [version, version]).fetchall()
    docs = [json.loads(r[0]) for r in rows]  # noqa: one parse per service; 10,000 in about a second
    return sorted(docs, key=lambda d: (str(d.get("name", "")).lower(), d["id"]))


def latest_version(con: duckdb.DuckDBPyConnection) -> int | None:
    if not has_directory(con):
        return None
    return con.execute(f"SELECT max(version) FROM {SCHEMA}.version").fetchone()[0]


def history(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every version: number, when, by whom, from which file, and its counts (oldest first)."""
    if not has_directory(con):
        return []
    cur = con.execute(f"SELECT * FROM {SCHEMA}.version ORDER BY version")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container): say so rather than fail
        return os.environ.get("USER", "unknown")


def import_directory(path: str | Path, store: str | Path, *, by: str | None = None,
                     replace: bool = False) -> ImportReport:
    """Validate a directory file and merge it into the store's directory as one new version.

    Raises :class:`DirectoryRefused` (every problem listed; nothing written) when the file breaks a
    rule. ``by`` names who imported it (default: the login name).
    """
    path = Path(path)
    parsed = read_path(path)
    problems: list[Problem] = list(parsed.problems)
    if not problems and not parsed.services:
        problems.append(Problem(parsed.file, "the file", "", "holds no services"))
    if not problems:
        problems += validate(parsed.services, parsed.file, parsed.records)
    if problems:
        raise DirectoryRefused(problems)
    sha = _sha256(path)
    con = connect(store)
    try:
        ensure_directory_schema(con)
        stored = {d["id"]: d for d in current_services(con)}
        now = datetime.now(UTC).replace(tzinfo=None)
        stamp = now.isoformat(timespec="milliseconds") + "Z"
        added: list[dict] = []
        changed: list[tuple[dict, list[str]]] = []
        unchanged = 0
        for s in parsed.services:
            doc = dict(s)  # the parsed documents are this import's own: no deep copy needed
            old = stored.get(doc["id"])
            if old is None:
                for c in doc.get("capacities") or []:
                    c.pop("_updated_default", None)
                doc["last_modified"] = stamp
                added.append(doc)
                continue
            _keep_capacity_dates(old, doc)
            if _comparable(old) == _comparable(doc):
                unchanged += 1
                continue
            doc["last_modified"] = stamp
            changed.append((doc, _changed_fields(old, doc)))
        in_file = {s["id"] for s in parsed.services}
        ended = sorted(i for i in stored if i not in in_file) if replace else []
        if not (added or changed or ended):
            return ImportReport(parsed.file, None, len(parsed.services), 0, 0, unchanged, 0)
        con.execute("BEGIN TRANSACTION")
        try:
            version = (con.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.version").fetchone()[0]) + 1
            con.execute(f"INSERT INTO {SCHEMA}.version VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [version, now, by or default_user(), parsed.file, sha, len(added), len(changed),
                         len(ended), __version__])
            # Whole columns through Arrow: DuckDB takes 10,000 rows at once in milliseconds, row by row in seconds.
            close = pa.table({"id": pa.array([d["id"] for d, _ in changed] + ended, pa.string())})
            if close.num_rows:
                con.register("closing", close)
                con.execute(f"UPDATE {SCHEMA}.service SET version_to = ? WHERE version_to IS NULL "
                            "AND id IN (SELECT id FROM closing)", [version])
                con.unregister("closing")
            docs = added + [d for d, _ in changed]
            if docs:
                con.register("incoming", pa.table({
                    "id": pa.array([d["id"] for d in docs], pa.string()),
                    "doc": pa.array([json.dumps(d, sort_keys=True, ensure_ascii=False) for d in docs], pa.string())}))
                con.execute(f"INSERT INTO {SCHEMA}.service SELECT id, ?, NULL, doc FROM incoming", [version])
                con.unregister("incoming")
            log = ([(d["id"], "added", None) for d in added]
                   + [(d["id"], "changed", ",".join(f)) for d, f in changed]
                   + [(i, "ended", None) for i in ended])
            con.register("log", pa.table({"service_id": pa.array([x[0] for x in log], pa.string()),
                                          "action": pa.array([x[1] for x in log], pa.string()),
                                          "fields": pa.array([x[2] for x in log], pa.string())}))
            con.execute(f"INSERT INTO {SCHEMA}.change SELECT ?, service_id, action, fields FROM log", [version])
            con.unregister("log")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        parquet.refresh(con)
        return ImportReport(parsed.file, version, len(parsed.services), len(added), len(changed), unchanged, len(ended))
    finally:
        con.close()


def load_services(store: str | Path, version: int | None = None) -> list[dict]:
    """The directory's services at ``version`` (default: the latest), read-only."""
    con = connect(store, read_only=True)
    try:
        return current_services(con, version)
    finally:
        con.close()


def published_directory(store: str | Path) -> dict | None:
    """The directory as a publication carries it: the latest version's services and the taxonomy
    (None when the store has no directory). Given to ``write_publication(directory=...)``."""
    from .taxonomy import taxonomy

    con = connect(store, read_only=True)
    try:
        version = latest_version(con)
        if version is None:
            return None
        services = current_services(con)
        created = con.execute(f"SELECT created_at FROM {SCHEMA}.version WHERE version = ?", [version]).fetchone()[0]
    finally:
        con.close()
    return {"version": version, "imported_at": created.isoformat(timespec="seconds") + "Z",
            "services": services, "taxonomies": [taxonomy()]}
