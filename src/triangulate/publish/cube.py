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

from triangulate.measures.registry import CROSSINGS, Count, Measure
from triangulate.publish.dimensions import SOURCE, Dimensions, cross_value, crossing, parent_group


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
        a, y, g = cell
        r = self.rows
        ok = (r["key"] == k) & (r["n"] > 0)
        if a:
            ok &= r["area"] == a
        if y:
            ok &= r["year"] == y
        ok &= np.any(np.stack([v == g for name, v in r.items() if name.startswith("group:")]), axis=0)
        hits = np.flatnonzero(ok)
        if len(hits) == 0:
            return None
        i = hits[0]
        return [{int(r["area"][i])}, {int(r["year"][i])},
                {int(v[i]) for name, v in r.items() if name.startswith("group:")}]


def _index(values_in: list, values: tuple[str, ...], what: str) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(values)}
    try:
        return np.fromiter((lookup[v] for v in values_in), dtype=np.int64, count=len(values_in))
    except KeyError as missing:
        raise ValueError(f"{what} {missing.args[0]!r} is not among the publication's values") from None


def build_cubes(measure: Measure, count: Count, fine: pa.Table, dims: Dimensions) -> CountCubes:
    """Every (area, year, group) cell of ``count`` for each combination of its keys."""
    keys = measure.count_keys(count)
    exists = dims.exists(measure)
    # Engines return rows in any order; the witnesses (and so the certificates) follow the rows, so one
    # order makes the publication the same on every engine.
    fine = fine.sort_by([(c, "ascending") for c in fine.column_names if c != "n"])
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
    lookup = {k: i for i, k in enumerate(key_values)}
    if keys:
        raw = list(zip(*(fine.column(k).to_pylist() for k in keys)))
        ki = np.fromiter((lookup[k] for k in raw), dtype=np.int64, count=len(raw))
    else:
        ki = np.zeros(fine.num_rows, dtype=np.int64)
    ai = _index(fine.column("area_code").to_pylist(), dims.areas, "area")
    yi = _index(fine.column("year").to_pylist(), dims.years, "financial year")
    parents = parent_group()
    demo = {c: fine.column(c).to_pylist() for c in set(SOURCE.values())}
    demo_of = {b: ([parents.get(v, v) for v in demo["ethnic_group_19"]] if b == "ethnic_group_5" else demo[SOURCE[b]])
               for b in SOURCE}
    gi = dims.group_index
    gidx = {"all": np.full(fine.num_rows, gi[("all", "All people")], dtype=np.int64)}
    # Every one-way breakdown, offered or not: lines hold only if all their cells are filled.
    for b in SOURCE:
        try:
            gidx[b] = np.fromiter((gi[(b, v)] for v in demo_of[b]), dtype=np.int64, count=fine.num_rows)
        except KeyError as missing:
            raise ValueError(f"{b} value {missing.args[0][1]!r} is not in the code lists") from None
    # Every two-way group too, shown or not, for the same reason.
    for first, second in CROSSINGS:
        name = crossing(first, second)
        gidx[name] = np.fromiter((gi[(name, cross_value(v, w))] for v, w in zip(demo_of[first], demo_of[second])),
                                 dtype=np.int64, count=fine.num_rows)
    flat = values.reshape(-1)
    for g in gidx.values():
        np.add.at(flat, np.ravel_multi_index((ki, ai, yi, g), values.shape), n)
    # Totals: all areas and the whole period are the sums of their members.
    values[:, 0] = values[:, 1:].sum(axis=1)
    values[:, :, 0] = values[:, :, 1:].sum(axis=2)
    rows = {"key": ki, "area": ai, "year": yi, "n": n, **{f"group:{b}": v for b, v in gidx.items()}}
    return CountCubes(measure.name, count, keys, key_values, values, exists, rows)


def cube_names(cubes: CountCubes) -> list[str]:
    """The quantity each key combination's cube counts (shared across measures)."""
    return [cubes.count.quantity_of(dict(zip(cubes.keys, k))) for k in cubes.key_values]
