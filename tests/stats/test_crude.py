"""Proportions, crude rates and means against proportion.csv, rate.csv and mean_*.csv."""

from __future__ import annotations

import numpy as np
import pytest

from triangulate.stats import mean, proportion, rate

BOTH = (0.95, 0.998)
FOUR_LIMITS = (("lower95_0cl", 0.95, "lower"), ("upper95_0cl", 0.95, "upper"),
               ("lower99_8cl", 0.998, "lower"), ("upper99_8cl", 0.998, "upper"))


def _check_two_levels(estimate, table, assert_close):
    assert_close(estimate.value, table.numbers("value"), what=f"{table.name} value")
    for column, level, side in FOUR_LIMITS:
        assert_close(getattr(estimate.at(level), side), table.numbers(column),
                     what=f"{table.name} {column}")
    assert list(estimate.method) == table.text("method")
    assert list(estimate.statistic) == table.text("statistic")


def _by_multiplier(table):
    for multiplier in sorted({row["multiplier"] for row in table.rows}):
        yield float(multiplier), table.where(lambda row, m=multiplier: row["multiplier"] == m)


def _group_sums(table, column):
    """Sum by Area in first-seen order; a missing value makes the sum missing, as R's sum()."""
    sums: dict[str, float] = {}
    for area, value in zip(table.text("Area"), table.numbers(column)):
        sums[area] = sums.get(area, 0.0) + value
    return list(sums), np.array(list(sums.values()))


def test_proportion_reproduces_the_reference(reference, assert_close):
    table = reference("proportion.csv")
    assert len(table) == 19
    checked = 0
    for multiplier, part in _by_multiplier(table):
        estimate = proportion(part.numbers("Numerator"), part.numbers("Denominator"),
                              confidence=BOTH, multiplier=multiplier)
        _check_two_levels(estimate, part, assert_close)
        checked += len(part)
    assert checked == 19


def test_grouped_proportion_is_the_proportion_of_the_group_sums(reference, assert_close):
    ungrouped, expected = reference("proportion.csv"), reference("proportion_grouped_expected.csv")
    assert len(expected) == 11
    areas, numerators = _group_sums(ungrouped, "Numerator")
    _, denominators = _group_sums(ungrouped, "Denominator")
    assert areas == expected.text("Area")
    assert_close(numerators, expected.numbers("Numerator"), what="group numerators")
    assert_close(denominators, expected.numbers("Denominator"), what="group denominators")
    estimate = proportion(numerators, denominators)
    assert estimate.confidence == 0.95
    assert_close(estimate.value, expected.numbers("value"), what="grouped value")
    assert_close(estimate.lower, expected.numbers("lowercl"), what="grouped lowercl")
    assert_close(estimate.upper, expected.numbers("uppercl"), what="grouped uppercl")
    assert list(estimate.statistic) == expected.text("statistic")


def test_rate_reproduces_the_reference(reference, assert_close):
    table = reference("rate.csv")
    assert len(table) == 20
    checked = 0
    for multiplier, part in _by_multiplier(table):
        estimate = rate(part.numbers("Numerator"), part.numbers("Denominator"),
                        confidence=BOTH, multiplier=multiplier)
        _check_two_levels(estimate, part, assert_close)
        checked += len(part)
    assert checked == 20


def test_grouped_rate_is_the_rate_of_the_group_sums(reference, assert_close):
    ungrouped, expected = reference("rate.csv"), reference("rate_grouped_expected.csv")
    assert len(expected) == 12
    areas, counts = _group_sums(ungrouped, "Numerator")
    _, denominators = _group_sums(ungrouped, "Denominator")
    assert areas == expected.text("Area")
    assert_close(counts, expected.numbers("Numerator"), what="group counts")
    estimate = rate(counts, denominators)
    assert_close(estimate.value, expected.numbers("value"), what="grouped value")
    assert_close(estimate.lower, expected.numbers("lowercl"), what="grouped lowercl")
    assert_close(estimate.upper, expected.numbers("uppercl"), what="grouped uppercl")
    # Area1's sum is 2 events: still exact; Area2's is 10: Byar's from there.
    assert list(estimate.method) == expected.text("method")


def test_mean_reproduces_the_reference(reference, assert_close):
    values, expected = reference("mean_input.csv"), reference("mean_expected.csv")
    assert len(values) == 26 and len(expected) == 3
    groups = {area: values.where(lambda row, a=area: row["area"] == a).numbers("values")
              for area in ("Area1", "Area2")}
    groups["No grouping"] = values.numbers("values")
    assert expected.text("area") == list(groups)
    for area in expected.text("area"):
        row = expected.where(lambda r, a=area: r["area"] == a)
        estimate = mean(groups[area], confidence=BOTH)
        for name in ("value_sum", "value_count", "stdev"):
            assert_close(estimate.workings[name], row.numbers(name)[0], what=f"{area} {name}")
        assert_close(estimate.value, row.numbers("value")[0], what=f"{area} value")
        for column, level, side in FOUR_LIMITS:
            assert_close(getattr(estimate.at(level), side), row.numbers(column)[0],
                         what=f"{area} {column}")
        assert estimate.method == row.text("method")[0]


def test_mean_runs_along_the_last_axis_and_a_missing_value_makes_it_missing():
    estimate = mean([[1.0, 2.0, 3.0], [10.0, np.nan, 30.0]])
    assert estimate.value.shape == (2,)
    assert estimate.value[0] == 2.0 and np.isnan(estimate.value[1])
    assert np.isnan(mean([5.0]).lower)  # one value: no spread, no interval


def test_rate_allows_more_events_than_people_but_proportion_does_not():
    assert rate(250, 220).value == pytest.approx(113636.36363636365)
    with pytest.raises(ValueError, match="less than or equal"):
        proportion(250, 220)


@pytest.mark.parametrize("function", [proportion, rate])
def test_zero_and_negative_inputs_are_refused(function):
    with pytest.raises(ValueError, match="denominators must be greater than zero"):
        function([1, 2], [10, 0])
    with pytest.raises(ValueError, match="greater than or equal to zero"):
        function([-1, 2], [10, 10])


def test_scalars_in_give_zero_dimensional_arrays_out():
    estimate = rate(5, 1000)
    assert estimate.value.shape == () and float(estimate.value) == 500.0
    assert estimate.method.item() == "Exact"


def test_asking_for_a_level_not_calculated_says_which_were():
    estimate = proportion(5, 100, confidence=0.95)
    with pytest.raises(KeyError, match="0.998 was not asked for"):
        estimate.at(0.998)
    assert estimate.at(95) is estimate.limits[0.95]
