"""Rate ratios and the relative rate index, against examples worked by hand in each test.

The hand working uses only the standard library (``math``, ``statistics.NormalDist``), not
scipy, so a mistake in the module's z-values or formula cannot hide in the expectation.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from triangulate.stats import (
    describe_per_100_reference,
    per_100_reference,
    rate_ratio,
    relative_rate_index,
)

Z_95 = NormalDist().inv_cdf(0.975)  # 1.959964
Z_998 = NormalDist().inv_cdf(0.999)  # 3.090232


def test_rate_ratio_worked_by_hand():
    # 30 events in 10,000 person-years against 20 in 20,000:
    # RR = (30/10000) / (20/20000) = 0.003 / 0.001 = 3
    # SE(log RR) = sqrt(1/30 + 1/20) = sqrt(0.0833…) = 0.288675
    # 95% limits = 3 × exp(∓1.959964 × 0.288675) = 3 × exp(∓0.565793) = 1.70373 and 5.28253
    estimate = rate_ratio(30, 10_000, 20, 20_000)
    se = math.sqrt(1 / 30 + 1 / 20)
    assert estimate.value == pytest.approx(3.0, rel=1e-12)
    assert estimate.lower == pytest.approx(3 * math.exp(-Z_95 * se), rel=1e-12)
    assert estimate.upper == pytest.approx(3 * math.exp(Z_95 * se), rel=1e-12)
    assert (round(float(estimate.lower), 5), round(float(estimate.upper), 5)) == (1.70373, 5.28253)
    assert estimate.workings["rate_a"] == pytest.approx(0.003)
    assert estimate.method == "log-normal (Poisson counts)"


def test_rate_ratio_with_zero_counts_has_no_interval():
    estimate = rate_ratio([0, 5, 5], [100, 100, 100], [5, 0, 5], [100, 100, 100])
    assert estimate.value[0] == 0 and np.isnan(estimate.value[1]) and estimate.value[2] == 1
    assert np.isnan(estimate.lower[:2]).all() and np.isnan(estimate.upper[:2]).all()
    assert list(estimate.method) == [None, None, "log-normal (Poisson counts)"]


def test_relative_rate_index_worked_by_hand():
    # At remand: 120 of 400 Black defendants against 300 of 2,000 White defendants.
    # Rates 0.30 and 0.15, so RRI = 2.0.
    # Katz: SE(log RRI) = sqrt(1/120 − 1/400 + 1/300 − 1/2000) = sqrt(0.0086667) = 0.0930949
    # 95%:   2 × exp(∓1.959964 × 0.0930949) = 1.66643 and 2.40034
    # 99.8%: 2 × exp(∓3.090232 × 0.0930949) = 1.50000 and 2.66667
    rri = relative_rate_index(120, 400, 300, 2000, confidence=(0.95, 0.998))
    se = math.sqrt(1 / 120 - 1 / 400 + 1 / 300 - 1 / 2000)
    assert rri.value == pytest.approx(2.0, rel=1e-12)
    assert rri.lower == pytest.approx(2 * math.exp(-Z_95 * se), rel=1e-12)
    assert rri.upper == pytest.approx(2 * math.exp(Z_95 * se), rel=1e-12)
    assert rri.at(0.998).lower == pytest.approx(2 * math.exp(-Z_998 * se), rel=1e-12)
    assert (round(float(rri.lower), 5), round(float(rri.upper), 5)) == (1.66643, 2.40034)
    assert (round(float(rri.at(0.998).lower), 5), round(float(rri.at(0.998).upper), 5)) == (
        1.5, 2.66667)
    assert rri.significance == "significantly higher" and rri.significant
    assert rri.workings["group_rate"] == 0.3 and rri.workings["reference_rate"] == 0.15


def test_relative_rate_index_not_significant_and_lower():
    # 16 of 100 against 15 of 100: RRI 1.0667, SE sqrt(1/16 − 1/100 + 1/15 − 1/100) = 0.330404,
    # 95% limits 0.55820 to 2.03830: includes 1.
    # 5 of 100 against 30 of 100: RRI 0.16667, SE sqrt(1/5 − 1/100 + 1/30 − 1/100) = 0.46667…,
    # 95% limits 0.06741 to 0.41210: wholly below 1.
    rri = relative_rate_index([16, 5], [100, 100], [15, 30], [100, 100])
    np.testing.assert_allclose(rri.value, [16 / 15, 1 / 6], rtol=1e-12)
    np.testing.assert_allclose(rri.lower, [0.55820, 0.06741], atol=5e-6)
    np.testing.assert_allclose(rri.upper, [2.03830, 0.41210], atol=5e-6)
    assert list(rri.significance) == ["not significant", "significantly lower"]
    assert list(rri.significant) == [False, True]


def test_relative_rate_index_zero_and_missing_counts_are_flagged_not_hidden():
    rri = relative_rate_index([0, 10, 0, np.nan], [50, 50, 50, 50], [20, 0, 0, 20],
                              [100, 100, 100, 100])
    assert rri.value[0] == 0  # no events in the group: a rate of 0 is a real finding
    assert np.isnan(rri.value[1:]).all()
    assert np.isnan(rri.lower).all() and np.isnan(rri.upper).all()
    assert list(rri.significance) == [
        "no interval: no events in the group",
        "no interval: no events in the reference group",
        "no interval: no events in the reference group",
        "no interval: missing data",
    ]
    assert not rri.significant.any()
    assert list(rri.method) == [None, None, None, None]


def test_relative_rate_index_refuses_events_beyond_their_base():
    with pytest.raises(ValueError, match="use rate_ratio"):
        relative_rate_index(60, 50, 10, 100)
    with pytest.raises(ValueError, match="bases must be greater than zero"):
        relative_rate_index(0, 0, 10, 100)


def test_per_100_reference_reads_an_rri_as_the_lammy_review_did():
    # The Lammy Review (2017): 227 Black women for every 100 White women sentenced to custody at
    # the Crown Court for drug offences. Illustrative counts giving that RRI: 227 of 1,000
    # convicted Black women and 100 of 1,000 convicted White women sent to custody.
    rri = relative_rate_index(227, 1000, 100, 1000)
    assert rri.value == pytest.approx(2.27, rel=1e-12)
    assert per_100_reference(rri.value) == 227
    assert describe_per_100_reference(rri.value, "Black women", "White women") == (
        "227 Black women for every 100 White women")
    sentences = describe_per_100_reference([0.5, np.nan, 12.3456], "Asian men", "White men")
    assert list(sentences) == ["50 Asian men for every 100 White men",
                               "not calculated for Asian men against White men",
                               "1,235 Asian men for every 100 White men"]
    assert np.isnan(per_100_reference(np.nan))
