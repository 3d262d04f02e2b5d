"""From fine counts to cubes: every view of every count at once, in Arrow and NumPy.

A measure's fine counts (``triangulate.measures.base.FINE``) hold, for each financial year, area and
combination of demographics, how many people (or records, or episodes) there are. Because each
person-year sits in one area and one group of every breakdown, every view is a sum of fine counts:
this module adds each fine row into every (filter, group) cell it belongs to, then the area and year
totals. No engine is involved, so DuckDB and Spark give the same cubes from the same fine counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triangulate.measures.registry import Count, Measure
from triangulate.publish.dimensions import SOURCE, Dimensions, parent_group


@dataclass
class CountCubes:
    """One count of one measure: a cube per combination of the count's keys."""

    measure: str
    count: Count
    keys: tuple[str, ...]
    key_values: list[tuple[str, ...]]
    values: np.ndarray  # (keys, area, year, filter, group)
    exists: np.ndarray  # (area, year, filter, group)
    #: Each fine row's key, area, year, filter and group indices (for witnesses).
    rows: dict[str, np.ndarray] | None = None

    def witness(self, k: int, cell: tuple[int, int, int, int], dims: Dimensions) -> list[set[int]] | None:
        """The dimension values of one fine row inside ``cell`` of key ``k``: someone who is counted there."""
        if not self.rows:
            return None
        a, y, f, g = cell
        r = self.rows
        ok = (r["key"] == k) & (r["n"] > 0)
        if a:
            ok &= r["area"] == a
        if y:
            ok &= r["year"] == y
        if f:
            family = dims.filters[f][0]
            ok &= r[f"filter:{family}"] == f
        breakdown = dims.groups[g][0]
        if breakdown != "all":
            ok &= r[f"group:{breakdown}"] == g
        hits = np.flatnonzero(ok)
        if len(hits) == 0:
            return None
        i = hits[0]
        return [{int(r["area"][i])}, {int(r["year"][i])},
                {int(v[i]) for name, v in r.items() if name.startswith("filter:")},
                {int(v[i]) for name, v in r.items() if name.startswith("group:")}]


def _index(column: pa.ChunkedArray, values: tuple[str, ...], what: str) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(values)}
    raw = column.to_pylist()
    try:
        return np.fromiter((lookup[v] for v in raw), dtype=np.int64, count=len(raw))
    except KeyError as missing:
        raise ValueError(f"{what} {missing.args[0]!r} is not among the publication's values") from None


def build_cubes(measure: Measure, count: Count, fine: pa.Table, dims: Dimensions) -> CountCubes:
    """Every (area, year, filter, group) cell of ``count`` for each combination of its keys."""
    keys = measure.count_keys(count)
    exists = dims.exists(measure)
    if fine.num_rows:
        key_table = fine.select(list(keys)) if keys else None
        if keys:
            combos = key_table.group_by(list(keys)).aggregate([]).sort_by([(k, "ascending") for k in keys])
            key_values = list(zip(*(combos.column(k).to_pylist() for k in keys)))
        else:
            key_values = [()]
    else:
        key_values = []
    shape = dims.shape
    values = np.zeros((len(key_values), *shape), dtype=np.int64)
    if not key_values:
        return CountCubes(measure.name, count, keys, key_values, values, exists)
    n = fine.column("n").to_numpy(zero_copy_only=False).astype(np.int64)
    lookup = {k: i for i, k in enumerate(key_values)}
    if keys:
        raw = list(zip(*(fine.column(k).to_pylist() for k in keys)))
        ki = np.fromiter((lookup[k] for k in raw), dtype=np.int64, count=len(raw))
    else:
        ki = np.zeros(fine.num_rows, dtype=np.int64)
    ai = _index(fine.column("area_code"), dims.areas, "area")
    yi = _index(fine.column("year"), dims.years, "financial year")
    demographics = {c: fine.column(c) for c in set(SOURCE.values())}
    parents = parent_group()
    eth5 = pa.array([parents.get(v, v) for v in demographics["ethnic_group_19"].to_pylist()], pa.string())
    # The filter and group index of each fine row, per family.
    fidx, gidx = {}, {}
    for family in ("sex", "age_group", "ethnic_group_5"):
        column = eth5 if family == "ethnic_group_5" else demographics[SOURCE[family]]
        values_list = [dims.filters[i] for i in range(len(dims.filters))]
        lookup_f = {v: i for i, v in enumerate(values_list)}
        fidx[family] = np.fromiter((lookup_f[(family, v)] for v in column.to_pylist()), dtype=np.int64,
                                   count=fine.num_rows)
    for breakdown in ("ethnic_group_5", "ethnic_group_19", "sex", "age_group", "religion", "disability"):
        column = eth5 if breakdown == "ethnic_group_5" else demographics[SOURCE[breakdown]]
        gi = dims.group_index
        try:
            gidx[breakdown] = np.fromiter((gi[(breakdown, v)] for v in column.to_pylist()), dtype=np.int64,
                                          count=fine.num_rows)
        except KeyError as missing:
            raise ValueError(f"{breakdown} value {missing.args[0][1]!r} is not in the code lists") from None
    gidx["all"] = np.full(fine.num_rows, dims.group_index[("all", "All people")], dtype=np.int64)
    fidx["all"] = np.zeros(fine.num_rows, dtype=np.int64)
    flat = values.reshape(-1)
    # Every filter with every breakdown of the measure, published or not: the cells a view does not
    # show still add up in their lines, and a reader knows that (see disclosure.linked).
    for family, f in fidx.items():
        for breakdown in measure.breakdowns:
            g = gidx[breakdown]
            index = np.ravel_multi_index((ki, ai, yi, f, g), values.shape)
            np.add.at(flat, index, n)
    # Totals: all areas and the whole period are the sums of their members. Cells the publication
    # does not show are kept (a total still sums them) but never read.
    values[:, 0] = values[:, 1:].sum(axis=1)
    values[:, :, 0] = values[:, :, 1:].sum(axis=2)
    rows = {"key": ki, "area": ai, "year": yi, "n": n,
            **{f"filter:{fam}": v for fam, v in fidx.items() if fam != "all"},
            **{f"group:{b}": v for b, v in gidx.items() if b != "all"}}
    rows["group:all"] = gidx["all"]
    return CountCubes(measure.name, count, keys, key_values, values, exists, rows)


def cube_names(cubes: CountCubes) -> list[str]:
    """The quantity each key combination's cube counts (shared across measures)."""
    return [cubes.count.quantity_of(dict(zip(cubes.keys, k))) for k in cubes.key_values]


def is_empty(table: pa.Table) -> bool:
    return table.num_rows == 0 or pc.sum(table.column("n")).as_py() in (None, 0)
