"""The accounting of an ingest: for every file, rows in = rows loaded + rows rejected.

The equation is checked when a result is made, not only shown, so a bug that loses rows stops the
ingest (before its transaction commits) instead of producing a report that does not add up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table


class AccountingError(RuntimeError):
    """Rows in did not equal rows loaded plus rows rejected: a bug; nothing was committed."""


@dataclass(frozen=True)
class FileResult:
    file: str
    table: str | None
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    #: Loaded rows that replaced a record already in the store (a corrected re-extract).
    replaced: int = 0
    #: Why the file was not loaded at all (already loaded), else None.
    skipped_reason: str | None = None
    rejects_file: Path | None = None
    load_id: str | None = None

    def __post_init__(self) -> None:
        if self.rows_in != self.rows_loaded + self.rows_rejected:
            raise AccountingError(
                f"{self.file}: {self.rows_in} rows in but {self.rows_loaded} loaded and "
                f"{self.rows_rejected} rejected"
            )
        if not 0 <= self.replaced <= self.rows_loaded:
            raise AccountingError(f"{self.file}: {self.replaced} replaced of {self.rows_loaded} loaded")


@dataclass
class IngestReport:
    store: Path
    files: list[FileResult] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def replaced(self) -> int:
        return sum(f.replaced for f in self.files)

    @property
    def rejects_files(self) -> list[Path]:
        return [f.rejects_file for f in self.files if f.rejects_file is not None]

    def accounting_table(self) -> Table:
        """A Rich table with one line per file and a total: rows in = loaded + rejected."""
        folders = sorted({str(p.parent) for p in self.rejects_files})
        table = Table(
            title=f"Ingest into {self.store}",
            title_justify="left",
            caption=f"Rejected rows are listed (row, field and rule; never the value) in "
            f"<file>.<load id>.rejects.csv in {', '.join(folders)}"
            if folders else None,
            caption_justify="left",
        )
        table.add_column("file", overflow="fold")
        table.add_column("table", overflow="fold")
        for name in ("rows in", "loaded", "rejected", "replaced"):
            table.add_column(name, justify="right")
        notes = any(f.skipped_reason for f in self.files)
        if notes:
            table.add_column("note", overflow="fold")
        for f in self.files:
            table.add_row(f.file, f.table or "", f"{f.rows_in:,}", f"{f.rows_loaded:,}",
                          f"{f.rows_rejected:,}", f"{f.replaced:,}", *([f.skipped_reason or ""] if notes else []))
        table.add_section()
        table.add_row("total", "", f"{self.rows_in:,}", f"{self.rows_loaded:,}", f"{self.rows_rejected:,}",
                      f"{self.replaced:,}", *([""] if notes else []))
        return table

    def __str__(self) -> str:
        lines = [
            f"{f.file}: {f.rows_in} in = {f.rows_loaded} loaded + {f.rows_rejected} rejected"
            + (f" ({f.replaced} replaced)" if f.replaced else "")
            + (f"; skipped: {f.skipped_reason}" if f.skipped_reason else "")
            for f in self.files
        ]
        return "\n".join(lines)
