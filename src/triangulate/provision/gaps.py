"""Need against provision on the Sequential Intercept Model: the gap analysis.

For each view of the publication (area, financial year), intercept and need, and for the groups of
the breakdowns a service can be limited to (sex, 5 ethnic groups, age group):

- **people with the need seen at the intercept**: the published (disclosure-controlled) count of
  ``need_prevalence`` for the setting that stands for the intercept (:data:`INTERCEPT_SETTINGS`);
- **services** that serve it: active, working at the intercept, serving the need, serving the area
  (a service that names no area serves every area), and open to the group (its sexes, ethnic groups
  and ages);
- **capacity** a year: each service's capacity in people a year; places and beds times
  ``turnover_per_year``; a service serving several areas shares its capacity equally among them; a
  whole-period view has the capacity of every year in it. A service's capacity is counted whole for
  each need and intercept it serves (it is what that need could get at most), so shortage is
  understated rather than overstated;
- **need per unit of capacity**, and a **status**: *absent* (people with the need, no service),
  *short of capacity* (need per unit above ``short_above``), *sufficient*, *capacity not stated*,
  *no need recorded* (the count is 0) or *not assessed (small numbers)* (the count is withheld and
  there is a service: its size is not published, so neither is a comparison).

Everything here is computed from the published counts and the published directory only, so the gap
table tells a reader nothing the publication does not; a withheld count stays withheld. Capacity is
compared for all people only (a group's share of a service's capacity is not known); a group's rows
say whether any service is open to it, and how many are specific to it (gender-specific for a sex,
culturally specific for an ethnic group).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from functools import cache
from statistics import median

import pyarrow as pa
import pyarrow.compute as pc

from triangulate.standard import codelist

from . import taxonomy as tx
from .validate import area_code, attribute_term

#: The setting of ``need_prevalence`` whose people stand for those seen at each intercept.
INTERCEPT_SETTINGS: dict[str, str] = {
    "0": "mental_health",
    "1": "police_custody",
    "2": "court_appearance",
    "3": "prison_custody",
    "4": "prison_custody",
    "5": "probation_supervision",
}
#: How each intercept's need is counted, in words (docs and the report say the same).
INTERCEPT_BASIS = {
    "0": "people in contact with mental health services",
    "1": "people brought into police custody",
    "2": "people appearing at court",
    "3": "people in prison",
    "4": "people in prison (those who will be released; releases are not published by need)",
    "5": "people under probation supervision",
}

STATUSES = ("absent", "short of capacity", "capacity not stated", "sufficient", "not assessed (small numbers)",
            "no need recorded", "open to the group", "none open to the group")
#: Breakdowns whose groups a service can be limited to.
GROUP_BREAKDOWNS = ("all", "sex", "ethnic_group_5", "age_group")


@dataclass(frozen=True)
class GapParameters:
    """The thresholds of the gap analysis (docs/provision.md); set with ``TRIANGULATE_GAP_PARAMETERS``
    (a JSON object of any of these fields) or by the caller."""

    #: Need per unit of a year's capacity above which a service is short of capacity.
    short_above: float = 1.0
    #: People a place or a bed serves in a year (one every three months).
    turnover_per_year: float = 4.0

    @classmethod
    def from_environment(cls, environ: dict | None = None) -> GapParameters:
        env = os.environ if environ is None else environ
        raw = env.get("TRIANGULATE_GAP_PARAMETERS")
        if not raw:
            return cls()
        try:
            given = json.loads(raw)
        except ValueError:
            raise ValueError("TRIANGULATE_GAP_PARAMETERS must be a JSON object, e.g. "
                             '{"short_above": 1.0, "turnover_per_year": 4}') from None
        names = {f.name for f in fields(cls)}
        unknown = set(given) - names
        if unknown:
            raise ValueError(f"TRIANGULATE_GAP_PARAMETERS has unknown fields {sorted(unknown)}; "
                             f"the fields are {sorted(names)}")
        values = {k: float(v) for k, v in given.items()}
        if any(v <= 0 for v in values.values()):
            raise ValueError("TRIANGULATE_GAP_PARAMETERS: every value must be above 0")
        return cls(**values)

    def describe(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Service:
    """What the gap analysis needs of one service."""

    id: str
    name: str
    intercepts: frozenset[str]
    needs: frozenset[str]
    areas: frozenset[str]
    sexes: frozenset[str]
    ethnic_groups: frozenset[str]
    features: frozenset[str]
    minimum_age: float | None
    maximum_age: float | None
    annual_capacity: float | None
    other_capacity: str | None
    stated_wait_days: float | None
    languages: frozenset[str] = frozenset()

    @classmethod
    def of(cls, doc: dict, parameters: GapParameters) -> Service:
        by: dict[str, set[str]] = {}
        wait = None
        for a in doc.get("attributes", []):
            t = attribute_term(a)
            if isinstance(t, tx.Term):
                by.setdefault(t.vocabulary, set()).add(t.code)
                if t.code == "stated_wait_days":
                    try:
                        wait = float(a.get("value"))
                    except (TypeError, ValueError):
                        wait = None
        annual, other = 0.0, []
        for c in doc.get("capacities", []):
            unit = (c.get("unit") or {}).get("identifier")
            if unit == "people_per_year":
                annual += float(c["available"])
            elif unit in ("places", "beds"):
                annual += float(c["available"]) * parameters.turnover_per_year
            elif unit:
                other.append(f"{c['available']:g} {codelist('capacity_unit').label(unit).lower()}")
        has_annual = any((c.get("unit") or {}).get("identifier") in ("people_per_year", "places", "beds")
                         for c in doc.get("capacities", []))
        return cls(doc["id"], doc.get("name", ""), frozenset(by.get("intercept", ())), frozenset(by.get("need", ())),
                   frozenset(c for c in (area_code(x) for x in doc.get("service_areas", [])) if c),
                   frozenset(by.get("sex", ())), frozenset(by.get("ethnic_group", ())),
                   frozenset(by.get("feature", ())), _age(doc.get("minimum_age")), _age(doc.get("maximum_age")),
                   annual if has_annual else None, "; ".join(other) or None, wait,
                   frozenset(str(x.get("code")) for x in doc.get("languages", []) if x.get("code")))

    def serves_area(self, area: str) -> bool:
        return not self.areas or area in self.areas

    def open_to(self, breakdown: str, group: str) -> bool:
        if breakdown == "sex":
            code = _sex_code(group)
            return not self.sexes or code is None or code in self.sexes
        if breakdown == "ethnic_group_5":
            code = _ethnic_code(group)
            return not self.ethnic_groups or code is None or code in self.ethnic_groups
        if breakdown == "age_group":
            lo, hi = _age_range(group)
            if lo is None:
                return True
            return not ((self.maximum_age is not None and self.maximum_age < lo)
                        or (self.minimum_age is not None and hi is not None and self.minimum_age > hi))
        return True

    def specific_to(self, breakdown: str, group: str) -> bool:
        if breakdown == "sex":
            return "gender_specific" in self.features and _sex_code(group) in self.sexes
        if breakdown == "ethnic_group_5":
            return "culturally_specific" in self.features and _ethnic_code(group) in self.ethnic_groups
        return False


def _age(v) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


@cache
def _sex_code(label: str) -> str | None:
    return {r["label"]: r["code"] for r in codelist("sex").rows}.get(label)


@cache
def _ethnic_code(label: str) -> str | None:
    groups = {r["high_level_group"] for r in codelist("ons_ethnic_group").rows}
    return tx.ethnic_group_code(label) if label in groups else None


@cache
def _age_range(label: str) -> tuple[float | None, float | None]:
    for r in codelist("age_group").rows:
        if r["code"] == label or r["label"] == label:
            hi = r.get("highest_age")
            return float(r["lowest_age"]), (float(hi) if hi not in (None, "") else None)
    return None, None


GAP_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("area", "Area", "text"), ("year", "Year", "text"), ("breakdown", "Breakdown", "text"),
    ("group", "Group", "text"), ("intercept", "Intercept", "text"), ("need_code", "Need", "need"),
    ("people_with_need", "People with the need seen", "count"),
    ("services", "Services open", "count_plain"), ("specific_services", "Specific to the group", "count_plain"),
    ("capacity_per_year", "Capacity a year", "number"), ("other_capacity", "Other capacity", "text"),
    ("need_per_capacity", "Need per place a year", "ratio"), ("status", "Status", "text"),
    ("service_names", "Services", "text"),
)


def compute_gaps(need: pa.Table, directory: dict, areas: list[str], years: list[str],
                 parameters: GapParameters | None = None) -> pa.Table:
    """The gap table from the published ``need_prevalence`` table and the published directory.

    ``areas`` and ``years`` are the publication's own (the first of each is the all-areas / whole-period
    view); a whole-period view's capacity is that of every single year in it.
    """
    parameters = parameters or GapParameters()
    services = [Service.of(d, parameters) for d in directory.get("services", []) if d.get("status") == "active"]
    local_areas = [a for a in areas[1:]] if len(areas) > 1 else list(areas)
    single_years = [y for y in years[1:]] if len(years) > 1 else list(years)
    needs = set(codelist("need").codes)
    keep = pc.and_(pc.is_in(need.column("breakdown"), pa.array(GROUP_BREAKDOWNS)),
                   pc.is_in(need.column("need_code"), pa.array(sorted(needs))))
    rows = need.filter(keep).select(["area", "year", "breakdown", "group", "setting", "need_code",
                                     "people_with_need"]).to_pylist()
    by_setting: dict[tuple, dict] = {}
    for r in rows:
        by_setting[(r["area"], r["year"], r["breakdown"], r["group"], r["setting"], r["need_code"])] = r
    out: dict[str, list] = {name: [] for name, _, _ in GAP_COLUMNS}

    def share(s: Service, area: str) -> float:
        """The part of a service's capacity that is this area's (or, for all areas, the publication's
        areas'): a service shares its capacity equally among the areas it serves, all areas of the
        publication when it names none."""
        served = [a for a in local_areas if s.serves_area(a)] if not s.areas else sorted(s.areas)
        if area == areas[0]:
            return sum(1 for a in served if a in local_areas) / len(served) if served else 0.0
        return 1.0 / len(served) if area in served else 0.0

    keys = sorted({(r["area"], r["year"], r["breakdown"], r["group"], r["need_code"]) for r in rows},
                  key=lambda k: (areas.index(k[0]) if k[0] in areas else 99, years.index(k[1]) if k[1] in years else 99,
                                 GROUP_BREAKDOWNS.index(k[2]), k[3], k[4]))
    at: dict[tuple[str, str], list[Service]] = {}
    for s in services:
        for intercept in s.intercepts:
            for code in s.needs:
                at.setdefault((intercept, code), []).append(s)
    shares = {(s.id, a): share(s, a) for s in services for a in areas}
    for area, year, breakdown, group, code in keys:
        n_years = len(single_years) if (year == years[0] and len(years) > 1) else 1
        for intercept, setting in INTERCEPT_SETTINGS.items():
            r = by_setting.get((area, year, breakdown, group, setting, code))
            if r is None:
                continue
            count = r["people_with_need"]
            serving = [s for s in at.get((intercept, code), ())
                       if shares[(s.id, area)] > 0 and s.open_to(breakdown, group)]
            specific = sum(s.specific_to(breakdown, group) for s in serving)
            annual = [s.annual_capacity * shares[(s.id, area)] for s in serving if s.annual_capacity is not None]
            capacity = sum(annual) * n_years if annual else None
            ratio = None
            if breakdown != "all":
                status = "none open to the group" if not serving else "open to the group"
                if count == 0:
                    status = "no need recorded"
            elif count is None:
                status = "absent" if not serving else "not assessed (small numbers)"
            elif count == 0:
                status = "no need recorded"
            elif not serving:
                status = "absent"
            elif capacity is None or capacity == 0:
                status = "capacity not stated"
            else:
                ratio = count / capacity
                status = "short of capacity" if ratio > parameters.short_above else "sufficient"
            out["area"].append(area)
            out["year"].append(year)
            out["breakdown"].append(breakdown)
            out["group"].append(group)
            out["intercept"].append(intercept)
            out["need_code"].append(code)
            out["people_with_need"].append(count)
            out["services"].append(len(serving))
            out["specific_services"].append(specific if breakdown in ("sex", "ethnic_group_5") else None)
            out["capacity_per_year"].append(None if capacity is None or breakdown != "all" else round(capacity / n_years, 1))
            other = "; ".join(s.other_capacity for s in serving if s.other_capacity)
            out["other_capacity"].append(other or None)
            out["need_per_capacity"].append(None if ratio is None or not math.isfinite(ratio) else round(ratio, 2))
            out["status"].append(status)
            out["service_names"].append("; ".join(sorted(s.name for s in serving)) or None)
    types = {"people_with_need": pa.int64(), "services": pa.int64(), "specific_services": pa.int64(),
             "capacity_per_year": pa.float64(), "need_per_capacity": pa.float64()}
    return pa.table({name: pa.array(values, types.get(name, pa.string())) for name, values in out.items()})


def derived_tables(published) -> dict[str, pa.Table]:
    """The tables the provision room derives from a publication (given to ``write_publication(derived=
    ...)``): the gap analysis, when the publication holds a directory and need prevalence."""
    from .sim_map import intercept_map

    if published.directory is None or "need_prevalence" not in published.names:
        return {}
    parameters = GapParameters.from_environment()
    gaps = compute_gaps(published.table("need_prevalence"), published.directory, published.areas, published.years,
                        parameters)
    maps: dict[str, list] = {"area": [], "year": [], "title": [], "svg": []}
    for area in published.areas:
        for year in published.years:
            title = f"Services and need: {published.area_label(area)}, {year.lower() if year.startswith('All') else year}"
            maps["area"].append(area)
            maps["year"].append(year)
            maps["title"].append(title)
            maps["svg"].append(intercept_map(published.directory, gaps, area, year, title,
                                             local_areas=published.areas[1:], symbol=published.symbol,
                                             parameters=parameters))
    out = {"provision_gaps": gaps, "provision_maps": pa.table(maps),
           "provision_services": services_table(published.directory, parameters)}
    services = [Service.of(d, parameters) for d in published.directory.get("services", [])
                if d.get("status") == "active"]
    if "language_need" in published.names:
        out["provision_languages"] = language_coverage(published.table("language_need"), services)
    if "ld_mh_wait" in published.names:
        out["provision_waits"] = wait_comparison(published.table("ld_mh_wait"), services)
    return out


LANGUAGE_STATUSES = ("no service offers it", "interpreting only", "offered", "no need recorded",
                     "not assessed (small numbers)")


def language_coverage(language_need: pa.Table, services: list[Service]) -> pa.Table:
    """Each language people are recorded as speaking (and the people needing an interpreter), per view,
    against the active services serving the area that offer it (the service's HSDS ``languages``) and
    those offering interpreters (the ``interpreter`` feature). For all people only: a service's
    languages are not limited to a group."""
    # Imported here (as below): the directory commands load without Ibis.
    from triangulate.measures.waits import INTERPRETER
    from triangulate.publish.dimensions import ALL_AREAS

    rows = language_need.filter(pc.equal(language_need.column("breakdown"), "all")).select(
        ["area", "year", "language", "people"]).to_pylist()
    names = {r["code"]: r["label"] for r in codelist("language").rows}
    out: dict[str, list] = {c: [] for c in ("area", "year", "language", "language_label", "people", "services",
                                            "interpreting_services", "status", "service_names")}
    for r in rows:
        area = r["area"]
        local = [s for s in services if s.serves_area(area) or area == ALL_AREAS]
        interpreting = [s for s in local if "interpreter" in s.features]
        offering = [] if r["language"] == INTERPRETER else [s for s in local if r["language"] in s.languages]
        people = r["people"]
        if people is None:
            status = "not assessed (small numbers)"
        elif people == 0:
            status = "no need recorded"
        elif offering:
            status = "offered"
        elif interpreting:
            status = "interpreting only"
        else:
            status = "no service offers it"
        out["area"].append(area)
        out["year"].append(r["year"])
        out["language"].append(r["language"])
        out["language_label"].append(names.get(r["language"], r["language"].capitalize()))
        out["people"].append(people)
        out["services"].append(len(offering))
        out["interpreting_services"].append(len(interpreting))
        out["status"].append(status)
        out["service_names"].append("; ".join(sorted(s.name for s in offering)) or None)
    types = {"people": pa.float64(), "services": pa.int64(), "interpreting_services": pa.int64()}
    return pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in out.items()})


#: Intercepts whose services a person referred on by liaison & diversion waits for: the community
#: and crisis mental health services of intercept 0 (the L&D teams at intercepts 1 and 2 are the ones
#: referring, and state no wait of their own that a referral meets).
WAIT_INTERCEPTS = frozenset({"0"})


def wait_comparison(ld_mh_wait: pa.Table, services: list[Service]) -> pa.Table:
    """The measured wait from an L&D referral to a first mental health contact (``ld_mh_wait``, for all
    people and by ethnic group) beside the waits the area's mental health services state (their median
    and range); *longer than stated* when the measured median's lower limit is above the median stated
    wait, *within what services state* when its upper limit is at or below it."""
    from triangulate.measures.journeys import MENTAL_HEALTH_NEEDS
    from triangulate.publish.dimensions import ALL_AREAS

    mental = set(MENTAL_HEALTH_NEEDS)
    keep = pc.is_in(ld_mh_wait.column("breakdown"), pa.array(["all", "ethnic_group_5"]))
    rows = ld_mh_wait.filter(keep).select(["area", "year", "breakdown", "group", "referred", "percent_within_28_days",
                                           "median_days", "median_lower_95", "median_upper_95"]).to_pylist()
    out: dict[str, list] = {c: [] for c in ("area", "year", "breakdown", "group", "referred", "percent_within_28_days",
                                            "median_days", "median_lower_95", "median_upper_95",
                                            "services_stating", "stated_median_days", "stated_min_days",
                                            "stated_max_days", "status")}
    for r in rows:
        area = r["area"]
        stated = sorted(s.stated_wait_days for s in services
                        if s.stated_wait_days is not None and (s.intercepts & WAIT_INTERCEPTS)
                        and (s.needs & mental or not s.needs)
                        and (s.serves_area(area) or area == ALL_AREAS))
        stated_median = float(median(stated)) if stated else None
        measured, low, high = r["median_days"], r["median_lower_95"], r["median_upper_95"]
        if measured is None or (isinstance(measured, float) and math.isnan(measured)):
            status = "not measured (small numbers or most not seen in 91 days)"
        elif stated_median is None:
            status = "no wait stated"
        elif low is not None and not math.isnan(low) and low > stated_median:
            status = "longer than stated"
        elif high is not None and not math.isnan(high) and high <= stated_median:
            status = "within what services state"
        else:
            status = "similar to what services state"
        for c in ("area", "year", "breakdown", "group", "referred", "percent_within_28_days", "median_days",
                  "median_lower_95", "median_upper_95"):
            v = r[c]
            out[c].append(None if isinstance(v, float) and math.isnan(v) else v)
        out["services_stating"].append(len(stated))
        out["stated_median_days"].append(stated_median)
        out["stated_min_days"].append(stated[0] if stated else None)
        out["stated_max_days"].append(stated[-1] if stated else None)
        out["status"].append(status)
    floats = ("referred", "percent_within_28_days", "median_days", "median_lower_95", "median_upper_95",
              "stated_median_days", "stated_min_days", "stated_max_days")
    types = {c: pa.float64() for c in floats} | {"services_stating": pa.int64()}
    return pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in out.items()})


def services_table(directory: dict, parameters: GapParameters) -> pa.Table:
    """The active services flat, one row each (what the report lists beside the map): intercepts,
    needs, areas (blank: every area), capacity in words and a year's, the wait the service states."""
    rows = []
    for d in directory.get("services", []):
        if d.get("status") != "active":
            continue
        s = Service.of(d, parameters)
        caps = [f"{c['available']:g} {codelist('capacity_unit').label(c['unit']['identifier']).lower()}"
                for c in d.get("capacities", []) if (c.get("unit") or {}).get("identifier")]
        rows.append({"service_id": s.id, "name": s.name, "organisation": (d.get("organization") or {}).get("name"),
                     "intercepts": ";".join(sorted(s.intercepts)), "needs": ";".join(sorted(s.needs)),
                     "areas": ";".join(sorted(s.areas)), "capacity": ", ".join(caps) or None,
                     "capacity_per_year": s.annual_capacity, "stated_wait_days": s.stated_wait_days,
                     "features": ";".join(sorted(s.features)),
                     "languages": ";".join(sorted(str(x.get("code")) for x in d.get("languages", [])))})
    columns = ("service_id", "name", "organisation", "intercepts", "needs", "areas", "capacity", "capacity_per_year",
               "stated_wait_days", "features", "languages")
    types = {"capacity_per_year": pa.float64(), "stated_wait_days": pa.float64()}
    return pa.table({c: pa.array([r[c] for r in rows], types.get(c, pa.string())) for c in columns})
