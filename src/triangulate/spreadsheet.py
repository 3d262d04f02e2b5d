"""Cells no spreadsheet runs as a formula: the one neutraliser, for every CSV or XLSX we write
(publication exports, dashboard downloads, screening results, the clerical review sample)."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """A cell as text that no spreadsheet runs as a formula: a quote before a leading = + - @, tab or
    carriage return; negative numbers stay numbers."""
    value = "" if value is None else str(value)
    if value.startswith(FORMULA_STARTS):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value
