"""Run every registered measure over a store and write what may be published.

Checks come first (a store not linked, an unknown area, an empty period, a population that does
not cover the areas) so that bad input gets a sentence saying what to do, never a table of zeros
that reads like a finding. Every table then goes through ``triangulate.disclosure`` unless the
caller explicitly asks for unsuppressed output, which the metadata records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from triangulate import __version__
from triangulate.disclosure import NHS_ENGLAND, DisclosureRule, apply_disclosure_control
from triangulate.measures import base
from triangulate.measures.engine import connect
from triangulate.measures.errors import MeasuresError
from triangulate.measures.registry import Measure, measures
from triangulate.standard import AGENCY_TABLES, schema

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class MeasuresReport:
    out_dir: Path
    files: dict[str, Path]
    metadata_file: Path
    rows: dict[str, int]
    unsuppressed: bool
    population_year: int | None
    notes: tuple[str, ...] = field(default_factory=tuple)


def check_store(con: ibis.BaseBackend, filters: base.Filters) -> dict:
    """Refuse input the measures cannot answer; return the data's coverage for the metadata."""
    per_table = {}
    for table in AGENCY_TABLES:
        t = base.content(con, table)
        event = t[schema(table).event_date]
        per_table[table] = t.aggregate(
            records=t.count(),
            linked=t.person_key.notnull().sum(),
            first_event=event.min(),
            last_event=event.max(),
        ).to_pyarrow().to_pylist()[0]
    if not any(row["linked"] for row in per_table.values()):
        raise MeasuresError(
            "The store has not been linked: no record has a person key, so nobody can be counted. "
            "Run linkage (`triangulate link`) on the store first, then the measures."
        )
    known_areas = set()
    for table in AGENCY_TABLES:
        t = base.content(con, table)
        known_areas |= set(t.select("area_code").distinct().to_pyarrow().column(0).to_pylist())
    pop = base.content(con, "population")
    years = sorted(pop.select("year").distinct().to_pyarrow().column(0).to_pylist())
    known_areas.discard(None)
    if filters.areas is not None:
        unknown = sorted(set(filters.areas) - known_areas)
        if unknown:
            raise MeasuresError(
                f"Unknown area code {', '.join(unknown)}: the store has records for "
                f"{', '.join(sorted(known_areas))}. Check the code (ONS, e.g. E09000032)."
            )
    if filters.period is not None:
        start, end = filters.period
        inside = sum(
            base.content(con, t).filter(
                base.content(con, t)[schema(t).event_date].between(start, end)
                & (base.content(con, t).area_code.isin(filters.areas) if filters.areas else True)
            ).count().to_pyarrow().as_py()
            for t in AGENCY_TABLES
        )
        if inside == 0:
            firsts = [r["first_event"] for r in per_table.values() if r["first_event"]]
            lasts = [r["last_event"] for r in per_table.values() if r["last_event"]]
            raise MeasuresError(
                f"No records in the period {start} to {end}"
                + (" for the areas asked for" if filters.areas else "")
                + f": the store's events run from {min(firsts)} to {max(lasts)}. Choose a period inside it."
            )
    population_year = _population_year(years, filters)
    areas = sorted(filters.areas) if filters.areas is not None else sorted(known_areas)
    covered = set(
        pop.filter(pop.year == population_year).select("area_code").distinct().to_pyarrow().column(0).to_pylist()
    ) if population_year is not None else set()
    missing = [a for a in areas if a not in covered]
    if missing:
        raise MeasuresError(
            f"The population table does not cover area {', '.join(missing)}"
            + (f" in {population_year}" if population_year else " (it is empty)")
            + ": load residents by area, ethnic group, sex and age band for it "
            "(`triangulate ingest` a population file), or leave the area out."
        )
    return {
        "tables": {
            t: {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}
            for t, row in per_table.items()
        },
        "areas": areas,
        "population_years": years,
        "population_year_used": population_year,
    }


def _population_year(years: list[int], filters: base.Filters) -> int | None:
    # The latest population at or before the period's end; the earliest one if all are later.
    if not years:
        return None
    if filters.period is None:
        return years[-1]
    before = [y for y in years if y <= filters.period[1].year]
    return before[-1] if before else years[0]


def run_measure(
    measure: Measure, bases: base.Bases, *, population_year: int | None = None
) -> pa.Table:
    """One measure's full (unsuppressed) table: counts from Ibis, intervals from stats."""
    options = {"population_year": population_year} if measure.name == "disproportionality" else {}
    return measure.finish(measure.build(bases, **options).to_pyarrow())


def _rounded(table: pa.Table, decimals: int = 4) -> pa.Table:
    # Sixteen digits of a percentage are noise to a reader; four decimals keep RRIs and rates.
    for i, f in enumerate(table.schema):
        if pa.types.is_floating(f.type):
            table = table.set_column(i, f.name, pc.round(table.column(i), decimals))
    return table


def publish(measure: Measure, table: pa.Table, rule: DisclosureRule) -> pa.Table:
    """The measure's table after disclosure control, controlled columns as displayed text."""
    d = measure.disclosure
    published = apply_disclosure_control(
        table,
        counts=list(d.counts),
        dimensions=list(d.dimensions),
        by=list(d.by),
        dependents={k: list(v) for k, v in d.dependents.items()},
        rule=rule,
    )
    return published.for_display()


def write_measures(
    store: str | Path,
    out_dir: str | Path,
    *,
    area: str | Sequence[str] | None = None,
    period: str | tuple | None = None,
    demographics: Mapping[str, str | Sequence[str]] | None = None,
    engine: str = "duckdb",
    unsuppressed: bool = False,
    rule: DisclosureRule = NHS_ENGLAND,
    progress: Progress | None = None,
) -> MeasuresReport:
    """Write every registered measure as a CSV under ``out_dir``, plus ``metadata.json``.

    Every table is disclosure controlled under ``rule`` unless ``unsuppressed`` is true (then the
    metadata says so). Raises :class:`MeasuresError` for input that cannot be measured.
    """
    filters = base.Filters.of(area, period, demographics)
    con = connect(store, engine)
    coverage = check_store(con, filters)
    population_year = coverage["population_year_used"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bases = base.Bases(con, filters)
    files, rows = {}, {}
    registered = measures()
    for i, measure in enumerate(registered):
        if progress:
            progress(measure.name, i, len(registered))
        table = run_measure(measure, bases, population_year=population_year)
        table = _rounded(table)
        if not unsuppressed:
            table = publish(measure, table, rule)
        path = out / f"{measure.name}.csv"
        pacsv.write_csv(table, path)
        files[measure.name], rows[measure.name] = path, table.num_rows
    if progress:
        progress("done", len(registered), len(registered))
    notes = []
    if set(filters.demographics) - {"sex", "age_band"}:
        notes.append(
            "Population-based decision points are left out of disproportionality: the population "
            "is not broken down by the demographics filtered on."
        )
    metadata = {
        "triangulate_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "engine": engine,
        "filters": {
            "area": list(filters.areas) if filters.areas is not None else None,
            "period": [d.isoformat() for d in filters.period] if filters.period else None,
            "demographics": {k: list(v) for k, v in filters.demographics.items()},
        },
        "unsuppressed": unsuppressed,
        "disclosure_rule": None if unsuppressed else {
            "name": rule.name,
            "description": rule.description,
            "suppress_below": rule.suppress_below,
            "rounding_base": rule.rounding_base,
            "publish_zero": rule.publish_zero,
            "suppressed_symbol": rule.suppressed_symbol,
            "source": rule.source,
        },
        "coverage": coverage,
        "notes": notes,
        "measures": [
            {
                "name": m.name,
                "file": files[m.name].name,
                "title": m.title,
                "definition": m.definition,
                "numerator": m.numerator,
                "denominator": m.denominator,
                "method": m.method,
                "caveats": m.caveats,
                "rows": rows[m.name],
            }
            for m in registered
        ],
    }
    metadata_file = out / "metadata.json"
    metadata_file.write_text(json.dumps(metadata, indent=2, default=str), encoding="utf-8")
    return MeasuresReport(out, files, metadata_file, rows, unsuppressed, population_year, tuple(notes))
