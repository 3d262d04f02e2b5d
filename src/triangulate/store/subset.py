"""Keep part of a store: some areas and a span of dates (for a study of one place, or a small test).

Records outside are deleted from the content zone and, with them, their identity rows and needs;
residents outside the areas go too. Everything is done in one transaction, so a failure leaves the
store as it was. Run it on a copy when the whole store is still wanted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from triangulate.standard import AGENCY_TABLES, schema
from triangulate.store import parquet
from triangulate.store.connection import connect, has_tables


def restrict(store: str | Path, *, areas: Sequence[str] | None = None, start: dt.date | None = None,
             end: dt.date | None = None) -> dict[str, int]:
    """Delete records outside ``areas`` and outside ``start``..``end`` (event dates, inclusive), and the
    survey responses outside them (interview dates); returns the records kept per agency table."""
    con = connect(store)
    kept = {}
    try:
        con.execute("BEGIN TRANSACTION")
        for t in AGENCY_TABLES:
            date = schema(t).event_date
            where, params = [], []
            if areas is not None:
                where.append(f"area_code NOT IN ({', '.join('?' for _ in areas)}) OR area_code IS NULL")
                params += list(areas)
            if start is not None:
                where.append(f"{date} < ?")
                params.append(start)
            if end is not None:
                where.append(f"{date} > ?")
                params.append(end)
            if where:
                con.execute(f"DELETE FROM content.{t} WHERE " + " OR ".join(f"({w})" for w in where), params)
                con.execute(f"DELETE FROM identity.{t} WHERE record_key NOT IN (SELECT record_key FROM content.{t})")
            kept[t] = con.execute(f"SELECT count(*) FROM content.{t}").fetchone()[0]
        union = " UNION ALL ".join(f"SELECT record_key FROM content.{t}" for t in AGENCY_TABLES)
        con.execute(f"DELETE FROM content.need WHERE record_key NOT IN ({union})")
        if areas is not None:
            con.execute(f"DELETE FROM content.population WHERE area_code NOT IN ({', '.join('?' for _ in areas)})",
                        list(areas))
        _restrict_survey(con, areas, start, end)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        parquet.refresh(con)  # only a zone written from this very file (not a copy's original)
    finally:
        con.close()
    return kept


def _restrict_survey(con, areas, start, end) -> None:
    if not has_tables(con, "survey", "response"):
        return
    where, params = [], []
    if areas is not None:
        where.append(f"area_code NOT IN ({', '.join('?' for _ in areas)})")
        params += list(areas)
    if start is not None:
        where.append("interview_date < ?")
        params.append(start)
    if end is not None:
        where.append("interview_date > ?")
        params.append(end)
    if not where:
        return
    con.execute("DELETE FROM survey.response WHERE " + " OR ".join(f"({w})" for w in where), params)
    for table in ("answer", "free_text", "score"):
        con.execute(f"DELETE FROM survey.{table} WHERE response_key NOT IN (SELECT response_key FROM survey.response)")
