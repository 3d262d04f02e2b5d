"""Funnel plot limits, significance and chart points against the funnel_*.csv expectations."""

from __future__ import annotations

import numpy as np
import pytest

from triangulate.stats import SIGNIFICANCE_LEVELS, funnel_limits, funnel_points, funnel_significance

LIMITS = (("lower_95", "lower_2s"), ("upper_95", "upper_2s"),
          ("lower_998", "lower_3s"), ("upper_998", "upper_3s"))


def test_proportion_significance(reference):
    table = reference("funnel_prop_inputs_with_significance.csv")
    assert len(table) == 303
    got = funnel_significance(table.numbers("numerator"), table.numbers("denominator"),
                              statistic="proportion")
    assert list(got) == table.text("significance")


@pytest.mark.parametrize("name, keep, full", [
    ("funnel_prop_limits_expected.csv", lambda row: True, False),
    # Areas of similar size: the axis starts near the smallest instead of at 0.
    ("funnel_prop_limits_axis_variation_expected.csv",
     lambda row: float(row["denominator"]) < 31000, True),
])
def test_proportion_limits(reference, assert_funnel_close, name, keep, full):
    inputs = reference("funnel_prop_inputs_with_significance.csv").where(keep)
    expected = reference(name)
    assert len(expected) == 100
    limits = funnel_limits(inputs.numbers("numerator"), inputs.numbers("denominator"),
                           statistic="proportion", multiplier=100)
    assert_funnel_close(limits.points, expected, "Population")
    for ours, theirs in LIMITS:
        assert_funnel_close(getattr(limits, ours), expected, f"{theirs}_limit")
    assert_funnel_close(limits.baseline, expected, "baseline")
    assert limits.lower_95_denominator is None
    if full:
        assert {limits.statistic} == set(expected.text("statistic"))
        assert {limits.method} == set(expected.text("method"))


def test_ratio_significance(reference):
    table = reference("funnel_ratio_inputs_with_significance.csv")
    assert len(table) == 300
    got = funnel_significance(table.numbers("obs"), table.numbers("expected"), statistic="ratio")
    assert list(got) == table.text("significance")


@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_ratio_limits(reference, assert_funnel_close, ratio_type):
    inputs = reference("funnel_ratio_inputs_with_significance.csv")
    expected = reference("funnel_ratio_limits_expected.csv")
    assert len(expected) == 100
    limits = funnel_limits(inputs.numbers("obs"), inputs.numbers("expected"), statistic="ratio",
                           multiplier=100, ratio_type=ratio_type)
    assert limits.statistic == f"ratio ({ratio_type})" and limits.method == "Poisson"
    assert_funnel_close(limits.points, expected, "Observed_events")
    for ours, theirs in LIMITS:
        assert_funnel_close(getattr(limits, ours), expected, f"{theirs}_{ratio_type}")
        assert_funnel_close(getattr(limits, f"{ours}_denominator"), expected,
                            f"{theirs}_exp_events")


RATE_SIGNIFICANCE = [
    # (column of expected significance, rate type, rate column, multiplier, keep 0-event areas)
    ("dsr_per_100000_with_0", "dsr", "rate_dsr", 100_000, True),
    ("dsr_per_100_with_0", "dsr", "rate_dsr", 100, True),
    ("dsr_per_100000_without_0", "dsr", "rate_dsr", 100_000, False),
    ("dsr_per_100_without_0", "dsr", "rate_dsr", 100, False),
    ("crude_per_100000_with_0", "crude", "rate_crude_per_100000", 100_000, True),
    ("crude_per_100_with_0", "crude", "rate_crude_per_100", 100, True),
    ("crude_per_100000_without_0", "crude", "rate_crude_per_100000", 100_000, False),
    ("crude_per_100_without_0", "crude", "rate_crude_per_100", 100, False),
]


@pytest.mark.parametrize("column, rate_type, rate_column, multiplier, with_zero",
                         RATE_SIGNIFICANCE, ids=[case[0] for case in RATE_SIGNIFICANCE])
def test_rate_significance(reference, column, rate_type, rate_column, multiplier, with_zero):
    table = reference("funnel_rate_inputs_with_significance.csv")
    assert len(table) == 40
    if not with_zero:
        table = table.where(lambda row: float(row["count"]) != 0)
        assert len(table) == 39
    got = funnel_significance(table.numbers("count"), table.numbers("pop"),
                              rates=table.numbers(rate_column), statistic="rate",
                              rate_type=rate_type, multiplier=multiplier)
    assert list(got) == table.text(column)
    assert set(got) <= set(SIGNIFICANCE_LEVELS)


def _rate_inputs(reference):
    table = reference("funnel_rate_limits_input.csv")
    assert len(table) == 50
    return table, table.numbers("ev"), table.numbers("rate")


def _check_rate_limits(limits, expected, assert_funnel_close):
    assert len(expected) == 100
    assert {limits.statistic} == set(expected.text("statistic"))
    assert {limits.method} == set(expected.text("method"))
    assert_funnel_close(limits.points, expected, "Events")
    for ours, theirs in LIMITS:
        assert_funnel_close(getattr(limits, ours), expected, f"{theirs}_limit")
        assert_funnel_close(getattr(limits, f"{ours}_denominator"), expected,
                            f"{theirs}_population_1_year")
    assert_funnel_close(limits.baseline, expected, "baseline")


def test_rate_limits_for_dsrs(reference, assert_funnel_close):
    _, events, rates = _rate_inputs(reference)
    limits = funnel_limits(events, rates=rates, statistic="rate", rate_type="dsr",
                           multiplier=100_000, years_of_data=3)
    _check_rate_limits(limits, reference("funnel_rate_limits_dsr_expected.csv"),
                       assert_funnel_close)


def test_rate_limits_for_crude_rates_with_fewer_than_10_events(reference, assert_funnel_close):
    _, events, rates = _rate_inputs(reference)
    events = np.where(events == events.max(), 5, events)
    limits = funnel_limits(events, rates=rates, statistic="rate", rate_type="crude",
                           multiplier=100_000, years_of_data=3)
    _check_rate_limits(limits, reference("funnel_rate_limits_crude_lt10_expected.csv"),
                       assert_funnel_close)


def test_rate_limits_for_crude_rates_with_a_zero_event_area(reference, assert_funnel_close):
    _, events, rates = _rate_inputs(reference)
    populations = 100_000 * events / rates
    largest = events == events.max()
    rates, events = np.where(largest, 0, rates), np.where(largest, 0, events)
    keep = populations > populations.max() / 2
    limits = funnel_limits(events[keep], populations[keep], rates=rates[keep],
                           statistic="rate", rate_type="crude", multiplier=100_000,
                           years_of_data=3)
    _check_rate_limits(limits, reference("funnel_rate_limits_crude_zero_expected.csv"),
                       assert_funnel_close)


def test_chart_points_for_dsrs_leave_off_fewer_than_10_events(reference, assert_funnel_close):
    table, events, rates = _rate_inputs(reference)
    events = np.where(events == events.max(), 5, events)
    points = funnel_points(events, rates, rate_type="dsr", years_of_data=3, multiplier=100_000)
    assert np.isnan(points.rate).sum() == 1
    assert_funnel_close(points.rate, table, "rate_chart")
    assert_funnel_close(points.denominator, table, "denominator_derived")


def test_chart_points_for_crude_rates(reference, assert_funnel_close):
    table, events, rates = _rate_inputs(reference)
    points = funnel_points(events, rates, rate_type="crude", years_of_data=3, multiplier=100_000)
    assert_funnel_close(points.rate, table, "rate_chart_crude")
    assert_funnel_close(points.denominator, table, "denominator_derived_crude")


def test_chart_points_for_a_zero_event_area_use_its_denominator(reference, assert_funnel_close):
    table, events, rates = _rate_inputs(reference)
    events = np.where(events == events.max(), 0, events)
    points = funnel_points(events, rates, table.numbers("pop"), rate_type="crude",
                           years_of_data=5, multiplier=100_000)
    assert_funnel_close(points.rate, table, "rate_chart_crude_with_denom")
    assert_funnel_close(points.denominator, table, "denominator_derived_crude_with_denom")


def test_limits_narrow_as_the_population_grows_and_bracket_the_baseline():
    limits = funnel_limits([30, 40, 55], [100, 150, 180], statistic="proportion", multiplier=100)
    width_95 = limits.upper_95 - limits.lower_95
    assert np.all(np.diff(width_95) <= 1e-12)
    assert np.all(limits.lower_998 <= limits.lower_95)
    assert np.all(limits.lower_95 <= limits.baseline) and np.all(limits.baseline <= limits.upper_95)
    assert np.all(limits.upper_998 <= 100) and np.all(limits.lower_998 >= 0)


@pytest.mark.parametrize("call, message", [
    (lambda: funnel_significance([5, 20], [10, 10], statistic="proportion"), "less than or equal"),
    (lambda: funnel_significance([5, 2], [10, 0], statistic="ratio"), "greater than zero"),
    (lambda: funnel_significance([-1, 2], [10, 10], statistic="ratio"), "greater than or equal"),
    (lambda: funnel_significance([0, 20], rates=[0, 10.0], statistic="rate", rate_type="crude",
                                 multiplier=100), "denominator must be given"),
    (lambda: funnel_limits([1, 2], [3, 4], statistic="mean", multiplier=100), "statistic"),
    (lambda: funnel_limits([1, 2], [3, 4], statistic="ratio", multiplier=100), "ratio_type"),
    (lambda: funnel_limits([10, 20], rates=[5.0, 6.0], statistic="rate", rate_type="dsr",
                           multiplier=100), "years_of_data"),
])
def test_funnels_refuse_incomplete_or_impossible_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
