"""The margin network directly: which structures it accepts, and protection on bare lists of counts."""

from __future__ import annotations

import dataclasses

import pytest

from triangulate.disclosure import NHS_ENGLAND
from triangulate.disclosure.margins import Line, MarginNetwork, protect_counts

UNROUNDED = dataclasses.replace(NHS_ENGLAND, name="nhs_unrounded", rounding_base=None)


def test_a_count_in_three_lines_is_refused():
    # Count 0 is a member of three lines (a three-way table's cell would be).
    lines = [Line(1, (0, 2)), Line(3, (0, 4)), Line(5, (0, 6))]
    with pytest.raises(ValueError, match="at most two margin lines"):
        MarginNetwork(7, lines)


def test_lines_that_are_not_a_network_are_refused():
    # Three lines that pairwise share a member (counts 1, 2 and 4): no orientation makes every
    # shared count leave one line and enter the other, so the graph argument would not hold.
    lines = [Line(0, (1, 2)), Line(3, (1, 4)), Line(5, (2, 4))]
    with pytest.raises(ValueError, match="cannot be checked as one network"):
        MarginNetwork(6, lines)


def test_protection_of_a_bare_list_with_a_total():
    # Counts 3, 20, 9 and their total 32 (index 3), threshold 8 and no rounding: 3 = 32 - 20 - 9,
    # so the smaller publishable cell, 9, is suppressed too; then 3 + 9 = 12 and each is 1..11.
    protection = protect_counts([3, 20, 9, 32], [Line(3, (0, 1, 2))], UNROUNDED, with_readable_ranges=True)
    assert protection.primary == {0}
    assert protection.secondary == {2}
    assert protection.readable_ranges == {0: (1, 11), 2: (1, 11)}


def test_counts_in_no_line_are_free():
    protection = protect_counts([3, 20], [], UNROUNDED, with_readable_ranges=True)
    assert protection.primary == {0} and not protection.secondary
    assert protection.readable_ranges == {0: (1, None)}


def test_a_rate_beside_a_rounded_count_makes_it_exact():
    # NHS England rounding: 3, 20 and 9 with total 32 show as *, 20, 10, 30. Rounding hides 3:
    # the reader gets [28 - 22 - 12, 32 - 18 - 8] = [-6, 6], so 1 to 6. But if every shown count
    # is exact to the reader, 3 is pinned and 9 must go too.
    lines = [Line(3, (0, 1, 2))]
    rounded_only = protect_counts([3, 20, 9, 32], lines, NHS_ENGLAND, with_readable_ranges=True)
    assert rounded_only.secondary == frozenset() and rounded_only.readable_ranges == {0: (1, 6)}
    assert protect_counts([3, 20, 9, 32], lines, NHS_ENGLAND, [True] * 4).secondary == {2}
