"""Disclosure rules: which counts are too small to publish, and how the others are rounded.

A rule is a small immutable value so that a table's metadata can say exactly which rule made
it. The published rules (NHS England's and the ONS Secure Research Service's) are data, read
from ``data/rules.csv`` with their source and year; the code never restates their figures.

Three choices are made here, once, for every table:

- **Small means 0 < n < suppress_below.** NHS England suppresses 1 to 7, so its rule has
  ``suppress_below=8``; ONS's threshold of 10 is ``suppress_below=10``.
- **Rounding is half up to the nearest multiple of the base** (with base 5 there are no ties).
  A count at or above the threshold is never shown as a number below it: if rounding would do
  that (only possible when the threshold is not a multiple of the base, e.g. threshold 12 and
  base 5 would show 12 as 10), it is shown as the smallest multiple of the base at or above the
  threshold. With either preset this never happens. So a shown non-zero number is never a small
  count, and a shown 0 always means none.
- **Zero is a choice.** NHS England publishes 0 as 0: a zero counts nobody, so there is nobody
  to identify, and suppressing zeros would blank whole rows of rare categories. Publishing a
  zero can still say something about everybody else in its row (all of this group were known to
  services); a rule with ``publish_zero=False`` suppresses zeros with the small counts.

A rule whose suppression symbol would itself give the value away (suppressing only the count 1
while publishing zeros, so ``*`` can only mean 1) is refused.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["NHS_ENGLAND", "ONS_SRO", "DisclosureRule", "preset", "presets"]


@dataclass(frozen=True)
class DisclosureRule:
    """How counts are made safe to publish.

    ``suppress_below``: a count ``n`` with ``0 < n < suppress_below`` is suppressed.
    ``rounding_base``: published counts are rounded to the nearest multiple of it; ``None``
    publishes counts exactly. ``publish_zero``: whether 0 is shown (``True``) or suppressed.
    ``suppressed_symbol``: what a reader sees instead of a suppressed count. ``name``,
    ``description`` and ``source`` go into the metadata of every table the rule produces.
    """

    name: str
    description: str
    suppress_below: int
    rounding_base: int | None
    publish_zero: bool = True
    suppressed_symbol: str = "*"
    source: str = ""
    #: The least width (highest minus lowest) of the range a reader can narrow any suppressed count
    #: to, using everything published. None: as wide as the band of counts the rule suppresses.
    protection_width: int | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a disclosure rule needs a name for the metadata of its tables")
        if isinstance(self.suppress_below, bool) or not isinstance(self.suppress_below, int):
            raise ValueError("suppress_below must be a whole number")
        if self.suppress_below < 1:
            raise ValueError("suppress_below must be at least 1 (1 suppresses no count)")
        if self.rounding_base is not None and (
            isinstance(self.rounding_base, bool)
            or not isinstance(self.rounding_base, int)
            or self.rounding_base < 2
        ):
            raise ValueError("rounding_base must be a whole number of at least 2, or None")
        if not self.suppressed_symbol or _looks_like_a_number(self.suppressed_symbol):
            raise ValueError("the suppression symbol must be non-empty and not a number")
        small_values = (self.suppress_below - 1) + (0 if self.publish_zero else 1)
        if small_values == 1:
            raise ValueError(
                "this rule suppresses exactly one possible count, so its symbol would reveal "
                "the count; raise suppress_below or suppress zeros as well"
            )

    @property
    def band_width(self) -> int:
        """Highest minus lowest of the counts the rule suppresses (1 to 7 gives 6)."""
        return (self.suppress_below - 1) - self.smallest_suppressed_count

    @property
    def protection(self) -> int:
        """The protection width in force: the rule's own, else the width of its suppressed band."""
        return self.band_width if self.protection_width is None else self.protection_width

    @property
    def rounds(self) -> bool:
        return self.rounding_base is not None

    @property
    def smallest_suppressed_count(self) -> int:
        """The least a suppressed count can be: 1 when zeros are published, else 0."""
        return 1 if self.publish_zero else 0

    @property
    def smallest_shown_count(self) -> int:
        """The least non-zero number this rule ever shows."""
        if not self.rounds:
            return self.suppress_below
        base = self.rounding_base
        return max(base, -(-self.suppress_below // base) * base)

    def is_small(self, count: int) -> bool:
        """True when the count itself must be suppressed (primary suppression)."""
        if count == 0:
            return not self.publish_zero
        return count < self.suppress_below

    def shown_count(self, count: int) -> int | None:
        """The number a reader sees for a true count, or None when the count is suppressed.

        Totals go through here like any other count: pass the sum of the unrounded counts.
        """
        if count < 0:
            raise ValueError("counts cannot be negative")
        if self.is_small(count):
            return None
        if count == 0 or not self.rounds:
            return count
        base = self.rounding_base
        rounded = base * ((2 * count + base) // (2 * base))
        return max(rounded, self.smallest_shown_count)

    def possible_counts(self, shown: int) -> tuple[int, int]:
        """Every true count this rule shows as ``shown``, as an inclusive range.

        This is what a reader who knows the rule learns from a published number.
        """
        if not self.rounds:
            return shown, shown
        if shown == 0:
            return 0, 0
        base = self.rounding_base
        if shown < self.smallest_shown_count or shown % base:
            raise ValueError("this rule never shows that number")
        highest = shown + (base + 1) // 2 - 1
        if shown == self.smallest_shown_count:
            return self.suppress_below, highest
        return max(shown - base // 2, self.suppress_below), highest


def _looks_like_a_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@cache
def presets() -> dict[str, DisclosureRule]:
    """The published rules, by name, read from ``data/rules.csv``."""
    text = resources.files(__package__).joinpath("data", "rules.csv").read_text("utf-8")
    rules = {}
    for row in csv.DictReader(text.splitlines()):
        rules[row["name"]] = DisclosureRule(
            name=row["name"],
            description=row["description"],
            suppress_below=int(row["suppress_below"]),
            rounding_base=int(row["rounding_base"]) if row["rounding_base"] else None,
            publish_zero=row["publish_zero"].strip().lower() == "true",
            suppressed_symbol=row["suppressed_symbol"],
            protection_width=int(row["protection_width"]) if row.get("protection_width") else None,
            source=f"{row['source']} ({row['source_year']}), {row['source_url']}",
        )
    return rules


def preset(name: str) -> DisclosureRule:
    """One published rule by name: ``nhs_england`` or ``ons_sro``."""
    try:
        return presets()[name]
    except KeyError:
        known = ", ".join(sorted(presets()))
        raise ValueError(f"no disclosure rule called {name!r}; known rules: {known}") from None


#: NHS England's rule for tables below national level; the default everywhere.
NHS_ENGLAND = preset("nhs_england")
#: The ONS Secure Research Service's output checking rule of thumb (threshold 10, no rounding).
ONS_SRO = preset("ons_sro")
