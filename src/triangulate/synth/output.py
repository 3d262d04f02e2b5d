"""Turning simulated records into extract files: record ids, deliberate rule breaks, CSV and Parquet.

Record ids are what each source system would issue: a custody record number, a Common Platform
hearing UUID, a NOMIS booking id, an nDelius event id, an MHSDS record id. They are numbered in
date order (with random ties) from a random starting number per system, never from the person, so
that nothing in an extract but the identifiers themselves says which records belong together.

Files are written column by column with no clock, host or path inside them, so the same arguments
give the same bytes. CSV goes through the standard library's writer (minimal quoting, ``\\n`` line
ends, empty string for missing); Parquet gets the standard's types (string, int64, date32) with
nulls for missing.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from triangulate.standard import schema
from triangulate.synth.calibration import areas

FORMATS: tuple[str, ...] = ("csv", "parquet")

#: Source systems of each agency table; police and mental health systems depend on the area.
FIXED_SOURCE_SYSTEMS = {
    "court_appearance": "COMMON-PLATFORM",
    "prison_custody": "NOMIS",
    "probation_supervision": "NDELIUS",
    "liaison_diversion": "LDDS",
}


def source_systems(table: str, area: np.ndarray) -> np.ndarray:
    if table == "police_custody":
        names = np.array([a.police_system for a in areas()], dtype=object)
        return names[area]
    if table == "mental_health":
        names = np.array([f"MHSDS-{a.mh_provider}" for a in areas()], dtype=object)
        return names[area]
    return np.full(len(area), FIXED_SOURCE_SYSTEMS[table], dtype=object)


def _uuid_like(rng: np.random.Generator, n: int) -> list[str]:
    """Version-4-shaped UUIDs from the seeded generator (uuid4() would not be reproducible)."""
    hi = rng.integers(0, 2**63, size=n, dtype=np.int64)
    lo = rng.integers(0, 2**63, size=n, dtype=np.int64)
    out = []
    for a, b in zip(hi.tolist(), lo.tolist()):
        h = f"{a:016x}{b:016x}"
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}")
    return out


def record_ids(table: str, system: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ids for records already in date order: a sequence per source system from a random start."""
    n = len(system)
    ids = np.empty(n, dtype=object)
    if table == "court_appearance":
        ids[:] = _uuid_like(rng, n)
        return ids
    for name in sorted(set(system.tolist())):
        rows = np.flatnonzero(system == name)
        seq = int(rng.integers(100_000, 900_000)) + np.arange(len(rows))
        if table == "police_custody":
            ids[rows] = [f"CR{s:08d}" for s in seq.tolist()]
        elif table == "prison_custody":
            ids[rows] = [str(1_000_000 + s) for s in seq.tolist()]
        elif table == "probation_supervision":
            ids[rows] = [f"EV{s:09d}" for s in seq.tolist()]
        elif table == "liaison_diversion":
            ids[rows] = [f"LD-{s:08d}" for s in seq.tolist()]
        else:
            provider = name.removeprefix("MHSDS-")
            ids[rows] = [f"{provider}-{s:010d}" for s in seq.tolist()]
    return ids


# ---------------------------------------------------------------------------------------------
# Deliberate rule breaks


def break_rules(table: str, columns: dict[str, np.ndarray], share: float, rng: np.random.Generator) -> list[tuple[int, str]]:
    """Break one validation rule in about ``share`` of rows; returns (row, rule broken) pairs.

    The kinds are the mistakes a reject path meets in practice: the record's own date missing, a
    code that is not on the list (sex keyed as ``M``), a date of birth in the future, and an end
    date before the start.
    """
    n = len(columns["source_record_id"])
    if share <= 0 or n == 0:
        return []
    rows = np.flatnonzero(rng.random(n) < share)
    kinds = rng.integers(0, 4, size=len(rows))
    s = schema(table)
    event_date = s.event_date
    # End-before-start mistakes only: a date of birth after the record is made by kind 2 below.
    order_rules = [r["fields"] for r in s.rules
                   if r["rule"] == "date_order" and "date_of_birth" not in r["fields"]]
    broken: list[tuple[int, str]] = []
    for row, kind in zip(rows.tolist(), kinds.tolist()):
        if kind == 3 and order_rules:
            first, second = order_rules[0]
            if not np.isnat(columns[first][row]) and not np.isnat(columns[second][row]):
                columns[second][row] = columns[first][row] - np.timedelta64(1 + int(rng.integers(0, 30)), "D")
                broken.append((row, f"date_order:{first}<={second}"))
                continue
            kind = 1
        if kind == 0:
            columns[event_date][row] = np.datetime64("NaT", "D")
            broken.append((row, f"required:{event_date}"))
        elif kind == 2:
            columns["date_of_birth"][row] = np.datetime64("2030-01-01", "D") + np.timedelta64(int(rng.integers(0, 365)), "D")
            # A birth in the future is also a birth after the record.
            broken.append((row, "not_future:date_of_birth"))
            broken.append((row, f"date_order:date_of_birth<={event_date}"))
        else:
            columns["sex"][row] = "M"
            broken.append((row, "codelist:sex"))
    return broken


# ---------------------------------------------------------------------------------------------
# Writing


def _as_text(values: np.ndarray) -> list[str]:
    if np.issubdtype(values.dtype, np.datetime64):
        text = np.datetime_as_string(values.astype("datetime64[D]"), unit="D")
        return np.where(np.isnat(values), "", text).tolist()
    if values.dtype == bool:
        return np.where(values, "true", "false").tolist()
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(str).tolist()
    return ["" if v is None else str(v) for v in values.tolist()]


def _as_arrow(values: np.ndarray, kind: str) -> pa.Array:
    if kind == "date" or np.issubdtype(values.dtype, np.datetime64):
        values = values.astype("datetime64[D]")
        return pa.array(values, type=pa.date32(), mask=np.isnat(values))
    if kind == "integer":
        return pa.array(values.astype(np.int64), type=pa.int64())
    if kind == "boolean" or values.dtype == bool:
        return pa.array(values.astype(bool), type=pa.bool_())
    return pa.array([None if v is None else str(v) for v in values.tolist()], type=pa.string())


def write_table(path: Path, columns: dict[str, np.ndarray], kinds: dict[str, str], fmt: str) -> int:
    """Write columns in the given order; ``kinds`` maps each to string, integer, date or boolean."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(names)
            writer.writerows(zip(*[_as_text(columns[c]) for c in names]))
    else:
        table = pa.table({c: _as_arrow(columns[c], kinds[c]) for c in names})
        pq.write_table(table, path, compression="zstd")
    return n
