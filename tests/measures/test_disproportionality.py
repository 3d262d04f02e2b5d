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
                  ON o.code = p.ons_ethnic_group WHERE p.year = 2021 GROUP BY 1""",
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
