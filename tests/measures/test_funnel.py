"""The L&D funnel: worked by hand on a tiny store, and against plain SQL on the synthetic store."""

import duckdb
import pytest

from .conftest import figures


def _funnel(store, **view):
    return {(s, step): r for (s, step, b), r in
            figures(store, "ld_funnel", ("ld_setting", "step", "breakdown"), **view).items() if b == "all"}


def test_funnel_counts_people_at_each_step_worked_by_hand(tiny):
    # P1: screened and referred on one record (no assessment), assessed on a second (a repeat attendee).
    # P2: screened only, known to services. P3: identified only. P4: at court, screened, assessed,
    # referred, engaged, information shared, diverted within. P5: screened, assessed, information shared,
    # diverted out, not referred. P6: assessed with no screening recorded (not a nested step 3).
    tiny.record("liaison_diversion", "P1", setting="police_custody", screening_date="2023-06-01",
                referral_date="2023-06-02", known_to_mental_health="N")
    tiny.record("liaison_diversion", "P1", setting="police_custody", assessment_date="2023-07-01")
    tiny.record("liaison_diversion", "P2", setting="police_custody", screening_date="2023-06-01",
                known_to_mental_health="Y")
    tiny.record("liaison_diversion", "P3", setting="police_custody")
    tiny.record("liaison_diversion", "P4", setting="court", screening_date="2023-06-01",
                assessment_date="2023-06-01", referral_date="2023-06-02", referral_engaged="Y",
                information_shared="Y", information_shared_with="court", diversion_outcome="within_justice")
    tiny.record("liaison_diversion", "P5", setting="police_custody", screening_date="2023-06-01",
                assessment_date="2023-06-02", information_shared="Y", information_shared_with="police",
                diversion_outcome="out_of_justice")
    tiny.record("liaison_diversion", "P6", setting="police_custody", assessment_date="2023-06-02",
                information_shared="N")
    tiny.record("liaison_diversion", None, setting="police_custody", screening_date="2023-06-01")
    got = _funnel(tiny.close())
    custody = {step: row["people"] for (setting, step), row in got.items() if setting == "police_custody"}
    assert custody == {
        "1 identified": 5, "2 screened": 3, "3 assessed": 1, "4 referred": 0, "5 engaged": 0,
        "information shared": 1, "diverted out of the justice system": 1, "diverted within the justice system": 0,
        "referred without a recorded assessment": 1,
        "known to mental health services": 1, "repeat attendee (2 or more L&D records)": 1,
    }
    assert got[("police_custody", "2 screened")]["percent_of_identified"] == pytest.approx(60.0, abs=0.05)
    # Nested: each step a share of the one before; outcomes a share of those assessed.
    assert got[("police_custody", "3 assessed")]["percent_of_previous_step"] == pytest.approx(100 / 3, abs=0.05)
    assert got[("police_custody", "information shared")]["percent_of_previous_step"] == pytest.approx(100.0)
    assert got[("police_custody", "referred without a recorded assessment")]["percent_of_previous_step"] == \
        pytest.approx(100 / 3, abs=0.05)
    court = {step: row["people"] for (setting, step), row in got.items() if setting == "court"}
    assert court["5 engaged"] == court["1 identified"] == court["diverted within the justice system"] == 1
    assert got[("court", "5 engaged")]["percent_of_previous_step"] == pytest.approx(100.0)


def test_funnel_in_one_year_matches_plain_sql_on_the_synthetic_store(synthetic):
    got = _funnel(synthetic["store"], year="2023/24")
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    expected = con.sql(
        """SELECT setting, count(DISTINCT person_key),
                  count(DISTINCT person_key) FILTER (WHERE screening_date IS NOT NULL),
                  count(DISTINCT person_key) FILTER (WHERE referral_engaged = 'Y' AND referral_date IS NOT NULL
                                                      AND assessment_date IS NOT NULL AND screening_date IS NOT NULL),
                  count(DISTINCT person_key) FILTER (WHERE information_shared = 'Y' AND assessment_date IS NOT NULL
                                                      AND screening_date IS NOT NULL)
           FROM content.liaison_diversion WHERE person_key IS NOT NULL
             AND identification_date BETWEEN DATE '2023-04-01' AND DATE '2024-03-31' GROUP BY 1"""
    ).fetchall()
    con.close()
    assert len(expected) == 3
    for setting, identified, screened, engaged, shared in expected:
        assert got[(setting, "1 identified")]["people"] == identified
        assert got[(setting, "2 screened")]["people"] == screened
        assert got[(setting, "5 engaged")]["people"] == engaged
        assert got[(setting, "information shared")]["people"] == shared
    # The funnel nests on the synthetic store too: no step above the one before.
    for (setting, step), row in got.items():
        if step[0].isdigit() and step != "1 identified":
            assert row["percent_of_previous_step"] is not None and row["percent_of_previous_step"] <= 100


def test_a_store_made_before_standard_1_2_is_measured_as_it_is(tiny):
    """A store whose L&D table predates the outcome fields is read without a migration: no outcomes."""
    tiny.record("liaison_diversion", "P1", setting="police_custody", screening_date="2023-06-01",
                assessment_date="2023-06-02")
    store = tiny.close()
    con = duckdb.connect(str(store))
    for column in ("information_shared", "information_shared_with", "diversion_outcome"):
        con.execute(f"ALTER TABLE content.liaison_diversion DROP COLUMN {column}")
    con.close()
    got = _funnel(store)
    assert got[("police_custody", "3 assessed")]["people"] == 1
    assert got[("police_custody", "information shared")]["people"] == 0
