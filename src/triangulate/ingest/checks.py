"""The checks every row must pass, written as SQL from the Table Schemas of the data standard.

Each check is one boolean SQL expression over a row that is true when the row breaks the rule. A
row is seen as its text (trimmed, empty as NULL) plus values parsed once: dates and whole numbers
(``<field>__date``, ``<field>__int``) and the NHS number as a number (``nhs_number__number``),
NULL when the text is not well formed. The validator evaluates every check over a whole extract in
one DuckDB pass, so the cost does not grow with Python loops over rows. Checks that depend on a
value being well formed (a date order needs two real dates) only fire when it is, so a row gets one
line per rule it actually breaks rather than a cascade.

Rule names are stable (stewards filter rejects files by them); :data:`RULES` lists each with what
to fix, and docs/ingest.md lists the same names (a test keeps the two in step). Explanations are
built from the standard only, never from a row's values.

Normalisation on the way in (:func:`stored_value_sql`): surrounding whitespace trimmed, postcodes
upper case with one space before the inward code, NHS numbers without spaces, PNC IDs upper case,
code lists without spaces around the separator. Formats are checked on the trimmed value as
written, so the standard's patterns apply exactly as published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triangulate.standard import PNC_CHECK_LETTERS, Field, TableSchema, codelist

#: Rule name -> what it means and what to fix, for stewards (docs/ingest.md has the same list).
RULES: dict[str, str] = {
    "required": "The field is required but empty. Fill it in from the source system.",
    "control_character": "The field holds a control character (such as NUL) that text may not contain: "
    "remove it and export again.",
    "not_an_integer": "The field must be a whole number (digits only, no decimal point or spaces).",
    "not_a_date": "The field must be a real calendar date written YYYY-MM-DD (for example 2024-03-31).",
    "not_allowed_value": "The value is not one of the values this table allows for the field.",
    "not_in_code_list": "The value is not a code of the field's code list (codes are case-sensitive).",
    "wrong_format": "The value does not have the format the standard gives for the field.",
    "too_long": "The value is longer than the standard allows for the field.",
    "below_minimum": "The value is below the smallest value allowed.",
    "above_maximum": "The value is above the largest value allowed.",
    "nhs_number_check_digit": "The NHS number fails its modulus 11 check digit: it was probably "
    "mistyped. Correct it from the source, or leave it empty if unknown.",
    "pnc_id_check_letter": "The PNC ID's check letter does not match its year and serial: it was "
    "probably mistyped. Correct it from the Police National Computer, or leave it empty if unknown.",
    "in_the_future": "The date is after the day of loading.",
    "date_order": "The date is before the date it must follow (for example an end before a start).",
    "required_if": "The field is required because of the value of another field.",
    "required_if_present": "The field is required because another field is filled in.",
    "unknown_record": "The need refers to a record that is neither in the store nor loaded earlier "
    "in this run. Ingest the agency extract first (or in the same run) and check the three "
    "reference fields.",
    "duplicate_record": "The same primary key appears on an earlier row of this file; only the first "
    "is loaded. Remove or correct the repeat.",
}

NHS_NUMBER_CHECK = "nhs_number_modulus_11"
NUMBER_SUFFIX = "__number"
PNC_ID_CHECK = "pnc_id_check_letter"
_KNOWN_CONSTRAINTS = {"enum", "pattern", "maxLength", "minimum", "maximum"}


@dataclass(frozen=True)
class Check:
    """One rule on one field of one table. ``broken_sql`` is true when a row breaks it.

    A check with ``store_lookup`` needs the store: its ``broken_sql`` only says that the row can be
    looked up (its reference is well formed), and the row breaks the rule when, in addition, the
    record it refers to is not in the store. That part is decided inside the load transaction.
    """

    field: str
    rule: str
    what_to_fix: str
    broken_sql: str
    store_lookup: bool = False


def col(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def typed_col(field: Field) -> str:
    """The column holding the field's typed value (the text column for text fields)."""
    suffix = {"date": "__date", "integer": "__int"}.get(field.type, "")
    return col(field.name + suffix)


def text_columns_sql(table: TableSchema, present: set[str]) -> list[str]:
    """SELECT items giving every field's text: NULL when empty or when the column is absent.

    The readers have already trimmed surrounding whitespace; lists lose spaces around separators.
    """
    items = []
    for field in table.fields:
        if field.name not in present:
            items.append(f"CAST(NULL AS VARCHAR) AS {col(field.name)}")
            continue
        text = f"NULLIF({col(field.name)}, '')"
        separator = field.list_separator
        if separator:
            text = f"regexp_replace({text}, '\\s*{re.escape(separator)}\\s*', {literal(separator)}, 'g')"
        items.append(f"{text} AS {col(field.name)}")
    return items


def typed_columns_sql(table: TableSchema) -> list[str]:
    """SELECT items parsing dates and whole numbers once, for the checks and for loading.

    A date must be written YYYY-MM-DD and be a real day (2023-02-30 is not); a whole number is
    digits with an optional sign.
    """
    items = []
    for field in table.fields:
        v = col(field.name)
        if field.type == "date":
            items.append(f"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
                         f"THEN TRY_CAST({v} AS DATE) END AS {typed_col(field)}")
        elif field.type == "integer":
            items.append(f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]{{1,18}}') "
                         f"THEN TRY_CAST({v} AS BIGINT) END AS {typed_col(field)}")
        if field.check == NHS_NUMBER_CHECK:
            # Parsed once here: the check digit arithmetic refers to it ten times.
            items.append(f"TRY_CAST(replace({v}, ' ', '') AS BIGINT) AS {col(field.name + NUMBER_SUFFIX)}")
    return items


def stored_value_sql(field: Field) -> str:
    """The value as stored: typed and normalised. Only meaningful for rows that pass every check
    (it must not fail on the others, which are computed alongside but never stored)."""
    v = col(field.name)
    if field.type in ("integer", "date"):
        return typed_col(field)
    if field.name == "postcode":
        # A valid postcode has at most one space and 5 to 7 other characters; the inward code is
        # always the last three.
        compact = f"upper(replace({v}, ' ', ''))"
        return f"left({compact}, length({compact}) - 3) || ' ' || right({compact}, 3)"
    if field.name == "nhs_number":
        return f"replace({v}, ' ', '')"
    if field.name == "pnc_id":
        return f"upper({v})"
    return v


def _in_list_sql(field: Field, values: list) -> str:
    if field.type == "integer":
        return f"{typed_col(field)} IN ({', '.join(str(int(x)) for x in values)})"
    return f"{col(field.name)} IN ({', '.join(literal(x) for x in values)})"


#: C0 control characters but tab, line feed and carriage return, and DEL (an RE2 class).
_CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def field_checks(field: Field) -> list[Check]:
    """The single-field checks of one field, in the order their lines appear in rejects."""
    v, typed, name = col(field.name), typed_col(field), field.name
    c = field.constraints
    unknown = set(c) - _KNOWN_CONSTRAINTS
    if unknown:
        raise ValueError(f"the standard puts constraint(s) {sorted(unknown)} on {name} that the ingest does not check")
    checks: list[Check] = []

    def add(rule: str, what: str, broken: str) -> None:
        checks.append(Check(name, rule, what, broken))

    if field.required:
        add("required", f"{name} is required; fill it in", f"{v} IS NULL")
    if field.type not in ("integer", "date"):
        # NUL and the other control characters are not text: a NUL in a name would reach the identity
        # zone and cut the name short in any program written in C. Tab and line breaks are allowed.
        add("control_character", f"{name} holds a control character (such as NUL); remove it and export again",
            f"regexp_matches({v}, {literal(_CONTROL_CHARACTERS)})")
    if field.type == "integer":
        add("not_an_integer", f"{name} must be a whole number", f"{v} IS NOT NULL AND {typed} IS NULL")
    elif field.type == "date":
        add("not_a_date", f"{name} must be a real date written YYYY-MM-DD", f"{v} IS NOT NULL AND {typed} IS NULL")

    separator = field.list_separator
    if "enum" in c:
        # Where a field has both, the allowed values are the narrower list (e.g. the intercepts a
        # table may use out of the intercept code list), so only they are checked.
        allowed = ", ".join(str(x) for x in c["enum"])
        add("not_allowed_value", f"{name} must be one of: {allowed}", f"NOT ({_in_list_sql(field, c['enum'])})")
    elif field.codelist:
        codes = codelist(field.codelist).codes
        where = f"the {field.codelist} code list (see docs/data-standard.md)"
        if separator:
            array = "[" + ", ".join(literal(x) for x in codes) + "]"
            add("not_in_code_list", f"every item of {name} must be a code of {where}, separated by {separator!r}",
                f"NOT list_has_all({array}, string_split({v}, {literal(separator)}))")
        else:
            add("not_in_code_list", f"{name} must be a code of {where}", f"NOT ({_in_list_sql(field, list(codes))})")

    if "pattern" in c:
        hint = field.description.split(". ")[0].rstrip(".")
        add("wrong_format", f"{name} is not in the expected format ({hint}; pattern {c['pattern']})",
            f"NOT regexp_full_match({v}, {literal(c['pattern'])})")
    if "maxLength" in c:
        add("too_long", f"{name} may have at most {c['maxLength']} characters", f"length({v}) > {int(c['maxLength'])}")
    for bound, rule, op in (("minimum", "below_minimum", "<"), ("maximum", "above_maximum", ">")):
        if bound in c:
            word = {"<": "earlier than" if field.type == "date" else "below",
                    ">": "later than" if field.type == "date" else "above"}[op]
            limit = f"DATE {literal(c[bound])}" if field.type == "date" else literal(c[bound])
            add(rule, f"{name} may not be {word} {c[bound]}", f"{typed} {op} {limit}")

    check = field.check
    if check == NHS_NUMBER_CHECK:
        # Only a number in the right format has a check digit to test; otherwise wrong_format says so.
        if "pattern" in c:
            well_formed = f"regexp_full_match({v}, {literal(c['pattern'])})"
        else:
            well_formed = f"regexp_full_match(replace({v}, ' ', ''), '[0-9]{{10}}')"
        add("nhs_number_check_digit",
            f"{name} fails the modulus 11 check digit; correct it from the source or leave it empty",
            f"{well_formed} AND NOT {nhs_number_valid_sql(col(name + NUMBER_SUFFIX))}")
    elif check == PNC_ID_CHECK:
        add("pnc_id_check_letter",
            f"{name} has the wrong check letter; correct it from the Police National Computer or leave it empty",
            f"regexp_full_match({v}, {literal(c['pattern'])}) AND NOT {pnc_id_valid_sql(v)}")
    elif check:
        raise ValueError(f"the standard names a check {check!r} on {name} that the ingest does not know")
    if field.not_future:
        add("in_the_future", f"{name} is after the day of loading; check the date", f"{typed} > $today")
    return checks


def nhs_number_valid_sql(number: str) -> str:
    """True when a 10-digit NHS number, given as a BIGINT expression, passes the modulus 11 check:
    weights 10..2 on the first nine digits; 11 minus the remainder mod 11 is the check digit (11
    becomes 0, 10 means no valid number)."""
    total = " + ".join(f"(({number} // {10 ** (10 - i)}) % 10) * {11 - i}" for i in range(1, 10))
    check_digit = f"((11 - (({total}) % 11)) % 11)"
    return f"({check_digit} <> 10 AND {check_digit} = {number} % 10)"


def pnc_id_valid_sql(value: str) -> str:
    """True when a well-formed PNC ID has the right check letter: (two-digit year x 10^7 + serial)
    mod 23 indexes ZABCDEFGHJKLMNPQRTUVWXY (see ``triangulate.standard.pnc_check_letter``)."""
    year = f"(TRY_CAST(split_part({value}, '/', 1) AS BIGINT) % 100)"
    rest = f"split_part({value}, '/', 2)"
    serial = f"TRY_CAST(left({rest}, length({rest}) - 1) AS BIGINT)"
    letter = f"upper(right({rest}, 1))"
    return (f"(substr({literal(PNC_CHECK_LETTERS)}, CAST(({year} * 10000000 + {serial}) % 23 AS INTEGER) + 1, 1)"
            f" = {letter})")


def rule_checks(table: TableSchema, by_field: dict[str, list[Check]]) -> list[Check]:
    """The table's cross-field rules (``x-rules``)."""
    checks = []
    for rule in table.rules:
        kind = rule["rule"]
        if kind == "date_order":
            first, second = (table.field(f) for f in rule["fields"])
            blamed = rule.get("field", second.name)
            checks.append(Check(
                blamed, "date_order", f"{second.name} must be on or after {first.name}",
                f"{typed_col(second)} < {typed_col(first)}"))
        elif kind == "required_if":
            target = table.field(rule["field"])
            conditions, described = [], []
            for other, values in rule["when"].items():
                conditions.append(f"{col(other)} IN ({', '.join(literal(x) for x in values)})")
                described.append(f"{other} is {' or '.join(map(str, values))}")
            checks.append(Check(
                target.name, "required_if", f"{target.name} is required when {' and '.join(described)}",
                f"{col(target.name)} IS NULL AND {' AND '.join(conditions)}"))
        elif kind == "required_if_present":
            target, other = table.field(rule["field"]), table.field(rule["when_present"])
            checks.append(Check(
                target.name, "required_if_present", f"{target.name} is required when {other.name} is given",
                f"{col(target.name)} IS NULL AND {col(other.name)} IS NOT NULL"))
        elif kind == "references_record":
            involved = [rule["table_field"], *rule["fields"]]
            well_formed = " AND ".join(
                [f"{col(f)} IS NOT NULL" for f in involved]
                + [f"NOT COALESCE({c.broken_sql}, FALSE)" for f in involved for c in by_field.get(f, [])]
            )
            last = table.field(rule["fields"][-1])
            checks.append(Check(
                last.name, "unknown_record",
                f"no record with this {', '.join(involved)} is in the store or earlier in this run; "
                "ingest the agency extract first (or in the same run) and check these fields",
                well_formed, store_lookup=True))
        else:
            raise ValueError(f"the standard names a rule {kind!r} on {table.name} that the ingest does not know")
    return checks


def table_checks(table: TableSchema, present: set[str]) -> list[Check]:
    """Every check for an extract of ``table`` whose header has the fields ``present``.

    Single-field checks of absent optional fields are left out (they could never fire); cross-field
    rules always apply, so a table that needs a field when another is given still says so.
    """
    by_field = {f.name: field_checks(f) for f in table.fields if f.name in present}
    checks = [c for f in table.fields for c in by_field.get(f.name, [])]
    checks += rule_checks(table, by_field)
    if table.primary_key:
        checks.append(Check(
            "+".join(table.primary_key), "duplicate_record",
            f"the same {', '.join(table.primary_key)} appears on an earlier row of this file; only the "
            "first is loaded", "_primary_key_repeat > 1"))
    unknown = {c.rule for c in checks} - set(RULES)
    if unknown:  # pragma: no cover - a guard for whoever adds a check without documenting it
        raise ValueError(f"checks without an entry in RULES: {sorted(unknown)}")
    return checks
