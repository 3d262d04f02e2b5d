"""Reading and writing a service directory: HSDS / ORUK JSON, the HSDS tabular CSV package, and the
one-sheet spreadsheet template a commissioner fills in.

Every reader gives the same thing, a :class:`Parsed` directory: fully nested HSDS services (each with
its organisation, areas, languages, capacities, locations and attributes) and, for each, where it
came from in the file, so validation can name the record. Nothing here touches the store.

- **JSON**: a list of services, one service, ``{"services": [...]}`` or a page of the ORUK API
  (``{"contents": [...]}``). Services may name their organisation by ``organization_id`` when the file
  also holds ``organizations``.
- **Tabular package** (a folder): ``services.csv`` and the other HSDS tables beside it
  (``organizations.csv``, ``service_areas.csv``, ``languages.csv``, ``attributes.csv``,
  ``taxonomy_terms.csv``, ``service_capacity.csv``, ``units.csv``, ``locations.csv``,
  ``service_at_locations.csv``, ``addresses.csv``, ``contacts.csv``, ``phones.csv``,
  ``schedules.csv``), joined by their ``*_id`` columns.
- **Template** (``.xlsx``, or ``.csv`` with the template's header): one row per service, the
  columns of :data:`TEMPLATE_COLUMNS`; codes or their labels in the coded columns; ids left blank are
  derived from the organisation and service names, so filling the same sheet again changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from functools import cache
from datetime import UTC, date, datetime
from pathlib import Path

from triangulate.standard import codelist

from . import taxonomy as tx
from .validate import GSS, GSS_URI, Problem, area_code, attribute_term

#: The template's sheet, the one the import reads.
SHEET = "Services"


@dataclass
class Parsed:
    """A directory read from a file, before validation: nested services and where each came from."""

    file: str
    services: list[dict] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- JSON

def read_json(path: Path) -> Parsed:
    out = Parsed(path.name)
    try:
        data = json.loads(path.read_text("utf-8"))
    except UnicodeDecodeError:
        out.problems.append(Problem(path.name, "the file", "", "is not UTF-8 text"))
        return out
    except json.JSONDecodeError as exc:
        out.problems.append(Problem(path.name, "the file", "", f"is not valid JSON (line {exc.lineno}, column {exc.colno})"))
        return out
    organizations: dict[str, dict] = {}
    if isinstance(data, dict) and ("contents" in data or "services" in data):
        for org in data.get("organizations") or []:
            if isinstance(org, dict) and isinstance(org.get("id"), str):
                organizations[org["id"]] = org
        services = data.get("contents", data.get("services"))
    elif isinstance(data, dict):
        services = [data]
    else:
        services = data
    if not isinstance(services, list):
        out.problems.append(Problem(path.name, "the file", "", "holds no list of services"))
        return out
    for i, s in enumerate(services, start=1):
        if isinstance(s, dict) and "organization" not in s and s.get("organization_id") in organizations:
            s = {**s, "organization": organizations[s["organization_id"]]}
        out.services.append(s)
        sid = s.get("id") if isinstance(s, dict) and isinstance(s.get("id"), str) else "none"
        out.records.append(f"service {i} (id {sid})")
    return out


def write_json(services: list[dict], path: Path) -> None:
    """The directory as a JSON array of fully nested ORUK services."""
    path.write_text(json.dumps(services, indent=2, ensure_ascii=False, sort_keys=True) + "\n", "utf-8")


# ---------------------------------------------------------------------------------- tabular package

#: HSDS table -> (file names accepted, first is written), numeric columns.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "organization": (("organizations.csv",), ()),
    "service": (("services.csv",), ("minimum_age", "maximum_age")),
    "service_area": (("service_areas.csv",), ()),
    "language": (("languages.csv",), ()),
    "taxonomy_term": (("taxonomy_terms.csv",), ()),
    "attribute": (("attributes.csv", "attribute.csv"), ()),
    "unit": (("units.csv",), ()),
    "service_capacity": (("service_capacity.csv", "service_capacities.csv"), ("available", "maximum")),
    "location": (("locations.csv",), ("latitude", "longitude")),
    "service_at_location": (("service_at_locations.csv", "service_at_location.csv"), ()),
    "address": (("addresses.csv", "address.csv"), ()),
    "contact": (("contacts.csv",), ()),
    "phone": (("phones.csv",), ()),
    "schedule": (("schedules.csv", "schedule.csv"), ("interval",)),
}

#: Column order of the written package (HSDS field names).
COLUMNS: dict[str, tuple[str, ...]] = {
    "organization": ("id", "name", "description", "email", "website", "uri"),
    "service": ("id", "organization_id", "name", "description", "url", "email", "status", "minimum_age",
                "maximum_age", "assured_date", "alert", "last_modified"),
    "service_area": ("id", "service_id", "name", "uri", "description"),
    "language": ("id", "service_id", "name", "code", "note"),
    "taxonomy_term": ("id", "code", "name", "term", "description", "parent_id", "taxonomy", "taxonomy_id", "term_uri"),
    "attribute": ("id", "link_id", "link_type", "link_entity", "taxonomy_term_id", "value"),
    "unit": ("id", "name", "scheme", "identifier", "uri"),
    "service_capacity": ("id", "service_id", "unit_id", "available", "maximum", "description", "updated"),
    "location": ("id", "name", "description", "latitude", "longitude", "external_identifier",
                 "external_identifier_type"),
    "service_at_location": ("id", "service_id", "location_id"),
    "address": ("id", "location_id", "attention", "address_1", "city", "region", "state_province",
                "postal_code", "country", "address_type"),
    "contact": ("id", "service_id", "name", "title", "email"),
    "phone": ("id", "service_id", "contact_id", "number", "description"),
    "schedule": ("id", "service_id", "description", "freq", "byday", "opens_at", "closes_at", "valid_from",
                 "valid_to"),
}


def _read_table(folder: Path, table: str, problems: list[Problem]) -> list[tuple[int, dict]]:
    names, numeric = TABLES[table]
    for name in names:
        p = folder / name
        if p.is_file():
            break
    else:
        return []
    try:
        text = p.read_text("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(p.name, "the file", "", "is not UTF-8 text"))
        return []
    rows = []
    for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        if None in row:
            problems.append(Problem(p.name, f"row {n}", "", "has more fields than the header"))
            continue
        clean = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip() != ""}
        for k in numeric:
            if k in clean:
                try:
                    clean[k] = float(clean[k]) if "." in clean[k] else int(clean[k])
                except ValueError:
                    problems.append(Problem(p.name, f"row {n}", k, "must be a number"))
                    del clean[k]
        rows.append((n, clean))
    return rows


def _joined(rows: list[dict], key: str, index: dict[str, dict], name: str) -> list[dict]:
    """Each row with the object its ``key`` names nested under ``name`` (where the package has it)."""
    return [dict(r, **{name: index[r[key]]}) if r.get(key) in index else dict(r) for r in rows]


def read_package(folder: Path) -> Parsed:
    """An HSDS tabular package: ``services.csv`` and its related tables, nested per service."""
    out = Parsed(folder.name)
    if not (folder / "services.csv").is_file():
        out.problems.append(Problem(folder.name, "the folder", "", "has no services.csv (an HSDS tabular package needs one)"))
        return out
    t = {name: _read_table(folder, name, out.problems) for name in TABLES}

    def by(table: str, key: str) -> dict[str, list[dict]]:
        index: dict[str, list[dict]] = {}
        for _, r in t[table]:
            if r.get(key):
                index.setdefault(r[key], []).append(r)
        return index

    orgs = {r["id"]: r for _, r in t["organization"] if r.get("id")}
    terms = {r["id"]: r for _, r in t["taxonomy_term"] if r.get("id")}
    units = {r["id"]: r for _, r in t["unit"] if r.get("id")}
    locations = {r["id"]: r for _, r in t["location"] if r.get("id")}
    areas, langs, caps = by("service_area", "service_id"), by("language", "service_id"), by("service_capacity", "service_id")
    sals, attrs, addrs = by("service_at_location", "service_id"), by("attribute", "link_id"), by("address", "location_id")
    contacts, phones, schedules = by("contact", "service_id"), by("phone", "service_id"), by("schedule", "service_id")

    def strip_ids(rows: list[dict], *keys: str) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in keys} for r in rows]

    for n, row in t["service"]:
        s = dict(row)
        sid = s.get("id", "")
        if s.get("organization_id") in orgs:
            s["organization"] = orgs[s["organization_id"]]
        if sid in areas:
            s["service_areas"] = areas[sid]
        if sid in langs:
            s["languages"] = langs[sid]
        if sid in caps:
            s["capacities"] = _joined(caps[sid], "unit_id", units, "unit")
        if sid in attrs:
            s["attributes"] = _joined(attrs[sid], "taxonomy_term_id", terms, "taxonomy_term")
        if sid in sals:
            s["service_at_locations"] = []
            for sal in sals[sid]:
                sal = dict(sal)
                loc = locations.get(sal.get("location_id", ""))
                if loc:
                    loc = dict(loc)
                    if loc["id"] in addrs:
                        loc["addresses"] = addrs[loc["id"]]
                    sal["location"] = loc
                s["service_at_locations"].append(sal)
        if sid in contacts:
            s["contacts"] = contacts[sid]
        if sid in phones:
            s["phones"] = phones[sid]
        if sid in schedules:
            s["schedules"] = schedules[sid]
        out.services.append(s)
        out.records.append(f"services.csv row {n} (id {sid or 'none'})")
    return out


def write_package(services: list[dict], folder: Path) -> dict[str, int]:
    """The directory as an HSDS tabular package (one CSV per table, HSDS field names); rows per file."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict[str, dict]] = {name: {} for name in COLUMNS}

    def put(table: str, obj: dict, **extra) -> None:
        rec = {**{k: v for k, v in obj.items() if not isinstance(v, (dict, list))}, **extra}
        rows[table].setdefault(rec["id"], rec)

    for s in services:
        sid = s["id"]
        org = s.get("organization")
        if org:
            put("organization", org)
        put("service", s, organization_id=s.get("organization_id") or (org or {}).get("id"))
        for a in s.get("service_areas") or []:
            put("service_area", a, service_id=sid)
        for lang in s.get("languages") or []:
            put("language", lang, service_id=sid)
        for c in s.get("capacities") or []:
            if c.get("unit"):
                put("unit", c["unit"])
            put("service_capacity", c, service_id=sid, unit_id=(c.get("unit") or {}).get("id", c.get("unit_id")))
        for a in s.get("attributes") or []:
            if a.get("taxonomy_term"):
                put("taxonomy_term", a["taxonomy_term"])
            put("attribute", a, link_id=sid, link_entity="service",
                taxonomy_term_id=a.get("taxonomy_term_id") or (a.get("taxonomy_term") or {}).get("id"))
        for sal in s.get("service_at_locations") or []:
            loc = sal.get("location")
            if loc:
                put("location", loc)
                for addr in loc.get("addresses") or []:
                    put("address", addr, location_id=loc["id"])
            put("service_at_location", sal, service_id=sid, location_id=sal.get("location_id") or (loc or {}).get("id"))
        for c in s.get("contacts") or []:
            put("contact", c, service_id=sid)
        for p in s.get("phones") or []:
            put("phone", p, service_id=sid)
        for sch in s.get("schedules") or []:
            put("schedule", sch, service_id=sid)
    counts = {}
    for table, recs in rows.items():
        name = TABLES[table][0][0]
        extra = sorted({k for r in recs.values() for k in r} - set(COLUMNS[table]))
        cols = list(COLUMNS[table]) + extra
        with (folder / name).open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            for r in sorted(recs.values(), key=lambda r: r["id"]):
                w.writerow({k: _cell(r.get(k)) for k in cols})
        counts[name] = len(recs)
    return counts


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ----------------------------------------------------------------------------------------- template

@dataclass(frozen=True)
class TemplateColumn:
    name: str
    help: str
    required: bool = False
    #: A vocabulary of the taxonomy, or a code list, whose codes (or labels) the cell holds.
    codes: str | None = None
    many: bool = False
    flag: bool = False


_FEATURES = tuple(tx.codes("feature"))

TEMPLATE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("service_id", "Leave blank for a new service (an id is made from the organisation and service names); keep it when you edit an exported sheet."),
    TemplateColumn("service_name", "The service's public name.", required=True),
    TemplateColumn("organisation_name", "The organisation that provides it.", required=True),
    TemplateColumn("organisation_id", "Leave blank unless your directory already has an id for the organisation."),
    TemplateColumn("description", "What the service does, for whom."),
    TemplateColumn("url", "The service's web page (https://...)."),
    TemplateColumn("email", "A contact email address for referrals."),
    TemplateColumn("phone", "A contact telephone number for referrals."),
    TemplateColumn("status", "active, inactive, defunct or temporarily closed (blank = active)."),
    TemplateColumn("intercepts", "Sequential Intercept Model intercepts, 0 to 5, separated by ';'. Blank: a community service outside the pathway.", codes="intercept", many=True),
    TemplateColumn("needs", "Needs the service serves, separated by ';'.", codes="need", many=True),
    TemplateColumn("areas", "GSS codes of the areas it serves (E09000022), separated by ';'. Blank: every area.", many=True),
    TemplateColumn("sexes_served", "Blank for everyone; else 1 (male) or 2 (female).", codes="sex", many=True),
    TemplateColumn("minimum_age", "Youngest age accepted (years)."),
    TemplateColumn("maximum_age", "Oldest age accepted (years)."),
    TemplateColumn("ethnic_groups_served", "Blank for everyone; else the groups it is for (asian, black, mixed, white, other).", codes="ethnic_group", many=True),
    TemplateColumn("languages", "Languages staff deliver the service in (ISO 639-1 codes, e.g. en;pl;pa), separated by ';'.", codes="language", many=True),
    TemplateColumn("offences_excluded", "Offence categories the service does not accept, separated by ';'.", codes="offence_excluded", many=True),
    *(TemplateColumn(f, f"Y or N: {tx.term('feature', f).description}", codes=None, flag=True) for f in _FEATURES),
    TemplateColumn("capacity", "How much the service can take (a number, in the unit beside it)."),
    TemplateColumn("capacity_unit", "people_per_year, places, beds or sessions_per_week.", codes="capacity_unit"),
    TemplateColumn("capacity_maximum", "The most it could take, if more than today's capacity."),
    TemplateColumn("capacity_updated", "The date the capacity was last checked (YYYY-MM-DD)."),
    TemplateColumn("stated_wait_days", "The wait from referral to first contact that the service states (days)."),
    TemplateColumn("location_name", "Where the service is delivered (building or site)."),
    TemplateColumn("address", "First line of the address."),
    TemplateColumn("town", "Town or city."),
    TemplateColumn("postcode", "Postcode of the site (a place, not a person)."),
)
TEMPLATE_NAMES = tuple(c.name for c in TEMPLATE_COLUMNS)


@cache
def _vocab_lookup(codes: str) -> dict[str, str]:
    """Lower-cased code or label -> code, for a vocabulary of the taxonomy or a code list."""
    if codes in tx.VOCABULARY:
        items = [(t.code, t.label) for t in tx.terms() if t.vocabulary == codes]
    else:
        items = [(r["code"], r["label"]) for r in codelist(codes).rows]
    out = {}
    for code, label in items:
        out[code.lower()] = code
        out[label.lower()] = code
    return out


def _split(cell: str) -> list[str]:
    return [p.strip() for p in cell.replace(",", ";").split(";") if p.strip()]


def _num(cell: str) -> float | int | None:
    try:
        f = float(cell)
    except ValueError:
        return None
    return int(f) if f.is_integer() else f


def _row_service(row: dict[str, str], file: str, record: str, problems: list[Problem], now: str) -> dict | None:
    def bad(col: str, rule: str) -> None:
        problems.append(Problem(file, record, col, rule))

    for c in TEMPLATE_COLUMNS:
        if c.required and not row.get(c.name):
            bad(c.name, "is required")
    if not row.get("service_name") or not row.get("organisation_name"):
        return None
    org_name, name = row["organisation_name"], row["service_name"]
    org_id = row.get("organisation_id") or tx.derived_id("organization", org_name.lower())
    sid = row.get("service_id") or tx.derived_id("service", org_name.lower(), name.lower())
    s: dict = {"id": sid, "name": name, "status": (row.get("status") or "active").lower(),
               "description": row.get("description", ""), "organization_id": org_id,
               "organization": {"id": org_id, "name": org_name, "description": org_name}}
    for k in ("url", "email"):
        if row.get(k):
            s[k] = row[k]
    if row.get("phone"):
        s["phones"] = [{"id": tx.derived_id(sid, "phone", row["phone"]), "number": row["phone"]}]
    for k in ("minimum_age", "maximum_age"):
        if row.get(k):
            n = _num(row[k])
            if n is None:
                bad(k, "must be a number of years")
            else:
                s[k] = n
    attributes: list[dict] = []
    coded = {"intercepts": "intercept", "needs": "need", "sexes_served": "sex",
             "ethnic_groups_served": "ethnic_group", "offences_excluded": "offence_excluded"}
    for col, vocab in coded.items():
        lookup = _vocab_lookup(vocab)
        for part in _split(row.get(col, "")):
            code = lookup.get(part.lower())
            if code is None:
                rule = ("is not an intercept of the Sequential Intercept Model (0 to 5)" if vocab == "intercept"
                        else f"holds a value that is not a {vocab} code (the Codes sheet lists them)")
                bad(col, rule)
                continue
            attributes.append(tx.attribute(sid, tx.term(vocab, code)))
    for f in _FEATURES:
        v = (row.get(f) or "").strip().upper()
        if v in ("Y", "YES"):
            attributes.append(tx.attribute(sid, tx.term("feature", f)))
        elif v not in ("", "N", "NO"):
            bad(f, "must be Y or N")
    if row.get("stated_wait_days"):
        n = _num(row["stated_wait_days"])
        if n is None or n < 0:
            bad("stated_wait_days", "must be a number of days, not negative")
        else:
            attributes.append(tx.attribute(sid, tx.term("waiting_time", "stated_wait_days"), n))
    if attributes:
        s["attributes"] = attributes
    areas = []
    for part in _split(row.get("areas", "")):
        m = GSS.search(part.upper())
        if not m:
            bad("areas", "holds a value that is not a GSS area code (E09000022)")
            continue
        areas.append({"id": tx.derived_id(sid, "area", m.group(1)), "name": m.group(1), "uri": GSS_URI + m.group(1)})
    if areas:
        s["service_areas"] = areas
    lookup = _vocab_lookup("language")
    langs = []
    for part in _split(row.get("languages", "")):
        code = lookup.get(part.lower())
        if code is None:
            bad("languages", "holds a value that is not a code of the language list (ISO 639-1)")
            continue
        langs.append({"id": tx.derived_id(sid, "language", code), "code": code,
                      "name": codelist("language").label(code)})
    if langs:
        s["languages"] = langs
    if row.get("capacity") or row.get("capacity_unit"):
        n = _num(row.get("capacity", ""))
        unit = _vocab_lookup("capacity_unit").get((row.get("capacity_unit") or "").lower())
        if n is None:
            bad("capacity", "must be a number (with its unit in capacity_unit)")
        if unit is None:
            bad("capacity_unit", "a capacity needs its unit: people_per_year, places, beds or sessions_per_week")
        if n is not None and unit is not None:
            updated = row.get("capacity_updated") or now[:10]
            cap = {"id": tx.derived_id(sid, "capacity", unit), "available": n,
                   "unit": {"id": tx.derived_id("unit", unit), "name": codelist("capacity_unit").label(unit),
                            "scheme": tx.TAXONOMY_NAME, "identifier": unit},
                   "updated": f"{updated}T00:00:00Z" if len(updated) == 10 else updated}
            if not row.get("capacity_updated"):
                cap["_updated_default"] = True  # the import keeps the stored date if nothing changed
            if row.get("capacity_maximum"):
                m = _num(row["capacity_maximum"])
                if m is None:
                    bad("capacity_maximum", "must be a number")
                else:
                    cap["maximum"] = m
            s["capacities"] = [cap]
    if row.get("location_name") or row.get("address") or row.get("postcode"):
        loc_name = row.get("location_name") or name
        loc_id = tx.derived_id("location", loc_name.lower(), (row.get("postcode") or "").upper())
        loc: dict = {"id": loc_id, "name": loc_name}
        if row.get("address") and row.get("town") and row.get("postcode"):
            loc["addresses"] = [{"id": tx.derived_id(loc_id, "address"), "address_1": row["address"],
                                 "city": row["town"], "state_province": "England", "postal_code": row["postcode"].upper(),
                                 "country": "GB", "address_type": "physical"}]
        elif row.get("address") or row.get("postcode"):
            bad("address", "an address needs all three of address, town and postcode")
        s["service_at_locations"] = [{"id": tx.derived_id(sid, "at", loc_id), "location_id": loc_id, "location": loc}]
    return s


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_template(path: Path) -> Parsed:
    """The spreadsheet template (``.xlsx``, sheet ``Services``) or the same columns as a ``.csv``."""
    out = Parsed(path.name)
    now = datetime.now(UTC).isoformat()
    try:
        if path.suffix.lower() == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
            if SHEET not in wb.sheetnames:
                out.problems.append(Problem(path.name, "the workbook", "", f"has no sheet named {SHEET} (fill in the template's {SHEET} sheet)"))
                return out
            it = wb[SHEET].iter_rows(values_only=True)
            header = [_cell_text(h) for h in next(it, ())]
            body = [[_cell_text(v) for v in r] for r in it]
            wb.close()
        else:
            reader = csv.reader(io.StringIO(path.read_text("utf-8-sig")))
            header = [h.strip() for h in next(reader, [])]
            body = [[v.strip() for v in r] for r in reader]
    except UnicodeDecodeError:
        out.problems.append(Problem(path.name, "the file", "", "is not UTF-8 text"))
        return out
    except Exception:  # a damaged workbook: openpyxl raises many kinds
        out.problems.append(Problem(path.name, "the file", "", "cannot be opened as a spreadsheet (damaged, or not .xlsx)"))
        return out
    unknown = [h for h in header if h and h not in TEMPLATE_NAMES]
    missing = [c.name for c in TEMPLATE_COLUMNS if c.required and c.name not in header]
    if unknown or missing:
        if unknown:
            out.problems.append(Problem(path.name, "row 1", ", ".join(unknown), "is not a column of the template (write a fresh one with `triangulate provision template`)"))
        if missing:
            out.problems.append(Problem(path.name, "row 1", ", ".join(missing), "required column is missing"))
        return out
    for n, values in enumerate(body, start=2):
        if not any(values):
            continue
        row = {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h}
        record = f"row {n}"
        s = _row_service(row, path.name, record, out.problems, now)
        if s is not None:
            out.services.append(s)
            out.records.append(record)
    return out


def service_row(s: dict) -> dict[str, str]:
    """One service as a template row (for a sheet prefilled from the directory, to edit and re-import)."""
    by_vocab: dict[str, list[tx.Term]] = {}
    wait = ""
    for a in s.get("attributes") or []:
        t = attribute_term(a)
        if isinstance(t, tx.Term):
            by_vocab.setdefault(t.vocabulary, []).append(t)
            if t.code == "stated_wait_days":
                wait = str(a.get("value", ""))
    cap = (s.get("capacities") or [{}])[0]
    loc = ((s.get("service_at_locations") or [{}])[0]).get("location") or {}
    addr = (loc.get("addresses") or [{}])[0]
    org = s.get("organization") or {}
    row = {
        "service_id": s["id"], "service_name": s.get("name", ""), "organisation_name": org.get("name", ""),
        "organisation_id": org.get("id", s.get("organization_id", "")), "description": s.get("description", ""),
        "url": s.get("url", ""), "email": s.get("email", ""),
        "phone": ((s.get("phones") or [{}])[0]).get("number", ""), "status": s.get("status", ""),
        "intercepts": ";".join(t.code for t in by_vocab.get("intercept", [])),
        "needs": ";".join(t.code for t in by_vocab.get("need", [])),
        "areas": ";".join(c for c in (area_code(a) for a in s.get("service_areas") or []) if c),
        "sexes_served": ";".join(t.code for t in by_vocab.get("sex", [])),
        "minimum_age": _cell(s.get("minimum_age")), "maximum_age": _cell(s.get("maximum_age")),
        "ethnic_groups_served": ";".join(t.code for t in by_vocab.get("ethnic_group", [])),
        "languages": ";".join(str(lang.get("code", "")) for lang in s.get("languages") or []),
        "offences_excluded": ";".join(t.code for t in by_vocab.get("offence_excluded", [])),
        **{f: ("Y" if any(t.code == f for t in by_vocab.get("feature", [])) else "N") for f in _FEATURES},
        "capacity": _cell(cap.get("available")), "capacity_unit": (cap.get("unit") or {}).get("identifier", ""),
        "capacity_maximum": _cell(cap.get("maximum")), "capacity_updated": str(cap.get("updated", ""))[:10],
        "stated_wait_days": wait, "location_name": loc.get("name", ""), "address": addr.get("address_1", ""),
        "town": addr.get("city", ""), "postcode": addr.get("postal_code", ""),
    }
    return row


def write_template(path: Path, services: list[dict] | None = None) -> None:
    """The spreadsheet a commissioner fills in: a ``Services`` sheet (one row per service, headers with
    their help as comments, drop-down lists where a column takes codes) and a ``Codes`` sheet listing
    every code. Prefilled with ``services`` when given (edit, then import again)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    bold = Font(bold=True)
    required = PatternFill("solid", fgColor="FFF2CC")
    for i, c in enumerate(TEMPLATE_COLUMNS, start=1):
        cell = ws.cell(row=1, column=i, value=c.name)
        cell.font = bold
        cell.comment = Comment(("Required. " if c.required else "") + c.help, "Triangulate")
        if c.required:
            cell.fill = required
        ws.column_dimensions[get_column_letter(i)].width = max(14, min(40, len(c.name) + 4))
    ws.freeze_panes = "C2"
    for r, s in enumerate(services or [], start=2):
        row = service_row(s)
        for i, c in enumerate(TEMPLATE_COLUMNS, start=1):
            ws.cell(row=r, column=i, value=row.get(c.name, ""))
    last = max(500, len(services or []) + 200)
    yn = DataValidation(type="list", formula1='"Y,N"', allow_blank=True)
    status = DataValidation(type="list", formula1='"active,inactive,defunct,temporarily closed"', allow_blank=True)
    unit = DataValidation(type="list", formula1='"' + ",".join(codelist("capacity_unit").codes) + '"', allow_blank=True)
    for dv in (yn, status, unit):
        ws.add_data_validation(dv)
    for i, c in enumerate(TEMPLATE_COLUMNS, start=1):
        col = get_column_letter(i)
        target = yn if c.flag else status if c.name == "status" else unit if c.name == "capacity_unit" else None
        if target is not None:
            target.add(f"{col}2:{col}{last}")
    codes = wb.create_sheet("Codes")
    codes.append(["column", "code", "label", "description"])
    for cell in codes[1]:
        cell.font = bold
    for c in TEMPLATE_COLUMNS:
        if c.codes in tx.VOCABULARY:
            for t in tx.terms():
                if t.vocabulary == c.codes:
                    codes.append([c.name, t.code, t.label, t.description])
        elif c.codes:
            for r in codelist(c.codes).rows:
                codes.append([c.name, r["code"], r["label"], r.get("description", "")])
        elif c.flag:
            codes.append([c.name, "Y / N", tx.term("feature", c.name).label, tx.term("feature", c.name).description])
    for col, width in zip("ABCD", (22, 22, 40, 80)):
        codes.column_dimensions[col].width = width
    wb.save(path)


_CHILDREN = ("service_areas", "languages", "capacities", "contacts", "phones", "schedules", "service_at_locations",
             "funding", "cost_options")


def _tidy(obj):
    """Empty values dropped and lists of objects in id order, all the way down."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if v is None or v == "" or v == []:
                continue
            out[k] = _tidy(v) if isinstance(v, (dict, list)) else v
        return out
    if isinstance(obj, list):
        items = [_tidy(v) if isinstance(v, (dict, list)) else v for v in obj]
        if all(isinstance(v, dict) and isinstance(v.get("id"), str) for v in items):
            items.sort(key=lambda v: v["id"])
        return items
    return obj


def normalise(service):
    """One form for a service however it was read: nested objects without their parent's id (the
    nesting says it; the tabular package writes the ids back), empty fields left out and lists in id
    order, so the same directory read from JSON, the package or the template compares equal."""
    if not isinstance(service, dict) or not isinstance(service.get("id"), str):
        return service
    s = dict(service)
    if isinstance(s.get("organization"), dict) and s["organization"].get("id"):
        s.setdefault("organization_id", s["organization"]["id"])

    def without(obj, *keys):
        return {k: v for k, v in obj.items() if k not in keys} if isinstance(obj, dict) else obj

    for key in _CHILDREN:
        if isinstance(s.get(key), list):
            s[key] = [without(c, "service_id") for c in s[key]]
    if isinstance(s.get("capacities"), list):
        s["capacities"] = [without(c, "unit_id") if isinstance(c, dict) and isinstance(c.get("unit"), dict) else c
                           for c in s["capacities"]]
    sals = []
    for sal in s.get("service_at_locations") or []:
        loc = sal.get("location") if isinstance(sal, dict) else None
        if isinstance(loc, dict) and loc.get("id"):
            sal = without(sal, "location_id")
            if isinstance(loc.get("addresses"), list):
                loc = dict(loc, addresses=[without(a, "location_id") for a in loc["addresses"]])
            sal["location"] = loc
        sals.append(sal)
    if sals:
        s["service_at_locations"] = sals
    if isinstance(s.get("attributes"), list):
        attrs = []
        for a in s["attributes"]:
            if isinstance(a, dict):
                a = without(a, "link_id", "link_entity")
                if isinstance(a.get("taxonomy_term"), dict) and a["taxonomy_term"].get("id"):
                    a.setdefault("taxonomy_term_id", a["taxonomy_term"]["id"])
            attrs.append(a)
        s["attributes"] = attrs
    return _tidy(s)


def read_path(path: Path) -> Parsed:
    """Read a directory in whichever format the path is (folder: tabular package; .json; .xlsx/.csv:
    template), every service in the form :func:`normalise` gives."""
    parsed = _read_path(path)
    parsed.services = [normalise(s) for s in parsed.services]
    return parsed


def _read_path(path: Path) -> Parsed:
    if path.is_dir():
        return read_package(path)
    if not path.is_file():
        return Parsed(path.name, problems=[Problem(path.name, "the path", "", "does not exist or is not a file or folder")])
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_json(path)
    if suffix in (".xlsx", ".csv"):
        return read_template(path)
    return Parsed(path.name, problems=[Problem(path.name, "the file", "", "is not a directory file: give HSDS JSON (.json), "
                                                 "an HSDS tabular package (a folder with services.csv) or the template (.xlsx or .csv)")])
