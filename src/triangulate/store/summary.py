"""A short account of what the store holds, for the demo and for a steward after an ingest.

Counts are of records, not people: people exist only after linkage. The ethnic mix uses the NHS
2001-frame high-level groups from the ethnicity crosswalk (the ``nhs_2001_high_level_group``
column of ``codelist("ethnicity")``), which keeps Chinese under Other as NHS England's Mental
Health Act statistics do; codes Z and 99 fall into "Not stated/unknown" and an empty ethnicity into
"Not recorded".

The result is plain data (titled lists of rows) so that any front end can print it.
"""

from __future__ import annotations

import duckdb

from triangulate.standard import AGENCY_TABLES, codelist

NOT_RECORDED = "Not recorded"

#: ``{title: [row, ...]}`` where every row of a title is a dict with the same keys.
StoreSummary = dict[str, list[dict[str, object]]]


def ethnic_group_of_code() -> dict[str, str]:
    """NHS ethnic category letter -> high-level group (the crosswalk's 2001-frame groups)."""
    return {row["code"]: row["nhs_2001_high_level_group"] for row in codelist("ethnicity").rows}


def ethnic_groups_in_order() -> tuple[str, ...]:
    groups = dict.fromkeys(ethnic_group_of_code().values())
    return (*groups, NOT_RECORDED)


def summary(con: duckdb.DuckDBPyConnection) -> StoreSummary:
    """Records per table, the ethnic mix of agency records, and the needs recorded.

    Keys: ``records_per_table`` (table, records), ``ethnic_mix`` (ethnic_group, records, percent
    of agency records) and ``needs_recorded`` (need, records), largest first.
    """
    records = {t: _count(con, f"content.{t}") for t in AGENCY_TABLES}
    records["need"] = _count(con, "content.need")
    records["population"] = _count(con, "content.population")

    union = " UNION ALL ".join(f"SELECT ethnicity_code FROM content.{t}" for t in AGENCY_TABLES)
    by_code = _pairs(con, f"SELECT ethnicity_code, count(*) FROM ({union}) GROUP BY ALL")
    group_of = ethnic_group_of_code()
    groups = dict.fromkeys(ethnic_groups_in_order(), 0)
    for code, n in by_code.items():
        groups[group_of.get(code, NOT_RECORDED) if code is not None else NOT_RECORDED] += n
    agency_records = sum(groups.values())

    needs = _pairs(con, "SELECT need_code, count(*) FROM content.need GROUP BY ALL ORDER BY 2 DESC, 1")
    return {
        "records_per_table": [{"table": t, "records": n} for t, n in records.items()],
        "ethnic_mix": [
            {"ethnic_group": g, "records": n, "percent": 100 * n / agency_records if agency_records else 0.0}
            for g, n in groups.items()
        ],
        "needs_recorded": [{"need": code, "records": n} for code, n in needs.items()],
    }


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _pairs(con: duckdb.DuckDBPyConnection, sql: str) -> dict:
    return dict(con.sql(sql).fetchall())
