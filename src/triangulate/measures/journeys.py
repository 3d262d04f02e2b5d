"""Journeys: what happens to people along the pathway, from their linked records in date order.

Pathway flows (who moves from one service to the next), people with a need who leave the pathway
without a health contact, continuity of mental health care after prison, repeat contact, and a
reoffending proxy. Every one of these needs the linked ``person_key``: they follow a person across
agencies, which no single agency's data can do.
"""

from __future__ import annotations

import ibis

from triangulate.measures import base
from triangulate.measures.registry import Column, Count, register
from triangulate.measures.tables import proportion, year_end

JUSTICE = base.JUSTICE
#: Every setting in Sequential Intercept Model order (mental health services at intercept 0): ties
#: between records of one person on one day are broken by this order, then by record key.
PATHWAY_ORDER = ("mental_health", *JUSTICE)
LEFT = "left the records"
#: Community mental health contacts for continuity of care: an attended contact (or an admission)
#: by a team outside prison. In-reach and forensic teams are prison or secure services.
NOT_COMMUNITY_TEAMS = ("prison_in_reach", "forensic")
CONTINUITY_WINDOWS = {"21 days": 21, "6 weeks": 42}
REPEAT_BANDS = (("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5+", 5, 10**9))
#: Needs that count as a mental health need for the pathway and continuity measures.
MENTAL_HEALTH_NEEDS = ("depression", "anxiety", "psychosis", "personality_disorder", "self_harm",
                       "trauma", "dual_diagnosis", "neurodevelopmental")
FOLLOW_UP_DAYS = 365


# --- pathway flows -------------------------------------------------------------------------------


@register(
    name="pathway_flows",
    title="Pathway flows: people moving from one service to the next",
    definition=(
        "For each pair of settings (the five justice agencies and mental health services), the people whose "
        "next record after a record in the first setting, in date order, is in the second: the moves along "
        "the pathway, for a flow (Sankey) diagram. A move belongs to the financial year of its first record; "
        "a person counts once per move per year however often they make it. 'left the records' counts people "
        "with no later record at all."
    ),
    numerator="People making the move at least once in the year.",
    denominator="None (counts); the people seen in the from-setting give the scale.",
    method="Records of each linked person ordered by event date; same-day records in intercept order "
           "(mental health, police custody, L&D, court, prison, probation), then by record key.",
    caveats=(
        "A person's contacts outside the data are not seen. Consecutive records in the same setting are not "
        "moves. Dates are each agency's event date (arrival, hearing, reception, start, identification, "
        "mental health event), not times of day."
    ),
    source="Local indicator (no national definition): the Sequential Intercept Model's flows (Munetz & Griffin "
           "2006).",
    keys=("from_setting", "to_setting"),
    counts=(Count("people", "flow:{from_setting}:{to_setting}"),),
    breakdowns=("all",),
    intersections=False,
    finish=lambda t: t,
    columns=(
        Column("from_setting", "From", "setting"),
        Column("to_setting", "To", "setting"),
        Column("people", "People", "count"),
    ),
)
def pathway_flows(b: base.Base) -> dict[str, ibis.Table]:
    r = b.records.select("person_key", "record_key", "setting", "event_date", "year")
    order = ibis.cases(*[(r.setting == s, i) for i, s in enumerate(PATHWAY_ORDER)], else_=99)
    r = r.mutate(intercept_order=order)
    ordered = r.mutate(to_setting=r.setting.lead().over(
        group_by="person_key", order_by=[r.event_date, r.intercept_order, r.record_key]))
    moves = ordered.filter(ordered.to_setting.isnull() | (ordered.to_setting != ordered.setting))
    moves = moves.select("person_key", "year", from_setting=moves.setting,
                         to_setting=moves.to_setting.fill_null(LEFT)).distinct()
    p = b.presence
    moves = moves.join(p, [moves.person_key == p.person_key, moves.year == p.year,
                           moves.from_setting == p.setting]).select(moves, p.area_code)
    return {"people": b.fine(moves, ("from_setting", "to_setting"))}


# --- people with a need who leave the pathway without a health contact --------------------------


def _mental_health_need_by_year(b: base.Base, t: ibis.Table) -> ibis.Table:
    """Rows of ``t`` (person_key, year, ...) whose person had a mental health need identified by the year's end."""
    n = b.needs
    n = n.filter(n.need_code.isin(MENTAL_HEALTH_NEEDS))
    joined = t.join(n.select("person_key", "identified_date"), "person_key")
    joined = joined.filter(joined.identified_date.isnull() | (joined.identified_date <= year_end(joined.year)))
    return joined.drop("identified_date").distinct()


def _mh_records(b: base.Base) -> ibis.Table:
    """Every mental health service record of a linked person (any area and date: care can follow
    a person out of the area and after the year)."""
    m = b.table("mental_health")
    return m.select("person_key", mh_date=m.event_date, record_type=m.record_type, team_type=m.team_type)


@register(
    name="pathway_no_health_contact",
    title="People with a mental health need who had no mental health contact after their justice contact",
    definition=(
        "Of the people seen in each justice setting in the area and financial year who have a mental health "
        "need recorded by any agency (identified by the year's end), the share with no record of a mental "
        "health service (referral, contact, admission) on or after their first contact in that setting that "
        "year: people who leave the pathway without any health contact."
    ),
    numerator="People with a mental health need and no mental health service record on or after their first "
              "contact in the setting that year.",
    denominator="People seen in the setting in the area and year with a mental health need recorded.",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts.",
    caveats=(
        "Mental health needs: depression, anxiety, psychosis, personality disorder, self-harm, trauma, dual "
        "diagnosis, neurodevelopmental (substance and alcohol misuse and learning disability alone do not "
        "count). Contacts with GPs, talking therapies outside the mental health extract, or services outside "
        "the data are not seen, so this is an upper bound."
    ),
    source="Local indicator (no national definition).",
    keys=("setting",),
    counts=(
        Count("people_with_need", "people_with_mh_need_at:{setting}"),
        Count("without_health_contact", "no_mh_contact_after:{setting}", within="people_with_need"),
    ),
    finish=lambda t: proportion(t, "without_health_contact", "people_with_need", "percent_without_health_contact"),
    columns=(
        Column("setting", "Setting", "setting"),
        Column("without_health_contact", "People with no later mental health contact", "count"),
        Column("people_with_need", "People with a mental health need", "count"),
        Column("percent_without_health_contact", "Without a later contact (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def pathway_no_health_contact(b: base.Base) -> dict[str, ibis.Table]:
    r = b.records.filter(b.records.setting.isin(JUSTICE))
    first = r.group_by(["person_key", "setting", "year"]).aggregate(first_contact=r.event_date.min())
    p = b.presence
    seen = first.join(p, ["person_key", "setting", "year"]).select(first, p.area_code)
    with_need = _mental_health_need_by_year(b, seen)
    mh = _mh_records(b)
    later = with_need.join(mh, "person_key").filter(lambda t: t.mh_date >= t.first_contact)
    contacted = later.select("person_key", "setting", "year").distinct()
    without = with_need.anti_join(contacted, ["person_key", "setting", "year"])
    cols = ("person_key", "year", "area_code", "setting")
    return {"people_with_need": b.fine(with_need.select(*cols), ("setting",)),
            "without_health_contact": b.fine(without.select(*cols), ("setting",))}


# --- continuity of care after prison --------------------------------------------------------------


@register(
    name="continuity_of_care",
    title="Continuity of care: community mental health contact after release from prison",
    definition=(
        "Of the releases from prison in the area and financial year of people with a mental health need "
        "recorded by any agency, the share followed by a community mental health contact (an attended contact "
        "or admission with a team other than prison in-reach or forensic) within 21 days and within 6 weeks "
        "(42 days) of the release date."
    ),
    numerator="Releases followed by a community mental health contact within the window.",
    denominator="Releases of people with a mental health need (each release counts).",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts.",
    caveats=(
        "Contacts only if they are in the mental health extract (GP and third-sector support are not seen). "
        "Releases near the end of the data have a window that runs past it and are kept, which can understate "
        "continuity for the last weeks. Referrals alone do not count."
    ),
    source="Mental health analogue of OHID's Public Health Outcomes Framework indicator C19c (continuity of "
           "care for substance misuse after prison); no national mental health indicator is published.",
    keys=("window",),
    key_domains={"window": lambda: list(CONTINUITY_WINDOWS)},
    counts=(
        Count("releases", "releases_with_mh_need", keys=(), unit="releases"),
        Count("with_contact", "releases_with_contact:{window}", within="releases", unit="releases"),
    ),
    finish=lambda t: proportion(t, "with_contact", "releases", "percent_with_contact"),
    columns=(
        Column("window", "Within", "text"),
        Column("with_contact", "Releases followed by a contact", "count"),
        Column("releases", "Releases of people with a mental health need", "count"),
        Column("percent_with_contact", "With a contact (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def continuity_of_care(b: base.Base) -> dict[str, ibis.Table]:
    p = b.table("prison_custody")
    p = p.filter(p.release_date.notnull())
    releases = p.select("record_key", "person_key", "area_code", release_date=p.release_date.cast("date"))
    releases = releases.mutate(year=base.financial_year(releases.release_date))
    releases = _mental_health_need_by_year(b, releases)
    mh = _mh_records(b)
    mh = mh.filter(mh.record_type.isin(("contact", "admission")) & ~mh.team_type.isin(NOT_COMMUNITY_TEAMS))
    gap = releases.join(mh, "person_key")
    gap = gap.mutate(days=gap.mh_date.delta(gap.release_date, unit="day"))
    gap = gap.filter(gap.days >= 0)
    first = gap.group_by("record_key").aggregate(first_days=gap.days.min())
    flagged = releases.left_join(first, "record_key").select(releases, first_days=first.first_days)
    contact = []
    for window, days in CONTINUITY_WINDOWS.items():
        hit = flagged.filter(flagged.first_days.notnull() & (flagged.first_days <= days))
        contact.append(hit.select("person_key", "year", "area_code", window=ibis.literal(window)))
    return {"releases": b.fine(releases.select("person_key", "year", "area_code")),
            "with_contact": b.fine(ibis.union(*contact), ("window",))}


# --- repeat contact --------------------------------------------------------------------------------


def _band(n: ibis.Value) -> ibis.Value:
    return ibis.cases(*[((n >= lo) & (n <= hi), label) for label, lo, hi in REPEAT_BANDS])


@register(
    name="repeat_contact",
    title="Repeat contact: people by number of justice contacts in the year, and their needs",
    definition=(
        "People with at least one justice contact (police custody arrival, L&D contact, court hearing, prison "
        "reception, probation start) in the financial year, banded by how many (1, 2, 3-4, 5+), and in each "
        "band the share with each need recorded by any agency by the year's end."
    ),
    numerator="People in the band with the need recorded.",
    denominator="People in the band.",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts.",
    caveats=(
        "Court hearings count one by one, so a case with several hearings raises the count: read the band as "
        "contact with the system, not as offending. 'any_need' is any need at all."
    ),
    source="Local indicator (no national definition): frequent attenders, as the seed documents ask.",
    keys=("contacts_band", "need_code"),
    key_domains={"need_code": lambda: [*base.need_codes(), "any_need"]},
    counts=(
        Count("people", "people_with_contacts:{contacts_band}", keys=("contacts_band",)),
        Count("people_with_need", "people_with_contacts_need:{contacts_band}:{need_code}", within="people"),
    ),
    intersections=False,
    finish=lambda t: proportion(t, "people_with_need", "people", "percent_with_need"),
    columns=(
        Column("contacts_band", "Justice contacts in the year", "text"),
        Column("need_code", "Need", "need"),
        Column("people_with_need", "People with the need", "count"),
        Column("people", "People", "count"),
        Column("percent_with_need", "With the need (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def repeat_contact(b: base.Base) -> dict[str, ibis.Table]:
    r = b.records.filter(b.records.setting.isin(JUSTICE))
    per = r.group_by(["person_key", "year"]).aggregate(contacts=r.count())
    area = b.stage("justice", r)
    banded = per.join(area, ["person_key", "year"]).select(
        "person_key", "year", area.area_code, contacts_band=_band(per.contacts))
    needs = b.needs
    any_need = needs.group_by("person_key").aggregate(identified_date=needs.identified_date.min()).mutate(
        need_code=ibis.literal("any_need"))
    all_needs = ibis.union(needs.select("person_key", "need_code", "identified_date"),
                           any_need.select("person_key", "need_code", "identified_date"))
    with_need = banded.join(all_needs, "person_key")
    with_need = with_need.filter(with_need.identified_date.isnull()
                                 | (with_need.identified_date <= year_end(with_need.year)))
    return {"people": b.fine(banded, ("contacts_band",)),
            "people_with_need": b.fine(with_need.select("person_key", "year", "area_code", "contacts_band",
                                                        "need_code"), ("contacts_band", "need_code"))}


# --- reoffending proxy -----------------------------------------------------------------------------


@register(
    name="reoffending_proxy",
    title="Reoffending proxy: a new justice contact within 12 months of release or of a community order",
    definition=(
        "Of the releases from prison and the starts of community orders in the area and financial year whose "
        "12 months of follow-up lie inside the data, the share followed within 12 months by a police custody "
        "arrival or a first court hearing."
    ),
    numerator="Releases or order starts followed by a custody arrival or first hearing within 365 days.",
    denominator="Releases or community order starts with a full year of follow-up in the data.",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts. "
           "The data's end is the latest justice event date in the store.",
    caveats=(
        "A proxy, not proven reoffending (MoJ's measure counts offences leading to a caution or conviction): "
        "an arrest or first hearing may not lead to either. Contacts outside the area's data are not seen."
    ),
    source="Proxy for the Ministry of Justice proven reoffending measure (not the national definition).",
    keys=("cohort",),
    key_domains={"cohort": lambda: ["prison release", "community order start"]},
    counts=(
        Count("cohort_size", "reoffending_cohort:{cohort}", unit="episodes"),
        Count("new_contact", "reoffending_new_contact:{cohort}", within="cohort_size", unit="episodes"),
    ),
    finish=lambda t: proportion(t, "new_contact", "cohort_size", "percent_with_new_contact"),
    columns=(
        Column("cohort", "Cohort", "text"),
        Column("new_contact", "Followed by a new contact", "count"),
        Column("cohort_size", "Releases or order starts", "count"),
        Column("percent_with_new_contact", "With a new contact (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def reoffending_proxy(b: base.Base) -> dict[str, ibis.Table]:
    justice = b.records.filter(b.records.setting.isin(JUSTICE))
    data_end = justice.event_date.max()
    p = b.table("prison_custody")
    p = p.filter(p.release_date.notnull())
    releases = p.select("record_key", "person_key", "area_code", start=p.release_date.cast("date"),
                        cohort=ibis.literal("prison release"))
    o = b.table("probation_supervision")
    o = o.filter(o.order_type == "community_order")
    orders = o.select("record_key", "person_key", "area_code", start=o.event_date,
                      cohort=ibis.literal("community order start"))
    cohort = ibis.union(releases, orders)
    cohort = cohort.filter(cohort.start + ibis.interval(days=FOLLOW_UP_DAYS) <= data_end)
    cohort = cohort.mutate(year=base.financial_year(cohort.start))
    custody = b.table("police_custody").select("person_key", when=ibis._.event_date)
    court = b.table("court_appearance")
    court = court.filter(court.hearing_type == "first_hearing").select("person_key", when=court.event_date)
    new = ibis.union(custody, court)
    hits = cohort.join(new, "person_key").filter(
        lambda t: (t.when > t.start) & (t.when <= t.start + ibis.interval(days=FOLLOW_UP_DAYS)))
    hit = cohort.semi_join(hits.select("record_key", "cohort").distinct(), ["record_key", "cohort"])
    cols = ("person_key", "year", "area_code", "cohort")
    return {"cohort_size": b.fine(cohort.select(*cols), ("cohort",)),
            "new_contact": b.fine(hit.select(*cols), ("cohort",))}
