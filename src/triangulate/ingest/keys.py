"""The pseudonymisation key and the record keys made with it.

A record key is HMAC-SHA256 under the steward's secret key of ``table|source_system|source_record_id``,
written as hex. It is deterministic, so a need row can compute the key of the record it refers to
and a corrected re-extract of a record lands on the same key; without the secret key nobody can
recompute or reverse it.

Speed: keys are computed inside DuckDB, on all rows of an extract at once and on every core, with
DuckDB's ``sha256``. HMAC is ``H((K ^ opad) || H((K ^ ipad) || message))``; the two padded key
blocks are computed once here and bound to the query as parameters, so the key never appears in
SQL text, and only the finished keys are stored. :meth:`Pseudonymiser.record_key` computes the
same key in Python from pre-padded SHA-256 states (``hashlib.sha256().copy()``) for single records
and as a cross-check; tests compare both with ``hmac.new``.

The key comes from ``--key-file PATH`` or the ``TRIANGULATE_KEY`` environment variable and is never
written to the store, the manifest, a log line or a rejects file. The store keeps only a key check
value (an HMAC of a fixed label) so that an ingest with a different key is refused instead of
silently giving the same records new keys.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import IngestRefused

KEY_ENV = "TRIANGULATE_KEY"
MIN_KEY_BYTES = 32
_BLOCK = 64  # SHA-256 block size in bytes
_KEY_CHECK_LABEL = b"triangulate key check v1"

HOW_TO_PROVIDE_A_KEY = (
    f"set the environment variable {KEY_ENV} to a secret of at least {MIN_KEY_BYTES} bytes, or pass "
    "--key-file PATH naming a file that holds it (keep the file apart from the store and the "
    "extracts; for example create one with: python -c \"import secrets; print(secrets.token_hex(32))\""
    " > triangulate.key). Use the same key for every ingest into the same store."
)


def load_key(key_file: Path | None) -> bytes:
    """The pseudonymisation key from ``key_file`` if given, else from ``TRIANGULATE_KEY``.

    Surrounding whitespace (such as the newline an editor adds) is not part of the key. Raises
    :class:`IngestRefused` when there is no key or it is shorter than 32 bytes.
    """
    if key_file is not None:
        key_file = Path(key_file)
        try:
            key = key_file.read_bytes().strip()
        except OSError:
            raise IngestRefused(
                f"cannot read the key file {key_file}: check the path and its permissions",
                reason="no_key",
            ) from None
        source = f"the key file {key_file}"
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode("utf-8")
        source = f"the environment variable {KEY_ENV}"
        if not key:
            raise IngestRefused(
                f"no pseudonymisation key, so the ingest will not run: {HOW_TO_PROVIDE_A_KEY}",
                reason="no_key",
            )
    check_key(key, source)
    return key


def check_key(key: bytes, source: str = "the key") -> None:
    if not key:
        raise IngestRefused(f"{source} is empty: {HOW_TO_PROVIDE_A_KEY}", reason="no_key")
    if len(key) < MIN_KEY_BYTES:
        raise IngestRefused(
            f"{source} is shorter than {MIN_KEY_BYTES} bytes, too short to protect the record keys: "
            f"{HOW_TO_PROVIDE_A_KEY}",
            reason="short_key",
        )


class Pseudonymiser:
    """Record keys under one secret key, in SQL for whole extracts and in Python for one record."""

    def __init__(self, key: bytes) -> None:
        check_key(key)
        block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
        block = block.ljust(_BLOCK, b"\0")
        self._inner_pad = bytes(b ^ 0x36 for b in block)
        self._outer_pad = bytes(b ^ 0x5C for b in block)
        self._inner = hashlib.sha256(self._inner_pad)
        self._outer = hashlib.sha256(self._outer_pad)

    def _hmac_hex(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def record_key(self, table: str, source_system: str, source_record_id: str) -> str:
        """The record key of one record (hex HMAC-SHA256 of ``table|system|id``)."""
        return self._hmac_hex(f"{table}|{source_system}|{source_record_id}".encode("utf-8"))

    @property
    def key_check(self) -> str:
        """A value that identifies the key without revealing it (stored in the load manifest)."""
        return self._hmac_hex(_KEY_CHECK_LABEL)

    def sql(self, message_sql: str) -> str:
        """A DuckDB expression for the hex record key of ``message_sql`` (a VARCHAR expression).

        It refers to the named parameters ``$inner_pad`` and ``$outer_pad``: run the query with
        :attr:`sql_parameters`."""
        return f"sha256($outer_pad || unhex(sha256($inner_pad || encode({message_sql}))))"

    @property
    def sql_parameters(self) -> dict[str, bytes]:
        return {"inner_pad": self._inner_pad, "outer_pad": self._outer_pad}

    def __repr__(self) -> str:  # never show the key material
        return "Pseudonymiser(<key hidden>)"
