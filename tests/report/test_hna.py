"""The cross-view chapters' own rules, worked by hand (comparisons with a benchmark and funnel limits
are the stats room's, tested against PHEindicatormethods there)."""

from __future__ import annotations

from triangulate.report.hna import change, year_heading


def _v(value, lower, upper):
    return {"value": value, "lower": lower, "upper": upper}


def test_a_change_is_called_only_where_the_intervals_do_not_overlap():
    assert change(_v(10, 9, 11), _v(15, 12, 18)) == "higher"
    assert change(_v(10, 9, 11), _v(6, 4, 8)) == "lower"
    assert change(_v(10, 9, 11), _v(12, 10.5, 13)) == "similar"
    assert change(_v(10, None, None), _v(12, 10.5, 13)) is None  # a withheld year says nothing


def test_a_year_the_data_cover_in_part_says_where_they_end():
    manifest = {"data_period": {"first": "2021-04-01", "last": "2025-12-31"}}
    assert year_heading("2025/26", manifest) == "2025/26 (to 31 Dec 2025)"
    assert year_heading("2024/25", manifest) == "2024/25"
    assert year_heading("2025/26", {"data_period": {"first": "2021-04-01", "last": "2026-03-31"}}) == "2025/26"
    assert year_heading("2025/26", {}) == "2025/26"  # a publication made before the period was recorded
