"""Disproportionality: the relative rate index (RRI) of each ethnic group at each decision point.

Following the US Disproportionate Minority Contact method and the Lammy Review: at each decision
point a group's rate is the people reaching it over the people at the stage before (or the resident
population for a first contact), and the RRI divides that by the reference group's rate. Stages are
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
    DecisionPoint("police_custody", POPULATION, "People brought into police custody, per resident population"),
    DecisionPoint("court", "police_custody", "People appearing at court, per person in police custody"),
    DecisionPoint("remand", "court", "People remanded in custody by a court, per person at court"),
    DecisionPoint("custodial_sentence", "court", "People given immediate custody, per person at court"),
    DecisionPoint("prison_reception", POPULATION, "People received into prison, per resident population"),
    DecisionPoint("s136", POPULATION, "People detained under s136 of the Mental Health Act, per resident population"),
    DecisionPoint("mha_detention", POPULATION,
                  "People detained under any section of the Mental Health Act, per resident population"),
    DecisionPoint("ld_screened", "police_custody",
                  "People screened by liaison & diversion in police custody, per person in police custody"),
    DecisionPoint("ld_referred", "police_custody",
                  "People referred on by liaison & diversion in police custody, per person in police custody"),
)
_POINTS = {p.name: p for p in DECISION_POINTS}
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
    return "residents" if point.base == POPULATION else _stage_quantity(point.base)


def stage_people(b: base.Base, stage: str) -> ibis.Table:
    """The people reaching a decision point: person_key, year and the area of those records."""
    if stage in SETTING_STAGES:
        return b.stage(SETTING_STAGES[stage])
    table = {"remand": "court_appearance", "custodial_sentence": "court_appearance", "s136": "mental_health",
             "mha_detention": "mental_health", "ld_screened": "liaison_diversion",
             "ld_referred": "liaison_diversion"}[stage]
    t = b.table(table)
    condition = {
        "remand": lambda t: t.court_outcome == "remanded_in_custody",
        "custodial_sentence": lambda t: t.sentence_type == "immediate_custody",
        "s136": lambda t: (t.record_type == "mha_detention") & (t.mha_section == "s136"),
        "mha_detention": lambda t: t.record_type == "mha_detention",
        "ld_screened": lambda t: (t.setting == "police_custody") & t.screening_date.notnull(),
        "ld_referred": lambda t: (t.setting == "police_custody") & t.referral_date.notnull(),
    }[stage]
    return b.stage(stage, t.filter(condition(t)))


def residents(b: base.Base) -> ibis.Table:
    """Fine counts of residents for every financial year in the data, from the latest census year
    at or before the year's start (the earliest one when all are later)."""
    pop = base.content(b.con, "population")
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
    rri = stats.relative_rate_index(safe(events, 1), safe(base_, 2), safe(ref_events, 1), safe(ref_base, 2))
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
    })


@register(
    name="disproportionality",
    title="Relative rate index by ethnic group at each decision point",
    definition=(
        "For each decision point, each ethnic group's rate (people reaching the point over people at its base "
        "stage in the same financial year, or residents) divided by the reference group's rate: White for the "
        "5 ONS groups, White British for the 19 ONS categories."
    ),
    numerator="People of the group reaching the decision point who were also at its base stage that year.",
    denominator=(
        "People of the group at the base stage that year (or the group's residents in the latest census year "
        "before it), divided likewise for the reference group."
    ),
    method=(
        "Relative rate index with Katz's log interval at 95% and its significance flag "
        "(triangulate.stats.relative_rate_index), from the published (rounded) counts. Minimum-volume rule: no "
        f"RRI where the group's or the reference's base is under {MINIMUM_BASE} or its events under "
        f"{MINIMUM_EVENTS}."
    ),
    caveats=(
        "People whose ethnicity is not stated or not known are shown but not compared. Population stages use "
        "Census-based residents of the area; people from elsewhere inflate them. The whole period pools the "
        "financial years (person-years over resident-years)."
    ),
    source="Lammy Review (2017) and the US OJJDP relative rate index matrix.",
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
        Column("significance", "Compared with the reference", "significance"),
    ),
)
def disproportionality(b: base.Base) -> dict[str, ibis.Table]:
    events, bases = [], []
    pop = residents(b)
    for point in DECISION_POINTS:
        reached = stage_people(b, point.name)
        if point.base == POPULATION:
            if pop is None:
                continue
            bases.append(pop.mutate(decision_point=ibis.literal(point.name)))
            at = reached
        else:
            at_base = stage_people(b, point.base)
            bases.append(b.fine(at_base.mutate(decision_point=ibis.literal(point.name)), ("decision_point",)))
            at = at_base.semi_join(reached.select("person_key", "year"), ["person_key", "year"])
        events.append(b.fine(at.mutate(decision_point=ibis.literal(point.name)), ("decision_point",)))
    order = [*base.VIEW, "decision_point", *base.FINE, "n"]
    return {"events": ibis.union(*[e.select(order) for e in events]),
            "base": ibis.union(*[x.select(order) for x in bases])}
