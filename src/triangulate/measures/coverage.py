"""Coverage: how well each agency records what the other measures depend on."""

from __future__ import annotations

import ibis
import pyarrow as pa

from triangulate.measures import base
from triangulate.measures.registry import Column, Count, register
from triangulate.measures.tables import proportion
from triangulate.standard import AGENCY_TABLES, schema

SHARES = {
    "ethnicity_recorded": "ethnicity_recorded_percent",
    "gp_registered": "gp_registered_percent",
    "gp_recorded": "gp_recorded_percent",
    "nhs_number_recorded": "nhs_number_recorded_percent",
    "linked": "linked_percent",
}


def _finish(table: pa.Table) -> pa.Table:
    for count, name in SHARES.items():
        table = proportion(table, count, "records", name)
        table = table.rename_columns([f"{name}_lower_95" if c == "lower_95" else f"{name}_upper_95"
                                      if c == "upper_95" else c for c in table.column_names])
    return table


def _columns() -> tuple[Column, ...]:
    words = {"ethnicity_recorded": "a usable ethnic category", "gp_registered": "GP registration Y",
             "gp_recorded": "GP registration recorded", "nhs_number_recorded": "an NHS number",
             "linked": "a person key"}
    out = [Column("setting", "Setting", "setting"), Column("records", "Records", "count")]
    for count, name in SHARES.items():
        out += [Column(count, f"Records with {words[count]}", "count"),
                Column(name, f"With {words[count]} (%)", "percent"),
                Column(f"{name}_lower_95", "Lower 95% limit", "percent"),
                Column(f"{name}_upper_95", "Upper 95% limit", "percent")]
    out += [Column("ethnicity_not_stated", "Ethnicity not stated (Z)", "count"),
            Column("ethnicity_not_known", "Ethnicity not known (99 or empty)", "count")]
    return tuple(out)


@register(
    name="coverage",
    title="Recording coverage by agency: ethnicity, GP registration, NHS number and linkage",
    definition=(
        "Of the records each agency holds in the area and financial year, the share with a usable ethnic "
        "category (not Z 'not stated', not 99 'not known', not empty), the share recorded as registered with "
        "a GP, the share with GP registration recorded at all (Y or N), the share that carried an NHS number, "
        "and the share linked to a person."
    ),
    numerator=("Records with a usable ethnic category / GP registration Y / GP registration Y or N / "
               "an NHS number / a person key."),
    denominator="Records of the agency table in the area and financial year (linked or not).",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts.",
    caveats=(
        "Counts records, not people. Demographic filters do not apply (unlinked records have no person). The "
        "NHS number itself stays in the identity zone; ingest records only whether one was present "
        "(nhs_number_recorded), and its validity is not checked here."
    ),
    source="Local data quality indicator, after NHS England's Data Quality Maturity Index (completeness of "
           "ethnic category and NHS number).",
    keys=("setting",),
    counts=(
        Count("records", "records:{setting}", unit="records"),
        *[Count(c, f"records_{c}:{{setting}}", within="records", unit="records") for c in SHARES],
        Count("ethnicity_not_stated", "records_ethnicity_not_stated:{setting}", within="records", unit="records"),
        Count("ethnicity_not_known", "records_ethnicity_not_known:{setting}", within="records", unit="records"),
    ),
    breakdowns=("all",),
    intersections=False,
    finish=_finish,
    columns=_columns(),
)
def coverage(b: base.Base) -> dict[str, ibis.Table]:
    parts = []
    for table in AGENCY_TABLES:
        t = base.content(b.con, table)
        event = t[schema(table).event_date].cast("date")
        t = t.filter(event.notnull())
        code = t.ethnicity_code.cast("string")
        gp = t.gp_registered.cast("string")
        flags = {
            "records": ibis.literal(1),
            "ethnicity_recorded": (code.notnull() & ~code.isin(("Z", "99", ""))).cast("int64"),
            "ethnicity_not_stated": (code == "Z").fill_null(False).cast("int64"),
            "ethnicity_not_known": (code.isnull() | code.isin(("99", ""))).cast("int64"),
            "gp_registered": (gp == "Y").fill_null(False).cast("int64"),
            "gp_recorded": gp.isin(("Y", "N")).fill_null(False).cast("int64"),
            "nhs_number_recorded": (t.nhs_number_recorded.fill_null(False).cast("int64")
                                    if "nhs_number_recorded" in t.columns else ibis.literal(0)),
            "linked": t.person_key.notnull().cast("int64"),
        }
        parts.append(t.select(year=base.financial_year(event), area_code=t.area_code,
                              setting=ibis.literal(table), **flags))
    u = ibis.union(*parts)
    demographics = {c: ibis.literal(base.UNKNOWN_ETHNICITY if c == "ethnic_group_19" else base.NOT_KNOWN)
                    for c in base.FINE}
    out = {}
    for count in ("records", *SHARES, "ethnicity_not_stated", "ethnicity_not_known"):
        g = u.group_by(["year", "area_code", "setting"]).aggregate(n=u[count].sum())
        out[count] = g.select("year", "area_code", "setting", **demographics, n=g.n.cast("int64"))
    return out
