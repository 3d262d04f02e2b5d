"""The data standard is consistent with itself, with the shared reference and with its docs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from triangulate.standard import (
    AGENCY_TABLES,
    ALL_TABLES,
    IDENTIFYING_FIELDS,
    codelist,
    codelist_names,
    nhs_number_is_valid,
    pnc_check_letter,
    pnc_id_is_valid,
    schema,
)
from triangulate.standard.docs import render_markdown

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
TABLE_SCHEMA_TYPES = {"string", "integer", "number", "boolean", "date", "datetime", "year"}
PERSON_FIELDS = (
    "given_name", "family_name", "date_of_birth", "sex", "postcode", "nhs_number",
    "ethnicity_code", "religion", "first_language", "interpreter_needed", "disability",
    "learning_disability", "gp_registered",
)
RECORD_FIELDS = ("source_system", "source_record_id", "area_code", "intercept")
JUSTICE_TABLES = ("police_custody", "court_appearance", "prison_custody", "probation_supervision",
                  "liaison_diversion")


@pytest.mark.parametrize("name", ALL_TABLES)
def test_schema_fields_are_well_formed(name):
    s = schema(name)
    assert s.name == name and s.title and s.description
    names = [f.name for f in s.fields]
    assert len(names) == len(set(names)), "duplicate field"
    for f in s.fields:
        assert f.type in TABLE_SCHEMA_TYPES, f.name
        assert f.title and f.description, f.name
        assert f.zone in ("identity", "content", "both"), f.name
        if f.codelist:
            codes = set(codelist(f.codelist).codes)
            assert codes, f.codelist
            for v in f.constraints.get("enum", ()):
                assert str(v) in codes, (f.name, v)
    assert set(s.primary_key) <= set(names)
    if s.event_date:
        assert s.field(s.event_date).type == "date" and s.field(s.event_date).required


@pytest.mark.parametrize("name", ALL_TABLES)
def test_rules_name_existing_fields(name):
    s = schema(name)
    names = set(s.field_names)
    for rule in s.rules:
        fields = list(rule.get("fields", [])) + [rule.get("field"), rule.get("when_present"),
                                                  rule.get("table_field")]
        fields += list(rule.get("when", {}))
        for f in filter(None, fields):
            assert f in names, (rule, f)
        for cond_field, values in rule.get("when", {}).items():
            cl = s.field(cond_field).codelist
            assert set(values) <= set(codelist(cl).codes)


@pytest.mark.parametrize("name", AGENCY_TABLES)
def test_agency_tables_carry_record_and_person_fields(name):
    s = schema(name)
    assert s.kind == "agency_record"
    for f in RECORD_FIELDS + PERSON_FIELDS:
        assert f in s.field_names, f
    assert ("pnc_id" in s.field_names) == (name in JUSTICE_TABLES)
    assert set(s.allowed_intercepts) <= {0, 1, 2, 3, 4, 5}
    assert s.primary_key == ("source_system", "source_record_id")


@pytest.mark.parametrize("name", ALL_TABLES)
def test_identifying_fields_live_only_in_the_identity_zone(name):
    s = schema(name)
    for f in s.fields:
        if f.name in IDENTIFYING_FIELDS or f.name == "source_record_id":
            assert f.zone == "identity", f.name
    assert not set(s.zone_fields("content")) & (IDENTIFYING_FIELDS | {"source_record_id"})


def test_needs_cover_the_required_categories():
    codes = set(codelist("need").codes)
    assert {"depression", "anxiety", "psychosis", "personality_disorder", "self_harm",
            "substance_misuse", "alcohol_misuse", "learning_disability", "neurodevelopmental",
            "trauma", "dual_diagnosis"} <= codes
    assert set(codelist("need_identified_by").codes) >= {"screen", "assessment", "diagnosis"}
    assert set(schema("need").field("source_table").constraints["enum"]) == set(AGENCY_TABLES)


def test_population_table_is_area_by_ethnicity_sex_age():
    s = schema("population")
    assert set(s.primary_key) == {"area_code", "year", "ons_ethnic_group", "sex", "age_band"}
    assert len(codelist("ons_ethnic_group").codes) == 19
    assert len(codelist("age_band").codes) == 19


def test_ethnicity_code_list_is_the_shared_crosswalk():
    with open(SHARED / "reference" / "codes" / "ethnicity_crosswalk.csv", encoding="utf-8") as fh:
        shared = list(csv.DictReader(fh))
    ours = codelist("ethnicity").rows
    assert [r["nhs_ethnic_category_code"] for r in shared] == list(codelist("ethnicity").codes)
    for a, b in zip(shared, ours):
        assert {k: a[k] for k in a} == {k: b[k] for k in a}


def test_ons_groups_agree_with_the_crosswalk():
    ons = {r["code"]: r for r in codelist("ons_ethnic_group").rows}
    for r in codelist("ethnicity").rows:
        if r["ons_2021_code"]:
            assert ons[r["ons_2021_code"]]["label"] == r["ons_2021_category"]
            assert ons[r["ons_2021_code"]]["high_level_group"] == r["ons_2021_high_level_group"]


def test_every_codelist_has_unique_codes_and_labels():
    for name in codelist_names():
        cl = codelist(name)
        assert len(cl.codes) == len(set(cl.codes)), name
        assert all(r["label"] for r in cl.rows), name


def test_nhs_number_check_digit():
    # 943 476 5919: weights 10..2 over 943476591 give 299; 299 mod 11 = 2; 11 - 2 = 9.
    assert nhs_number_is_valid("9434765919")
    assert nhs_number_is_valid("943 476 5919")
    assert not nhs_number_is_valid("9434765918")
    assert not nhs_number_is_valid("943476591")
    assert not nhs_number_is_valid("94347659AB")
    # 000 000 0019: sum 1*2 = 2, 11 - 2 = 9 -> valid; a number whose check would be 10 is never valid.
    assert nhs_number_is_valid("0000000019")
    # 000 000 006x: 6*2 = 12, 12 mod 11 = 1, 11 - 1 = 10 -> no valid check digit exists.
    assert not any(nhs_number_is_valid(f"000000006{d}") for d in range(10))
    # 000 000 010x: 1*3 = 3, 11 - 3 = 8.
    assert nhs_number_is_valid("0000000108")


def test_pnc_check_letter():
    # (12 * 10^7 + 3456789) mod 23 = 123456789 mod 23 = 11 -> "ZABCDEFGHJKLMNPQRTUVWXY"[11] = "L"
    assert pnc_check_letter(12, 3456789) == "L"
    assert pnc_id_is_valid("12/3456789L")
    assert pnc_id_is_valid("2012/3456789l")
    assert not pnc_id_is_valid("12/3456789X")
    assert not pnc_id_is_valid("nonsense")


def test_docs_page_is_generated_from_the_schemas():
    page = (REPO / "docs" / "data-standard.md").read_text(encoding="utf-8")
    assert page == render_markdown(), "docs/data-standard.md is stale: run `make docs`"
    for name in ALL_TABLES:
        for f in schema(name).fields:
            assert f"`{f.name}`" in page
    for name in codelist_names():
        assert f"Code list `{name}`" in page
