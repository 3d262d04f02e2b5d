"""The store: the connection factory, the zones and tables, and the summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from triangulate.standard import AGENCY_TABLES, IDENTIFYING_FIELDS, codelist, schema
from triangulate.store import (
    CONTENT_EXCLUDED_FIELDS,
    StoreError,
    connect,
    content_columns,
    ensure_schema,
    identity_columns,
    store_tables,
    summary,
)


def _tables(con) -> set[str]:
    rows = con.sql(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema IN ('identity', 'content', 'meta')"
    ).fetchall()
    return {r[0] for r in rows}


def test_connect_creates_a_duckdb_file_and_reopens_it(tmp_path: Path) -> None:
    path = tmp_path / "triangulate.duckdb"
    con = connect(path)
    ensure_schema(con)
    con.close()
    assert path.is_file()
    con = connect(path, read_only=True)
    assert _tables(con) == set(store_tables())
    con.close()


def test_connect_read_only_to_a_missing_store_says_to_ingest_first(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="ingest an extract first"):
        connect(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_the_engine_factory_refuses_an_unknown_engine_and_a_missing_store(tmp_path: Path) -> None:
    from triangulate.store import ibis_backend

    with pytest.raises(StoreError, match="Unknown engine 'sqlite'.*duckdb, spark"):
        ibis_backend(tmp_path / "s.duckdb", engine="sqlite")
    with pytest.raises(StoreError, match="No store at"):
        ibis_backend(tmp_path / "s.duckdb", engine="duckdb")
    assert not (tmp_path / "s.duckdb").exists()


@pytest.mark.parametrize("setting", [("TRIANGULATE_SPARK_MASTER", "spark://head:7077"),
                                     ("TRIANGULATE_SPARK_REMOTE", "sc://spark-connect:15002")])
def test_a_cluster_is_given_the_parquet_zone_not_the_duckdb_file(tmp_path: Path, monkeypatch, setting) -> None:
    from triangulate.store import ibis_backend

    path = tmp_path / "s.duckdb"
    con = connect(path)
    ensure_schema(con)
    con.close()
    monkeypatch.setenv(*setting)
    with pytest.raises(StoreError, match=r"cannot read the DuckDB file s.duckdb.*--parquet /shared/zone"):
        ibis_backend(path, engine="spark")  # refused before any session is started: there is no such cluster


def test_spark_is_configured_by_settings_not_code() -> None:
    from triangulate.store import SparkSettings

    default = SparkSettings.from_environment({})
    assert default.master.startswith("local[") and default.remote is None
    chosen = SparkSettings.from_environment({
        "TRIANGULATE_SPARK_MASTER": "spark://head:7077", "TRIANGULATE_SPARK_DRIVER_MEMORY": "8g",
        "TRIANGULATE_SPARK_EXECUTOR_MEMORY": "16g", "TRIANGULATE_SPARK_SHUFFLE_PARTITIONS": "200",
        "TRIANGULATE_SPARK_REMOTE": "sc://spark-connect:15002", "TRIANGULATE_SPARK_EVENT_LOG": "/var/log/spark-events",
    })
    assert (chosen.master, chosen.remote, chosen.driver_memory, chosen.executor_memory, chosen.shuffle_partitions,
            chosen.event_log) == ("spark://head:7077", "sc://spark-connect:15002", "8g", "16g", 200, "/var/log/spark-events")
    assert default.event_log is None
    # Base tables as Parquet where every executor sees the warehouse folder, else local checkpoints.
    assert default.base_tables == "parquet" and chosen.base_tables == "checkpoint"
    shared = SparkSettings.from_environment({"TRIANGULATE_SPARK_MASTER": "spark://head:7077",
                                             "TRIANGULATE_SPARK_WAREHOUSE": "/shared/spark-warehouse"})
    assert (shared.warehouse, shared.base_tables) == ("/shared/spark-warehouse", "parquet")
    assert SparkSettings.from_environment({"TRIANGULATE_SPARK_MASTER": "yarn"}).base_tables == "checkpoint"
    assert 2 <= int(default.driver_memory.removesuffix("g")) <= 32  # half the machine, for local mode
    with pytest.raises(StoreError, match="whole number"):
        SparkSettings.from_environment({"TRIANGULATE_SPARK_SHUFFLE_PARTITIONS": "many"})


def test_ensure_schema_is_idempotent(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    ensure_schema(con)
    con.execute("INSERT INTO content.population (area_code, year, ons_ethnic_group, sex, age_band, population, source, load_id) VALUES ('E09000022', 2021, 1, '1', '25-29', 10, 'test', 'L1')")
    ensure_schema(con)
    assert _tables(con) == set(store_tables())
    assert con.sql("SELECT count(*) FROM content.population").fetchall() == [(1,)]


def test_every_agency_table_has_an_identity_and_a_content_table_and_nothing_else() -> None:
    expected = {f"identity.{t}" for t in AGENCY_TABLES} | {f"content.{t}" for t in AGENCY_TABLES}
    expected |= {"content.need", "content.population", "meta.load_manifest"}
    assert set(store_tables()) == expected


@pytest.mark.parametrize("table", AGENCY_TABLES)
def test_identifying_fields_are_in_the_identity_zone_only(table: str) -> None:
    identity = [c.name for c in identity_columns(table)]
    content = [c.name for c in content_columns(table)]
    fields = schema(table).field_names
    assert identity[:2] == ["record_key", "source_system"] and identity[-1] == "load_id"
    assert set(identity[2:-1]) == {f for f in schema(table).zone_fields("identity") if f != "source_system"}
    assert {f for f in IDENTIFYING_FIELDS if f in fields} <= set(identity)
    assert not set(content) & CONTENT_EXCLUDED_FIELDS
    assert content[0] == "record_key" and content[-4:] == ["age_at_event", "nhs_number_recorded", "person_key", "load_id"]
    # Everything that is not identifying reaches the content zone.
    assert set(fields) - CONTENT_EXCLUDED_FIELDS <= set(content)


def test_a_table_with_other_columns_than_expected_is_an_error_not_patched(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    con.execute("CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.load_manifest (load_id VARCHAR)")
    with pytest.raises(StoreError, match="meta.load_manifest.*use a new store file or migrate"):
        ensure_schema(con)


def test_a_store_made_by_standard_1_0_gains_the_fields_1_1_and_1_2_added(tmp_path: Path) -> None:
    """Versions 1.1 and 1.2 added optional fields only; a 1.0 store keeps its rows and gets empty columns."""
    path = tmp_path / "s.duckdb"
    con = connect(path)
    ensure_schema(con)
    added = (("content.court_appearance", "offence_date"), ("content.prison_custody", "residence_area_code"),
             ("content.liaison_diversion", "information_shared"),
             ("content.liaison_diversion", "information_shared_with"),
             ("content.liaison_diversion", "diversion_outcome"))
    for table, column in added:
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # as a 1.0 store made them
    con.execute("INSERT INTO content.court_appearance (record_key, source_system, area_code, intercept, "
                "hearing_date, hearing_type, load_id) VALUES ('r1', 'CP', 'E09000001', 2, DATE '2023-01-05', "
                "'first_hearing', 'l1')")
    con.close()
    con = connect(path)
    ensure_schema(con)
    assert con.sql("SELECT record_key, offence_date FROM content.court_appearance").fetchall() == [("r1", None)]
    for table, column in added:
        assert column in {r[0] for r in con.sql(f"DESCRIBE {table}").fetchall()}, (table, column)
    ensure_schema(con)  # and it is idempotent afterwards
    con.close()


def test_a_missing_required_column_is_still_an_error(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    ensure_schema(con)
    con.execute("ALTER TABLE content.court_appearance DROP COLUMN hearing_date")
    with pytest.raises(StoreError, match="content.court_appearance.*use a new store file or migrate"):
        ensure_schema(con)


def test_summary_counts_records_groups_ethnicity_and_counts_needs(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    ensure_schema(con)
    columns = [c.name for c in content_columns("police_custody")]

    def add(key: str, ethnicity: str | None) -> None:
        row = {c: None for c in columns} | {
            "record_key": key, "source_system": "NICHE", "area_code": "E09000022", "intercept": 1,
            "arrival_date": dt.date(2024, 1, 2), "ethnicity_code": ethnicity, "load_id": "L1",
        }
        con.execute(f"INSERT INTO content.police_custody VALUES ({', '.join('?' for _ in columns)})",
                    [row[c] for c in columns])

    for key, ethnicity in [("k1", "A"), ("k2", "C"), ("k3", "M"), ("k4", "R"), ("k5", "Z"), ("k6", None)]:
        add(key, ethnicity)
    for key, need in [("k1", "psychosis"), ("k1", "anxiety"), ("k3", "psychosis")]:
        con.execute("INSERT INTO content.need VALUES (?, 'police_custody', ?, 'screen', DATE '2024-01-02', 'L1')",
                    [key, need])

    result = summary(con)
    records = {r["table"]: r["records"] for r in result["records_per_table"]}
    assert records["police_custody"] == 6 and records["need"] == 3 and records["mental_health"] == 0
    mix = {r["ethnic_group"]: r["records"] for r in result["ethnic_mix"]}
    assert mix["White"] == 2
    assert mix["Black or Black British"] == 1
    # The NHS 2001 frame keeps Chinese (R) under Other, as the crosswalk says.
    assert mix["Other Ethnic Groups"] == 1
    assert mix["Not stated/unknown"] == 1
    assert mix["Not recorded"] == 1
    assert sum(mix.values()) == 6
    assert sum(r["percent"] for r in result["ethnic_mix"]) == pytest.approx(100)
    assert result["needs_recorded"] == [{"need": "psychosis", "records": 2}, {"need": "anxiety", "records": 1}]
    # Every title's rows share their keys, so a front end can print each as a table.
    for rows in result.values():
        assert len({tuple(r) for r in rows}) <= 1


def test_summary_groups_are_the_crosswalks_high_level_groups() -> None:
    from triangulate.store.summary import ethnic_groups_in_order

    crosswalk = {row["nhs_2001_high_level_group"] for row in codelist("ethnicity").rows}
    assert set(ethnic_groups_in_order()) == crosswalk | {"Not recorded"}
    # The five high-level groups plus the two kinds of unknown.
    assert len(crosswalk - {"Not stated/unknown"}) == 5
