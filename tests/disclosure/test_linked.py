"""Linked cubes (people with a need within people seen), protected together and attacked by a reader.

The reader knows every shown count as the range the rule says it stands for, that a withheld count is
not zero (zeros are shown), every total, and that nobody has a need without being seen. For each
withheld count the reader's linear programmes give its lowest and highest value; the protection holds
if that range is at least the rule's protection width wide and holds the truth.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from triangulate.disclosure import NHS_ENGLAND, ONS_SRO
from triangulate.disclosure.linked import Cube, Dimension, _Linked, protect
from triangulate.publish.audit import _lines

from .conftest import possible_true_counts

AREA = Dimension("area", 3, ((0, (1, 2)),))  # all areas = area 1 + area 2
GROUP = Dimension("group", 4, ((0, (1, 2, 3)),))  # all people = three groups


def _with_totals(inner: list[list[int]]) -> np.ndarray:
    """A 3 x 4 cube from the 2 areas x 3 groups inside it, totals added."""
    v = np.zeros((3, 4), dtype=np.int64)
    v[1:, 1:] = inner
    v[1:, 0] = v[1:, 1:].sum(axis=1)
    v[0] = v[1:].sum(axis=0)
    return v


def _cubes() -> dict[str, Cube]:
    # In area 1, group 2: 3 people seen, and all 3 have the need. The need's 3 cannot rise by the
    # protection width unless the people seen rise with it, so its certificate needs both cubes.
    seen = _with_totals([[30, 3, 40], [25, 12, 33]])
    need = _with_totals([[10, 3, 15], [9, 4, 11]])
    everywhere = np.ones((3, 4), dtype=bool)
    return {"seen": Cube("seen", seen, everywhere.copy()),
            "need": Cube("need", need, everywhere.copy(), within="seen")}


def _reader_ranges(cubes: dict[str, Cube], shown: dict[str, np.ndarray], rule) -> dict[tuple, tuple]:
    """Lowest and highest value of every withheld count (shown as -1), from what is shown only."""
    names = list(cubes)
    shape = cubes[names[0]].values.shape
    size = int(np.prod(shape))
    offset = {name: i * size for i, name in enumerate(names)}
    bounds = [(0, 0) if s == 0 else possible_true_counts(rule, int(s)) if s > 0
              else (rule.smallest_suppressed_count, None) for name in names for s in shown[name].ravel()]
    a_eq, a_ub = [], []
    for name in names:
        for total, parts in _lines([AREA, GROUP], shape):  # every total is the sum of its members
            for t, members in zip(total, parts):
                row = np.zeros(size * len(names))
                row[offset[name] + t] = -1
                row[offset[name] + members] = 1
                a_eq.append(row)
        if cubes[name].within:  # nobody has the need without being seen
            for cell in range(size):
                row = np.zeros(size * len(names))
                row[offset[name] + cell], row[offset[cubes[name].within] + cell] = 1, -1
                a_ub.append(row)
    out = {}
    for name in names:
        for cell in np.flatnonzero(shown[name].ravel() < 0):
            ends = []
            for sense in (1, -1):
                c = np.zeros(size * len(names))
                c[offset[name] + cell] = sense
                found = linprog(c, A_ub=np.array(a_ub), b_ub=np.zeros(len(a_ub)), A_eq=np.array(a_eq),
                                b_eq=np.zeros(len(a_eq)), bounds=bounds)
                assert found.status == 0
                ends.append(sense * found.fun)
            out[(name, *np.unravel_index(int(cell), shape))] = tuple(ends)
    return out


@pytest.mark.parametrize("rule", [NHS_ENGLAND, ONS_SRO], ids=["nhs_england", "ons_sro"])
def test_a_count_within_another_is_protected_where_only_both_can_move(rule):
    cubes = _cubes()
    report = protect([AREA, GROUP], cubes, rule, workers=1)
    shown = {name: p.shown for name, p in report.cubes.items()}
    assert all(shown[n][cubes[n].values == 0].max(initial=0) == 0 for n in cubes)
    ranges = _reader_ranges(cubes, shown, rule)
    assert ("need", 1, 2) in ranges and ("seen", 1, 2) in ranges  # the two 3s are withheld
    for (name, a, g), (low, high) in ranges.items():
        truth = cubes[name].values[a, g]
        assert low - 1e-6 <= truth <= high + 1e-6
        assert high - low >= rule.protection - 1e-6, (name, a, g, low, high)


def test_the_programme_for_the_inner_cube_alone_gives_way_to_the_pair_where_it_must():
    cubes, rule = _cubes(), NHS_ENGLAND
    linked = _Linked([AREA, GROUP], cubes, rule, rule.protection)
    linked.line_rule()
    cell = (1, 2)
    orders = linked._orders("need", cell)
    # Alone, the need's 3 may rise only as far as the 3 people seen: no certificate moves it up.
    assert linked._programme("need", cell, orders, rule.protection, k=None, free=True, alone=True) is None
    found = linked._local_lp("need", cell, orders, rule.protection, k=None, free=True)
    assert found is not None and found[0] == 0
    touched = found[1]
    assert set(touched) == {"need", "seen"}  # the people seen rose with it
    assert linked._alone["need"] == [1, 1]
