"""Journeys: what happens to people along the pathway, from their linked records in date order.

Pathway flows (who moves from one service to the next), people with a need who leave the pathway
without a health contact, continuity of mental health care after prison, repeat contact, and a
reoffending proxy. Every one of these needs the linked ``person_key``: they follow a person across
agencies, which no single agency's data can do.
"""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa

from triangulate import stats
from triangulate.measures import base
from triangulate.measures.registry import Disclosure, register
from triangulate.measures.tables import column, sort, with_columns

#: Justice settings in pathway order (Sequential Intercept Model), then the health services.
JUSTICE = ("police_custody", "liaison_diversion", "court_appearance", "prison_custody", "probation_supervision")
ALL_PEOPLE = "All people"
NOT_KNOWN = "Not known"
#: Community mental health contacts for continuity of care: an attended contact (or an admission)
#: by a team outside prison. In-reach and forensic teams are prison or secure services.
NOT_COMMUNITY_TEAMS = ("prison_in_reach", "forensic")
CONTINUITY_WINDOWS = {"21 days": 21, "6 weeks": 42}
REPEAT_BANDS = (("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5+", 5, 10**9))
#: Needs that count as a mental health need for the pathway and continuity measures.
MENTAL_HEALTH_NEEDS = ("depression", "anxiety", "psychosis", "personality_disorder", "self_harm",
                       "trauma", "dual_diagnosis", "neurodevelopmental")
FOLLOW_UP_DAYS = 365


def _proportion(table: pa.Table, numerator: str, denominator: str, name: str) -> pa.Table:
    d = column(table, denominator)
    e = stats.proportion(column(table, numerator), np.maximum(d, 1), multiplier=100)
    empty = d == 0
    return with_columns(table, {
        name: np.where(empty, np.nan, e.value),
        "lower_95": np.where(empty, np.nan, e.lower),
        "upper_95": np.where(empty, np.nan, e.upper),
    })


def _by_group(t: ibis.Table, people: ibis.Table) -> list[tuple[str, ibis.Table]]:
    """``t`` (with person_key) once for everybody and once by 5 ethnic groups."""
    joined = t.join(people.select("person_key", "ethnic_group_5"), "person_key")
    return [
        ("all", t.mutate(group=ibis.literal(ALL_PEOPLE))),
        ("ethnic_group_5", joined.mutate(group=joined.ethnic_group_5.fill_null(NOT_KNOWN)).drop("ethnic_group_5")),
    ]


# --- pathway flows -------------------------------------------------------------------------------

def _flows_finish(table: pa.Table) -> pa.Table:
    return sort(table, ["from_setting", "to_setting"])


@register(
    name="pathway_flows",
    title="Pathway flows: people moving from one service to the next",
    definition=(
        "For each pair of settings (the five justice agencies and mental health services), the "
        "people whose next record after a record in the first setting, in date order, is in the "
        "second: the moves along the pathway, for a flow (Sankey) diagram. A person counts once per "
        "move however often they make it. 'left the records' counts people whose last record in the "
        "area and period is in the setting."
    ),
    numerator="People making the move at least once in the area and period.",
    denominator="None (counts); the people with any record in the from-setting give the scale.",
    method="Records of each linked person ordered by event date (ties by record key); counts of people.",
    caveats=(
        "Only moves between records inside the area and period are seen; a person's earlier or "
        "later contacts elsewhere are not. Consecutive records in the same setting are not moves. "
        "Dates are each agency's event date (arrival, hearing, reception, start, identification, "
        "mental health event), so same-day records are ordered by record key, not by time."
    ),
    finish=_flows_finish,
    disclosure=Disclosure(counts=("people",), dimensions=("to_setting",), by=("from_setting",)),
)
def pathway_flows(b: base.Bases) -> ibis.Table:
    r = b.records.select("person_key", "record_key", "setting", "event_date")
    r = r.filter(r.event_date.notnull())
    ordered = r.mutate(
        to_setting=r.setting.lead().over(group_by="person_key", order_by=[r.event_date, r.record_key])
    )
    moves = ordered.filter(ordered.to_setting.isnull() | (ordered.to_setting != ordered.setting))
    moves = moves.mutate(to_setting=moves.to_setting.fill_null("left the records"))
    distinct = moves.select(from_setting=moves.setting, to_setting=moves.to_setting,
                            person_key=moves.person_key).distinct()
    counted = distinct.group_by(["from_setting", "to_setting"]).aggregate(people=distinct.count())
    return counted.select("from_setting", "to_setting", people=counted.people.cast("int64"))


# --- people with a need who leave the pathway without a health contact --------------------------

def _mental_health_needs(b: base.Bases) -> ibis.Table:
    n = b.needs
    return n.filter(n.need_code.isin(MENTAL_HEALTH_NEEDS)).select("person_key").distinct()


def _mh_records(b: base.Bases) -> ibis.Table:
    """Every mental health service record of a linked person (any area and date: care can follow
    a person out of the area and after the period)."""
    m = base.content(b.con, "mental_health")
    m = m.filter(m.person_key.notnull())
    return m.select("person_key", mh_date=m.event_date.cast("date"), record_type=m.record_type,
                    team_type=m.team_type)


@register(
    name="pathway_no_health_contact",
    title="People with a mental health need who had no mental health contact after their justice contact",
    definition=(
        "Of the people seen in each justice setting in the area and period who have a mental "
        "health need recorded by any agency, the share with no record of a mental health service "
        "(referral, contact, admission) on or after their first contact in that setting: people "
        "who leave the pathway without any health contact."
    ),
    numerator="People with a mental health need and no mental health service record on or after their first contact in the setting.",
    denominator="People seen in the setting in the area and period with a mental health need recorded.",
    method="Wilson score interval at 95% (triangulate.stats.proportion); all people and by 5 ethnic groups.",
    caveats=(
        "Mental health needs: depression, anxiety, psychosis, personality disorder, self-harm, "
        "trauma, dual diagnosis, neurodevelopmental (substance and alcohol misuse and learning "
        "disability alone do not count). Contacts with GPs, talking therapies outside the mental "
        "health extract, or services outside the data are not seen, so this is an upper bound."
    ),
    finish=lambda t: _proportion(sort(t, ["setting", "breakdown", "group"]), "without_health_contact",
                                 "people_with_need", "percent_without_health_contact"),
    disclosure=Disclosure(
        counts=("without_health_contact", "people_with_need"), dimensions=("group",), by=("setting", "breakdown"),
        dependents={c: ("percent_without_health_contact", "lower_95", "upper_95")
                    for c in ("without_health_contact", "people_with_need")},
    ),
)
def pathway_no_health_contact(b: base.Bases) -> ibis.Table:
    c = b.contacts
    c = c.filter(c.setting.isin(JUSTICE))
    with_need = c.semi_join(_mental_health_needs(b), "person_key").select("person_key", "setting", "first_contact")
    mh = _mh_records(b)
    later = with_need.join(mh, "person_key").filter(lambda t: t.mh_date >= t.first_contact)
    had_contact = later.select("person_key", "setting").distinct().mutate(contact=ibis.literal(1))
    flagged = with_need.left_join(had_contact, ["person_key", "setting"]).select(
        "person_key", "setting", without=ibis.ifelse(had_contact.contact.isnull(), 1, 0))
    parts = []
    for breakdown, t in _by_group(flagged, b.people):
        counted = t.group_by(["setting", "group"]).aggregate(
            without_health_contact=t.without.sum(), people_with_need=t.count())
        parts.append(counted.select(
            "setting", breakdown=ibis.literal(breakdown), group=counted.group,
            without_health_contact=counted.without_health_contact.cast("int64"),
            people_with_need=counted.people_with_need.cast("int64")))
    return ibis.union(*parts)


# --- continuity of care after prison --------------------------------------------------------------

def _releases(b: base.Bases) -> ibis.Table:
    """Prison releases of people in the run (area, period on the release date, demographics)."""
    p = base.content(b.con, "prison_custody")
    p = p.filter(p.person_key.notnull() & p.release_date.notnull())
    if b.filters.areas is not None:
        p = p.filter(p.area_code.isin(b.filters.areas))
    if b.filters.period is not None:
        p = p.filter(p.release_date.cast("date").between(*b.filters.period))
    if b.filters.demographics:
        p = p.semi_join(b.people.select("person_key"), "person_key")
    return p.select("record_key", "person_key", release_date=p.release_date.cast("date"))


@register(
    name="continuity_of_care",
    title="Continuity of care: community mental health contact after release from prison",
    definition=(
        "Of the releases from prison in the area and period of people with a mental health need "
        "recorded by any agency, the share followed by a community mental health contact (an "
        "attended contact or admission with a team other than prison in-reach or forensic) within "
        "21 days and within 6 weeks (42 days) of the release date."
    ),
    numerator="Releases followed by a community mental health contact within the window.",
    denominator="Releases of people with a mental health need (each release counts).",
    method="Wilson score interval at 95% (triangulate.stats.proportion); all people and by 5 ethnic groups.",
    caveats=(
        "Contacts only if they are in the mental health extract (GP and third-sector support are "
        "not seen). Releases near the end of the data have a window that runs past it and are "
        "kept, which can understate continuity for the last weeks. Referrals alone do not count."
    ),
    finish=lambda t: _proportion(sort(t, ["window", "breakdown", "group"]), "with_contact", "releases",
                                 "percent_with_contact"),
    disclosure=Disclosure(
        counts=("with_contact", "releases"), dimensions=("group",), by=("window", "breakdown"),
        dependents={c: ("percent_with_contact", "lower_95", "upper_95") for c in ("with_contact", "releases")},
    ),
)
def continuity_of_care(b: base.Bases) -> ibis.Table:
    releases = _releases(b).semi_join(_mental_health_needs(b), "person_key")
    mh = _mh_records(b)
    mh = mh.filter(mh.record_type.isin(("contact", "admission")) & ~mh.team_type.isin(NOT_COMMUNITY_TEAMS))
    gap = releases.join(mh, "person_key")
    gap = gap.mutate(days=(gap.mh_date.delta(gap.release_date, unit="day")))
    gap = gap.filter(gap.days >= 0)
    first = gap.group_by("record_key").aggregate(first_days=gap.days.min())
    flagged = releases.left_join(first, "record_key").select(releases, first_days=first.first_days)
    parts = []
    for window, days in CONTINUITY_WINDOWS.items():
        within = flagged.mutate(hit=ibis.ifelse(flagged.first_days.notnull() & (flagged.first_days <= days), 1, 0))
        for breakdown, t in _by_group(within, b.people):
            counted = t.group_by("group").aggregate(with_contact=t.hit.sum(), releases=t.count())
            parts.append(counted.select(
                window=ibis.literal(window), breakdown=ibis.literal(breakdown), group=counted.group,
                with_contact=counted.with_contact.cast("int64"), releases=counted.releases.cast("int64")))
    return ibis.union(*parts)


# --- repeat contact --------------------------------------------------------------------------------

def _band(n: ibis.Value) -> ibis.Value:
    case = ibis.cases(*[((n >= lo) & (n <= hi), label) for label, lo, hi in REPEAT_BANDS])
    return case


@register(
    name="repeat_contact",
    title="Repeat contact: people by number of justice contacts in 12 months, and their needs",
    definition=(
        "People with at least one justice contact (police custody arrival, L&D contact, court "
        "hearing, prison reception, probation start) in the 12 months ending at the period's end "
        "(or at the latest justice contact in the data), banded by how many (1, 2, 3-4, 5+), and in "
        "each band the share with each need recorded by any agency."
    ),
    numerator="People in the band with the need recorded.",
    denominator="People in the band.",
    method="Wilson score interval at 95% (triangulate.stats.proportion).",
    caveats=(
        "Court hearings count one by one, so a case with several hearings raises the count: read "
        "the band as contact with the system, not as offending. 'any_need' is any need at all."
    ),
    finish=lambda t: _proportion(sort(t, ["need_code", "contacts_band"]), "people_with_need", "people",
                                 "percent_with_need"),
    disclosure=Disclosure(
        counts=("people_with_need", "people"), dimensions=("contacts_band",), by=("need_code",),
        dependents={c: ("percent_with_need", "lower_95", "upper_95") for c in ("people_with_need", "people")},
    ),
)
def repeat_contact(b: base.Bases) -> ibis.Table:
    r = b.records
    r = r.filter(r.setting.isin(JUSTICE) & r.event_date.notnull())
    end = ibis.literal(b.filters.period[1]) if b.filters.period is not None else r.event_date.max()
    r = r.filter(r.event_date > end - ibis.interval(days=365))
    per_person = r.group_by("person_key").aggregate(contacts=r.count())
    banded = per_person.select("person_key", contacts_band=_band(per_person.contacts))
    bands = banded.group_by("contacts_band").aggregate(people=banded.count())
    needs = b.needs
    any_need = needs.select("person_key").distinct().mutate(need_code=ibis.literal("any_need"))
    all_needs = ibis.union(needs.select("person_key", "need_code"), any_need)
    codes = ibis.memtable(pa.table({"need_code": [*base.need_codes(), "any_need"]}))
    with_need = banded.join(all_needs, "person_key")
    numerators = with_need.group_by(["contacts_band", "need_code"]).aggregate(people_with_need=with_need.count())
    grid = bands.cross_join(codes)
    joined = grid.left_join(numerators, ["contacts_band", "need_code"])
    return joined.select(
        need_code=grid.need_code, contacts_band=grid.contacts_band,
        people_with_need=numerators.people_with_need.fill_null(0).cast("int64"), people=grid.people.cast("int64"))


# --- reoffending proxy -----------------------------------------------------------------------------

@register(
    name="reoffending_proxy",
    title="Reoffending proxy: a new justice contact within 12 months of release or of a community order",
    definition=(
        "Of the releases from prison and the starts of community orders in the area and period "
        "whose 12 months of follow-up lie inside the data, the share followed within 12 months by "
        "a police custody arrival or a first court hearing."
    ),
    numerator="Releases or order starts followed by a custody arrival or first hearing within 365 days.",
    denominator="Releases or community order starts with a full year of follow-up in the data.",
    method=(
        "Wilson score interval at 95% (triangulate.stats.proportion); all people and by 5 ethnic "
        "groups. The data's end is the latest justice event date in the store."
    ),
    caveats=(
        "A proxy, not proven reoffending (MoJ's measure counts offences leading to a caution or "
        "conviction): an arrest or first hearing may not lead to either. Contacts outside the area's "
        "data are not seen."
    ),
    finish=lambda t: _proportion(sort(t, ["cohort", "breakdown", "group"]), "new_contact", "cohort_size",
                                 "percent_with_new_contact"),
    disclosure=Disclosure(
        counts=("new_contact", "cohort_size"), dimensions=("group",), by=("cohort", "breakdown"),
        dependents={c: ("percent_with_new_contact", "lower_95", "upper_95") for c in ("new_contact", "cohort_size")},
    ),
)
def reoffending_proxy(b: base.Bases) -> ibis.Table:
    everything = base.all_records(b.con)
    justice = everything.filter(everything.setting.isin(JUSTICE))
    data_end = justice.event_date.max()
    released = _releases(b)
    releases = released.select("person_key", start=released.release_date, cohort=ibis.literal("prison release"))
    p = base.content(b.con, "probation_supervision")
    p = p.filter(p.person_key.notnull() & (p.order_type == "community_order") & p.supervision_start_date.notnull())
    kept = b.records.filter(b.records.setting == "probation_supervision").select("record_key")
    p = p.semi_join(kept, "record_key")
    orders = p.select("person_key", start=p.supervision_start_date.cast("date"),
                      cohort=ibis.literal("community order start"))
    cohort = ibis.union(releases, orders)
    cohort = cohort.filter(cohort.start + ibis.interval(days=FOLLOW_UP_DAYS) <= data_end)
    cohort = cohort.mutate(episode=ibis.row_number().over(order_by=[cohort.person_key, cohort.start, cohort.cohort]))
    custody = base.content(b.con, "police_custody")
    court = base.content(b.con, "court_appearance")
    new = ibis.union(
        custody.filter(custody.person_key.notnull()).select("person_key", when=custody.arrival_date.cast("date")),
        court.filter(court.person_key.notnull() & (court.hearing_type == "first_hearing"))
        .select("person_key", when=court.hearing_date.cast("date")),
    )
    hits = cohort.join(new, "person_key").filter(
        lambda t: (t.when > t.start) & (t.when <= t.start + ibis.interval(days=FOLLOW_UP_DAYS)))
    hit_episodes = hits.select("episode").distinct().mutate(hit=ibis.literal(1))
    flagged = cohort.left_join(hit_episodes, "episode").select(
        "person_key", "cohort", new_contact=ibis.ifelse(hit_episodes.hit.isnull(), 0, 1))
    parts = []
    for breakdown, t in _by_group(flagged, b.people):
        counted = t.group_by(["cohort", "group"]).aggregate(new_contact=t.new_contact.sum(), cohort_size=t.count())
        parts.append(counted.select(
            "cohort", breakdown=ibis.literal(breakdown), group=counted.group,
            new_contact=counted.new_contact.cast("int64"), cohort_size=counted.cohort_size.cast("int64")))
    return ibis.union(*parts)
