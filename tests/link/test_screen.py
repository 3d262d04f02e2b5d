"""Court-list pre-screening against a linked store, checked against the synthetic ground truth.

Some court appearances are held out of the store and turned into a day's list, as a court list is:
people whose other records (custody, mental health, ...) are in the store, listed again today.
"""

from __future__ import annotations

import csv
import logging
import stat
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triangulate.cli import app
from triangulate.ingest import ingest
from triangulate.link import LinkError, link
from triangulate.link.screen import JUSTICE_DATES, screen
from triangulate.link.screen_list import REQUIRED_COLUMNS, ScreenListError, read_list
from triangulate.standard import AGENCY_TABLES

from .conftest import TEST_KEY, U_PAIRS

HELD_OUT = 120
LIST_COLUMNS = ("given_name", "family_name", "date_of_birth", "postcode", "pnc_id", "location", "time")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, header, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def held_out(population, tmp_path_factory):
    """(store, list file, truth about each list row, list date)."""
    root = tmp_path_factory.mktemp("screen")
    truth = {(r["source_table"], r["source_record_id"]): r["person_id"]
             for r in _rows(population.truth_file)}
    invalid = {(r["source_table"], r["source_record_id"]) for r in _rows(population.truth_file.parent / "invalid_rows.csv")}
    court = _rows(population.files["court_appearance"])
    usable = [r for r in court if ("court_appearance", r["source_record_id"]) not in invalid
              and r["family_name"] and r["date_of_birth"]]
    listed = usable[-HELD_OUT:]
    listed_ids = {r["source_record_id"] for r in listed}
    header = list(court[0].keys())
    kept = _write(root / "court_appearance.csv", header,
                  [[r[h] for h in header] for r in court if r["source_record_id"] not in listed_ids])
    files = [population.files[t] for t in AGENCY_TABLES if t != "court_appearance"] + [kept]
    store = root / "store.duckdb"
    ingest(files, store, TEST_KEY)
    link(store, u_sample_pairs=U_PAIRS)

    today = max(date.fromisoformat(r["hearing_date"]) for r in listed) + timedelta(days=1)
    list_file = _write(root / "list.csv", LIST_COLUMNS, [
        [r["given_name"], r["family_name"], r["date_of_birth"], r["postcode"], r["pnc_id"],
         r["court_code"], f"{9 + i % 8:02d}:{(i * 7) % 60:02d}"] for i, r in enumerate(listed)])

    # What the store holds about each true person: last mental health contact, justice contacts.
    loaded = {k for k in truth if k not in invalid and k[1] not in listed_ids}
    mh_last: dict[str, date] = {}
    for r in _rows(population.files["mental_health"]):
        key = ("mental_health", r["source_record_id"])
        if key in loaded and r["event_date"] and date.fromisoformat(r["event_date"]) <= today:
            person = truth[key]
            mh_last[person] = max(mh_last.get(person, date.min), date.fromisoformat(r["event_date"]))
    justice: dict[str, int] = defaultdict(int)
    for table, column in JUSTICE_DATES.items():
        for r in _rows(population.files[table]):
            key = (table, r["source_record_id"])
            if key in loaded and r[column] and today - timedelta(days=365) < date.fromisoformat(r[column]) <= today:
                justice[truth[key]] += 1
    expected = {}
    for i, r in enumerate(listed, start=2):
        person = truth[("court_appearance", r["source_record_id"])]
        expected[i] = {"mh_last": mh_last.get(person), "justice": justice.get(person, 0)}
    return store, list_file, expected, today


@pytest.fixture(scope="module")
def result(held_out):
    store, list_file, _, today = held_out
    return screen(store, list_file, today=today)


def test_people_known_to_mental_health_services_are_found_with_their_last_contact(held_out, result):
    _, _, expected, _ = held_out
    rows = {r.list_row: r for r in result.rows}
    known = [row for row, e in expected.items() if e["mh_last"] is not None]
    unknown = [row for row, e in expected.items() if e["mh_last"] is None]
    assert len(known) >= 20 and len(unknown) >= 20, "the held-out list should hold both kinds of people"
    found = [row for row in known if rows[row].known_to_mental_health == "yes"]
    assert len(found) >= 0.9 * len(known)
    # "yes" means the right person: their last mental health contact is the true person's.
    right = [row for row in found if rows[row].last_mental_health_contact == expected[row]["mh_last"].isoformat()]
    assert len(right) >= 0.97 * len(found)
    assert sum(rows[row].known_to_mental_health == "no" for row in unknown) >= 0.95 * len(unknown)
    for row in unknown:
        assert rows[row].known_to_mental_health != "yes" or rows[row].match_probability >= 0.99


def test_each_answer_carries_its_probability_and_history(result):
    for r in result.rows:
        if r.known_to_mental_health == "yes":
            assert r.match_probability >= 0.99 and r.last_mental_health_contact is not None
            assert r.last_mental_health_team_type is not None
        elif r.known_to_mental_health == "possible":
            assert 0.5 <= r.match_probability < 0.99
        else:
            assert r.last_mental_health_contact is None and not r.open_to_mental_health_service


def test_repeat_attendance_counts_the_true_persons_justice_contacts_in_the_last_year(held_out, result):
    _, _, expected, _ = held_out
    checked = [r for r in result.rows if r.known_to_mental_health == "yes"]
    agree = [r for r in checked if r.justice_contacts_12_months == expected[r.list_row]["justice"]]
    assert len(agree) >= 0.9 * len(checked)
    assert any(r.repeat_attendee for r in result.rows)
    assert all(r.repeat_attendee == (r.justice_contacts_12_months >= 2) for r in result.rows)


def test_the_list_is_sorted_so_practitioners_see_who_to_see_first(result):
    rank = [0 if r.open_to_mental_health_service else {"yes": 1, "possible": 2, "no": 3}[r.known_to_mental_health]
            for r in result.rows]
    assert rank == sorted(rank)
    assert [r.priority for r in result.rows] == list(range(1, len(result.rows) + 1))
    assert any(r.open_to_mental_health_service for r in result.rows)


def test_previous_ld_contact_and_outcome_are_reported_when_there_was_one(result):
    seen = [r for r in result.rows if r.previous_ld_contact]
    assert seen, "some listed people have been seen by L&D before"
    assert all(r.previous_ld_outcome for r in seen)


def test_the_command_writes_a_private_sorted_result_and_says_who_may_see_it(held_out, tmp_path):
    store, list_file, expected, today = held_out
    out = tmp_path / "result.csv"
    run = CliRunner().invoke(app, ["screen", str(list_file), "--store", str(store), "--out", str(out),
                                   "--date", today.isoformat()])
    assert run.exit_code == 0, run.output
    text = " ".join(run.output.split())
    assert "authorised" in text and "Screened" in text
    rows = _rows(out)
    assert len(rows) == len(expected)
    assert rows[0]["priority"] == "1" and {"known_to_mental_health", "match_probability"} <= set(rows[0])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_nothing_identifying_reaches_the_log(held_out, caplog, tmp_path):
    store, list_file, _, today = held_out
    listed = _rows(list_file)[:10]
    small = _write(tmp_path / "small.csv", LIST_COLUMNS, [[r[c] for c in LIST_COLUMNS] for r in listed])
    with caplog.at_level(logging.DEBUG):
        screen(store, small, today=today)
    logged = caplog.text.lower()
    assert "screened 10 listed people" in logged
    for r in listed:
        for column in ("family_name", "date_of_birth", "postcode"):
            if r[column] and len(r[column]) > 3:
                assert r[column].lower() not in logged


# Bad input: refused before anything is scored, naming the file, row and field, never the value.

def test_a_missing_column_is_named(tmp_path):
    path = _write(tmp_path / "list.csv", [c for c in REQUIRED_COLUMNS if c != "date_of_birth"],
                  [["Ann", "Smith", "SW1A 1AA", "Court", "10:00"]])
    with pytest.raises(ScreenListError) as refused:
        read_list(path)
    assert "list.csv row 1, field date_of_birth: required column is missing" in str(refused.value)


def test_an_unparseable_date_names_row_and_field_not_the_value(tmp_path):
    path = _write(tmp_path / "list.csv", LIST_COLUMNS, [
        ["Ann", "Smith", "1990-01-02", "SW1A 1AA", "", "Court", "10:00"],
        ["Bob", "Jones", "31/31/1990", "SW1A 1AA", "", "Court", "10:30"],
        ["Cy", "Brown", "1990-01-02", "SW1A 1AA", "", "Court", "half past"],
    ])
    with pytest.raises(ScreenListError) as refused:
        read_list(path)
    message = str(refused.value)
    assert "list.csv row 3, field date_of_birth: not a date" in message
    assert "list.csv row 4, field time: not a time" in message
    for value in ("31/31/1990", "Jones", "half past"):
        assert value not in message


def test_an_unknown_format_is_refused(tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"PK\x03\x04 not a csv")
    with pytest.raises(ScreenListError, match="unknown format '.xlsx'"):
        read_list(path)
    binary = tmp_path / "list.csv"
    binary.write_bytes(b"\x00\x01\x02given_name")
    with pytest.raises(ScreenListError, match="not a CSV list|not UTF-8"):
        read_list(binary)


def test_a_list_with_nobody_on_it_is_refused(tmp_path):
    with pytest.raises(ScreenListError, match="nobody on it"):
        read_list(_write(tmp_path / "list.csv", LIST_COLUMNS, []))


def test_a_store_that_has_not_been_linked_says_so(population, tmp_path):
    store = tmp_path / "unlinked.duckdb"
    ingest([population.files["police_custody"], population.files["mental_health"]], store, TEST_KEY)
    path = _write(tmp_path / "list.csv", LIST_COLUMNS, [["Ann", "Smith", "1990-01-02", "SW1A 1AA", "", "Court", ""]])
    with pytest.raises(LinkError, match="has not been linked yet"):
        screen(store, path)
    run = CliRunner().invoke(app, ["screen", str(path), "--store", str(store), "--out", str(tmp_path / "r.csv")])
    assert run.exit_code == 2 and "not been linked" in run.output
    assert not (tmp_path / "r.csv").exists()


def test_the_command_reports_list_problems_and_writes_nothing(tmp_path, linked_store):
    path = _write(tmp_path / "list.csv", LIST_COLUMNS, [["Ann", "", "1990-01-02", "SW1A 1AA", "", "Court", ""]])
    out = tmp_path / "r.csv"
    run = CliRunner().invoke(app, ["screen", str(path), "--store", str(linked_store), "--out", str(out)])
    assert run.exit_code == 2
    assert "row 2, field family_name: a value is required" in " ".join(run.output.split())
    assert not out.exists()


def test_listed_names_come_back_in_the_result_without_running_as_formulas(tmp_path):
    from triangulate.link.screen import ScreenResult, ScreenRow

    names = ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "+1+1", "-cmd", "O'Neil"]
    rows = [ScreenRow(priority=i + 1, list_row=i + 1, time=None, location="Court 1", given_name="=1+1",
                      family_name=name, date_of_birth="1990-01-01", known_to_mental_health="no",
                      match_probability=None, last_mental_health_contact=None, last_mental_health_team_type=None,
                      open_to_mental_health_service=False, justice_contacts_12_months=-1, repeat_attendee=False,
                      previous_ld_contact=None, previous_ld_outcome=None) for i, name in enumerate(names)]
    out = ScreenResult(rows, "run", date(2025, 1, 1), 0, 0.0).write_csv(tmp_path / "r.csv")
    got = _rows(out)
    assert [r["family_name"] for r in got] == ["'" + n for n in names[:4]] + ["O'Neil"]
    assert {r["given_name"] for r in got} == {"'=1+1"}
    assert {r["justice_contacts_12_months"] for r in got} == {"-1"}  # a number stays a number
