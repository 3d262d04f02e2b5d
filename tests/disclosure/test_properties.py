"""Properties of disclosure control on random one- and two-way tables, checked by an attacker.

Tables have many small counts, random margins (none, a total, row totals, column totals, both
with a grand total, or a grand total alone), sometimes rates per 100,000 published beside the
counts with their populations, and rules drawn from the presets, their rounded and unrounded
variants and random thresholds, bases and zero policies.

The attacker (``conftest.attack``) sees only the published table and the rule. The guarantee it
checks: every suppressed count has at least two possible values, so none is recovered exactly.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triangulate.disclosure import NHS_ENGLAND, ONS_SRO, CellStatus, DisclosureRule, apply_disclosure_control

from .conftest import PER_100K, attack

TOTAL = "Total"
SMALL = st.integers(0, 12)
ANY = st.integers(0, 400)
# Two draws in three are small, so most tables need suppression and many need it twice in a line.
COUNTS = st.one_of(SMALL, SMALL, ANY)
HIDDEN = {CellStatus.SUPPRESSED_PRIMARY, CellStatus.SUPPRESSED_SECONDARY}


@dataclass(frozen=True)
class Case:
    table: pa.Table
    dimensions: tuple[str, ...]
    rule: DisclosureRule
    true_counts: tuple[int, ...]
    with_rates: bool

    def apply(self, readable_ranges: bool = False):
        dependents = {"people": ["rate"]} if self.with_rates else None
        return apply_disclosure_control(
            self.table, "people", self.dimensions, rule=self.rule, dependents=dependents, readable_ranges=readable_ranges
        )

    def attack(self, published: pa.Table):
        rates = {"rate": "rate", "denominator": "population"} if self.with_rates else {}
        return attack(published, "people", self.dimensions, self.rule, total_label=TOTAL, **rates)


@st.composite
def rules(draw) -> DisclosureRule:
    kind = draw(st.sampled_from(["nhs_england", "ons_sro", "nhs_unrounded", "ons_rounded", "random"]))
    if kind == "nhs_england":
        return NHS_ENGLAND
    if kind == "ons_sro":
        return ONS_SRO
    if kind == "nhs_unrounded":
        return dataclasses.replace(NHS_ENGLAND, name=kind, rounding_base=None)
    if kind == "ons_rounded":
        return dataclasses.replace(ONS_SRO, name=kind, rounding_base=5)
    publish_zero = draw(st.booleans())
    threshold = draw(st.integers(3 if publish_zero else 2, 15))
    base = draw(st.one_of(st.none(), st.integers(2, 10)))
    return DisclosureRule("random", "random", threshold, base, publish_zero)


@st.composite
def cases(draw) -> Case:
    ways = draw(st.sampled_from([1, 2]))
    if ways == 1:
        firsts = [f"group {i}" for i in range(draw(st.integers(1, 8)))]
        interior = [(a,) for a in firsts]
        margins = draw(st.sampled_from(["none", "total"]))
        totals = [[(TOTAL,), interior]] if margins == "total" else []
    else:
        firsts = [f"group {i}" for i in range(draw(st.integers(1, 5)))]
        seconds = [f"kind {j}" for j in range(draw(st.integers(1, 5)))]
        interior = [(a, b) for a in firsts for b in seconds]
        margins = draw(st.sampled_from(["none", "rows", "columns", "both", "grand only"]))
        totals = []
        if margins in ("rows", "both"):
            totals += [[(a, TOTAL), [(a, b) for b in seconds]] for a in firsts]
        if margins in ("columns", "both"):
            totals += [[(TOTAL, b), [(a, b) for a in firsts]] for b in seconds]
        if margins in ("both", "grand only"):
            totals += [[(TOTAL, TOTAL), interior]]
    people = dict(zip(interior, draw(st.lists(COUNTS, min_size=len(interior), max_size=len(interior)))))
    populations = st.lists(st.integers(1_000, 60_000), min_size=len(interior), max_size=len(interior))
    population = dict(zip(interior, draw(populations)))
    for key, members in totals:
        people[key] = sum(people[m] for m in members)
        population[key] = sum(population[m] for m in members)
    keys = list(people)
    with_rates = draw(st.booleans())
    columns = {f"dimension {d}": [key[d] for key in keys] for d in range(ways)}
    columns["people"] = [people[k] for k in keys]
    if with_rates:
        columns["population"] = [population[k] for k in keys]
        columns["rate"] = [people[k] / population[k] * PER_100K for k in keys]
    # Shuffle the rows: nothing may depend on totals coming last.
    order = draw(st.permutations(range(len(keys))))
    table = pa.table({name: [values[i] for i in order] for name, values in columns.items()})
    return Case(table, tuple(columns)[:ways], draw(rules()), tuple(columns["people"][i] for i in order), with_rates)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_published_counts_follow_the_rule(case: Case):
    rule = case.rule
    published = case.apply()
    shown = published.table.column("people").to_pylist()
    status = published.status.column("people").to_pylist()
    for true, value, why in zip(case.true_counts, shown, status):
        small = 0 < true < rule.suppress_below or (true == 0 and not rule.publish_zero)
        assert (why == CellStatus.SUPPRESSED_PRIMARY) == small
        if why in HIDDEN:
            assert value is None
            if why == CellStatus.SUPPRESSED_SECONDARY:
                assert true >= rule.suppress_below, "secondary suppression never picks a zero"
            continue
        assert why == (CellStatus.ROUNDED if rule.rounds else CellStatus.PUBLISHED)
        assert not 0 < value < rule.suppress_below
        if rule.rounds:
            assert value % rule.rounding_base == 0
        # Totals are true sums (built that way above), so this is "rounded after summing".
        assert value == rule.shown_count(true)
    if case.with_rates:
        rates = published.table.column("rate").to_pylist()
        for why, rate, original in zip(status, rates, case.table.column("rate").to_pylist()):
            assert rate is None if why in HIDDEN else rate == original


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_no_suppressed_count_can_be_recovered(case: Case):
    published = case.apply(readable_ranges=True)
    ranges = case.attack(published.table)
    status = published.status.column("people").to_pylist()
    assert set(ranges) == {i for i, why in enumerate(status) if why in HIDDEN}
    lowest = published.readable_ranges.column("people_lowest").to_pylist()
    highest = published.readable_ranges.column("people_highest").to_pylist()
    for i, (low, high) in ranges.items():
        assert low <= case.true_counts[i] <= high
        assert high - low >= 1, f"row {i} is pinned to one value"
        # The library's own account of what a reader can deduce agrees with the linear programme.
        assert lowest[i] == round(low)
        assert (highest[i] is None) if math.isinf(high) else highest[i] == round(high)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_secondary_suppression_only_when_needed(case: Case):
    rule = case.rule
    primary_only = [rule.shown_count(n) for n in case.true_counts]
    table = case.table.set_column(
        case.table.column_names.index("people"), "people", pa.array(primary_only, pa.int64())
    )
    if case.with_rates:
        original = case.table.column("rate").to_pylist()
        rates = [None if shown is None else rate for shown, rate in zip(primary_only, original)]
        table = table.set_column(table.column_names.index("rate"), "rate", pa.array(rates, pa.float64()))
    pinned = [i for i, (low, high) in case.attack(table).items() if high - low < 1]
    secondary = [why == CellStatus.SUPPRESSED_SECONDARY for why in case.apply().status.column("people").to_pylist()]
    assert any(secondary) == bool(pinned)
