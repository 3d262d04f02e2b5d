"""The pseudonymisation key and record keys."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest

from triangulate.ingest import IngestRefused, Pseudonymiser, load_key
from triangulate.ingest.keys import KEY_ENV

MESSAGES = [
    ("police_custody", "NICHE-MPS", "CUS/2024/4001"),
    ("mental_health", "RiO-SLAM", "MH100003"),
    ("need", "x", ""),
    ("court_appearance", "CommonPlatform", "CP-2023-700013" * 4),
]


@pytest.mark.parametrize("key", [b"k" * 32, b"0123456789abcdef" * 4, b"a much longer key " * 8])
def test_record_key_is_hmac_sha256_of_table_system_and_id(key: bytes) -> None:
    # Keys of 32 bytes, exactly one SHA-256 block, and longer than a block (hashed first).
    keyer = Pseudonymiser(key)
    for table, system, record_id in MESSAGES:
        message = f"{table}|{system}|{record_id}".encode()
        assert keyer.record_key(table, system, record_id) == hmac.new(key, message, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("key", [b"k" * 32, b"0123456789abcdef" * 4, b"a much longer key " * 8])
def test_the_sql_record_key_equals_hmac_new(key: bytes) -> None:
    keyer = Pseudonymiser(key)
    con = duckdb.connect()
    con.execute("CREATE TABLE m (t VARCHAR, s VARCHAR, i VARCHAR)")
    con.executemany("INSERT INTO m VALUES (?, ?, ?)", MESSAGES)
    message = "t || '|' || s || '|' || i"
    rows = con.execute(f"SELECT t, s, i, {keyer.sql(message)} FROM m", keyer.sql_parameters).fetchall()
    assert len(rows) == len(MESSAGES)
    for table, system, record_id, record_key in rows:
        expected = hmac.new(key, f"{table}|{system}|{record_id}".encode(), hashlib.sha256).hexdigest()
        assert record_key == expected


def test_different_keys_give_different_record_keys_and_key_checks() -> None:
    one, two = Pseudonymiser(b"1" * 32), Pseudonymiser(b"2" * 32)
    assert one.record_key("a", "b", "c") != two.record_key("a", "b", "c")
    assert one.key_check != two.key_check
    assert one.key_check == Pseudonymiser(b"1" * 32).key_check


def test_the_key_never_shows_in_repr() -> None:
    key = b"secret-secret-secret-secret-1234"
    assert key.decode() not in repr(Pseudonymiser(key))


def test_load_key_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "  0123456789abcdef0123456789abcdef\n")
    assert load_key(None) == b"0123456789abcdef0123456789abcdef"


def test_load_key_prefers_the_key_file_and_ignores_its_trailing_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "e" * 40)
    key_file = tmp_path / "triangulate.key"
    key_file.write_bytes(b"f" * 40 + b"\n")
    assert load_key(key_file) == b"f" * 40


def test_without_a_key_the_ingest_refuses_and_says_how_to_provide_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(IngestRefused) as refused:
        load_key(None)
    assert refused.value.reason == "no_key"
    assert KEY_ENV in str(refused.value) and "--key-file" in str(refused.value)


def test_a_short_key_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, "short-secret-value")
    with pytest.raises(IngestRefused) as refused:
        load_key(None)
    assert refused.value.reason == "short_key"
    assert "32 bytes" in str(refused.value)
    assert "short-secret-value" not in str(refused.value)
    key_file = tmp_path / "k"
    key_file.write_text("tiny-secret")
    with pytest.raises(IngestRefused, match="shorter than 32 bytes") as refused:
        load_key(key_file)
    assert "tiny-secret" not in str(refused.value)


def test_a_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestRefused, match="cannot read the key file") as refused:
        load_key(tmp_path / "nowhere.key")
    assert refused.value.reason == "no_key"


def test_pseudonymiser_refuses_a_short_key_too() -> None:
    with pytest.raises(IngestRefused, match="32 bytes"):
        Pseudonymiser(b"x" * 31)
