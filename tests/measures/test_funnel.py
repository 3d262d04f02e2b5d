"""The L&D funnel: worked by hand on a tiny store, and against plain SQL on the synthetic store."""

import duckdb
import pytest

from .conftest import figures


def _funnel(store, **view):
    return {(s, step): r for (s, step, b), r in
            figures(store, "ld_funnel", ("ld_setting", "step", "breakdown"), **view).items() if b == "all"}


def test_funnel_counts_people_at_each_step_worked_by_hand(tiny):
    # P1: screened and referred on one record, assessed on a second (a repeat attendee).
    # P2: screened only, known to services. P3: identified only. P4: at court, engaged.
    tiny.record("liaison_diversion", "P1", setting="police_custody", screening_date="2023-06-01",
                referral_date="2023-06-02", known_to_mental_health="N")
    tiny.record("liaison_diversion", "P1", setting="police_custody", assessment_date="2023-07-01")
    tiny.record("liaison_diversion", "P2", setting="police_custody", screening_date="2023-06-01",
                known_to_mental_health="Y")
    tiny.record("liaison_diversion", "P3", setting="police_custody")
    tiny.record("liaison_diversion", "P4", setting="court", screening_date="2023-06-01",
                referral_date="2023-06-02", referral_engaged="Y")
    tiny.record("liaison_diversion", None, setting="police_custody", screening_date="2023-06-01")
    got = _funnel(tiny.close())
    custody = {step: row["people"] for (setting, step), row in got.items() if setting == "police_custody"}
    assert custody == {
        "1 identified": 3, "2 screened": 2, "3 assessed": 1, "4 referred": 1, "5 engaged": 0,
        "known to mental health services": 1, "repeat attendee (2 or more L&D records)": 1,
    }
    assert got[("police_custody", "2 screened")]["percent_of_identified"] == pytest.approx(200 / 3, abs=0.05)
    assert got[("court", "5 engaged")]["people"] == got[("court", "1 identified")]["identified"] == 1


def test_funnel_in_one_year_matches_plain_sql_on_the_synthetic_store(synthetic):
    got = _funnel(synthetic["store"], year="2023/24")
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    expected = con.sql(
        """SELECT setting, count(DISTINCT person_key),
                  count(DISTINCT person_key) FILTER (WHERE screening_date IS NOT NULL),
                  count(DISTINCT person_key) FILTER (WHERE referral_engaged = 'Y')
           FROM content.liaison_diversion WHERE person_key IS NOT NULL
             AND identification_date BETWEEN DATE '2023-04-01' AND DATE '2024-03-31' GROUP BY 1"""
    ).fetchall()
    con.close()
    assert len(expected) == 3
    for setting, identified, screened, engaged in expected:
        assert got[(setting, "1 identified")]["people"] == identified
        assert got[(setting, "2 screened")]["people"] == screened
        assert got[(setting, "5 engaged")]["people"] == engaged
