"""Need prevalence: a hand-worked tiny store, and the synthetic store against plain SQL."""

import math

import duckdb
import pytest

from triangulate.measures import REGISTRY, Bases, Filters, connect, measures, run_measure

Z95 = 1.959963984540054


def _prevalence(store, filters=None):
    measures()
    table = run_measure(REGISTRY["need_prevalence"], Bases(connect(store), filters or Filters()))
    return {
        (r["setting"], r["need_code"], r["breakdown"], r["group"]): r for r in table.to_pylist()
    }


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
    assert row["prevalence_percent"] == pytest.approx(value)
    assert row["lower_95"] == pytest.approx(lower) and row["upper_95"] == pytest.approx(upper)
    either = got[("police_custody", "anxiety_or_depression", "all", "All people")]
    assert (either["people_with_need"], either["people"]) == (3, 4)
    assert either["benchmark_percent"] == 15
    assert got[("police_custody", "psychosis", "all", "All people")]["people_with_need"] == 0
    assert got[("court_appearance", "psychosis", "all", "All people")]["people_with_need"] == 1
    by_sex = got[("police_custody", "depression", "sex", "2")]
    assert (by_sex["people_with_need"], by_sex["people"]) == (1, 2)
    # 3 of 4 against a 15% benchmark: the Wilson interval (30.1% to 95.4%) is above it.
    assert either["compared_with_benchmark"] == "higher"
    assert got[("police_custody", "depression", "all", "All people")]["compared_with_benchmark"] is None


def test_prevalence_matches_plain_sql_on_the_synthetic_store(synthetic, sql):
    got = _prevalence(synthetic["store"])
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    sql.resolved_ethnic_group(con)
    expected = sql.rows(
        con,
        f"""WITH allr AS ({sql.records_sql()}),
        seen AS (SELECT DISTINCT person_key, setting FROM allr),
        pn AS (SELECT DISTINCT a.person_key, n.need_code FROM content.need n JOIN allr a USING (record_key))
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
    # Every need with people in the synthetic store appears, and the rest are zeros, not gaps.
    ours = {k: v for k, v in got.items() if k[2] == "ethnic_group_5" and k[1] != "anxiety_or_depression"}
    assert sum(v["people_with_need"] for v in ours.values()) == sum(r["k"] for r in expected)


def test_area_and_period_filters_match_plain_sql(synthetic, sql):
    filters = Filters.of(area="E09000032", period="2023-01-01:2024-12-31")
    got = _prevalence(synthetic["store"], filters)
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    inside = "area_code = 'E09000032' AND d BETWEEN DATE '2023-01-01' AND DATE '2024-12-31'"
    expected = sql.rows(
        con,
        f"""WITH allr AS ({sql.records_sql()}), inside AS ({sql.records_sql(inside)}),
        seen AS (SELECT DISTINCT person_key, setting FROM inside),
        pn AS (SELECT DISTINCT a.person_key, n.need_code FROM content.need n JOIN allr a USING (record_key)
               WHERE n.identified_date IS NULL OR n.identified_date <= DATE '2024-12-31')
        SELECT setting, need_code, count(*) AS k,
               (SELECT count(*) FROM seen s2 WHERE s2.setting = s.setting) AS n
        FROM seen s JOIN pn USING (person_key) GROUP BY ALL""",
    )
    con.close()
    assert expected
    for r in expected:
        row = got[(r["setting"], r["need_code"], "all", "All people")]
        assert (row["people_with_need"], row["people"]) == (r["k"], r["n"])


def test_a_demographic_filter_gives_that_group_s_figures(synthetic):
    everyone = _prevalence(synthetic["store"])
    women = _prevalence(synthetic["store"], Filters.of(demographics={"sex": "2"}))
    for (setting, need, breakdown, group), row in women.items():
        if breakdown == "all":
            assert row["people"] == everyone[(setting, need, "sex", "2")]["people"]
            assert row["people_with_need"] == everyone[(setting, need, "sex", "2")]["people_with_need"]
    assert {k[3] for k in women if k[2] == "sex"} == {"2"}
