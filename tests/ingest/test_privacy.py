"""No identifying value escapes: not in output, logs, messages, rejects files or the content zone,
and the key is nowhere in the store."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from triangulate.ingest import IngestRefused, Pseudonymiser, ingest
from triangulate.standard import AGENCY_TABLES
from triangulate.store import CONTENT_EXCLUDED_FIELDS, store_tables


def _leaks(text: str, values: set[str]) -> list[str]:
    return sorted(v for v in values if v in text)


def _run_cli(args: list[str], key: bytes) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRIANGULATE_KEY": key.decode(), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "triangulate", "ingest", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_the_fixtures_hold_identifying_values_to_look_for(kit) -> None:
    values = kit.identifying_values()
    # Names, dates of birth, postcodes, NHS numbers, PNC IDs and record ids, valid and invalid.
    assert {"Okafor", "1991-03-14", "SW9 8LH", "sw162jp", "9991001018", "05/123456R", "CUS/2024/4001"} <= values
    assert {"2099-04-01", "SW1A-1AA?", "Quilliam"} <= values  # from bad rows


def test_no_identifying_value_in_cli_output_or_rejects(kit, extracts: Path, store: Path, key: bytes) -> None:
    values = kit.identifying_values()
    result = _run_cli([str(extracts), "--store", str(store)], key)
    assert result.returncode == 0, result.stderr
    rows = kit.fixture_row_count()
    assert f"{rows:,}" in result.stdout  # the accounting was printed
    assert "triangulate.ingest" in result.stderr and f"Loading: {rows} of {rows}" in result.stderr  # log lines, progress
    assert _leaks(result.stdout + result.stderr, values) == []
    rejects = list((store.parent / f"{store.name}.rejects").glob("*.csv"))
    assert len(rejects) == 8
    for path in rejects:
        assert _leaks(path.read_text(encoding="utf-8"), values) == []


def test_no_identifying_value_in_refusal_messages(
    kit, extracts: Path, store: Path, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    
    monkeypatch.setenv("TRIANGULATE_KEY", key.decode())
    values = kit.identifying_values()
    header, rows = kit.read_rows(extracts / "mental_health.csv")
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("\n".join(",".join(r) for r in rows[:5]) + "\n", encoding="utf-8")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(("\n".join(",".join(r) for r in [header, *rows]) + "\nZoë\n").encode("latin-1"))
    shifted = tmp_path / "shifted.csv"
    rows[3][header.index("family_name")] = "Raman, Priya"
    shifted.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    for path in (headerless, latin1, shifted):
        assert kit.run_command([str(path), "--store", str(store)]) == 2
        captured = capsys.readouterr()
        assert path.name in captured.err and "nothing was loaded" in captured.err
        assert _leaks(captured.out + captured.err, values | {"Zoë", "Raman, Priya"}) == []
    assert not store.exists()


def test_no_identifying_value_in_logs_or_exceptions_at_debug_level(
    kit, extracts: Path, store: Path, key: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    values = kit.identifying_values()
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    report = ingest(extracts, store, key, progress=lambda d, c, t: messages.append(f"{d} {c} {t}"))
    messages.append(str(report))
    broken = extracts / "broken.csv"
    broken.write_bytes((extracts / "police_custody.csv").read_bytes()[:-25])
    with pytest.raises(IngestRefused) as refused:
        ingest(extracts, store, key)
    messages.append(str(refused.value))
    assert caplog.records, "the ingest logs its progress"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert _leaks(logged + "\n".join(messages), values) == []


def test_the_content_zone_has_no_identifying_column_or_value(kit, extracts: Path, store: Path, key: bytes) -> None:
    ingest(extracts, store, key)
    values = kit.identifying_values()
    dump = kit.dump_store(store)
    for table, columns in store_tables().items():
        if not table.startswith("content."):
            continue
        assert not {c.name for c in columns} & CONTENT_EXCLUDED_FIELDS
        for row in dump[table]:
            for value in row:
                if value is not None:
                    assert str(value) not in values, f"{table} holds an identifying value"
    # ...whereas the identity zone does hold them (so the check above can see them).
    identity_values = {str(v) for t in AGENCY_TABLES for row in dump[f"identity.{t}"] for v in row}
    assert identity_values & values


def test_the_key_is_nowhere_in_the_store_file(extracts: Path, store: Path, key: bytes) -> None:
    ingest(extracts, store, key)
    keyer = Pseudonymiser(key)
    secrets_to_find = [key, key.hex().encode(), keyer.sql_parameters["inner_pad"], keyer.sql_parameters["outer_pad"]]


    def look() -> None:
        files = [p for p in store.parent.iterdir() if p.name.startswith(store.name) and p.is_file()]
        assert store in files
        for path in files:
            data = path.read_bytes()
            for secret in secrets_to_find:
                assert secret not in data, f"key material in {path.name}"

    look()  # as the ingest left it, with any write-ahead log
    con = duckdb.connect(str(store))
    con.execute("CHECKPOINT")  # and with everything written to the file
    con.close()
    look()
