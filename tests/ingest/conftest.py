"""Shared helpers for the ingest tests: the hand-made fixture extracts, a test key, store dumps."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from triangulate.standard import IDENTIFYING_FIELDS
from triangulate.store import connect, store_tables

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"
EXTRACTS = FIXTURES / "extracts"

#: A key for tests only (at least 32 bytes).
TEST_KEY = b"test-only key, never for real data: 7f3a9c"


@pytest.fixture(scope="session")
def key() -> bytes:
    return TEST_KEY


@pytest.fixture
def extracts(tmp_path: Path) -> Path:
    """A private copy of the fixture extracts, safe to change."""
    folder = tmp_path / "extracts"
    shutil.copytree(EXTRACTS, folder)
    return folder


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store" / "triangulate.duckdb"


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return [h.strip().lower() for h in header], rows


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def fixture_row_count() -> int:
    """Data rows across all fixture extracts (the rows-in figure of an ingest of all of them)."""
    return sum(len(read_rows(p)[1]) for p in sorted(EXTRACTS.glob("*.csv")))


def expected_rejects() -> set[tuple[str, int, str, str]]:
    with (FIXTURES / "expected_rejects.csv").open(encoding="utf-8") as fh:
        return {(r["file"], int(r["row"]), r["field"], r["rule"]) for r in csv.DictReader(fh)}


def rejected_rows(file_name: str) -> set[int]:
    return {row for f, row, _, _ in expected_rejects() if f == file_name}


def identifying_values() -> set[str]:
    """Every identifying value in the fixtures, as written and as the ingest normalises it."""
    values: set[str] = set()
    for path in EXTRACTS.glob("*.csv"):
        header, rows = read_rows(path)
        for row in rows:
            for name, value in zip(header, row):
                value = value.strip()
                if name in IDENTIFYING_FIELDS | {"source_record_id"} and len(value) >= 4:
                    values |= {value, value.upper(), value.replace(" ", "")}
    return values


def dump_store(path: Path) -> dict[str, list[tuple]]:
    """Every row of every store table, sorted, from a fresh read-only connection."""
    con = connect(path, read_only=True)
    try:
        dump = {}
        for table, columns in store_tables().items():
            names = ", ".join(c.name for c in columns)
            dump[table] = sorted(con.sql(f"SELECT {names} FROM {table}").fetchall(), key=repr)
        return dump
    finally:
        con.close()


def rejects_in(folder: Path) -> set[tuple[str, int, str, str]]:
    found = set()
    for path in folder.glob("*.rejects.csv"):
        with path.open(encoding="utf-8") as fh:
            found |= {(r["file"], int(r["row"]), r["field"], r["rule"]) for r in csv.DictReader(fh)}
    return found


def run_command(argv: list[str]) -> int:
    """Run ``triangulate ingest ARGV`` in this process and return its exit status."""
    from triangulate.cli import app

    status = app(["ingest", *argv], standalone_mode=False)
    return status or 0


class _Kit:
    """The helpers above, handed to tests as the ``kit`` fixture (test modules cannot import a
    conftest under ``--import-mode=importlib``)."""

    FIXTURES = FIXTURES
    EXTRACTS = EXTRACTS
    TEST_KEY = TEST_KEY
    read_rows = staticmethod(read_rows)
    write_rows = staticmethod(write_rows)
    expected_rejects = staticmethod(expected_rejects)
    fixture_row_count = staticmethod(fixture_row_count)
    run_command = staticmethod(run_command)
    rejected_rows = staticmethod(rejected_rows)
    identifying_values = staticmethod(identifying_values)
    dump_store = staticmethod(dump_store)
    rejects_in = staticmethod(rejects_in)


@pytest.fixture(scope="session")
def kit() -> type[_Kit]:
    return _Kit
