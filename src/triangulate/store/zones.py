"""The zones of the store and the columns of every table in them, derived from the data standard.

The store follows the split-file approach of trusted research environments. Each agency record is
stored twice under the same pseudonymous ``record_key``:

- ``identity.<table>``: the identifying fields (names, date of birth, sex, postcode, NHS number,
  PNC ID, the source record id). Only linkage reads this zone.
- ``content.<table>``: everything else, plus ``age_at_event`` derived from the date of birth so that
  measures never need the date of birth itself, ``nhs_number_recorded`` (whether the record carried
  an NHS number: a recording-quality measure that needs no identifier), and ``person_key`` which linkage fills in later.

``content.need`` and ``content.population`` hold needs and denominators; ``meta.load_manifest``
accounts for every file ever loaded. Column lists are computed from the Table Schemas rather than
written out, so a field added to the standard lands in the right zone without touching this room.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from triangulate.standard import AGENCY_TABLES, IDENTIFYING_FIELDS, schema

from .connection import StoreError

ZONES: tuple[str, ...] = ("identity", "content", "meta")

_SQL_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "date": "DATE"}

#: Identifying values beyond ``IDENTIFYING_FIELDS``: the source record id can be looked up in the
#: agency's own system, so it is kept with the identifiers and never in the content zone.
CONTENT_EXCLUDED_FIELDS: frozenset[str] = IDENTIFYING_FIELDS | {"source_record_id"}


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    not_null: bool = False

    def ddl(self) -> str:
        return f"{self.name} {self.sql_type}{' NOT NULL' if self.not_null else ''}"


def _standard_column(table: str, name: str) -> Column:
    return Column(name, _SQL_TYPES[schema(table).field(name).type])


def identity_columns(table: str) -> tuple[Column, ...]:
    """Columns of ``identity.<table>`` for an agency table."""
    fields = [f for f in schema(table).zone_fields("identity") if f != "source_system"]
    return (
        Column("record_key", "VARCHAR", not_null=True),
        _standard_column(table, "source_system"),
        *(_standard_column(table, f) for f in fields),
        Column("load_id", "VARCHAR", not_null=True),
    )


def content_columns(table: str) -> tuple[Column, ...]:
    """Columns of ``content.<table>`` for an agency table.

    ``person_key`` stays null until linkage clusters records into people; when an ingest replaces a
    record (a corrected re-extract) its ``person_key`` is reset to null because the identifiers it
    was linked on may have changed.
    """
    # age_at_event is the column below, worked out at ingest (from the extract's own where it has no
    # date of birth), not a second column of the same name.
    fields = [f for f in schema(table).zone_fields("content")
              if f not in CONTENT_EXCLUDED_FIELDS and f != "age_at_event"]
    return (
        Column("record_key", "VARCHAR", not_null=True),
        *(_standard_column(table, f) for f in fields),
        Column("age_at_event", "INTEGER"),
        Column("nhs_number_recorded", "BOOLEAN"),
        Column("person_key", "VARCHAR"),
        Column("load_id", "VARCHAR", not_null=True),
    )


def need_columns() -> tuple[Column, ...]:
    """Columns of ``content.need``: the record key of the record the need was recorded against."""
    return (
        Column("record_key", "VARCHAR", not_null=True),
        _standard_column("need", "source_table"),
        _standard_column("need", "need_code"),
        _standard_column("need", "identified_by"),
        _standard_column("need", "identified_date"),
        Column("load_id", "VARCHAR", not_null=True),
    )


def population_columns() -> tuple[Column, ...]:
    """Columns of ``content.population``: the population table as in the standard, plus load_id."""
    return (
        *(_standard_column("population", f) for f in schema("population").field_names),
        Column("load_id", "VARCHAR", not_null=True),
    )


def manifest_columns() -> tuple[Column, ...]:
    """Columns of ``meta.load_manifest``: one row per file load; ``loaded_at`` is UTC."""
    return (
        Column("load_id", "VARCHAR", not_null=True),
        Column("file_name", "VARCHAR", not_null=True),
        Column("sha256", "VARCHAR", not_null=True),
        Column("table_name", "VARCHAR", not_null=True),
        Column("standard_version", "VARCHAR", not_null=True),
        Column("rows_in", "BIGINT", not_null=True),
        Column("rows_loaded", "BIGINT", not_null=True),
        Column("rows_rejected", "BIGINT", not_null=True),
        Column("rows_replaced", "BIGINT", not_null=True),
        Column("rejects_file", "VARCHAR"),
        Column("loaded_at", "TIMESTAMP", not_null=True),
        Column("triangulate_version", "VARCHAR", not_null=True),
        # Identifies the pseudonymisation key without revealing it (an HMAC of a fixed label), so
        # that a load with another key is refused instead of giving the same records new keys.
        Column("key_check", "VARCHAR", not_null=True),
    )


def store_tables() -> dict[str, tuple[Column, ...]]:
    """Every table of the store, ``zone.table`` -> columns, in a stable order."""
    tables: dict[str, tuple[Column, ...]] = {}
    for table in AGENCY_TABLES:
        tables[f"identity.{table}"] = identity_columns(table)
    for table in AGENCY_TABLES:
        tables[f"content.{table}"] = content_columns(table)
    tables["content.need"] = need_columns()
    tables["content.population"] = population_columns()
    tables["meta.load_manifest"] = manifest_columns()
    return tables


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the zones and tables that are missing; check the ones that exist.

    Idempotent. A store made by an earlier version of the data standard gains the optional fields
    that later versions added (empty for its existing rows): that is a migration the standard's
    versioning promises (only optional fields are ever added). Any other difference (a column
    missing that is not such a field, a column of another type, a column this version does not
    know) is an error rather than something to patch silently.
    """
    for zone in ZONES:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {zone}")
    existing = _existing_columns(con)
    for name, columns in store_tables().items():
        if name in existing:
            have = dict(existing[name])
            addable = [c for c in columns if c.name not in have and _added_field(name, c.name)]
            for c in addable:
                con.execute(f"ALTER TABLE {name} ADD COLUMN {c.ddl()}")
                have[c.name] = c.sql_type
            expected = {c.name: c.sql_type for c in columns}
            if have != expected:
                raise StoreError(
                    f"{name} in this store has columns {[c for c, _ in existing[name]]} but this "
                    f"version of Triangulate expects {list(expected)}: use a new store file "
                    "or migrate this one"
                )
            continue
        con.execute(f"CREATE TABLE {name} ({', '.join(c.ddl() for c in columns)})")


def _added_field(table: str, column: str) -> bool:
    """Whether ``column`` of store table ``zone.table`` is an optional field of the standard (one a
    later version may have added), which an older store may lack."""
    zone, _, bare = table.partition(".")
    if zone not in ("identity", "content") or bare not in AGENCY_TABLES:
        return False
    s = schema(bare)
    return column in s.field_names and not s.field(column).required


def _existing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        """
        SELECT table_schema || '.' || table_name, column_name, data_type
        FROM information_schema.columns
        WHERE table_catalog = current_database() AND table_schema IN ('identity', 'content', 'meta')
        ORDER BY table_schema, table_name, ordinal_position
        """
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        out.setdefault(table, []).append((column, data_type))
    return out
