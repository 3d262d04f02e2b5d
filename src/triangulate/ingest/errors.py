"""Why an ingest refuses to run, in words a data steward can act on.

A refusal stops the whole run before anything is loaded. Its message names the file (by its base
name) and says what to fix; it never quotes a value from the file, because any value might be
identifying. ``reason`` is a stable name (listed in :data:`REFUSALS` and in docs/ingest.md) for
callers and tests that need to tell refusals apart.
"""

from __future__ import annotations

#: Stable refusal names -> what they mean. docs/ingest.md lists the same names (a test checks).
REFUSALS: dict[str, str] = {
    "no_key": "no pseudonymisation key was given",
    "short_key": "the pseudonymisation key is shorter than 32 bytes",
    "different_key": "the key differs from the one this store was loaded with",
    "no_files": "no CSV, Parquet or Excel file was found at the paths given",
    "not_a_file": "the path does not exist, is not a file, or cannot be read",
    "unsupported_format": "the file is not CSV, Parquet or Excel .xlsx",
    "not_utf8": "a CSV file is not UTF-8 text",
    "empty": "the file has no header or no data rows",
    "truncated": "the file ends part-way through a record",
    "malformed": "a line does not have as many fields as the header, or the file cannot be parsed",
    "unreadable": "a Parquet or Excel file cannot be opened (damaged or cut off)",
    "duplicate_columns": "two columns have the same name once case and spaces are ignored",
    "unrecognised_table": "the columns do not match any table of the data standard",
    "ambiguous_table": "the columns match more than one table equally well",
    "missing_columns": "required columns of the table are missing",
    "unknown_columns": "there are columns that the table does not have",
}


class IngestRefused(Exception):
    """The ingest will not run; the message says which file and what to fix. Nothing was loaded."""

    def __init__(self, message: str, *, reason: str, file: str | None = None) -> None:
        if reason not in REFUSALS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.file = file
