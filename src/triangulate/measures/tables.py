"""Shared finishing steps: derived figures from published counts, where a count may be withheld.

``finish`` functions receive the published table: counts rounded and suppressed counts null. Every
helper here turns a missing count (or an empty denominator) into a missing figure, never a number.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import ibis
import numpy as np
import pyarrow as pa

from triangulate import stats


def column(table: pa.Table, name: str) -> np.ndarray:
    """A column as floats, null as NaN."""
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)


def with_columns(table: pa.Table, columns: dict[str, object]) -> pa.Table:
    for name, values in columns.items():
        array = pa.array(values, from_pandas=True)
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, array)
        else:
            table = table.append_column(name, array)
    return table


def proportion(table: pa.Table, numerator: str, denominator: str, name: str, *, multiplier: float = 100) -> pa.Table:
    """``name`` = numerator / denominator with its Wilson 95% limits; missing where either is missing."""
    x, n = column(table, numerator), column(table, denominator)
    ok = ~np.isnan(x) & ~np.isnan(n) & (n > 0) & (x <= n)
    e = stats.proportion(np.where(ok, x, 0), np.where(ok, n, 1), multiplier=multiplier)
    return with_columns(table, {
        name: np.where(ok, e.value, np.nan),
        "lower_95": np.where(ok, e.lower, np.nan),
        "upper_95": np.where(ok, e.upper, np.nan),
    })


def year_end(year: ibis.Value) -> ibis.Value:
    """The last day (31 March) of a financial year labelled "2023/24"."""
    return ibis.date(year.substr(0, 4).cast("int64") + 1, 3, 31)


def year_start(year: ibis.Value) -> ibis.Value:
    """The first day (1 April) of a financial year labelled "2023/24"."""
    return ibis.date(year.substr(0, 4).cast("int64"), 4, 1)


@cache
def benchmarks() -> dict[str, dict[str, str]]:
    """Published general-population benchmarks by need code (``data/benchmarks.csv``)."""
    path = resources.files(__package__).joinpath("data/benchmarks.csv")
    with path.open("r", encoding="utf-8", newline="") as fh:
        return {row["need_code"]: row for row in csv.DictReader(fh)}


@cache
def expected_prevalence() -> tuple[dict[str, str], ...]:
    """Published prevalence among people in a setting by sex, from interview surveys
    (``data/expected_prevalence.csv``): the rates the report's unmet-need chapter expects."""
    path = resources.files(__package__).joinpath("data/expected_prevalence.csv")
    with path.open("r", encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))
