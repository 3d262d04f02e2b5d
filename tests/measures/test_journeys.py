"""Journey measures (pathway, continuity of care, repeat contact, reoffending proxy) and coverage,
worked by hand on tiny stores, and pathway flows against plain SQL on the synthetic store."""

import duckdb
import pytest

from .conftest import figures

KEYS = {"pathway_flows": ("from_setting", "to_setting"), "pathway_no_health_contact": ("setting",),
        "continuity_of_care": ("window",), "repeat_contact": ("contacts_band", "need_code"),
        "reoffending_proxy": ("cohort",), "coverage": ("setting",), "need_prevalence": ("setting", "need_code")}


def _run(store, name, **view):
    """The measure's rows in one view (default: all areas, all years), every breakdown."""
    return list(figures(store, name, KEYS[name] + ("breakdown", "group"), **view).values())


def test_pathway_flows_count_people_moving_to_their_next_setting(tiny):
    for day, table in (("2023-01-01", "police_custody"), ("2023-02-01", "court_appearance"),
                       ("2023-03-01", "prison_custody")):
        tiny.record(table, "P1", date=day)
    for day, table in (("2023-01-01", "police_custody"), ("2023-01-05", "police_custody"),
                       ("2023-02-01", "court_appearance")):
        tiny.record(table, "P2", date=day)
    tiny.record("police_custody", "P3", date="2023-01-01")
    got = {(r["from_setting"], r["to_setting"]): r["people"] for r in _run(tiny.close(), "pathway_flows")
           if r["breakdown"] == "all"}
    assert got == {
        ("police_custody", "court_appearance"): 2,
        ("court_appearance", "prison_custody"): 1,
        ("prison_custody", "left the records"): 1,
        ("court_appearance", "left the records"): 1,
        ("police_custody", "left the records"): 1,
    }


def test_people_with_a_need_and_no_later_health_contact_are_counted(tiny):
    p1 = tiny.record("police_custody", "P1", date="2023-03-01")
    tiny.need(p1, "police_custody", "psychosis", date="2023-03-01")
    tiny.record("mental_health", "P1", date="2023-04-01", record_type="contact", team_type="community_mental_health")
    p2 = tiny.record("police_custody", "P2", date="2023-03-01")
    tiny.need(p2, "police_custody", "depression", date="2023-03-01")
    tiny.record("mental_health", "P2", date="2023-01-01", record_type="contact", team_type="community_mental_health")
    p3 = tiny.record("police_custody", "P3", date="2023-03-01")
    tiny.need(p3, "police_custody", "substance_misuse", date="2023-03-01")  # not a mental health need
    rows = _run(tiny.close(), "pathway_no_health_contact")
    custody = next(r for r in rows if r["setting"] == "police_custody" and r["breakdown"] == "all")
    assert (custody["without_health_contact"], custody["people_with_need"]) == (1, 2)
    assert custody["percent_without_health_contact"] == pytest.approx(50, abs=0.05)


def test_continuity_of_care_counts_community_contacts_within_21_days_and_6_weeks(tiny):
    def release(person, need=True):
        key = tiny.record("prison_custody", person, date="2023-01-01", release_date="2023-06-01")
        if need:
            tiny.need(key, "prison_custody", "psychosis")

    def contact(person, day, team="community_mental_health", kind="contact"):
        tiny.record("mental_health", person, date=day, record_type=kind, team_type=team)

    release("P1"); contact("P1", "2023-06-15")                        # 14 days: both windows
    release("P2"); contact("P2", "2023-07-01")                        # 30 days: 6 weeks only
    release("P3"); contact("P3", "2023-06-05", team="prison_in_reach")  # not a community team
    release("P4", need=False); contact("P4", "2023-06-02")            # no need: not counted
    release("P5"); contact("P5", "2023-05-01")                        # before release: not counted
    release("P6"); contact("P6", "2023-06-03", kind="referral")       # a referral is not a contact
    rows = {r["window"]: r for r in _run(tiny.close(), "continuity_of_care") if r["breakdown"] == "all"}
    assert (rows["21 days"]["with_contact"], rows["21 days"]["releases"]) == (1, 5)
    assert (rows["6 weeks"]["with_contact"], rows["6 weeks"]["releases"]) == (2, 5)
    assert rows["6 weeks"]["percent_with_contact"] == pytest.approx(40, abs=0.05)


def test_repeat_contact_bands_people_by_justice_contacts_in_the_last_12_months(tiny):
    p1 = [tiny.record("police_custody", "P1", date=d) for d in ("2023-02-01", "2023-05-01", "2023-08-01", "2023-12-01")]
    tiny.need(p1[0], "police_custody", "psychosis")
    p2 = tiny.record("court_appearance", "P2", date="2023-06-01")
    tiny.need(p2, "court_appearance", "depression")
    tiny.record("police_custody", "P3", date="2022-06-01")  # more than 12 months before the latest
    tiny.record("police_custody", "P3", date="2023-06-01")
    tiny.record("mental_health", "P4", date="2023-06-01", record_type="contact")  # not a justice contact
    got = {(r["need_code"], r["contacts_band"]): (r["people_with_need"], r["people"])
           for r in _run(tiny.close(), "repeat_contact", year="2023/24") if r["breakdown"] == "all"}
    assert got[("psychosis", "3-4")] == (1, 1)
    assert got[("any_need", "1")] == (1, 2)
    assert got[("anxiety_or_depression", "1")] == (1, 2)
    assert not any(band in ("2", "5+") for _, band in got)


def test_reoffending_proxy_follows_releases_and_community_orders_for_a_year(tiny):
    tiny.record("prison_custody", "P1", date="2021-06-01", release_date="2022-01-01")
    tiny.record("police_custody", "P1", date="2022-06-01")                       # within a year
    tiny.record("prison_custody", "P2", date="2021-06-01", release_date="2022-01-01")
    tiny.record("police_custody", "P2", date="2023-03-01")                       # after a year
    tiny.record("probation_supervision", "P3", date="2022-02-01", order_type="community_order")
    tiny.record("court_appearance", "P3", date="2022-05-01", hearing_type="first_hearing")
    tiny.record("probation_supervision", "P4", date="2023-11-01", order_type="community_order")  # no full year
    tiny.record("probation_supervision", "P5", date="2022-02-01", order_type="licence")  # not a community order
    tiny.record("police_custody", "P9", date="2023-12-01")                       # the data's end
    rows = {r["cohort"]: r for r in _run(tiny.close(), "reoffending_proxy") if r["breakdown"] == "all"}
    assert (rows["prison release"]["new_contact"], rows["prison release"]["cohort_size"]) == (1, 2)
    assert (rows["community order start"]["new_contact"], rows["community order start"]["cohort_size"]) == (1, 1)


def test_coverage_counts_nhs_number_recording_in_the_year_of_each_record(tiny):
    tiny.record("police_custody", "P1", date="2023-06-01", nhs_number_recorded=True)
    tiny.record("police_custody", "P2", date="2023-06-01", nhs_number_recorded=False)
    tiny.record("mental_health", "P1", date="2022-01-01", nhs_number_recorded=True)  # outside the period
    rows = {r["setting"]: r for r in _run(tiny.close(), "coverage", year="2023/24") if r["breakdown"] == "all"}
    assert (rows["police_custody"]["nhs_number_recorded"], rows["police_custody"]["records"]) == (1, 2)
    assert rows["police_custody"]["nhs_number_recorded_percent"] == pytest.approx(50, abs=0.05)
    assert "mental_health" not in rows  # its one record is in 2021/22
    earlier = {r["setting"]: r for r in _run(tiny.path, "coverage", year="2021/22") if r["breakdown"] == "all"}
    assert (earlier["mental_health"]["nhs_number_recorded"], earlier["mental_health"]["records"]) == (1, 1)


def test_two_way_groups_split_people_by_two_characteristics(tiny):
    a = tiny.record("police_custody", "P1", ethnicity="M", sex="2")   # Black woman, with need
    tiny.need(a, "police_custody", "psychosis")
    tiny.record("police_custody", "P2", ethnicity="M", sex="2")       # Black woman
    tiny.record("police_custody", "P3", ethnicity="M", sex="1")       # Black man
    rows = [r for r in _run(tiny.close(), "need_prevalence")
            if r["breakdown"] == "sex × ethnic_group_5" and r["need_code"] == "psychosis"
            and r["setting"] == "police_custody"]
    got = {r["group"].split(",")[0]: (r["people_with_need"], r["people"]) for r in rows}
    assert got["Female; Black"] == (1, 2)
    assert got["Male; Black"] == (0, 1)


#: Same-day records in Sequential Intercept Model order (mental health first: intercept 0).
INTERCEPT_ORDER = ("CASE setting WHEN 'mental_health' THEN 0 WHEN 'police_custody' THEN 1 WHEN 'liaison_diversion' "
                   "THEN 2 WHEN 'court_appearance' THEN 3 WHEN 'prison_custody' THEN 4 ELSE 5 END")


def test_pathway_flows_match_plain_sql_on_the_synthetic_store(synthetic):
    """Person-years: a move counts once per person in the financial year of its first record."""
    got = {(r["from_setting"], r["to_setting"]): r["people"] for r in _run(synthetic["store"], "pathway_flows")
           if r["breakdown"] == "all"}
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    from .conftest import records_sql

    expected = dict(((a, b), n) for a, b, n in con.sql(f"""
        WITH r AS ({records_sql('d IS NOT NULL')}),
        o AS (SELECT person_key, setting, year(d - INTERVAL 3 MONTH) AS fy,
                     lead(setting) OVER (PARTITION BY person_key ORDER BY d, {INTERCEPT_ORDER}, record_key) AS nxt
              FROM r)
        SELECT setting, coalesce(nxt, 'left the records'), count(DISTINCT (person_key, fy)) FROM o
        WHERE nxt IS NULL OR nxt <> setting GROUP BY 1, 2""").fetchall())
    con.close()
    assert got == expected and len(got) > 20
