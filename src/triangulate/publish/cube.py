"""From fine counts to cubes: every view of every count at once, in Arrow and NumPy.

A measure's fine counts (``triangulate.measures.base.FINE``) hold, for each financial year, area and
combination of demographics, how many people (or records, or episodes) there are. Because each
person-year sits in one area and one group of every breakdown, every view is a sum of fine counts:
this module adds each fine row into every group it belongs to (one-way and two-way), then the area
and year totals. No engine is involved, so DuckDB and Spark give the same cubes from the same fine
counts. Cells the publication will not show are filled too: they add up in their lines, and the
disclosure control needs their true values (``triangulate.disclosure.linked``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triangulate.measures.registry import CROSSINGS, Count, Measure
from triangulate.publish.dimensions import SOURCE, Dimensions, cross_value, crossing, group_values, parent_group


@dataclass
class CountCubes:
    """One count of one measure: a cube per combination of the count's keys."""

    measure: str
    count: Count
    keys: tuple[str, ...]
    key_values: list[tuple[str, ...]]
    values: np.ndarray  # (keys, area, year, group)
    exists: np.ndarray  # (area, year, group)
    #: Each fine row's key, area, year and group indices (for witnesses).
    rows: dict[str, np.ndarray] | None = None

    def witness(self, k: int, cell: tuple[int, int, int], dims: Dimensions) -> list[set[int]] | None:
        """The dimension values of one fine row inside ``cell`` of key ``k``: someone counted there."""
        if not self.rows:
            return None
        area, year, groups = self._rows_of(k)
        a, y, g = cell
        ok = (groups == g).any(axis=1)
        if a:
            ok &= area == a
        if y >= len(dims.years):  # a pooled period: someone in one of its years
            ok &= np.isin(year, dict(dims.pooled_members())[y])
        elif y:
            ok &= year == y
        hits = np.flatnonzero(ok)
        if len(hits) == 0:
            return None
        i = hits[0]
        return [{int(area[i])}, {int(year[i])}, {int(v) for v in groups[i]}]

    def _rows_of(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Key ``k``'s fine rows with anyone in them (area, year, groups a row is in), made once per key."""
        cache = self.__dict__.setdefault("_by_key", {})
        if k not in cache:
            r = self.rows
            which = np.flatnonzero((r["key"] == k) & (r["n"] > 0))
            groups = np.stack([v[which] for name, v in r.items() if name.startswith("group:")], axis=1)
            cache[k] = (r["area"][which], r["year"][which], groups)
        return cache[k]


def _codes(column: pa.ChunkedArray, values: tuple[str, ...] | list[str], what: str) -> np.ndarray:
    """Each row's position in ``values`` (vectorised); ``ValueError`` naming a value not among them."""
    found = pc.index_in(column, value_set=pa.array(list(values), pa.string()))
    if found.null_count:
        bad = pc.filter(column, pc.is_null(found)).to_pylist()[0]
        raise ValueError(f"{what} {bad!r} is not among the publication's values")
    return found.to_numpy(zero_copy_only=False).astype(np.int64)


def build_cubes(measure: Measure, count: Count, fine: pa.Table, dims: Dimensions) -> CountCubes:
    """Every (area, year, group) cell of ``count`` for each combination of its keys."""
    keys = measure.count_keys(count)
    exists = dims.exists(measure)
    if fine.num_rows and keys:
        combos = fine.select(list(keys)).group_by(list(keys)).aggregate([]).sort_by([(k, "ascending") for k in keys])
        key_values = list(zip(*(combos.column(k).to_pylist() for k in keys)))
    elif fine.num_rows:
        key_values = [()]
    else:
        key_values = []
    values = np.zeros((len(key_values), *dims.shape), dtype=np.int64)
    if not key_values:
        return CountCubes(measure.name, count, keys, key_values, values, exists)
    n = fine.column("n").to_numpy(zero_copy_only=False).astype(np.int64)
    if keys:
        # A key combination's position: each key's code among its values, then the combination's rank.
        distinct = [sorted({str(v[i]) for v in key_values}) for i in range(len(keys))]
        radix = [len(d) for d in distinct]
        lookup = np.full(int(np.prod(radix)), -1, dtype=np.int64)
        for rank, combo in enumerate(key_values):
            lookup[np.ravel_multi_index([d.index(str(c)) for d, c in zip(distinct, combo)], radix)] = rank
        ki = lookup[np.ravel_multi_index([_codes(pc.fill_null(fine.column(k).cast(pa.string()), "None"), d, k)
                                          for k, d in zip(keys, distinct)], radix)]
    else:
        ki = np.zeros(fine.num_rows, dtype=np.int64)
    ai = _codes(fine.column("area_code"), dims.areas, "area")
    yi = _codes(fine.column("year"), dims.years, "financial year")
    values_of = group_values()
    gi = dims.group_index
    parents = parent_group()
    # Each row's position in its breakdown's code list (the 5 groups through the 19 categories).
    position = {}
    for b in SOURCE:
        source_values = values_of["ethnic_group_19"] if b == "ethnic_group_5" else values_of[b]
        at = _codes(fine.column(SOURCE[b]), source_values, f"{b} value")
        if b == "ethnic_group_5":
            to5 = np.array([values_of["ethnic_group_5"].index(parents[v]) for v in source_values], dtype=np.int64)
            at = to5[at]
        position[b] = at
    gidx = {"all": np.full(fine.num_rows, gi[("all", "All people")], dtype=np.int64)}
    # Every one-way breakdown, offered or not: lines hold only if all their cells are filled.
    for b in SOURCE:
        to_group = np.array([gi[(b, v)] for v in values_of[b]], dtype=np.int64)
        gidx[b] = to_group[position[b]]
    # Every two-way group too, shown or not, for the same reason.
    for first, second in CROSSINGS:
        name = crossing(first, second)
        table = np.array([[gi[(name, cross_value(v, w))] for w in values_of[second]] for v in values_of[first]],
                         dtype=np.int64)
        gidx[name] = table[position[first], position[second]]
    flat = values.reshape(-1)
    cells = np.concatenate([np.ravel_multi_index((ki, ai, yi, g), values.shape) for g in gidx.values()])
    flat += np.bincount(cells, weights=np.tile(n, len(gidx)), minlength=flat.size).round().astype(np.int64)
    # Totals: all areas, the whole period and each pooled period are the sums of their members.
    values[:, 0] = values[:, 1:].sum(axis=1)
    values[:, :, 0] = values[:, :, 1:len(dims.years)].sum(axis=2)
    for w, members in dims.pooled_members():
        values[:, :, w] = values[:, :, list(members)].sum(axis=2)
    # Engines return rows in any order; the witnesses (and so the certificates) follow the rows, so one
    # order (by the rows' codes) makes the publication the same on every engine.
    order = np.lexsort([*reversed(list(gidx.values())), yi, ai, ki])
    rows = {"key": ki[order], "area": ai[order], "year": yi[order], "n": n[order],
            **{f"group:{b}": v[order] for b, v in gidx.items()}}
    return CountCubes(measure.name, count, keys, key_values, values, exists, rows)


def cube_names(cubes: CountCubes) -> list[str]:
    """The quantity each key combination's cube counts (shared across measures)."""
    return [cubes.count.quantity_of(dict(zip(cubes.keys, k))) for k in cubes.key_values]
