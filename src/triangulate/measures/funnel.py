"""The liaison & diversion funnel: of the people L&D identified, how many went on to each step."""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa

from triangulate.measures import base
from triangulate.measures.registry import Column, Count, register
from triangulate.measures.tables import column, proportion, with_columns
from triangulate.standard import codelist

# Each step of the funnel and what, on one L&D record, shows it was reached. The funnel proper is
# nested: a record reaches a step only if it also shows every step before it (a referral with no
# recorded assessment is not a step-4 referral; it is counted on its own row).
_SCREENED = lambda t: t.screening_date.notnull()  # noqa: E731
_ASSESSED = lambda t: t.assessment_date.notnull()  # noqa: E731
_REFERRED = lambda t: t.referral_date.notnull()  # noqa: E731
_ENGAGED = lambda t: t.referral_engaged == "Y"  # noqa: E731
STEPS = {
    "1 identified": lambda t: t.record_key.notnull(),
    "2 screened": _SCREENED,
    "3 assessed": lambda t: _SCREENED(t) & _ASSESSED(t),
    "4 referred": lambda t: _SCREENED(t) & _ASSESSED(t) & _REFERRED(t),
    "5 engaged": lambda t: _SCREENED(t) & _ASSESSED(t) & _REFERRED(t) & _ENGAGED(t),
    # Outcomes (standard 1.2), each a share of the people assessed, as NHS England's service
    # specification names them: the assessment shared with the justice system's decision maker, and
    # diversion out of or within the system.
    "information shared": lambda t: _SCREENED(t) & _ASSESSED(t) & (t.information_shared == "Y"),
    "diverted out of the justice system": lambda t: _SCREENED(t) & _ASSESSED(t)
    & (t.diversion_outcome == "out_of_justice"),
    "diverted within the justice system": lambda t: _SCREENED(t) & _ASSESSED(t)
    & (t.diversion_outcome == "within_justice"),
    "referred without a recorded assessment": lambda t: _REFERRED(t) & ~_ASSESSED(t),
    "known to mental health services": lambda t: t.known_to_mental_health == "Y",
    "repeat attendee (2 or more L&D records)": None,
}
#: The steps of the funnel proper, in order: each a share of the one before as well as of those identified.
NESTED = ("1 identified", "2 screened", "3 assessed", "4 referred", "5 engaged")
#: The step each outcome row is a share of (its "step before").
OUTCOME_OF = {"information shared": "3 assessed", "diverted out of the justice system": "3 assessed",
              "diverted within the justice system": "3 assessed",
              "referred without a recorded assessment": "2 screened"}


def _finish(table: pa.Table) -> pa.Table:
    table = proportion(table, "people", "identified", "percent_of_identified")
    # Stage-to-stage conversion: each step of the funnel as a share of the step before, same view.
    keys = ["area", "year", "breakdown", "group", "ld_setting"]
    key_values = list(zip(*(table.column(k).to_pylist() for k in keys)))
    steps = table.column("step").to_pylist()
    people = column(table, "people")
    at = {(k, s): i for i, (k, s) in enumerate(zip(key_values, steps))}
    previous = np.full(table.num_rows, np.nan)
    for i, (k, s) in enumerate(zip(key_values, steps)):
        before = NESTED[NESTED.index(s) - 1] if s in NESTED[1:] else OUTCOME_OF.get(s)
        if before is not None:
            j = at.get((k, before))
            if j is not None:
                previous[i] = people[j]
    ok = ~np.isnan(people) & ~np.isnan(previous) & (previous > 0) & (people <= previous)
    return with_columns(table, {
        "percent_of_previous_step": np.where(ok, people / np.where(ok, previous, 1) * 100, np.nan),
    })


def _settings() -> list[str]:
    return [r["code"] for r in codelist("ld_setting").rows]


@register(
    name="ld_funnel",
    title="Liaison & diversion funnel by setting",
    definition=(
        "Of the people identified by liaison & diversion in each L&D setting (police custody, court, "
        "community) in the area and financial year, the people screened, then assessed, then referred on, then "
        "engaging with the referral (nested: each step on a record that shows every step before it, so each is a "
        "share of the step before); the outcomes for people assessed (information shared with the justice "
        "system, diverted out of it, diverted within it); people referred with no recorded assessment; the "
        "people already known to mental health services; and the repeat attendees (two or more L&D records in "
        "the year)."
    ),
    numerator="People with at least one L&D record in the setting that year showing the step (a date, or Y).",
    denominator="People with at least one L&D record in the setting that year (identified).",
    method="Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts.",
    caveats=(
        "A person reaches a step if any one of their L&D records in the setting that year shows it and every step "
        "before it. 'Engaged', 'information shared' and 'known to mental health services' count Y only; N and not "
        "known are both counted as not. The outcomes are fields of standard 1.2: extracts made to 1.0 or 1.1 "
        "have none, so a service that does not send them shows 0, not a low rate (check the data quality page)."
    ),
    source="NHS England Liaison and Diversion service specification and operating model (2019): identification, "
           "screening, assessment, referral, engagement; information shared with the justice system's decision "
           "makers and diversion out of and within it as the outcomes.",
    keys=("ld_setting", "step"),
    key_domains={"step": lambda: list(STEPS)},
    counts=(
        Count("identified", "ld:{ld_setting}:1 identified", keys=("ld_setting",)),
        Count("people", "ld:{ld_setting}:{step}", within="identified"),
    ),
    intersections=False,
    finish=_finish,
    columns=(
        Column("ld_setting", "L&D setting", "setting"),
        Column("step", "Step", "text"),
        Column("people", "People", "count"),
        Column("identified", "People identified", "count"),
        Column("percent_of_identified", "Of those identified (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
        Column("percent_of_previous_step", "Of the step before (%) (outcomes: of those assessed)", "percent"),
    ),
)
def ld_funnel(b: base.Base) -> dict[str, ibis.Table]:
    ld = b.table("liaison_diversion")
    per = ld.group_by(["person_key", "setting", "year"]).aggregate(
        records=ld.count(),
        **{f"s{i}": condition(ld).fill_null(False).cast("int64").max()
           for i, condition in enumerate(STEPS.values()) if condition is not None},
    )
    area = ld.group_by(["person_key", "setting", "year", "area_code"]).aggregate(
        times=ld.count(), latest=ld.event_date.max())
    area = area.mutate(rank=ibis.row_number().over(
        group_by=["person_key", "setting", "year"],
        order_by=[ibis.desc("times"), ibis.desc("latest"), ibis.asc("area_code")]))
    area = area.filter(area["rank"] == 0).select("person_key", "setting", "year", "area_code")
    per = per.join(area, ["person_key", "setting", "year"])
    parts = []
    for i, (step, condition) in enumerate(STEPS.items()):
        reached = per.filter(per.records >= 2) if condition is None else per.filter(per[f"s{i}"] == 1)
        parts.append(reached.select("person_key", "year", "area_code", ld_setting=reached.setting,
                                    step=ibis.literal(step)))
    identified = per.select("person_key", "year", "area_code", ld_setting=per.setting)
    return {"identified": b.fine(identified, ("ld_setting",)),
            "people": b.fine(ibis.union(*parts), ("ld_setting", "step"))}
