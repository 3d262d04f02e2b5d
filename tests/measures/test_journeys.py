"""Journey measures (pathway, continuity of care, repeat contact, reoffending proxy) and coverage,
worked by hand on tiny stores, and pathway flows against plain SQL on the synthetic store."""

import duckdb
import pytest

from .conftest import figures

KEYS = {"pathway_flows": ("from_setting", "to_setting"), "pathway_no_health_contact": ("setting",),
        "continuity_of_care": ("window",), "repeat_contact": ("contact_type", "contacts_band", "need_code"),
        "proven_reoffending": ("cohort",), "coverage": ("setting",), "need_prevalence": ("setting", "need_code")}


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


def test_people_with_a_need_and_no_health_contact_within_3_months_are_counted(tiny):
    def seen(person, need="psychosis", day="2023-03-01", need_date="2023-03-01"):
        key = tiny.record("police_custody", person, date=day)
        if need:
            tiny.need(key, "police_custody", need, date=need_date)

    def contact(person, day):
        tiny.record("mental_health", person, date=day, record_type="contact", team_type="community_mental_health")

    seen("P1"); contact("P1", "2023-04-01")                  # contact after 31 days
    seen("P2", need="depression"); contact("P2", "2023-01-01")  # contact only before: without
    seen("P3", need="substance_misuse")                      # not a mental health need
    seen("P4"); contact("P4", "2023-07-01")                  # 122 days later: after the window, so without
    seen("P5", need_date="2023-05-01")                       # need found after the contact: not counted
    seen("P6", day="2023-11-01")                             # fewer than 91 days before the data end: not yet
    contact("P9", "2023-12-01")                              # the mental health data's end
    rows = _run(tiny.close(), "pathway_no_health_contact")
    custody = next(r for r in rows if r["setting"] == "police_custody" and r["breakdown"] == "all")
    assert (custody["without_health_contact"], custody["people_with_need"]) == (2, 3)
    assert custody["percent_without_health_contact"] == pytest.approx(200 / 3, abs=0.05)


def test_continuity_of_care_follows_the_ohid_rules(tiny):
    """Worked by hand. The mental health data end on 2023-07-20 (P9's contact): a release on 2023-06-01
    is followed up fully for 7 days, 21 days (06-22) and 6 weeks (07-13); one on 2023-07-01 for 7 days
    (07-08) but not for 21 days (07-22)."""
    def release(person, need="psychosis", day="2023-06-01", need_date="2023-05-01", release_type="licence"):
        key = tiny.record("prison_custody", person, date="2023-01-01", release_date=day, release_type=release_type)
        if need:
            tiny.need(key, "prison_custody", need, date=need_date)

    def contact(person, day, team="community_mental_health", kind="contact"):
        tiny.record("mental_health", person, date=day, record_type=kind, team_type=team)

    release("P1"); contact("P1", "2023-06-05")                          # 4 days: every window
    release("P2", need="depression"); contact("P2", "2023-06-15")       # 14 days: 21 days and 6 weeks
    release("P3"); contact("P3", "2023-07-01")                          # 30 days: 6 weeks only
    release("P4"); contact("P4", "2023-06-05", team="prison_in_reach")  # not a community team
    release("P5", need=None); contact("P5", "2023-06-02")               # no need: not counted
    release("P6"); contact("P6", "2023-05-01")                          # before release: not counted
    release("P7"); contact("P7", "2023-06-03", kind="referral")         # a referral is not a contact
    release("P8", need_date="2023-06-10"); contact("P8", "2023-06-12")  # need found after release: out
    release("P10", release_type="transfer_to_hospital"); contact("P10", "2023-06-02")  # s47/s48: out
    release("P11", day="2023-07-01"); contact("P11", "2023-07-03")      # 7-day follow-up only
    contact("P9", "2023-07-20")                                         # the mental health data's end
    rows = {r["window"]: r for r in _run(tiny.close(), "continuity_of_care") if r["breakdown"] == "all"}
    # 7 days (psychosis only): P1, P3, P4, P6, P7, P11 released with psychosis known; P1 and P11 seen.
    assert (rows["7 days (SMI)"]["with_contact"], rows["7 days (SMI)"]["releases"]) == (2, 6)
    # 21 days: P1, P2, P3, P4, P6, P7 (P11's 21 days run past the data); P1 and P2 seen.
    assert (rows["21 days"]["with_contact"], rows["21 days"]["releases"]) == (2, 6)
    # 6 weeks: the same six; P1, P2 and P3 seen.
    assert (rows["6 weeks"]["with_contact"], rows["6 weeks"]["releases"]) == (3, 6)
    assert rows["6 weeks"]["percent_with_contact"] == pytest.approx(50, abs=0.05)


def test_repeat_contact_counts_custody_arrivals_and_court_attendances_apart(tiny):
    p1 = [tiny.record("police_custody", "P1", date=d) for d in ("2023-02-01", "2023-05-01", "2023-08-01", "2023-12-01")]
    tiny.record("police_custody", "P1", date="2023-12-01")             # the same day again: one arrival
    tiny.need(p1[0], "police_custody", "psychosis")
    for day in ("2023-08-02", "2023-09-01", "2023-10-01"):            # one case's hearings: court, not custody
        tiny.record("court_appearance", "P1", date=day)
    tiny.record("liaison_diversion", "P1", date="2023-08-01", setting="police_custody")  # not a contact here
    p2 = tiny.record("court_appearance", "P2", date="2023-06-01")
    tiny.need(p2, "court_appearance", "depression")
    tiny.record("police_custody", "P3", date="2022-06-01")             # in 2022/23
    tiny.record("police_custody", "P3", date="2023-06-01")
    tiny.record("police_custody", "P3", date="2023-07-01", custody_outcome="s136_place_of_safety")  # not an arrest
    tiny.record("mental_health", "P4", date="2023-06-01", record_type="contact")  # not a justice contact
    got = {(r["contact_type"], r["contacts_band"], r["need_code"]): (r["people_with_need"], r["people"])
           for r in _run(tiny.close(), "repeat_contact", year="2023/24") if r["breakdown"] == "all"}
    custody, court = "police custody arrivals", "court attendances"
    assert got[(custody, "3-4", "psychosis")] == (1, 1)                # P1: 3 arrivals in 2023/24
    assert got[(custody, "1", "any_need")] == (0, 1)                   # P3
    assert got[(court, "3-4", "psychosis")] == (1, 1)                  # P1's three days at court
    assert got[(court, "1", "anxiety_or_depression")] == (1, 1)        # P2
    assert {(t, band) for t, band, _ in got} == {(custody, "3-4"), (custody, "1"), (court, "3-4"), (court, "1")}


def test_proven_reoffending_follows_the_moj_rules(tiny):
    """Worked by hand. The justice data end on 2023-12-01, so a start needs to be on or before
    2022-06-01 (365 + 183 days earlier) to be followed up fully."""
    def released(person, day, custody_type="sentenced"):
        tiny.record("prison_custody", person, date="2021-01-01", release_date=day, release_type="licence",
                    custody_type=custody_type)

    def court(person, day, offence, outcome="convicted", sentence=None):
        tiny.record("court_appearance", person, date=day, offence_date=offence, court_outcome=outcome,
                    sentence_type=sentence)

    released("P1", "2021-06-01")
    court("P1", "2021-11-01", "2021-09-01", "sentenced", "fine")   # a reoffence (and no new start: same year)
    court("P1", "2022-10-01", "2021-12-01")                        # a second, proven within 18 months
    court("P1", "2022-11-01", "2021-12-01", "sentenced", "fine")   # the same offence sentenced: not another
    released("P2", "2021-06-01")
    court("P2", "2022-09-01", "2022-08-01")                        # offence after the 12 months: not counted
    court("P3", "2021-07-01", "2021-03-01", "sentenced", "community_order")  # a non-custodial conviction starts
    court("P3", "2023-03-01", "2021-08-01")                        # proven after 18 months: not counted
    tiny.record("police_custody", "P4", date="2021-05-01", custody_outcome="caution")  # a caution starts
    tiny.record("police_custody", "P4", date="2021-10-01", custody_outcome="caution")  # a reoffence
    released("P5", "2021-06-01", custody_type="remand")            # release from remand: not a start
    released("P6", "2023-01-01")                                   # too late for 18 months' follow-up
    released("P7", "2021-06-01")
    court("P7", "2021-08-01", "2021-05-01", "sentenced", "fine")   # offence before the release: not new
    tiny.record("police_custody", "P9", date="2023-12-01")         # the data's end
    rows = {r["cohort"]: r for r in _run(tiny.close(), "proven_reoffending") if r["breakdown"] == "all"}
    got = {c: (r["reoffenders"], r["offenders"], r["reoffences"]) for c, r in rows.items()}
    assert got == {
        "all offenders": (2, 5, 3),
        "released from custody": (1, 3, 2),
        "court conviction (non-custodial)": (0, 1, 0),
        "caution": (1, 1, 1),
    }
    assert rows["all offenders"]["percent_reoffending"] == pytest.approx(40, abs=0.05)
    assert rows["all offenders"]["reoffences_per_reoffender"] == pytest.approx(1.5)


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


def test_a_store_of_standard_1_0_is_measured_without_the_fields_1_1_added(tiny):
    """Measures open stores read-only, so a 1.0 store keeps its shape: a release is attributed to the
    record's area, and a conviction without an offence date proves no reoffence (a caution still does)."""
    tiny.record("prison_custody", "P1", area="E09000002", date="2021-01-01", release_date="2021-06-01",
                release_type="licence", custody_type="sentenced", residence_area_code="E09000003")
    tiny.record("court_appearance", "P1", date="2021-11-01", offence_date="2021-09-01", court_outcome="convicted")
    tiny.record("police_custody", "P1", date="2021-12-01", custody_outcome="caution")
    tiny.record("police_custody", "P9", date="2023-12-01")
    for table, column in (("prison_custody", "residence_area_code"), ("court_appearance", "offence_date")):
        tiny.con.execute(f"ALTER TABLE content.{table} DROP COLUMN {column}")
    store = tiny.close()
    in_area = [r for r in _run(store, "proven_reoffending", area="E09000002") if r["breakdown"] == "all"
               and r["cohort"] == "released from custody"]
    assert [r["offenders"] for r in in_area] == [1]  # the record's area, the only one a 1.0 store has
    rows = {r["cohort"]: r for r in _run(store, "proven_reoffending") if r["breakdown"] == "all"}
    assert (rows["released from custody"]["reoffenders"], rows["released from custody"]["reoffences"]) == (1, 1)
