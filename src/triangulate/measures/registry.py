"""The registry of measures: one registered definition per measure, and nothing else.

A measure is what a commissioner reads (title, definition, numerator, denominator, method, caveats,
the national definition it follows) together with:

- ``build``: Ibis expressions of its **fine counts** (by financial year, area and demographics,
  ``base.FINE``), one per count. They are the only part that touches the store, so they run
  unchanged on any Ibis engine, and the publication rolls them up into every view at once.
- ``counts``: what each count column counts (``Count``), including the *quantity* it is a count of.
  Two measures that count the same thing name the same quantity, and the publication controls it
  once, so one number is never shown suppressed in one table and published in another.
- ``finish``: the derived figures (proportions, rates, intervals, ratios), computed from the
  **published** counts, so that they tell a reader nothing the counts do not.
- ``columns``: the words and kinds of every published column, which the report, the dashboard and
  the exports all show.

Adding a measure is adding one decorated function; the publication and docs/measures.md read this
registry, and a test fails when the documentation lacks a registered measure.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import ibis
import pyarrow as pa

#: Group families a measure can be broken down by, in display order.
BREAKDOWNS = ("all", "ethnic_group_5", "ethnic_group_19", "sex", "age_group", "religion", "disability",
              "first_language")
#: Two-way breakdowns (a group of the first broken down by the second): how a view "filtered" to
#: women is broken down by ethnic group, and the intersections of ethnicity with sex and age.
CROSSINGS = (("sex", "ethnic_group_5"), ("age_group", "ethnic_group_5"), ("sex", "age_group"))


@dataclass(frozen=True)
class Count:
    """One count column of a measure.

    ``quantity``: what is counted, as a format string over the measure's keys (``people_at:{setting}``);
    cells of the same quantity in two measures are one cell. ``keys``: the measure keys the count
    depends on (None: all of them). ``within``: another count of the measure that contains this one
    cell by cell (people with a need are among the people seen), which a reader knows too.
    ``controlled``: False for figures already public (census residents), published as they are.
    ``published``: False for a sum the measure's ``finish`` needs but a reader must not see (the sum of
    scores behind a mean score): it is never controlled or published, and ``finish`` decides where the
    figures made from it may be shown.
    """

    name: str
    quantity: str | Callable[[dict], str]
    keys: tuple[str, ...] | None = None
    within: str | None | Callable[[dict], str | None] = None
    controlled: bool | Callable[[dict], bool] = True
    unit: str = "people"
    published: bool = True

    def quantity_of(self, keys: dict) -> str:
        return self.quantity(keys) if callable(self.quantity) else self.quantity.format(**keys)

    def within_of(self, keys: dict) -> str | None:
        return (self.within(keys) or None) if callable(self.within) else self.within

    def controlled_of(self, keys: dict) -> bool:
        return bool(self.controlled(keys)) if callable(self.controlled) else self.controlled


@dataclass(frozen=True)
class Column:
    """A published column: its heading in words and how its values read (``kind``)."""

    name: str
    label: str
    kind: str  # count, percent, ratio, rate, text, significance, marker, days, reference (a figure from a
    # published source, shown as the source gives it)


@dataclass(frozen=True)
class Measure:
    name: str
    title: str
    definition: str
    numerator: str
    denominator: str
    method: str
    caveats: str
    source: str
    keys: tuple[str, ...]
    key_domains: Mapping[str, Callable[[], list[str]]]
    counts: tuple[Count, ...]
    breakdowns: tuple[str, ...]
    intersections: bool
    build: Callable[..., dict[str, ibis.Table]]
    finish: Callable[[pa.Table], pa.Table]
    columns: tuple[Column, ...]
    headline: Callable[[pa.Table], pa.Table] | None = None

    def count(self, name: str) -> Count:
        return next(c for c in self.counts if c.name == name)

    @property
    def published_counts(self) -> tuple[Count, ...]:
        """The counts a reader sees (every count but the sums behind a derived figure)."""
        return tuple(c for c in self.counts if c.published)

    def count_keys(self, count: Count) -> tuple[str, ...]:
        return self.keys if count.keys is None else count.keys

    def label(self, column: str) -> str:
        for c in self.columns:
            if c.name == column:
                return c.label
        return column.replace("_", " ").capitalize()

    def kind(self, column: str) -> str:
        for c in self.columns:
            if c.name == column:
                return c.kind
        return "text"

    def describe(self) -> dict:
        """The words of the definition (what a reader is told), for metadata and fingerprints."""
        return {
            "name": self.name, "title": self.title, "definition": self.definition, "numerator": self.numerator,
            "denominator": self.denominator, "method": self.method, "caveats": self.caveats,
            "source": self.source, "keys": list(self.keys),
            "counts": [{"name": c.name, "quantity": _words(c.quantity), "keys": list(self.count_keys(c)),
                        "within": _words(c.within), "controlled": _words(c.controlled), "unit": c.unit}
                       for c in self.counts if c.published],
            "breakdowns": list(self.breakdowns), "intersections": self.intersections,
            "columns": [{"name": c.name, "label": c.label, "kind": c.kind} for c in self.columns],
        }


def _words(value):
    """A definition's part as it is described: a rule in code is named by its function."""
    return f"{value.__module__}.{value.__qualname__}" if callable(value) else value


REGISTRY: dict[str, Measure] = {}
# The modules whose measures are registered, in the order they are written and documented.
MODULES = ("needs", "disproportionality", "funnel", "journeys", "waits", "coverage", "survey")

#: Columns every published table starts with: the view and the group.
VIEW_COLUMNS = (
    Column("area", "Area", "area"),
    Column("year", "Financial year", "year"),
    Column("breakdown", "Breakdown", "breakdown"),
    Column("group", "Group", "group"),
)


def register(
    *,
    name: str,
    title: str,
    definition: str,
    numerator: str,
    denominator: str,
    method: str,
    caveats: str,
    source: str,
    counts: tuple[Count, ...],
    finish: Callable[[pa.Table], pa.Table],
    columns: tuple[Column, ...],
    keys: tuple[str, ...] = (),
    key_domains: Mapping[str, Callable[[], list[str]]] | None = None,
    breakdowns: tuple[str, ...] = ("all", "ethnic_group_5"),
    intersections: bool = True,
    headline: Callable[[pa.Table], pa.Table] | None = None,
) -> Callable[[Callable[..., dict[str, ibis.Table]]], Callable[..., dict[str, ibis.Table]]]:
    """Register the decorated function as the builder of measure ``name``'s fine counts."""
    unknown = [b for b in breakdowns if b not in BREAKDOWNS]
    if unknown:
        raise ValueError(f"Measure {name!r}: unknown breakdowns {unknown}")

    hidden = [c.name for c in counts if not c.published and c.controlled is not False]
    if hidden:
        raise ValueError(f"Measure {name!r}: counts {hidden} are not published, so they cannot be controlled")

    def decorate(build):
        if name in REGISTRY:
            raise ValueError(f"Measure {name!r} is registered twice")
        REGISTRY[name] = Measure(name, title, definition, numerator, denominator, method, caveats, source, keys,
                                 dict(key_domains or {}), counts, breakdowns, intersections, build, finish, columns,
                                 headline)
        return build

    return decorate


def measures() -> list[Measure]:
    """Every registered measure, in registration order."""
    for module in MODULES:
        importlib.import_module(f"triangulate.measures.{module}")  # importing registers
    return list(REGISTRY.values())


def registry_version() -> str:
    """A fingerprint of every registered definition: it changes when any measure's words or shape do."""
    text = json.dumps([m.describe() for m in measures()], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
