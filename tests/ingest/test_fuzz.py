"""Fuzzing the input readers (Hypothesis): an extract or a screening list made wrong in any way is
loaded, rejected by row or refused whole; never another exception, never a value in a message, every
row accounted for, and the store untouched by a refusal.

Values written into a file start with ``Zq~7`` so a message quoting one can be caught. The normal run
tries 200 broken extracts (each a real ingest into one store) and 300 broken lists; ``make fuzz`` runs
every test marked ``fuzz`` with ``TRIANGULATE_FUZZ_EXAMPLES=5000``.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triangulate.ingest import IngestRefused, ingest
from triangulate.link.screen_list import ScreenListError, read_list
from triangulate.store import connect, store_tables

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("TRIANGULATE_FUZZ_EXAMPLES", "0")) or None
MARK = "Zq~7"  # "~": in no token or code, so a message cannot hold it by chance
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "extracts"
SOURCES = ("probation_supervision.csv", "police_custody.csv", "mental_health.csv")
KEY = b"fuzz-test key, never for real data: 41c9d2e7"


def fuzz(examples: int):
    """Hypothesis settings: ``examples`` in the normal run, ``TRIANGULATE_FUZZ_EXAMPLES`` if set."""
    # make test draws the same examples every run (a fuzzing find must not make CI flaky); make fuzz
    # (TRIANGULATE_FUZZ_EXAMPLES set) draws new ones each time.
    return settings(max_examples=EXAMPLES or examples, deadline=None, derandomize=not EXAMPLES,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def _rows(name: str) -> list[list[str]]:
    with (FIXTURES / name).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _csv(rows: list[list[str]], line_end: str = "\n") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=line_end).writerows(rows)
    return buffer.getvalue().encode("utf-8")


#: Text that a value might be: anything Unicode, with the characters that break CSV and C strings.
_values = st.text(alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(list('",\n\r\x00\t\ufeff'))), max_size=40)


@st.composite
def broken_extracts(draw) -> bytes:
    rows = [list(r) for r in _rows(draw(st.sampled_from(SOURCES)))]
    for _ in range(draw(st.integers(0, 6))):  # cells replaced by anything (the writer quotes them)
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(rows[r]) - 1))
        rows[r][c] = MARK + draw(_values)
    if draw(st.booleans()):  # rows cut short or made longer
        r = draw(st.integers(1, len(rows) - 1))
        rows[r] = rows[r][: draw(st.integers(0, len(rows[r])))] + [MARK] * draw(st.integers(0, 2))
    data = _csv(rows, draw(st.sampled_from(["\n", "\r\n", "\r"])))
    for _ in range(draw(st.integers(0, 3))):  # bytes inserted, removed or the file cut off
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "cut"]))
        if action == "insert":
            data = data[:at] + draw(st.binary(max_size=12)) + data[at:]
        elif action == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 50)):]
        else:
            data = data[:at]
    if draw(st.booleans()):
        data = draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + data
    return data


def _fingerprint(store: Path) -> dict[str, int]:
    con = connect(store, read_only=True)
    try:
        return {t: con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in store_tables()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    store = folder / "store.duckdb"
    ingest(FIXTURES / "police_custody.csv", store, KEY)  # a store with something in it already
    return store


@fuzz(100)
@given(data=broken_extracts())
def test_a_broken_extract_is_loaded_rejected_by_row_or_refused_whole(data: bytes, fuzz_store: Path,
                                                                     tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("case")
    path = folder / "extract.csv"
    path.write_bytes(data)
    before = _fingerprint(fuzz_store)
    try:
        report = ingest(path, fuzz_store, KEY, rejects_dir=folder / "rejects")
    except IngestRefused as refused:
        assert MARK not in str(refused)
        assert _fingerprint(fuzz_store) == before  # nothing loaded, nothing half-loaded
        return
    for result in report.files:
        assert result.rows_in == result.rows_loaded + result.rows_rejected
        if result.rejects_file is not None:
            assert MARK not in Path(result.rejects_file).read_text(encoding="utf-8")
    after = _fingerprint(fuzz_store)
    assert sum(after.values()) >= sum(before.values())


_LIST_HEADER = ["given_name", "family_name", "date_of_birth", "postcode", "location", "time"]
_LIST_ROW = ["Jane", "Smith", "1980-02-03", "SE1 7PB", "C2753", "10:00"]


@st.composite
def broken_lists(draw) -> bytes:
    rows = [list(_LIST_HEADER)] + [list(_LIST_ROW) for _ in range(draw(st.integers(0, 4)))]
    for _ in range(draw(st.integers(0, 6))):
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(rows[r]) - 1))
        rows[r][c] = MARK + draw(st.one_of(_values, st.just("x" * 200_000)))  # past the CSV field limit
    data = _csv(rows, draw(st.sampled_from(["\n", "\r\n"])))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=12)) + data[at + draw(st.integers(0, 8)):]
    return data


@fuzz(300)
@given(data=broken_lists())
def test_a_broken_screening_list_is_read_or_refused_by_row_and_field_never_quoting_it(data: bytes) -> None:
    try:
        people = read_list("list.csv", data=data)
    except ScreenListError as refused:
        assert refused.problems and MARK not in str(refused)
        assert all(MARK not in str(p) for p in refused.problems)
        return
    assert people and all(p.family_name and p.location and p.date_of_birth for p in people)
