"""Disproportionality: the relative rate index (RRI) of each ethnic group at each decision point.

Following the US Disproportionate Minority Contact method and the Lammy Review: at each decision
point a group's rate is the people reaching it over the people at the stage before (or the resident
population aged 10 and over for a first contact), and the RRI divides that by the reference group's rate. Stages are
sets of linked people in a financial year, and a stage's events count only people also at its base
stage that year (in the base stage's area), so a stage-based rate can never exceed one.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pyarrow as pa

from triangulate import stats
from triangulate.measures import base
from triangulate.measures.registry import Column, Count, register
from triangulate.measures.tables import column, with_columns
from triangulate.standard import codelist
from triangulate.stats.ratios import HIGHER, LOWER, NOT_SIGNIFICANT

# The minimum-volume rule: below these, an RRI is too unstable to read (the DMC manual's
# threshold for a base is 50; events under 5 make the log interval unreliable).
MINIMUM_BASE = 50
MINIMUM_EVENTS = 5
POPULATION = "population"
#: The reference group of each ethnic grouping.
REFERENCES = {
    "ethnic_group_5": "White",
    "ethnic_group_19": "White: English, Welsh, Scottish, Northern Irish or British",
}


@dataclass(frozen=True)
class DecisionPoint:
    name: str
    base: str  # another decision point's name, or POPULATION
    description: str


DECISION_POINTS = (
    DecisionPoint("police_custody", POPULATION, "People brought into police custody, per resident aged 10 and over"),
    DecisionPoint("court", "police_custody", "People appearing at court, per person in police custody"),
    DecisionPoint("remand", "court", "People remanded in custody by a court, per person at court"),
    DecisionPoint("sentenced", "court", "People sentenced, per person at court"),
    DecisionPoint("custodial_sentence", "sentenced", "People given immediate custody, per person sentenced"),
    DecisionPoint("prison_reception", POPULATION, "People received into prison, per resident aged 10 and over"),
    DecisionPoint("s136", POPULATION,
                  "People detained under s136 of the Mental Health Act, per resident aged 10 and over"),
    DecisionPoint("mha_detention", POPULATION,
                  "People detained under any section of the Mental Health Act, per resident aged 10 and over"),
    DecisionPoint("ld_screened", "police_custody",
                  "People screened by liaison & diversion in police custody, per person in police custody"),
    DecisionPoint("ld_referred", "police_custody",
                  "People referred on by liaison & diversion in police custody, per person in police custody"),
)
_POINTS = {p.name: p for p in DECISION_POINTS}
#: The youngest age in the resident base of the population decision points: the age of criminal
#: responsibility. The extracts hold people aged 10 and over (youth custody and detentions of
#: young people included), so one base serves every population point.
MINIMUM_AGE_AT_RISK = 10
#: Confidence levels of the RRI limits: 95%, and 99.8% for reading many comparisons at once.
LEVELS = (0.95, 0.998)
#: The setting whose presence is a stage (so its counts are need prevalence's denominators too).
SETTING_STAGES = {"police_custody": "police_custody", "court": "court_appearance",
                  "prison_reception": "prison_custody"}


def _stage_quantity(stage: str) -> str:
    return f"people_at:{SETTING_STAGES.get(stage, stage)}"


def _events_quantity(keys: dict) -> str:
    point = _POINTS[keys["decision_point"]]
    if point.base == POPULATION:
        return _stage_quantity(point.name)
    return f"{_stage_quantity(point.name)}&{SETTING_STAGES.get(point.base, point.base)}"


def _base_quantity(keys: dict) -> str:
    point = _POINTS[keys["decision_point"]]
    if point.base == POPULATION:
        return f"residents:{MINIMUM_AGE_AT_RISK}+"
    if _is_derived_stage(point.base):
        return _events_quantity({"decision_point": point.base})
    return _stage_quantity(point.base)


def _is_derived_stage(name: str) -> bool:
    """A base that is itself a decision point reached from a stage (people sentenced, of those at
    court): its people are that point's events, and it is one quantity with them."""
    point = _POINTS.get(name)
    return point is not None and point.base != POPULATION and name not in SETTING_STAGES


def base_people(b: base.Base, point: DecisionPoint) -> ibis.Table:
    """The people at a decision point's base stage (person_key, year, area_code)."""
    if _is_derived_stage(point.base):
        return reaching(b, _POINTS[point.base])
    return stage_people(b, point.base)


def reaching(b: base.Base, point: DecisionPoint) -> ibis.Table:
    """The people counted as reaching a decision point: at its base stage that year and reaching it
    (in the base stage's area), or, for a population point, everyone reaching it."""
    reached = stage_people(b, point.name)
    if point.base == POPULATION:
        return reached
    return base_people(b, point).semi_join(reached.select("person_key", "year"), ["person_key", "year"])


def stage_people(b: base.Base, stage: str) -> ibis.Table:
    """The people reaching a decision point: person_key, year and the area of those records."""
    if stage in SETTING_STAGES:
        return b.stage(SETTING_STAGES[stage])
    table = {"remand": "court_appearance", "sentenced": "court_appearance",
             "custodial_sentence": "court_appearance", "s136": "mental_health",
             "mha_detention": "mental_health", "ld_screened": "liaison_diversion",
             "ld_referred": "liaison_diversion"}[stage]
    t = b.table(table)
    condition = {
        "remand": lambda t: t.court_outcome == "remanded_in_custody",
        "sentenced": lambda t: t.court_outcome == "sentenced",
        "custodial_sentence": lambda t: t.sentence_type == "immediate_custody",
        "s136": lambda t: (t.record_type == "mha_detention") & (t.mha_section == "s136"),
        "mha_detention": lambda t: t.record_type == "mha_detention",
        "ld_screened": lambda t: (t.setting == "police_custody") & t.screening_date.notnull(),
        "ld_referred": lambda t: (t.setting == "police_custody") & t.referral_date.notnull(),
    }[stage]
    return b.stage(stage, t.filter(condition(t)))


def _bands_from(minimum_age: int) -> list[str]:
    """The census age bands (code list ``age_band``: "10-14", "90+") wholly at or above an age."""
    return [r["code"] for r in codelist("age_band").rows
            if int(r["code"].rstrip("+").split("-")[0]) >= minimum_age]


def residents(b: base.Base) -> ibis.Table:
    """Fine counts of residents aged 10 and over (``MINIMUM_AGE_AT_RISK``) for every financial year in
    the data, from the latest census year at or before the year's start (the earliest one when all
    are later)."""
    pop = base.content(b.con, "population")
    pop = pop.filter(pop.age_band.isin(_bands_from(MINIMUM_AGE_AT_RISK)))
    census_years = sorted(pop.select("year").distinct().to_pyarrow().column(0).to_pylist())
    years = sorted(b.records.select("year").distinct().to_pyarrow().column(0).to_pylist())
    if not census_years or not years:
        return None
    chosen = []
    for y in years:
        before = [c for c in census_years if c <= int(y[:4])]
        chosen.append(before[-1] if before else census_years[0])
    which = ibis.memtable(pa.table({"year": years, "census_year": chosen}))
    groups = ibis.memtable(base.ons_groups())
    ages = ibis.memtable(base.age_groups())
    sexes = ibis.memtable(base.labels("sex")).rename(sex_code="code", sex_label="label")
    joined = (pop.join(which, pop.year == which.census_year)
              .join(groups, pop.ons_ethnic_group.cast("int64") == groups.ons_ethnic_group)
              .join(ages, pop.age_band == ages.age_band)
              .join(sexes, pop.sex.cast("string") == sexes.sex_code))
    out = joined.group_by([
        joined.year_right.name("year"), joined.area_code, joined.sex_label.name("sex"), joined.age_group,
        joined.ethnic_group_19,
    ]).aggregate(n=joined.population.sum())
    return out.select("year", "area_code", "sex", "age_group", "ethnic_group_19",
                      religion=ibis.literal(base.NOT_KNOWN), disability=ibis.literal(base.NOT_KNOWN),
                      first_language=ibis.literal(base.NOT_KNOWN),
                      n=out.n.cast("int64"))


def reference_group(breakdown: str, group: str) -> str | None:
    """The group a row is compared with: White (or White British), of the same sex or age for the
    two-way breakdowns (Black women against White women); None where there is no ethnic group."""
    if breakdown in REFERENCES:
        return None if group == base.UNKNOWN_ETHNICITY else REFERENCES[breakdown]
    if breakdown.endswith(" × ethnic_group_5") and "; " in group:
        first, eth = group.split("; ", 1)
        return None if eth == base.UNKNOWN_ETHNICITY else f"{first}; {REFERENCES['ethnic_group_5']}"
    return None


def _finish(table: pa.Table) -> pa.Table:
    events, base_ = column(table, "events"), column(table, "base")
    points = table.column("decision_point").to_pylist()
    per = np.array([1000.0 if _POINTS[p].base == POPULATION else 100.0 for p in points], dtype=float)
    ok_rate = ~np.isnan(events) & ~np.isnan(base_) & (base_ > 0)
    rate = np.where(ok_rate, events / np.where(ok_rate, base_, 1) * per, np.nan)
    # The reference row of each view, decision point and grouping.
    keys = ["area", "year", "decision_point", "breakdown"]
    key_values = list(zip(*(table.column(k).to_pylist() for k in keys)))
    groups = table.column("group").to_pylist()
    breakdowns = table.column("breakdown").to_pylist()
    references = [reference_group(b, g) for b, g in zip(breakdowns, groups)]
    at = {(k, g): i for i, (k, g) in enumerate(zip(key_values, groups))}
    ref_index = np.array([at.get((k, r), -1) if r is not None else -1 for k, r in zip(key_values, references)],
                         dtype=np.int64)
    has_ref = ref_index >= 0
    ref_events = np.where(has_ref, events[np.maximum(ref_index, 0)], np.nan)
    ref_base = np.where(has_ref, base_[np.maximum(ref_index, 0)], np.nan)
    known = ~np.isnan(events) & ~np.isnan(base_) & ~np.isnan(ref_events) & ~np.isnan(ref_base)
    enough = known & (base_ >= MINIMUM_BASE) & (events >= MINIMUM_EVENTS) & (ref_base >= MINIMUM_BASE) & (
        ref_events >= MINIMUM_EVENTS)
    possible = known & (events <= base_) & (ref_events <= ref_base) & (base_ > 0) & (ref_base > 0)
    is_reference = np.array([r == g for r, g in zip(references, groups)], dtype=bool)
    comparable = np.array([r is not None for r in references], dtype=bool)
    compared = enough & possible & ~is_reference & comparable
    safe = lambda x, fill: np.where(compared, x, fill)  # noqa: E731
    rri = stats.relative_rate_index(safe(events, 1), safe(base_, 2), safe(ref_events, 1), safe(ref_base, 2),
                                    confidence=LEVELS)
    wide = rri.limits[LEVELS[1]]
    reasons = []
    for i in range(table.num_rows):
        if references[i] is None and base.UNKNOWN_ETHNICITY in groups[i]:
            reasons.append("not compared (ethnicity not known)")
        elif references[i] is None:
            reasons.append("not compared (no ethnic group)")
        elif is_reference[i]:
            reasons.append("reference group")
        elif base.UNKNOWN_ETHNICITY in groups[i]:
            reasons.append("not compared (ethnicity not known)")
        elif not known[i]:
            reasons.append("not calculated: figures suppressed")
        elif not possible[i]:
            reasons.append("not calculated: events exceed their base (population out of date or mismatched)")
        elif not enough[i]:
            reasons.append(f"not calculated: minimum volume (base {MINIMUM_BASE}, events {MINIMUM_EVENTS})")
        else:
            reasons.append(str(rri.significance[i]))
    significance_998 = [_flag(wide.lower[i], wide.upper[i]) if compared[i] else reason
                        for i, reason in enumerate(reasons)]
    standardised = _age_standardised(table, at, key_values, groups, breakdowns, references, points)
    return with_columns(table, {
        "base_stage": [_POINTS[p].base for p in points],
        "rate": rate,
        "rate_per": per,
        "reference_group": references,
        "reference_rate": np.where(has_ref & ~np.isnan(ref_base) & (np.nan_to_num(ref_base) > 0),
                                   ref_events / np.where(np.nan_to_num(ref_base) > 0, ref_base, 1) * per, np.nan),
        "rri": np.where(compared, rri.value, np.nan),
        "lower_95": np.where(compared, rri.lower, np.nan),
        "upper_95": np.where(compared, rri.upper, np.nan),
        "significance": reasons,
        "lower_998": np.where(compared, wide.lower, np.nan),
        "upper_998": np.where(compared, wide.upper, np.nan),
        "significance_998": significance_998,
        **standardised,
    })


def _flag(lower: float, upper: float) -> str:
    """How an interval of a ratio compares with 1, in ``stats.relative_rate_index``'s words."""
    return HIGHER if lower > 1 else LOWER if upper < 1 else NOT_SIGNIFICANT


def _age_weights() -> np.ndarray:
    """ESP2013 weight of each analysis age group (code list ``age_group``), counting only the bands at
    or above the minimum age at risk (the 0-14 group stands for 10-14)."""
    weight = dict(zip(stats.ESP2013_AGE_BANDS, stats.ESP2013))
    kept = set(_bands_from(MINIMUM_AGE_AT_RISK))
    return np.array([sum(weight[b] for b in r["esp_bands"].split(";") if b in kept)
                     for r in codelist("age_group").rows])


def _age_standardised(table, at, key_values, groups, breakdowns, references, points) -> dict:
    """The age-standardised RRI of each of the 5 ethnic groups at the population decision points: the
    ratio of the group's and the reference group's directly standardised rates (ESP2013, ages 10 and
    over), from the same view's age group × ethnic group rows (``stats.dsr_ratio``)."""
    n = table.num_rows
    events, base_ = column(table, "events"), column(table, "base")
    ages = [r["code"] for r in codelist("age_group").rows]
    candidates = [i for i in range(n) if breakdowns[i] == "ethnic_group_5" and _POINTS[points[i]].base == POPULATION
                  and references[i] is not None and references[i] != groups[i]]
    value, lower, upper = (np.full(n, np.nan) for _ in range(3))
    reason = [None] * n
    for i in range(n):
        if breakdowns[i] == "ethnic_group_5" and _POINTS[points[i]].base == POPULATION:
            reason[i] = ("reference group" if references[i] == groups[i] else
                         "not compared (ethnicity not known)" if references[i] is None else None)
        elif breakdowns[i] == "ethnic_group_5":
            reason[i] = "not standardised (a stage, not a population, is the base)"
    if not candidates:
        return {"rri_age_standardised": value, "as_lower_95": lower, "as_upper_95": upper,
                "age_standardised_note": reason}
    rows = np.array(candidates)

    def matrix(group_of):
        # An age group with no row has no residents and no events; one with a withheld count is NaN.
        out_x, out_n = np.zeros((len(rows), len(ages))), np.zeros((len(rows), len(ages)))
        for r, i in enumerate(rows):
            k = key_values[i][:3] + ("age_group × ethnic_group_5",)
            for a, age in enumerate(ages):
                j = at.get((k, f"{age}; {group_of(i)}"))
                if j is not None:
                    out_x[r, a], out_n[r, a] = events[j], base_[j]
        return out_x, out_n

    xa, na = matrix(lambda i: groups[i])
    xb, nb = matrix(lambda i: references[i])
    complete = ~(np.isnan(xa).any(axis=1) | np.isnan(na).any(axis=1) | np.isnan(xb).any(axis=1)
                 | np.isnan(nb).any(axis=1))
    est = stats.dsr_ratio(np.nan_to_num(xa), np.nan_to_num(na), np.nan_to_num(xb), np.nan_to_num(nb),
                          standard=_age_weights())
    for r, i in enumerate(rows):
        if not complete[r]:
            reason[i] = "not calculated: figures suppressed"
        elif np.isnan(est.value[r]):
            reason[i] = "not calculated: fewer than 10 events in the group or the reference"
        else:
            value[i], lower[i], upper[i] = est.value[r], est.lower[r], est.upper[r]
            reason[i] = _flag(lower[i], upper[i])
    return {"rri_age_standardised": value, "as_lower_95": lower, "as_upper_95": upper,
            "age_standardised_note": reason}


@register(
    name="disproportionality",
    title="Relative rate index by ethnic group at each decision point",
    definition=(
        "For each decision point, each ethnic group's rate (people reaching the point over people at its base "
        "stage in the same financial year, or residents aged 10 and over) divided by the reference group's rate: "
        "White for the 5 ONS groups, White British for the 19 ONS categories. The reference group is shown as the "
        "reference and not compared with itself. At the population decision points the RRI of each of the 5 groups "
        "is also given age-standardised (directly, on the European Standard Population 2013 from age 10), since "
        "ethnic groups' age profiles differ a great deal."
    ),
    numerator="People of the group reaching the decision point who were also at its base stage that year.",
    denominator=(
        "People of the group at the base stage that year (people at court for remand and sentencing; people "
        "sentenced for immediate custody), or the group's residents aged 10 and over in the latest census year "
        "before it; likewise for the reference group."
    ),
    method=(
        "Relative rate index with Katz's log interval at 95% and 99.8% and a significance flag at each "
        "(triangulate.stats.relative_rate_index); age-standardised RRI as the ratio of directly standardised "
        "rates with a log-normal interval (triangulate.stats.dsr_ratio); all from the published (rounded) "
        f"counts. Minimum-volume rule: no RRI where the group's or the reference's base is under {MINIMUM_BASE} "
        f"or its events under {MINIMUM_EVENTS}; no age-standardised RRI on fewer than 10 events or where an age "
        "group's count is withheld. Multiple comparisons: the table makes hundreds of comparisons (every group at "
        "every decision point in every view), so about 1 in 20 of the differences flagged at 95% would be "
        "flagged by chance alone even with no real difference; read the 99.8% flag (about 1 in 500) to pick out "
        "differences that are very unlikely to be chance, and the 95% flag as a pointer."
    ),
    caveats=(
        "People whose ethnicity is not stated or not known are shown but not compared. Population stages use "
        "Census-based residents aged 10 and over (the age of criminal responsibility; the extracts hold no one "
        "younger, and youth custody and detentions of young people are in them, so one base serves every "
        "population point); people from elsewhere inflate the counts but not the residents. The age group "
        "'0-14' of the two-way rows is ages 10-14 at the population points. Groups are compared as independent "
        "(each of the 5 groups with White; each of the 19 categories with White British, which none of them "
        "contains). The whole period pools the financial years (person-years over resident-years)."
    ),
    source="Lammy Review (2017) and the US OJJDP relative rate index matrix; age standardisation as in OHID's "
           "Fingertips (ESP2013, DSR).",
    keys=("decision_point",),
    key_domains={"decision_point": lambda: [p.name for p in DECISION_POINTS]},
    counts=(
        Count("base", _base_quantity, controlled=lambda keys: _POINTS[keys["decision_point"]].base != POPULATION),
        Count("events", _events_quantity, within=lambda keys: _POINTS[keys["decision_point"]].base != POPULATION
              and "base"),
    ),
    breakdowns=("all", "ethnic_group_5", "ethnic_group_19"),
    intersections=True,
    finish=_finish,
    columns=(
        Column("decision_point", "Decision point", "decision"),
        Column("base_stage", "Base", "decision"),
        Column("events", "People reaching the point", "count"),
        Column("base", "People at the base (or residents)", "count"),
        Column("rate", "Rate", "rate"),
        Column("rate_per", "Rate per", "count"),
        Column("reference_group", "Reference group", "text"),
        Column("reference_rate", "Reference rate", "rate"),
        Column("rri", "Relative rate index", "ratio"),
        Column("lower_95", "Lower 95% limit", "ratio"),
        Column("upper_95", "Upper 95% limit", "ratio"),
        Column("significance", "Compared with the reference (95%)", "significance"),
        Column("lower_998", "Lower 99.8% limit", "ratio"),
        Column("upper_998", "Upper 99.8% limit", "ratio"),
        Column("significance_998", "Compared with the reference (99.8%)", "significance"),
        Column("rri_age_standardised", "Age-standardised RRI", "ratio"),
        Column("as_lower_95", "Age-standardised lower 95% limit", "ratio"),
        Column("as_upper_95", "Age-standardised upper 95% limit", "ratio"),
        Column("age_standardised_note", "Age-standardised comparison (95%)", "significance"),
    ),
)
def disproportionality(b: base.Base) -> dict[str, ibis.Table]:
    events, bases = [], []
    pop = residents(b)
    for point in DECISION_POINTS:
        if point.base == POPULATION:
            if pop is None:
                continue
            bases.append(pop.mutate(decision_point=ibis.literal(point.name)))
        else:
            at_base = base_people(b, point)
            bases.append(b.fine(at_base.mutate(decision_point=ibis.literal(point.name)), ("decision_point",)))
        at = reaching(b, point)
        events.append(b.fine(at.mutate(decision_point=ibis.literal(point.name)), ("decision_point",)))
    order = [*base.VIEW, "decision_point", *base.FINE, "n"]
    return {"events": ibis.union(*[e.select(order) for e in events]),
            "base": ibis.union(*[x.select(order) for x in bases])}
