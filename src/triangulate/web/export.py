"""CSV and XLSX downloads of any table, with spreadsheet formula injection neutralised."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse

from triangulate.spreadsheet import neutralise


def csv_response(name: str, rows: list[dict[str, str]]) -> HttpResponse:
    buffer = io.StringIO()
    columns = list(rows[0]) if rows else []
    w = csv.writer(buffer, lineterminator="\n")
    w.writerow([neutralise(c) for c in columns])
    for r in rows:
        w.writerow([neutralise(r[c]) for c in columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def xlsx_response(name: str, rows: list[dict[str, str]]) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = name[:31]
    columns = list(rows[0]) if rows else []
    sheet.append([neutralise(c) for c in columns])
    for r in rows:
        cells = []
        for c in columns:
            text = neutralise(r[c])
            try:
                cells.append(float(text) if text and not text.startswith("'") else text)
            except ValueError:
                cells.append(text)
        sheet.append(cells)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
