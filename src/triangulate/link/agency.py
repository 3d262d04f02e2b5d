"""``triangulate encode``: an agency encodes its own extracts before they leave it.

Some agencies will not release names to a linkage service. They run this on their extracts, under the
project's linkage secret (which the service need not hold), and send what it writes instead:

- every row checked first, exactly as the ingest will check it (file, row, field and rule named for
  each problem; nothing written while any row is wrong);
- the names, date of birth, postcode, NHS number and PNC ID removed and replaced by one field,
  ``identity_encoding`` (the data standard's v1.3 field: a CLK of the names, date of birth, sex and
  postcode, keyed hashes of the two numbers and of the blocking keys; ``encode.encode_prepared``, the
  same preparation and encoding as a service encoding plain records on arrival);
- ``age_at_event`` worked out from the date of birth here, since the date does not leave;
- ``source_record_id`` (a number the agency's own system can look up) replaced by its keyed hash, in
  the agency's tables and in its needs extract alike, so needs still find their records.

Other columns are written as they came. The output is a CSV of the standard, which ``triangulate
ingest`` loads like any other; ``triangulate link`` then compares the encodings (docs/linkage.md).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
import os
import secrets as random
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from triangulate.standard import AGENCY_TABLES, IDENTIFYING_FIELDS, schema

from .encode import BLOCKING_KEYS, encode_prepared, keyed_hashes
from .errors import LinkError

#: The first part of every encoding: the format, so a later one can be told apart.
FORMAT = "tclk1"
#: Fields an encoded extract does not carry (the encoding stands for them).
DROPPED = tuple(sorted(IDENTIFYING_FIELDS - {"identity_encoding"}))
#: Rows shown in a refusal (the rest are counted).
SHOWN_PROBLEMS = 10


def encoding_check(secret: bytes) -> str:
    """A value naming the secret without revealing it: encodings made under one secret share it, so the
    service can tell extracts encoded under different secrets apart without holding any."""
    return hmac.new(secret, b"triangulate encoding check", hashlib.sha256).hexdigest()[:16]


def to_text(encoded: pa.Table, secret: bytes) -> list[str]:
    """Each encoded record (``encode.encode_prepared``'s columns) as one ``identity_encoding`` value."""
    check = encoding_check(secret)
    parts = [encoded.column(c).to_pylist() for c in ("nhs_number_hmac", "pnc_id_hmac", *BLOCKING_KEYS)]
    out = []
    for i, clk in enumerate(encoded.column("clk").to_pylist()):
        text = base64.urlsafe_b64encode(clk).decode("ascii").rstrip("=")
        out.append(".".join([FORMAT, check, text, *[p[i] or "" for p in parts]]))
    return out


def from_text(values: list[str]) -> tuple[dict[str, list], set[str]]:
    """The columns of ``encode.encode_prepared`` (clk, the two number hashes, the blocking keys) read
    back from ``identity_encoding`` values, and the secrets' checks they carry."""
    names = ("nhs_number_hmac", "pnc_id_hmac", *BLOCKING_KEYS)
    columns: dict[str, list] = {"clk": [], **{n: [] for n in names}}
    checks = set()
    for value in values:
        parts = value.split(".")
        checks.add(parts[1])
        columns["clk"].append(base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4)))
        for name, part in zip(names, parts[3:], strict=True):
            columns[name].append(part or None)
    return columns, checks


@dataclass
class Encoded:
    source: Path
    table: str
    out: Path
    rows: int


def encode_extract(path: str | Path, secret: bytes, out_dir: str | Path, *, today: dt.date | None = None) -> Encoded:
    """Check one extract as the ingest would and write its encoded copy to ``out_dir`` (mode 600).

    Raises ``LinkError`` naming the file, and each problem's row, field and rule (never a value), when
    the extract is not one of the standard's tables with identifiers, or any of its rows is wrong; then
    nothing is written."""
    from triangulate.ingest.errors import IngestRefused
    from triangulate.ingest.keys import Pseudonymiser
    from triangulate.ingest.readers import read_extract
    from triangulate.ingest.recognise import recognise_table
    from triangulate.ingest.validate import check_rows
    from triangulate.store.engines import scratch_duckdb

    path = Path(path)
    try:
        extract = read_extract(path)
        extract.table = recognise_table(extract.file_name, extract.columns)
    except IngestRefused as problem:
        raise LinkError(f"Not encoded: {problem}") from None
    table = extract.table
    if table not in (*AGENCY_TABLES, "need"):
        raise LinkError(f"Not encoded: {path.name} is the {table} table, which holds no identifiers: send it as it is")
    if "identity_encoding" in extract.columns:
        raise LinkError(f"Not encoded: {path.name} is already encoded (it has identity_encoding)")
    text = extract.data
    with scratch_duckdb() as con:
        # The record keys made by the check are thrown away: a key that exists only for this check.
        checked = check_rows(con, extract, Pseudonymiser(random.token_bytes(32)), today or dt.date.today())
        checked.references_pending = False  # a need's record is looked up by the service's ingest
        rejects = checked.rejects()
        if rejects is not None:
            raise LinkError(_refusal(path.name, rejects))
        rows = checked.rows.sort_by("_row")
        encodings = _encodings(con, table, rows, secret) if table in AGENCY_TABLES else None
    text = text.sort_by("_row")
    columns = [c for c in extract.columns if c not in DROPPED and c != "age_at_event"]
    values = {c: ["" if v is None else v for v in text.column(c).to_pylist()] for c in columns}
    values["source_record_id"] = keyed_hashes(rows.column("source_record_id").cast(pa.string()), secret,
                                              "source_record_id").to_pylist()
    if encodings is not None:
        values["age_at_event"] = ["" if a is None else str(a) for a in rows.column("age_at_event").to_pylist()]
        values["identity_encoding"] = encodings
    header = [*columns, *(("age_at_event", "identity_encoding") if encodings is not None else ())]
    out = Path(out_dir) / f"{path.stem}.encoded.csv"
    _write_private(out, header, values, text.num_rows)
    return Encoded(path, table, out, text.num_rows)


def _encodings(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, secret: bytes) -> list[str]:
    """Each checked row's identity encoding, prepared as the linkage prepares the identity zone."""
    from .run import prepared_input

    fields = ["source_system", *(f for f in schema(table).field_names
                                 if schema(table).field(f).zone in ("identity", "both") and f != "identity_encoding")]
    identity = rows.select(fields).append_column("record_key", pa.array([str(i) for i in range(rows.num_rows)]))
    con.execute("CREATE SCHEMA IF NOT EXISTS identity")
    con.register("checked_identity", identity)
    con.execute(f"CREATE TABLE identity.{table} AS SELECT * FROM checked_identity")
    con.unregister("checked_identity")
    prepared = prepared_input(con, [table])
    # Back in the rows' order (the union keeps it, but a join may not).
    prepared = prepared.take(pc.sort_indices(prepared.column("unique_id").cast(pa.int64())))
    return to_text(encode_prepared(prepared, secret), secret)


def _refusal(file_name: str, rejects: pa.Table) -> str:
    lines = [f"Not encoded: {file_name} has {len(set(rejects.column('row').to_pylist())):,} rows the ingest would "
             "reject; nothing was written. Fix them and encode again:"]
    for r in rejects.slice(0, SHOWN_PROBLEMS).to_pylist():
        lines.append(f"  row {r['row']}, field {r['field']}: {r['rule']} ({r['what_to_fix']})")
    if rejects.num_rows > SHOWN_PROBLEMS:
        lines.append(f"  ... and {rejects.num_rows - SHOWN_PROBLEMS:,} more")
    return "\n".join(lines)


def _write_private(path: Path, header: list[str], values: dict[str, list], n: int) -> None:
    """Written whole under a temporary name, then renamed, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*(values[c] for c in header)) if n else ())
    scratch = path.with_name(f".{path.name}.{random.token_hex(4)}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(buffer.getvalue())
    os.replace(scratch, path)
