"""Disclosure control applied to a whole table, as the rest of the project hands it over: Arrow.

A table arrives in long form, one row per cell: dimension columns (ethnic group, sex, intercept),
count columns, and figures derived from the counts (rates, proportions, confidence limits,
relative rate indices). Margin rows are ordinary rows whose dimension value is the total label
(``"Total"``): ``(Asian, Total)`` is a row total, ``(Total, Female)`` a column total, ``(Total,
Total)`` the grand total. They must hold the sums of the *unrounded* counts, so each total is
rounded after summing, as NHS England's rule requires; :func:`add_totals` appends them.

Each count column, within each group of the ``by`` columns, is controlled as its own table:
primary suppression, then secondary suppression until no suppressed count can be recovered from
its margins (see ``margins.py`` for the reader we defend against and what is guaranteed), then
rounding. Figures derived from a suppressed count are withheld with it.

A derived figure computed from the exact count, published beside its denominator, gives the
exact count back to anyone who multiplies, however the count itself was rounded. So by default
a count with any derived figure published beside it is treated as exact when checking margins
(``dependents_reveal_counts=True``); that can cost extra suppression in rounded tables. Turn it
off only when the derived figures cannot be inverted (no published denominator, coarse
precision). Derived figures themselves are passed through as given: compute them from the
unrounded counts, as NHS England does, so that rounding does not distort them.

The result keeps the input's rows, columns and order. Suppressed counts and withheld figures are
null in ``PublishedTable.table``; ``for_display()`` shows the rule's symbol instead. ``status``
says for every controlled cell why it looks as it does, so a report can explain a blank; publish
the symbol, not the primary/secondary reason (see the guarantee in ``margins.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from triangulate.disclosure.margins import Line, protect_counts
from triangulate.disclosure.rules import NHS_ENGLAND, DisclosureRule

__all__ = ["CellStatus", "PublishedTable", "add_totals", "apply_disclosure_control"]

#: Keys of the schema metadata written on every published table.
RULE_METADATA_KEYS = (
    "disclosure_rule",
    "disclosure_rule_description",
    "disclosure_suppressed_symbol",
    "disclosure_rule_source",
)


class CellStatus(StrEnum):
    """Why a cell of a published table looks as it does."""

    #: Shown exactly as computed (a rule without rounding, or an uncontrolled derived figure).
    PUBLISHED = "published"
    #: Shown rounded to the rule's base.
    ROUNDED = "rounded"
    #: Suppressed because the count is small.
    SUPPRESSED_PRIMARY = "suppressed_primary"
    #: Suppressed so that a small count cannot be worked out from the margins.
    SUPPRESSED_SECONDARY = "suppressed_secondary"
    #: A rate, proportion, interval or ratio withheld because its count is suppressed.
    WITHHELD = "withheld"


@dataclass(frozen=True)
class PublishedTable:
    """A table made safe to publish, with the reasons behind each controlled cell.

    ``table``: the input's rows and columns, controlled counts rounded (int64), suppressed
    counts and withheld figures null; its schema metadata names the rule. ``status``: the
    ``by`` and dimension columns, then one column per controlled count or derived figure
    (``controlled_columns``) holding a :class:`CellStatus` value. ``readable_ranges`` (only
    when asked for, else None): the ``by`` and dimension columns, then ``<count>_lowest`` and
    ``<count>_highest`` per count column: for a suppressed count, the range a reader can deduce
    from the published table (highest null: no upper limit); null for published counts. The
    ranges use only what is published, so they are as safe as the table itself.
    """

    table: pa.Table
    status: pa.Table
    rule: DisclosureRule
    controlled_columns: tuple[str, ...]
    readable_ranges: pa.Table | None = None

    def for_display(self) -> pa.Table:
        """The published table with controlled columns as text and the rule's symbol where hidden."""
        columns = {}
        for name in self.table.column_names:
            if name not in self.controlled_columns:
                columns[name] = self.table.column(name)
                continue
            statuses = self.status.column(name).to_pylist()
            text = pc.cast(self.table.column(name), pa.string()).to_pylist()
            symbol = self.rule.suppressed_symbol
            columns[name] = pa.array(
                [symbol if status in _HIDDEN else value for status, value in zip(statuses, text)], pa.string()
            )
        return pa.table(columns, metadata=self.table.schema.metadata)


_HIDDEN = frozenset({CellStatus.SUPPRESSED_PRIMARY, CellStatus.SUPPRESSED_SECONDARY, CellStatus.WITHHELD})


def apply_disclosure_control(
    table: pa.Table,
    counts: str | Sequence[str],
    dimensions: str | Sequence[str] = (),
    *,
    rule: DisclosureRule = NHS_ENGLAND,
    dependents: Mapping[str, str | Sequence[str]] | None = None,
    by: str | Sequence[str] = (),
    total_label: Any = "Total",
    dependents_reveal_counts: bool = True,
    readable_ranges: bool = False,
) -> PublishedTable:
    """Suppress, protect and round the count columns of a long-form table.

    ``counts``: the count columns to control. ``dimensions``: up to two columns whose combination
    names a cell; rows labelled ``total_label`` in them are the margins. ``dependents``: for each
    count column, the columns derived from it (withheld where it is suppressed; a column listed
    under two counts is withheld where either is). ``by``: columns splitting the table into
    independent tables (one per area, say). ``dependents_reveal_counts``: treat a count with a
    derived figure shown beside it as exact to the reader. ``readable_ranges``: also work out
    what a reader can deduce about each suppressed count (slow on thousands of cells).

    Raises ``ValueError`` for negative, missing or fractional counts, repeated cells, incomplete
    grids and totals that are not the sums of their cells; messages name columns and
    categories, never counts.
    """
    counts, dimensions, by = _names(counts), _names(dimensions), _names(by)
    derived = {count: _names(columns) for count, columns in (dependents or {}).items()}
    _check_columns(table, counts, dimensions, by, derived)

    cells = _cells(table, dimensions, by, total_label)
    derived_values = {d: table.column(d).to_pylist() for columns in derived.values() for d in columns}
    controlled = {}
    for count in counts:
        beside = derived.get(count, ())
        exact = [
            dependents_reveal_counts and any(not _is_missing(derived_values[d][r]) for d in beside)
            for r in range(table.num_rows)
        ]
        controlled[count] = _control_count_column(table, count, cells, rule, exact, readable_ranges)

    withheld: dict[str, list[bool]] = {}
    for count, columns in derived.items():
        hidden = [status in _HIDDEN for status in controlled[count].status]
        for d in columns:
            withheld[d] = [a or b for a, b in zip(withheld.get(d, [False] * table.num_rows), hidden)]

    published = table
    for count, column in controlled.items():
        field = published.schema.field(count).with_type(pa.int64())
        shown = pa.array(column.shown, pa.int64())
        published = published.set_column(published.column_names.index(count), field, shown)
    for d, hidden in withheld.items():
        original = table.column(d).combine_chunks()
        blanked = pc.if_else(pa.array(hidden, pa.bool_()), pa.scalar(None, original.type), original)
        published = published.set_column(published.column_names.index(d), published.schema.field(d), blanked)
    published = published.replace_schema_metadata({**(table.schema.metadata or {}), **_rule_metadata(rule)})

    keys = table.select(list(by) + list(dimensions))
    status_table = keys
    for count, column in controlled.items():
        statuses = [str(s) for s in column.status]
        status_table = status_table.append_column(count, pa.array(statuses, pa.string()))
    for d, hidden in withheld.items():
        statuses = [str(CellStatus.WITHHELD if h else CellStatus.PUBLISHED) for h in hidden]
        status_table = status_table.append_column(d, pa.array(statuses, pa.string()))
    names = tuple(counts) + tuple(withheld)
    if not readable_ranges:
        return PublishedTable(published, status_table, rule, names)
    ranges_table = keys
    for count, column in controlled.items():
        ranges_table = ranges_table.append_column(f"{count}_lowest", pa.array(column.lowest, pa.int64()))
        ranges_table = ranges_table.append_column(f"{count}_highest", pa.array(column.highest, pa.int64()))
    return PublishedTable(published, status_table, rule, names, ranges_table)


@dataclass(frozen=True)
class _Cells:
    """Where each row sits: its dimension values, its ``by`` group and its group's margin lines."""

    keys: list[tuple]
    groups: dict[tuple, list[int]]
    lines: dict[tuple, list[Line]]
    dimensions: tuple[str, ...]


def _cells(table: pa.Table, dimensions: tuple[str, ...], by: tuple[str, ...], total_label: Any) -> _Cells:
    if dimensions:
        keys = list(zip(*(table.column(d).to_pylist() for d in dimensions)))
    else:
        keys = [()] * table.num_rows
    groups = _group_rows(table, by)
    lines = {
        group: _margin_lines([keys[r] for r in rows], total_label, dimensions) for group, rows in groups.items()
    }
    return _Cells(keys, groups, lines, dimensions)


@dataclass(frozen=True)
class _ControlledColumn:
    shown: list[int | None]
    status: list[CellStatus]
    lowest: list[int | None]
    highest: list[int | None]


def _control_count_column(
    table: pa.Table, count: str, cells: _Cells, rule: DisclosureRule, exact: list[bool], readable_ranges: bool
) -> _ControlledColumn:
    values = _count_values(table, count)
    rows = table.num_rows
    column = _ControlledColumn([None] * rows, [CellStatus.PUBLISHED] * rows, [None] * rows, [None] * rows)
    for group, members in cells.groups.items():
        group_values = [values[r] for r in members]
        lines = cells.lines[group]
        _check_totals(count, group_values, lines, [cells.keys[r] for r in members], cells.dimensions)
        protection = protect_counts(group_values, lines, rule, [exact[r] for r in members], readable_ranges)
        for local, r in enumerate(members):
            if local in protection.primary:
                column.status[r] = CellStatus.SUPPRESSED_PRIMARY
            elif local in protection.secondary:
                column.status[r] = CellStatus.SUPPRESSED_SECONDARY
            else:
                column.shown[r] = rule.shown_count(group_values[local])
                column.status[r] = CellStatus.ROUNDED if rule.rounds else CellStatus.PUBLISHED
            if local in protection.readable_ranges:
                column.lowest[r], column.highest[r] = protection.readable_ranges[local]
    return column


def add_totals(
    table: pa.Table,
    counts: str | Sequence[str],
    dimensions: str | Sequence[str],
    *,
    by: str | Sequence[str] = (),
    total_label: str = "Total",
    row_totals: bool = True,
    column_totals: bool = True,
) -> pa.Table:
    """Append margin rows holding the sums of the unrounded counts.

    One dimension: a total row. Two dimensions ``(first, second)``: a row total ``(a, Total)``
    for each category of the first dimension (if ``row_totals``), a column total ``(Total, b)``
    for each category of the second (if ``column_totals``), and the grand total when both. Other
    columns of the new rows are null: derived figures for totals are the caller's to compute.
    """
    counts, dimensions, by = _names(counts), _names(dimensions), _names(by)
    if len(dimensions) not in (1, 2):
        raise ValueError("totals can be added over one or two dimensions")
    _check_columns(table, counts, dimensions, by, {})
    for d in dimensions:
        kind = table.schema.field(d).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise ValueError(f"dimension {d!r} must be text to hold the total label")
        if total_label in table.column(d).to_pylist():
            raise ValueError(f"dimension {d!r} already has {total_label!r} rows")
    values = {count: table.column(count).to_pylist() for count in counts}
    keys = list(zip(*(table.column(d).to_pylist() for d in dimensions)))
    new_rows: list[dict[str, Any]] = []
    for group, rows in _group_rows(table, by).items():
        margins: dict[tuple, dict[str, Any]] = {}

        def add(key: tuple, r: int) -> None:
            sums = margins.setdefault(key, {count: 0 for count in counts})
            for count in counts:
                sums[count] += values[count][r]

        for r in rows:
            if len(dimensions) == 1:
                add((total_label,), r)
                continue
            first, second = keys[r]
            if row_totals:
                add((first, total_label), r)
            if column_totals:
                add((total_label, second), r)
            if row_totals and column_totals:
                add((total_label, total_label), r)
        # Row totals first, then column totals, then the grand total, as tables are read.
        order = sorted(margins, key=lambda key: (key.count(total_label), key[0] == total_label))
        for key in order:
            row = dict(zip(by, group))
            row.update(zip(dimensions, key))
            row.update(margins[key])
            new_rows.append(row)
    additions = pa.Table.from_pylist(new_rows, schema=table.schema)
    return pa.concat_tables([table, additions])


def _names(columns: str | Sequence[str]) -> tuple[str, ...]:
    return (columns,) if isinstance(columns, str) else tuple(columns)


def _check_columns(
    table: pa.Table,
    counts: Sequence[str],
    dimensions: Sequence[str],
    by: Sequence[str],
    derived: Mapping[str, Sequence[str]],
) -> None:
    present = set(table.column_names)
    named = list(counts) + list(dimensions) + list(by) + [d for columns in derived.values() for d in columns]
    missing = sorted({name for name in named if name not in present})
    if missing:
        raise ValueError(f"columns not found in the table: {missing}")
    uncontrolled = sorted(c for c in derived if c not in counts)
    if uncontrolled:
        raise ValueError(f"dependents are given for columns that are not controlled counts: {uncontrolled}")
    if not counts:
        raise ValueError("name at least one count column to control")
    roles = list(counts) + list(dimensions) + list(by)
    derived_columns = {d for columns in derived.values() for d in columns}
    if len(set(roles)) != len(roles) or derived_columns & set(roles):
        raise ValueError(
            "a column can be a count, a dimension, a by column or a derived figure, not two of these"
        )


def _count_values(table: pa.Table, column: str) -> list[int]:
    kind = table.schema.field(column).type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise ValueError(f"count column {column!r} must hold numbers")
    values = table.column(column).to_pylist()
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        raise ValueError(f"count column {column!r} has missing values; a count cannot be unknown here")
    if any(v < 0 for v in values):
        raise ValueError(f"count column {column!r} has negative values")
    if any(isinstance(v, float) and not v.is_integer() for v in values):
        raise ValueError(f"count column {column!r} has fractional values; control counts, not estimates")
    return [int(v) for v in values]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _group_rows(table: pa.Table, by: Sequence[str]) -> dict[tuple, list[int]]:
    keys = list(zip(*(table.column(b).to_pylist() for b in by))) if by else [()] * table.num_rows
    groups: dict[tuple, list[int]] = {}
    for r, key in enumerate(keys):
        groups.setdefault(key, []).append(r)
    return groups


def _margin_lines(keys: list[tuple], total_label: Any, dimensions: Sequence[str]) -> list[Line]:
    """The margin lines of one table, from its rows' dimension values (indices into ``keys``)."""
    if not dimensions:
        return []
    if len(set(keys)) != len(keys):
        raise ValueError(f"two rows share the same {', '.join(dimensions)}; each cell must appear once")
    is_total = [[value == total_label for value in key] for key in keys]
    if len(dimensions) == 1:
        cells = [i for i, flags in enumerate(is_total) if not flags[0]]
        totals = [i for i, flags in enumerate(is_total) if flags[0]]
        return [Line(totals[0], tuple(cells))] if totals else []
    if len(dimensions) > 2:
        if any(any(flags) for flags in is_total):
            raise ValueError("margins are supported for one or two dimensions; use by= for the others")
        return []

    interior: dict[tuple, int] = {}
    row_total: dict[Any, int] = {}
    column_total: dict[Any, int] = {}
    grand: int | None = None
    for i, ((first, second), (first_total, second_total)) in enumerate(zip(keys, is_total)):
        if first_total and second_total:
            grand = i
        elif second_total:
            row_total[first] = i
        elif first_total:
            column_total[second] = i
        else:
            interior[first, second] = i
    if not row_total and not column_total and grand is None:
        return []
    rows = list(dict.fromkeys([a for a, _ in interior] + list(row_total)))
    columns = list(dict.fromkeys([b for _, b in interior] + list(column_total)))
    absent = [(a, b) for a in rows for b in columns if (a, b) not in interior]
    if absent:
        raise ValueError(
            f"a table with totals needs every combination of {dimensions[0]!r} and {dimensions[1]!r}; "
            f"missing for example {absent[0]!r} (add it with a count of 0)"
        )
    if row_total and set(row_total) != set(rows):
        raise ValueError(f"give a total for every category of {dimensions[0]!r} or for none")
    if column_total and set(column_total) != set(columns):
        raise ValueError(f"give a total for every category of {dimensions[1]!r} or for none")

    lines = []
    if row_total:
        lines += [Line(row_total[a], tuple(interior[a, b] for b in columns)) for a in rows]
    if column_total:
        lines += [Line(column_total[b], tuple(interior[a, b] for a in rows)) for b in columns]
    if grand is not None:
        if row_total:
            lines.append(Line(grand, tuple(row_total[a] for a in rows)))
        if column_total:
            lines.append(Line(grand, tuple(column_total[b] for b in columns)))
        if not row_total and not column_total:
            lines.append(Line(grand, tuple(interior.values())))
    return lines


def _check_totals(
    count: str, values: list[int], lines: list[Line], keys: list[tuple], dimensions: Sequence[str]
) -> None:
    for line in lines:
        if values[line.total] != sum(values[m] for m in line.members):
            where = ", ".join(f"{d}={k!r}" for d, k in zip(dimensions, keys[line.total]))
            raise ValueError(
                f"{count!r}: the total at {where} is not the sum of its cells; "
                "totals must be computed from the unrounded counts (see add_totals)"
            )


def _rule_metadata(rule: DisclosureRule) -> dict[bytes, bytes]:
    values = (rule.name, rule.description, rule.suppressed_symbol, rule.source)
    return {key.encode(): value.encode("utf-8") for key, value in zip(RULE_METADATA_KEYS, values)}
