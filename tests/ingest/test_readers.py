"""Reading extracts (CSV, Parquet, Excel) and refusing whole files that cannot be taken."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from triangulate.ingest import IngestRefused, ingest
from triangulate.ingest.readers import read_extract
from triangulate.ingest.recognise import recognise_table


def refusal(path: Path) -> IngestRefused:
    with pytest.raises(IngestRefused) as refused:
        extract = read_extract(path)
        recognise_table(extract.file_name, extract.columns)
    return refused.value


def test_csv_with_bom_crlf_and_untidy_headers_is_read_with_normalised_names(kit) -> None:
    extract = read_extract(kit.EXTRACTS / "police_custody.csv")
    header, rows = kit.read_rows(kit.EXTRACTS / "police_custody.csv")
    assert extract.columns == header  # upper case and padded in the file
    assert extract.rows_in == len(rows)
    assert extract.data.column("_row").to_pylist() == list(range(1, len(rows) + 1))
    assert extract.data.column("_line").to_pylist() == list(range(2, len(rows) + 2))
    # Values are trimmed and carry no line ending.
    assert extract.data.column("gp_registered").to_pylist()[0] in {"Y", "N"}
    assert recognise_table(extract.file_name, extract.columns) == "police_custody"


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(kit, tmp_path: Path) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "court_appearance.csv")
    path = tmp_path / "court.csv"
    lines = [",".join(header)]
    for i, row in enumerate(rows[:4]):
        values = [f'"{v}"' for v in row]
        if i == 1:
            values[header.index("court_code")] = '"C27\n53"'  # a value spanning two lines
        lines.append(",".join(values))
        if i == 2:
            lines.append("")  # a blank line between records
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    extract = read_extract(path)
    assert extract.rows_in == 4
    assert extract.data.column("_line").to_pylist() == [2, 3, 5, 7]
    assert extract.data.column("court_code").to_pylist()[1] == "C27\n53"


def test_not_utf8_is_refused_naming_the_line_not_the_bytes(kit, tmp_path: Path) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "mental_health.csv")
    rows[2][header.index("given_name")] = "Zoë"
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes(text.encode("latin-1"))
    refused = refusal(path)
    assert refused.reason == "not_utf8"
    assert "line 4" in str(refused) and "latin1.csv" in str(refused)
    assert "Zo" not in str(refused)


def test_a_csv_cut_off_mid_record_is_refused_as_truncated(kit, tmp_path: Path) -> None:
    data = (kit.EXTRACTS / "prison_custody.csv").read_bytes()
    path = tmp_path / "cut.csv"
    cut = data[: len(data) - 60]
    path.write_bytes(cut)
    refused = refusal(path)
    assert refused.reason == "truncated"
    last_line = cut.count(b"\n") + 1
    assert re.search(rf"\bline {last_line}\b", str(refused))


def test_a_csv_ending_inside_a_quoted_value_is_refused_as_truncated(kit, tmp_path: Path) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "prison_custody.csv")
    text = "\n".join(",".join(f'"{v}"' for v in r) for r in [header, *rows[:5]])
    path = tmp_path / "cut.csv"
    path.write_text(text[:-30], encoding="utf-8")
    refused = refusal(path)
    assert refused.reason == "truncated"
    assert "line 6" in str(refused)


def test_a_wrong_field_count_in_the_middle_is_refused_naming_the_line(kit, tmp_path: Path) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "probation_supervision.csv")
    rows[4][header.index("given_name")] = "Tyrone, Jr"  # unquoted comma shifts every value after it
    path = tmp_path / "shifted.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    refused = refusal(path)
    assert refused.reason == "malformed"
    assert "line 6" in str(refused)
    assert "Tyrone" not in str(refused)


def test_a_value_of_megabytes_is_rejected_by_row_and_field_as_too_long_not_as_stray_quotes(
        kit, tmp_path: Path, key: bytes) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "probation_supervision.csv")
    good = [r for n, r in enumerate(rows, start=1) if n not in kit.rejected_rows("probation_supervision.csv")]
    good[3][header.index("family_name")] = "Q" * (3 * 1024 * 1024)  # 3 MB: past Arrow's 1 MB block
    path = kit.write_rows(tmp_path / "long.csv", header, good)
    report = ingest(path, tmp_path / "s.duckdb", key)
    result = report.files[0]
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (len(good), len(good) - 1, 1)
    assert kit.rejects_in(tmp_path / "s.duckdb.rejects") == {("long.csv", 4, "family_name", "too_long")}
    assert "QQQQ" not in (tmp_path / "s.duckdb.rejects").joinpath(result.rejects_file.name).read_text()


def test_a_line_longer_than_the_record_limit_is_refused_naming_the_line(kit, tmp_path: Path) -> None:
    from triangulate.ingest.readers import MAX_RECORD_BYTES

    header, rows = kit.read_rows(kit.EXTRACTS / "probation_supervision.csv")
    rows[1][header.index("family_name")] = "Q" * (MAX_RECORD_BYTES + 10)
    refused = refusal(kit.write_rows(tmp_path / "huge.csv", header, rows))
    assert refused.reason == "malformed" and "line 3 is longer than 16 MB" in str(refused)
    assert "quote characters" not in str(refused).split(";")[0] and "QQQQ" not in str(refused)


def test_a_nul_in_a_name_is_rejected_by_row_and_never_reaches_the_identity_zone(kit, tmp_path: Path,
                                                                               key: bytes) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "probation_supervision.csv")
    good = [r for n, r in enumerate(rows, start=1) if n not in kit.rejected_rows("probation_supervision.csv")]
    good[0][header.index("given_name")] = "Ja\x00ne"
    good[1][header.index("family_name")] = "Smith\x07"
    report = ingest(kit.write_rows(tmp_path / "nul.csv", header, good), tmp_path / "s.duckdb", key)
    assert report.files[0].rows_rejected == 2
    assert kit.rejects_in(tmp_path / "s.duckdb.rejects") == {("nul.csv", 1, "given_name", "control_character"),
                                                             ("nul.csv", 2, "family_name", "control_character")}
    names = [v for row in kit.dump_store(tmp_path / "s.duckdb")["identity.probation_supervision"] for v in row
             if isinstance(v, str)]
    assert names and not any("\x00" in v or "\x07" in v for v in names)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert refusal(path).reason == "empty"


def test_a_header_without_rows_is_refused(kit, tmp_path: Path) -> None:
    header, _ = kit.read_rows(kit.EXTRACTS / "need.csv")
    path = kit.write_rows(tmp_path / "need.csv", header, [])
    refused = refusal(path)
    assert refused.reason == "empty" and "no data rows" in str(refused)


def test_missing_required_columns_are_named(kit, tmp_path: Path) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "court_appearance.csv")
    keep = [i for i, h in enumerate(header) if h not in ("hearing_date", "court_type")]
    path = kit.write_rows(tmp_path / "court.csv", [header[i] for i in keep], [[r[i] for i in keep] for r in rows])
    refused = refusal(path)
    assert refused.reason == "missing_columns"
    assert "court_appearance" in str(refused)
    assert "court_type" in str(refused) and "hearing_date" in str(refused)


def test_unknown_columns_are_named_not_dropped(kit, tmp_path: Path) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "court_appearance.csv")
    header = ["nhs_numbr" if h == "nhs_number" else h for h in header]
    refused = refusal(kit.write_rows(tmp_path / "court.csv", header, rows))
    assert refused.reason == "unknown_columns"
    assert "nhs_numbr" in str(refused)


def test_a_file_without_a_header_row_is_refused_without_quoting_its_first_row(kit, tmp_path: Path) -> None:
    _, rows = kit.read_rows(kit.EXTRACTS / "mental_health.csv")
    path = tmp_path / "no_header.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    refused = refusal(path)
    # Here its empty cells are blank column names; other rows would be an unrecognised table.
    assert refused.reason in {"unrecognised_table", "duplicate_columns", "malformed"}
    for value in rows[0]:
        if len(value) >= 3:
            assert value.lower() not in str(refused).lower()


def test_duplicate_column_names_are_refused(kit, tmp_path: Path) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "need.csv")
    header[1] = " SOURCE_TABLE "
    refused = refusal(kit.write_rows(tmp_path / "need.csv", header, rows))
    assert refused.reason == "duplicate_columns" and "source_table" in str(refused)


def test_a_header_matching_no_table_is_refused_with_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("area_code,colour,shape\nE09000022,crimson,round\n", encoding="utf-8")
    refused = refusal(path)
    assert refused.reason == "unrecognised_table"
    assert "police_custody" in str(refused) or "closest" in str(refused)
    assert "crimson" not in str(refused) and "round" not in str(refused)


def test_other_formats_and_missing_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "extract.xls").write_bytes(b"old excel")
    assert refusal(tmp_path / "extract.xls").reason == "unsupported_format"
    assert refusal(tmp_path / "missing.csv").reason == "not_a_file"


def _as_parquet(kit, table: str, path: Path) -> Path:
    """A typed Parquet version of a fixture: dates as dates, whole numbers as integers."""
    header, rows = kit.read_rows(kit.EXTRACTS / f"{table}.csv")
    bad = kit.rejected_rows(f"{table}.csv")
    rows = [r for i, r in enumerate(rows, start=1) if i not in bad]
    columns = {}
    for i, name in enumerate(header):
        values = [r[i].strip() or None for r in rows]
        if name.endswith("_date") or name in ("date_of_birth",):
            columns[name] = pa.array([dt.date.fromisoformat(v) if v else None for v in values], pa.date32())
        elif name == "intercept":
            columns[name] = pa.array([int(v) for v in values], pa.int64())
        else:
            columns[name] = pa.array(values, pa.string())
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_with_typed_columns_loads_like_the_csv(kit, tmp_path: Path, key: bytes) -> None:
    path = _as_parquet(kit, "prison_custody", tmp_path / "prison.parquet")
    report = ingest(path, tmp_path / "s.duckdb", key)
    (result,) = report.files
    assert result.table == "prison_custody"
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (25, 25, 0)
    dump = kit.dump_store(tmp_path / "s.duckdb")
    assert {r[5] for r in dump["content.prison_custody"]} >= {dt.date(2023, 1, 1)}  # reception_date


def test_a_parquet_file_cut_off_before_its_footer_is_refused(kit, tmp_path: Path) -> None:
    path = _as_parquet(kit, "prison_custody", tmp_path / "prison.parquet")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    refused = refusal(path)
    assert refused.reason == "unreadable" and "prison.parquet" in str(refused)


def _as_xlsx(kit, table: str, path: Path, blank_rows_before: int = 0) -> Path:
    header, rows = kit.read_rows(kit.EXTRACTS / f"{table}.csv")
    book = openpyxl.Workbook()
    sheet = book.active
    for _ in range(blank_rows_before):
        sheet.append([])
    sheet.append(header)
    for row in rows:
        cells = []
        for name, value in zip(header, row):
            if name.endswith("_date") and len(value) == 10 and value[4] == "-":
                try:
                    cells.append(dt.datetime.fromisoformat(value))  # Excel stores dates as date-times
                    continue
                except ValueError:
                    pass
            cells.append(int(value) if name == "intercept" and value.isdigit() else value or None)
        sheet.append(cells)
    book.save(path)
    return path


def test_excel_first_sheet_loads_with_sheet_rows_as_lines(kit, tmp_path: Path, key: bytes) -> None:
    path = _as_xlsx(kit, "court_appearance", tmp_path / "court.xlsx", blank_rows_before=1)
    extract = read_extract(path)
    assert extract.rows_in == 33
    assert extract.data.column("_line").to_pylist()[:2] == [3, 4]  # header on sheet row 2
    report = ingest(path, tmp_path / "s.duckdb", key, rejects_dir=tmp_path / "rejects")
    (result,) = report.files
    assert (result.rows_loaded, result.rows_rejected) == (28, 5)
    expected = {(f.replace(".csv", ".xlsx").replace("court_appearance", "court"), r, fld, rule)
                for f, r, fld, rule in kit.expected_rejects() if f == "court_appearance.csv"}
    assert kit.rejects_in(tmp_path / "rejects") == expected


def test_a_damaged_or_empty_workbook_is_refused(kit, tmp_path: Path) -> None:
    path = _as_xlsx(kit, "court_appearance", tmp_path / "court.xlsx")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert refusal(path).reason == "unreadable"
    empty = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(empty)
    assert refusal(empty).reason == "empty"


def test_spreadsheet_whitespace_around_values_is_trimmed(kit, tmp_path: Path, key: bytes) -> None:
    header, rows = kit.read_rows(kit.EXTRACTS / "prison_custody.csv")
    good = [r for n, r in enumerate(rows, start=1) if n not in kit.rejected_rows("prison_custody.csv")]
    good[0][header.index("custody_type")] = "\u00a0remand\t"  # no-break space and tab, as pasted from Excel
    good[0][header.index("given_name")] = " Zoë\u00a0"
    report = ingest(kit.write_rows(tmp_path / "p.csv", header, good), tmp_path / "s.duckdb", key)
    assert report.files[0].rows_rejected == 0
    dump = kit.dump_store(tmp_path / "s.duckdb")
    assert ("Zoë" in {r[3] for r in dump["identity.prison_custody"]})
