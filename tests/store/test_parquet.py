"""The Parquet zone: the store without its identifiers, written by the ingest and kept up to date, read
by the measures and the publication without the DuckDB file."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import duckdb
import pytest

from triangulate.ingest import ingest
from triangulate.publish.compute import fine_counts
from triangulate.standard import AGENCY_TABLES
from triangulate.store import StoreError, connect
from triangulate.store.parquet import ZONE_FILE, attach, is_zone, read_manifest
from triangulate.synth import link_from_truth, write_synthetic_extracts

from ..conftest import run_cli

KEY = b"parquet zone tests, synthetic data only"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zone")
    result = write_synthetic_extracts(folder / "synth", people=150, seed=11)
    store, zone = folder / "store.duckdb", folder / "zone"
    ingest([result.out_dir / "extracts", result.files["population"]], store, KEY, parquet=zone)
    return result, store, zone


def _rows(table) -> list[str]:
    return sorted(map(str, table.select(sorted(table.column_names)).to_pylist()))


def test_the_zone_holds_the_content_and_manifest_and_never_an_identifier(made):
    _, store, zone = made
    manifest = read_manifest(zone)
    with connect(store, read_only=True) as con:
        stored = {r[0] for r in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()}
        for name in [f"content.{t}" for t in (*AGENCY_TABLES, "need", "population")] + ["meta.load_manifest"]:
            assert name in manifest["tables"], name
            (count,) = con.execute(f"SELECT count(*) FROM {name}").fetchone()
            assert manifest["tables"][name]["rows"] == count > 0, name
    assert not [n for n in manifest["tables"] if n.startswith("identity.")]
    assert not (zone / "identity").exists()
    assert "identity.police_custody" in stored  # the store has them: the zone leaves them out
    # No identifying column in any file of the zone, read as a stranger would: every column of every file.
    identifying = {"given_name", "family_name", "date_of_birth", "postcode", "nhs_number", "pnc_id", "source_record_id"}
    reader = duckdb.connect()
    for path in zone.rglob("*.parquet"):
        columns = {r[0] for r in reader.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
        assert not columns & identifying, path
    # One file per load: the police custody extract's rows are in the file named by its load.
    custody = manifest["tables"]["content.police_custody"]
    with connect(store, read_only=True) as con:
        (load,) = con.execute("SELECT DISTINCT load_id FROM content.police_custody").fetchone()
    assert list(custody["files"]) == [f"{load}.parquet"]


def test_the_zone_is_private_to_its_owner(made):
    _, _, zone = made
    assert stat.S_IMODE(zone.stat().st_mode) == 0o700
    for path in zone.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_linkage_writes_the_person_keys_into_the_zone_and_the_measures_read_it_as_the_file(made, tmp_path):
    result, made_store, _ = made
    store, zone = tmp_path / "store.duckdb", tmp_path / "zone"
    shutil.copy(made_store, store)
    attach(store, zone)  # the copy's own zone (it still names the original's, which it must leave alone)
    with connect(zone, read_only=True) as z:
        assert z.execute("SELECT count(person_key) FROM content.mental_health").fetchone() == (0,)
    link_from_truth(store, result.truth_file)
    with connect(zone, read_only=True) as z:
        linked = z.execute("SELECT count(person_key), count(*) FROM content.mental_health").fetchone()
    assert linked[0] == linked[1] > 0
    on_file, on_zone = fine_counts(store, "duckdb"), fine_counts(zone, "duckdb")
    assert set(on_file) == set(on_zone)
    for name, counts in on_file.items():
        for count, table in counts.items():
            assert _rows(table) == _rows(on_zone[name][count]), (name, count)


@pytest.mark.spark
def test_spark_in_local_mode_keeps_its_base_tables_as_parquet_and_counts_as_duckdb(made, tmp_path):
    """Local mode's way of keeping the base tables (Parquet tables of the session, read column by column);
    a cluster's (local checkpoints) is run by tests/measures/test_engines.py. The two measures whose plans
    once ran Spark's driver out of memory, against DuckDB's counts of the same zone."""
    from triangulate.measures import Base, measures
    from triangulate.store import ibis_backend
    from triangulate.store.engines import BASE_TABLES

    result, made_store, _ = made
    store, zone = tmp_path / "store.duckdb", tmp_path / "zone"
    shutil.copy(made_store, store)
    attach(store, zone)
    link_from_truth(store, result.truth_file)
    chosen = [m for m in measures() if m.name in ("need_prevalence", "disproportionality")]
    counted = {}
    for engine in ("duckdb", "spark"):
        con = ibis_backend(zone, engine)
        base = Base(con)
        try:
            counted[engine] = {(m.name, c): _rows(e.to_pyarrow()) for m in chosen for c, e in m.build(base).items()}
            if engine == "spark":
                session = con._session
                assert session.conf.get(BASE_TABLES) == "parquet" and base._tables and not base._frames
                warehouse = Path(session.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
                assert sorted(p.name for p in warehouse.iterdir() if p.name.startswith("triangulate_base_")) == \
                    sorted(base._tables)
        finally:
            base.release()
            con.disconnect()
            if engine == "spark":
                session.stop()
    assert len(counted["spark"]) == 4 and all(counted["spark"].values())
    assert counted["spark"] == counted["duckdb"]


def test_a_copy_of_the_store_never_overwrites_the_zone_of_the_store_it_was_copied_from(made, tmp_path):
    result, store, zone = made
    copy = tmp_path / "copy.duckdb"
    shutil.copy(store, copy)
    written = (zone / ZONE_FILE).read_bytes()
    from triangulate.store.subset import restrict

    restrict(copy, areas=["E09000022"])
    assert (zone / ZONE_FILE).read_bytes() == written  # the original's zone is as it was


def test_a_changed_or_missing_file_is_refused_by_name(made, tmp_path):
    _, _, zone = made
    copy = tmp_path / "zone"
    shutil.copytree(zone, copy)
    victim = next(iter(read_manifest(copy)["tables"]["content.need"]["files"]))
    path = copy / "content" / "need" / victim
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(StoreError, match=f"content/need/{victim}.*has changed since it was written"):
        connect(copy, read_only=True)
    path.unlink()
    with pytest.raises(StoreError, match=f"content/need/{victim}.*is missing"):
        connect(copy, read_only=True)


def test_a_zone_cannot_be_written_through_and_a_folder_that_is_not_one_is_never_replaced(made, tmp_path):
    result, _, zone = made
    with pytest.raises(StoreError, match="Parquet zone, which is read-only"):
        connect(zone)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("someone else's")
    store = tmp_path / "new.duckdb"
    with pytest.raises(StoreError, match="exists and is not a Parquet zone"):
        ingest([result.out_dir / "extracts"], store, KEY, parquet=theirs)
    assert not store.exists()  # refused before anything was loaded
    assert [p.name for p in theirs.iterdir()] == ["notes.txt"]


def test_the_command_line_gives_an_existing_store_its_zone(made, tmp_path):
    _, store, _ = made
    copy, zone = tmp_path / "store.duckdb", tmp_path / "zone"
    shutil.copy(store, copy)
    done = run_cli("ingest", "--store", str(copy), "--parquet", str(zone))
    assert done.returncode == 0, done.stderr
    assert "Wrote the Parquet zone" in done.stdout
    assert is_zone(zone)
    assert json.loads((zone / ZONE_FILE).read_text())["written_from"] == str(copy.resolve())
    neither = run_cli("ingest", "--store", str(copy))
    assert neither.returncode == 2 and "--parquet" in neither.stderr
    # The dashboard is not served from a zone (no identities for its screening page): it names the file.
    served = run_cli("serve", "--store", str(zone), "--port", "0")
    said = " ".join(served.stderr.split())
    assert served.returncode == 2 and "Parquet zone" in said and "Traceback" not in said
    assert f"--store {copy.resolve()}" in said and f"--out {copy.resolve().parent / 'store.publications'}" in said


def test_a_zone_that_cannot_be_written_after_a_load_says_the_load_was_kept_and_how_to_write_it(made, tmp_path):
    result, made_store, _ = made
    store = tmp_path / "store.duckdb"
    shutil.copy(made_store, store)
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with connect(store) as con:  # the zone recorded under a path no folder can be made at
        con.execute("UPDATE meta.parquet_zone SET path = ?", [str(blocker / "zone")])
        (loads_before,) = con.execute("SELECT count(*) FROM meta.load_manifest").fetchone()
    lines = result.files["population"].read_text(encoding="utf-8").splitlines()
    corrected = tmp_path / "population-corrected.csv"  # a re-extract: one more file to load
    corrected.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    done = run_cli("ingest", str(corrected), "--store", str(store), env={"TRIANGULATE_KEY": KEY.decode()})
    assert done.returncode == 1, done.stderr
    assert "The extracts were loaded, but the Parquet zone" in done.stderr
    assert "nothing was loaded" not in done.stderr and "Traceback" not in done.stderr
    assert f"--parquet {blocker / 'zone'}" in done.stderr
    with connect(store, read_only=True) as con:
        (loads_after,) = con.execute("SELECT count(*) FROM meta.load_manifest").fetchone()
    assert loads_after > loads_before  # the load was committed
