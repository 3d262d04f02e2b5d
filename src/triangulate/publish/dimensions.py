"""The dimensions of a publication: areas, financial years, demographic filters and groups.

Every view a reader can ask for is a point on three of them (an area or all areas; a financial year
or the whole period; no filter or one demographic filter), and every row of a table sits in a group
(all people, or one group of one breakdown). Values come from the data (areas, years) and from the
standard's code lists (filters, groups), never from free text, so the dashboard can check a request
against them and refuse anything else.

The totals are the first value of each dimension, and the lines say which totals are sums of which
members: the publication is additive in every dimension (see ``triangulate.measures.base``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from triangulate.disclosure.linked import Dimension
from triangulate.measures import base
from triangulate.measures.registry import BREAKDOWNS, FILTERS, Measure
from triangulate.standard import codelist

ALL_AREAS = "All areas"
ALL_YEARS = "All years"
ALL_PEOPLE = "All people"
#: Values that say a demographic is not known.
UNKNOWN_VALUES = (base.NOT_KNOWN, base.UNKNOWN_ETHNICITY)
NO_FILTER = ("all", ALL_PEOPLE)
#: Breakdowns offered inside a filtered view (the deeper ones would be suppressed almost whole).
FILTERED_BREAKDOWNS = ("all", "ethnic_group_5", "sex", "age_group")
#: Breakdowns offered for one area in one financial year: the deepest level shows the main groups,
#: without filters; the 19 categories, religion, disability and the filters need an area's years
#: pooled, or all areas (as Fingertips pools years for small groups).
AREA_YEAR_BREAKDOWNS = ("all", "ethnic_group_5", "sex", "age_group")
#: The fine column each breakdown or filter reads.
SOURCE = {"ethnic_group_5": "ethnic_group_19", "ethnic_group_19": "ethnic_group_19", "sex": "sex",
          "age_group": "age_group", "religion": "religion", "disability": "disability"}
#: Words for breakdowns and filters.
TITLES = {"all": "All people", "ethnic_group_5": "Ethnic group (5 groups)",
          "ethnic_group_19": "Ethnic group (19 categories)", "sex": "Sex", "age_group": "Age group",
          "religion": "Religion", "disability": "Disability"}


def _labels(name: str, leave_out: tuple[str, ...] = ()) -> list[str]:
    return [r["label"] for r in codelist(name).rows if r["code"] not in leave_out]


@cache
def group_values() -> dict[str, tuple[str, ...]]:
    """Every group of every breakdown, in display order, 'Not known' (or unknown ethnicity) last."""
    groups19 = base.ons_groups()
    eth5 = list(dict.fromkeys(groups19.column("ethnic_group_5").to_pylist()))
    eth19 = groups19.column("ethnic_group_19").to_pylist()
    return {
        "all": (ALL_PEOPLE,),
        "ethnic_group_5": (*eth5, base.UNKNOWN_ETHNICITY),
        "ethnic_group_19": (*eth19, base.UNKNOWN_ETHNICITY),
        "sex": ("Female", "Male", base.NOT_KNOWN),
        "age_group": (*[r["code"] for r in codelist("age_group").rows], base.NOT_KNOWN),
        "religion": (*_labels("religion", ("NS",)), base.NOT_KNOWN),
        "disability": (*_labels("yes_no_unknown", ("U",)), base.NOT_KNOWN),
    }


@cache
def parent_group() -> dict[str, str]:
    """Each of the 19 categories' 5-group (and unknown to unknown)."""
    t = base.ons_groups()
    out = dict(zip(t.column("ethnic_group_19").to_pylist(), t.column("ethnic_group_5").to_pylist()))
    out[base.UNKNOWN_ETHNICITY] = base.UNKNOWN_ETHNICITY
    return out


@dataclass(frozen=True)
class Dimensions:
    """The values of the four dimensions of one publication (index 0 is each dimension's total)."""

    areas: tuple[str, ...]
    years: tuple[str, ...]

    @classmethod
    def of(cls, areas, years) -> Dimensions:
        return cls((ALL_AREAS, *sorted(a for a in set(areas) if a)), (ALL_YEARS, *sorted(y for y in set(years) if y)))

    @property
    @cache
    def filters(self) -> tuple[tuple[str, str], ...]:
        values = group_values()
        return (NO_FILTER, *[(family, v) for family in FILTERS for v in values[family]])

    @property
    @cache
    def groups(self) -> tuple[tuple[str, str], ...]:
        values = group_values()
        return tuple((b, g) for b in BREAKDOWNS for g in values[b])

    @property
    @cache
    def filter_index(self) -> dict[tuple[str, str], int]:
        return {v: i for i, v in enumerate(self.filters)}

    @property
    @cache
    def group_index(self) -> dict[tuple[str, str], int]:
        return {v: i for i, v in enumerate(self.groups)}

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return len(self.areas), len(self.years), len(self.filters), len(self.groups)

    def disclosure_dimensions(self) -> list[Dimension]:
        """The four dimensions with their lines, as the disclosure room reads them."""
        area = Dimension("area", len(self.areas), ((0, tuple(range(1, len(self.areas)))),))
        year = Dimension("year", len(self.years), ((0, tuple(range(1, len(self.years)))),))
        fi = self.filter_index
        filter_lines = tuple((0, tuple(fi[(family, v)] for v in group_values()[family])) for family in FILTERS)
        gi = self.group_index
        all_people = gi[("all", ALL_PEOPLE)]
        group_lines = [
            (all_people, tuple(gi[(b, g)] for g in group_values()[b])) for b in BREAKDOWNS if b not in ("all",
                                                                                                    "ethnic_group_19")
        ]
        parents = parent_group()
        for g5 in group_values()["ethnic_group_5"]:
            children = tuple(gi[("ethnic_group_19", g)] for g in group_values()["ethnic_group_19"] if parents[g] == g5)
            group_lines.append((gi[("ethnic_group_5", g5)], children))
        return [area, year, Dimension("filter", len(self.filters), filter_lines),
                Dimension("group", len(self.groups), tuple(group_lines))]

    def offered(self, measure: Measure, family: str, pooled: bool) -> list[str]:
        """The breakdowns the measure shows under a filter family, pooled (all areas or all years) or not."""
        if family == "all":
            offered = list(measure.breakdowns)
        elif family in measure.filters and pooled:
            offered = [b for b in measure.breakdowns if b in FILTERED_BREAKDOWNS and b != family]
        else:
            return []
        return offered if pooled else [b for b in offered if b in AREA_YEAR_BREAKDOWNS]

    def exists(self, measure: Measure) -> np.ndarray:
        """Which (area, year, filter, group) cells the measure publishes.

        Unknown values (sex or age not known, ethnicity not stated) are groups of every breakdown but
        never filters: a filter on them would show almost nothing and cost the totals to protect it.
        """
        A, Y, F, G = self.shape
        out = np.zeros((A, Y, F, G), dtype=bool)
        breakdown_of = np.array([b for b, _ in self.groups], dtype=object)
        for fi, (family, value) in enumerate(self.filters):
            if value in UNKNOWN_VALUES:
                continue
            for pooled, where in ((True, (0, slice(None))), (True, (slice(None), 0)), (False, (slice(1, None), slice(1, None)))):
                offered = self.offered(measure, family, pooled)
                if offered:
                    mask = np.isin(breakdown_of, offered)
                    out[where[0], where[1], fi, :] |= mask
        return out

    def describe(self) -> dict:
        """The dimensions as a reader needs them to check a request: every value, every total."""
        return {
            "areas": list(self.areas), "years": list(self.years),
            "filters": [list(f) for f in self.filters], "groups": [list(g) for g in self.groups],
            "lines": {d.name: [[t, list(m)] for t, m in d.lines] for d in self.disclosure_dimensions()},
        }
