"""The data standard: one Table Schema per table, code lists as data files.

This room is the single source of truth for what an extract must look like. Everything here is
data (JSON and CSV beside this module); the code only loads it into small immutable objects so
that the synthesiser, the ingest validator and the documentation all read the same definitions.
Nothing in this room imports from any other room of the package.

Custom Table Schema properties (prefixed ``x-``, which the Table Schema spec allows):

- ``x-zone`` on a field: ``identity`` (identifying, seen only by linkage), ``content``
  (pseudonymous content zone) or ``both`` (needed by linkage and by measures, e.g. sex).
- ``x-codelist`` on a field: the code list whose ``code`` values are the only ones allowed.
- ``x-list-separator`` on a field: the field holds several codes separated by this character.
- ``x-check`` on a field: a named check beyond the pattern (``nhs_number_modulus_11``).
- ``x-not-future`` on a date field: the date may not be after the day of loading.
- ``x-event-date`` on a table: the date that places the record in time (period filters, age).
- ``x-rules`` on a table: cross-field rules (``date_order``, ``required_if``,
  ``required_if_present``, ``references_record``).
- ``x-kind`` on a table: ``agency_record``, ``need`` or ``population``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

STANDARD_VERSION = "1.3"

#: Agency record tables in pathway order (the order used in summaries and documentation).
AGENCY_TABLES: tuple[str, ...] = (
    "mental_health",
    "police_custody",
    "liaison_diversion",
    "court_appearance",
    "prison_custody",
    "probation_supervision",
)
#: Every table of the standard.
ALL_TABLES: tuple[str, ...] = AGENCY_TABLES + ("need", "population")

#: Identity-zone fields that identify a person. They must never appear in an error message,
#: a log line or a rejects file.
IDENTIFYING_FIELDS: frozenset[str] = frozenset(
    {"given_name", "family_name", "date_of_birth", "postcode", "nhs_number", "pnc_id", "identity_encoding"}
)

#: Fields an extract encoded at the agency (``triangulate encode``) carries in place of the identifying
#: ones; a plain extract leaves them out.
ENCODED_FIELDS: tuple[str, ...] = ("age_at_event", "identity_encoding")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    title: str
    description: str
    zone: str
    required: bool = False
    codelist: str | None = None
    list_separator: str | None = None
    constraints: dict[str, Any] = field(default_factory=dict)
    check: str | None = None
    not_future: bool = False

    @property
    def identifying(self) -> bool:
        return self.name in IDENTIFYING_FIELDS


@dataclass(frozen=True)
class TableSchema:
    name: str
    title: str
    description: str
    kind: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    rules: tuple[dict[str, Any], ...]
    event_date: str | None
    raw: dict[str, Any]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def zone_fields(self, zone: str) -> tuple[str, ...]:
        """Fields stored in a zone (``identity`` or ``content``); ``both`` counts in each."""
        return tuple(f.name for f in self.fields if f.zone in (zone, "both"))

    @property
    def allowed_intercepts(self) -> tuple[int, ...]:
        if "intercept" not in self.field_names:
            return ()
        return tuple(self.field("intercept").constraints.get("enum", ()))


def _field(d: dict[str, Any]) -> Field:
    constraints = dict(d.get("constraints", {}))
    required = bool(constraints.pop("required", False))
    return Field(
        name=d["name"],
        type=d["type"],
        title=d.get("title", d["name"]),
        description=d.get("description", ""),
        zone=d.get("x-zone", "content"),
        required=required,
        codelist=d.get("x-codelist"),
        list_separator=d.get("x-list-separator"),
        constraints=constraints,
        check=d.get("x-check"),
        not_future=bool(d.get("x-not-future", False)),
    )


@cache
def schema(name: str) -> TableSchema:
    """The Table Schema of one table of the standard."""
    if name not in ALL_TABLES:
        raise KeyError(f"no table {name!r} in the data standard; tables are {', '.join(ALL_TABLES)}")
    text = resources.files(__package__).joinpath("schemas", f"{name}.json").read_text("utf-8")
    raw = json.loads(text)
    return TableSchema(
        name=raw["name"],
        title=raw["title"],
        description=raw["description"],
        kind=raw["x-kind"],
        fields=tuple(_field(d) for d in raw["fields"]),
        primary_key=tuple(raw.get("primaryKey", ())),
        rules=tuple(raw.get("x-rules", ())),
        event_date=raw.get("x-event-date"),
        raw=raw,
    )


def schemas() -> dict[str, TableSchema]:
    """Every table schema, keyed by table name, in the standard's order."""
    return {name: schema(name) for name in ALL_TABLES}


@dataclass(frozen=True)
class CodeList:
    name: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r["code"] for r in self.rows)

    def label(self, code: str) -> str:
        for r in self.rows:
            if r["code"] == code:
                return r["label"]
        raise KeyError(f"{code!r} is not a code of the {self.name} list")


def codelist_names() -> tuple[str, ...]:
    folder = resources.files(__package__).joinpath("codelists")
    return tuple(sorted(p.name.removesuffix(".csv") for p in folder.iterdir() if p.name.endswith(".csv")))


@cache
def codelist(name: str) -> CodeList:
    """A code list. Every list has ``code`` and ``label`` columns; the ethnicity list is the
    NHS-to-ONS crosswalk, whose code is the NHS ethnic category letter."""
    path = resources.files(__package__).joinpath("codelists", f"{name}.csv")
    if not path.is_file():
        raise KeyError(f"no code list {name!r}; lists are {', '.join(codelist_names())}")
    with path.open("r", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if name == "ethnicity":
        for r in rows:
            r["code"] = r["nhs_ethnic_category_code"]
            r["label"] = r["nhs_description_2001_frame"]
    columns = tuple(rows[0].keys()) if rows else ()
    return CodeList(name=name, columns=columns, rows=tuple(rows))


def nhs_number_is_valid(value: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number (spaces ignored).

    The check digit is 11 minus the remainder of the weighted sum (weights 10..2) divided by 11;
    11 becomes 0 and 10 means the number is invalid.
    """
    digits = value.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


PNC_CHECK_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"


def pnc_check_letter(year: int, serial: int) -> str:
    """Check letter of a PNC ID: (two-digit year x 10^7 + serial) mod 23 indexes the letters
    A-Z without I, O and S, starting from Z."""
    return PNC_CHECK_LETTERS[((year % 100) * 10_000_000 + serial) % 23]


def pnc_id_is_valid(value: str) -> bool:
    try:
        year_part, rest = value.split("/")
        serial, letter = int(rest[:-1]), rest[-1].upper()
        year = int(year_part)
    except ValueError:
        return False
    return pnc_check_letter(year, serial) == letter
