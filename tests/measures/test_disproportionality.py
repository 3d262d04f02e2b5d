"""The RRI matrix: worked by hand on a tiny store, and against plain SQL on the synthetic store."""

import math

import duckdb
import pytest

from triangulate.measures.disproportionality import MINIMUM_BASE, MINIMUM_EVENTS

from .conftest import figures

Z95 = 1.959963984540054
BLACK = "Black, Black British, Black Welsh, Caribbean or African"
WHITE_BRITISH_19 = "White: English, Welsh, Scottish, Northern Irish or British"


#: Ratios are published to 2 decimal places.
RATIO = 0.005


def _rri(store, **view):
    return figures(store, "disproportionality", ("decision_point", "breakdown", "group"), **view)


def _katz(a, n_a, c, n_c):
    rri = (a / n_a) / (c / n_c)
    se = math.sqrt(1 / a - 1 / n_a + 1 / c - 1 / n_c)
    return rri, rri * math.exp(-Z95 * se), rri * math.exp(Z95 * se)


@pytest.fixture
def pathway(tiny):
    # Residents: 10,000 White British (ONS 13), 1,000 Black African (6), 100 Indian (3).
    tiny.population(13, 10_000)
    tiny.population(6, 1_000)
    tiny.population(3, 100)
    # Police custody: 100 White British, 60 Black African, 2 Indian people.
    # Court: 50 of the White British and 45 of the Black African people from custody, plus one
    # Black African person at court who was never in custody (not an event at that point).
    for i in range(100):
        tiny.record("police_custody", f"W{i}", ethnicity="A")
        if i < 50:
            tiny.record("court_appearance", f"W{i}", ethnicity="A")
    for i in range(60):
        tiny.record("police_custody", f"B{i}", ethnicity="N")
        if i < 45:
            tiny.record("court_appearance", f"B{i}", ethnicity="N")
    tiny.record("court_appearance", "B-summons", ethnicity="N")
    for i in range(2):
        tiny.record("police_custody", f"I{i}", ethnicity="H")
    return tiny.close()


def test_rri_at_first_contact_and_at_court_worked_by_hand(pathway):
    got = _rri(pathway)
    custody = got[("police_custody", "ethnic_group_19", "Black: African")]
    assert (custody["events"], custody["base"]) == (60, 1000)
    assert custody["reference_group"] == WHITE_BRITISH_19
    reference = got[("police_custody", "ethnic_group_19", WHITE_BRITISH_19)]
    assert (reference["events"], reference["base"]) == (100, 10_000)
    rri, lower, upper = _katz(60, 1000, 100, 10_000)
    assert rri == pytest.approx(6.0)
    assert custody["rri"] == pytest.approx(rri, abs=RATIO)
    assert (custody["lower_95"], custody["upper_95"]) == (pytest.approx(lower, abs=RATIO), pytest.approx(upper, abs=RATIO))
    assert custody["significance"] == "significantly higher"
    assert reference["rri"] is None and reference["significance"] == "reference group"  # never against itself

    court = got[("court", "ethnic_group_19", "Black: African")]
    assert (court["events"], court["base"]) == (45, 60)  # the summons case is not counted
    assert court["rri"] == pytest.approx((45 / 60) / (50 / 100), abs=RATIO)
    assert court["rri"] == pytest.approx(1.5)
    # Against White, the reference here is the same people as White British.
    white = got[("court", "ethnic_group_5", BLACK)]
    assert white["reference_group"] == "White" and white["rri"] == pytest.approx(1.5)


def test_minimum_volume_rule_withholds_unstable_rris(pathway):
    got = _rri(pathway)
    indian = got[("police_custody", "ethnic_group_5", "Asian, Asian British or Asian Welsh")]
    assert indian["events"] == 2 < MINIMUM_EVENTS
    assert indian["rri"] is None and indian["lower_95"] is None
    assert indian["significance"].startswith("not calculated: minimum volume")
    # Court for Indian people: a base of 2 people, under the minimum base.
    indian_court = got[("court", "ethnic_group_5", "Asian, Asian British or Asian Welsh")]
    assert indian_court["base"] == 2 < MINIMUM_BASE
    assert indian_court["rri"] is None


def test_first_contact_rri_in_one_year_matches_plain_sql_on_the_synthetic_store(synthetic, sql):
    """Police custody per resident aged 10 and over (the census bands from 10-14 up)."""
    got = _rri(synthetic["store"], year="2023/24")
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    sql.resolved_ethnic_group(con)
    events = {
        r["g"]: r["k"]
        for r in sql.rows(
            con,
            """SELECT g.ethnic_group_5 AS g, count(DISTINCT c.person_key) AS k
               FROM content.police_custody c JOIN person_group g USING (person_key)
               WHERE c.arrival_date BETWEEN DATE '2023-04-01' AND DATE '2024-03-31' GROUP BY 1""",
        )
    }
    population = {
        r["g"]: int(r["n"])
        for r in sql.rows(
            con,
            f"""SELECT o.high_level_group AS g, sum(p.population) AS n FROM content.population p
                JOIN read_csv('{sql.crosswalk_path().replace("ethnicity.csv", "ons_ethnic_group.csv")}') o
                  ON o.code = p.ons_ethnic_group
                WHERE p.year = 2021 AND p.age_band NOT IN ('0-4', '5-9') GROUP BY 1""",  # residents aged 10+
        )
    }
    con.close()
    checked = 0
    for group, n in population.items():
        row = got[("police_custody", "ethnic_group_5", group)]
        assert (row["events"], row["base"]) == (events.get(group, 0), n)
        if events.get(group, 0) >= MINIMUM_EVENTS and group != "White":
            rri, lower, upper = _katz(events[group], n, events["White"], population["White"])
            assert row["rri"] == pytest.approx(rri, abs=RATIO)
            assert row["lower_95"] == pytest.approx(lower, abs=RATIO)
            checked += 1
    assert checked >= 3


def test_custodial_sentence_is_per_person_sentenced_and_both_limits_are_given(tiny):
    """At court: 100 White and 100 Black people. Sentenced: 80 White and 60 Black. Immediate custody:
    16 of the 80 White and 24 of the 60 Black, so the RRI is (24/60)/(16/80) = 2.0 (per person at
    court it would have been (24/100)/(16/100) = 1.5)."""
    for prefix, ethnicity, sentenced, custody in (("W", "A", 80, 16), ("B", "N", 60, 24)):
        for i in range(100):
            outcome = "sentenced" if i < sentenced else "bail"
            sentence = "immediate_custody" if i < custody else ("fine" if i < sentenced else None)
            tiny.record("court_appearance", f"{prefix}{i}", ethnicity=ethnicity, court_outcome=outcome,
                        sentence_type=sentence)
    got = _rri(tiny.close())
    black = got[("custodial_sentence", "ethnic_group_5", BLACK)]
    assert (black["events"], black["base"], black["base_stage"]) == (24, 60, "sentenced")
    assert black["rri"] == pytest.approx(2.0, abs=RATIO)
    rri, lower, upper = _katz(24, 60, 16, 80)
    se = math.log(upper / rri) / Z95
    assert black["lower_998"] == pytest.approx(rri * math.exp(-3.090232306167813 * se), abs=RATIO)
    assert black["upper_998"] == pytest.approx(rri * math.exp(3.090232306167813 * se), abs=RATIO)
    assert black["significance"] == "significantly higher"                      # 95%: 1.27 to 3.15
    assert black["significance_998"] == "not significant"                       # 99.8%: below 1 at the lower end
    assert got[("sentenced", "ethnic_group_5", BLACK)]["base"] == 100           # sentencing: per person at court
    white = got[("custodial_sentence", "ethnic_group_5", "White")]
    assert white["significance"] == white["significance_998"] == "reference group"


def test_age_standardised_rri_removes_a_difference_of_age_structure(tiny):
    """Residents: White 1,000 aged 20-24 and 4,000 aged 50-54; Black 4,000 aged 20-24 and 1,000 aged
    50-54. In custody, 5% of 20-24s and 1% of 50-54s in both groups: the crude RRI is 2.33, all of
    it age; the age-standardised RRI is 1."""
    tiny.population(13, 1000, age_band="20-24"); tiny.population(13, 4000, age_band="50-54")
    tiny.population(6, 4000, age_band="20-24"); tiny.population(6, 1000, age_band="50-54")
    for prefix, ethnicity, young, old in (("W", "A", 50, 40), ("B", "N", 200, 10)):
        for i in range(young):
            tiny.record("police_custody", f"{prefix}y{i}", ethnicity=ethnicity, age=22)
        for i in range(old):
            tiny.record("police_custody", f"{prefix}o{i}", ethnicity=ethnicity, age=52)
    got = _rri(tiny.close())
    black = got[("police_custody", "ethnic_group_5", BLACK)]
    assert black["rri"] == pytest.approx((210 / 5000) / (90 / 5000), abs=RATIO)   # 2.33
    assert black["rri_age_standardised"] == pytest.approx(1.0, abs=RATIO)
    assert black["as_lower_95"] < 1 < black["as_upper_95"]
    assert black["age_standardised_note"] == "not significant"
    court = got.get(("court", "ethnic_group_5", BLACK))
    assert court is None or court["rri_age_standardised"] is None
