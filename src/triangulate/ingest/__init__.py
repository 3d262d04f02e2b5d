"""The ingest: agency extracts in, checked and pseudonymised rows out, every row accounted for.

A data steward points the ingest at extract files (CSV, Parquet, Excel .xlsx). Each file is
recognised as a table of the data standard from its header, every row is checked against the
standard, identifiers are split from content under a keyed-hash record key, and the whole run is
loaded in one transaction: all of it or none of it. Rows that break a rule go to a rejects file
that names the row, the field and the rule but never the value.

Public surface: :func:`ingest`, :func:`load_key`, :class:`IngestReport` (with :class:`FileResult`
per file) and :class:`IngestRefused`. ``python -m triangulate.ingest`` runs it from a shell.
See docs/ingest.md for what is checked and what to fix.

Inside, split by job: ``readers`` (files to text, whole-file refusals), ``recognise`` (header to
table), ``checks`` (the standard's rules as SQL), ``validate`` (one query per extract), ``keys``
(the key and record keys), ``load`` (the run and its transaction), ``report`` (the accounting).
"""

from __future__ import annotations

from .checks import RULES
from .errors import REFUSALS, IngestRefused
from .keys import KEY_ENV, MIN_KEY_BYTES, Pseudonymiser, load_key
from .load import find_extracts, ingest
from .report import FileResult, IngestReport
from .validate import IngestFailed

__all__ = [
    "KEY_ENV",
    "MIN_KEY_BYTES",
    "REFUSALS",
    "RULES",
    "FileResult",
    "IngestFailed",
    "IngestRefused",
    "IngestReport",
    "Pseudonymiser",
    "find_extracts",
    "ingest",
    "load_key",
]
