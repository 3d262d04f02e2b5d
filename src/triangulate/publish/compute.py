"""Compute a publication: every measure in every view, controlled as one whole, derived figures last.

The steps, each done once per publication:

1. the person-level base is built once in the engine and every measure's fine counts are read out
   (``triangulate.measures``);
2. the fine counts become cubes over area, year and group (``cube.py``), one per quantity:
   a quantity counted by two measures is one cube, checked to agree;
3. the cubes are protected together (``triangulate.disclosure.linked``): primary suppression, a
   certificate for every suppressed cell, rounding;
4. each measure's table is assembled from the controlled cubes, and its derived figures (proportions,
   intervals, ratios) are computed from the published counts by the measure's ``finish``, then shown
   at the precision its column kind is published at.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triangulate.disclosure import DisclosureRule
from triangulate.disclosure.linked import ABSENT, PUBLISHED, ZERO, Cube, ProtectionReport, protect
from triangulate.measures import Base, Measure, MeasuresError, connect, measures
from triangulate.publish.cube import CountCubes, build_cubes, cube_names
from triangulate.publish.dimensions import Dimensions

Progress = Callable[[str, int, int], None]
#: Decimal places each kind of derived figure is published at.
PRECISION = {"percent": 1, "ratio": 2, "rate": 1, "score": 1}


@dataclass
class Computed:
    dimensions: Dimensions
    tables: dict[str, pa.Table]
    protection: ProtectionReport | None
    cubes: dict[str, Cube]
    timings: dict[str, float] = field(default_factory=dict)
    #: The fine counts of the measures in ``KEEP_FINE``, for derived tables that need the combinations the
    #: publication does not show (the survey's weights rake to sex, age and ethnic group together).
    fine: dict[str, dict[str, pa.Table]] = field(default_factory=dict)


#: Measures whose fine counts ``Computed`` keeps (the others are dropped once their cubes are made).
KEEP_FINE = ("survey_experience",)


def fine_counts(store, engine: str = "duckdb", progress: Progress | None = None,
                years: list[str] | None = None) -> dict[str, dict[str, pa.Table]]:
    """Every registered measure's fine counts, read out of the engine as Arrow. ``years``, if given, are
    checked against the years of the records before any count is made (``only_years`` keeps them)."""
    con = connect(store, engine)
    b = Base(con)
    try:
        _check_linked(b)
        missing = [y for y in years or () if y not in b.dated_years]
        if missing:
            raise _no_records(missing, b.dated_years)
        registered = measures()
        out = {}
        for i, m in enumerate(registered):
            if progress:
                progress(f"Fine counts: {m.name}", i, len(registered))
            out[m.name] = {name: expr.to_pyarrow() for name, expr in m.build(b).items()}
        if progress:
            progress("Fine counts: done", len(registered), len(registered))
        return out
    finally:
        b.release()  # on a refusal too: a cached table dropped after its connection closes prints a traceback
        _close(con)


def _close(con) -> None:
    spark = getattr(con, "_session", None)
    try:
        con.disconnect()
    except Exception:  # noqa: BLE001 - closing is best effort
        pass
    if spark is not None:
        spark.stop()


def _check_linked(b: Base) -> None:
    if b.records.count().to_pyarrow().as_py() == 0:
        raise MeasuresError(
            "The store has not been linked: no record has a person key, so nobody can be counted. Run linkage "
            "(`triangulate link`) on the store first, then publish."
        )


def gather_cubes(fine: dict[str, dict[str, pa.Table]], dims: Dimensions) -> tuple[dict[str, Cube], dict]:
    """One cube per quantity, merged across the measures that count it; and each count's cubes."""
    by_measure = {m.name: m for m in measures()}
    cubes: dict[str, Cube] = {}
    per_count: dict[tuple[str, str], tuple[CountCubes, list[str]]] = {}
    withins: dict[str, str] = {}
    for name, counts in fine.items():
        m = by_measure[name]
        for count in m.counts:
            made = build_cubes(m, count, counts[count.name], dims)
            names = cube_names(made)
            per_count[(name, count.name)] = (made, names)
            for k, (q, keys) in enumerate(zip(names, made.key_values)):
                key_map = dict(zip(made.keys, keys))
                controlled = count.controlled_of(key_map)
                within = count.within_of(key_map)
                if within:
                    parent = m.count(within)
                    parent_keys = {k2: key_map[k2] for k2 in m.count_keys(parent)}
                    withins[q] = parent.quantity_of(parent_keys)
                values = made.values[k]
                if q in cubes:
                    old = cubes[q]
                    both = old.exists & made.exists
                    if np.any((old.values != values) & both):
                        raise MeasuresError(f"Two measures count {q!r} differently: a definition bug to report.")
                    merged = np.where(made.exists, values, old.values)
                    cubes[q] = Cube(q, merged, old.exists | made.exists, old.controlled and controlled,
                                    witness=old.witness)
                else:
                    cubes[q] = Cube(q, values.copy(), made.exists.copy(), controlled,
                                    witness=lambda cell, made=made, k=k: made.witness(k, cell, dims))
    # Each view's total (all people), and each pooled period's, is hidden only when nothing else will do:
    # a pooled period not guarded so was hidden beside three shown years (and its percentages with it),
    # which shows nothing the years do not and leaves the trend of a small area empty.
    everyone = dims.group_index[("all", "All people")]
    for cube in cubes.values():
        cube.precious = np.zeros(cube.values.shape, dtype=bool)
        cube.precious[:, :, everyone] = True
    for q, parent in withins.items():
        if q != parent and q in cubes and parent in cubes and cubes[q].controlled and cubes[parent].controlled:
            cubes[q].within = parent
    return cubes, per_count


def _dimensions(fine: dict[str, dict[str, pa.Table]], pooled: bool = True) -> Dimensions:
    areas, years = set(), set()
    for counts in fine.values():
        for t in counts.values():
            if t.num_rows:
                areas |= set(pc.unique(t.column("area_code")).to_pylist())
                years |= set(pc.unique(t.column("year")).to_pylist())
    return Dimensions.of(areas, years, pooled=pooled)


def compute_publication(store, *, rule: DisclosureRule | None, engine: str = "duckdb",
                        progress: Progress | None = None, years: list[str] | None = None,
                        pooled: bool = True) -> Computed:
    """Every measure in every view; ``rule=None`` makes the unsuppressed (analysts') publication.

    ``pooled`` adds the periods of three financial years (``Dimensions.pooled``) for all people; on the
    1,000,000-person publication they cost about 70 s of control (129 s to 199 s).

    ``years`` keeps those financial years only (a publication for a period, e.g. an assessment of the
    last two years); by default every year in the data. The whole period is then the sum of those.
    """
    timings = {}
    started = time.perf_counter()
    fine = fine_counts(store, engine, progress, years=years)
    if years:
        fine = only_years(fine, years)
    timings["fine counts"] = time.perf_counter() - started
    return compute_from_fine(fine, rule=rule, progress=progress, timings=timings, pooled=pooled)


def _no_records(missing: list[str], present) -> MeasuresError:
    return MeasuresError(f"No records in financial year {', '.join(missing)}: the store has "
                         f"{', '.join(sorted(y for y in present if y))}. Give years as YYYY/YY.")


def only_years(fine: dict[str, dict[str, pa.Table]], years: list[str]) -> dict[str, dict[str, pa.Table]]:
    """The fine counts of the financial years asked for; ``MeasuresError`` naming any the data lacks."""
    present = set()
    for counts in fine.values():
        for t in counts.values():
            present |= set(pc.unique(t.column("year")).to_pylist())
    missing = [y for y in years if y not in present]
    if missing:
        raise _no_records(missing, present)
    wanted = pa.array(list(years), pa.string())
    return {name: {c: t.filter(pc.is_in(t.column("year"), wanted)) for c, t in counts.items()}
            for name, counts in fine.items()}


def compute_from_fine(fine, *, rule: DisclosureRule | None, progress: Progress | None = None,
                      timings: dict | None = None, pooled: bool = True) -> Computed:
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    dims = _dimensions(fine, pooled)
    cubes, per_count = gather_cubes(fine, dims)
    timings["cubes"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = None
    if rule is not None:
        report = protect(dims.disclosure_dimensions(), cubes, rule, progress=progress)
    timings["disclosure control"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tables = {}
    registered = measures()
    for i, m in enumerate(registered):
        if progress:
            progress(f"Tables: {m.name}", i, len(registered))
        tables[m.name] = measure_table(m, dims, cubes, per_count, report)
    timings["tables"] = time.perf_counter() - t0
    return Computed(dims, tables, report, cubes, timings, {n: fine[n] for n in KEEP_FINE if n in fine})


def _shown(q: str, cubes: dict[str, Cube], report: ProtectionReport | None):
    """(values a reader sees, hidden mask) of quantity ``q``'s cube."""
    if report is None:
        cube = cubes[q]
        return cube.values, np.zeros(cube.values.shape, dtype=bool)
    p = report.cubes[q]
    hidden = ~((p.status == PUBLISHED) | (p.status == ZERO) | (p.status == ABSENT))
    return p.shown, hidden


def measure_table(m: Measure, dims: Dimensions, cubes: dict[str, Cube], per_count, report) -> pa.Table:
    """The measure's published rows: one per view, key combination and group where there is anyone."""
    grid_count = min(m.counts, key=lambda c: len(m.count_keys(c)))
    grid, grid_names = per_count[(m.name, grid_count.name)]
    exists = dims.exists(m)
    other_keys = [k for k in m.keys if k not in grid.keys]
    domains = [m.key_domains[k]() if k in m.key_domains else None for k in other_keys]
    if any(d is None for d in domains):
        raise MeasuresError(f"Measure {m.name}: keys {other_keys} need domains to lay out the rows")
    columns: dict[str, list] = {c: [] for c in ("area", "year", "breakdown", "group")}
    for k in m.keys:
        columns[k] = []
    counts: dict[str, list[np.ndarray]] = {c.name: [] for c in m.counts}
    breakdown_names = np.array([b for b, _ in dims.groups], dtype=object)
    group_names = np.array([g for _, g in dims.groups], dtype=object)
    for k, keys in enumerate(grid.key_values):
        values = grid.values[k]
        a, y, g = np.nonzero((values > 0) & exists)
        if len(a) == 0:
            continue
        grid_keys = dict(zip(grid.keys, keys))
        for extra in itertools.product(*domains) if domains else [()]:
            key_map = {**grid_keys, **dict(zip(other_keys, extra))}
            columns["area"].append(np.asarray(dims.areas, dtype=object)[a])
            columns["year"].append(np.asarray(dims.periods, dtype=object)[y])
            columns["breakdown"].append(breakdown_names[g])
            columns["group"].append(group_names[g])
            for key in m.keys:
                columns[key].append(np.full(len(a), key_map[key], dtype=object))
            for count in m.counts:
                q = count.quantity_of({kk: key_map[kk] for kk in m.count_keys(count)})
                if q not in cubes:
                    counts[count.name].append(np.zeros(len(a)))
                    continue
                shown, hidden = _shown(q, cubes, report)
                v = shown[a, y, g].astype(float)
                v[hidden[a, y, g]] = np.nan
                counts[count.name].append(v)
    data = {name: pa.array(np.concatenate(parts) if parts else np.array([], dtype=object), pa.string())
            for name, parts in columns.items()}
    for name, parts in counts.items():
        v = np.concatenate(parts) if parts else np.array([], dtype=float)
        data[name] = pa.array(v, pa.float64(), from_pandas=True).cast(pa.int64())
    table = m.finish(pa.table(data))
    table = table.drop_columns([c.name for c in m.counts if not c.published and c.name in table.column_names])
    return _at_precision(m, table)


def _at_precision(m: Measure, table: pa.Table) -> pa.Table:
    for column in m.columns:
        digits = PRECISION.get(column.kind)
        if digits is not None and column.name in table.column_names:
            i = table.column_names.index(column.name)
            table = table.set_column(i, column.name, pc.round(table.column(i).cast(pa.float64()), digits))
    return table
