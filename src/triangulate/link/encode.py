"""Linkage without names: identity fields as CLK Bloom-filter encodings.

``triangulate link --secret FILE`` encodes every record on arrival and links on the encodings
alone: the names, date of birth, sex and postcode become one cryptographic long-term key (a CLK,
Schnell, Bachteler and Reiher 2011): the two-letter pieces of each name, the digits of the date with
their positions, the postcode's pieces and the sex, each set into a 1,024-bit Bloom filter at
positions drawn by a keyed hash (BLAKE2b, keys derived from the project's secret by HKDF, one per
field). Two encodings of records that differ by a typo share most of their bits, so records are
compared by the Dice coefficient of their encodings and still found. NHS number and PNC ID, compared
exactly, and the blocking keys (two or three fields together) become keyed hashes (HMAC-SHA256); the
agency's record number too. What the encoding resists and what it does not, and what it costs in
accuracy: docs/linkage.md, "Linkage without names".

The encoding is Data61's ``clkhash`` (schema version 3, ``data/clk_schema.json``); the preparation
before it is the plain linkage's own (``model.prepare_sql``), so encoded records agree wherever the
plain records would. ``triangulate encode`` (``link.agency``) makes the same encodings at the
agency, which the service ingests and links without the secret (docs/linkage.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa

from .errors import LinkError

#: Bits in an encoding.
CLK_BITS = 1024
#: Shortest secret accepted, in bytes: 256 bits, as for the store's key.
SECRET_BYTES = 32

#: Keys that choose which pairs are compared, made from the plain values at encoding and kept only as
#: keyed hashes: the plain linkage's blocking rules (``model.PREDICTION_BLOCKING_RULES``), each a
#: combination of two or three fields, never one field alone (a keyed hash of a family name alone
#: would show how common each name is, which a frequency attack reads). Name -> fields of the
#: prepared record, with ``[:n]`` for a prefix and ``district`` for the postcode's first part.
BLOCKING_KEYS = {
    "k_given_family": ("given_name_canonical", "family_name"),
    "k_family_dob": ("family_name", "dob"),
    "k_given_dob": ("given_name", "dob"),
    "k_name_order": ("given_name", "family_name"),
    "k_name_swapped": ("family_name", "given_name"),
    "k_dob_postcode": ("dob", "postcode"),
    "k_family_postcode": ("family_name", "postcode"),
    "k_given_postcode": ("given_name", "postcode"),
    "k_given_family2_district": ("given_name", "family_name[:2]", "district"),
    "k_family_given2_district": ("family_name", "given_name[:2]", "district"),
    "k_dob_family1": ("dob", "family_name[:1]"),
    "k_dob_given1": ("dob", "given_name[:1]"),
}


@cache
def clk_schema():
    """The clkhash schema of our encodings (``data/clk_schema.json``, validated by clkhash)."""
    from clkhash.schema import from_json_dict

    text = resources.files("triangulate.link").joinpath("data/clk_schema.json").read_text("utf-8")
    return from_json_dict(json.loads(text))


def load_secret(path: str | Path) -> bytes:
    """The project's secret from ``path``: a file only its owner may read, of at least 32 bytes.

    Never printed or logged; an error names the file and the rule broken, never the content.
    """
    p = Path(path)
    if not p.is_file():
        raise LinkError(f"{p}: no such secret file (make one with: head -c 48 /dev/urandom | base64 > {p.name}; "
                        f"chmod 600 {p.name})")
    mode = stat.S_IMODE(p.stat().st_mode)
    if mode & 0o077:
        raise LinkError(f"{p}: the secret file may be read by others (mode {mode:o}); run chmod 600 {p.name}")
    secret = p.read_bytes().strip()
    if len(secret) < SECRET_BYTES:
        raise LinkError(f"{p}: the secret must hold at least {SECRET_BYTES} bytes; it holds {len(secret)}")
    return secret


def _field_key(secret: bytes, field: str) -> bytes:
    # One key per field, so a hash of an NHS number says nothing about the same digits elsewhere.
    return hmac.new(secret, f"triangulate hmac {field}".encode(), hashlib.sha256).digest()


def keyed_hashes(values: pa.Array, secret: bytes, field: str) -> pa.Array:
    """HMAC-SHA256 of each value (hex), keyed per field from the secret; null stays null."""
    key = _field_key(secret, field)
    return pa.array([None if v is None or v == "" else hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()
                     for v in values.to_pylist()], pa.string())


def clks(prepared: pa.Table, secret: bytes) -> list[bytes]:
    """The CLK of each prepared record (``model.prepare_sql``'s columns), as 128 bytes."""
    from clkhash import clk

    def text(name: str) -> list[str]:
        return ["" if v is None else v for v in prepared.column(name).to_pylist()]

    postcodes = [v.replace(" ", "") for v in text("postcode")]
    rows = list(zip(text("given_name_canonical"), text("family_name"), text("dob"), text("sex"), postcodes))
    if not rows:
        return []
    # One process: the callers run beside other work (tests, the dashboard's jobs).
    return [b.tobytes() for b in clk.generate_clks(rows, clk_schema(), secret, validate=True, max_workers=1)]


def encode_prepared(prepared: pa.Table, secret: bytes) -> pa.Table:
    """Prepared linkage records with their identity fields replaced by encodings.

    Keeps ``unique_id`` and ``source_table`` (the store's own keys and table names, not identifying);
    ``source_system`` and ``source_record_id`` become keyed hashes like the numbers.
    """
    encoded = pa.array(clks(prepared, secret), pa.binary(CLK_BITS // 8))
    columns = {
        "unique_id": prepared.column("unique_id"),
        "source_table": prepared.column("source_table"),
        "source_system": prepared.column("source_system"),
        "source_record_id": keyed_hashes(prepared.column("source_record_id").cast(pa.string()), secret,
                                         "source_record_id"),
        "clk": encoded,
        "nhs_number_hmac": keyed_hashes(prepared.column("nhs_number"), secret, "nhs_number"),
        "pnc_id_hmac": keyed_hashes(prepared.column("pnc_id"), secret, "pnc_id"),
        **blocking_keys(prepared, secret),
    }
    return with_bits(pa.table(columns))


def _part(row: dict, spec: str) -> str | None:
    if spec == "district":
        value = row.get("postcode")
        return value.split(" ")[0] if value else None
    name, _, cut = spec.partition("[:")
    value = row.get(name)
    if not value:
        return None
    return value[:int(cut[:-1])] if cut else value


def blocking_keys(prepared: pa.Table, secret: bytes) -> dict[str, pa.Array]:
    """Each of ``BLOCKING_KEYS`` as a keyed hash (null where a part is missing)."""
    rows = prepared.select([c for c in ("given_name", "given_name_canonical", "family_name", "dob", "postcode")
                            if c in prepared.column_names]).to_pylist()
    out = {}
    for name, spec in BLOCKING_KEYS.items():
        # the swapped order is compared with the given order, so both are hashed under one key
        key = _field_key(secret, "k_name_order" if name == "k_name_swapped" else name)
        values = []
        for row in rows:
            parts = [_part(row, p) for p in spec]
            values.append(None if any(p is None for p in parts)
                          else hmac.new(key, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()[:32])
        out[name] = pa.array(values, pa.string())
    return out


def with_bits(encoded: pa.Table) -> pa.Table:
    """``encoded`` with ``clk_bits``: the ones in each encoding (the denominator of the Dice)."""
    raw = encoded.column("clk").combine_chunks()
    n = len(raw)
    data = np.frombuffer(raw.buffers()[1], dtype=np.uint8, count=n * CLK_BITS // 8) if n else np.zeros(0, np.uint8)
    ones = np.unpackbits(data.reshape(n, CLK_BITS // 8), axis=1).sum(axis=1) if n else np.zeros(0)
    return encoded.append_column("clk_bits", pa.array(ones.astype(np.int32), pa.int32()))


def dice_u_probabilities(encoded: pa.Table, levels: tuple[float, ...], pairs: int = 400_000,
                         seed: int = 7) -> list[float]:
    """How often two different people's encodings reach each Dice level (``levels``, then below all).

    Splink's u (from random pairs) counts the true pairs among them, and the top levels of the
    encodings' comparison are where they fall, so those levels' u was as large as the share of true
    pairs (FEBRL 3: 1e-4 where people alike are far rarer) and no pair reached 0.5. Here random pairs
    that share any number or blocking key are left out first (most true pairs do); a level no
    remaining pair reaches counts a half, so its u is not zero.
    """
    n = encoded.num_rows
    if n < 2:
        return [1.0 / (len(levels) + 1)] * (len(levels) + 1)
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, pairs), rng.integers(0, n, pairs)
    keep = i != j
    for name in ("nhs_number_hmac", "pnc_id_hmac", *BLOCKING_KEYS):
        if name in encoded.column_names:
            values = np.asarray(encoded.column(name).to_pylist(), dtype=object)
            keep &= ~((values[i] == values[j]) & (values[i] != None))  # noqa: E711 (elementwise)
    i, j = i[keep], j[keep]
    raw = encoded.column("clk").combine_chunks()
    data = np.frombuffer(raw.buffers()[1], dtype=np.uint8, count=n * CLK_BITS // 8).reshape(n, CLK_BITS // 8)
    ones = encoded.column("clk_bits").to_numpy()
    both = np.unpackbits(data[i] & data[j], axis=1).sum(axis=1)
    total = ones[i] + ones[j]
    valid = total > 0
    d = 2 * both[valid] / total[valid]
    counts, above = [], np.zeros(len(d), dtype=bool)
    for level in levels:
        here = (d >= level) & ~above
        counts.append(int(here.sum()))
        above |= here
    counts.append(int((~above).sum()))
    total_pairs = max(1, len(d))
    return [max(c, 0.5) / total_pairs for c in counts]


def set_dice_u(linker, encoded: pa.Table) -> None:
    """Give the linker's encoded comparison (``model.encoded_comparison``) the u of
    ``dice_u_probabilities`` in place of the u Splink drew from random pairs."""
    from .model import DICE_LEVELS

    comparison = next(c for c in linker._settings_obj.comparisons if c.output_column_name == "clk")
    levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
    for level, u in zip(levels, dice_u_probabilities(encoded, DICE_LEVELS), strict=True):
        # Splink sets u again from its record of trained values after each training step
        level._trained_u_probabilities = []
        level._add_trained_u_probability(u, "pairs of different people (encode.dice_u_probabilities)")
        level.u_probability = u


def dice(a: bytes, b: bytes) -> float:
    """The Dice coefficient of two encodings: twice the shared bits over the bits of both."""
    x, y = np.unpackbits(np.frombuffer(a, np.uint8)), np.unpackbits(np.frombuffer(b, np.uint8))
    total = int(x.sum() + y.sum())
    return 2 * int((x & y).sum()) / total if total else 0.0
