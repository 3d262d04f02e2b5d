"""The dimensions of a publication: areas, financial years and groups of people.

Every view a reader can ask for is a point on the first two (an area or all areas; a financial year
or the whole period), and every row of a table sits in a group: all people, one group of one
breakdown (Black people; women; people aged 25 to 34), or one group of a two-way breakdown (Black
women), which is how a view "filtered" to women is broken down by ethnic group. Values come from the
data (areas, years) and from the standard's code lists (groups), never from free text, so the
dashboard can check a request against them and refuse anything else.

The totals are the first value of each dimension, and the lines say which totals are sums of which
members (the publication is additive in every dimension: see ``triangulate.measures.base``): all
people is the sum of each breakdown's groups; a 5-group is the sum of its 19 categories; women is the
sum of women by ethnic group, and Black people the sum of Black people by sex.

What is shown where (Fingertips pools years for small groups the same way): one area in one year
shows all people, the 5 ethnic groups, sex and age group; the 19 categories, religion, disability,
first language and the two-way breakdowns need an area's years pooled, or all areas.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from triangulate.disclosure.linked import Dimension
from triangulate.measures import base
from triangulate.measures.registry import BREAKDOWNS, CROSSINGS, Measure
from triangulate.standard import codelist

ALL_AREAS = "All areas"
ALL_YEARS = "All years"
ALL_PEOPLE = "All people"
#: Financial years pooled in a period (Fingertips pools three years for small areas).
POOL_YEARS = 3
#: Breakdowns shown for a pooled period: all people. The periods exist for trends in small areas,
#: where single years are withheld; they cost control time for every count (1,000,000 people: 129 s
#: to 199 s), and each further breakdown would add more for figures the whole period already shows.
POOLED_BREAKDOWNS = ("all",)
#: Breakdowns shown for one area in one financial year.
AREA_YEAR_BREAKDOWNS = ("all", "ethnic_group_5", "sex", "age_group")
#: The fine column each one-way breakdown reads.
SOURCE = {"ethnic_group_5": "ethnic_group_19", "ethnic_group_19": "ethnic_group_19", "sex": "sex",
          "age_group": "age_group", "religion": "religion", "disability": "disability",
          "first_language": "first_language"}
#: Words for breakdowns.
TITLES = {"all": "All people", "ethnic_group_5": "Ethnic group (5 groups)",
          "ethnic_group_19": "Ethnic group (19 categories)", "sex": "Sex", "age_group": "Age group",
          "religion": "Religion", "disability": "Disability", "first_language": "First language"}
#: Values that say a demographic is not known.
UNKNOWN_VALUES = (base.NOT_KNOWN, base.UNKNOWN_ETHNICITY)
SEPARATOR = " × "


def crossing(first: str, second: str) -> str:
    """The name of a two-way breakdown, as it appears in a table's breakdown column."""
    return f"{first}{SEPARATOR}{second}"


def split_crossing(breakdown: str) -> tuple[str, str] | None:
    if SEPARATOR not in breakdown:
        return None
    first, second = breakdown.split(SEPARATOR)
    return first, second


def breakdown_title(breakdown: str) -> str:
    parts = split_crossing(breakdown)
    if parts:
        return f"{TITLES[parts[0]]} by {TITLES[parts[1]].lower()}"
    return TITLES.get(breakdown, breakdown)


PERIOD_JOIN = " to "


def period_name(years) -> str:
    """A pooled period's name: its first and last financial year ("2023/24 to 2025/26")."""
    return f"{years[0]}{PERIOD_JOIN}{years[-1]}"


def period_bounds(name: str) -> tuple[str, str] | None:
    """A pooled period's first and last financial year, from its name; None for a single year (or the
    whole period). The one place a period's name is read back."""
    parts = name.split(PERIOD_JOIN)
    return (parts[0], parts[1]) if len(parts) == 2 else None


def period_length(name: str) -> int:
    """Financial years in a period (1 for a single year)."""
    bounds = period_bounds(name)
    return int(bounds[1][:4]) - int(bounds[0][:4]) + 1 if bounds else 1


def _consecutive(first: str, second: str) -> bool:
    try:
        return int(second[:4]) == int(first[:4]) + 1
    except ValueError:
        return False


def pooled_periods(years) -> tuple[tuple[str, ...], ...]:
    """The pooled periods of financial years ``years`` (sorted, single years): three consecutive years
    at a time counted back from the latest, the earliest period two years if two are left over (one
    left over is a year already shown); none with three years or fewer, where the one period would be
    the whole period. Oldest first.

    Why not rolling periods (2021/22 to 2023/24, 2022/23 to 2024/25, ...), as Fingertips shows? Periods
    that overlap give single years back: five years' three rolling periods and the whole period are
    four equations in the five years, so a reader with the periods solves for withheld years from
    few shown ones, and each withheld year needs several more withheld to protect it. Tried on a
    4,000-person area over five years, rolling periods took the disclosure control from 56 s to 566 s
    and doubled the counts withheld to protect others (4,073 to 8,806); periods that do not overlap
    are a level of the hierarchy (whole period > period > year), protected like the 5 ethnic groups
    over the 19 categories."""
    years = list(years)
    if len(years) <= POOL_YEARS:
        return ()
    out = []
    end = len(years)
    while end >= 2:
        start = max(0, end - POOL_YEARS)
        run = years[start:end]
        if len(run) >= 2 and all(_consecutive(x, y) for x, y in zip(run, run[1:])):
            out.append(tuple(run))
        end = start
    return tuple(reversed(out))


def _labels(name: str, leave_out: tuple[str, ...] = ()) -> list[str]:
    return [r["label"] for r in codelist(name).rows if r["code"] not in leave_out]


@cache
def group_values() -> dict[str, tuple[str, ...]]:
    """Every group of every one-way breakdown, in display order, the unknown value last."""
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
        "first_language": (base.ENGLISH, base.ANOTHER_LANGUAGE, base.NOT_KNOWN),
    }


@cache
def parent_group() -> dict[str, str]:
    """Each of the 19 categories' 5-group (and unknown to unknown)."""
    t = base.ons_groups()
    out = dict(zip(t.column("ethnic_group_19").to_pylist(), t.column("ethnic_group_5").to_pylist()))
    out[base.UNKNOWN_ETHNICITY] = base.UNKNOWN_ETHNICITY
    return out


def cross_value(first: str, second: str) -> str:
    return f"{first}; {second}"


@cache
def all_groups() -> tuple[tuple[str, str], ...]:
    """(breakdown, group) of every group: one-way breakdowns, then the two-way ones."""
    values = group_values()
    out = [(b, g) for b in BREAKDOWNS for g in values[b]]
    for first, second in CROSSINGS:
        name = crossing(first, second)
        out += [(name, cross_value(v, w)) for v in values[first] for w in values[second]]
    return tuple(out)


@cache
def group_index() -> dict[tuple[str, str], int]:
    return {v: i for i, v in enumerate(all_groups())}


@cache
def group_dimension() -> Dimension:
    gi = group_index()
    values = group_values()
    everyone = gi[("all", ALL_PEOPLE)]
    lines = [(everyone, tuple(gi[(b, g)] for g in values[b])) for b in BREAKDOWNS
             if b not in ("all", "ethnic_group_19")]
    parents = parent_group()
    for g5 in values["ethnic_group_5"]:
        lines.append((gi[("ethnic_group_5", g5)],
                      tuple(gi[("ethnic_group_19", g)] for g in values["ethnic_group_19"] if parents[g] == g5)))
    for first, second in CROSSINGS:
        name = crossing(first, second)
        for v in values[first]:
            lines.append((gi[(first, v)], tuple(gi[(name, cross_value(v, w))] for w in values[second])))
        for w in values[second]:
            lines.append((gi[(second, w)], tuple(gi[(name, cross_value(v, w))] for v in values[first])))
    return Dimension("group", len(gi), tuple(lines))


@dataclass(frozen=True)
class Dimensions:
    """The values of the three dimensions of one publication (index 0 is each dimension's total).

    The year dimension holds the whole period, each financial year (``years``), then each pooled
    period (``pooled``: the sum of its years, as the whole period is the sum of all; see
    ``pooled_periods``). ``periods`` is the dimension's values in that order; a view's year is one of
    ``years``.
    """

    areas: tuple[str, ...]
    years: tuple[str, ...]
    pooled: tuple[str, ...] = ()

    @classmethod
    def of(cls, areas, years, *, pooled: bool = True) -> Dimensions:
        single = sorted(y for y in set(years) if y)
        return cls((ALL_AREAS, *sorted(a for a in set(areas) if a)), (ALL_YEARS, *single),
                   tuple(period_name(w) for w in pooled_periods(single)) if pooled else ())

    @property
    def periods(self) -> tuple[str, ...]:
        return (*self.years, *self.pooled)

    def pooled_members(self) -> list[tuple[int, tuple[int, ...]]]:
        """Each pooled period's index on the year dimension and its years' indices."""
        index = {y: i for i, y in enumerate(self.years)}
        out = []
        for i, name in enumerate(self.pooled):
            first, last = period_bounds(name)
            a, b = index[first], index[last]
            out.append((len(self.years) + i, tuple(range(a, b + 1))))
        return out

    @property
    def groups(self) -> tuple[tuple[str, str], ...]:
        return all_groups()

    @property
    def group_index(self) -> dict[tuple[str, str], int]:
        return group_index()

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.areas), len(self.periods), len(self.groups)

    def disclosure_dimensions(self) -> list[Dimension]:
        area = Dimension("area", len(self.areas), ((0, tuple(range(1, len(self.areas)))),))
        # The year dimension as a tree, as the groups are (all people > 5 groups > 19 categories): the
        # whole period is the sum of the pooled periods and of any year in none, each pooled period the
        # sum of its years.
        pooled = self.pooled_members()
        inside = {y for _, members in pooled for y in members}
        top = (*[y for y in range(1, len(self.years)) if y not in inside], *[p for p, _ in pooled])
        year = Dimension("year", len(self.periods), ((0, top), *pooled))
        return [area, year, group_dimension()]

    def breakdowns(self, measure: Measure, pooled: bool) -> list[str]:
        """The breakdowns a measure shows, pooled (all areas or all years) or for one area in one year."""
        offered = list(measure.breakdowns)
        if measure.intersections:
            offered += [crossing(a, b) for a, b in CROSSINGS]
        return offered if pooled else [b for b in offered if b in AREA_YEAR_BREAKDOWNS]

    def exists(self, measure: Measure) -> np.ndarray:
        """Which (area, year, group) cells the measure publishes.

        Groups whose sex, age or first language is not known are not shown (a handful of people, rarely
        more than a recording slip, and protecting them would cost the totals); nor are two-way
        groups with an unknown value. Ethnicity not stated is shown one way: it is a data quality
        figure commissioners need.
        """
        out = np.zeros(self.shape, dtype=bool)
        names = np.array([b for b, _ in self.groups], dtype=object)
        unknown = np.array([(split_crossing(b) is not None and any(u in g for u in UNKNOWN_VALUES))
                            or (b in ("sex", "age_group", "first_language") and g == base.NOT_KNOWN) for b, g in self.groups])
        singles = slice(1, len(self.years))
        for pooled, (a, y) in ((True, (0, slice(0, len(self.years)))), (True, (slice(None), 0)),
                               (False, (slice(1, None), singles))):
            mask = np.isin(names, self.breakdowns(measure, pooled)) & ~unknown
            out[a, y, :] |= mask
        if self.pooled:
            shown = [b for b in self.breakdowns(measure, False) if b in POOLED_BREAKDOWNS]
            out[:, len(self.years):, :] |= np.isin(names, shown) & ~unknown
        return out

    def describe(self) -> dict:
        """The dimensions as a reader needs them to check a request: every value."""
        return {"areas": list(self.areas), "years": list(self.years), "pooled": list(self.pooled), "groups": [list(g) for g in self.groups],
                "crossings": [list(c) for c in CROSSINGS]}
