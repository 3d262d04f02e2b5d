"""Checking every row of one extract, in one DuckDB query, into the rows ready to load.

The query reads the extract's text (an Arrow table), parses dates and numbers once, computes the
record key, evaluates every check of :mod:`triangulate.ingest.checks` and returns, per row, the
numbers of the checks it broke (``_broken``, empty for a good row) beside its values as they will
be stored. The text is not kept: what leaves this module is typed, normalised and keyed.

This needs nothing from the store, so it runs before the load transaction opens, on a private
in-memory DuckDB, several files at once. The one rule that does need the store (a need must refer
to a record in it, or loaded earlier in the run) is only prepared here: the row's reference key is
computed and whether it is well formed recorded in ``_reference_checkable``.
:func:`look_up_references` finishes it inside the load transaction with one join.

DuckDB errors that can quote a value (conversion, constraint, invalid input) are replaced by a
message without it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from triangulate.store.engines import scratch_duckdb
from triangulate.standard import AGENCY_TABLES, TableSchema, schema

from .checks import (
    Check,
    col,
    literal,
    stored_value_sql,
    table_checks,
    text_columns_sql,
    typed_col,
    typed_columns_sql,
)
from .keys import Pseudonymiser
from .readers import Extract

#: Columns of a rejects file.
REJECTS_COLUMNS = ("file", "row", "line", "field", "rule", "what_to_fix")

#: Rows per Arrow batch of checked rows: DuckDB spreads work over cores by batch.
BATCH_ROWS = 16_384

_DATA_ERRORS = (duckdb.ConversionException, duckdb.ConstraintException, duckdb.InvalidInputException,
                duckdb.OutOfRangeException)


class IngestFailed(RuntimeError):
    """The ingest failed part-way (a bug or the machine); nothing was loaded."""


@dataclass
class CheckedExtract:
    """An extract after its rows were checked: what to load and what was rejected."""

    extract: Extract
    checks: list[Check]
    #: ``_row``, ``_line``, ``_broken`` and the stored columns (``record_key`` first where there is one).
    rows: pa.Table
    #: True until :func:`look_up_references` has run, for tables whose rows refer to stored records.
    references_pending: bool

    @property
    def table(self) -> str:
        return self.extract.table

    @property
    def rows_rejected(self) -> int:
        return pc.sum(pc.not_equal(self.rows.column("_broken"), "")).as_py() or 0

    def rejects(self) -> pa.Table | None:
        """One line per broken rule (see :data:`REJECTS_COLUMNS`); None when no row was rejected."""
        if self.references_pending:
            raise RuntimeError("references are not looked up yet")
        if not self.rows_rejected:
            return None
        checks = pa.table({
            "check_no": list(range(len(self.checks))),
            "field": [c.field for c in self.checks],
            "rule": [c.rule for c in self.checks],
            "what_to_fix": [c.what_to_fix for c in self.checks],
        })
        with scratch_duckdb() as con:
            con.register("broken", self.rows.select(["_row", "_line", "_broken"]))
            con.register("checks", checks)
            rejects = con.sql(
                f"""
                SELECT {literal(self.extract.file_name)} AS file, b._row AS row, b._line AS line,
                       c.field, c.rule, c.what_to_fix
                FROM (SELECT _row, _line, CAST(unnest(string_split(_broken, ',')) AS INTEGER) AS check_no
                      FROM broken WHERE _broken <> '') b
                JOIN checks c USING (check_no)
                ORDER BY b._row, b.check_no
                """
            ).to_arrow_table()
        return rejects.select(list(REJECTS_COLUMNS))


def run_sql(con: duckdb.DuckDBPyConnection, statement: str, params: dict, file_name: str, as_arrow: bool = False):
    """Run a statement with the named parameters it uses (DuckDB refuses unused ones), never
    letting a DuckDB message that can quote data escape."""
    used = {name: value for name, value in params.items() if f"${name}" in statement}
    try:
        if as_arrow:
            return con.sql(statement, params=used).to_arrow_table(batch_size=BATCH_ROWS)
        return con.execute(statement, used)
    except _DATA_ERRORS as exc:
        raise IngestFailed(
            f"{file_name}: the database refused a value while checking or loading "
            f"({type(exc).__name__}); nothing was loaded. This is a bug: please report it without "
            "attaching the extract"
        ) from None


def check_rows(
    con: duckdb.DuckDBPyConnection, extract: Extract, pseudonymiser: Pseudonymiser, today: dt.date
) -> CheckedExtract:
    """Check every row of a recognised extract (on any connection: nothing is read from the store)."""
    return _RowCheck(con, extract, pseudonymiser, today).run()


def look_up_references(con: duckdb.DuckDBPyConnection, checked: CheckedExtract) -> CheckedExtract:
    """Finish the rule that needs the store: a row whose well-formed reference finds no record in
    the store (which, inside the load transaction, includes records loaded earlier in the run)
    breaks it."""
    if not checked.references_pending:
        return checked
    (number,) = [n for n, c in enumerate(checked.checks) if c.store_lookup]
    rule = next(r for r in schema(checked.table).rules if r["rule"] == "references_record")
    table_field = col(rule["table_field"])
    records = " UNION ALL ".join(
        f"SELECT '{t}' AS source_table, record_key FROM content.{t}" for t in AGENCY_TABLES
    )
    source = f"ingest_references_{id(checked)}"
    con.register(source, checked.rows)
    try:
        rows = run_sql(
            con,
            f"""
            SELECT c.* REPLACE (
                CASE WHEN c._reference_checkable AND r.record_key IS NULL
                     THEN concat_ws(',', NULLIF(c._broken, ''), '{number}') ELSE c._broken END AS _broken)
            FROM {source} c
            LEFT JOIN ({records}) r ON r.record_key = c.record_key AND r.source_table = c.{table_field}
            """,
            {}, checked.extract.file_name, as_arrow=True,
        )
    finally:
        con.unregister(source)
    return CheckedExtract(extract=checked.extract, checks=checked.checks, rows=rows, references_pending=False)


class _RowCheck:
    def __init__(self, con, extract: Extract, pseudonymiser: Pseudonymiser, today: dt.date):
        self.con = con
        self.extract = extract
        self.schema: TableSchema = schema(extract.table)
        self.pseudonymiser = pseudonymiser
        self.params = {**pseudonymiser.sql_parameters, "today": today}
        self.checks: list[Check] = table_checks(self.schema, set(extract.columns))
        # Names are per extract so that checks of several extracts can share a database.
        self.source = f"ingest_extract_{id(self)}"

    def sql(self, statement: str, as_arrow: bool = False):
        return run_sql(self.con, statement, self.params, self.extract.file_name, as_arrow)

    def run(self) -> CheckedExtract:
        self.con.register(self.source, self.extract.data)
        try:
            rows = self._checked_rows()
        finally:
            self.con.unregister(self.source)
        pending = any(c.store_lookup for c in self.checks)
        return CheckedExtract(extract=self.extract, checks=self.checks, rows=rows, references_pending=pending)

    def _checked_rows(self) -> pa.Table:
        present = set(self.extract.columns)
        text = f"SELECT _row, _line, {', '.join(text_columns_sql(self.schema, present))} FROM {self.source}"
        parsed_columns = [*typed_columns_sql(self.schema),
                          f"{self._primary_key_repeat_sql(text)} AS _primary_key_repeat"]
        record_key = self._record_key_sql()
        if record_key:
            parsed_columns.append(f"{record_key} AS record_key")
        parsed = f"SELECT *, {', '.join(parsed_columns)} FROM ({text})"
        # CASE treats an unknown (NULL) condition as not broken: a check only fires on evidence.
        broken = ", ".join(
            f"CASE WHEN {c.broken_sql} THEN '{n}' END" for n, c in enumerate(self.checks) if not c.store_lookup
        )
        kept = ["_row", "_line", f"concat_ws(',', {broken}) AS _broken"]
        kept += [f"COALESCE({c.broken_sql}, FALSE) AS _reference_checkable" for c in self.checks if c.store_lookup]
        if record_key:
            kept.append("record_key")
        kept += [f"{stored_value_sql(f)} AS {col(f.name)}" for f in self.schema.fields if f.name != "age_at_event"]
        if self.schema.kind == "agency_record":
            kept.append(f"{age_at_event_sql(self.schema)} AS age_at_event")
            # An encoded record's NHS number is the fourth part of its encoding (empty when it had none).
            encoded = (f" OR coalesce(split_part({col('identity_encoding')}, '.', 4), '') <> ''"
                       if "identity_encoding" in self.schema.field_names else "")
            recorded = (f"({col('nhs_number')} IS NOT NULL{encoded})" if "nhs_number" in self.schema.field_names
                        else "CAST(NULL AS BOOLEAN)")
            kept.append(f"{recorded} AS nhs_number_recorded")
        return self.sql(f"SELECT {', '.join(kept)} FROM ({parsed})", as_arrow=True)

    def _record_key_sql(self) -> str | None:
        """The record key of an agency record, or of the record a need refers to."""
        if self.schema.kind == "agency_record":
            return self.pseudonymiser.sql(f"'{self.schema.name}|' || source_system || '|' || source_record_id")
        for rule in self.schema.rules:
            if rule["rule"] == "references_record":
                table_field, (system_field, id_field) = rule["table_field"], rule["fields"]
                return self.pseudonymiser.sql(
                    f"{col(table_field)} || '|' || {col(system_field)} || '|' || {col(id_field)}"
                )
        return None

    def _primary_key_repeat_sql(self, text: str) -> str:
        """Which occurrence of its primary key a row is (1 for the first), as SQL.

        Repeats are rare, so a cheap count decides whether the window function is needed at all:
        if every key hashes differently no key repeats (a hash collision only costs the window).
        """
        pk = [col(f) for f in self.schema.primary_key]
        all_present = " AND ".join(f"{c} IS NOT NULL" for c in pk)
        all_different = self.sql(
            f"SELECT count(*) = count(DISTINCT hash({', '.join(pk)})) FROM ({text}) WHERE {all_present}"
        ).fetchall()[0][0]
        if all_different:
            return "1"
        return f"CASE WHEN {all_present} THEN row_number() OVER (PARTITION BY {', '.join(pk)} ORDER BY _row) END"


def age_at_event_sql(table: TableSchema) -> str:
    """Whole years from date of birth to the table's event date (a birthday on 29 February is
    reached on 1 March in other years); without a date of birth, the extract's own ``age_at_event``
    (an extract encoded at the agency, which worked it out there); else NULL."""
    given = (f"CAST({typed_col(table.field('age_at_event'))} AS INTEGER)" if "age_at_event" in table.field_names
             else "CAST(NULL AS INTEGER)")
    if table.event_date is None or "date_of_birth" not in table.field_names:
        return given
    born, event = typed_col(table.field("date_of_birth")), typed_col(table.field(table.event_date))
    return (
        f"coalesce(CAST(year({event}) - year({born}) - CASE WHEN month({event}) * 100 + day({event}) "
        f"< month({born}) * 100 + day({born}) THEN 1 ELSE 0 END AS INTEGER), {given})"
    )
