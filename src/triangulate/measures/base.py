"""The person-level base, built once per run, and the fine counts every measure is made of.

The measures count people, not records: a person arrested three times is one person in custody.
Linkage writes ``person_key`` on every agency record; this module gathers each person's records
from the six agency tables, resolves one set of demographics per person, and materialises the tables
every measure starts from (``Base``), once, in the engine.

**Views are computed together.** A measure does not run once per area, year and demographic filter.
It returns *fine counts*: counts by financial year, area and the full set of demographics
(``FINE``), which the publication rolls up into every view at once (``triangulate.publish``). For
that to be exact, every count is additive over areas and years:

- **one area per person, setting and year**: a person seen in a setting in a financial year counts
  in one area, the area of most of their records in that setting that year (ties: the latest
  record, then the code). A person seen in two areas in a year counts once, in the first.
- **years are pooled**: "the whole period" is the sum of the financial years, so a person seen in
  three years counts three times (person-years), as Fingertips pools years for small areas.

Resolution rules (also in docs/measures.md):

- **ethnicity**: the ethnic category code recorded most often across all the person's records,
  leaving out "Z" (not stated), "99" (not known) and empty; ties go to the code on the most recent
  record, then to the first code alphabetically. No usable code: "Not stated/unknown".
- **sex, religion, disability**: the same rule, leaving out "X"/"9" (sex), "NS" (religion) and "U"
  (disability); no usable code is "Not known".
- **first language**: the same rule over the ISO 639 codes recorded, then grouped as the Census's main
  language question is reported: "English" (code ``en``) or "Another language" (any other code,
  British Sign Language included); none recorded is "Not known".
- **age group**: the analysis age group (code list ``age_group``) of the person's age at their first
  record in the financial year, so a person can move up a group from one year to the next.
"""

from __future__ import annotations

import uuid
from functools import cache

import ibis
import pyarrow as pa

from triangulate.standard import AGENCY_TABLES, codelist, schema
from triangulate.store.engines import BASE_TABLES

UNKNOWN_ETHNICITY = "Not stated/unknown"
NOT_KNOWN = "Not known"
NOT_USABLE = {
    "ethnicity_code": ("Z", "99"),
    "sex": ("X", "9"),
    "religion": ("NS",),
    "disability": ("U",),
    "first_language": (),
}
#: The demographic columns of every fine count (ethnic_group_5 follows from ethnic_group_19).
FINE = ("sex", "age_group", "ethnic_group_19", "religion", "disability", "first_language")
#: First language, grouped (see the module docstring): the code of English, and the two groups' labels.
ENGLISH_CODE = "en"
ENGLISH = "English"
ANOTHER_LANGUAGE = "Another language"
#: The view columns of every fine count.
VIEW = ("year", "area_code")
#: Settings (agency tables) of the justice pathway, in Sequential Intercept Model order.
JUSTICE = ("police_custody", "liaison_diversion", "court_appearance", "prison_custody", "probation_supervision")
ANXIETY_OR_DEPRESSION = "anxiety_or_depression"
#: Dated fields of things before the contact, which no measure dates a row by.
BEFORE_CONTACT = ("date_of_birth", "offence_date")


# --- code lists as small in-memory tables -------------------------------------------------------


@cache
def ethnicity_crosswalk() -> pa.Table:
    """NHS ethnic category code -> the ONS 2021 19 categories and 5 groups the measures report by.

    Convention: the ONS 2021 columns of the standard's crosswalk, because the population
    denominators are ONS Census 2021 counts. So Chinese (NHS "R") is Asian here, as in the Census,
    not "Other" as in the NHS 2001 frame.
    """
    rows = [r for r in codelist("ethnicity").rows if r["ons_2021_code"]]
    return pa.table({
        "ethnicity_code": [r["nhs_ethnic_category_code"] for r in rows],
        "ethnic_group_5": [r["ons_2021_high_level_group"] for r in rows],
        "ethnic_group_19": [r["ons_2021_category"] for r in rows],
    })


@cache
def ons_groups() -> pa.Table:
    """ONS 2021 ethnic group code (population table) -> the 19 categories and 5 groups."""
    rows = codelist("ons_ethnic_group").rows
    return pa.table({
        "ons_ethnic_group": [int(r["code"]) for r in rows],
        "ethnic_group_19": [r["label"] for r in rows],
        "ethnic_group_5": [r["high_level_group"] for r in rows],
    })


@cache
def age_groups() -> pa.Table:
    """ESP 2013 five-year band -> analysis age group (code list ``age_group``)."""
    bands, groups = [], []
    for r in codelist("age_group").rows:
        for band in r["esp_bands"].split(";"):
            bands.append(band)
            groups.append(r["code"])
    return pa.table({"age_band": bands, "age_group": groups})


def labels(name: str) -> pa.Table:
    """A code list's codes and labels, as a table to join on."""
    rows = codelist(name).rows
    return pa.table({"code": [r["code"] for r in rows], "label": [r["label"] for r in rows]})


def need_codes() -> list[str]:
    return [r["code"] for r in codelist("need").rows] + [ANXIETY_OR_DEPRESSION]


def age_group(age: ibis.Value) -> ibis.Value:
    """The analysis age group of a whole age in years (code list ``age_group``)."""
    cases = [((age >= int(r["lowest_age"])) & (age <= int(r["highest_age"])), r["code"])
             for r in codelist("age_group").rows]
    return ibis.cases(*cases, else_=ibis.literal(NOT_KNOWN))


def financial_year(date: ibis.Value) -> ibis.Value:
    """The financial year (April to March) of a date, as "2023/24"."""
    start = ibis.ifelse(date.month() >= 4, date.year(), date.year() - 1)
    return start.cast("string") + "/" + ((start + 1) % 100).cast("string").lpad(2, "0")


_IBIS_TYPES = {"VARCHAR": "string", "DATE": "date", "BIGINT": "int64", "INTEGER": "int64", "DOUBLE": "float64",
               "BOOLEAN": "boolean", "TIMESTAMP": "timestamp"}


def content(con: ibis.BaseBackend, name: str) -> ibis.Table:
    """A content-zone table, with any field a later version of the standard added (all optional) and this
    store does not have yet given as empty: a store made by an earlier version is read as it is, read-only,
    without a migration (the ingest adds the columns when it next writes)."""
    from triangulate.store import store_tables

    t = con.table(name, database="content")
    missing = {c.name: ibis.null(_IBIS_TYPES.get(c.sql_type.upper(), "string"))
               for c in store_tables().get(f"content.{name}", ()) if c.name not in t.columns}
    return t.mutate(**missing) if missing else t


def all_records(con: ibis.BaseBackend) -> ibis.Table:
    """Every agency record with a person key, in one shape: the store's records as people's."""
    parts = []
    for table in AGENCY_TABLES:
        t = content(con, table)
        event = t[schema(table).event_date].cast("date")
        parts.append(
            t.filter(t.person_key.notnull() & event.notnull()).select(
                record_key=t.record_key,
                person_key=t.person_key,
                setting=ibis.literal(table),
                area_code=t.area_code,
                event_date=event,
                year=financial_year(event),
                sex=t.sex.cast("string"),
                ethnicity_code=t.ethnicity_code.cast("string"),
                religion=t.religion.cast("string"),
                disability=t.disability.cast("string"),
                first_language=t.first_language.cast("string"),
                age_at_event=t.age_at_event.cast("int64"),
            )
        )
    return ibis.union(*parts)


def most_frequent(rows: ibis.Table, group: list[str], column: str) -> ibis.Table:
    """One row per ``group``: the value of ``column`` on most of its rows (ties to the latest
    ``event_date``, then the first value in order)."""
    counted = rows.group_by([*group, column]).aggregate(times=rows.count(), latest=rows.event_date.max())
    ranked = counted.mutate(rank=ibis.row_number().over(
        group_by=group, order_by=[ibis.desc("times"), ibis.desc("latest"), ibis.asc(column)]))
    return ranked.filter(ranked["rank"] == 0).select(*group, column)


def _most_frequent(r: ibis.Table, column: str) -> ibis.Table:
    usable = r.filter(r[column].notnull() & ~r[column].isin(NOT_USABLE[column]) & (r[column] != ""))
    return most_frequent(usable, ["person_key"], column)


def resolve_people(records: ibis.Table) -> ibis.Table:
    """One row per person: their resolved demographics as code list labels (module docstring)."""
    result = records.select("person_key").distinct()
    for column in ("ethnicity_code", "sex", "religion", "disability", "first_language"):
        result = result.left_join(_most_frequent(records, column), "person_key").select(result, column)
    crosswalk = ibis.memtable(ethnicity_crosswalk())
    result = result.left_join(crosswalk, "ethnicity_code").select(
        result, ethnic_group_19=crosswalk.ethnic_group_19.fill_null(UNKNOWN_ETHNICITY))
    for column, listed in (("sex", "sex"), ("religion", "religion"), ("disability", "yes_no_unknown")):
        names = ibis.memtable(labels(listed)).rename(**{f"{column}_label": "label", f"{column}_code": "code"})
        result = result.left_join(names, result[column] == names[f"{column}_code"]).select(
            *[c for c in result.columns if c != column], **{column: names[f"{column}_label"].fill_null(NOT_KNOWN)})
    return result.select("person_key", "sex", "ethnic_group_19", "religion", "disability",
                         first_language=language_group(result.first_language))


def language_group(code: ibis.Value) -> ibis.Value:
    """English, another language or not known, from a first language's ISO 639 code (or none)."""
    return ibis.cases((code.isnull() | (code == ""), NOT_KNOWN), (code == ENGLISH_CODE, ENGLISH),
                      else_=ANOTHER_LANGUAGE)


def _attributed(rows: ibis.Table, group: list[str]) -> ibis.Table:
    """One row per ``group`` (which includes person_key): the area of most of its records."""
    return most_frequent(rows, group, "area_code")


class Base:
    """The base tables of one run over a store, each worked out once and kept in the engine.

    ``people``: person_key and resolved demographics. ``records``: every person-keyed agency
    record with its financial year. ``person_years``: person_key, year, the age at the first record
    that year and its age group. ``presence``: one row per person, setting and year with the attributed area. ``needs``: one row
    per person and need, with the earliest date it was identified (null when undated).
    """

    def __init__(self, con: ibis.BaseBackend, *, cache: bool | None = None):
        self.con = con
        # On Spark each base table is worked out once and kept, as the session's settings say
        # (``store.engines.SparkSettings.base_tables``): written as a Parquet table of the session where
        # every executor sees the warehouse folder (local mode, or a shared folder), else kept by the
        # executors as a local checkpoint (the rows kept, the plan that made them dropped) read through a
        # temporary view. Ibis 12's PySpark ``cache()`` does not register in-memory tables (the code
        # lists) first. Without any of these, Spark works every base table out again for every query
        # (200 people: 191 s of fine counts), and the plans of the later measures grow until building
        # their text runs the driver out of memory.
        self._cache = con.name == "duckdb" if cache is None else cache
        spark = not self._cache and con.name == "pyspark"
        kept = con._session.conf.get(BASE_TABLES, "checkpoint") if spark else None
        self._written, self._checkpointed = kept == "parquet", kept == "checkpoint"
        self._tables: list[str] = []
        self._made: dict[str, ibis.Table] = {}
        self._values: dict[str, object] = {}
        self._frames: dict[str, object] = {}

    def _get(self, name: str, make) -> ibis.Table:
        if name not in self._made:
            expr = make()
            if self._cache:
                expr = expr.cache()
            elif self._written:
                table = f"triangulate_base_{len(self._tables)}_{uuid.uuid4().hex[:12]}"
                expr = self.con.create_table(table, expr)
                self._tables.append(table)
            elif self._checkpointed:
                expr = self._checkpoint(expr)
            self._made[name] = expr
        return self._made[name]

    def _checkpoint(self, expr: ibis.Table) -> ibis.Table:
        view = f"triangulate_base_{len(self._frames)}_{uuid.uuid4().hex[:12]}"
        self.con.create_view(f"{view}_plan", expr)  # registers the code lists the expression reads
        session = self.con._session
        frame = session.table(f"{view}_plan").localCheckpoint(eager=True)
        session.catalog.dropTempView(f"{view}_plan")
        frame.createTempView(view)
        self._frames[view] = frame
        return self.con.table(view)

    def release(self) -> None:
        """Drop the engine's cached tables now (before the connection closes, not at garbage collection)."""
        if self._cache:
            for expr in self._made.values():
                try:
                    expr.release()
                except Exception:  # noqa: BLE001 - already gone with its connection
                    pass
        for table in self._tables:
            try:
                self.con.drop_table(table, force=True)
            except Exception:  # noqa: BLE001 - already gone with its session
                pass
        self._tables.clear()
        for view, frame in self._frames.items():
            try:
                self.con._session.catalog.dropTempView(view)
                frame.unpersist()
            except Exception:  # noqa: BLE001 - already gone with its session
                pass
        self._frames.clear()
        self._made.clear()
        self._values.clear()

    def kept(self, name: str, make) -> ibis.Table:
        """A measure's own intermediate table (``make()``), worked out once per run and kept in the
        engine like the base tables: for a table that several of the measure's counts read."""
        return self._get(f"kept:{name}", make)

    def table(self, name: str) -> ibis.Table:
        """An agency table of the content zone, linked rows only, with its event date's year."""
        def make():
            t = content(self.con, name)
            event = t[schema(name).event_date].cast("date")
            t = t.filter(t.person_key.notnull() & event.notnull())
            return t.mutate(event_date=event, year=financial_year(event))
        return self._get(f"table:{name}", make)

    @property
    def records(self) -> ibis.Table:
        return self._get("records", lambda: all_records(self.con))

    @property
    def people(self) -> ibis.Table:
        return self._get("people", lambda: resolve_people(self.records))

    @property
    def person_years(self) -> ibis.Table:
        def make():
            r = self.records
            first = r.group_by(["person_key", "year"]).aggregate(age=r.age_at_event.min())
            return first.select("person_key", "year", "age", age_group=age_group(first.age))
        return self._get("person_years", make)

    @property
    def first_ages(self) -> ibis.Table:
        """person_key, the start year of their first financial year in the records, and their age then
        (from ``person_years``): the age group of a year with no record of the person (a release, a
        cohort start) follows from it."""
        def make():
            py = self.person_years.mutate(start=self.person_years.year.substr(0, 4).cast("int64"))
            ranked = py.mutate(rank=ibis.row_number().over(group_by="person_key", order_by=py.start))
            first = ranked.filter(ranked["rank"] == 0)
            return first.select("person_key", first_start=first.start, first_age=first.age)
        return self._get("first_ages", make)

    @property
    def presence(self) -> ibis.Table:
        return self._get("presence", lambda: _attributed(self.records, ["person_key", "setting", "year"]))

    def stage(self, name: str, rows: ibis.Table | None = None) -> ibis.Table:
        """People reaching a stage: one row per person and year, with the attributed area.

        ``rows`` (person_key, year, area_code, event_date) are the records that show the stage; a
        setting's name alone means the presence in that setting.
        """
        if rows is None:
            p = self.presence
            return self._get(f"stage:{name}", lambda: p.filter(p.setting == name).select("person_key", "year", "area_code"))
        return self._get(f"stage:{name}", lambda: _attributed(
            rows.select("person_key", "year", "area_code", "event_date"), ["person_key", "year"]))

    @property
    def needs(self) -> ibis.Table:
        def make():
            need = content(self.con, "need")
            keyed = self.records.select("record_key", "person_key")
            joined = need.join(keyed, "record_key").select(
                "person_key", need.need_code, when=need.identified_date.cast("date"))
            either = joined.filter(joined.need_code.isin(("anxiety", "depression"))).mutate(
                need_code=ibis.literal(ANXIETY_OR_DEPRESSION))
            both = ibis.union(joined, either)
            # The earliest dated identification; undated needs count from the start (null is lowest).
            return both.group_by(["person_key", "need_code"]).aggregate(
                identified_date=both.when.min(), undated=both.when.isnull().any())
        return self._get("needs", make)

    @property
    def dated_years(self) -> list[str]:
        """Every financial year from the first to the last date of a linked record (event, release,
        referral, end: every dated field but those of things before the contact, ``BEFORE_CONTACT``),
        read out of the engine once. A measure dates its rows by one of these fields, so its years are
        among them."""
        if "dated_years" not in self._values:
            values = []
            for table in AGENCY_TABLES:
                t = content(self.con, table)
                t = t.filter(t.person_key.notnull())
                fields = [f.name for f in schema(table).fields if f.type == "date" and f.name not in BEFORE_CONTACT]
                if not fields:
                    continue
                row = t.aggregate(**{f"{w}{i}": getattr(t[f].cast("date"), w)()
                                     for i, f in enumerate(fields) for w in ("min", "max")}).to_pyarrow()
                values += [v for v in row.to_pylist()[0].values() if v is not None]
            if values:
                first, last = min(values), max(values)
                starts = range(first.year - (first.month < 4), last.year - (last.month < 4) + 1)
                self._values["dated_years"] = [f"{y}/{(y + 1) % 100:02d}" for y in starts]
            else:
                self._values["dated_years"] = []
        return self._values["dated_years"]

    @property
    def demographics(self) -> ibis.Table:
        """Every person in every financial year of the records (``dated_years``): their demographics and
        that year's age group, worked out once so each fine count joins one table on (person_key, year)
        rather than three (on 1,000,000 people, the need prevalence's fine counts: 11.6 s -> 5.2 s).

        A year with no record of the person (a release or an order start dated in a year without
        another record) takes the age group of their age in their first year plus the years since."""
        def make():
            years = ibis.memtable({"year": self.dated_years}, schema={"year": "string"})
            py, fa = self.person_years, self.first_ages
            joined = self.people.cross_join(years)
            joined = joined.left_join(py, [joined.person_key == py.person_key, joined.year == py.year]).select(
                joined, known_group=py.age_group)
            joined = joined.left_join(fa, joined.person_key == fa.person_key).select(
                joined, first_start=fa.first_start, first_age=fa.first_age)
            later = joined.first_age + joined.year.substr(0, 4).cast("int64") - joined.first_start
            return joined.mutate(age_group=joined.known_group.fill_null(age_group(later))).select(
                "person_key", "year", *FINE)
        return self._get("demographics", make)

    def with_demographics(self, t: ibis.Table) -> ibis.Table:
        """``t`` (person_key, year, ...) with the person's demographics and that year's age group."""
        return t.join(self.demographics, ["person_key", "year"])

    def fine(self, t: ibis.Table, keys: tuple[str, ...] = (), **counts) -> ibis.Table:
        """Fine counts of ``t`` (person_key, year, area_code, keys...): rows per person by default.

        ``counts`` maps an output name to an aggregate over the joined rows (default: ``n`` = rows).
        """
        joined = self.with_demographics(t)
        groups = [*VIEW, *keys, *FINE]
        aggregates = {name: make(joined) for name, make in counts.items()} or {"n": joined.count()}
        out = joined.group_by(groups).aggregate(**aggregates)
        return out.select(*groups, *[out[name].cast("int64").name(name) for name in aggregates])
