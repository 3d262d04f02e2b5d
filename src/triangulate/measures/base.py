"""Person-level base tables, as Ibis expressions over the content zone.

The measures count people, not records: a person arrested three times is one person in custody.
Linkage writes ``person_key`` on every agency record; these expressions gather each person's
records from the six agency tables, resolve one set of demographics per person, and give the
contacts and needs every measure starts from. Filters (area, period, demographics) are applied
here once, so every measure honours them the same way.

Resolution rules (also in docs/measures.md):

- **ethnicity**: the ethnic category code recorded most often across all the person's records,
  leaving out "Z" (not stated), "99" (not known) and empty; ties go to the code on the most recent
  record, then to the first code alphabetically. No usable code: "Not stated/unknown".
- **sex, religion, disability**: the same rule, leaving out "X"/"9" (sex), "NS" (religion) and
  "U" (disability).
- **age band**: the ESP 2013 five-year band of ``age_at_event`` on the person's first record
  (earliest event date, then record key).

Demographics are resolved over every record of the person in the store, not only those inside
the area and period asked for: they describe the person, while the filters choose the contacts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import ibis
import pyarrow as pa

from triangulate.measures.errors import MeasuresError
from triangulate.standard import AGENCY_TABLES, codelist, schema

UNKNOWN_ETHNICITY = "Not stated/unknown"
NOT_USABLE = {
    "ethnicity_code": ("Z", "99"),
    "sex": ("X", "9"),
    "religion": ("NS",),
    "disability": ("U",),
}
DEMOGRAPHICS = (
    "ethnicity_code",
    "ethnic_group_5",
    "ethnic_group_19",
    "sex",
    "religion",
    "disability",
    "age_band",
)


@dataclass(frozen=True)
class Filters:
    """What to measure: areas (ONS codes), a period of event dates, and demographics of people.

    ``demographics`` maps a column of :func:`people` (``ethnic_group_5``, ``ethnic_group_19``,
    ``sex``, ``religion``, ``disability``, ``age_band``, ``ethnicity_code``) to a value or values.
    """

    areas: tuple[str, ...] | None = None
    period: tuple[dt.date, dt.date] | None = None
    demographics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        area: str | Sequence[str] | None = None,
        period: str | tuple[dt.date | str, dt.date | str] | None = None,
        demographics: Mapping[str, str | Sequence[str]] | None = None,
    ) -> Filters:
        """Filters from the user's words: ``area="E09000032"``, ``period="2023-04-01:2024-03-31"``."""
        areas = None if area is None else ((area,) if isinstance(area, str) else tuple(area))
        return cls(areas, _period(period), _demographics(demographics or {}))


def _period(period) -> tuple[dt.date, dt.date] | None:
    if period is None:
        return None
    if isinstance(period, str):
        parts = period.split(":")
        if len(parts) != 2:
            raise MeasuresError(
                f"Period {period!r} is not FROM:TO: give two dates, e.g. 2023-04-01:2024-03-31."
            )
        period = tuple(parts)
    try:
        start, end = (p if isinstance(p, dt.date) else dt.date.fromisoformat(p) for p in period)
    except (TypeError, ValueError):
        raise MeasuresError(
            f"Period {period!r} is not two ISO dates: use FROM:TO, e.g. 2023-04-01:2024-03-31."
        ) from None
    if end < start:
        raise MeasuresError(
            f"The period {start} to {end} is empty (it ends before it starts): swap the dates."
        )
    return start, end


def _demographics(demographics: Mapping[str, str | Sequence[str]]) -> dict[str, tuple[str, ...]]:
    unknown = sorted(set(demographics) - set(DEMOGRAPHICS))
    if unknown:
        raise MeasuresError(
            f"Cannot filter on {', '.join(unknown)}: filter on {', '.join(DEMOGRAPHICS)}."
        )
    return {
        k: (v,) if isinstance(v, str) else tuple(str(x) for x in v) for k, v in demographics.items()
    }


# --- code lists as small in-memory tables -------------------------------------------------------


@cache
def ethnicity_crosswalk() -> pa.Table:
    """NHS ethnic category code → the ONS 2021 groups the measures report by.

    Convention: both breakdowns use the ONS 2021 columns of the standard's crosswalk
    (``ons_2021_high_level_group`` for the 5 groups, ``ons_2021_category`` for the 19), because
    the population denominators are ONS Census 2021 counts. So Chinese (NHS "R") is Asian here, as
    in the Census, not "Other" as in the NHS 2001 frame.
    """
    rows = codelist("ethnicity").rows
    rows = [r for r in rows if r["ons_2021_code"]]
    return pa.table(
        {
            "ethnicity_code": [r["nhs_ethnic_category_code"] for r in rows],
            "ethnic_group_5": [r["ons_2021_high_level_group"] for r in rows],
            "ethnic_group_19": [r["ons_2021_category"] for r in rows],
        }
    )


@cache
def ons_groups() -> pa.Table:
    """ONS 2021 ethnic group code (population table) → the 19 categories and 5 groups."""
    rows = codelist("ons_ethnic_group").rows
    return pa.table(
        {
            "ons_ethnic_group": [int(r["code"]) for r in rows],
            "ethnic_group_19": [r["label"] for r in rows],
            "ethnic_group_5": [r["high_level_group"] for r in rows],
        }
    )


# --- records ------------------------------------------------------------------------------------


def content(con: ibis.BaseBackend, name: str) -> ibis.Table:
    return con.table(name, database="content")


def all_records(con: ibis.BaseBackend) -> ibis.Table:
    """Every agency record with a person key, in one shape: the store's records as people's."""
    parts = []
    for table in AGENCY_TABLES:
        t = content(con, table)
        parts.append(
            t.filter(t.person_key.notnull()).select(
                record_key=t.record_key,
                person_key=t.person_key,
                setting=ibis.literal(table),
                area_code=t.area_code,
                event_date=t[schema(table).event_date].cast("date"),
                sex=t.sex.cast("string"),
                ethnicity_code=t.ethnicity_code.cast("string"),
                religion=t.religion.cast("string"),
                disability=t.disability.cast("string"),
                gp_registered=t.gp_registered.cast("string"),
                age_at_event=t.age_at_event.cast("int64"),
            )
        )
    return ibis.union(*parts)


def records(con: ibis.BaseBackend, filters: Filters) -> ibis.Table:
    """The person-keyed records inside the areas and period, of people matching the demographics."""
    r = _in_area_and_period(all_records(con), filters)
    if filters.demographics:
        chosen = people(con, filters).select("person_key")
        r = r.semi_join(chosen, "person_key")
    return r


def _in_area_and_period(r: ibis.Table, filters: Filters) -> ibis.Table:
    if filters.areas is not None:
        r = r.filter(r.area_code.isin(filters.areas))
    if filters.period is not None:
        start, end = filters.period
        r = r.filter(r.event_date.between(start, end))
    return r


def _most_frequent(r: ibis.Table, column: str) -> ibis.Table:
    usable = r.filter(r[column].notnull() & ~r[column].isin(NOT_USABLE[column]) & (r[column] != ""))
    counted = usable.group_by(["person_key", column]).aggregate(
        times=usable.count(), latest=usable.event_date.max()
    )
    ranked = counted.mutate(
        rank=ibis.row_number().over(
            group_by="person_key",
            order_by=[ibis.desc("times"), ibis.desc("latest"), ibis.asc(column)],
        )
    )
    return ranked.filter(ranked["rank"] == 0).select("person_key", column)


def age_band(age: ibis.Value) -> ibis.Value:
    """The ESP 2013 band ("0-4" … "85-89", "90+") of a whole age in years."""
    low = (age // 5) * 5
    return ibis.ifelse(
        age >= 90, "90+", low.cast("int64").cast("string") + "-" + (low + 4).cast("int64").cast("string")
    )


def people(con: ibis.BaseBackend, filters: Filters | None = None) -> ibis.Table:
    """One row per person: person_key and their resolved demographics (see the module docstring).

    With ``filters``, only people with a record in the areas and period and matching the
    demographics asked for.
    """
    everything = all_records(con)
    keys = everything.select("person_key").distinct()
    first = everything.mutate(
        order=ibis.row_number().over(
            group_by="person_key", order_by=[ibis.asc("event_date"), ibis.asc("record_key")]
        )
    )
    first = first.filter(first.order == 0).select(
        "person_key", age_band=age_band(first.age_at_event)
    )
    crosswalk = ibis.memtable(ethnicity_crosswalk())
    result = keys
    for column in ("ethnicity_code", "sex", "religion", "disability"):
        result = result.left_join(_most_frequent(everything, column), "person_key").select(
            result, column
        )
    result = result.left_join(first, "person_key").select(result, "age_band")
    result = result.left_join(crosswalk, "ethnicity_code").select(
        result,
        ethnic_group_5=crosswalk.ethnic_group_5.fill_null(UNKNOWN_ETHNICITY),
        ethnic_group_19=crosswalk.ethnic_group_19.fill_null(UNKNOWN_ETHNICITY),
    )
    if filters is not None:
        result = _filter_people(con, result, filters)
    return result


def _filter_people(con: ibis.BaseBackend, result: ibis.Table, filters: Filters) -> ibis.Table:
    if filters.areas is not None or filters.period is not None:
        inside = _in_area_and_period(all_records(con), filters).select("person_key")
        result = result.semi_join(inside, "person_key")
    for column, values in filters.demographics.items():
        result = result.filter(result[column].isin(values))
    return result


def contacts(con: ibis.BaseBackend, filters: Filters) -> ibis.Table:
    """One row per person per setting (agency table): their contacts, first and last date."""
    return Bases(con, filters, cache=False).contacts


ANXIETY_OR_DEPRESSION = "anxiety_or_depression"


def needs(con: ibis.BaseBackend, filters: Filters) -> ibis.Table:
    """One row per person per need recorded against any of their records, by any agency.

    With a period, only needs identified by its end. Adds ``anxiety_or_depression`` (either
    need), the category the published general-population benchmark is for.
    """
    need = content(con, "need")
    if filters.period is not None:
        need = need.filter(need.identified_date.isnull() | (need.identified_date <= filters.period[1]))
    keyed = all_records(con).select("record_key", "person_key")
    joined = need.join(keyed, "record_key").select("person_key", need_code=need.need_code)
    either = joined.filter(joined.need_code.isin(("anxiety", "depression"))).select(
        "person_key", need_code=ibis.literal(ANXIETY_OR_DEPRESSION)
    )
    return ibis.union(joined, either).distinct()


def need_codes() -> list[str]:
    return [r["code"] for r in codelist("need").rows] + [ANXIETY_OR_DEPRESSION]


class Bases:
    """The base tables of one run (a store and its filters), each worked out once.

    Measures read their people, records, contacts and needs from here; each is cached in the
    engine as a temporary table (Ibis ``cache``) the first time it is asked for, so a suite of
    measures does not rebuild the person-level resolution for every table.
    """

    def __init__(
        self, con: ibis.BaseBackend, filters: Filters | None = None, *, cache: bool | None = None
    ):
        self.con = con
        self.filters = filters or Filters()
        # Ibis 12's PySpark backend does not register in-memory tables (the code lists) before
        # caching, so caching is DuckDB's only, until that is fixed upstream.
        self._cache = con.name == "duckdb" if cache is None else cache
        self._made: dict[str, ibis.Table] = {}

    def _get(self, name: str, make) -> ibis.Table:
        if name not in self._made:
            expr = make()
            self._made[name] = expr.cache() if self._cache else expr
        return self._made[name]

    @property
    def all_people(self) -> ibis.Table:
        return self._get("all_people", lambda: people(self.con))

    @property
    def people(self) -> ibis.Table:
        return self._get("people", lambda: _filter_people(self.con, self.all_people, self.filters))

    @property
    def records(self) -> ibis.Table:
        def make():
            r = _in_area_and_period(all_records(self.con), self.filters)
            if self.filters.demographics:
                r = r.semi_join(self.people.select("person_key"), "person_key")
            return r

        return self._get("records", make)

    @property
    def contacts(self) -> ibis.Table:
        def make():
            r = self.records
            return r.group_by(["person_key", "setting"]).aggregate(
                contacts=r.count(), first_contact=r.event_date.min(), last_contact=r.event_date.max()
            )

        return self._get("contacts", make)

    @property
    def needs(self) -> ibis.Table:
        return self._get("needs", lambda: needs(self.con, self.filters))
