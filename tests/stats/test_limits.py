"""The building blocks: Wilson, Byar's and exact Poisson limits (byars_wilson.csv, properties)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triangulate.stats import (
    byars_lower,
    byars_upper,
    exact_poisson_lower,
    exact_poisson_upper,
    wilson_lower,
    wilson_upper,
)


def test_byars_and_wilson_reproduce_the_reference(reference, assert_close):
    table = reference("byars_wilson.csv")
    assert len(table) == 13
    for row, x, n, lower, upper in zip(table.rows, table.numbers("x"), table.numbers("n"),
                                       table.numbers("lowercl"), table.numbers("uppercl")):
        confidence = float(row["confidence"].rstrip("%")) / 100
        if row["method"] == "Byars":
            got = (byars_lower(x, confidence), byars_upper(x, confidence))
        else:
            got = (wilson_lower(x, n, confidence), wilson_upper(x, n, confidence))
        assert_close(got[0], lower, what=f"case {row['case']} lower")
        assert_close(got[1], upper, what=f"case {row['case']} upper")


def test_negative_byar_lower_limit_is_missing_not_negative():
    # x = 1 at 99.8%: 1 − 1/9 − 3.09/3 < 0, so the cube is negative (reference case 13).
    assert np.isnan(byars_lower(1, 0.998))
    assert byars_lower(1, 0.95) > 0


def test_building_blocks_are_vectorised_and_missing_stays_missing():
    lower = byars_lower([65, np.nan, 1045], 0.95)
    assert lower.shape == (3,) and np.isnan(lower[1]) and np.all(np.isfinite(lower[[0, 2]]))
    w = wilson_upper([[1, 2], [3, np.nan]], 10)
    assert w.shape == (2, 2) and np.isnan(w[1, 1])


def test_exact_limits_of_zero_events():
    # A zero count has lower limit 0 and upper limit −ln(0.025) = 3.689 at 95% (χ²(0.975; 2)/2).
    assert exact_poisson_lower(0) == 0
    assert exact_poisson_upper(0) == pytest.approx(-math.log(0.025), rel=1e-12)


@pytest.mark.parametrize("call", [
    lambda: wilson_lower(11, 10),
    lambda: wilson_lower(-1, 10),
    lambda: wilson_upper(1, 0),
    lambda: byars_upper(-3),
    lambda: exact_poisson_lower(-1),
    lambda: byars_lower(5, confidence=0.8),
    lambda: byars_lower(5, confidence=1.0),
])
def test_impossible_inputs_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_confidence_as_a_percentage_is_the_same_as_a_fraction():
    assert wilson_lower(65, 100, 99.8) == wilson_lower(65, 100, 0.998)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 10**7), share=st.floats(0, 1))
def test_wilson_interval_contains_the_proportion_and_stays_in_0_to_1(n, share):
    x = round(share * n)
    lower, upper = wilson_lower(x, n, 0.95), wilson_upper(x, n, 0.95)
    assert 0 <= lower <= x / n + 1e-12
    assert x / n - 1e-12 <= upper <= 1
    assert wilson_lower(x, n, 0.998) <= lower + 1e-12 and wilson_upper(x, n, 0.998) >= upper - 1e-12


@settings(max_examples=60, deadline=None)
@given(x=st.integers(0, 10**6))
def test_exact_limits_bracket_the_count_and_byar_approaches_them(x):
    lower, upper = exact_poisson_lower(x), exact_poisson_upper(x)
    assert lower <= x <= upper
    if x >= 10:
        # Byar's is an approximation to exactly these limits: within 1% from 10 events.
        assert byars_lower(x) == pytest.approx(lower, rel=1e-2)
        assert byars_upper(x) == pytest.approx(upper, rel=1e-2)


def test_wilson_upper_limit_of_all_events_is_exactly_one():
    # Found by hypothesis: without clamping, 262143 of 262143 gave 1.0000000000000002.
    assert wilson_upper(262143, 262143) == 1.0
    assert wilson_lower(0, 262143) == 0.0
