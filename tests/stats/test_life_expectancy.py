"""Life expectancy (Chiang II, Silcocks) against life_expectancy.csv."""

from __future__ import annotations

import numpy as np

from triangulate.stats import LIFE_TABLE_START_AGES, life_expectancy


def _reference_table(reference):
    table = reference("life_expectancy.csv")
    assert len(table) == 20
    assert tuple(int(age) for age in table.numbers("startage")) == LIFE_TABLE_START_AGES
    return table


def test_life_expectancy_reproduces_the_reference(reference, assert_close):
    table = _reference_table(reference)
    estimate = life_expectancy(table.numbers("deaths"), table.numbers("pops"))
    assert_close(estimate.value, table.numbers("value"), what="life expectancy")
    assert_close(estimate.workings["pops_used"], table.numbers("pops_used"), what="pops_used")
    assert_close(estimate.workings["dths_used"], table.numbers("dths_used"), what="dths_used")
    # The README's tolerance for the limits is 4 decimal places, as the upstream test rounds.
    # (The fixture's limits were made with z = 1.96 rather than 1.959964, so they differ from
    # ours by up to 5e-6 years.)
    for ours, column in ((estimate.lower, "lowercl"), (estimate.upper, "uppercl")):
        np.testing.assert_array_equal(np.round(ours, 4), np.round(table.numbers(column), 4))
    assert estimate.statistic[0] == "life expectancy at 0"
    assert estimate.method[-1] == "Chiang, using Silcocks et al for confidence limits"


def test_areas_run_along_leading_axes(reference):
    table = _reference_table(reference)
    deaths, pops = table.numbers("deaths"), table.numbers("pops")
    two_areas = life_expectancy(np.vstack([deaths, deaths * 2]), np.vstack([pops, pops]))
    assert two_areas.value.shape == (2, 20)
    np.testing.assert_array_equal(two_areas.value[0], life_expectancy(deaths, pops).value)
    assert np.all(two_areas.value[1] < two_areas.value[0])  # twice the deaths, shorter lives


def test_life_expectancy_is_not_calculated_where_it_cannot_be_robust(reference):
    table = _reference_table(reference)
    deaths, pops = table.numbers("deaths"), table.numbers("pops")
    no_population = pops.copy()
    no_population[3] = 0
    no_open_band_deaths = deaths.copy()
    no_open_band_deaths[-1] = 0
    estimate = life_expectancy(np.vstack([deaths, no_open_band_deaths]),
                               np.vstack([no_population, pops]))
    assert np.isnan(estimate.value).all() and np.isnan(estimate.lower).all()
    small = life_expectancy(deaths / 100, pops / 100)  # 7,879 person-years in all
    used = small.workings["pops_used"]
    assert np.isnan(small.value[used <= 5000]).all()
    assert np.isfinite(small.value[used > 5000]).all()
