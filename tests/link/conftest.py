"""Shared fixtures for the linkage tests: a small synthetic population, ingested and linked once.

The population is real synthetic data (the synth and the ingest, not stand-ins), small enough
that the whole room's tests stay well under two minutes.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from triangulate.ingest import ingest
from triangulate.link import link
from triangulate.standard import AGENCY_TABLES
from triangulate.synth import write_synthetic_extracts

#: A key for tests only (at least 32 bytes).
TEST_KEY = b"test-only key, never for real data: link 51c0"
PEOPLE = 1500
SEED = 11
#: Fewer random pairs than the default keeps training quick on a small population.
U_PAIRS = 300_000


@pytest.fixture(scope="session")
def population(tmp_path_factory) -> object:
    return write_synthetic_extracts(tmp_path_factory.mktemp("synthetic"), people=PEOPLE, seed=SEED)


@pytest.fixture(scope="session")
def linked_store(population, tmp_path_factory) -> Path:
    """A store holding the population, linked once. Copy it before changing it."""
    store = tmp_path_factory.mktemp("linked") / "store.duckdb"
    ingest([population.files[t] for t in AGENCY_TABLES], store, TEST_KEY)
    link(store, u_sample_pairs=U_PAIRS)
    return store


@pytest.fixture
def store_copy(linked_store, tmp_path) -> Path:
    copy = tmp_path / "store.duckdb"
    shutil.copy(linked_store, copy)
    return copy


def person_keys(store: Path) -> dict[str, str | None]:
    """record_key -> person_key across every content table."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        out = {}
        for t in AGENCY_TABLES:
            out.update(con.execute(f"SELECT record_key, person_key FROM content.{t}").fetchall())
        return out
    finally:
        con.close()


def split_csv(path: Path, first: Path, second: Path, share: float) -> None:
    """Write the first ``share`` of a CSV's rows to ``first`` and the rest to ``second``."""
    with path.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    cut = int(len(rows) * share)
    for target, part in ((first, rows[:cut]), (second, rows[cut:])):
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(part)
