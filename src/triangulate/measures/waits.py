"""Waits and languages: the two measures the provision gap analysis sets beside the directory.

- ``ld_mh_wait``: how long people referred on by liaison & diversion to mental health services wait
  for their first attended contact, as people seen within 7, 28 and 91 days (nested counts,
  each within the next, so no band is a published total less published parts), the share seen within
  28 days with its Wilson interval, and the median wait with its interval worked out from those
  published (rounded) counts.
- ``language_need``: people seen by the justice agencies whose recorded first language is other than
  English, by language, and the people recorded as needing an interpreter.
"""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa

from triangulate.measures import base
from triangulate.measures.journeys import mh_data_end
from triangulate.measures.registry import Column, Count, register
from triangulate.measures.tables import column, proportion, with_columns
from triangulate.standard import codelist
from triangulate.stats import grouped_median

#: L&D referral destinations that are mental health services (the ``ld_referral_destination`` codes).
MENTAL_HEALTH_DESTINATIONS = ("community_mental_health", "crisis", "talking_therapies")
#: The waits counted, in days: "seen within N days" for each N; the last is the follow-up needed. One
#: week, the four-week standard and thirteen weeks: each band is a count within the next, so every
#: extra band is another linked count to protect (with 14 and 56 as well, the waits took 8.3 s of one
#: worker's disclosure control at 1,000,000 people, against 1.5 s with these three).
WITHIN_DAYS = (7, 28, 91)


def _listed(items: list[str], last: str) -> str:
    return ", ".join(items[:-1]) + f" {last} {items[-1]}"


#: "7, 28 and 91" and "0-7, 8-28 or 29-91": the days and the bands in the measure's words.
DAYS_TEXT = _listed([str(d) for d in WITHIN_DAYS], "and")
_BANDS_TEXT = _listed([f"{a + 1 if a else 0}-{b}" for a, b in zip((0, *WITHIN_DAYS), WITHIN_DAYS)], "or")
FOLLOW_UP_DAYS = WITHIN_DAYS[-1]
#: The share reported with its interval: seen within 4 weeks (the community mental health waiting
#: time standard NHS England consulted on in 2021 is four weeks from referral).
STANDARD_DAYS = 28
#: The pseudo-language of people recorded as needing an interpreter (``language_need``).
INTERPRETER = "interpreter needed"


def _within(days: int) -> str:
    return f"seen_within_{days}"


def _finish_wait(table: pa.Table) -> pa.Table:
    table = proportion(table, _within(STANDARD_DAYS), "referred", "percent_within_28_days")
    n = column(table, "referred")
    cumulative = np.stack([column(table, _within(d)) for d in WITHIN_DAYS], axis=1)
    median = grouped_median(cumulative, n, WITHIN_DAYS)
    return with_columns(table, {"median_days": median.value, "median_lower_95": median.lower,
                                "median_upper_95": median.upper})


def _wait_counts() -> tuple[Count, ...]:
    out = [Count("referred", "ld_mh_referred_followed_up")]
    for i, d in enumerate(WITHIN_DAYS):
        outer = _within(WITHIN_DAYS[i + 1]) if i + 1 < len(WITHIN_DAYS) else "referred"
        out.append(Count(_within(d), f"ld_mh_seen_within_{d}_days", within=outer))
    return tuple(out)


def _waits(b: base.Base) -> ibis.Table:
    """person_key, year, area_code and the wait in days (null if not seen within the data) of each
    person's first L&D referral to mental health services in a year whose follow-up is complete."""
    ld = b.table("liaison_diversion")
    referral = ld.referral_date.cast("date")
    ld = ld.filter(referral.notnull() & ld.referral_destination.isin(MENTAL_HEALTH_DESTINATIONS)).mutate(
        referral=referral)
    ld = ld.mutate(year=base.financial_year(ld.referral))
    first = ld.group_by(["person_key", "year"]).aggregate(referral=ld.referral.min())
    where = ld.select("person_key", "year", "referral", "area_code", "event_date")
    area = base.most_frequent(where.join(first, ["person_key", "year", "referral"]).select(where),
                              ["person_key", "year"], "area_code")
    data_end = mh_data_end(b)
    referred = first.join(area, ["person_key", "year"]).filter(
        lambda t: t.referral + ibis.interval(days=FOLLOW_UP_DAYS) <= data_end)
    m = b.table("mental_health")
    contacts = m.filter(m.record_type == "contact").select("person_key", contact=m.event_date)
    after = referred.join(contacts, "person_key").filter(lambda t: t.contact >= t.referral)
    seen = after.group_by(["person_key", "year"]).aggregate(first_contact=after.contact.min())
    waited = referred.left_join(seen, ["person_key", "year"]).select(referred, first_contact=seen.first_contact)
    waited = waited.mutate(wait=waited.first_contact.delta(waited.referral, unit="day"))
    return waited.select("person_key", "year", "area_code", "wait")


def _wait_fine_counts(b: base.Base) -> ibis.Table:
    """One pass over the waits: the fine counts of the people referred and of those seen within each
    number of days, side by side (kept, so each count below reads it rather than the records)."""
    def make():
        within = {_within(d): (lambda t, d=d: (t.wait <= d).fill_null(False).cast("int64").sum()) for d in WITHIN_DAYS}
        return b.fine(_waits(b), referred=lambda t: t.count(), **within)
    return b.kept("ld_mh_wait", make)


@register(
    name="ld_mh_wait",
    title="Wait from liaison & diversion referral to a first mental health contact",
    definition=(
        "Of the people referred on by liaison & diversion to a mental health service (community mental health "
        "team, crisis team or NHS Talking Therapies) in the area and financial year, counting each person's first "
        f"such referral in the year, the people with an attended mental health contact within {DAYS_TEXT} "
        f"days of the referral date; the share seen within {STANDARD_DAYS} days; and the median wait."
    ),
    numerator="People whose first attended mental health contact on or after the referral date came within N days.",
    denominator=f"People referred by L&D to a mental health service whose {FOLLOW_UP_DAYS} days of follow-up end on "
                "or before the last date of the mental health data.",
    method=(
        "Wilson score interval at 95% for the share seen within 28 days, from the published (rounded) counts. "
        "Median: the grouped-data median of the published cumulative counts (linear interpolation within the "
        f"band {_BANDS_TEXT} days that holds the middle person), with a 95% interval from the "
        "order statistics at ranks n/2 ± 1.96·√n/2 (the normal approximation to the binomial, Conover 1999) "
        "read off the same curve; missing when the middle person was not seen within 91 days or a count it needs is withheld."
    ),
    caveats=(
        "The contact may be with any mental health team in the extract, in any area. A person whose contact is "
        "outside the mental health data (a GP, a voluntary service) counts as not seen, so waits are overstated "
        "where that care is common. Referral dates are L&D's; a service's own referral date may be later. "
        f"Referrals in the last {FOLLOW_UP_DAYS} days of the data are left out until their follow-up is complete. "
        "The median is read from counts in bands, so it is approximate within its band."
    ),
    source="Local measure beside the waits services state in the directory; the 4-week threshold follows NHS "
           "England's proposed community mental health waiting time standard (consultation, 2021).",
    counts=_wait_counts(),
    breakdowns=("all", "ethnic_group_5", "sex", "age_group"),
    intersections=False,
    finish=_finish_wait,
    columns=(
        Column("referred", "People referred (91 days followed up)", "count"),
        *[Column(_within(d), f"Seen within {d} days", "count") for d in WITHIN_DAYS],
        Column("percent_within_28_days", "Seen within 28 days (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
        Column("median_days", "Median wait (days)", "days"),
        Column("median_lower_95", "Median: lower 95% limit", "days"),
        Column("median_upper_95", "Median: upper 95% limit", "days"),
    ),
)
def ld_mh_wait(b: base.Base) -> dict[str, ibis.Table]:
    counts = _wait_fine_counts(b)
    names = ["referred", *[_within(d) for d in WITHIN_DAYS]]
    groups = [c for c in counts.columns if c not in names]
    out = {}
    for name in names:
        some = counts.filter(counts[name] > 0)
        out[name] = some.select(*groups, n=some[name])
    return out


def _languages(b: base.Base) -> ibis.Table:
    """Every justice agency record of a linked person: its area, date and year, recorded first
    language and whether it says an interpreter is needed."""
    return ibis.union(*[
        t.select("person_key", "area_code", "event_date", "year", first_language=t.first_language.cast("string"),
                 interpreter=(t.interpreter_needed.cast("string") == "Y").fill_null(False))
        for t in (b.table(name) for name in base.JUSTICE)])


@register(
    name="language_need",
    title="People seen by the justice agencies by first language, and people needing an interpreter",
    definition=(
        "People with a record of any justice agency (police custody, liaison & diversion, court, prison, "
        "probation) in the area and financial year, by their recorded first language where it is not English, "
        "and the people with a record that year saying an interpreter is needed; as counts and as a share of "
        "everyone seen."
    ),
    numerator="People whose most frequently recorded first language that year is the language (or with an "
              "interpreter needed on any record that year).",
    denominator="People with a record of any justice agency in the area and financial year.",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts. "
           "Area: the area of most of the person's justice records that year.",
    caveats=(
        "First language is recorded from standard 1.1; extracts that do not carry it count nobody, so a small "
        "count may be a recording gap (check the coverage page). English and unrecorded first languages are not "
        "listed. The provision gap analysis sets these counts beside the services offering each language. Shown for "
        "all people only: by ethnic group (first language and ethnic group go together) the counts would be almost "
        "all withheld small counts, and by sex they would cost the publication's disclosure control more than the "
        "gap analysis may add to it, for a breakdown the gap analysis does not read."
    ),
    source="Local measure for the language coverage of the provision gap analysis (no national definition). "
           "Languages are ISO 639 codes (the project's language code list).",
    keys=("language",),
    key_domains={"language": lambda: [r["code"] for r in codelist("language").rows if r["code"] != "en"]
                 + [INTERPRETER]},
    counts=(
        Count("seen", "people_seen_by_justice", keys=()),
        Count("people", "people_by_language:{language}", within="seen"),
    ),
    # All people only. Not by ethnic group: first language and ethnic group go together, so that breakdown
    # is almost all small counts, withheld, and protecting them cost more than every other language count
    # together (at 1,000,000 people, 14.7 s of one worker's disclosure control against 2.2 s by sex alone).
    # Not by sex: the gap analysis reads all people, and by sex cost 2.05 s of one worker's control against
    # 0.31 s without (61 programmes against 7), most of what the gap analysis added to a publish (issue 14).
    breakdowns=("all",),
    intersections=False,
    finish=lambda t: proportion(t, "people", "seen", "percent_of_seen"),
    columns=(
        Column("language", "First language", "language"),
        Column("people", "People", "count"),
        Column("seen", "People seen by the justice agencies", "count"),
        Column("percent_of_seen", "Of everyone seen (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def language_need(b: base.Base) -> dict[str, ibis.Table]:
    # Kept: the records are read three times (area, language, interpreter) and the area twice.
    rows = b.kept("language_need:rows", lambda: _languages(b))
    area = b.kept("language_need:area", lambda: base.most_frequent(rows, ["person_key", "year"], "area_code"))
    spoken = base.most_frequent(rows.filter(rows.first_language.notnull() & (rows.first_language != "")),
                                ["person_key", "year"], "first_language")
    main = spoken.filter(spoken.first_language != "en").select("person_key", "year", language=spoken.first_language)
    interpreter = rows.filter(rows.interpreter).select("person_key", "year").distinct().mutate(
        language=ibis.literal(INTERPRETER))
    people = ibis.union(main, interpreter).join(area, ["person_key", "year"])
    return {"seen": b.fine(area.select("person_key", "year", "area_code")),
            "people": b.fine(people.select("person_key", "year", "area_code", "language"), ("language",))}
