"""Whole runs: re-ingest, corrected re-extracts, refusals that leave the store alone, the manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from rich.console import Console
from rich.table import Table

import triangulate
from triangulate.ingest import FileResult, IngestRefused, IngestReport, ingest
from triangulate.ingest.report import AccountingError
from triangulate.standard import STANDARD_VERSION


def test_the_same_file_again_is_skipped_and_loads_nothing(kit, extracts: Path, store: Path, key: bytes) -> None:
    first = ingest(extracts, store, key)
    before = kit.dump_store(store)
    again = ingest(extracts, store, key)
    assert kit.dump_store(store) == before
    for old, new in zip(first.files, again.files):
        assert new.skipped_reason == f"already loaded on {_when(store, old.load_id)} as load {old.load_id}"
        assert (new.rows_in, new.rows_loaded, new.rows_rejected, new.rejects_file) == (0, 0, 0, None)


def _when(store: Path, load_id: str) -> str:
    con = duckdb.connect(str(store), read_only=True)
    (when,) = con.execute("SELECT strftime(loaded_at, '%Y-%m-%d %H:%M UTC') FROM meta.load_manifest "
                          "WHERE load_id = ?", [load_id]).fetchall()[0]
    return when


def test_an_identical_copy_in_the_same_run_is_loaded_once(kit, extracts: Path, store: Path, key: bytes) -> None:
    copy = extracts / "copy_of_prison.csv"
    shutil.copy(extracts / "prison_custody.csv", copy)
    report = ingest([extracts / "prison_custody.csv", copy], store, key)
    assert report.files[1].skipped_reason == "identical to prison_custody.csv earlier in this run"
    assert len(kit.dump_store(store)["content.prison_custody"]) == 25


def test_a_corrected_re_extract_replaces_the_stored_records(kit, extracts: Path, store: Path, key: bytes) -> None:
    ingest(extracts, store, key)
    con = duckdb.connect(str(store))
    con.execute("UPDATE content.police_custody SET person_key = 'P1'")  # as linkage would
    con.close()
    header, rows = kit.read_rows(extracts / "police_custody.csv")
    good = [r for n, r in enumerate(rows, start=1) if n not in kit.rejected_rows("police_custody.csv")]
    corrected = [list(r) for r in good[:3]]
    for row in corrected:
        row[header.index("custody_outcome")] = "caution"
        row[header.index("family_name")] = row[header.index("family_name")] + "-Smith"
    new = [list(good[0])]
    new[0][header.index("source_record_id")] = "CUS/2025/1"
    path = kit.write_rows(extracts / "police_custody_corrected.csv", header, corrected + new)

    report = ingest(path, store, key)
    (result,) = report.files
    assert (result.rows_in, result.rows_loaded, result.rows_rejected, result.replaced) == (4, 4, 0, 3)
    con = duckdb.connect(str(store), read_only=True)
    assert con.sql("SELECT count(*) FROM content.police_custody").fetchall() == [(31,)]
    assert con.sql("SELECT count(*) FROM identity.police_custody").fetchall() == [(31,)]
    changed = con.sql(
        "SELECT c.custody_outcome, i.family_name, c.person_key, c.load_id FROM content.police_custody c "
        "JOIN identity.police_custody i USING (record_key) WHERE i.source_record_id IN "
        f"({', '.join(repr(r[header.index('source_record_id')]) for r in corrected)})"
    ).fetchall()
    assert len(changed) == 3
    for outcome, family, person_key, load_id in changed:
        assert outcome == "caution" and family.endswith("-Smith")
        assert person_key is None  # linkage must run again on changed identifiers
        assert load_id == result.load_id
    # Untouched records keep their person key.
    assert con.sql("SELECT count(*) FROM content.police_custody WHERE person_key = 'P1'").fetchall() == [(27,)]
    # Needs still point at the replaced records: the record key did not change.
    assert con.sql("SELECT count(*) FROM content.need n WHERE NOT EXISTS (SELECT 1 FROM content.police_custody p "
                   "WHERE p.record_key = n.record_key) AND n.source_table = 'police_custody'").fetchall() == [(0,)]


def test_a_refused_file_refuses_the_whole_run_and_leaves_the_store_as_it_was(
    kit, extracts: Path, store: Path, key: bytes
) -> None:
    ingest(extracts / "mental_health.csv", store, key)
    before = kit.dump_store(store)
    broken = extracts / "zz_broken.csv"
    broken.write_bytes((extracts / "court_appearance.csv").read_bytes()[:-40])
    with pytest.raises(IngestRefused) as refused:
        ingest(extracts, store, key)
    assert refused.value.reason == "truncated" and refused.value.file == "zz_broken.csv"
    assert "zz_broken.csv" in str(refused.value)
    assert kit.dump_store(store) == before
    assert sorted(p.name for p in (store.parent / f"{store.name}.rejects").iterdir()) == [
        p.name for p in (store.parent / f"{store.name}.rejects").glob("mental_health.*.rejects.csv")
    ]


def test_a_refused_run_on_a_new_store_creates_no_store(extracts: Path, store: Path, key: bytes) -> None:
    (extracts / "need.csv").write_text("")
    with pytest.raises(IngestRefused, match="need.csv"):
        ingest(extracts, store, key)
    assert not store.exists()
    assert not (store.parent / f"{store.name}.rejects").exists()


def test_another_key_is_refused_for_an_existing_store(kit, extracts: Path, store: Path, key: bytes) -> None:
    ingest(extracts / "prison_custody.csv", store, key)
    before = kit.dump_store(store)
    with pytest.raises(IngestRefused) as refused:
        ingest(extracts / "police_custody.csv", store, b"another key, also 32 bytes long!!")
    assert refused.value.reason == "different_key"
    assert kit.dump_store(store) == before


def test_the_manifest_accounts_for_every_file_load(kit, extracts: Path, store: Path, key: bytes) -> None:
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    report = ingest(extracts, store, key)
    con = duckdb.connect(str(store), read_only=True)
    manifest = {r["file_name"]: r for r in con.sql("SELECT * FROM meta.load_manifest").to_arrow_table().to_pylist()}
    assert set(manifest) == {f.file for f in report.files}
    for result in report.files:
        row = manifest[result.file]
        assert row["load_id"] == result.load_id
        assert row["sha256"] == hashlib.sha256((extracts / result.file).read_bytes()).hexdigest()
        assert row["table_name"] == result.table
        assert row["standard_version"] == STANDARD_VERSION
        assert row["triangulate_version"] == triangulate.__version__
        assert (row["rows_in"], row["rows_loaded"], row["rows_rejected"], row["rows_replaced"]) == (
            result.rows_in, result.rows_loaded, result.rows_rejected, result.replaced)
        assert row["rows_in"] == row["rows_loaded"] + row["rows_rejected"]
        assert Path(row["rejects_file"]) == result.rejects_file and result.rejects_file.is_file()
        assert started <= row["loaded_at"] <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        assert "/" not in row["file_name"]


def test_rejects_files_are_named_by_file_and_load_and_none_is_left_partial(
    extracts: Path, store: Path, key: bytes, tmp_path: Path
) -> None:
    report = ingest(extracts, store, key, rejects_dir=tmp_path / "my rejects")
    for result in report.files:
        assert result.rejects_file == tmp_path / "my rejects" / f"{Path(result.file).stem}.{result.load_id}.rejects.csv"
    assert not list((tmp_path / "my rejects").glob("*.partial"))
    assert not (store.parent / f"{store.name}.rejects").exists()


def test_a_file_with_no_bad_rows_has_no_rejects_file(kit, extracts: Path, store: Path, key: bytes) -> None:
    header, rows = kit.read_rows(extracts / "prison_custody.csv")
    good = [r for n, r in enumerate(rows, start=1) if n not in kit.rejected_rows("prison_custody.csv")]
    report = ingest(kit.write_rows(extracts / "clean.csv", header, good), store, key)
    assert report.files[0].rejects_file is None and report.files[0].rows_rejected == 0


def test_progress_is_reported_through_to_the_end(extracts: Path, store: Path, key: bytes) -> None:
    calls: list[tuple[str, int, int]] = []
    ingest(extracts, store, key, progress=lambda d, c, t: calls.append((d, c, t)))
    assert [d for d, _, _ in calls][0] == "Reading extracts"
    for description in ("Reading extracts", "Checking rows", "Loading"):
        steps = [(c, t) for d, c, t in calls if d == description]
        assert steps[-1][0] == steps[-1][1] > 0
        assert [c for c, _ in steps] == sorted(c for c, _ in steps)
    # Reading and loading start from nothing; checks overlap reading, so may first report later.
    assert [c for d, c, _ in calls if d == "Reading extracts"][0] == 0
    assert [c for d, c, _ in calls if d == "Loading"][0] == 0


def test_the_report_renders_the_accounting_as_a_table(kit, extracts: Path, store: Path, key: bytes) -> None:
    report = ingest(extracts, store, key)
    table = report.accounting_table()
    assert isinstance(table, Table)
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert "police_custody.csv" in text and "total" in text
    assert f"{report.rows_in:,}" in text and f"{report.rows_loaded:,}" in text
    assert report.rows_in == report.rows_loaded + report.rows_rejected == kit.fixture_row_count()


def test_a_result_that_does_not_add_up_is_an_error() -> None:
    with pytest.raises(AccountingError, match="10 rows in but 8 loaded and 1 rejected"):
        FileResult(file="x.csv", table="need", rows_in=10, rows_loaded=8, rows_rejected=1)
    assert IngestReport(store=Path("s"), files=[]).rows_in == 0


def test_a_directory_means_its_extract_files_only(extracts: Path, store: Path, key: bytes) -> None:
    (extracts / "README.txt").write_text("not an extract")
    (extracts / "~$police_custody.xlsx").write_bytes(b"an Excel lock file")
    report = ingest(extracts, store, key)
    assert sorted(f.file for f in report.files) == sorted(p.name for p in extracts.glob("*.csv"))


def test_no_extract_at_all_is_refused(tmp_path: Path, store: Path, key: bytes) -> None:
    with pytest.raises(IngestRefused) as refused:
        ingest(tmp_path, store, key)
    assert refused.value.reason == "no_files"
