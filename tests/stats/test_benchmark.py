"""Fingertips-style comparison of an interval with a benchmark value."""

from __future__ import annotations

import numpy as np
import pytest

from triangulate.stats import compare_to_benchmark, dsr, proportion


def test_each_outcome():
    got = compare_to_benchmark([12, 2, 4, 5, 3, np.nan], [15, 4, 6, 7, 5, 9], 5)
    # wholly above, wholly below, includes, touches the lower end, touches the upper end, missing
    assert list(got) == ["higher", "lower", "similar", "similar", "similar", "not compared"]


def test_missing_benchmark_is_not_compared():
    assert compare_to_benchmark(1.0, 2.0, np.nan) == "not compared"
    assert compare_to_benchmark(1.0, 2.0, 0.5) == "higher"


def test_a_suppressed_dsr_is_not_compared_rather_than_similar():
    populations = np.full((2, 19), 1000.0)
    counts = np.vstack([np.full(19, 20.0), np.r_[np.ones(9), np.zeros(10)]])  # 380 and 9 events
    estimate = dsr(counts, populations)
    assert list(compare_to_benchmark(estimate.lower, estimate.upper, 1000.0)) == [
        "higher", "not compared"]


def test_works_on_an_estimate_against_the_england_value():
    # 65 of 100 (95% CI 55.3% to 73.6%) against an England value of 50%: higher.
    estimate = proportion(65, 100, multiplier=100)
    assert compare_to_benchmark(estimate.lower, estimate.upper, 50) == "higher"


def test_refuses_limits_the_wrong_way_round():
    with pytest.raises(ValueError):
        compare_to_benchmark(5, 4, 1)
