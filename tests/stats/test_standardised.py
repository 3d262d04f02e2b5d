"""Directly and indirectly standardised statistics against dsr_*.csv and isr_*.csv."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from triangulate.stats import ESP2013, ESP2013_AGE_BANDS, dsr, isr, smr

BOTH = (0.95, 0.998)
LIMIT_COLUMNS = (("lower95_0cl", 0.95, "lower"), ("upper95_0cl", 0.95, "upper"),
                 ("lower99_8cl", 0.998, "lower"), ("upper99_8cl", 0.998, "upper"))
AREAS = ("testdata_big", "testdata_small", "testdata_tiny")


def _by_area(table, areas, columns):
    """Arrays of shape (areas, bands) for each column, bands in file order."""
    out = {}
    for column in columns:
        out[column] = np.array([table.where(lambda row, a=area: row["area"] == a).numbers(column)
                                for area in areas])
    return out


def _expected_rows(table, rows):
    return table.where(lambda row: int(row["row"]) in rows)


def _check(estimate, expected, assert_close, workings, limit_columns=LIMIT_COLUMNS,
           check_labels=True):
    for name in workings:
        assert_close(estimate.workings[name], expected.numbers(name), what=name)
    assert_close(estimate.value, expected.numbers("value"), what="value")
    for column, level, side in limit_columns:
        assert_close(getattr(estimate.at(level), side), expected.numbers(column), what=column)
    if check_labels:
        assert list(estimate.method) == expected.text("method")
        assert list(estimate.statistic) == expected.text("statistic")


def test_esp2013_is_the_reference_standard_population(reference):
    table = reference("esp2013_19bands.csv")
    assert len(table) == 19
    assert ESP2013_AGE_BANDS == tuple(table.text("ageband"))
    np.testing.assert_array_equal(ESP2013, table.numbers("esp2013"))
    assert ESP2013.sum() == 100_000
    with pytest.raises(ValueError):
        ESP2013[0] = 1  # shared by every caller: must not be changed in place


def test_esp2013_bands_are_the_data_standard_age_bands():
    from triangulate.standard import codelist

    assert ESP2013_AGE_BANDS == tuple(codelist("age_band").codes)


@pytest.mark.parametrize("rows, multiplier", [((1, 2, 3), 10_000), ((5, 6, 7), 100_000)])
def test_dsr_reproduces_the_reference(reference, assert_close, rows, multiplier):
    data = _by_area(reference("dsr_input_multiarea_esp2013.csv"), AREAS,
                    ("count", "pop", "esp2013"))
    expected = _expected_rows(reference("dsr_expected.csv"), rows)
    assert len(expected) == 3
    estimate = dsr(data["count"], data["pop"], data["esp2013"], confidence=BOTH,
                   multiplier=multiplier)
    _check(estimate, expected, assert_close, ("total_count", "total_pop"))
    # testdata_tiny has 9 events (one band's count is missing, counted as 0): not published.
    assert np.isnan(estimate.value[2]) and estimate.workings["total_count"][2] == 9


def test_dsr_defaults_to_esp2013_and_per_100000(reference, assert_close):
    data = _by_area(reference("dsr_input_multiarea_esp2013.csv"), AREAS, ("count", "pop"))
    expected = _expected_rows(reference("dsr_expected.csv"), (5, 6, 7))
    _check(dsr(data["count"], data["pop"], confidence=BOTH), expected, assert_close,
           ("total_count", "total_pop"))


@pytest.mark.parametrize("row, multiplier", [(4, 10_000), (8, 100_000)])
def test_dsr_on_another_standard_population(reference, assert_close, row, multiplier):
    # ESP1976, 18 bands. Only the 95% limits: the reference's 99.8% columns for these rows are
    # wrong upstream and never tested (README).
    data = reference("dsr_input_esp1976.csv")
    assert len(data) == 18
    expected = _expected_rows(reference("dsr_expected.csv"), (row,))
    # One area: a leading axis of length 1 gives results shaped like the one expected row.
    estimate = dsr(data.numbers("count")[None], data.numbers("pop")[None],
                   data.numbers("esp1976"), multiplier=multiplier)
    _check(estimate, expected, assert_close, ("total_count", "total_pop"),
           limit_columns=LIMIT_COLUMNS[:2])


def test_dsr_with_non_independent_events(reference, assert_close):
    data = reference("dsr_input_nonindependent.csv")
    assert len(data) == 247
    expected = _expected_rows(reference("dsr_expected.csv"), (9, 10, 11, 12))
    assert len(expected) == 4
    for area in expected.text("area"):
        rows = data.where(lambda r, a=area: r["area"] == a)
        bands = list(dict.fromkeys(rows.text("ageband")))
        frequencies = sorted({int(f) for f in rows.text("freq")})
        people = np.zeros((len(frequencies), len(bands)))
        populations, standard = np.zeros(len(bands)), np.zeros(len(bands))
        for r in rows.rows:
            b, f = bands.index(r["ageband"]), frequencies.index(int(r["freq"]))
            people[f, b] = float(r["persons"]) if r["persons"] else np.nan
            populations[b], standard[b] = float(r["pop"]), float(r["esp2013"])
        estimate = dsr(people[None], populations[None], standard, confidence=BOTH,
                       event_frequency=frequencies)
        _check(estimate, expected.where(lambda r, a=area: r["area"] == a), assert_close,
               ("total_count", "total_pop"))


def test_dsr_non_independent_events_widen_the_interval_but_keep_the_value():
    # 30 events in each band as 30 people with one event, or as 10 people with three.
    populations = np.full(19, 1000.0)
    independent = dsr(np.full(19, 30.0), populations)
    repeated = dsr(np.full((1, 19), 10.0), populations, event_frequency=[3])
    assert repeated.value == pytest.approx(independent.value, rel=1e-12)
    assert repeated.lower < independent.lower and repeated.upper > independent.upper


@pytest.mark.parametrize("bad", [
    dict(populations=np.r_[np.zeros(1), np.ones(18)]),
    dict(populations=np.r_[np.nan, np.ones(18)]),
    dict(counts=np.r_[-1, np.ones(18)]),
])
def test_dsr_refuses_impossible_inputs(bad):
    args = dict(counts=np.ones(19), populations=np.full(19, 100.0)) | bad
    with pytest.raises(ValueError):
        dsr(**args)


def _isr_inputs(reference, reference_from):
    data = _by_area(reference("isr_input_multiarea_with_ref.csv"), AREAS,
                    ("count", "pop", "refcount", "refpop"))
    if reference_from == "columns":
        # testdata_tiny gives its 10-14 band's reference count as NA: treated as 0.
        return data, dict(reference_counts=data["refcount"], reference_populations=data["refpop"])
    refdata = reference("isr_refdata.csv")
    return data, dict(reference_counts=refdata.numbers("refcount"),
                      reference_populations=refdata.numbers("refpop"))


def _observed(reference, data, observed_from):
    if observed_from == "bands":
        return dict(counts=data["count"])
    totals = reference("isr_observed_totals.csv")
    assert tuple(totals.text("area")) == AREAS
    return dict(counts=None, observed_total=totals.numbers("total_count"))


@pytest.mark.parametrize("reference_from", ["columns", "vectors"])
@pytest.mark.parametrize("observed_from", ["bands", "totals"])
@pytest.mark.parametrize("rows, multiplier", [((1, 2, 3), 100_000), ((4, 5, 6), 1000)])
def test_israte_reproduces_the_reference(reference, assert_close, reference_from, observed_from,
                                         rows, multiplier):
    data, ref = _isr_inputs(reference, reference_from)
    expected = _expected_rows(reference("isr_expected.csv"), rows)
    assert len(expected) == 3
    estimate = isr(populations=data["pop"], confidence=BOTH, multiplier=multiplier,
                   **_observed(reference, data, observed_from), **ref)
    _check(estimate, expected, assert_close, ("observed", "expected", "ref_rate"))


@pytest.mark.parametrize("reference_from", ["columns", "vectors"])
@pytest.mark.parametrize("observed_from", ["bands", "totals"])
@pytest.mark.parametrize("rows, reference_value", [((7, 8, 9), 1), ((10, 11, 12), 100)])
def test_isratio_reproduces_the_reference(reference, assert_close, reference_from, observed_from,
                                          rows, reference_value):
    data, ref = _isr_inputs(reference, reference_from)
    expected = _expected_rows(reference("isr_expected.csv"), rows)
    assert len(expected) == 3
    estimate = smr(populations=data["pop"], confidence=BOTH, reference_value=reference_value,
                   **_observed(reference, data, observed_from), **ref)
    _check(estimate, expected, assert_close, ("observed", "expected"))


@pytest.mark.parametrize("function, rows, option", [
    (isr, (13, 14), {}), (smr, (15, 16), {"reference_value": 100})])
def test_a_band_with_no_population_adds_no_expected_events(reference, assert_close, function,
                                                           rows, option):
    data = _by_area(reference("isr_input_zero_pop_band.csv"), ("Area1", "Area2"),
                    ("count", "pop"))
    assert data["pop"][0, 1] == 0
    refdata = reference("isr_refdata.csv")
    expected = _expected_rows(reference("isr_expected.csv"), rows)
    assert len(expected) == 2
    estimate = function(data["count"], data["pop"], refdata.numbers("refcount"),
                        refdata.numbers("refpop"), **option)
    workings = ("observed", "expected", "ref_rate") if function is isr else ("observed", "expected")
    _check(estimate, expected, assert_close, workings, limit_columns=LIMIT_COLUMNS[:2])


def test_small_observed_counts_use_exact_limits():
    exact = smr(observed_total=[9, 10], counts=None, populations=np.full(19, 1000.0),
                reference_counts=np.full(19, 1.0), reference_populations=np.full(19, 1000.0))
    assert list(exact.method) == ["Exact", "Byars"]


def test_reference_populations_must_be_positive():
    with pytest.raises(ValueError, match="reference populations"):
        isr(np.ones(19), np.ones(19), np.ones(19), np.r_[0.0, np.ones(18)])


def test_observed_events_are_given_one_way_only():
    with pytest.raises(ValueError, match="not both"):
        smr(np.ones(19), np.ones(19), np.ones(19), np.ones(19), observed_total=19)


def test_data_readme_names_the_source_and_year_of_every_data_file():
    import triangulate.stats as stats
    from pathlib import Path

    folder = Path(stats.__file__).parent / "data"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for path in folder.glob("*.csv"):
        section = readme.split(f"## `{path.name}`", 1)
        assert len(section) == 2, f"{path.name} is not described in data/README.md"
        body = section[1].split("\n## ", 1)[0]
        assert "**Source**" in body and "**Year**" in body, path.name
        with path.open(newline="") as handle:
            assert next(csv.reader(handle)), path.name


def test_dsr_ratio_worked_by_hand():
    """Two bands of weight 1. Group a: 10 of 100 and 20 of 100, DSR 0.15; reference b: 10 of 200 and
    10 of 100, DSR 0.075; ratio 2. var_a = (10/100² + 20/100²)/4, var_b = (10/200² + 10/100²)/4."""
    from triangulate.stats import dsr_ratio

    got = dsr_ratio([10, 20], [100, 100], [10, 10], [200, 100], standard=[1, 1], confidence=(0.95, 0.998))
    var_a, var_b = (10 / 100**2 + 20 / 100**2) / 4, (10 / 200**2 + 10 / 100**2) / 4
    se = math.sqrt(var_a / 0.15**2 + var_b / 0.075**2)
    assert float(got.value) == pytest.approx(2.0)
    assert float(got.lower) == pytest.approx(2 * math.exp(-1.959963984540054 * se))
    assert float(got.upper) == pytest.approx(2 * math.exp(1.959963984540054 * se))
    wide = got.limits[0.998]
    assert float(wide.lower) == pytest.approx(2 * math.exp(-3.090232306167813 * se))


def test_dsr_ratio_of_equal_age_specific_rates_is_one_whatever_the_age_structure():
    """Crude rates differ (the group is younger) but each age's rate is the same: the ratio is 1."""
    from triangulate.stats import dsr_ratio

    got = dsr_ratio([90, 10], [900, 100], [20, 80], [200, 800], standard=[3, 7])
    assert float(got.value) == pytest.approx(1.0)
    assert float(got.lower) < 1 < float(got.upper)
    few = dsr_ratio([5, 1], [900, 100], [20, 80], [200, 800], standard=[3, 7])  # 6 events: under the minimum of 10
    assert math.isnan(float(few.value))
