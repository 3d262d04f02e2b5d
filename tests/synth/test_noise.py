"""Identifier noise: realistic at the default level, ordered across levels."""

from __future__ import annotations

from collections import defaultdict

from triangulate.standard import AGENCY_TABLES
from triangulate.synth.people import name_variants


def disagreement(data) -> float:
    """Share of pairs of consecutive records of a person that disagree on given name, family name
    or date of birth (case-insensitive; a missing value is not a disagreement)."""
    records = defaultdict(list)
    for table in AGENCY_TABLES:
        for r in data.tables[table]:
            pid = data.person_of[(table, r["source_system"], r["source_record_id"])]
            records[pid].append((r["given_name"].lower(), r["family_name"].lower(), r["date_of_birth"]))
    pairs = differ = 0
    for recs in records.values():
        for a, b in zip(recs, recs[1:]):
            pairs += 1
            differ += any(x and y and x != y for x, y in zip(a, b))
    return differ / pairs


def test_noise_levels_are_ordered(low_noise, default_csv, high_noise):
    low, default, high = disagreement(low_noise), disagreement(default_csv), disagreement(high_noise)
    assert low < default < high
    assert high > 1.5 * default
    assert default > 1.5 * low


def test_default_noise_keeps_records_linkable(default_csv):
    """Most records carry the person's family name and date of birth as they are."""
    exact = total = 0
    for table in AGENCY_TABLES:
        for r in default_csv.tables[table]:
            person = default_csv.person(table, r)
            total += 1
            exact += r["family_name"].lower() == person["family_name"].lower() and r["date_of_birth"] == person["date_of_birth"]
    assert 0.88 <= exact / total < 0.99


def test_default_noise_has_each_kind_of_error(default_csv):
    variants = name_variants()["given"]
    kinds = defaultdict(int)
    for table in AGENCY_TABLES:
        for r in default_csv.tables[table]:
            person = default_csv.person(table, r)
            true_given, true_family = person["given_name"], person["family_name"]
            if r["given_name"] in variants.get(true_given, ()):
                kinds["variant"] += 1
            if r["given_name"] == true_family and r["family_name"] == true_given and true_given != true_family:
                kinds["swapped"] += 1
            dob, true_dob = r["date_of_birth"], person["date_of_birth"]
            if dob and dob != true_dob and dob[:4] == true_dob[:4] and dob[5:7] == true_dob[8:10] and dob[8:10] == true_dob[5:7]:
                kinds["day_month_transposed"] += 1
            if r["sex"] in ("", "X"):
                kinds["sex_missing"] += 1
            if r["ethnicity_code"] in ("Z", "99"):
                kinds["ethnicity_not_stated_or_known"] += 1
            if r["ethnicity_code"] and r["ethnicity_code"] not in ("Z", "99", person["ethnicity_code"]):
                kinds["related_ethnicity"] += 1
    for kind in ("variant", "swapped", "day_month_transposed", "sex_missing", "ethnicity_not_stated_or_known", "related_ethnicity"):
        assert kinds[kind] > 0, kind


def test_postcodes_change_when_people_move(default_csv):
    postcodes = defaultdict(set)
    for table in AGENCY_TABLES:
        for r in default_csv.tables[table]:
            if r["postcode"]:
                postcodes[default_csv.person_of[(table, r["source_system"], r["source_record_id"])]].add(r["postcode"])
    movers = sum(len(p) > 1 for p in postcodes.values()) / len(postcodes)
    assert 0.1 < movers < 0.8


def test_agencies_record_ethnicity_differently(default_csv):
    def recorded_share(table: str) -> float:
        rows = default_csv.tables[table]
        return sum(bool(r["ethnicity_code"]) for r in rows) / len(rows)

    assert recorded_share("court_appearance") < 0.4
    assert recorded_share("prison_custody") > 0.85
    prison = default_csv.tables["prison_custody"]
    capitals = sum(r["family_name"] == r["family_name"].upper() for r in prison) / len(prison)
    assert capitals > 0.99
