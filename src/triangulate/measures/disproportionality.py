"""Disproportionality: the relative rate index (RRI) of each ethnic group at each decision point.

Following the US Disproportionate Minority Contact method and the Lammy Review: at each decision
point a group's rate is the people reaching it over the people at the stage before (or the
resident population for the first contact), and the RRI divides that by the reference group's
rate. Stages are sets of linked people, and a stage's events count only people also in its base
stage, so a rate can never exceed one.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
from ibis import _
import numpy as np
import pyarrow as pa

from triangulate import stats
from triangulate.measures import base
from triangulate.measures.registry import Disclosure, register
from triangulate.measures.tables import column, sort, with_columns

# The minimum-volume rule: below these, an RRI is too unstable to read (the DMC manual's
# threshold for a base is 50; events under 5 make the log interval unreliable).
MINIMUM_BASE = 50
MINIMUM_EVENTS = 5
POPULATION = "population"


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
    DecisionPoint("mha_detention", POPULATION, "People detained under any section of the Mental Health Act, per resident population"),
    DecisionPoint("ld_screened", "police_custody", "People screened by liaison & diversion in police custody, per person in police custody"),
    DecisionPoint("ld_referred", "police_custody", "People referred on by liaison & diversion in police custody, per person in police custody"),
)

REFERENCES = {
    "White": ("ethnic_group_5", "White"),
    "White British": ("ethnic_group_19", "White: English, Welsh, Scottish, Northern Irish or British"),
}
GROUPINGS = ("ethnic_group_5", "ethnic_group_19")
POPULATION_FILTERS = ("sex", "age_band")


def stage_people(b: base.Bases, stage: str) -> ibis.Table:
    """The person keys reaching a decision point in the area and period."""
    r = b.records
    if stage == "police_custody":
        return r.filter(r.setting == "police_custody").select("person_key").distinct()
    if stage == "court":
        return r.filter(r.setting == "court_appearance").select("person_key").distinct()
    if stage == "prison_reception":
        return r.filter(r.setting == "prison_custody").select("person_key").distinct()
    t = _content_in(b, {
        "remand": "court_appearance",
        "custodial_sentence": "court_appearance",
        "s136": "mental_health",
        "mha_detention": "mental_health",
        "ld_screened": "liaison_diversion",
        "ld_referred": "liaison_diversion",
    }[stage])
    condition = {
        "remand": lambda t: t.court_outcome == "remanded_in_custody",
        "custodial_sentence": lambda t: t.sentence_type == "immediate_custody",
        "s136": lambda t: (t.record_type == "mha_detention") & (t.mha_section == "s136"),
        "mha_detention": lambda t: t.record_type == "mha_detention",
        "ld_screened": lambda t: (t.setting == "police_custody") & t.screening_date.notnull(),
        "ld_referred": lambda t: (t.setting == "police_custody") & t.referral_date.notnull(),
    }[stage]
    return t.filter(condition(t)).select("person_key").distinct()


def _content_in(b: base.Bases, table: str) -> ibis.Table:
    """The agency table's linked rows whose records are in the filtered record set."""
    t = base.content(b.con, table)
    kept = b.records
    return t.semi_join(kept.filter(kept.setting == table).select("record_key"), "record_key")


def population(con: ibis.BaseBackend, filters: base.Filters, year: int) -> ibis.Table:
    """Residents by the two ethnic groupings, in the areas asked for, in ``year``."""
    pop = base.content(con, "population")
    pop = pop.filter(pop.year == year)
    if filters.areas is not None:
        pop = pop.filter(pop.area_code.isin(filters.areas))
    for name in POPULATION_FILTERS:
        if name in filters.demographics:
            pop = pop.filter(pop[name].cast("string").isin(filters.demographics[name]))
    groups = ibis.memtable(base.ons_groups())
    return pop.join(groups, pop.ons_ethnic_group.cast("int64") == groups.ons_ethnic_group).select(
        "ethnic_group_5", "ethnic_group_19", population=pop.population
    )


def _counts(table: ibis.Table, grouping: str, name: str) -> ibis.Table:
    t = table.select(group=table[grouping])
    return t.group_by("group").aggregate(**{name: t.count()})


def _finish(table: pa.Table) -> pa.Table:
    table = sort(table, ["decision_point", "grouping", "reference", "group"])
    events, base_, ref_events, ref_base = (
        column(table, c) for c in ("events", "base", "reference_events", "reference_base")
    )
    enough = (
        (base_ >= MINIMUM_BASE) & (events >= MINIMUM_EVENTS)
        & (ref_base >= MINIMUM_BASE) & (ref_events >= MINIMUM_EVENTS)
    )
    # Population-based stages can have more people than the (census) residents of a small group.
    possible = (events <= base_) & (ref_events <= ref_base) & (base_ > 0) & (ref_base > 0)
    ok = enough & possible
    safe = lambda x, fill: np.where(ok, x, fill)  # noqa: E731
    rri = stats.relative_rate_index(
        safe(events, 1), safe(base_, 2), safe(ref_events, 1), safe(ref_base, 2)
    )
    reasons = np.where(
        ~possible,
        "not calculated: events exceed their base (population out of date or mismatched)",
        np.where(
            ~enough,
            f"not calculated: minimum volume (base {MINIMUM_BASE}, events {MINIMUM_EVENTS})",
            rri.significance,
        ),
    )
    rate = np.where(base_ > 0, events / np.where(base_ > 0, base_, 1), np.nan)
    return with_columns(
        table,
        {
            "rate": rate,
            "reference_rate": np.where(ref_base > 0, ref_events / np.where(ref_base > 0, ref_base, 1), np.nan),
            "rri": np.where(ok, rri.value, np.nan),
            "lower_95": np.where(ok, rri.lower, np.nan),
            "upper_95": np.where(ok, rri.upper, np.nan),
            "significance": [str(s) for s in reasons],
        },
    )


_DERIVED = ("rate", "reference_rate", "rri", "lower_95", "upper_95", "significance")


@register(
    name="disproportionality",
    title="Relative rate index by ethnic group at each decision point",
    definition=(
        "For each decision point, each ethnic group's rate (people reaching the point over people "
        "at its base stage, or residents) divided by the reference group's rate, against White "
        "and against White British, for the 5 ONS groups and the 19 ONS categories."
    ),
    numerator="People of the group reaching the decision point who were also at its base stage.",
    denominator=(
        "People of the group at the base stage (or the group's residents in the latest population "
        "year of the store), divided likewise for the reference group."
    ),
    method=(
        "Relative rate index with Katz's log interval at 95% and its significance flag "
        "(triangulate.stats.relative_rate_index). Minimum-volume rule: no RRI where the group's or "
        f"the reference's base is under {MINIMUM_BASE} or its events under {MINIMUM_EVENTS}."
    ),
    caveats=(
        "People whose ethnicity is not stated or not known are left out. Population stages use "
        "Census-based residents of the areas asked for; people from elsewhere inflate them. "
        "Decision points are reached at any time in the period, not in a followed cohort. "
        "Filters on religion, disability or ethnicity code leave out the population stages "
        "(the population is not broken down by them)."
    ),
    finish=_finish,
    disclosure=Disclosure(
        counts=("events", "base", "reference_events", "reference_base"),
        dimensions=("group",),
        by=("decision_point", "grouping", "reference"),
        dependents={c: _DERIVED for c in ("events", "base", "reference_events", "reference_base")},
    ),
)
def disproportionality(b: base.Bases, *, population_year: int | None = None) -> ibis.Table:
    con, filters = b.con, b.filters
    who = b.people
    known = who.filter(who.ethnic_group_5 != base.UNKNOWN_ETHNICITY)
    people_only = set(filters.demographics) - set(POPULATION_FILTERS)
    stages = {p.name: stage_people(b, p.name) for p in DECISION_POINTS}
    parts = []
    for point in DECISION_POINTS:
        if point.base == POPULATION and (people_only or population_year is None):
            continue
        reached = known.semi_join(stages[point.name], "person_key")
        if point.base != POPULATION:
            at_base = known.semi_join(stages[point.base], "person_key")
            reached = reached.semi_join(stages[point.base], "person_key")
        for grouping in GROUPINGS:
            ev = _counts(reached, grouping, "events")
            if point.base == POPULATION:
                pop = population(con, filters, population_year)
                bs = pop.group_by(group=pop[grouping]).aggregate(base=pop.population.sum())
            else:
                bs = _counts(at_base, grouping, "base")
            grid = bs.left_join(ev, "group").select(
                group=bs.group, events=ev.events.fill_null(0), base=bs.base
            )
            for reference, (ref_grouping, ref_group) in REFERENCES.items():
                ref = _reference(reached, point, pop if point.base == POPULATION else at_base, ref_grouping, ref_group)
                parts.append(
                    grid.cross_join(ref).select(
                        decision_point=ibis.literal(point.name),
                        base_stage=ibis.literal(point.base),
                        grouping=ibis.literal(grouping),
                        reference=ibis.literal(reference),
                        group=grid.group,
                        events=grid.events.cast("int64"),
                        base=grid.base.cast("int64"),
                        reference_events=ref.reference_events.cast("int64"),
                        reference_base=ref.reference_base.cast("int64"),
                    )
                )
    return ibis.union(*parts)


def _reference(reached, point, at_base, grouping, group) -> ibis.Table:
    ev = reached.filter(reached[grouping] == group).aggregate(reference_events=_.count())
    if point.base == POPULATION:
        b = at_base.filter(at_base[grouping] == group).aggregate(
            reference_base=_.population.sum().fill_null(0)
        )
    else:
        b = at_base.filter(at_base[grouping] == group).aggregate(reference_base=_.count())
    return ev.cross_join(b)
