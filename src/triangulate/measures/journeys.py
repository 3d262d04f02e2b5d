"""Journeys: what happens to people along the pathway, from their linked records in date order.

Pathway flows (who moves from one service to the next), people with a need who leave the pathway
without a health contact, continuity of mental health care after prison, repeat contact, and proven
reoffending. Every one of these needs the linked ``person_key``: they follow a person across
agencies, which no single agency's data can do.
"""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa

from triangulate.measures import base
from triangulate.measures.registry import Column, Count, register
from triangulate.measures.tables import column, proportion, with_columns, year_end
from triangulate.standard import codelist

JUSTICE = base.JUSTICE
#: Every setting in Sequential Intercept Model order (mental health services at intercept 0): ties
#: between records of one person on one day are broken by this order, then by record key.
PATHWAY_ORDER = ("mental_health", *JUSTICE)
LEFT = "left the records"
#: Community mental health contacts for continuity of care: an attended contact (or an admission)
#: by a team outside prison. In-reach and forensic teams are prison or secure services.
NOT_COMMUNITY_TEAMS = ("prison_in_reach", "forensic")
#: Continuity windows in days after release; the 7-day window is for people with a serious mental illness.
CONTINUITY_WINDOWS = {"7 days (SMI)": 7, "21 days": 21, "6 weeks": 42}
SMI_WINDOWS = ("7 days (SMI)",)
#: Serious mental illness among the needs of the data standard (psychosis includes bipolar with psychosis).
SMI_NEEDS = ("psychosis",)
#: Release types that are not a release to the community (OHID C19c leaves transfers out).
NOT_RELEASES_TO_COMMUNITY = ("transfer_to_hospital",)
REPEAT_BANDS = (("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5+", 5, 10**9))
#: What repeat contact counts: distinct days of each kind of contact, each kind apart.
REPEAT_CONTACTS = {
    "police custody arrivals": ("police_custody",
                                lambda t: t.custody_outcome.isnull() | (t.custody_outcome != "s136_place_of_safety")),
    "court attendances": ("court_appearance", lambda t: ibis.literal(True)),
}
#: Needs that count as a mental health need for the pathway and continuity measures: the code list's
#: ``mental_health_need`` column (trauma history, neurodevelopmental conditions, learning disability and
#: substance or alcohol misuse alone are needs, but not mental health needs, here).
MENTAL_HEALTH_NEEDS = tuple(r["code"] for r in codelist("need").rows if r["mental_health_need"] == "Y")
FOLLOW_UP_DAYS = 365
#: Proven reoffending: a further 6 months for an offence in the follow-up year to be proven.
WAITING_DAYS = 183
#: The qualifying events of proven reoffending, in the order a same-day tie is broken.
REOFFENDING_COHORTS = ("released from custody", "court conviction (non-custodial)", "caution")
#: Follow-up for "no health contact": 3 months (13 weeks).
NO_CONTACT_DAYS = 91


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


def _residence(p: ibis.Table) -> ibis.Value:
    """The area a prison record is attributed to: the recorded area of residence (standard 1.1), else the
    area of the record."""
    if "residence_area_code" in p.columns:
        return p.residence_area_code.fill_null(p.area_code)
    return p.area_code


def _releases_to_community(b: base.Base) -> ibis.Table:
    """Prison records with a release to the community (transfers to hospital left out)."""
    p = b.table("prison_custody")
    return p.filter(p.release_date.notnull()
                    & (p.release_type.isnull() | ~p.release_type.isin(NOT_RELEASES_TO_COMMUNITY)))


def _cautions(b: base.Base) -> ibis.Table:
    """Police custody records ending in a caution: a qualifying event and a proven offence alike."""
    k = b.table("police_custody")
    return k.filter(k.custody_outcome == "caution")


def _mh_records(b: base.Base) -> ibis.Table:
    """Every mental health service record of a linked person (any area and date: care can follow
    a person out of the area and after the year)."""
    m = b.table("mental_health")
    return m.select("person_key", mh_date=m.event_date, record_type=m.record_type, team_type=m.team_type)


@register(
    name="pathway_no_health_contact",
    title="People with a mental health need who had no mental health contact within 3 months of a justice contact",
    definition=(
        "Of the people seen in each justice setting in the area and financial year who had a mental health need "
        "identified by any agency on or before their first contact in that setting that year, the share with no "
        f"record of a mental health service (referral, contact or admission) in the {NO_CONTACT_DAYS} days from that "
        "contact: people who leave the pathway without a health contact. Only people whose whole "
        f"{NO_CONTACT_DAYS} days lie inside the mental health data are counted (complete follow-up)."
    ),
    numerator=f"People with a mental health need and no mental health service record 0 to {NO_CONTACT_DAYS} days "
              "after their first contact in the setting that year.",
    denominator=f"People seen in the setting in the area and year with a mental health need identified on or before "
                f"that first contact, whose {NO_CONTACT_DAYS} days of follow-up end on or before the last date of "
                "the mental health data.",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts. "
           "The end of the mental health data is its latest event date in the store.",
    caveats=(
        "Mental health needs: depression, anxiety, psychosis, personality disorder, self-harm, dual diagnosis "
        "(the need code list's mental_health_need column; substance or alcohol misuse, learning disability, "
        "neurodevelopmental conditions and trauma history alone do not count). Contacts with GPs, talking "
        "therapies outside the mental health extract, or services outside the data are not seen, so this is an "
        "upper bound. People seen in the last 3 months of the data are left out until their follow-up is complete."
    ),
    source="Local indicator (no national definition); the 3-month window is ours.",
    keys=("setting",),
    counts=(
        Count("people_with_need", "people_with_mh_need_followed_up:{setting}"),
        Count("without_health_contact", "no_mh_contact_within_3_months:{setting}", within="people_with_need"),
    ),
    finish=lambda t: proportion(t, "without_health_contact", "people_with_need", "percent_without_health_contact"),
    columns=(
        Column("setting", "Setting", "setting"),
        Column("without_health_contact", "People with no mental health contact within 3 months", "count"),
        Column("people_with_need", "People with a mental health need, fully followed up", "count"),
        Column("percent_without_health_contact", "Without a contact in 3 months (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def pathway_no_health_contact(b: base.Base) -> dict[str, ibis.Table]:
    r = b.records.filter(b.records.setting.isin(JUSTICE))
    first = r.group_by(["person_key", "setting", "year"]).aggregate(first_contact=r.event_date.min())
    p = b.presence
    seen = first.join(p, ["person_key", "setting", "year"]).select(first, p.area_code)
    seen = seen.filter(seen.first_contact + ibis.interval(days=NO_CONTACT_DAYS) <= mh_data_end(b))
    with_need = _needs_on_or_before(b, seen, "first_contact", MENTAL_HEALTH_NEEDS)
    mh = _mh_records(b)
    later = with_need.join(mh, "person_key").filter(
        lambda t: (t.mh_date >= t.first_contact) & (t.mh_date <= t.first_contact + ibis.interval(days=NO_CONTACT_DAYS)))
    contacted = later.select("person_key", "setting", "year").distinct()
    without = with_need.anti_join(contacted, ["person_key", "setting", "year"])
    cols = ("person_key", "year", "area_code", "setting")
    return {"people_with_need": b.fine(with_need.select(*cols), ("setting",)),
            "without_health_contact": b.fine(without.select(*cols), ("setting",))}


# --- continuity of care after prison --------------------------------------------------------------


def mh_data_end(b: base.Base) -> ibis.Value:
    """The last day the mental health extract covers: its latest event date (follow-up after it is unseen)."""
    return b.table("mental_health").event_date.max()


def _needs_on_or_before(b: base.Base, t: ibis.Table, when: str, codes: tuple[str, ...]) -> ibis.Table:
    """Rows of ``t`` whose person had one of the ``codes`` needs identified on or before ``t[when]``
    (an undated need counts as known from the start)."""
    n = b.needs
    n = n.filter(n.need_code.isin(codes)).select("person_key", "identified_date", "undated")
    joined = t.join(n, "person_key")
    joined = joined.filter(joined.undated | (joined.identified_date <= joined[when]))
    return joined.select(*t.columns).distinct()


@register(
    name="continuity_of_care",
    title="Continuity of care: community mental health contact after release from prison",
    definition=(
        "Of the releases from prison to the community in the area and financial year of people with a mental "
        "health need identified by any agency on or before the release date, the share followed by a community "
        "mental health contact (an attended contact or an admission with a team other than prison in-reach or "
        "forensic) within 21 days and within 6 weeks (42 days) of the release date, and, for people with a "
        "serious mental illness (psychosis), within 7 days. A release counts in a window only when the whole "
        "window lies inside the mental health data (full follow-up)."
    ),
    numerator="Releases followed by a community mental health contact 0 to N days after the release date.",
    denominator=(
        "Releases to the community (transfers to hospital under s47/s48 excluded) of people with a mental health "
        "need identified on or before release (for the 7-day window: psychosis), whose window ends on or before "
        "the last date of the mental health data. Each release counts."
    ),
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts. "
           "The end of the mental health data is its latest event date in the store.",
    caveats=(
        "Contacts only if they are in the mental health extract (GP and third-sector support are not seen). "
        "Referrals alone do not count. A release is attributed to the area of residence the prison recorded "
        "(residence_area_code, from data standard 1.1) and, where that is not recorded, to the area of the "
        "prison record. Differences from OHID C19c: a mental health need rather than a substance misuse treatment need; "
        "any community mental health contact rather than structured treatment; the 6-week and 7-day windows are "
        "ours (7 days follows the NHS follow-up standard after psychiatric discharge)."
    ),
    source="Mental health analogue of OHID's Public Health Outcomes Framework indicator C19c (continuity of "
           "care: adults with a substance misuse treatment need released from prison who engage with community "
           "treatment within 3 weeks); no national mental health indicator is published.",
    keys=("window",),
    key_domains={"window": lambda: list(CONTINUITY_WINDOWS)},
    counts=(
        Count("releases", "releases_with_mh_need:{window}", unit="releases"),
        Count("with_contact", "releases_with_contact:{window}", within="releases", unit="releases"),
    ),
    finish=lambda t: proportion(t, "with_contact", "releases", "percent_with_contact"),
    columns=(
        Column("window", "Within", "text"),
        Column("with_contact", "Releases followed by a contact", "count"),
        Column("releases", "Releases of people with a mental health need, fully followed up", "count"),
        Column("percent_with_contact", "With a contact (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def continuity_of_care(b: base.Base) -> dict[str, ibis.Table]:
    p = _releases_to_community(b)
    releases = p.select("record_key", "person_key", area_code=_residence(p),
                        release_date=p.release_date.cast("date"))
    releases = releases.mutate(year=base.financial_year(releases.release_date))
    with_need = _needs_on_or_before(b, releases, "release_date", MENTAL_HEALTH_NEEDS)
    with_smi = _needs_on_or_before(b, releases, "release_date", SMI_NEEDS)
    mh = _mh_records(b)
    mh = mh.filter(mh.record_type.isin(("contact", "admission")) & ~mh.team_type.isin(NOT_COMMUNITY_TEAMS))
    gap = with_need.join(mh, "person_key")
    gap = gap.mutate(days=gap.mh_date.delta(gap.release_date, unit="day"))
    gap = gap.filter(gap.days >= 0)
    first = gap.group_by("record_key").aggregate(first_days=gap.days.min())
    data_end = mh_data_end(b)
    cohorts, contact = [], []
    for window, days in CONTINUITY_WINDOWS.items():
        who = with_smi if window in SMI_WINDOWS else with_need
        followed = who.filter(who.release_date + ibis.interval(days=days) <= data_end)
        flagged = followed.left_join(first, "record_key").select(followed, first_days=first.first_days)
        cohorts.append(followed.select("person_key", "year", "area_code", window=ibis.literal(window)))
        hit = flagged.filter(flagged.first_days.notnull() & (flagged.first_days <= days))
        contact.append(hit.select("person_key", "year", "area_code", window=ibis.literal(window)))
    return {"releases": b.fine(ibis.union(*cohorts), ("window",)),
            "with_contact": b.fine(ibis.union(*contact), ("window",))}


# --- repeat contact --------------------------------------------------------------------------------


def _band(n: ibis.Value) -> ibis.Value:
    return ibis.cases(*[((n >= lo) & (n <= hi), label) for label, lo, hi in REPEAT_BANDS])


@register(
    name="repeat_contact",
    title="Repeat contact: people by number of police custody arrivals, and of court attendances, in the year",
    definition=(
        "People arriving in police custody in the financial year, banded by how many separate arrivals they had "
        "(1, 2, 3-4, 5+; arrivals on different days, held as a place of safety under s136 left out); apart from "
        "them, people attending court, banded by the number of days they attended. In each band, the share with "
        "each need recorded by any agency by the year's end."
    ),
    numerator="People in the band with the need recorded.",
    denominator="People in the band.",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts.",
    caveats=(
        "A custody arrival is an arrest (or a voluntary attendance) on a day; one case's later stages (L&D, "
        "hearings, prison, probation) are not counted as further contacts. Court attendances count days at "
        "court, so one case with several hearings raises them: read that band as time at court, not offending. "
        "'any_need' is any need at all."
    ),
    source="Local indicator (no national definition): frequent attenders, as the seed documents ask.",
    keys=("contact_type", "contacts_band", "need_code"),
    key_domains={"contact_type": lambda: list(REPEAT_CONTACTS),
                 "need_code": lambda: [*base.need_codes(), "any_need"]},
    counts=(
        Count("people", "people_with_contacts:{contact_type}:{contacts_band}", keys=("contact_type", "contacts_band")),
        Count("people_with_need", "people_with_contacts_need:{contact_type}:{contacts_band}:{need_code}",
              within="people"),
    ),
    intersections=False,
    finish=lambda t: proportion(t, "people_with_need", "people", "percent_with_need"),
    columns=(
        Column("contact_type", "Contacts counted", "text"),
        Column("contacts_band", "Contacts in the year", "text"),
        Column("need_code", "Need", "need"),
        Column("people_with_need", "People with the need", "count"),
        Column("people", "People", "count"),
        Column("percent_with_need", "With the need (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def repeat_contact(b: base.Base) -> dict[str, ibis.Table]:
    needs = b.needs
    any_need = needs.group_by("person_key").aggregate(identified_date=needs.identified_date.min()).mutate(
        need_code=ibis.literal("any_need"))
    all_needs = ibis.union(needs.select("person_key", "need_code", "identified_date"),
                           any_need.select("person_key", "need_code", "identified_date"))
    people, with_needs = [], []
    for contact_type, (table, keep) in REPEAT_CONTACTS.items():
        t = b.table(table)
        t = t.filter(keep(t))
        per = t.group_by(["person_key", "year"]).aggregate(contacts=t.event_date.nunique())
        area = b.stage(f"repeat:{table}", t.select("person_key", "year", "area_code", "event_date"))
        banded = per.join(area, ["person_key", "year"]).select(
            "person_key", "year", area.area_code, contact_type=ibis.literal(contact_type),
            contacts_band=_band(per.contacts))
        with_need = banded.join(all_needs, "person_key")
        with_need = with_need.filter(with_need.identified_date.isnull()
                                     | (with_need.identified_date <= year_end(with_need.year)))
        people.append(banded)
        with_needs.append(with_need.select("person_key", "year", "area_code", "contact_type", "contacts_band",
                                           "need_code"))
    return {"people": b.fine(ibis.union(*people), ("contact_type", "contacts_band")),
            "people_with_need": b.fine(ibis.union(*with_needs), ("contact_type", "contacts_band", "need_code"))}


# --- proven reoffending ----------------------------------------------------------------------------


def _first_events(b: base.Base) -> ibis.Table:
    """Qualifying events (MoJ): releases from a custodial sentence, non-custodial convictions at court
    (sentenced to anything but immediate custody) and cautions; person_key, start, cohort, area_code."""
    p = _releases_to_community(b)
    p = p.filter(p.custody_type != "remand")
    releases = p.select("person_key", start=p.release_date.cast("date"), area_code=_residence(p),
                        cohort=ibis.literal(REOFFENDING_COHORTS[0]), order=ibis.literal(0))
    c = b.table("court_appearance")
    c = c.filter((c.court_outcome == "sentenced") & c.sentence_type.notnull() & (c.sentence_type != "immediate_custody"))
    convictions = c.select("person_key", start=c.event_date, area_code=c.area_code,
                           cohort=ibis.literal(REOFFENDING_COHORTS[1]), order=ibis.literal(1))
    k = _cautions(b)
    cautions = k.select("person_key", start=k.event_date, area_code=k.area_code,
                        cohort=ibis.literal(REOFFENDING_COHORTS[2]), order=ibis.literal(2))
    events = ibis.union(releases, convictions, cautions)
    events = events.mutate(year=base.financial_year(events.start))
    ranked = events.mutate(rank=ibis.row_number().over(
        group_by=["person_key", "year"], order_by=[events.start, events.order, events.area_code]))
    return ranked.filter(ranked["rank"] == 0).drop("rank", "order")


def _proven_offences(b: base.Base) -> ibis.Table:
    """Offences proven by a court conviction (convicted or sentenced) or a caution: person_key, the
    offence date and the date it was proven. A hearing without an offence date (a 1.0 extract) is left out."""
    c = b.table("court_appearance")
    c = c.filter(c.court_outcome.isin(("convicted", "sentenced")))
    if "offence_date" in c.columns:
        convictions = c.filter(c.offence_date.notnull()).select(
            "person_key", offence_date=c.offence_date.cast("date"), proven=c.event_date)
    else:
        convictions = c.filter(ibis.literal(False)).select(
            "person_key", offence_date=c.event_date, proven=c.event_date)
    k = _cautions(b)
    cautions = k.select("person_key", offence_date=k.event_date, proven=k.event_date)
    return ibis.union(convictions, cautions)


@register(
    name="proven_reoffending",
    title="Proven reoffending: offenders who commit a proven offence within a year",
    definition=(
        "Of the adults and young people in the area and financial year who were released from a custodial sentence, "
        "convicted at court of an offence not given immediate custody, or cautioned (each person's first such "
        "event in the year starts their one year of follow-up), the share who commit an offence in the following "
        "12 months that is proven by a court conviction or a caution within those 12 months or a further 6 "
        "months; and the number of those proven reoffences. Only people whose 18 months lie inside the data are "
        "counted."
    ),
    numerator="Offenders with at least one offence committed 1 to 365 days after the start of their follow-up and "
              "proven (convicted or cautioned) within 548 days of the start (reoffenders); and the proven "
              "reoffences (distinct offence dates).",
    denominator="Offenders: people with a qualifying event in the year whose 12 months of follow-up and 6-month "
                "waiting period end on or before the last date of the justice data.",
    method="Binary rate: Wilson score interval at 95% (triangulate.stats.proportion); frequency: reoffences per "
           "offender and per reoffender. From the published (rounded) counts. The end of the data is the latest "
           "justice event date in the store.",
    caveats=(
        "Follows the Ministry of Justice proven reoffending measure (first qualifying event per person per "
        "cohort period, 12 months' follow-up, 6 months' waiting period, new offences only), with these "
        "differences: the cohort period is a financial year (MoJ: a quarter, averaged over the year); offences "
        "are seen only in this area's court and custody extracts (MoJ: the Police National Computer); a "
        "court's offence date is needed (data standard 1.1), so hearings from 1.0 extracts are not counted; "
        "offences on the same day count once; a caution's offence date is its custody arrival."
    ),
    source="Ministry of Justice, Proven reoffending statistics: definitions and measurement (adult and youth "
           "proven reoffending measure).",
    keys=("cohort",),
    key_domains={"cohort": lambda: ["all offenders", *REOFFENDING_COHORTS]},
    counts=(
        Count("offenders", "reoffending_cohort:{cohort}", unit="people"),
        Count("reoffenders", "reoffenders:{cohort}", within="offenders", unit="people"),
        Count("reoffences", "reoffences:{cohort}", unit="offences"),
    ),
    finish=lambda t: _reoffending_finish(t),
    columns=(
        Column("cohort", "Offenders", "text"),
        Column("reoffenders", "Reoffenders", "count"),
        Column("offenders", "Offenders", "count"),
        Column("percent_reoffending", "Proven reoffending (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
        Column("reoffences", "Proven reoffences", "count"),
        Column("reoffences_per_reoffender", "Reoffences per reoffender", "ratio"),
        Column("reoffences_per_offender", "Reoffences per offender", "ratio"),
    ),
)
def proven_reoffending(b: base.Base) -> dict[str, ibis.Table]:
    justice = b.records.filter(b.records.setting.isin(JUSTICE))
    data_end = justice.event_date.max()
    cohort = _first_events(b)
    cohort = cohort.filter(cohort.start + ibis.interval(days=FOLLOW_UP_DAYS + WAITING_DAYS) <= data_end)
    offences = _proven_offences(b)
    hits = cohort.join(offences, "person_key").filter(
        lambda t: (t.offence_date > t.start) & (t.offence_date <= t.start + ibis.interval(days=FOLLOW_UP_DAYS))
        & (t.proven <= t.start + ibis.interval(days=FOLLOW_UP_DAYS + WAITING_DAYS)))
    counted = hits.group_by(["person_key", "year"]).aggregate(reoffences=hits.offence_date.nunique())
    flagged = cohort.left_join(counted, ["person_key", "year"]).select(
        cohort, reoffences=counted.reoffences.fill_null(0))
    both = ibis.union(flagged, flagged.mutate(cohort=ibis.literal("all offenders")))
    cols = ("person_key", "year", "area_code", "cohort")
    reoffenders = both.filter(both.reoffences > 0)
    return {"offenders": b.fine(both.select(*cols), ("cohort",)),
            "reoffenders": b.fine(reoffenders.select(*cols), ("cohort",)),
            "reoffences": b.fine(reoffenders.select(*cols, "reoffences"), ("cohort",),
                                 n=lambda t: t.reoffences.sum())}


def _reoffending_finish(table: pa.Table) -> pa.Table:
    table = proportion(table, "reoffenders", "offenders", "percent_reoffending")
    offences, reoffenders, offenders = (column(table, c) for c in ("reoffences", "reoffenders", "offenders"))
    per = lambda x, n: np.where(~np.isnan(x) & ~np.isnan(n) & (n > 0), x / np.where(n > 0, n, 1), np.nan)  # noqa: E731
    return with_columns(table, {"reoffences_per_reoffender": per(offences, reoffenders),
                                "reoffences_per_offender": per(offences, offenders)})
