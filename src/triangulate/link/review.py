"""Clerical review that feeds back: a reviewer's marks on the review sample become labelled pairs.

The review sample (``triangulate link --review-sample DIR``, or ``--evaluate ... --report-dir DIR``)
lists borderline pairs with their identifiers and an empty ``reviewer_decision`` column. An authorised
reviewer writes ``match`` (one person), ``non-match`` (two people) or ``unsure`` (or leaves it empty)
in each row, and ``triangulate link --review-marks FILE --reviewer NAME`` reads the file back into
``meta.link_labels``: record keys (pseudonymous), the decision, who marked it and when; never a name
or date. Every later ``link`` reads the labels:

- pairs marked ``match`` are joined whatever they score, and with ``link --train-from-marks`` also
  re-estimate the model's m probabilities (Splink's ``estimate_m_from_pairwise_labels``; each level's m
  is then the median of its estimates from expectation maximisation and from the labels). That is off
  by default: the sample is of borderline pairs, not representative of matches, and re-estimating from
  it lowered F1 on FEBRL 3 and on our high-noise population (docs/linkage.md "Clerical review");
- pairs marked ``non-match`` are never put in one person, directly or through other records (the
  clustering's cannot-link, ``cluster.py``).

A file with any wrong row is refused whole, naming the file, the row, the field and the rule, never
the value; nothing is stored from it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from triangulate.store import connect

from .errors import LinkError

DECISIONS = {"match": "match", "non-match": "non_match", "unsure": None, "": None}
REQUIRED = ("record_key_l", "record_key_r", "reviewer_decision")
#: Labelled matches needed before they re-estimate m: fewer than this and a level's estimate from the
#: labels rests on a handful of pairs (they still join their pairs and keep non-matches apart).
MIN_MATCHES_FOR_M = 30

LABELS_DDL = """CREATE TABLE IF NOT EXISTS meta.link_labels (
    record_key_l VARCHAR, record_key_r VARCHAR, decision VARCHAR, reviewer VARCHAR, marked_at TIMESTAMP,
    PRIMARY KEY (record_key_l, record_key_r))"""


@dataclass
class Marks:
    match: int
    non_match: int
    unmarked: int

    def lines(self) -> list[str]:
        return [f"Marks kept: {self.match:,} one person (match), {self.non_match:,} two people (non-match); "
                f"{self.unmarked:,} rows unmarked or unsure, left out",
                "Every later `triangulate link` keeps each decision: matches joined, non-matches kept apart"]


def import_marks(store: str | Path, path: str | Path, reviewer: str) -> Marks:
    """Read a marked review sample into ``meta.link_labels`` (a later mark of the same pair replaces an
    earlier one). Raises ``LinkError`` naming the file, row, field and rule for any wrong row."""
    path = Path(path)
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise LinkError("--reviewer is required: the name of the authorised reviewer who made the marks")
    if not path.is_file():
        raise LinkError(f"no marks file at {path}")
    if not Path(store).is_file():
        raise LinkError(f"no store at {store}: ingest extracts first")
    rows = _read(path)
    con = connect(store)
    try:
        known = _known_keys(con, {k for r in rows for k in r[1:3]})
        labels, unmarked = [], 0
        for line, left, right, decision in rows:
            for field, key in (("record_key_l", left), ("record_key_r", right)):
                if key not in known:
                    raise LinkError(f"{path.name}, row {line}, field {field}: no record with this key in the "
                                    "store (rule: the pair must come from this store's review sample)")
            if left == right:
                raise LinkError(f"{path.name}, row {line}, field record_key_r: the same record as record_key_l "
                                "(rule: a pair is two records)")
            if decision is None:
                unmarked += 1
                continue
            labels.append((*sorted((left, right)), decision))
        now = datetime.now(timezone.utc)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("CREATE SCHEMA IF NOT EXISTS meta")
            con.execute(LABELS_DDL)
            con.executemany("INSERT OR REPLACE INTO meta.link_labels VALUES (?, ?, ?, ?, ?)",
                            [(a, b, d, reviewer, now) for a, b, d in labels])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    last = {(a, b): d for a, b, d in labels}
    return Marks(sum(d == "match" for d in last.values()), sum(d == "non_match" for d in last.values()), unmarked)


def _read(path: Path) -> list[tuple[int, str, str, str | None]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise LinkError(f"{path.name}: no column {', '.join(missing)} (rule: marks are the review sample "
                                "with its reviewer_decision column filled in)")
            rows = []
            for line, r in enumerate(reader, start=2):
                decision = (r.get("reviewer_decision") or "").strip().lower()
                if decision not in DECISIONS:
                    raise LinkError(f"{path.name}, row {line}, field reviewer_decision: not one of match, "
                                    "non-match, unsure or empty")
                keys = [(r.get(c) or "").strip() for c in REQUIRED[:2]]
                for field, key in zip(REQUIRED[:2], keys):
                    if not key:
                        raise LinkError(f"{path.name}, row {line}, field {field}: empty (rule: every row names "
                                        "its two records)")
                rows.append((line, keys[0], keys[1], DECISIONS[decision]))
            return rows
    except UnicodeDecodeError:
        raise LinkError(f"{path.name}: not UTF-8 text (rule: save the marks as CSV in UTF-8)") from None
    except csv.Error as problem:
        raise LinkError(f"{path.name}: not a readable CSV ({problem.__class__.__name__})") from None


def _known_keys(con: duckdb.DuckDBPyConnection, keys: set[str]) -> set[str]:
    from .run import identity_tables

    if not keys:
        return set()
    con.register("marked_keys", pa.table({"record_key": sorted(keys)}))
    union = " UNION ALL ".join(f"SELECT record_key FROM identity.{t}" for t, n in identity_tables(con).items() if n)
    found = {r[0] for r in con.execute(f"SELECT record_key FROM marked_keys WHERE record_key IN ({union})").fetchall()}
    con.unregister("marked_keys")
    return found


def read_labels(con: duckdb.DuckDBPyConnection) -> pa.Table | None:
    """The kept labels (``record_key_l, record_key_r, decision``), or None when there are none."""
    try:
        table = con.sql("SELECT record_key_l, record_key_r, decision FROM meta.link_labels").to_arrow_table()
    except duckdb.CatalogException:
        return None
    return table if table.num_rows else None
