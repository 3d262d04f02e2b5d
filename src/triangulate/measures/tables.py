"""Shared finishing steps: turning Ibis count tables into published-ready arrow tables."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa


def column(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)


def with_columns(table: pa.Table, columns: dict[str, object]) -> pa.Table:
    for name, values in columns.items():
        array = pa.array(values, from_pandas=True)
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, array)
        else:
            table = table.append_column(name, array)
    return table


def sort(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])


@cache
def benchmarks() -> dict[str, dict[str, str]]:
    """Published general-population benchmarks by need code (``data/benchmarks.csv``)."""
    path = resources.files(__package__).joinpath("data/benchmarks.csv")
    with path.open("r", encoding="utf-8", newline="") as fh:
        return {row["need_code"]: row for row in csv.DictReader(fh)}
