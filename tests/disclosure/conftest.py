"""Shared helpers for the disclosure tests: an attacker, and small tables built by hand.

The attacker is written from scratch here, independently of ``margins.py``: it reads only the
published table, writes down every equation the margins imply and every bound the reader knows,
and asks ``scipy.optimize.linprog`` for the smallest and largest value of each suppressed count.

What the attacker knows:
- the rule (it may call ``rule.shown_count`` on any number it likes, which is what knowing the
  rule means), so for a published number it knows every true count the rule shows that way;
- every published count and margin, and which counts are suppressed (not why);
- that a suppressed count is at least 1 when the rule publishes zeros, at least 0 otherwise;
- optionally, a published rate and its published denominator, from which it multiplies back
  the exact count;
- which rows are totals of which (from the total label), and that totals add up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyarrow as pa
import pytest
from scipy.optimize import linprog

from triangulate.disclosure import DisclosureRule

PER_100K = 100_000


def possible_true_counts(rule: DisclosureRule, shown: int) -> tuple[int, int]:
    """Every count the rule would show as ``shown``, found by trying them all."""
    base = rule.rounding_base or 1
    start = max(0, shown - 2 * base - rule.suppress_below)
    candidates = [y for y in range(start, shown + base + 1) if rule.shown_count(y) == shown]
    assert candidates, "the published number is not one the rule can produce"
    assert candidates[0] > start or start == 0, "searched too narrow a range"
    assert candidates == list(range(candidates[0], candidates[-1] + 1))
    return candidates[0], candidates[-1]


def margin_equations(keys: Sequence[tuple], total_label: str) -> list[tuple[int, list[int]]]:
    """(total row, member rows) for every total in a one- or two-way table in long form."""
    if not keys or len(keys[0]) == 0:
        return []
    if len(keys[0]) == 1:
        totals = [i for i, (k,) in enumerate(keys) if k == total_label]
        cells = [i for i, (k,) in enumerate(keys) if k != total_label]
        return [(totals[0], cells)] if totals else []
    where = {key: i for i, key in enumerate(keys)}
    interior = [key for key in keys if total_label not in key]
    firsts = sorted({a for a, _ in interior})
    seconds = sorted({b for _, b in interior})
    row_totals = [a for a in firsts if (a, total_label) in where]
    column_totals = [b for b in seconds if (total_label, b) in where]
    equations = []
    for a in row_totals:
        equations.append((where[a, total_label], [where[a, b] for b in seconds]))
    for b in column_totals:
        equations.append((where[total_label, b], [where[a, b] for a in firsts]))
    grand = where.get((total_label, total_label))
    if grand is not None:
        if row_totals:
            equations.append((grand, [where[a, total_label] for a in firsts]))
        if column_totals:
            equations.append((grand, [where[total_label, b] for b in seconds]))
        if not row_totals and not column_totals:
            equations.append((grand, [where[key] for key in interior]))
    return equations


def attack(
    published: pa.Table,
    count: str,
    dimensions: Sequence[str],
    rule: DisclosureRule,
    *,
    total_label: str = "Total",
    rate: str | None = None,
    denominator: str | None = None,
) -> dict[int, tuple[float, float]]:
    """For each suppressed row, the smallest and largest count consistent with the table."""
    shown = published.column(count).to_pylist()
    keys = list(zip(*(published.column(d).to_pylist() for d in dimensions))) if dimensions else [()] * len(shown)
    rates = published.column(rate).to_pylist() if rate else [None] * len(shown)
    denominators = published.column(denominator).to_pylist() if denominator else [None] * len(shown)
    bounds = []
    for value, r, d in zip(shown, rates, denominators):
        if value is None:
            bounds.append((1 if rule.publish_zero else 0, None))
        elif r is not None and d is not None and not math.isnan(r):
            exact = round(r * d / PER_100K)
            bounds.append((exact, exact))
        else:
            bounds.append(possible_true_counts(rule, value))
    equations = margin_equations(keys, total_label)
    a_eq = []
    for total, members in equations:
        row = [0.0] * len(shown)
        row[total] = 1.0
        for m in members:
            row[m] -= 1.0
        a_eq.append(row)
    ranges = {}
    for k, value in enumerate(shown):
        if value is not None:
            continue
        extremes = []
        for direction in (1.0, -1.0):
            objective = [0.0] * len(shown)
            objective[k] = direction
            result = linprog(
                objective,
                A_eq=a_eq or None,
                b_eq=[0.0] * len(a_eq) if a_eq else None,
                bounds=bounds,
                method="highs",
            )
            if result.status == 3:
                extremes.append(math.inf)
            else:
                assert result.status == 0, f"the published table is inconsistent: {result.message}"
                extremes.append(direction * result.fun)
        ranges[k] = (extremes[0], extremes[1])
    return ranges


def table_from_rows(rows: Sequence[dict]) -> pa.Table:
    return pa.Table.from_pylist(list(rows))


@pytest.fixture
def custody_by_ethnic_group() -> pa.Table:
    """A made-up one-way table: people in police custody known to mental health services."""
    return pa.table(
        {
            "ethnic_group": ["Asian", "Black", "Mixed", "White", "Other", "Total"],
            "people": [3, 12, 0, 131, 8, 154],
        }
    )
