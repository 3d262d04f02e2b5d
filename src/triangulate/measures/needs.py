"""Needs: how common each need is among the people seen in each setting, by demographic group."""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa

from triangulate import stats
from triangulate.measures import base
from triangulate.measures.registry import Disclosure, register
from triangulate.measures.tables import benchmarks, column, sort, with_columns

BREAKDOWNS = ("all", "ethnic_group_5", "ethnic_group_19", "sex", "age_band", "religion", "disability")
NOT_KNOWN = "Not known"
ALL_PEOPLE = "All people"


def people_in_settings(b: base.Bases) -> ibis.Table:
    """One row per person per setting they were seen in, with their demographics."""
    return b.contacts.select("person_key", "setting").join(b.people, "person_key")


def _group(t: ibis.Table, breakdown: str) -> ibis.Value:
    if breakdown == "all":
        return ibis.literal(ALL_PEOPLE)
    return t[breakdown].cast("string").fill_null(NOT_KNOWN)


def _finish(table: pa.Table) -> pa.Table:
    table = sort(table, ["setting", "need_code", "breakdown", "group"])
    estimate = stats.proportion(
        column(table, "people_with_need"), np.maximum(column(table, "people"), 1), multiplier=100
    )
    empty = column(table, "people") == 0
    value = np.where(empty, np.nan, estimate.value)
    lower = np.where(empty, np.nan, estimate.lower)
    upper = np.where(empty, np.nan, estimate.upper)
    marks = benchmarks()
    codes = table.column("need_code").to_pylist()
    bench = np.array(
        [float(marks[c]["benchmark_percent"]) if c in marks else np.nan for c in codes]
    )
    compared = stats.compare_to_benchmark(lower, upper, bench)
    return with_columns(
        table,
        {
            "prevalence_percent": value,
            "lower_95": lower,
            "upper_95": upper,
            "benchmark_percent": bench,
            "compared_with_benchmark": [
                None if np.isnan(b) else str(c) for b, c in zip(bench, compared, strict=True)
            ],
            "benchmark_source": [
                f"{marks[c]['source']} ({marks[c]['year']})" if c in marks else None for c in codes
            ],
        },
    )


_DERIVED = ("prevalence_percent", "lower_95", "upper_95", "compared_with_benchmark")


@register(
    name="need_prevalence",
    title="Prevalence of each need among people seen in each setting",
    definition=(
        "Of the people with at least one record in a setting (agency table) in the area and "
        "period, the share with the need recorded against any of their records by any agency, "
        "by 5 and 19 ethnic groups, sex, age band, religion and disability (each one way)."
    ),
    numerator="People seen in the setting with the need recorded (by any agency, identified by the period's end).",
    denominator="People seen in the setting in the area and period (distinct linked persons).",
    method=(
        "Wilson score interval at 95% (triangulate.stats.proportion); compared with a published "
        "general-population prevalence where one exists (data/benchmarks.csv) by Fingertips' rule "
        "(compare_to_benchmark: higher, similar or lower)."
    ),
    caveats=(
        "A need counts only if recorded: agencies that screen (L&D, prison reception) record more. "
        "Benchmarks come from other populations and years and are not age-standardised. "
        "'anxiety_or_depression' is either need, the category the 15% benchmark describes. "
        "Demographics are resolved per person (docs/measures.md); 'Not known' is shown, not dropped."
    ),
    finish=_finish,
    disclosure=Disclosure(
        counts=("people_with_need", "people"),
        dimensions=("group",),
        by=("setting", "need_code", "breakdown"),
        dependents={"people_with_need": _DERIVED, "people": _DERIVED},
    ),
)
def need_prevalence(b: base.Bases) -> ibis.Table:
    seen = people_in_settings(b)
    person_needs = b.needs
    codes = ibis.memtable(pa.table({"need_code": base.need_codes()}))
    parts = []
    for breakdown in BREAKDOWNS:
        grouped = seen.select("person_key", "setting", group=_group(seen, breakdown))
        denominators = grouped.group_by(["setting", "group"]).aggregate(people=grouped.count())
        with_need = grouped.join(person_needs, "person_key")
        numerators = with_need.group_by(["setting", "need_code", "group"]).aggregate(
            people_with_need=with_need.count()
        )
        grid = denominators.cross_join(codes)
        joined = grid.left_join(numerators, ["setting", "need_code", "group"])
        parts.append(
            joined.select(
                setting=grid.setting,
                need_code=grid.need_code,
                breakdown=ibis.literal(breakdown),
                group=grid.group,
                people_with_need=numerators.people_with_need.fill_null(0).cast("int64"),
                people=grid.people.cast("int64"),
            )
        )
    return ibis.union(*parts)


#: Two-way intersections: each protected characteristic with ethnicity, and sex with age.
INTERSECTIONS = (
    ("ethnic_group_5", "sex"),
    ("ethnic_group_5", "age_band"),
    ("ethnic_group_5", "religion"),
    ("ethnic_group_5", "disability"),
    ("sex", "age_band"),
)


def _intersections_finish(table: pa.Table) -> pa.Table:
    table = sort(table, ["setting", "need_code", "breakdown", "group_1", "group_2"])
    estimate = stats.proportion(
        column(table, "people_with_need"), np.maximum(column(table, "people"), 1), multiplier=100
    )
    empty = column(table, "people") == 0
    return with_columns(table, {
        "prevalence_percent": np.where(empty, np.nan, estimate.value),
        "lower_95": np.where(empty, np.nan, estimate.lower),
        "upper_95": np.where(empty, np.nan, estimate.upper),
    })


_INTERSECTION_DERIVED = ("prevalence_percent", "lower_95", "upper_95")


@register(
    name="need_intersections",
    title="Prevalence of each need by two characteristics at once (intersections)",
    definition=(
        "As need_prevalence, for the two-way intersections of ethnic group (5 groups) with sex, age "
        "band, religion and disability, and of sex with age band: for example Black women, or White "
        "men aged 18-24, seen in each setting, and the share with each need."
    ),
    numerator="People seen in the setting in both groups with the need recorded (by any agency).",
    denominator="People seen in the setting in the area and period in both groups.",
    method="Wilson score interval at 95% (triangulate.stats.proportion).",
    caveats=(
        "Intersections make small cells: many are suppressed under the disclosure rule, and the "
        "intervals of the rest are wide. Read them for large differences, not for ranking. Groups "
        "follow the person-level resolution (docs/measures.md); 'Not known' is kept."
    ),
    finish=_intersections_finish,
    disclosure=Disclosure(
        counts=("people_with_need", "people"),
        dimensions=("group_2",),
        by=("setting", "need_code", "breakdown", "group_1"),
        dependents={"people_with_need": _INTERSECTION_DERIVED, "people": _INTERSECTION_DERIVED},
    ),
)
def need_intersections(b: base.Bases) -> ibis.Table:
    seen = people_in_settings(b)
    person_needs = b.needs
    codes = ibis.memtable(pa.table({"need_code": base.need_codes()}))
    parts = []
    for first, second in INTERSECTIONS:
        grouped = seen.select("person_key", "setting", group_1=_group(seen, first), group_2=_group(seen, second))
        keys = ["setting", "group_1", "group_2"]
        denominators = grouped.group_by(keys).aggregate(people=grouped.count())
        with_need = grouped.join(person_needs, "person_key")
        numerators = with_need.group_by([*keys, "need_code"]).aggregate(people_with_need=with_need.count())
        grid = denominators.cross_join(codes)
        joined = grid.left_join(numerators, [*keys, "need_code"])
        parts.append(joined.select(
            setting=grid.setting, need_code=grid.need_code, breakdown=ibis.literal(f"{first} x {second}"),
            group_1=grid.group_1, group_2=grid.group_2,
            people_with_need=numerators.people_with_need.fill_null(0).cast("int64"),
            people=grid.people.cast("int64"),
        ))
    return ibis.union(*parts)
