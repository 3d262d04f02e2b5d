"""Needs: how common each need is among the people seen in each setting, by demographic group."""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa

from triangulate import stats
from triangulate.measures import base
from triangulate.measures.registry import BREAKDOWNS, Column, Count, register
from triangulate.measures.tables import benchmarks, column, proportion, with_columns, year_end
from triangulate.standard import AGENCY_TABLES


#: Settings whose prevalence is not compared with a general-population benchmark.
NOT_BENCHMARKED = ("mental_health",)


def _finish(table: pa.Table) -> pa.Table:
    table = proportion(table, "people_with_need", "people", "prevalence_percent")
    marks = benchmarks()
    codes = table.column("need_code").to_pylist()
    settings = table.column("setting").to_pylist()
    # General-population benchmarks are comparable with people in contact with justice agencies, not with
    # people in mental health services (who are there because of a need: the comparison would be circular).
    bench = np.array([float(marks[c]["benchmark_percent"]) if c in marks and s not in NOT_BENCHMARKED else np.nan
                      for c, s in zip(codes, settings, strict=True)])
    compared = stats.compare_to_benchmark(column(table, "lower_95"), column(table, "upper_95"), bench)
    return with_columns(table, {
        "benchmark_percent": bench,
        "compared_with_benchmark": [None if np.isnan(b) else str(c) for b, c in zip(bench, compared, strict=True)],
        "benchmark_source": [f"{marks[c]['source']} ({marks[c]['year']})" if c in marks and s not in NOT_BENCHMARKED
                             else None for c, s in zip(codes, settings, strict=True)],
    })


@register(
    name="need_prevalence",
    title="Prevalence of each need among people seen in each setting",
    definition=(
        "Of the people with at least one record in a setting (agency table) in the area and financial year, "
        "the share with the need recorded against any of their records by any agency, identified by the "
        "year's end, by 5 and 19 ethnic groups, sex, age group, religion, disability and first language "
        "(English or another; each one way)."
    ),
    numerator="People seen in the setting with the need recorded (by any agency, identified by the year's end).",
    denominator="People seen in the setting in the area and financial year (distinct linked persons).",
    method=(
        "Wilson score interval at 95% (triangulate.stats.proportion), from the published (rounded) counts; "
        "compared with a published general-population prevalence where one exists (data/benchmarks.csv) by "
        "Fingertips' rule (higher, similar or lower)."
    ),
    caveats=(
        "A need counts only if recorded: agencies that screen (L&D, prison reception) record more. "
        "Benchmarks are household surveys (APMS 2014; the 2000 psychiatric morbidity survey for psychosis) that "
        "find disorder by interview, not need recorded by an agency, in other years, and are not age-standardised; "
        "they are compared only for the justice settings (people in mental health services are there because of "
        "a need). 'anxiety_or_depression' is either need, the category the 17% benchmark (common mental "
        "disorder) describes. "
        "Demographics are resolved per person (docs/measures.md); 'Not known' is shown, not dropped. "
        "The whole period pools the financial years: a person seen in three years counts three times."
    ),
    source="Local indicator (no national definition): prevalence of recorded need, as in offender health needs "
           "assessments.",
    keys=("setting", "need_code"),
    key_domains={"need_code": base.need_codes},
    counts=(
        Count("people", "people_at:{setting}", keys=("setting",)),
        Count("people_with_need", "people_with_need:{setting}:{need_code}", within="people"),
    ),
    breakdowns=BREAKDOWNS,
    finish=_finish,
    columns=(
        Column("setting", "Setting", "setting"),
        Column("need_code", "Need", "need"),
        Column("people_with_need", "People with the need", "count"),
        Column("people", "People seen", "count"),
        Column("prevalence_percent", "Prevalence (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
        Column("benchmark_percent", "General population (%)", "reference"),
        Column("compared_with_benchmark", "Compared with the general population", "marker"),
        Column("benchmark_source", "Source of the comparison", "text"),
    ),
)
def need_prevalence(b: base.Base) -> dict[str, ibis.Table]:
    seen = b.presence
    needs = b.needs
    with_need = seen.join(needs, "person_key")
    with_need = with_need.filter(with_need.identified_date.isnull()
                                 | (with_need.identified_date <= year_end(with_need.year)))
    return {
        "people": b.fine(seen, ("setting",)),
        "people_with_need": b.fine(with_need.select("person_key", "year", "area_code", "setting", "need_code"),
                                   ("setting", "need_code")),
    }


#: Settings of need prevalence, in pathway order (every agency table).
SETTINGS = AGENCY_TABLES
