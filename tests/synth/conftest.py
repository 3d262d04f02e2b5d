"""Shared fixtures for the synthetic population tests: small generated data sets and a schema check.

The schema check is written here from the standard's own definitions (columns, required fields,
types, patterns, code lists, check digits, cross-field rules) rather than borrowed from the ingest
room, so the synthesiser is tested against the standard and not against another room's reading
of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from triangulate.standard import ENCODED_FIELDS, codelist, nhs_number_is_valid, pnc_id_is_valid, schema
from triangulate.synth import write_synthetic_extracts

SMALL = 3000
SEED = 11


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open("r", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def read_parquet_as_text(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Parquet rows with every value rendered as the CSV writer would (ISO dates, "" for null)."""
    table = pq.read_table(path)
    rows = []
    for row in table.to_pylist():
        text = {}
        for k, v in row.items():
            if v is None:
                text[k] = ""
            elif isinstance(v, bool):
                text[k] = "true" if v else "false"
            elif isinstance(v, dt.date):
                text[k] = v.isoformat()
            else:
                text[k] = str(v)
        rows.append(text)
    return table.column_names, rows


def _parse_date(text: str) -> dt.date | None:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return None
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def schema_failures(table: str, columns: list[str], rows: list[dict[str, str]], today: dt.date | None = None) -> list[tuple[int, str]]:
    """Every (row index, rule) that breaks the table's schema. Header problems are row -1."""
    today = today or dt.date.today()
    s = schema(table)
    failures: list[tuple[int, str]] = []
    if columns != [f for f in s.field_names if f not in ENCODED_FIELDS]:  # a plain extract's columns
        failures.append((-1, "columns"))
        return failures
    codes = {f.name: set(codelist(f.codelist).codes) for f in s.fields if f.codelist}
    patterns = {f.name: re.compile(f.constraints["pattern"]) for f in s.fields if "pattern" in f.constraints}
    seen_keys: set[tuple[str, ...]] = set()
    for i, row in enumerate(rows):
        for f in (f for f in s.fields if f.name not in ENCODED_FIELDS):
            value = row[f.name]
            if value == "":
                if f.required:
                    failures.append((i, f"required:{f.name}"))
                continue
            if f.type == "integer":
                if not re.fullmatch(r"-?\d+", value):
                    failures.append((i, f"integer:{f.name}"))
                    continue
                number = int(value)
                if "enum" in f.constraints and number not in f.constraints["enum"]:
                    failures.append((i, f"enum:{f.name}"))
                if "minimum" in f.constraints and number < f.constraints["minimum"]:
                    failures.append((i, f"minimum:{f.name}"))
                if "maximum" in f.constraints and number > f.constraints["maximum"]:
                    failures.append((i, f"maximum:{f.name}"))
            elif f.type == "date":
                day = _parse_date(value)
                if day is None:
                    failures.append((i, f"date:{f.name}"))
                    continue
                if "minimum" in f.constraints and day < dt.date.fromisoformat(f.constraints["minimum"]):
                    failures.append((i, f"minimum:{f.name}"))
                if f.not_future and day > today:
                    failures.append((i, f"not_future:{f.name}"))
            else:
                if "enum" in f.constraints and value not in f.constraints["enum"]:
                    failures.append((i, f"enum:{f.name}"))
            if "maxLength" in f.constraints and len(value) > f.constraints["maxLength"]:
                failures.append((i, f"maxLength:{f.name}"))
            if f.name in patterns and not patterns[f.name].fullmatch(value):
                failures.append((i, f"pattern:{f.name}"))
            if f.name in codes:
                separator = f.list_separator
                parts = value.split(separator) if separator else [value]
                if f.type == "integer":
                    parts = [str(int(p)) for p in parts]
                if any(p not in codes[f.name] for p in parts):
                    failures.append((i, f"codelist:{f.name}"))
            if f.check == "nhs_number_modulus_11" and not nhs_number_is_valid(value):
                failures.append((i, f"check:{f.name}"))
        for rule in s.rules:
            if rule["rule"] == "date_order":
                a, b = (_parse_date(row[x]) for x in rule["fields"])
                if a and b and b < a:
                    failures.append((i, f"date_order:{rule['fields'][0]}<={rule['fields'][1]}"))
            elif rule["rule"] == "required_if":
                if all(row[k] in v for k, v in rule["when"].items()) and row[rule["field"]] == "":
                    failures.append((i, f"required_if:{rule['field']}"))
            elif rule["rule"] == "required_if_present":
                if row[rule["when_present"]] != "" and row[rule["field"]] == "":
                    failures.append((i, f"required_if_present:{rule['field']}"))
        if s.primary_key:
            key = tuple(row[k] for k in s.primary_key)
            if key in seen_keys:
                failures.append((i, "primary_key"))
            seen_keys.add(key)
    return failures


def pnc_failures(rows: list[dict[str, str]]) -> list[int]:
    return [i for i, r in enumerate(rows) if r.get("pnc_id") and not pnc_id_is_valid(r["pnc_id"])]


class Generated:
    """One generated data set, read back from disk (CSV) with lookups the tests share."""

    def __init__(self, result) -> None:
        self.result = result
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.columns: dict[str, list[str]] = {}
        for table, path in result.files.items():
            if result.fmt == "csv":
                self.columns[table], self.tables[table] = read_csv(path)
            else:
                self.columns[table], self.tables[table] = read_parquet_as_text(path)
        reader = read_csv if result.fmt == "csv" else read_parquet_as_text
        _, self.truth = reader(result.truth_file)
        _, people = reader(result.people_file)
        self.people = {p["person_id"]: p for p in people}
        _, self.invalid = reader(result.invalid_rows_file)
        self.person_of = {(t["source_table"], t["source_system"], t["source_record_id"]): t["person_id"] for t in self.truth}

    def person(self, table: str, row: dict[str, str]) -> dict[str, str]:
        return self.people[self.person_of[(table, row["source_system"], row["source_record_id"])]]


def generate(tmp_path_factory, name: str, **kwargs) -> Generated:
    args = {"people": SMALL, "seed": SEED, "fmt": "csv", "noise": "default"} | kwargs
    out = tmp_path_factory.mktemp(name)
    return Generated(write_synthetic_extracts(out, **args))


@pytest.fixture(scope="session")
def default_csv(tmp_path_factory) -> Generated:
    return generate(tmp_path_factory, "default_csv")


@pytest.fixture(scope="session")
def default_parquet(tmp_path_factory) -> Generated:
    return generate(tmp_path_factory, "default_parquet", fmt="parquet")


@pytest.fixture(scope="session")
def low_noise(tmp_path_factory) -> Generated:
    return generate(tmp_path_factory, "low", noise="low")


@pytest.fixture(scope="session")
def high_noise(tmp_path_factory) -> Generated:
    return generate(tmp_path_factory, "high", noise="high")


@pytest.fixture(scope="session")
def calibration_run(tmp_path_factory) -> Generated:
    """A larger run for the calibration checks, where sampling error must be small."""
    return generate(tmp_path_factory, "calibration", people=12000, seed=5)


@pytest.fixture(scope="session")
def helpers(tmp_path_factory):
    """The helpers above, for test modules (which cannot import this conftest by name under
    pytest's importlib import mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        SMALL=SMALL,
        SEED=SEED,
        schema_failures=schema_failures,
        pnc_failures=pnc_failures,
        read_csv=read_csv,
        generate=lambda name, **kwargs: generate(tmp_path_factory, name, **kwargs),
    )
