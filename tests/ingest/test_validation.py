"""Row checks: every rule of the standard, normalisation, derived ages, references between tables."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import pytest

from triangulate.ingest import RULES, Pseudonymiser, ingest
from triangulate.ingest.checks import nhs_number_valid_sql
from triangulate.standard import AGENCY_TABLES, ALL_TABLES, nhs_number_is_valid, pnc_id_is_valid, schema


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, kit, key) -> tuple[Path, object]:
    """The fixture extracts ingested once into a fresh store."""
    folder = tmp_path_factory.mktemp("loaded")
    report = ingest(kit.EXTRACTS, folder / "triangulate.duckdb", key)
    return folder / "triangulate.duckdb", report


def test_fixture_identifiers_are_valid_where_meant_to_be(kit) -> None:
    # The good rows carry real-format identifiers: valid NHS check digits and PNC check letters.
    for path in kit.EXTRACTS.glob("*.csv"):
        header, rows = kit.read_rows(path)
        bad = kit.rejected_rows(path.name)
        for number, row in enumerate(rows, start=1):
            if number in bad:
                continue
            values = dict(zip(header, row))
            if values.get("nhs_number", "").strip():
                assert nhs_number_is_valid(values["nhs_number"].strip())
            if values.get("pnc_id", "").strip():
                assert pnc_id_is_valid(values["pnc_id"].strip())


def test_every_table_of_the_standard_has_a_fixture(kit) -> None:
    assert {p.stem for p in kit.EXTRACTS.glob("*.csv")} == set(ALL_TABLES)


def test_rejects_are_exactly_the_bad_rows_one_line_per_broken_rule(kit, loaded) -> None:
    store, report = loaded
    assert kit.rejects_in(store.parent / f"{store.name}.rejects") == kit.expected_rejects()


def test_every_rule_is_exercised_by_the_fixtures(kit) -> None:
    assert {rule for *_, rule in kit.expected_rejects()} == set(RULES)


def test_every_row_is_loaded_or_rejected(kit, loaded) -> None:
    _, report = loaded
    assert len(report.files) == len(ALL_TABLES)
    for result in report.files:
        _, rows = kit.read_rows(kit.EXTRACTS / result.file)
        bad = kit.rejected_rows(result.file)
        assert result.rows_in == len(rows)
        assert result.rows_rejected == len(bad)
        assert result.rows_loaded == len(rows) - len(bad)
        assert result.rows_in == result.rows_loaded + result.rows_rejected


def test_loaded_counts_are_what_the_store_holds(kit, loaded) -> None:
    store, report = loaded
    dump = kit.dump_store(store)
    for result in report.files:
        zones = ["content"] if result.table in ("need", "population") else ["identity", "content"]
        for zone in zones:
            assert len(dump[f"{zone}.{result.table}"]) == result.rows_loaded


def test_rejects_name_the_csv_line_and_never_the_value(kit, loaded) -> None:
    import csv

    store, _ = loaded
    for path in (store.parent / f"{store.name}.rejects").glob("*.rejects.csv"):
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and list(rows[0]) == ["file", "row", "line", "field", "rule", "what_to_fix"]
        for row in rows:
            assert int(row["line"]) == int(row["row"]) + 1  # one line per record in the fixtures
            assert row["what_to_fix"]


def test_values_are_normalised_on_the_way_in(kit, loaded) -> None:
    store, _ = loaded
    header, rows = kit.read_rows(kit.EXTRACTS / "police_custody.csv")
    written = {r[header.index("source_record_id")]: dict(zip(header, r)) for r in rows}
    assert written["CUS/2024/4003"]["postcode"] == "sw162jp"
    assert written["CUS/2023/4002"]["pnc_id"][-1].islower()
    con = duckdb.connect(str(store), read_only=True)
    police = {r[0]: r[1:] for r in con.sql(
        "SELECT source_record_id, postcode, pnc_id FROM identity.police_custody").fetchall()}
    assert police["CUS/2024/4003"][0] == "SW16 2JP"
    assert written["CUS/2023/4002"]["pnc_id"] != police["CUS/2023/4002"][1]
    assert police["CUS/2023/4002"][1] == written["CUS/2023/4002"]["pnc_id"].upper()
    mental = {r[0]: r[1:] for r in con.sql(
        "SELECT source_record_id, postcode, nhs_number, given_name FROM identity.mental_health").fetchall()}
    assert mental["MH100005"][0] == "SW4 7AA"  # written '  sw4 7aa '
    assert " " not in mental["MH100006"][1] and len(mental["MH100006"][1]) == 10  # written spaced
    assert mental["MH100007"][2] == "Nadia"  # written '  Nadia '
    probation = {r[0] for r in con.sql("SELECT requirements FROM content.probation_supervision").fetchall()}
    assert "mhtr;rar" in probation


def test_records_are_keyed_with_hmac_and_the_same_key_in_both_zones(loaded, key) -> None:
    store, _ = loaded
    keyer = Pseudonymiser(key)
    con = duckdb.connect(str(store), read_only=True)
    for table in AGENCY_TABLES:
        identity = con.sql(f"SELECT record_key, source_system, source_record_id FROM identity.{table}").fetchall()
        assert identity
        for record_key, system, record_id in identity:
            assert record_key == keyer.record_key(table, system, record_id)
        content_keys = {r[0] for r in con.sql(f"SELECT record_key FROM content.{table}").fetchall()}
        assert content_keys == {r[0] for r in identity}


def test_needs_carry_the_record_key_of_the_record_they_refer_to(kit, loaded, key) -> None:
    store, _ = loaded
    keyer = Pseudonymiser(key)
    header, rows = kit.read_rows(kit.EXTRACTS / "need.csv")
    bad = kit.rejected_rows("need.csv")
    expected = {
        (keyer.record_key(v["source_table"], v["source_system"], v["source_record_id"]), v["need_code"])
        for n, row in enumerate(rows, start=1) if n not in bad
        for v in [dict(zip(header, row))]
    }
    con = duckdb.connect(str(store), read_only=True)
    assert set(con.sql("SELECT record_key, need_code FROM content.need").fetchall()) == expected


def test_age_at_event_is_whole_years_from_birth_to_the_event_date(kit, loaded) -> None:
    store, _ = loaded
    header, rows = kit.read_rows(kit.EXTRACTS / "court_appearance.csv")
    by_id = {dict(zip(header, r))["source_record_id"]: dict(zip(header, r)) for r in rows}
    con = duckdb.connect(str(store), read_only=True)
    ages = con.sql(
        "SELECT i.source_record_id, c.age_at_event FROM identity.court_appearance i "
        "JOIN content.court_appearance c USING (record_key)"
    ).fetchall()
    assert ages
    for record_id, age in ages:
        born = dt.date.fromisoformat(by_id[record_id]["date_of_birth"])
        event = dt.date.fromisoformat(by_id[record_id]["hearing_date"])
        assert age == event.year - born.year - ((event.month, event.day) < (born.month, born.day))


def test_a_leap_day_birthday_is_reached_on_the_first_of_march(kit, tmp_path: Path, key: bytes) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "police_custody.csv")
    template = dict(zip(header, rows[0]))
    events = {"LEAP-1": "2023-02-28", "LEAP-2": "2023-03-01", "LEAP-3": "2024-02-29", "LEAP-4": "2024-02-28"}
    new_rows = []
    for record_id, arrival in events.items():
        values = template | {"source_record_id": record_id, "date_of_birth": "2000-02-29",
                             "arrival_date": arrival, "departure_date": ""}
        new_rows.append([values[h] for h in header])
    path = kit.write_rows(tmp_path / "leap.csv", header, new_rows)
    ingest(path, tmp_path / "s.duckdb", key)
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    ages = dict(con.sql("SELECT i.source_record_id, c.age_at_event FROM identity.police_custody i "
                        "JOIN content.police_custody c USING (record_key)").fetchall())
    assert ages == {"LEAP-1": 22, "LEAP-2": 23, "LEAP-3": 24, "LEAP-4": 23}


def test_the_sql_nhs_number_check_agrees_with_the_standard() -> None:
    rng = random.Random(20240101)
    numbers = [f"{rng.randrange(10**10):010d}" for _ in range(3000)] + ["9434765919", "9434765918", "0000000000"]
    con = duckdb.connect()
    valid = {
        r[0] for r in con.execute(
            f"SELECT n FROM (SELECT unnest($n) AS n) WHERE {nhs_number_valid_sql('CAST(n AS BIGINT)')}", {"n": numbers}
        ).fetchall()
    }
    assert valid == {n for n in numbers if nhs_number_is_valid(n)}
    assert "9434765919" in valid and "9434765918" not in valid


def test_a_need_may_refer_to_a_record_loaded_in_an_earlier_run(kit, tmp_path: Path, key: bytes) -> None:
    store = tmp_path / "s.duckdb"
    agency = [kit.EXTRACTS / f"{t}.csv" for t in AGENCY_TABLES]
    ingest(agency, store, key)
    report = ingest(kit.EXTRACTS / "need.csv", store, key)
    (result,) = report.files
    assert (result.rows_loaded, result.rows_rejected) == (30, 7)


def test_needs_given_before_their_records_in_one_run_are_loaded_after_them(kit, tmp_path: Path, key: bytes) -> None:
    paths = [kit.EXTRACTS / "need.csv", *(kit.EXTRACTS / f"{t}.csv" for t in reversed(AGENCY_TABLES))]
    report = ingest(paths, tmp_path / "s.duckdb", key)
    assert report.files[0].file == "need.csv"  # reported in the order given
    assert (report.files[0].rows_loaded, report.files[0].rows_rejected) == (30, 7)


def test_a_need_alone_refers_to_nothing_and_is_all_rejected(kit, tmp_path: Path, key: bytes) -> None:
    report = ingest(kit.EXTRACTS / "need.csv", tmp_path / "s.duckdb", key)
    (result,) = report.files
    assert result.rows_loaded == 0 and result.rows_rejected == 37
    rules = {(row, rule) for _, row, _, rule in kit.rejects_in(tmp_path / "s.duckdb.rejects")}
    assert (1, "unknown_record") in rules


def test_the_standard_has_no_rule_or_check_the_ingest_does_not_know() -> None:
    from triangulate.ingest.checks import table_checks

    for name in ALL_TABLES:
        table = schema(name)
        checks = table_checks(table, set(table.field_names))
        assert {c.rule for c in checks} <= set(RULES)


def test_extracts_of_standard_1_0_and_1_1_load_into_one_store(kit, tmp_path: Path, key: bytes) -> None:
    """The fixtures are 1.0 extracts (no offence date); a 1.1 extract adds it, checked like any date."""
    header, rows = kit.read_rows(kit.EXTRACTS / "court_appearance.csv")
    good = [r for i, r in enumerate(rows, start=2) if i not in kit.rejected_rows("court_appearance.csv")][:2]
    at = header.index("hearing_date")
    first, second = (dt.date.fromisoformat(r[at]) for r in good)
    newer = kit.write_rows(tmp_path / "v11" / "court_appearance.csv", [*header, "offence_date"], [
        [*good[0], str(first - dt.timedelta(days=3))],   # before the hearing: loads
        [*good[1], str(second + dt.timedelta(days=1))],  # after the hearing: breaks date_order
    ])
    store = tmp_path / "s.duckdb"
    older = ingest(kit.EXTRACTS / "court_appearance.csv", store, key)  # a 1.0 extract first
    report = ingest(newer, store, key)  # then a 1.1 re-extract of two of its records
    (result,) = report.files
    assert (result.rows_loaded, result.rows_rejected, result.replaced) == (1, 1, 1)
    assert ("court_appearance.csv", 2, "offence_date", "date_order") in kit.rejects_in(
        store.parent / f"{store.name}.rejects")
    con = duckdb.connect(str(store), read_only=True)
    (dated,) = con.sql("SELECT count(offence_date), count(*) FROM content.court_appearance").fetchall()
    con.close()
    assert dated == (1, older.files[0].rows_loaded)
