"""Reading extracts (CSV, Parquet, Excel .xlsx) into Arrow tables of text, or refusing them.

Every reader returns the same thing: an :class:`Extract` whose columns are all text (so that the
validator, not the reader, decides what a bad value is), named as in the header with case and
surrounding spaces ignored, plus ``_row`` (1-based data row number) and ``_line`` (where that row
starts: the CSV line with the header as line 1, or the Excel sheet row; empty for Parquet).

CSV files are parsed by Arrow's multi-threaded reader, with the header read back as the first row
so that it is parsed exactly like the data. When the file has one line per record (the usual
case, checked by counting line ends) data row n is line n + 1. Otherwise, and whenever Arrow
cannot parse the file, one vectorised pass over the bytes (numpy) finds record boundaries and
fields per record outside quotes: that is what names the line of a record cut off or with a wrong
field count, and numbers the lines when quoted values span lines or blank lines are skipped.
Arrow's own parse errors quote the offending row, which may be identifying, so they are never
shown.

Nothing here quotes a value from a file in a message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from triangulate.standard import schemas

from .errors import IngestRefused

STANDARD_FIELD_NAMES = frozenset(f for s in schemas().values() for f in s.field_names)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}
_BOM = b"\xef\xbb\xbf"
_NEWLINE, _CARRIAGE_RETURN, _QUOTE, _COMMA = 10, 13, 34, 44


@dataclass
class Extract:
    """One file read into memory, not yet validated."""

    path: Path
    format: str
    sha256: str
    #: Column names as normalised (lower case, trimmed), in file order.
    columns: list[str]
    #: All columns as text, plus ``_row`` and ``_line``; emptied once the rows are checked.
    data: pa.Table
    #: Data rows in the file.
    rows_in: int
    #: Filled in by table recognition.
    table: str | None = None

    @property
    def file_name(self) -> str:
        return self.path.name


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_format(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def read_extract(path: Path) -> Extract:
    """Read one extract, or raise :class:`IngestRefused` saying what to fix."""
    fmt = extract_format(path)
    if fmt is None:
        raise IngestRefused(
            f"{path.name}: not a CSV, Parquet or Excel .xlsx file (by its extension); save the "
            "extract in one of those formats",
            reason="unsupported_format",
            file=path.name,
        )
    if not path.is_file():
        raise IngestRefused(
            f"{path.name}: no such file, or not a file ({path})", reason="not_a_file", file=path.name
        )
    try:
        if fmt == "csv":
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            columns, table = _read_csv(path.name, data)
        else:
            sha = file_sha256(path)
            columns, table = (_read_parquet if fmt == "parquet" else _read_xlsx)(path)
    except OSError as exc:
        raise IngestRefused(
            f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__}); check the file and "
            "its permissions",
            reason="not_a_file",
            file=path.name,
        ) from None
    return Extract(path=path, format=fmt, sha256=sha, columns=columns, data=table, rows_in=table.num_rows)


def normalise_column_name(name: object) -> str:
    return str(name if name is not None else "").strip().lower()


def _check_header(file_name: str, raw_names: list, where: str) -> list[str]:
    names = [normalise_column_name(n) for n in raw_names]
    if not any(names):
        raise IngestRefused(
            f"{file_name}: the header ({where}) has no column names; the first row must name the "
            "columns",
            reason="empty",
            file=file_name,
        )
    blanks = [i + 1 for i, n in enumerate(names) if not n]
    if blanks:
        raise IngestRefused(
            f"{file_name}: column(s) {', '.join(map(str, blanks))} of the header ({where}) have no "
            "name; name every column or remove the empty ones",
            reason="malformed",
            file=file_name,
        )
    first_position: dict[str, int] = {}
    repeated = []
    for position, name in enumerate(names, start=1):
        if name in first_position:
            repeated.append((first_position[name], position, name))
        first_position.setdefault(name, position)
    if repeated:
        # A name is quoted only if it is a field of the standard: a file without a header has a
        # row of values where the header should be.
        described = [
            name if name in STANDARD_FIELD_NAMES else f"columns {first} and {second}"
            for first, second, name in repeated
        ]
        raise IngestRefused(
            f"{file_name}: the header ({where}) names the same column more than once "
            f"({', '.join(described)}; names are compared ignoring case and surrounding spaces); "
            "keep one of each",
            reason="duplicate_columns",
            file=file_name,
        )
    return names


def _with_positions(
    columns: list[str], arrays: list[pa.Array | pa.ChunkedArray], lines: pa.Array | None, ascii_only: bool = False
) -> pa.Table:
    """The extract as text with surrounding whitespace trimmed, plus ``_row`` and ``_line``.

    Unicode whitespace includes the no-break spaces that spreadsheets leave around values; for a
    column that is all ASCII the much faster ASCII trim gives the same result.
    """
    n = len(arrays[0]) if arrays else 0
    trimmed = [
        pc.ascii_trim_whitespace(a) if ascii_only or pc.all(pc.string_is_ascii(a)).as_py() is not False
        else pc.utf8_trim_whitespace(a)
        for a in arrays
    ]
    rows = pa.array(np.arange(1, n + 1, dtype=np.int64))
    lines = lines if lines is not None else pa.nulls(n, pa.int64())
    return pa.Table.from_arrays([*trimmed, rows, lines], names=[*columns, "_row", "_line"])


# --------------------------------------------------------------------------------------------- CSV


def _read_csv(file_name: str, data: bytes) -> tuple[list[str], pa.Table]:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise IngestRefused(
            f"{file_name}: not UTF-8 text (the first byte that is not UTF-8 is on line {line}); "
            "export the extract again as UTF-8 (in Excel: CSV UTF-8)",
            reason="not_utf8",
            file=file_name,
        ) from None
    if not data or data.isspace():
        raise IngestRefused(
            f"{file_name}: is empty (no header and no rows); check the export", reason="empty",
            file=file_name,
        )
    quotes = data.count(b'"')
    if quotes % 2:
        _csv_layout(file_name, data)  # names the line where the unclosed quoted value opens
    try:
        try:
            table = _arrow_csv(data, quotes)
        except pa.ArrowException:
            # A record longer than Arrow's block (1 MB) cannot be parsed in blocks that size; read
            # once more in blocks as large as the longest record allowed. Rows with an over-long
            # value then reach the checks, which reject them by row and field (rule too_long).
            _refuse_overlong_record(file_name, data)
            table = _arrow_csv(data, quotes, block_size=MAX_RECORD_BYTES)
    except pa.ArrowException:
        # Arrow's message quotes the row it failed on, which may be identifying: find the line
        # ourselves instead.
        _csv_layout(file_name, data)
        raise IngestRefused(
            f"{file_name}: could not be parsed as CSV (check for stray quote characters or lone "
            "carriage returns used as line ends); export it again",
            reason="malformed",
            file=file_name,
        ) from None
    header = [table.column(i)[0].as_py() for i in range(table.num_columns)]
    columns = _check_header(file_name, header, "the header row")
    rows = table.num_rows - 1
    if rows == 0:
        raise IngestRefused(
            f"{file_name}: has a header but no data rows; check the export selected any records",
            reason="empty",
            file=file_name,
        )
    physical_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if physical_lines == rows + 1:
        # One line per record and no blank lines: data row n is line n + 1.
        lines = pa.array(np.arange(2, rows + 2, dtype=np.int64))
    else:
        data_lines = _csv_layout(file_name, data).data_lines
        if data_lines.size != rows:
            raise IngestRefused(
                f"{file_name}: could not be parsed consistently ({rows} rows read where "
                f"{data_lines.size} records were counted); check for stray quote characters or "
                "lone carriage returns used as line ends, and export it again",
                reason="malformed",
                file=file_name,
            )
        lines = pa.array(data_lines)
    data_rows = table.slice(1)
    arrays = [data_rows.column(i) for i in range(len(columns))]
    return columns, _with_positions(columns, arrays, lines, ascii_only=data.isascii())


def _arrow_csv(data: bytes, quotes: int, block_size: int | None = None) -> pa.Table:
    # The header comes back as the first row, so that it is parsed exactly like the data and Arrow
    # never renames a column.
    read = pacsv.ReadOptions(autogenerate_column_names=True, use_threads=True)
    if block_size:
        read.block_size = block_size
    return pacsv.read_csv(
        io.BytesIO(data), read_options=read,
        parse_options=pacsv.ParseOptions(newlines_in_values=quotes > 0),
        convert_options=pacsv.ConvertOptions(
            column_types=_ALL_TEXT, strings_can_be_null=False, quoted_strings_can_be_null=False,
            check_utf8=False,
        ),
    )


#: The longest record (line) a CSV extract may have: far past any real record, small enough to parse.
MAX_RECORD_BYTES = 16 * 1024 * 1024


def _refuse_overlong_record(file_name: str, data: bytes) -> None:
    """Refuse the file, naming the line, if a physical line is longer than ``MAX_RECORD_BYTES``."""
    if len(data) <= MAX_RECORD_BYTES:
        return
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
    bounds = np.concatenate(([-1], ends, [len(data)]))
    long = np.flatnonzero(np.diff(bounds) - 1 > MAX_RECORD_BYTES)
    if long.size:
        raise IngestRefused(
            f"{file_name}: line {int(long[0]) + 1} is longer than {MAX_RECORD_BYTES // (1024 * 1024)} MB, the "
            "longest record an extract may have; a value probably holds a whole document or an unclosed quote. "
            "Correct it and export again",
            reason="malformed",
            file=file_name,
        )


#: Arrow names columns f0, f1, ... when told to; more names than any extract has columns.
_ALL_TEXT = {f"f{i}": pa.string() for i in range(4096)}


@dataclass(frozen=True)
class _CsvLayout:
    data_lines: np.ndarray


def _csv_layout(file_name: str, data: bytes) -> _CsvLayout:
    """Find the records of a CSV file and check that each has as many fields as the header.

    The slow path, taken only when lines and records differ (blank lines, values spanning lines)
    or the file is broken, to name the line at fault.

    A newline or comma inside a quoted value does not end a record or a field; RFC 4180 escapes a
    quote inside a quoted value by doubling it, so a position is inside quotes exactly when an odd
    number of quote characters come before it. That turns the whole check into searches over the
    positions of three byte values.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    all_newlines = np.flatnonzero(buf == _NEWLINE)
    quotes = np.flatnonzero(buf == _QUOTE)
    commas = np.flatnonzero(buf == _COMMA)
    if quotes.size % 2:
        line = int(np.searchsorted(all_newlines, quotes[-1])) + 1
        raise IngestRefused(
            f"{file_name}: ends inside a quoted value that opens on line {line}; the file looks cut "
            "off (or a value has an unmatched quote character). Export it again in full",
            reason="truncated",
            file=file_name,
        )
    newlines = all_newlines
    if quotes.size:
        newlines = all_newlines[np.searchsorted(quotes, all_newlines) % 2 == 0]
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [buf.size]))
    if starts[-1] == buf.size:  # the file ends with a newline: no record after it
        starts, ends = starts[:-1], ends[:-1]
    content_ends = ends.copy()
    has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == _CARRIAGE_RETURN)
    content_ends[has_cr] -= 1
    blank = content_ends == starts
    starts, ends, content_ends = starts[~blank], ends[~blank], content_ends[~blank]
    if starts.size == 0:
        raise IngestRefused(
            f"{file_name}: is empty (no header and no rows); check the export", reason="empty",
            file=file_name,
        )
    fields = np.searchsorted(commas, content_ends) - np.searchsorted(commas, starts) + 1
    lines = np.searchsorted(all_newlines, starts) + 1
    expected = fields[0]
    wrong = np.flatnonzero(fields != expected)
    if wrong.size:
        first = int(wrong[0])
        if first == fields.size - 1:
            raise IngestRefused(
                f"{file_name}: the last record (line {lines[first]}) has {fields[first]} fields but the "
                f"header has {expected}; the file looks cut off. Export it again in full",
                reason="truncated",
                file=file_name,
            )
        more = f" (and {wrong.size - 1} more line(s))" if wrong.size > 1 else ""
        raise IngestRefused(
            f"{file_name}: line {lines[first]} has {fields[first]} fields but the header has "
            f"{expected}{more}; a value probably holds an unquoted comma or line break. Quote such "
            "values and export again",
            reason="malformed",
            file=file_name,
        )
    return _CsvLayout(data_lines=lines[1:].astype(np.int64))


# ----------------------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path) -> tuple[list[str], pa.Table]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError):
        raise IngestRefused(
            f"{path.name}: is not a readable Parquet file (it may be cut off: the footer at the end "
            "of the file is missing or damaged); write it again in full",
            reason="unreadable",
            file=path.name,
        ) from None
    columns = _check_header(path.name, table.column_names, "the Parquet schema")
    if table.num_rows == 0:
        raise IngestRefused(
            f"{path.name}: has columns but no rows; check the export selected any records",
            reason="empty",
            file=path.name,
        )
    arrays = []
    for name, column in zip(columns, table.columns):
        try:
            arrays.append(_as_text(column.combine_chunks()))
        except (pa.ArrowException, ValueError):
            raise IngestRefused(
                f"{path.name}: column {name} has a type that cannot be read as text "
                f"({column.type}); write it as text, a number or a date",
                reason="malformed",
                file=path.name,
            ) from None
    return columns, _with_positions(columns, arrays, None)


def _as_text(array: pa.Array) -> pa.Array:
    """Text as an extract writer meant it: dates as YYYY-MM-DD, whole numbers without a decimal."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array.cast(pa.string()).fill_null("")
    if pa.types.is_timestamp(kind):
        # Dataframe libraries store dates as midnight timestamps; other times stay visible so the
        # validator rejects them as not a date.
        midnight = pc.equal(pc.cast(array, pa.date32()).cast(kind), array)
        if pc.all(pc.fill_null(midnight, True)).as_py():
            array = pc.cast(array, pa.date32())
    elif pa.types.is_floating(kind):
        whole = pc.equal(pc.floor(array), array)
        if pc.all(pc.fill_null(whole, True)).as_py():
            array = pc.cast(array, pa.int64())
    elif pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        return _as_text(array)
    return pc.cast(array, pa.string()).fill_null("")


# ------------------------------------------------------------------------------------------- Excel


def _read_xlsx(path: Path) -> tuple[list[str], pa.Table]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise IngestRefused(
            f"{path.name}: is not a readable Excel .xlsx workbook (it may be cut off or damaged); "
            "save it again from Excel",
            reason="unreadable",
            file=path.name,
        ) from None
    try:
        sheet = workbook.worksheets[0]
        header: list | None = None
        header_row = 0
        rows: list[list[str]] = []
        lines: list[int] = []
        for sheet_row, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if not any(cells):
                continue
            if header is None:
                header, header_row = list(values), sheet_row
                while header and _cell_text(header[-1]) == "":
                    header.pop()
                continue
            extra = [i + 1 for i, c in enumerate(cells[len(header) :], start=len(header)) if c]
            if extra:
                raise IngestRefused(
                    f"{path.name}: sheet row {sheet_row} has a value in column {extra[0]}, which has "
                    "no header; name that column or clear it",
                    reason="malformed",
                    file=path.name,
                )
            rows.append((cells + [""] * len(header))[: len(header)])
            lines.append(sheet_row)
    finally:
        workbook.close()
    if header is None:
        raise IngestRefused(
            f"{path.name}: the first sheet is empty (no header and no rows); put the extract on the "
            "first sheet",
            reason="empty",
            file=path.name,
        )
    columns = _check_header(path.name, header, f"sheet row {header_row}")
    if not rows:
        raise IngestRefused(
            f"{path.name}: has a header but no data rows on the first sheet; check the export "
            "selected any records",
            reason="empty",
            file=path.name,
        )
    arrays = [pa.array(list(col), pa.string()) for col in zip(*rows)]
    return columns, _with_positions(columns, arrays, pa.array(lines, pa.int64()))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
