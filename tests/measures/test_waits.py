"""The wait from an L&D referral to a first mental health contact, and people by first language,
worked by hand on tiny stores; the grouped median against a hand-worked example."""

import math

import numpy as np
import pytest

from triangulate.stats import grouped_median

from .conftest import figures


def _all(store, name, keys):
    rows = figures(store, name, keys + ("breakdown", "group"))
    return {k[:-2]: r for k, r in rows.items() if k[-2] == "all"}


def test_waits_count_each_persons_first_referral_to_their_first_contact_after_it(tiny):
    def referred(person, day, destination="community_mental_health", area="E09000001"):
        tiny.record("liaison_diversion", person, date=day, area=area, referral_date=day,
                    referral_destination=destination)

    def contact(person, day, record_type="contact"):
        tiny.record("mental_health", person, date=day, record_type=record_type, team_type="community_mental_health")

    referred("P1", "2023-05-01"); contact("P1", "2023-05-06")            # 5 days
    referred("P2", "2023-05-01"); contact("P2", "2023-04-01"); contact("P2", "2023-05-21")  # earlier one ignored: 20
    referred("P3", "2023-05-01"); contact("P3", "2023-05-02", "referral"); contact("P3", "2023-06-30")  # 60
    referred("P4", "2023-05-01")                                          # never seen within 91 days
    referred("P5", "2023-05-01"); referred("P5", "2023-06-01"); contact("P5", "2023-06-03")  # first referral: 33
    referred("P6", "2023-05-01", destination="housing"); contact("P6", "2023-05-02")        # not mental health
    referred("P7", "2023-11-01"); contact("P7", "2023-11-02")            # under 91 days before the data end
    contact("P9", "2023-12-31")                                           # the mental health data's end
    row = _all(tiny.close(), "ld_mh_wait", ())[()]
    assert row["referred"] == 5
    assert [row[f"seen_within_{d}"] for d in (7, 28, 91)] == [1, 2, 4]
    assert row["percent_within_28_days"] == pytest.approx(40.0)
    # Grouped median of 5: rank 2.5 lies in the 29-91 day band (2 within 28, 4 within 91):
    # 28 + (2.5 - 2) / (4 - 2) * 63 = 43.75 days.
    assert row["median_days"] == pytest.approx(43.75)


def test_people_are_counted_under_their_usual_first_language_and_interpreter_need(tiny):
    tiny.record("police_custody", "P1", first_language="pl", interpreter_needed="Y")
    tiny.record("court_appearance", "P1", date="2023-07-01", first_language="pl")
    tiny.record("police_custody", "P2", first_language="en")
    tiny.record("prison_custody", "P3", first_language="so")
    tiny.record("probation_supervision", "P3", date="2023-08-01", first_language="so")
    tiny.record("probation_supervision", "P3", date="2023-09-01", first_language="ar")  # less often: not counted
    tiny.record("police_custody", "P4")
    tiny.record("mental_health", "P5", first_language="ur", record_type="contact")  # not a justice agency
    rows = _all(tiny.close(), "language_need", ("language",))
    people = {k[0]: r["people"] for k, r in rows.items() if r["people"]}
    assert people == {"pl": 1, "so": 1, "interpreter needed": 1}
    assert {r["seen"] for r in rows.values()} == {4}
    assert rows[("pl",)]["percent_of_seen"] == pytest.approx(25.0)


def test_the_grouped_median_and_its_interval_by_hand():
    # 100 people: 10 within 7 days, 30 within 14, 60 within 28, 80 within 56, 90 within 91.
    got = grouped_median([[10, 30, 60, 80, 90]], [100], (7, 14, 28, 56, 91))
    # Median rank 50: 14 + (50 - 30) / (60 - 30) * 14 = 23.33 days.
    assert got.value[0] == pytest.approx(14 + 20 / 30 * 14)
    # Ranks 50 -/+ 1.96 * 10 / 2 = 40.2 and 59.8, both in the 15-28 day band.
    half = 1.959963984540054 * math.sqrt(100) / 2
    assert got.lower[0] == pytest.approx(14 + (50 - half - 30) / 30 * 14)
    assert got.upper[0] == pytest.approx(14 + (50 + half - 30) / 30 * 14)


def test_a_median_beyond_the_last_band_or_from_a_withheld_count_is_missing():
    got = grouped_median([[1, 2, 3, 4, 5], [1, np.nan, 3, 4, 5], [1, 2, 3, 4, 5]], [20, 10, 0], (7, 14, 28, 56, 91))
    assert np.isnan(got.value).all() and np.isnan(got.lower).all() and np.isnan(got.upper).all()
