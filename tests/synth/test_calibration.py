"""The published figures show up in the synthetic data, within sampling error."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict

import pytest

from triangulate.synth.calibration import figures
from triangulate.synth.people import MENTAL_HEALTH_NEEDS as MH_NEEDS

BROAD = {**{g: "white" for g in (13, 14, 15, 16, 17)}, **{g: "mixed" for g in (9, 10, 11, 12)},
         **{g: "asian" for g in (1, 2, 3, 4, 5)}, **{g: "black" for g in (6, 7, 8)}, 18: "other", 19: "other"}


def residents_by_broad_group(data) -> Counter:
    out: Counter = Counter()
    for r in data.tables["population"]:
        out[BROAD[int(r["ons_ethnic_group"])]] += int(r["population"])
    return out


def people_with(data, table, keep=lambda r: True) -> set[str]:
    return {data.person_of[(table, r["source_system"], r["source_record_id"])] for r in data.tables[table] if keep(r)}


def within(value: float, expected: float, n: int, sds: float = 4.0) -> bool:
    return abs(value - expected) <= sds * math.sqrt(expected * (1 - expected) / n)


def test_black_share_of_prison_receptions_is_above_black_share_of_residents(calibration_run):
    residents = residents_by_broad_group(calibration_run)
    resident_share = residents["black"] / sum(residents.values())
    receptions = [BROAD[int(calibration_run.person("prison_custody", r)["ons_ethnic_group"])] for r in calibration_run.tables["prison_custody"]]
    reception_share = receptions.count("black") / len(receptions)
    assert reception_share > 1.5 * resident_share


def test_prison_disproportion_matches_the_lammy_review(calibration_run):
    """Minority ethnic people reach prison at about the rate ratio implied by 25% vs 14% (Lammy)."""
    f = figures()
    p, q = f.value("lammy.prison_minority_share"), f.value("lammy.population_minority_share")
    target = (p / (1 - p)) / (q / (1 - q))
    residents = residents_by_broad_group(calibration_run)
    in_prison = Counter(
        "white" if BROAD[int(calibration_run.people[pid]["ons_ethnic_group"])] == "white" else "minority"
        for pid in people_with(calibration_run, "prison_custody")
    )
    white_residents = residents["white"]
    minority_residents = sum(residents.values()) - white_residents
    ratio = (in_prison["minority"] / minority_residents) / (in_prison["white"] / white_residents)
    assert 0.7 * target <= ratio <= 1.4 * target


def test_black_people_are_detained_under_the_mental_health_act_at_about_three_and_a_half_times_the_white_rate(calibration_run):
    residents = residents_by_broad_group(calibration_run)
    detained = Counter(
        BROAD[int(calibration_run.people[pid]["ons_ethnic_group"])]
        for pid in people_with(calibration_run, "mental_health", lambda r: r["record_type"] == "mha_detention")
    )
    ratio = (detained["black"] / residents["black"]) / (detained["white"] / residents["white"])
    expected = figures().value("route.ethnic.mha_detention.black")
    assert 0.75 * expected <= ratio <= 1.3 * expected


@pytest.mark.parametrize("need", ["depression", "anxiety", "psychosis", "self_harm", "substance_misuse"])
def test_need_prevalence_on_probation_is_the_published_figure(calibration_run, need):
    on_probation = [p for p in calibration_run.people.values() if p["needs_setting"] == "probation"]
    share = sum(p[f"need_{need}"] == "true" for p in on_probation) / len(on_probation)
    assert within(share, figures().value(f"need.probation.{need}"), len(on_probation))


def test_alcohol_misuse_on_probation_differs_by_sex_as_published(calibration_run):
    for sex, label in (("1", "male"), ("2", "female")):
        group = [p for p in calibration_run.people.values() if p["needs_setting"] == "probation" and p["sex"] == sex]
        share = sum(p["need_alcohol_misuse"] == "true" for p in group) / len(group)
        assert within(share, figures().value(f"need.probation.alcohol_misuse.{label}"), len(group))


def test_anxiety_and_depression_in_prison_by_sex(calibration_run):
    for sex, label in (("1", "male"), ("2", "female")):
        group = [p for p in calibration_run.people.values() if p["needs_setting"] == "prison" and p["sex"] == sex]
        both = sum(p["need_anxiety"] == "true" and p["need_depression"] == "true" for p in group) / len(group)
        assert within(both, figures().value(f"need.prison.anxiety_and_depression.{label}"), len(group))


def test_nhs_number_is_mostly_missing_in_justice_records_and_present_in_mental_health_records(calibration_run):
    justice = [r for t in ("police_custody", "court_appearance", "prison_custody", "probation_supervision") for r in calibration_run.tables[t]]
    assert sum(bool(r["nhs_number"]) for r in justice) / len(justice) < 0.30
    mh = calibration_run.tables["mental_health"]
    assert sum(bool(r["nhs_number"]) for r in mh) / len(mh) > 0.80
    police = calibration_run.tables["police_custody"]
    arrests = [r for r in police if r["intercept"] == "1"]
    assert sum(bool(r["pnc_id"]) for r in arrests) / len(arrests) > 0.80


def test_continuity_of_care_after_release_is_the_published_share(calibration_run):
    """Share of prison leavers with a mental health need with a community contact (an attended contact
    or an admission, not with prison in-reach or forensic teams) 0 to 21 days after release."""
    contacts = defaultdict(list)
    for r in calibration_run.tables["mental_health"]:
        if (r["record_type"] in ("contact", "admission") and r["team_type"] not in ("prison_in_reach", "forensic")
                and r["event_date"]):
            contacts[calibration_run.person("mental_health", r)["person_id"]].append(r["event_date"])
    last_full = dt.date(2026, 3, 31) - dt.timedelta(days=21)
    hits = n = 0
    for r in calibration_run.tables["prison_custody"]:
        if not r["release_date"] or r["release_type"] == "transfer_to_hospital":
            continue
        released = dt.date.fromisoformat(r["release_date"])
        person = calibration_run.person("prison_custody", r)
        if released > last_full or not any(person[f"need_{c}"] == "true" for c in MH_NEEDS):
            continue
        n += 1
        hits += any(released <= dt.date.fromisoformat(d) <= released + dt.timedelta(days=21) for d in contacts[person["person_id"]])
    assert n > 200
    assert within(hits / n, figures().value("continuity.contact_within_21_days"), n)


def test_gp_registration_of_prison_leavers(calibration_run):
    recorded = [r["gp_registered"] for r in calibration_run.tables["prison_custody"] if r["gp_registered"] in ("Y", "N")]
    # "Over 50% of prison leavers have no GP."
    assert recorded.count("N") / len(recorded) > 0.5


def test_known_to_mental_health_at_liaison_and_diversion_is_near_warrington(calibration_run):
    f = figures()
    known = [r["known_to_mental_health"] for r in calibration_run.tables["liaison_diversion"]
             if r["setting"] in ("police_custody", "court") and r["screening_date"] and r["known_to_mental_health"] in ("Y", "N")]
    share = known.count("Y") / len(known)
    assert abs(share - f.value("warrington.known_to_mental_health")) < 0.06


def test_repeat_attendance_at_court_is_near_warrington(calibration_run):
    f = figures()
    hearings = Counter(
        calibration_run.person("court_appearance", r)["person_id"]
        for r in calibration_run.tables["court_appearance"]
        if r["hearing_type"] == "first_hearing"
    )
    repeat = sum(k >= 2 for k in hearings.values()) / len(hearings)
    expected = f.value("warrington.repeat_attendees") / f.value("warrington.screened")
    assert abs(repeat - expected) < 0.06
    # Frequent attenders: a few people have many arrests.
    arrests = Counter(calibration_run.person("police_custody", r)["person_id"] for r in calibration_run.tables["police_custody"])
    assert max(arrests.values()) >= 10


def test_ethnic_codes_follow_the_crosswalk(calibration_run):
    codes = defaultdict(set)
    for p in calibration_run.people.values():
        codes[int(p["ons_ethnic_group"])].add(p["ethnicity_code"])
    assert codes[15] <= {"C"} and codes[16] <= {"C"}
    assert codes[18] == {"S"}
    assert codes[2] == {"R"}
    assert codes[13] == {"A"}
    assert codes[6] == {"N"}


def test_names_differ_by_ethnic_group(calibration_run):
    def share_named(group: int, family: str) -> float:
        people = [p for p in calibration_run.people.values() if int(p["ons_ethnic_group"]) == group]
        return sum(p["family_name"] == family for p in people) / len(people)

    assert share_named(4, "Khan") > 10 * share_named(13, "Khan")
    assert share_named(13, "Smith") > 0.01
    # Surname frequencies are skewed: the most common British surname is far commoner than the median.
    british = Counter(p["family_name"] for p in calibration_run.people.values() if p["ons_ethnic_group"] == "13")
    counts = sorted(british.values(), reverse=True)
    assert counts[0] >= 20 * counts[len(counts) // 2]


def test_area_ethnic_mixes_differ(calibration_run):
    by_area = defaultdict(Counter)
    for r in calibration_run.tables["population"]:
        by_area[r["area_code"]][BROAD[int(r["ons_ethnic_group"])]] += int(r["population"])
    lambeth, warrington = by_area["E09000022"], by_area["E06000007"]
    assert lambeth["black"] / sum(lambeth.values()) > 0.15
    assert warrington["white"] / sum(warrington.values()) > 0.9


def test_probation_caseload_is_mostly_men(calibration_run):
    on_probation = people_with(calibration_run, "probation_supervision")
    women = sum(calibration_run.people[p]["sex"] == "2" for p in on_probation) / len(on_probation)
    assert 0.05 <= women <= 0.25
