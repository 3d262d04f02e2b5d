"""Which table of the data standard an extract holds, judged from its header alone.

Agencies name their files however they like, so the header decides. A header matches a table when
it has every required field and no column the table does not have (optional fields may be left
out). When no table matches, the closest one (most columns in common, then fewest differences) is
named with what is missing or extra, so the steward knows what to rename. Unknown columns are never
dropped silently: a misspelt ``nhs_numbr`` would otherwise lose the NHS number without anyone
noticing, and an unexpected column may hold identifying data that has no place in the store.

A file without a header row has a row of values where its header should be, so column names are
only quoted back when the header is clearly a header (most of its names are fields of the table).
Otherwise a message counts the unknown columns instead of naming them.
"""

from __future__ import annotations

from dataclasses import dataclass

from triangulate.standard import ALL_TABLES, schema

from .errors import IngestRefused


@dataclass(frozen=True)
class HeaderMatch:
    table: str
    common: int
    missing_required: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return not self.missing_required and not self.unknown

    @property
    def distance(self) -> int:
        return len(self.missing_required) + len(self.unknown)


def match_header(columns: list[str], table: str) -> HeaderMatch:
    fields = schema(table).field_names
    present = set(columns)
    return HeaderMatch(
        table=table,
        common=len(present & set(fields)),
        missing_required=tuple(f for f in schema(table).required_fields if f not in present),
        unknown=tuple(c for c in columns if c not in fields),
    )


def recognise_table(file_name: str, columns: list[str]) -> str:
    """The table whose fields the header matches, or :class:`IngestRefused` saying what differs."""
    matches = [match_header(columns, t) for t in ALL_TABLES]
    exact = [m for m in matches if m.exact]
    if len(exact) == 1:
        return exact[0].table
    if len(exact) > 1:
        raise IngestRefused(
            f"{file_name}: the columns fit more than one table ({', '.join(m.table for m in exact)}); "
            "add the columns of the table the extract is from",
            reason="ambiguous_table",
            file=file_name,
        )
    ranked = sorted(matches, key=lambda m: (-m.common, m.distance))
    best, runner_up = ranked[0], ranked[1]
    differences = _differences(best, name_unknown=False)
    if best.common == 0:
        raise IngestRefused(
            f"{file_name}: no column is a field of any table of the data standard; check the file "
            "is an extract with a header row naming the fields of the data standard",
            reason="unrecognised_table",
            file=file_name,
        )
    if (best.common, best.distance) == (runner_up.common, runner_up.distance):
        raise IngestRefused(
            f"{file_name}: cannot tell whether this is a {best.table} or a {runner_up.table} "
            f"extract. Closest: {best.table} ({differences}) and {runner_up.table} "
            f"({_differences(runner_up, name_unknown=False)})",
            reason="ambiguous_table",
            file=file_name,
        )
    clear = best.common > len(columns) / 2
    if not clear:
        raise IngestRefused(
            f"{file_name}: not recognisable as any table of the data standard; the closest is "
            f"{best.table} ({differences})",
            reason="unrecognised_table",
            file=file_name,
        )
    if best.missing_required:
        raise IngestRefused(
            f"{file_name}: looks like a {best.table} extract but lacks required column(s) "
            f"{', '.join(best.missing_required)}"
            + (f" and has unknown column(s) {', '.join(best.unknown)}" if best.unknown else "")
            + "; add the missing columns (rename them if they are there under another name)",
            reason="missing_columns",
            file=file_name,
        )
    raise IngestRefused(
        f"{file_name}: looks like a {best.table} extract but has column(s) that table does not have: "
        f"{', '.join(best.unknown)}; rename them to fields of {best.table} or remove them",
        reason="unknown_columns",
        file=file_name,
    )


def _differences(match: HeaderMatch, name_unknown: bool) -> str:
    parts = []
    if match.missing_required:
        parts.append(f"missing required column(s) {', '.join(match.missing_required)}")
    if match.unknown:
        if name_unknown:
            parts.append(f"unknown column(s) {', '.join(match.unknown)}")
        else:
            parts.append(f"{len(match.unknown)} column(s) that are not fields of {match.table}")
    return "; ".join(parts) or "no differences"
