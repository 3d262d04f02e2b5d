"""Need prevalence: a hand-worked tiny store, and the synthetic store against plain SQL."""

import math

import duckdb
import pytest

from triangulate.publish.dimensions import period_bounds

from .conftest import figures, tables

Z95 = 1.959963984540054
#: Derived figures are published to 1 decimal place.
PERCENT = 0.05


def _prevalence(store, **view):
    return figures(store, "need_prevalence", ("setting", "need_code", "breakdown", "group"), **view)


def _wilson(x, n):
    p = x / n
    centre = (2 * x + Z95**2) / (2 * (n + Z95**2))
    half = Z95 * math.sqrt(Z95**2 + 4 * x * (1 - p)) / (2 * (n + Z95**2))
    return 100 * p, 100 * (centre - half), 100 * (centre + half)


def test_prevalence_counts_needs_recorded_by_any_agency_worked_by_hand(tiny):
    # Four people in police custody. P1's depression was recorded by mental health services,
    # P2's anxiety in custody, P4 has both; P3 has none. A need on an unlinked record counts for
    # nobody, and P5 (court only) is not in the custody denominator.
    for p in ("P1", "P2", "P3", "P4"):
        tiny.record("police_custody", p, sex="1" if p in ("P1", "P2") else "2")
    mh = tiny.record("mental_health", "P1")
    tiny.need(mh, "mental_health", "depression")
    tiny.need(tiny.record("police_custody", "P2"), "police_custody", "anxiety")
    four = tiny.record("mental_health", "P4", sex="2")
    tiny.need(four, "mental_health", "depression")
    tiny.need(four, "mental_health", "anxiety")
    tiny.need(tiny.record("police_custody", None), "police_custody", "psychosis")
    tiny.need(tiny.record("court_appearance", "P5"), "court_appearance", "psychosis")
    got = _prevalence(tiny.close())

    row = got[("police_custody", "depression", "all", "All people")]
    assert (row["people_with_need"], row["people"]) == (2, 4)
    value, lower, upper = _wilson(2, 4)
    assert row["prevalence_percent"] == pytest.approx(value, abs=PERCENT)
    assert row["lower_95"] == pytest.approx(lower, abs=PERCENT) and row["upper_95"] == pytest.approx(upper, abs=PERCENT)
    either = got[("police_custody", "anxiety_or_depression", "all", "All people")]
    assert (either["people_with_need"], either["people"]) == (3, 4)
    assert either["benchmark_percent"] == 17  # APMS 2014: common mental disorder, adults in households
    assert got[("police_custody", "psychosis", "all", "All people")]["people_with_need"] == 0
    assert got[("court_appearance", "psychosis", "all", "All people")]["people_with_need"] == 1
    by_sex = got[("police_custody", "depression", "sex", "Female")]
    assert (by_sex["people_with_need"], by_sex["people"]) == (1, 2)
    # 3 of 4 against a 17% benchmark: the Wilson interval (30.1% to 95.4%) is above it.
    assert either["compared_with_benchmark"] == "higher"
    assert got[("police_custody", "depression", "all", "All people")]["compared_with_benchmark"] in (None, "")
    # Psychosis has a benchmark (0.45%, household survey): 0 of 4 has an interval that spans it.
    psychosis = got[("police_custody", "psychosis", "all", "All people")]
    assert psychosis["benchmark_percent"] == pytest.approx(0.45) and psychosis["compared_with_benchmark"] == "similar"
    # People in mental health services are there because of a need: no general-population comparison.
    in_services = got[("mental_health", "anxiety_or_depression", "all", "All people")]
    assert in_services["people_with_need"] == 2 and in_services["compared_with_benchmark"] in (None, "")
    assert in_services["benchmark_percent"] is None


FY = ("2023/24", "DATE '2023-04-01'", "DATE '2024-03-31'")


def test_prevalence_in_one_year_matches_plain_sql_on_the_synthetic_store(synthetic, sql):
    got = _prevalence(synthetic["store"], year=FY[0])
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    sql.resolved_ethnic_group(con)
    inside = f"d BETWEEN {FY[1]} AND {FY[2]}"
    expected = sql.rows(
        con,
        f"""WITH allr AS ({sql.records_sql()}), inside AS ({sql.records_sql(inside)}),
        seen AS (SELECT DISTINCT person_key, setting FROM inside),
        pn AS (SELECT DISTINCT a.person_key, n.need_code FROM content.need n JOIN allr a USING (record_key)
               WHERE n.identified_date IS NULL OR n.identified_date <= {FY[2]})
        SELECT s.setting, pn.need_code, g.ethnic_group_5, count(*) AS k,
               (SELECT count(*) FROM seen s2 JOIN person_group g2 USING (person_key)
                WHERE s2.setting = s.setting AND g2.ethnic_group_5 = g.ethnic_group_5) AS n
        FROM seen s JOIN pn USING (person_key) JOIN person_group g USING (person_key)
        GROUP BY ALL""",
    )
    con.close()
    assert len(expected) > 100
    for r in expected:
        row = got[(r["setting"], r["need_code"], "ethnic_group_5", r["ethnic_group_5"])]
        assert (row["people_with_need"], row["people"]) == (r["k"], r["n"])


def test_the_whole_period_is_the_sum_of_the_years_and_all_areas_the_sum_of_the_areas(synthetic):
    store = synthetic["store"]
    whole = _prevalence(store)
    by_year, by_area = {}, {}
    for r in tables(store)["need_prevalence"].to_pylist():
        if r["breakdown"] != "all":
            continue
        key = (r["setting"], r["need_code"])
        if r["area"] == "All areas" and r["year"] != "All years" and period_bounds(r["year"]) is None:
            by_year[key] = by_year.get(key, 0) + r["people_with_need"]  # single years, not pooled periods
        if r["year"] == "All years" and r["area"] != "All areas":
            by_area[key] = by_area.get(key, 0) + r["people_with_need"]
    assert len(by_year) > 20
    for (setting, need, breakdown, group), row in whole.items():
        if breakdown == "all":
            assert by_year.get((setting, need), 0) == row["people_with_need"]
            assert by_area.get((setting, need), 0) == row["people_with_need"]


def test_an_area_in_one_year_matches_plain_sql(synthetic, sql):
    got = _prevalence(synthetic["store"], area="E09000032", year=FY[0])
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    # One area per person, setting and year: the area of most of their records there that year,
    # ties to the latest record, then the code.
    expected = sql.rows(
        con,
        f"""WITH allr AS ({sql.records_sql()}),
        inyear AS (SELECT * FROM allr WHERE d BETWEEN {FY[1]} AND {FY[2]}),
        counted AS (SELECT person_key, setting, area_code, count(*) AS n, max(d) AS latest FROM inyear
                    GROUP BY ALL),
        home AS (SELECT person_key, setting, area_code FROM counted QUALIFY row_number() OVER (
                 PARTITION BY person_key, setting ORDER BY n DESC, latest DESC, area_code) = 1),
        seen AS (SELECT person_key, setting FROM home WHERE area_code = 'E09000032'),
        pn AS (SELECT DISTINCT a.person_key, n.need_code FROM content.need n JOIN allr a USING (record_key)
               WHERE n.identified_date IS NULL OR n.identified_date <= {FY[2]})
        SELECT setting, need_code, count(*) AS k,
               (SELECT count(*) FROM seen s2 WHERE s2.setting = s.setting) AS n
        FROM seen s JOIN pn USING (person_key) GROUP BY ALL""",
    )
    con.close()
    assert expected
    for r in expected:
        row = got[(r["setting"], r["need_code"], "all", "All people")]
        assert (row["people_with_need"], row["people"]) == (r["k"], r["n"])


def test_a_two_way_group_adds_up_to_its_one_way_groups_less_those_not_known(synthetic):
    got = _prevalence(synthetic["store"])
    women = {k: v for k, v in got.items() if k[2] == "sex × ethnic_group_5" and k[3].startswith("Female; ")}
    assert women and not any("Not stated" in k[3] for k in women)  # unknown crossings are not published
    short = 0
    for setting, need in {(k[0], k[1]) for k in women}:
        total = sum(v["people"] for k, v in women.items() if k[:2] == (setting, need))
        female = got[(setting, need, "sex", "Female")]["people"]
        assert total <= female
        short += female - total
    assert short > 0  # women whose ethnicity is not stated are in "Female", not in a two-way group
