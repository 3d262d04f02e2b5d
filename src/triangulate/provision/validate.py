"""Validation of a service directory: the published ORUK / HSDS JSON Schemas, then Triangulate's rules.

Every problem names the file, the record (a service by its position and id, or a spreadsheet row) and
the field (a path such as ``capacities/0/unit``), and says the rule broken. A problem never quotes a
value from the file: a directory holds contact names and numbers, and the rule says what to fix.

Layers, in order:

1. **Schemas.** Each service against the vendored Open Referral UK 3.0 compiled service schema, each
   of its ``capacities`` against HSDS 3.1's ``service_capacity`` (the ORUK profile has no capacity),
   with the formats the schemas name (uuid, email, uri, date-time) checked.
2. **Taxonomy.** Every attribute of the Triangulate taxonomy names a term that exists
   (:mod:`triangulate.provision.taxonomy`); an intercept outside 0-5 is such an unknown term. Terms
   of other taxonomies are kept and not interpreted.
3. **Directory rules.** Ids unique (two different objects may not share an id; the same organisation
   or location nested in several services is one object and may repeat unchanged); every service has
   an organisation; capacity in a unit of the ``capacity_unit`` list, not negative; languages from
   the ``language`` list; service areas named by a GSS code; ages in order; waiting times a number
   of days.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from typing import TYPE_CHECKING

from triangulate.standard import codelist

from . import taxonomy as tx

if TYPE_CHECKING:  # jsonschema is imported where a directory is checked: its format checker takes 3 s to load
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

#: An ONS GSS area code (E09000022), alone or at the end of a URI.
GSS = re.compile(r"(?:^|/)([EWSN]\d{8})$")
GSS_URI = "http://statistics.data.gov.uk/id/statistical-geography/"

#: How many problems a refusal prints before "and N more".
SHOWN = 20


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (file, record, field) and what (rule); never the value."""

    file: str
    record: str
    field: str
    rule: str

    def __str__(self) -> str:
        field = f", field {self.field}" if self.field else ""
        return f"{self.file}, {self.record}{field}: {self.rule}"


class DirectoryRefused(Exception):
    """The directory was not imported: nothing in the store changed. ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems[:SHOWN]]
        more = f"\n... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        super().__init__(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}, nothing was "
                         "imported:\n" + "\n".join(lines) + more)


@cache
def _schema(name: str) -> dict:
    return json.loads(resources.files(__package__).joinpath("schemas", name).read_text("utf-8"))


@cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator, FormatChecker

    schema = _schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


SERVICE_SCHEMA = "oruk-3.0-service.json"
CAPACITY_SCHEMA = "hsds-3.1-service_capacity.json"
#: The formats the vendored schemas name, checked by jsonschema's own checker on both paths below.
FORMATS = ("uuid", "email", "uri", "date-time")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"


@cache
def _fast(name: str):
    """The schema compiled to Python by fastjsonschema (tens of times quicker than interpreting it),
    with jsonschema's own format checks, so it accepts exactly what the published schema accepts. It
    stops at the first error; a document it refuses is checked again by jsonschema for every error."""
    import fastjsonschema
    from jsonschema import FormatChecker

    checker = FormatChecker()

    def conforms(fmt):
        return lru_cache(maxsize=65536)(lambda value: checker.conforms(value, fmt))

    formats = {f: conforms(f) for f in FORMATS}
    # jsonschema takes a uuid as what uuid.UUID parses with hyphens at 8, 13, 18 and 23: the 36-character
    # hexadecimal form and nothing else, which this pattern says without making a UUID object each time.
    formats["uuid"] = UUID_PATTERN
    return fastjsonschema.compile(_schema(name), formats=formats)


def _conforms(name: str, doc) -> bool:
    import fastjsonschema

    try:
        _fast(name)(doc)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def service_validator() -> Draft202012Validator:
    """The ORUK 3.0 service schema's validator (formats checked)."""
    return _validator(SERVICE_SCHEMA)


def capacity_validator() -> Draft202012Validator:
    """HSDS 3.1's service_capacity validator (formats checked)."""
    return _validator(CAPACITY_SCHEMA)


def _path(parts) -> str:
    return "/".join(str(p) for p in parts)


def _rule(error: ValidationError) -> str:
    """The rule an error broke, in words, without the instance's value."""
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        missing = [p for p in expected if isinstance(error.instance, dict) and p not in error.instance]
        return f"required field {', '.join(missing) or 'missing'} is missing"
    if kind == "format":
        return f"must be a valid {expected}"
    if kind == "enum":
        return f"must be one of: {', '.join(map(str, expected))}"
    if kind == "type":
        return f"must be of type {expected if isinstance(expected, str) else ' or '.join(expected)}"
    return f"breaks the schema's {kind} rule"


def schema_problems(name: str, doc, file: str, record: str, prefix: str = "") -> list[Problem]:
    """Every way ``doc`` breaks the vendored schema ``name`` (none: the compiled check passes it)."""
    if _conforms(name, doc):
        return []
    out = []
    for e in sorted(_validator(name).iter_errors(doc), key=lambda e: (_path(e.absolute_path), e.validator)):
        field = _path([*([prefix] if prefix else []), *e.absolute_path])
        if e.validator == "required" and isinstance(e.instance, dict):
            for p in e.validator_value:
                if p not in e.instance:
                    out.append(Problem(file, record, _path([x for x in (field, p) if x]), "required field is missing"))
            continue
        out.append(Problem(file, record, field, _rule(e)))
    return out


def area_code(area: dict) -> str | None:
    """The GSS code a service area names, from its ``uri`` or its ``name``."""
    for key in ("uri", "name", "service_area"):
        m = GSS.search(str(area.get(key) or "").strip())
        if m:
            return m.group(1)
    return None


def attribute_term(attr: dict) -> tx.Term | None | str:
    """The Triangulate term an attribute names; ``None`` for another taxonomy's term; "unknown" for a
    term that claims to be ours but is not in the taxonomy."""
    tid = attr.get("taxonomy_term_id")
    nested = attr.get("taxonomy_term") if isinstance(attr.get("taxonomy_term"), dict) else {}
    tid = tid or nested.get("id")
    if tid in tx.term_by_id():
        return tx.term_by_id()[tid]
    ours = nested.get("taxonomy") == tx.TAXONOMY_NAME or nested.get("taxonomy_id") == tx.TAXONOMY_ID
    if ours:
        vocab, _, code = str(nested.get("code") or "").partition(":")
        return tx.term_by_code().get((vocab, code), "unknown")
    if not tid and not nested:
        return "unknown"
    return None


def _term_problem(attr: dict) -> str:
    nested = attr.get("taxonomy_term") if isinstance(attr.get("taxonomy_term"), dict) else {}
    vocab = str(nested.get("code") or "").partition(":")[0]
    if vocab == "intercept":
        return "is not an intercept of the Sequential Intercept Model (0 to 5)"
    if vocab in tx.VOCABULARY:
        return f"is not a term of the Triangulate {vocab} vocabulary (see docs/provision.md)"
    return "names no known taxonomy term (give a Triangulate taxonomy_term_id, or a taxonomy_term of another taxonomy)"


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _walk_ids(obj, kind: str, path: str, out: list[tuple[str, str, str, object]]) -> None:
    """Every object with an id under ``obj``: (kind, id, path, object)."""
    if isinstance(obj, dict):
        if "id" in obj and isinstance(obj["id"], str):
            out.append((kind, obj["id"], path, obj))
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                _walk_ids(v, _KIND.get(k, k), _path([x for x in (path, k) if x]), out)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk_ids(v, kind, _path([path, i]), out)


#: Array or object key -> the kind of object it holds (ids are unique within a kind).
_KIND = {"service_at_locations": "service_at_location", "service_areas": "service_area", "languages": "language",
         "schedules": "schedule", "contacts": "contact", "phones": "phone", "attributes": "attribute",
         "capacities": "service_capacity", "addresses": "address", "cost_options": "cost_option",
         "organization_identifiers": "organization_identifier", "taxonomy_term": "taxonomy_term",
         "unit": "unit", "location": "location", "organization": "organization", "accessibility": "accessibility"}

#: Objects that several services may nest, each the same object (compared whole).
_SHARED = {"organization", "location", "taxonomy_term", "unit", "address", "accessibility", "organization_identifier"}


def validate(services: list[dict], file: str, records: list[str]) -> list[Problem]:
    """Every problem of a parsed directory (an empty list when it may be imported).

    ``records`` names each service's place in the file (``service 3 (id ...)``, ``row 5``).
    """
    problems: list[Problem] = []
    languages = set(codelist("language").codes)
    units = set(codelist("capacity_unit").codes)
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for service, record in zip(services, records):
        if not isinstance(service, dict):
            problems.append(Problem(file, record, "", "is not a JSON object"))
            continue
        problems += schema_problems(SERVICE_SCHEMA, service, file, record)
        caps = service.get("capacities", [])
        if not isinstance(caps, list):
            problems.append(Problem(file, record, "capacities", "must be of type array"))
            caps = []
        for i, cap in enumerate(caps):
            where = f"capacities/{i}"
            problems += schema_problems(CAPACITY_SCHEMA, cap, file, record, where)
            if not isinstance(cap, dict):
                continue
            unit = cap.get("unit") if isinstance(cap.get("unit"), dict) else None
            if unit is not None and unit.get("identifier") not in units:
                problems.append(Problem(file, record, f"{where}/unit/identifier",
                                        f"must be a capacity unit of the Triangulate list: {', '.join(sorted(units))}"))
            for key in ("available", "maximum"):
                n = cap.get(key)
                if isinstance(n, (int, float)) and not isinstance(n, bool) and n < 0:
                    problems.append(Problem(file, record, f"{where}/{key}", "must not be negative"))
        if not service.get("organization") and not service.get("organization_id"):
            problems.append(Problem(file, record, "organization", "every service needs its organisation "
                                    "(organization or organization_id)"))
        for i, lang in enumerate(service.get("languages") or []):
            if isinstance(lang, dict) and lang.get("code") not in languages:
                problems.append(Problem(file, record, f"languages/{i}/code",
                                        "must be a code of the language list (ISO 639-1, docs/data-standard.md)"))
        for i, area in enumerate(service.get("service_areas") or []):
            if isinstance(area, dict) and area_code(area) is None:
                problems.append(Problem(file, record, f"service_areas/{i}",
                                        f"names no area: give the GSS code (E09000022) in name or uri ({GSS_URI}...)"))
        lo, hi = _number(service.get("minimum_age")), _number(service.get("maximum_age"))
        if lo is not None and hi is not None and lo > hi:
            problems.append(Problem(file, record, "minimum_age", "must not be above maximum_age"))
        for i, attr in enumerate(service.get("attributes") or []):
            if not isinstance(attr, dict):
                continue
            t = attribute_term(attr)
            if t == "unknown":
                problems.append(Problem(file, record, f"attributes/{i}/taxonomy_term", _term_problem(attr)))
            elif isinstance(t, tx.Term) and tx.VOCABULARY[t.vocabulary].valued:
                n = _number(attr.get("value"))
                if n is None or n < 0:
                    problems.append(Problem(file, record, f"attributes/{i}/value",
                                            "a waiting time needs its value: a number of days, not negative"))
        found: list[tuple[str, str, str, object]] = []
        _walk_ids(service, "service", "", found)
        for kind, oid, path, obj in found:
            key = (kind, oid)
            if key in seen:
                first_record, first = seen[key]
                if kind not in _SHARED or obj != first:  # a shared object must be the same object
                    also = "" if first_record == record else f" (also used in {first_record})"
                    problems.append(Problem(file, record, f"{path}/id" if path else "id",
                                            f"duplicate {kind} id{also}: each {kind} needs its own id"))
                continue
            seen[key] = (record, obj)
    return problems
