"""The disclosure rule on one count at a time: presets, rounding, suppression, validation."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triangulate.disclosure import NHS_ENGLAND, ONS_SRO, DisclosureRule, preset, presets

from .conftest import possible_true_counts


def test_presets_come_from_the_data_file_with_their_sources():
    assert set(presets()) == {"nhs_england", "ons_sro"}
    assert preset("nhs_england") is NHS_ENGLAND
    assert "2018" in NHS_ENGLAND.source and "digital.nhs.uk" in NHS_ENGLAND.source
    assert "2022" in ONS_SRO.source and "Secure Research Service" in ONS_SRO.source
    with pytest.raises(ValueError, match="no disclosure rule called 'nhs'"):
        preset("nhs")


def test_nhs_england_rule_matches_the_domain_primer():
    # Domain primer: counts of 1-7 suppressed, all other counts rounded to the nearest 5, 0 shown.
    assert (NHS_ENGLAND.suppress_below, NHS_ENGLAND.rounding_base, NHS_ENGLAND.publish_zero) == (8, 5, True)
    # ONS secure research output checking: threshold 10, rounding not required.
    assert (ONS_SRO.suppress_below, ONS_SRO.rounding_base) == (10, None)


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, None), (7, None), (8, 10), (12, 10), (13, 15), (17, 15), (18, 20), (22, 20), (23, 25), (1002, 1000)],
)
def test_nhs_england_shows_counts_by_hand(count, shown):
    assert NHS_ENGLAND.shown_count(count) == shown


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, None), (9, None), (10, 10), (11, 11), (437, 437)])
def test_ons_shows_counts_by_hand(count, shown):
    assert ONS_SRO.shown_count(count) == shown


def test_what_a_reader_learns_from_a_published_number():
    assert NHS_ENGLAND.possible_counts(0) == (0, 0)
    assert NHS_ENGLAND.possible_counts(10) == (8, 12)
    assert NHS_ENGLAND.possible_counts(15) == (13, 17)
    assert ONS_SRO.possible_counts(37) == (37, 37)
    ons_rounded = dataclasses.replace(ONS_SRO, name="ons_rounded", rounding_base=5)
    # 8 and 9 would round to 10 but are suppressed, so a published 10 means 10, 11 or 12.
    assert ons_rounded.possible_counts(10) == (10, 12)
    with pytest.raises(ValueError, match="never shows"):
        NHS_ENGLAND.possible_counts(12)
    with pytest.raises(ValueError, match="never shows"):
        NHS_ENGLAND.possible_counts(5)


def test_a_count_above_the_threshold_is_never_shown_below_it():
    # Threshold 12, base 5: plain rounding would show 12 as 10, a number a reader takes as small.
    rule = DisclosureRule("odd", "threshold 12, base 5", suppress_below=12, rounding_base=5)
    assert [rule.shown_count(n) for n in (11, 12, 14, 17, 18)] == [None, 15, 15, 15, 20]
    assert rule.possible_counts(15) == (12, 17)
    # Threshold 3, base 10: 3 would round to 0; it is shown as 10 so that 0 always means none.
    rule = DisclosureRule("coarse", "threshold 3, base 10", suppress_below=3, rounding_base=10)
    assert [rule.shown_count(n) for n in (0, 2, 3, 14, 15)] == [0, None, 10, 10, 20]
    assert rule.possible_counts(10) == (3, 14)


def test_half_up_rounding_with_an_even_base():
    rule = DisclosureRule("even", "base 10", suppress_below=3, rounding_base=10)
    assert [rule.shown_count(n) for n in (24, 25, 34, 35)] == [20, 30, 30, 40]


def test_zero_can_be_suppressed_with_the_small_counts():
    rule = dataclasses.replace(NHS_ENGLAND, name="no_zeros", publish_zero=False)
    assert rule.shown_count(0) is None
    assert rule.is_small(0) and not NHS_ENGLAND.is_small(0)
    assert rule.smallest_suppressed_count == 0 and NHS_ENGLAND.smallest_suppressed_count == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"suppress_below": 2}, "symbol would reveal"),
        ({"suppress_below": 1, "publish_zero": False}, "symbol would reveal"),
        ({"suppress_below": 0}, "at least 1"),
        ({"suppress_below": 7.5}, "whole number"),
        ({"rounding_base": 1}, "at least 2"),
        ({"suppressed_symbol": "0"}, "not a number"),
        ({"suppressed_symbol": ""}, "non-empty"),
        ({"name": ""}, "needs a name"),
    ],
)
def test_rules_that_cannot_protect_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(NHS_ENGLAND, **changes)


def test_a_rule_that_suppresses_nothing_is_allowed():
    rounding_only = DisclosureRule("rounding_only", "round to 5, suppress nothing", suppress_below=1, rounding_base=5)
    assert rounding_only.shown_count(1) == 5 and rounding_only.shown_count(2) == 5 and rounding_only.shown_count(0) == 0


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        NHS_ENGLAND.shown_count(-1)


@st.composite
def rules(draw) -> DisclosureRule:
    publish_zero = draw(st.booleans())
    suppress_below = draw(st.integers(2 if not publish_zero else 3, 20))
    base = draw(st.one_of(st.none(), st.integers(2, 12)))
    return DisclosureRule("random", "random rule", suppress_below, base, publish_zero)


@settings(max_examples=300, deadline=None)
@given(rule=rules(), count=st.integers(0, 3000))
def test_every_shown_count_obeys_the_rule(rule, count):
    shown = rule.shown_count(count)
    if 0 < count < rule.suppress_below or (count == 0 and not rule.publish_zero):
        assert shown is None
        return
    assert shown is not None
    assert not 0 < shown < rule.suppress_below
    assert (shown == 0) == (count == 0)
    if rule.rounds:
        assert shown % rule.rounding_base == 0
        # Within half a base of the truth, unless lifted to the smallest number shown.
        assert abs(shown - count) * 2 <= rule.rounding_base or (shown == rule.smallest_shown_count and count < shown)
    else:
        assert shown == count
    lowest, highest = rule.possible_counts(shown)
    assert lowest <= count <= highest
    assert (lowest, highest) == possible_true_counts(rule, shown)
