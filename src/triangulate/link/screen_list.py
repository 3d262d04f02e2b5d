"""The screening list: a day's custody or court list, read and checked before anything is scored.

The format (docs/screening.md) is a UTF-8 CSV with a header row and one row per listed person:

| column | required | rule |
|---|---|---|
| ``given_name`` | yes (value may be blank) | text |
| ``family_name`` | yes, value required | text |
| ``date_of_birth`` | yes, value required | ``YYYY-MM-DD`` or ``DD/MM/YYYY``, not in the future |
| ``postcode`` | yes (value may be blank: no fixed abode) | text |
| ``pnc_id`` | optional column | text |
| ``location`` | yes | the court or custody suite |
| ``time`` | yes (value may be blank) | ``HH:MM`` (24-hour) |

A problem is reported by file, row, field and rule, never by value: a list names people.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

REQUIRED_COLUMNS = ("given_name", "family_name", "date_of_birth", "postcode", "location", "time")
OPTIONAL_COLUMNS = ("pnc_id",)
#: Values that must not be blank.
VALUE_REQUIRED = ("family_name", "date_of_birth", "location")
#: A day's list is tens or hundreds of people; a larger file is almost certainly the wrong file.
MAX_ROWS = 5_000
MAX_PROBLEMS_SHOWN = 20
#: The longest value a cell may hold: a name, postcode or court is a few dozen characters.
MAX_VALUE_CHARACTERS = 1_000
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class ListProblem:
    file: str
    row: int | None  # the file's line number counting the header as 1; None for the whole file
    field: str | None
    rule: str

    def __str__(self) -> str:
        where = self.file + (f" row {self.row}" if self.row is not None else "")
        where += f", field {self.field}" if self.field else ""
        return f"{where}: {self.rule}"


class ScreenListError(ValueError):
    """The list cannot be screened; ``problems`` name the file, row, field and rule (never a value)."""

    def __init__(self, problems: list[ListProblem]):
        self.problems = problems
        shown = [str(p) for p in problems[:MAX_PROBLEMS_SHOWN]]
        more = len(problems) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more:,} more problems"] if more > 0 else [])))


@dataclass(frozen=True)
class ListedPerson:
    row: int
    given_name: str | None
    family_name: str
    date_of_birth: date
    postcode: str | None
    pnc_id: str | None
    location: str
    time: str | None


def _parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def read_list(path: str | Path, *, name: str | None = None, data: bytes | None = None,
              today: date | None = None) -> list[ListedPerson]:
    """Read and check a screening list; ``ScreenListError`` lists every problem found.

    ``data`` lets a caller (the dashboard's upload) pass the bytes without a file on disk; ``name``
    is then what messages call the file.
    """
    path = Path(path)
    label = name or path.name
    today = today or date.today()
    if path.suffix.lower() != ".csv":
        raise ScreenListError([ListProblem(label, None, None, (
            f"unknown format '{path.suffix or 'no extension'}': a screening list is a CSV file (.csv) "
            "with the columns in docs/screening.md")) ])
    raw = data if data is not None else path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScreenListError([ListProblem(label, None, None,
                                           "not UTF-8 text: save the list as CSV (UTF-8)")]) from None
    if "\x00" in text:
        raise ScreenListError([ListProblem(label, None, None,
                                           "binary content, not a CSV list: save the list as CSV (UTF-8)")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error:
        raise ScreenListError([ListProblem(label, 1, None, (
            f"the header row has a value longer than {MAX_VALUE_CHARACTERS:,} characters (or a quoted value "
            "that is never closed): this does not look like a screening list"))]) from None
    if not header or not any(h.strip() for h in header):
        raise ScreenListError([ListProblem(label, None, None, "the file is empty: expected a header row")])
    columns = [h.strip().lower() for h in header]
    problems: list[ListProblem] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    for column in missing:
        problems.append(ListProblem(label, 1, column, "required column is missing from the header"))
    duplicated = sorted({c for c in columns if columns.count(c) > 1 and c})
    for column in duplicated:
        problems.append(ListProblem(label, 1, column, "column appears more than once in the header"))
    if problems:
        raise ScreenListError(problems)
    index = {c: columns.index(c) for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in columns}
    people: list[ListedPerson] = []
    for line, cells in _records(reader, text, label, columns):
        if not any(c.strip() for c in cells):
            continue
        if len(people) >= MAX_ROWS:
            raise ScreenListError([ListProblem(label, line, None,
                                               f"more than {MAX_ROWS:,} people: split the list")])
        if len(cells) != len(columns):
            problems.append(ListProblem(label, line, None,
                                        f"has {len(cells)} cells where the header has {len(columns)}"))
            continue
        value = {c: cells[i].strip() for c, i in index.items()}
        row_problems = [ListProblem(label, line, c, "a value is required")
                        for c in VALUE_REQUIRED if not value[c]]
        row_problems += [ListProblem(label, line, columns[i] or None,
                                     f"a value is longer than {MAX_VALUE_CHARACTERS:,} characters")
                         for i, cell in enumerate(cells) if len(cell) > MAX_VALUE_CHARACTERS]
        born = None
        if value["date_of_birth"]:
            born = _parse_date(value["date_of_birth"])
            if born is None:
                row_problems.append(ListProblem(label, line, "date_of_birth",
                                                "not a date: use YYYY-MM-DD or DD/MM/YYYY"))
            elif born > today:
                row_problems.append(ListProblem(label, line, "date_of_birth", "is in the future"))
        if value["time"] and not _TIME.match(value["time"]):
            row_problems.append(ListProblem(label, line, "time", "not a time: use HH:MM (24-hour)"))
        if row_problems:
            problems.extend(row_problems)
            continue
        people.append(ListedPerson(
            row=line, given_name=value["given_name"] or None, family_name=value["family_name"],
            date_of_birth=born, postcode=value["postcode"] or None, pnc_id=value.get("pnc_id") or None,
            location=value["location"], time=value["time"] or None))
    if problems:
        raise ScreenListError(problems)
    if not people:
        raise ScreenListError([ListProblem(label, None, None, "the list has a header but nobody on it")])
    return people


def _records(reader, text: str, label: str, columns: list[str]):
    """(row, cells) for each record after the header; a record the csv module cannot read (a value
    past its field size limit) is refused naming its row and, where it can be found, its field."""
    row = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            row += 1
            start = _offset_of_row(text, row)
            field = _overlong_field(text, start, columns)
            raise ScreenListError([ListProblem(label, row, field, (
                f"a value is longer than {MAX_VALUE_CHARACTERS:,} characters (or a quoted value is never "
                "closed): check the export"))]) from None
        row += 1
        yield row, cells


def _offset_of_row(text: str, row: int) -> int:
    """Where row ``row`` starts, a list being one record per line (the header is row 1)."""
    offset = 0
    for _ in range(row - 1):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset


def _overlong_field(text: str, start: int, columns: list[str]) -> str | None:
    """The column of the first value from ``start`` that runs past the cell limit (quotes respected)."""
    field, length, quoted, i = 0, 0, False, start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == ",":
            field, length = field + 1, 0
        elif not quoted and ch in "\r\n":
            return None
        else:
            length += 1
            if length > MAX_VALUE_CHARACTERS:
                return columns[field] if field < len(columns) and columns[field] else None
        i += 1
    return None
