"""The cross-view chapters' arithmetic, worked by hand."""

from __future__ import annotations

import math

import pytest

from triangulate.report.hna import change, compared, funnel_limits, year_heading


def test_funnel_limits_are_the_normal_approximation_around_the_whole():
    # 31% of 100: 1.96 * sqrt(0.31 * 0.69 / 100) = 0.0906 -> 21.9% to 40.1%
    limits = funnel_limits(31.0, 100, 100, 1.96, steps=1)
    at_100 = min(limits, key=lambda x: abs(x["n"] - 50))
    assert at_100["n"] == 50
    half = 1.96 * math.sqrt(0.31 * 0.69 / 50)
    assert at_100["lower"] == pytest.approx(100 * (0.31 - half)) and at_100["upper"] == pytest.approx(100 * (0.31 + half))
    assert limits[-1]["n"] == pytest.approx(110)
    wide = funnel_limits(50.0, 10, 10, 3.09)
    assert all(0 <= x["lower"] <= 50 <= x["upper"] <= 100 for x in wide)  # clipped to 0-100


def _v(value, lower, upper):
    return {"value": value, "lower": lower, "upper": upper}


def test_a_change_is_called_only_where_the_intervals_do_not_overlap():
    assert change(_v(10, 9, 11), _v(15, 12, 18)) == "higher"
    assert change(_v(10, 9, 11), _v(6, 4, 8)) == "lower"
    assert change(_v(10, 9, 11), _v(12, 10.5, 13)) == "similar"
    assert change(_v(10, None, None), _v(12, 10.5, 13)) is None  # a withheld year says nothing


def test_areas_are_compared_with_the_whole_by_fingertips_rule():
    assert compared(_v(40, 35, 45), 31.0) == "higher"
    assert compared(_v(25, 20, 30), 31.0) == "lower"
    assert compared(_v(30, 25, 35), 31.0) == "similar"
    assert compared(_v(30, None, None), 31.0) == "" and compared(_v(30, 25, 35), None) == ""


def test_a_year_the_data_cover_in_part_says_where_they_end():
    manifest = {"data_period": {"first": "2021-04-01", "last": "2025-12-31"}}
    assert year_heading("2025/26", manifest) == "2025/26 (to 31 Dec 2025)"
    assert year_heading("2024/25", manifest) == "2024/25"
    assert year_heading("2025/26", {"data_period": {"first": "2021-04-01", "last": "2026-03-31"}}) == "2025/26"
    assert year_heading("2025/26", {}) == "2025/26"  # a publication made before the period was recorded
