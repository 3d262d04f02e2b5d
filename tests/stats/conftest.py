"""Shared helpers for the statistics tests: the PHEindicatormethods reference CSVs and tolerances.

The reference lives outside the repository, in ``shared/reference/phe_indicator_methods`` beside
the clone (``/work/shared`` here, the CI checkout's sibling there). If it is missing the tests
fail and say where they looked: a missing reference must never look like a pass.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference" / "phe_indicator_methods"

#: Tolerances from the reference's README.
RELATIVE_TOLERANCE = 1.5e-8
FUNNEL_ABSOLUTE_TOLERANCE = 5e-7


class ReferenceTable:
    """One reference CSV: rows as dicts of text, columns as float arrays (empty → NaN)."""

    def __init__(self, name: str, rows: list[dict[str, str]]):
        self.name = name
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def numbers(self, column: str) -> np.ndarray:
        return np.array([_number(row[column]) for row in self.rows], dtype=float)

    def text(self, column: str) -> list[str | None]:
        return [row[column] if row[column] not in ("", "NA") else None for row in self.rows]

    def where(self, keep) -> ReferenceTable:
        return ReferenceTable(self.name, [row for row in self.rows if keep(row)])


def _number(text: str) -> float:
    return math.nan if text in ("", "NA") else float(text)


def _read(name: str) -> ReferenceTable:
    path = REFERENCE / name
    if not path.is_file():
        pytest.fail(
            f"PHEindicatormethods reference file {name} not found at {path}. The statistics "
            "tests need shared/reference/phe_indicator_methods beside the repository clone.",
            pytrace=False,
        )
    with path.open(newline="", encoding="utf-8") as handle:
        return ReferenceTable(name, list(csv.DictReader(handle)))


@pytest.fixture(scope="session")
def reference():
    """``reference("rate.csv")`` → a :class:`ReferenceTable`."""
    return _read


def _assert_close(actual, expected, *, rtol=RELATIVE_TOLERANCE, atol=0.0, what=""):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=what)


@pytest.fixture(scope="session")
def assert_close():
    """Relative 1.5e-8, NaN where and only where the reference has NA."""
    return _assert_close


@pytest.fixture(scope="session")
def assert_funnel_close():
    """``check(actual, table, column)``: within the rounding of the stored value.

    The README gives an absolute 5e-7 because the funnel-limit files are rounded: the
    proportion-limit file to 6 decimal places, but the ratio and rate funnel files to 10
    significant figures (99945.32721, 369759.5622), where a value above 1,000 is stored less
    precisely than 6 decimals. The tolerance is therefore 5e-7 or half a unit in the tenth
    significant figure of the stored value, whichever is larger.
    """
    def check(actual, table: ReferenceTable, column: str):
        expected = table.numbers(column)
        actual = np.broadcast_to(np.asarray(actual, dtype=float), expected.shape)
        with np.errstate(divide="ignore"):
            magnitude = np.floor(np.log10(np.abs(np.nan_to_num(expected, nan=1.0))))
        tenth_figure = 0.5 * 10.0 ** (np.where(np.isfinite(magnitude), magnitude, 0) - 9)
        tolerance = np.maximum(FUNNEL_ABSOLUTE_TOLERANCE, tenth_figure)
        both_missing = np.isnan(actual) & np.isnan(expected)
        # The factor absorbs the floating-point error of the subtraction itself.
        within = np.abs(actual - expected) <= tolerance * (1 + 1e-9)
        bad = ~(both_missing | within)
        assert not bad.any(), (
            f"{table.name} {column}: {bad.sum()} of {bad.size} values differ, first at row "
            f"{int(np.argmax(bad))}: {actual[bad][0]!r} vs {expected[bad][0]!r}")
    return check
