"""The files the synthesiser writes: layout, validity against the standard, truth, reproducibility."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from triangulate.standard import AGENCY_TABLES, ENCODED_FIELDS, schema
from triangulate.synth import SynthResult, write_synthetic_extracts


def test_layout_and_result(default_csv, helpers):
    r: SynthResult = default_csv.result
    out = r.out_dir
    assert r.people == helpers.SMALL
    assert set(r.files) == set(AGENCY_TABLES) | {"need", "population"}
    assert set(r.records) == set(r.files)
    for table in AGENCY_TABLES + ("need",):
        assert r.files[table] == out / "extracts" / f"{table}.csv"
        assert r.files[table].is_file()
    assert r.files["population"] == out / "population.csv"
    assert r.truth_file == out / "truth" / "ground_truth.csv"
    assert (out / "truth" / "people.csv").is_file()
    # Nothing but the extracts in extracts/: the truth lives apart.
    assert sorted(p.name for p in (out / "extracts").iterdir()) == sorted(f"{t}.csv" for t in AGENCY_TABLES + ("need",))
    for table, rows in default_csv.tables.items():
        assert r.records[table] == len(rows)
    assert r.seconds > 0
    assert r.agency_records == sum(len(default_csv.tables[t]) for t in AGENCY_TABLES)


def test_volume_is_about_ten_records_per_person(default_csv, helpers):
    n = helpers.SMALL
    per_person = Counter(t["person_id"] for t in default_csv.truth)
    assert len(per_person) == n  # everyone in the cohort has at least one record
    mean = sum(per_person.values()) / n
    assert 7 <= mean <= 13
    counts = sorted(per_person.values())
    # Heavy tail: the busiest 1% have several times the median number of records.
    assert counts[int(0.99 * n)] >= 4 * counts[n // 2]


def test_csv_format(default_csv):
    raw = default_csv.result.files["police_custody"].read_bytes()
    assert b"\r\n" not in raw
    header = raw.split(b"\n", 1)[0].decode()
    assert header.split(",") == [f for f in schema("police_custody").field_names if f not in ENCODED_FIELDS]
    raw.decode("utf-8")


@pytest.mark.parametrize("table", AGENCY_TABLES + ("need", "population"))
def test_low_noise_extracts_pass_their_schema(low_noise, table, helpers):
    failures = helpers.schema_failures(table, low_noise.columns[table], low_noise.tables[table])
    assert failures == []
    assert helpers.pnc_failures(low_noise.tables[table]) == []


def test_low_noise_has_no_deliberately_invalid_rows(low_noise):
    assert low_noise.invalid == []


def test_default_noise_breaks_exactly_the_documented_rows(default_csv, helpers):
    """Rows failing the schema are exactly those listed in truth/invalid_rows, for the same rule."""
    found = set()
    total = 0
    for table in AGENCY_TABLES:
        rows = default_csv.tables[table]
        total += len(rows)
        for i, rule in helpers.schema_failures(table, default_csv.columns[table], rows):
            found.add((table, rows[i]["source_system"], rows[i]["source_record_id"], rule))
        assert helpers.pnc_failures(rows) == []
    listed = {(r["source_table"], r["source_system"], r["source_record_id"], r["rule_broken"]) for r in default_csv.invalid}
    assert found == listed
    assert 0.0005 <= len(listed) / total <= 0.002
    assert {rule.split(":")[0] for *_, rule in listed} >= {"required", "codelist", "not_future", "date_order"}
    # The broken rows are still in the ground truth.
    for table, system, record_id, _ in listed:
        assert (table, system, record_id) in default_csv.person_of


def test_need_rows_reference_records_on_or_after_their_date(default_csv, helpers):
    event_date = {t: schema(t).event_date for t in AGENCY_TABLES}
    by_key = {
        (t, r["source_system"], r["source_record_id"]): r for t in AGENCY_TABLES for r in default_csv.tables[t]
    }
    needs = default_csv.tables["need"]
    assert len(needs) > 0
    assert helpers.schema_failures("need", default_csv.columns["need"], needs) == []
    methods = Counter()
    for n in needs:
        record = by_key[(n["source_table"], n["source_system"], n["source_record_id"])]
        methods[(n["source_table"], n["identified_by"])] += 1
        when = record[event_date[n["source_table"]]]
        if when:  # a deliberately invalid record may have lost its date
            assert n["identified_date"] >= when
        person = default_csv.person(n["source_table"], record)
        assert person[f"need_{n['need_code']}"] == "true"  # agencies only find needs people have
    assert methods[("liaison_diversion", "screen")] > 0
    assert methods[("prison_custody", "screen")] > 0
    assert methods[("mental_health", "diagnosis")] > 0
    assert methods[("probation_supervision", "assessment")] > 0


def test_truth_covers_every_record_exactly_once(default_csv):
    truth_keys = Counter((t["source_table"], t["source_system"], t["source_record_id"]) for t in default_csv.truth)
    assert all(v == 1 for v in truth_keys.values())
    record_keys = Counter((t, r["source_system"], r["source_record_id"]) for t in AGENCY_TABLES for r in default_csv.tables[t])
    assert record_keys == truth_keys
    assert set(t["person_id"] for t in default_csv.truth) <= set(default_csv.people)


def test_record_ids_say_nothing_about_the_person(default_csv):
    """Ids run in date order within a system, so one person's records are scattered among others'."""
    for table in ("police_custody", "mental_health", "prison_custody", "probation_supervision", "liaison_diversion"):
        date_column = schema(table).event_date
        by_system: dict[str, list[dict[str, str]]] = {}
        for r in default_csv.tables[table]:
            by_system.setdefault(r["source_system"], []).append(r)
        for system_rows in by_system.values():
            ordered = sorted(system_rows, key=lambda r: (len(r["source_record_id"]), r["source_record_id"]))
            dates = [r[date_column] for r in ordered if r[date_column]]
            assert dates == sorted(dates)
            positions: dict[str, list[int]] = {}
            for i, r in enumerate(ordered):
                positions.setdefault(default_csv.person_of[(table, r["source_system"], r["source_record_id"])], []).append(i)
            several = [p for p in positions.values() if len(p) >= 3]
            contiguous = [p for p in several if p[-1] - p[0] == len(p) - 1]
            assert len(contiguous) <= 0.1 * len(several) + 1


def test_source_systems_are_named_per_agency(default_csv):
    systems = {t: {r["source_system"] for r in default_csv.tables[t]} for t in AGENCY_TABLES}
    assert systems["court_appearance"] == {"COMMON-PLATFORM"}
    assert systems["prison_custody"] == {"NOMIS"}
    assert systems["probation_supervision"] == {"NDELIUS"}
    assert systems["liaison_diversion"] == {"LDDS"}
    assert "NICHE-MPS" in systems["police_custody"]
    assert all(s.startswith("MHSDS-") for s in systems["mental_health"])
    assert len(systems["mental_health"]) >= 2


def test_dates_lie_in_the_window_and_ages_are_realistic(default_csv):
    start, end = dt.date(2021, 4, 1), dt.date(2026, 3, 31)
    for table in AGENCY_TABLES:
        column = schema(table).event_date
        for r in default_csv.tables[table]:
            if r[column]:
                assert start <= dt.date.fromisoformat(r[column]) <= end
    ages = []
    for r in default_csv.tables["police_custody"]:
        if not r["arrival_date"]:
            continue  # a deliberately invalid row
        person = default_csv.person("police_custody", r)
        born = dt.date.fromisoformat(person["date_of_birth"])
        ages.append((dt.date.fromisoformat(r["arrival_date"]) - born).days / 365.25)
    adults = sum(18 <= a < 61 for a in ages) / len(ages)
    assert adults > 0.85
    assert min(ages) >= 10
    youth_hearings = [r for r in default_csv.tables["court_appearance"] if r["court_type"] == "youth"]
    assert youth_hearings


def test_population_file(default_csv, helpers):
    rows = default_csv.tables["population"]
    assert len(rows) == 4 * 19 * 2 * 19
    total = sum(int(r["population"]) for r in rows)
    # The cohort is a few per cent of residents.
    assert 0.01 <= helpers.SMALL / total <= 0.08
    assert {r["year"] for r in rows} == {"2021"}
    assert all(r["source"].startswith("synthetic, calibrated to") for r in rows)


def test_same_seed_same_bytes_and_different_seed_differs(helpers, default_csv, default_parquet):
    for fmt, first in (("csv", default_csv), ("parquet", default_parquet)):
        again = helpers.generate(f"again_{fmt}", fmt=fmt)
        first_files = sorted(p.relative_to(first.result.out_dir) for p in first.result.out_dir.rglob("*") if p.is_file())
        again_files = sorted(p.relative_to(again.result.out_dir) for p in again.result.out_dir.rglob("*") if p.is_file())
        assert first_files == again_files
        for rel in first_files:
            assert (first.result.out_dir / rel).read_bytes() == (again.result.out_dir / rel).read_bytes(), rel
    other = helpers.generate("other_seed", seed=helpers.SEED + 1)
    for table in AGENCY_TABLES:
        assert other.result.files[table].read_bytes() != default_csv.result.files[table].read_bytes()


def test_parquet_and_csv_carry_the_same_data(default_csv, default_parquet):
    for table in default_csv.tables:
        assert default_parquet.columns[table] == default_csv.columns[table]
        assert default_parquet.tables[table] == default_csv.tables[table], table
    assert default_parquet.truth == default_csv.truth
    assert default_parquet.people == default_csv.people


def test_progress_is_reported_to_completion(tmp_path):
    calls = []
    write_synthetic_extracts(tmp_path, 200, 3, progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert calls
    assert [c[1] for c in calls] == list(range(1, len(calls) + 1))
    assert calls[-1][1] == calls[-1][2]
    assert all(isinstance(c[0], str) and c[0] for c in calls)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fmt": "xlsx"}, "fmt must be one of csv, parquet"),
        ({"noise": "extreme"}, "noise must be one of low, default, high"),
        ({"people": 0}, "people must be a whole number"),
        ({"people": 2.5}, "people must be a whole number"),
        ({"seed": -1}, "seed must be a non-negative whole number"),
    ],
)
def test_bad_arguments_give_clear_errors(tmp_path, kwargs, message):
    args = {"out_dir": tmp_path, "people": 10, "seed": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        write_synthetic_extracts(**args)
    assert not any(Path(tmp_path).iterdir())  # nothing written on bad arguments


def test_ground_truth_file_columns(default_csv, helpers):
    columns, _ = helpers.read_csv(default_csv.result.truth_file)
    assert columns == ["source_table", "source_system", "source_record_id", "person_id"]


@pytest.mark.parametrize("people", [1, 2, 7])
def test_a_tiny_cohort_still_writes_every_file_with_its_header(tmp_path, people, helpers):
    result = write_synthetic_extracts(tmp_path, people, 4, noise="low")
    truth_people = {r["person_id"] for r in helpers.read_csv(result.truth_file)[1]}
    assert len(truth_people) == people
    for table in AGENCY_TABLES + ("need", "population"):
        columns, rows = helpers.read_csv(result.files[table])
        assert columns == [f for f in schema(table).field_names if f not in ENCODED_FIELDS]
        assert helpers.schema_failures(table, columns, rows) == []
