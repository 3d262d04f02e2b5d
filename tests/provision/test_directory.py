"""The service directory: the template, import (atomic, versioned, idempotent), export, validation."""

from __future__ import annotations

import csv
import json

import pytest
from openpyxl import load_workbook

from triangulate.provision import (
    DirectoryRefused,
    history,
    import_directory,
    load_services,
    read_path,
    validate,
    write_json,
    write_package,
    write_template,
)
from triangulate.provision import taxonomy as tx
from triangulate.provision.formats import TEMPLATE_NAMES
from triangulate.provision.validate import attribute_term
from triangulate.standard import codelist
from triangulate.store import connect
from triangulate.synth.directory import COLUMNS, write_synthetic_directory

ROWS = [
    {"service_name": "Court liaison and diversion", "organisation_name": "Test NHS Trust", "intercepts": "2",
     "needs": "depression;Psychosis", "areas": "E09000022;E09000028", "languages": "en;pl", "easy_read": "Y",
     "capacity": "400", "capacity_unit": "people_per_year", "capacity_updated": "2026-09-30",
     "stated_wait_days": "0", "location_name": "Camberwell Green", "address": "15 Camberwell Green",
     "town": "London", "postcode": "se5 7ap"},
    {"service_name": "Women's centre", "organisation_name": "Women in Justice", "intercepts": "Community corrections",
     "needs": "trauma", "sexes_served": "2", "gender_specific": "Y", "peer_support": "Y", "capacity": "30",
     "capacity_unit": "places", "minimum_age": "18"},
    {"service_name": "Community drop-in", "organisation_name": "Test NHS Trust"},
]


def fill_template(path, rows):
    write_template(path)
    wb = load_workbook(path)
    ws = wb["Services"]
    header = [c.value for c in ws[1]]
    for r, row in enumerate(rows, start=2):
        for k, v in row.items():
            ws.cell(row=r, column=header.index(k) + 1, value=v)
    wb.save(path)
    return path


def write_csv(path, rows, header=TEMPLATE_NAMES):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for row in rows:
            w.writerow(row)
    return path


def terms_of(service, vocabulary):
    return sorted(t.code for t in (attribute_term(a) for a in service.get("attributes", []))
                  if isinstance(t, tx.Term) and t.vocabulary == vocabulary)


def test_template_lists_every_code_and_column(tmp_path):
    path = tmp_path / "t.xlsx"
    write_template(path)
    wb = load_workbook(path)
    assert [c.value for c in wb["Services"][1]] == list(TEMPLATE_NAMES)
    codes = {(r[0], str(r[1])) for r in wb["Codes"].iter_rows(min_row=2, values_only=True)}
    assert {("intercepts", c) for c in codelist("intercept").codes} <= codes
    assert {("needs", c) for c in codelist("need").codes} <= codes
    assert {("capacity_unit", c) for c in codelist("capacity_unit").codes} <= codes


def test_filled_template_imports_with_its_terms_and_again_changes_nothing(tmp_path):
    sheet = fill_template(tmp_path / "directory.xlsx", ROWS)
    store = tmp_path / "s.duckdb"
    first = import_directory(sheet, store, by="analyst one")
    assert (first.version, first.added, first.changed, first.unchanged) == (1, 3, 0, 0)
    services = {s["name"]: s for s in load_services(store)}
    court = services["Court liaison and diversion"]
    assert terms_of(court, "intercept") == ["2"]
    assert terms_of(court, "need") == ["depression", "psychosis"]  # a label is read as its code
    assert terms_of(court, "feature") == ["easy_read"]
    assert sorted(x["code"] for x in court["languages"]) == ["en", "pl"]
    assert court["capacities"][0]["available"] == 400
    assert court["capacities"][0]["unit"]["identifier"] == "people_per_year"
    assert court["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "SE5 7AP"
    women = services["Women's centre"]
    assert terms_of(women, "intercept") == ["5"] and terms_of(women, "sex") == ["2"]
    assert terms_of(services["Community drop-in"], "intercept") == []
    # both services of one organisation name the same organisation
    assert court["organization"]["id"] == services["Community drop-in"]["organization"]["id"]
    again = import_directory(sheet, store, by="analyst two")
    assert (again.version, again.unchanged) == (None, 3)
    con = connect(store, read_only=True)
    assert [h["created_by"] for h in history(con)] == ["analyst one"]
    con.close()


def test_a_change_makes_a_version_that_says_who_and_what_and_keeps_the_old_one(tmp_path):
    store = tmp_path / "s.duckdb"
    import_directory(write_csv(tmp_path / "a.csv", ROWS), store, by="first")
    changed = [dict(ROWS[0], capacity="250"), ROWS[1]]
    r = import_directory(write_csv(tmp_path / "b.csv", changed), store, by="second")
    assert (r.version, r.added, r.changed, r.unchanged, r.ended) == (2, 0, 1, 1, 0)
    con = connect(store, read_only=True)
    log = con.execute("SELECT action, fields FROM provision.change WHERE version = 2").fetchall()
    who = con.execute("SELECT created_by FROM provision.version WHERE version = 2").fetchone()[0]
    con.close()
    assert log == [("changed", "capacities")] and who == "second"
    by_name = {s["name"]: s for s in load_services(store)}
    assert by_name["Court liaison and diversion"]["capacities"][0]["available"] == 250
    assert len(by_name) == 3  # merged: the drop-in not in the second file stays
    old = {s["name"]: s for s in load_services(store, version=1)}
    assert old["Court liaison and diversion"]["capacities"][0]["available"] == 400
    ended = import_directory(write_csv(tmp_path / "c.csv", changed), store, by="third", replace=True)
    assert (ended.version, ended.ended) == (3, 1)
    assert sorted(s["name"] for s in load_services(store)) == ["Court liaison and diversion", "Women's centre"]


def test_an_undated_capacity_keeps_its_stored_date_when_it_did_not_change(tmp_path):
    store = tmp_path / "s.duckdb"
    row = dict(ROWS[1])
    import_directory(write_csv(tmp_path / "a.csv", [row]), store)
    before = load_services(store)[0]["capacities"][0]["updated"]
    assert import_directory(write_csv(tmp_path / "b.csv", [row]), store).version is None
    assert load_services(store)[0]["capacities"][0]["updated"] == before


def test_exports_validate_against_the_oruk_schema_and_import_back_unchanged(tmp_path):
    store = tmp_path / "s.duckdb"
    import_directory(fill_template(tmp_path / "d.xlsx", ROWS), store)
    services = load_services(store)
    write_json(services, tmp_path / "oruk.json")
    parsed = read_path(tmp_path / "oruk.json")
    assert validate(parsed.services, parsed.file, parsed.records) == []
    assert import_directory(tmp_path / "oruk.json", store).version is None
    counts = write_package(services, tmp_path / "package")
    assert counts["services.csv"] == 3 and counts["organizations.csv"] == 2
    assert import_directory(tmp_path / "package", store).version is None
    write_template(tmp_path / "edit.xlsx", services)
    assert import_directory(tmp_path / "edit.xlsx", store).version is None
    # the package read into a fresh store gives the same documents
    fresh = tmp_path / "fresh.duckdb"
    import_directory(tmp_path / "package", fresh)
    strip = lambda docs: [{k: v for k, v in d.items() if k != "last_modified"} for d in docs]  # noqa: E731
    assert strip(load_services(fresh)) == strip(services)


def refused(path, store):
    with pytest.raises(DirectoryRefused) as caught:
        import_directory(path, store)
    return caught.value.problems


def assert_nothing_imported(store):
    if store.exists():
        assert load_services(store) == []


def test_template_errors_name_the_row_and_column_and_import_nothing(tmp_path):
    store = tmp_path / "s.duckdb"
    bad = [dict(ROWS[0]), dict(ROWS[1], intercepts="6", capacity_unit=""),
           dict(ROWS[2], needs="not-a-need", easy_read="maybe")]
    problems = refused(write_csv(tmp_path / "bad.csv", bad), store)
    where = {(p.record, p.field) for p in problems}
    assert {("row 3", "intercepts"), ("row 3", "capacity_unit"), ("row 4", "needs"), ("row 4", "easy_read")} <= where
    assert all(p.file == "bad.csv" for p in problems)
    assert not any("not-a-need" in str(p) or "maybe" in str(p) for p in problems)  # never the value
    assert_nothing_imported(store)


def _json_service(tmp_path):
    write_csv(tmp_path / "one.csv", ROWS[:1])
    return read_path(tmp_path / "one.csv").services[0]


def test_json_errors_unknown_term_missing_unit_and_duplicate_ids(tmp_path):
    store = tmp_path / "s.duckdb"
    s = _json_service(tmp_path)
    unknown = json.loads(json.dumps(s))
    unknown["attributes"][0]["taxonomy_term_id"] = tx.derived_id("term", "intercept", "9")
    unknown["attributes"][0]["taxonomy_term"] = dict(unknown["attributes"][0]["taxonomy_term"],
                                                     id=tx.derived_id("term", "intercept", "9"), code="intercept:9")
    no_unit = json.loads(json.dumps(s))
    no_unit["id"] = tx.derived_id("service", "another")
    del no_unit["capacities"][0]["unit"]
    for obj in (no_unit["languages"], no_unit["attributes"], no_unit["service_areas"]):
        for i, o in enumerate(obj):
            o["id"] = tx.derived_id("other", str(i), o["id"])
    duplicate = json.loads(json.dumps(s))  # the same service id again, other content
    duplicate["name"] = "Another name"
    (tmp_path / "bad.json").write_text(json.dumps([unknown, no_unit, duplicate]), encoding="utf-8")
    problems = refused(tmp_path / "bad.json", store)
    sid = s["id"]
    found = {(p.record, p.field, p.rule.split(" (")[0]) for p in problems}
    assert (f"service 1 (id {sid})", "attributes/0/taxonomy_term",
            "is not an intercept of the Sequential Intercept Model") in found
    assert any(p.record.startswith("service 2") and p.field == "capacities/0/unit" for p in problems)
    assert any(p.record.startswith("service 3") and p.field == "id" and "duplicate service id" in p.rule
               for p in problems)
    assert_nothing_imported(store)


def test_schema_errors_name_the_field_without_its_value(tmp_path):
    s = _json_service(tmp_path)
    s["status"] = "open-ish"
    s["email"] = "not an email"
    del s["name"]
    problems = validate([s], "x.json", ["service 1"])
    by_field = {p.field: p.rule for p in problems}
    assert by_field["status"].startswith("must be one of: active")
    assert by_field["email"] == "must be a valid email"
    assert by_field["name"] == "required field is missing"
    assert not any("open-ish" in str(p) or "not an email" in str(p) for p in problems)


def test_a_file_that_is_not_a_directory_is_refused_plainly(tmp_path):
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    problems = refused(tmp_path / "broken.json", tmp_path / "s.duckdb")
    assert problems[0].rule.startswith("is not valid JSON (line 1")
    write_csv(tmp_path / "other.csv", [{"name": "x"}], header=["name"])
    problems = refused(tmp_path / "other.csv", tmp_path / "s.duckdb")
    assert {p.field for p in problems} == {"name", "service_name, organisation_name"}
    (tmp_path / "pkg").mkdir()
    assert "services.csv" in refused(tmp_path / "pkg", tmp_path / "s.duckdb")[0].rule


def test_taxonomy_terms_come_from_the_code_lists_with_stable_unique_ids():
    ids = [t.id for t in tx.terms()]
    assert len(ids) == len(set(ids))
    assert tx.codes("intercept") == codelist("intercept").codes
    assert tx.codes("need") == codelist("need").codes
    assert tx.codes("feature") == codelist("service_feature").codes
    assert tx.codes("ethnic_group") == ("asian", "black", "mixed", "white", "other")
    assert tx.term("intercept", "3").id == tx.derived_id("term", "intercept", "3")
    with pytest.raises(KeyError, match="not a intercept code"):
        tx.term("intercept", "6")


def test_the_synthetic_directory_is_a_template_that_imports_cleanly(tmp_path):
    assert COLUMNS == TEMPLATE_NAMES
    store = tmp_path / "s.duckdb"
    r = import_directory(write_synthetic_directory(tmp_path / "synthetic.csv", people=50_000), store)
    services = load_services(store)
    assert r.added == len(services) > 20
    intercepts = {c for s in services for c in terms_of(s, "intercept")}
    assert intercepts == set("012345")
    # the gaps the demo is meant to show: care after custody in two areas only; few language offers
    reconnect = [s for s in services if "RECONNECT" in s["name"]]
    assert len(reconnect) == 2
    offering = [s for s in services if {x["code"] for x in s.get("languages", [])} - {"en"}]
    assert len(offering) == 1


def test_an_import_that_fails_part_way_leaves_the_directory_as_it_was(tmp_path):
    """The change log is made to refuse every row, so the import fails after the version and the
    services were written: the transaction takes them back."""
    store = tmp_path / "s.duckdb"
    import_directory(write_csv(tmp_path / "a.csv", ROWS[:1]), store)
    con = connect(store)
    con.execute("DROP TABLE provision.change")  # the last write of an import will fail
    con.execute("CREATE TABLE provision.change (version INTEGER NOT NULL CHECK (version < 0), "
                "service_id VARCHAR, action VARCHAR, fields VARCHAR)")
    con.close()
    with pytest.raises(Exception):
        import_directory(write_csv(tmp_path / "b.csv", ROWS), store)
    con = connect(store, read_only=True)
    assert con.execute("SELECT count(*) FROM provision.version").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM provision.service WHERE version_to IS NULL").fetchone()[0] == 1
    con.close()


def test_the_compiled_schema_check_accepts_exactly_what_jsonschema_accepts(tmp_path):
    """The quick path (fastjsonschema, compiled) must never pass a service the published schema refuses."""
    from triangulate.provision.validate import SERVICE_SCHEMA, _conforms, service_validator

    s = _json_service(tmp_path)
    variants = [s]
    for path, value in ((("id",), "not-a-uuid"), (("id",), "{" + s["id"] + "}"), (("email",), "nobody"),
                        (("url",), "not a uri"), (("status",), "open"), (("minimum_age",), "12"),
                        (("minimum_age",), True), (("capacities",), "x"),
                        (("organization", "id"), 7), (("attributes", 0, "taxonomy_term", "taxonomy"), None),
                        (("service_at_locations", 0, "location", "addresses", 0, "country"), 44),
                        (("last_modified",), "yesterday"), (("last_modified",), "2026-12-05T10:00:00Z")):
        v = json.loads(json.dumps(s))
        target = v
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        variants.append(v)
    for v in variants:
        assert _conforms(SERVICE_SCHEMA, v) == (not list(service_validator().iter_errors(v))), v
