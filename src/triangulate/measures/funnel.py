"""The liaison & diversion funnel: of the people L&D identified, how many went on to each step."""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa
from ibis import _

from triangulate import stats
from triangulate.measures import base
from triangulate.measures.registry import Disclosure, register
from triangulate.measures.tables import column, sort, with_columns

# Each step of the funnel and what, on a person's L&D records, shows they reached it.
STEPS = {
    "1 identified": lambda t: t.record_key.notnull(),
    "2 screened": lambda t: t.screening_date.notnull(),
    "3 assessed": lambda t: t.assessment_date.notnull(),
    "4 referred": lambda t: t.referral_date.notnull(),
    "5 engaged": lambda t: t.referral_engaged == "Y",
    "known to mental health services": lambda t: t.known_to_mental_health == "Y",
    "repeat attendee (2 or more L&D records)": None,
}


def _finish(table: pa.Table) -> pa.Table:
    table = sort(table, ["ld_setting", "step"])
    identified = column(table, "identified")
    e = stats.proportion(column(table, "people"), np.maximum(identified, 1), multiplier=100)
    empty = identified == 0
    return with_columns(
        table,
        {
            "percent_of_identified": np.where(empty, np.nan, e.value),
            "lower_95": np.where(empty, np.nan, e.lower),
            "upper_95": np.where(empty, np.nan, e.upper),
        },
    )


_DERIVED = ("percent_of_identified", "lower_95", "upper_95")


@register(
    name="ld_funnel",
    title="Liaison & diversion funnel by setting",
    definition=(
        "Of the people identified by liaison & diversion in each L&D setting (police custody, "
        "court, community) in the area and period, the people screened, assessed, referred on and "
        "engaging with the referral; the people already known to mental health services; and the "
        "repeat attendees (two or more L&D records in the period)."
    ),
    numerator="People with at least one L&D record in the setting showing the step (a date, or Y).",
    denominator="People with at least one L&D record in the setting (identified).",
    method="Wilson score interval at 95% (triangulate.stats.proportion).",
    caveats=(
        "A person reaches a step if any of their L&D records in the setting shows it, so steps "
        "from different episodes can combine. 'Engaged' and 'known to mental health services' "
        "count Y only; N and not known are both counted as not."
    ),
    finish=_finish,
    disclosure=Disclosure(
        counts=("people", "identified"),
        dimensions=("step",),
        by=("ld_setting",),
        dependents={"people": _DERIVED, "identified": _DERIVED},
    ),
)
def ld_funnel(b: base.Bases) -> ibis.Table:
    ld = base.content(b.con, "liaison_diversion")
    kept = b.records.filter(b.records.setting == "liaison_diversion").select("record_key")
    ld = ld.semi_join(kept, "record_key")
    per_person = ld.group_by(["setting", "person_key"]).aggregate(
        records=_.count(),
        **{
            f"s{i}": condition(ld).fill_null(False).cast("int64").max()
            for i, condition in enumerate(STEPS.values())
            if condition is not None
        },
    )
    identified = per_person.group_by("setting").aggregate(identified=_.count())
    parts = []
    for i, (step, condition) in enumerate(STEPS.items()):
        reached = per_person.records >= 2 if condition is None else per_person[f"s{i}"] == 1
        counted = per_person.group_by("setting").aggregate(people=reached.cast("int64").sum().fill_null(0))
        parts.append(
            counted.join(identified, "setting").select(
                ld_setting=counted.setting,
                step=ibis.literal(step),
                people=counted.people.cast("int64"),
                identified=identified.identified.cast("int64"),
            )
        )
    return ibis.union(*parts)
