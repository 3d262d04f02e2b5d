"""Coverage: how well each agency records what the other measures depend on."""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa

from triangulate import stats
from triangulate.measures import base
from triangulate.measures.registry import Disclosure, register
from triangulate.measures.tables import column, sort, with_columns
from triangulate.standard import AGENCY_TABLES, schema

SHARES = {
    "ethnicity_recorded": "ethnicity_recorded_percent",
    "gp_registered": "gp_registered_percent",
    "gp_recorded": "gp_recorded_percent",
    "nhs_number_recorded": "nhs_number_recorded_percent",
    "linked": "linked_percent",
}


def _finish(table: pa.Table) -> pa.Table:
    table = sort(table, ["setting"])
    records = column(table, "records")
    added = {}
    for count, name in SHARES.items():
        e = stats.proportion(column(table, count), np.maximum(records, 1), multiplier=100)
        empty = records == 0
        added[name] = np.where(empty, np.nan, e.value)
        added[f"{name}_lower_95"] = np.where(empty, np.nan, e.lower)
        added[f"{name}_upper_95"] = np.where(empty, np.nan, e.upper)
    return with_columns(table, added)


def _derived(count: str) -> tuple[str, ...]:
    name = SHARES[count]
    return (name, f"{name}_lower_95", f"{name}_upper_95")


@register(
    name="coverage",
    title="Recording coverage by agency: ethnicity, GP registration, NHS number and linkage",
    definition=(
        "Of the records each agency holds in the area and period, the share with a usable "
        "ethnic category (not Z 'not stated', not 99 'not known', not empty), the share recorded "
        "as registered with a GP, the share with GP registration recorded at all (Y or N), the "
        "share that carried an NHS number, and the share linked to a person."
    ),
    numerator=("Records with a usable ethnic category / GP registration Y / GP registration Y or N / "
               "an NHS number / a person key."),
    denominator="Records of the agency table in the area and period (linked or not).",
    method="Wilson score interval at 95% (triangulate.stats.proportion).",
    caveats=(
        "Counts records, not people. Demographic filters do not apply (unlinked records have no "
        "person). The NHS number itself stays in the identity zone; ingest records only whether "
        "one was present (nhs_number_recorded), and its validity is not checked here."
    ),
    finish=_finish,
    disclosure=Disclosure(
        counts=("records", "ethnicity_recorded", "ethnicity_not_stated", "ethnicity_not_known",
                "gp_registered", "gp_recorded", "nhs_number_recorded", "linked"),
        dimensions=("setting",),
        by=(),
        dependents={
            "records": sum((_derived(c) for c in SHARES), ()),
            **{c: _derived(c) for c in SHARES},
        },
    ),
)
def coverage(b: base.Bases) -> ibis.Table:
    parts = []
    for table in AGENCY_TABLES:
        t = base.content(b.con, table)
        event = t[schema(table).event_date]
        if b.filters.areas is not None:
            t = t.filter(t.area_code.isin(b.filters.areas))
        if b.filters.period is not None:
            t = t.filter(event.between(*b.filters.period))
        code = t.ethnicity_code.cast("string")
        gp = t.gp_registered.cast("string")
        parts.append(
            t.aggregate(
                records=t.count(),
                ethnicity_recorded=(code.notnull() & ~code.isin(("Z", "99", ""))).sum(),
                ethnicity_not_stated=(code == "Z").sum(),
                ethnicity_not_known=(code.isnull() | code.isin(("99", ""))).sum(),
                gp_registered=(gp == "Y").sum(),
                gp_recorded=gp.isin(("Y", "N")).sum(),
                nhs_number_recorded=(t.nhs_number_recorded.fill_null(False).cast("int64").sum()
                                     if "nhs_number_recorded" in t.columns else ibis.literal(0)),
                linked=t.person_key.notnull().sum(),
            ).mutate(setting=ibis.literal(table))
        )
    u = ibis.union(*parts)
    return u.select("setting", *[u[c].fill_null(0).cast("int64").name(c) for c in u.columns if c != "setting"])
