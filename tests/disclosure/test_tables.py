"""Disclosure control on whole tables, with every expected output worked out by hand.

The figures are made up; each test says how its expected output follows from the rule.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from triangulate.disclosure import (
    NHS_ENGLAND,
    ONS_SRO,
    CellStatus,
    DisclosureRule,
    add_totals,
    apply_disclosure_control,
)

from .conftest import PER_100K, attack

P, R = CellStatus.PUBLISHED.value, CellStatus.ROUNDED.value
S1, S2, W = CellStatus.SUPPRESSED_PRIMARY.value, CellStatus.SUPPRESSED_SECONDARY.value, CellStatus.WITHHELD.value


def test_nhs_england_one_way_table_with_a_total(custody_by_ethnic_group):
    # 3 is suppressed; 12 -> 10, 0 -> 0, 131 -> 130, 8 -> 10; the total 154 -> 155.
    # Reader: Asian = Total - Black - White - Other, within [153-12-132-12, 157-8-128-8] = [-3, 13],
    # and at least 1: so 1 to 13. Rounding alone protects it; no secondary suppression.
    published = apply_disclosure_control(custody_by_ethnic_group, "people", "ethnic_group", readable_ranges=True)
    assert published.table.column("people").to_pylist() == [None, 10, 0, 130, 10, 155]
    assert published.status.column("people").to_pylist() == [S1, R, R, R, R, R]
    assert published.readable_ranges.column("people_lowest").to_pylist() == [1, None, None, None, None, None]
    assert published.readable_ranges.column("people_highest").to_pylist() == [13, None, None, None, None, None]
    assert attack(published.table, "people", ["ethnic_group"], NHS_ENGLAND) == {0: (1, 13)}


def test_without_rounding_two_small_counts_protect_each_other(custody_by_ethnic_group):
    # ONS: 3 and 8 are below 10. Asian + Other = 154 - 12 - 0 - 131 = 11, each at least 1:
    # each lies in 1..10. Nothing more to suppress.
    published = apply_disclosure_control(custody_by_ethnic_group, "people", "ethnic_group", rule=ONS_SRO)
    assert published.table.column("people").to_pylist() == [None, 12, 0, 131, None, 154]
    assert published.status.column("people").to_pylist() == [S1, P, P, P, S1, P]
    assert attack(published.table, "people", ["ethnic_group"], ONS_SRO) == {0: (1, 10), 4: (1, 10)}


def test_without_rounding_the_smallest_publishable_count_is_suppressed_too():
    # ONS: only 3 is small, and Asian = 171 - 12 - 0 - 131 - 25 = 3 exactly. The smallest count that
    # can be given up is Black's 12 (the 0 protects nothing). Then Asian + Black = 15: each 1..14.
    table = pa.table(
        {"ethnic_group": ["Asian", "Black", "Mixed", "White", "Other", "Total"], "people": [3, 12, 0, 131, 25, 171]}
    )
    primary_only = table.set_column(1, "people", pa.array([None, 12, 0, 131, 25, 171]))
    assert attack(primary_only, "people", ["ethnic_group"], ONS_SRO) == {0: (3, 3)}

    published = apply_disclosure_control(table, "people", "ethnic_group", rule=ONS_SRO, readable_ranges=True)
    assert published.table.column("people").to_pylist() == [None, None, 0, 131, 25, 171]
    assert published.status.column("people").to_pylist() == [S1, S2, P, P, P, P]
    assert attack(published.table, "people", ["ethnic_group"], ONS_SRO) == {0: (1, 14), 1: (1, 14)}
    assert published.readable_ranges.column("people_highest").to_pylist()[:2] == [14, 14]


def test_a_two_way_table_gets_a_rectangle_of_suppressions():
    #          Female  Male  Total
    # Asian        4     20     24
    # Black       30     40     70
    # Total       34     60     94
    # ONS: 4 is small and both its row and its column would give it back. The cheapest cycle of
    # suppressions through it is the four inner cells (20 + 40 + 30 = 90), cheaper than any cycle
    # through the totals (e.g. 24 + 94 + 34). With Asian/Female = a: Asian/Male = 24 - a,
    # Black/Female = 34 - a, Black/Male = 36 + a, all at least 1, so a is anything in 1..23.
    table = add_totals(
        pa.table(
            {
                "ethnic_group": ["Asian", "Asian", "Black", "Black"],
                "sex": ["Female", "Male"] * 2,
                "people": [4, 20, 30, 40],
            }
        ),
        "people",
        ["ethnic_group", "sex"],
    )
    assert table.column("people").to_pylist() == [4, 20, 30, 40, 24, 70, 34, 60, 94]
    published = apply_disclosure_control(table, "people", ["ethnic_group", "sex"], rule=ONS_SRO, readable_ranges=True)
    assert published.table.column("people").to_pylist() == [None, None, None, None, 24, 70, 34, 60, 94]
    assert published.status.column("people").to_pylist() == [S1, S2, S2, S2, P, P, P, P, P]
    ranges = attack(published.table, "people", ["ethnic_group", "sex"], ONS_SRO)
    assert ranges == {0: (1, 23), 1: (1, 23), 2: (11, 33), 3: (37, 59)}
    assert published.readable_ranges.column("people_lowest").to_pylist()[:4] == [1, 1, 11, 37]
    assert published.readable_ranges.column("people_highest").to_pylist()[:4] == [23, 23, 33, 59]


def test_a_suppressed_total_is_protected_through_the_grand_total():
    #          Female  Male  Total
    # Mixed        2     9     11
    # Other        0     5      5
    # White       48   160    208
    # Total       50   174    224
    # ONS: small are Mixed/Female 2, Mixed/Male 9, Other/Male 5 and Other's total 5.
    # - The Female column gives Mixed/Female back (50 - 0 - 48), and every cycle through it must
    #   leave that column by White/Female (48) or its total (50). Cheapest: White/Female with
    #   White/Male (48 + 160 = 208; the Female and Male totals would cost 50 + 174 = 224).
    # - The totals column gives Other's total back (224 - 11 - 208); the cheapest fix is the next
    #   smallest row total, Mixed's 11.
    cells = {("Mixed", "Female"): 2, ("Mixed", "Male"): 9, ("Other", "Female"): 0, ("Other", "Male"): 5,
             ("White", "Female"): 48, ("White", "Male"): 160}
    table = add_totals(
        pa.table({"ethnic_group": [a for a, _ in cells], "sex": [b for _, b in cells], "people": list(cells.values())}),
        "people",
        ["ethnic_group", "sex"],
    )
    published = apply_disclosure_control(table, "people", ["ethnic_group", "sex"], rule=ONS_SRO)
    shown = dict(zip(zip(table.column("ethnic_group").to_pylist(), table.column("sex").to_pylist()),
                     published.status.column("people").to_pylist()))
    assert shown == {
        ("Mixed", "Female"): S1, ("Mixed", "Male"): S1, ("Other", "Female"): P, ("Other", "Male"): S1,
        ("White", "Female"): S2, ("White", "Male"): S2,
        ("Mixed", "Total"): S2, ("Other", "Total"): S1, ("White", "Total"): P,
        ("Total", "Female"): P, ("Total", "Male"): P, ("Total", "Total"): P,
    }
    ranges = attack(published.table, "people", ["ethnic_group", "sex"], ONS_SRO)
    assert all(high - low >= 1 for low, high in ranges.values())


def test_rates_withheld_with_their_counts_and_treated_as_revealing():
    # Rates per 100,000 computed from the unrounded counts, published with their populations.
    # Anyone can multiply a rate by its population and get the exact count back, so rounding no
    # longer hides Black, White or the total: Asian = 146 - 12 - 131 = 3 exactly. The smallest
    # publishable count, Black's 12, is suppressed too, and both rates are withheld.
    population = [20_000, 8_000, 150_000, 178_000]
    people = [3, 12, 131, 146]
    table = pa.table(
        {
            "ethnic_group": ["Asian", "Black", "White", "Total"],
            "people": people,
            "population": population,
            "rate": [n / p * PER_100K for n, p in zip(people, population)],
        }
    )
    published = apply_disclosure_control(table, "people", "ethnic_group", dependents={"people": ["rate"]})
    assert published.table.column("people").to_pylist() == [None, None, 130, 145]
    assert published.table.column("rate").to_pylist()[:2] == [None, None]
    assert published.table.column("rate").to_pylist()[2:] == table.column("rate").to_pylist()[2:]
    assert published.table.column("population").to_pylist() == population
    assert published.status.column("people").to_pylist() == [S1, S2, R, R]
    assert published.status.column("rate").to_pylist() == [W, W, P, P]
    # The reader multiplies back White 131 and the total 146: Asian + Black = 15, each 1..14.
    assert attack(published.table, "people", ["ethnic_group"], NHS_ENGLAND, rate="rate", denominator="population") == {
        0: (1, 14),
        1: (1, 14),
    }

    # Without the assumption, rounding is trusted and the attacker, who does multiply, wins.
    trusting = apply_disclosure_control(
        table, "people", "ethnic_group", dependents={"people": ["rate"]}, dependents_reveal_counts=False
    )
    assert trusting.table.column("people").to_pylist() == [None, 10, 130, 145]
    assert attack(trusting.table, "people", ["ethnic_group"], NHS_ENGLAND, rate="rate", denominator="population") == {
        0: (3, 3)
    }


def test_a_figure_derived_from_two_counts_is_withheld_when_either_is_suppressed():
    table = pa.table(
        {
            "area": ["North", "South", "East"],
            "referred": [3, 40, 60],
            "assessed": [30, 5, 50],
            "share_assessed": [10.0, 8.0, 1.2],
        }
    )
    published = apply_disclosure_control(
        table,
        ["referred", "assessed"],
        "area",
        dependents={"referred": ["share_assessed"], "assessed": ["share_assessed"]},
    )
    assert published.table.column("share_assessed").to_pylist() == [None, None, 1.2]
    assert published.status.column("share_assessed").to_pylist() == [W, W, P]
    assert published.table.column("referred").to_pylist() == [None, 40, 60]
    assert published.table.column("assessed").to_pylist() == [30, None, 50]


def test_each_by_group_is_its_own_table():
    # North: 3 + 30 = 33 and South: 20 + 25 = 45, without rounding (threshold 8). Only North's
    # 3 is small; it needs North's 30 suppressed too. South is untouched.
    rule = dataclasses.replace(NHS_ENGLAND, name="nhs_unrounded", rounding_base=None)
    table = pa.table(
        {
            "area": ["North"] * 3 + ["South"] * 3,
            "sex": ["Female", "Male", "Total"] * 2,
            "people": [3, 30, 33, 20, 25, 45],
        }
    )
    published = apply_disclosure_control(table, "people", "sex", by="area", rule=rule)
    assert published.table.column("people").to_pylist() == [None, None, 33, 20, 25, 45]
    assert published.status.column_names == ["area", "sex", "people"]


def test_zeros_suppressed_when_the_rule_says_so():
    # Threshold 8, no rounding, zeros suppressed: 0 and 5 are both small; they add up to
    # 55 - 50 = 5, and each may be anything from 0 to 5.
    rule = DisclosureRule("strict", "suppress 0-7, no rounding", suppress_below=8, rounding_base=None, publish_zero=False)
    table = pa.table({"team": ["A", "B", "C", "Total"], "people": [0, 5, 50, 55]})
    published = apply_disclosure_control(table, "people", "team", rule=rule)
    assert published.table.column("people").to_pylist() == [None, None, 50, 55]
    assert attack(published.table, "people", ["team"], rule) == {0: (0, 5), 1: (0, 5)}


def test_tables_without_margins_need_only_primary_suppression():
    table = pa.table({"ethnic_group": ["Asian", "Black", "White"], "sex": ["Male"] * 3, "people": [3, 12, 131]})
    published = apply_disclosure_control(table, "people", ["ethnic_group", "sex"], readable_ranges=True)
    assert published.table.column("people").to_pylist() == [None, 10, 130]
    assert published.readable_ranges.column("people_highest").to_pylist() == [None, None, None]
    assert published.readable_ranges.column("people_lowest").to_pylist() == [1, None, None]


def test_the_published_table_keeps_its_shape_and_names_its_rule(custody_by_ethnic_group):
    source = custody_by_ethnic_group.replace_schema_metadata({"produced_by": "measures"})
    published = apply_disclosure_control(source, "people", "ethnic_group")
    assert published.readable_ranges is None, "ranges cost time and are worked out only on request"
    assert published.table.column_names == source.column_names
    assert published.table.column("ethnic_group").equals(source.column("ethnic_group"))
    assert published.table.schema.field("people").type == pa.int64()
    metadata = published.table.schema.metadata
    assert metadata[b"produced_by"] == b"measures"
    assert metadata[b"disclosure_rule"] == b"nhs_england"
    assert metadata[b"disclosure_suppressed_symbol"] == b"*"
    assert b"1 to 7" in metadata[b"disclosure_rule_description"]
    assert b"2018" in metadata[b"disclosure_rule_source"]


def test_display_shows_the_symbol(custody_by_ethnic_group):
    # The rates make the counts exact to a reader, so Other's 8 is suppressed to protect Asian's 3.
    rule = dataclasses.replace(NHS_ENGLAND, name="nhs_with_c", suppressed_symbol="[c]")
    table = custody_by_ethnic_group.append_column("rate", pa.array([1.5, 2.0, 0.0, 3.25, 4.0, 2.5]))
    published = apply_disclosure_control(table, "people", "ethnic_group", rule=rule, dependents={"people": "rate"})
    shown = published.for_display()
    assert shown.column("people").to_pylist() == ["[c]", "10", "0", "130", "[c]", "155"]
    assert shown.column("rate").to_pylist()[0] == shown.column("rate").to_pylist()[4] == "[c]"
    assert shown.column("rate").to_pylist()[3] == "3.25"
    assert shown.column("ethnic_group").equals(table.column("ethnic_group"))


def test_add_totals_sums_the_unrounded_counts():
    table = pa.table(
        {
            "area": ["North"] * 4 + ["South"] * 4,
            "ethnic_group": ["Asian", "Asian", "White", "White"] * 2,
            "sex": ["Female", "Male"] * 4,
            "people": [1, 2, 3, 4, 10, 20, 30, 40],
            "rate": [0.1] * 8,
        }
    )
    with_totals = add_totals(table, "people", ["ethnic_group", "sex"], by="area")
    added = with_totals.slice(8).to_pylist()
    assert [(r["area"], r["ethnic_group"], r["sex"], r["people"], r["rate"]) for r in added] == [
        ("North", "Asian", "Total", 3, None),
        ("North", "White", "Total", 7, None),
        ("North", "Total", "Female", 4, None),
        ("North", "Total", "Male", 6, None),
        ("North", "Total", "Total", 10, None),
        ("South", "Asian", "Total", 30, None),
        ("South", "White", "Total", 70, None),
        ("South", "Total", "Female", 40, None),
        ("South", "Total", "Male", 60, None),
        ("South", "Total", "Total", 100, None),
    ]
    north = table.filter(pa.array([True] * 4 + [False] * 4))
    rows_only = add_totals(north, "people", ["ethnic_group", "sex"], column_totals=False)
    assert rows_only.slice(4).column("sex").to_pylist() == ["Total", "Total"]
    one_way = add_totals(pa.table({"sex": ["F", "M"], "people": [3, 4]}), "people", "sex")
    assert one_way.to_pylist()[-1] == {"sex": "Total", "people": 7}
    with pytest.raises(ValueError, match="already has 'Total' rows"):
        add_totals(one_way, "people", "sex")
    with pytest.raises(ValueError, match="must be text"):
        add_totals(pa.table({"year": [2020, 2021], "people": [3, 4]}), "people", "year")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"sex": ["F", "M", "Total"], "people": [3, 4, 8]}), "total at sex='Total' is not the sum"),
        (pa.table({"sex": ["F", "M"], "people": [3, -4]}), "negative"),
        (pa.table({"sex": ["F", "M"], "people": [3, None]}), "missing values"),
        (pa.table({"sex": ["F", "M"], "people": [3.0, 4.5]}), "fractional"),
        (pa.table({"sex": ["F", "M"], "people": ["3", "4"]}), "must hold numbers"),
        (pa.table({"sex": ["F", "F"], "people": [3, 4]}), "share the same sex"),
    ],
)
def test_bad_tables_are_refused_without_echoing_counts(table, message):
    with pytest.raises(ValueError, match=message) as raised:
        apply_disclosure_control(table, "people", "sex")
    assert not any(digit in str(raised.value).replace("sex='Total'", "") for digit in "3478")


def test_two_way_tables_with_totals_must_be_complete():
    incomplete = pa.table(
        {"ethnic_group": ["Asian", "Black", "Black", "Asian"], "sex": ["F", "F", "M", "Total"], "people": [3, 4, 5, 3]}
    )
    with pytest.raises(ValueError, match="missing for example \\('Asian', 'M'\\)"):
        apply_disclosure_control(incomplete, "people", ["ethnic_group", "sex"])
    some_row_totals = pa.table(
        {"ethnic_group": ["Asian", "Black", "Asian"], "sex": ["F", "F", "Total"], "people": [3, 4, 3]}
    )
    with pytest.raises(ValueError, match="every category of 'ethnic_group' or for none"):
        apply_disclosure_control(some_row_totals, "people", ["ethnic_group", "sex"])


def test_column_roles_are_checked():
    table = pa.table({"sex": ["F", "M"], "people": [3, 4], "rate": [1.0, 2.0]})
    with pytest.raises(ValueError, match="not found"):
        apply_disclosure_control(table, "persons", "sex")
    with pytest.raises(ValueError, match="not controlled counts: \\['rate'\\]"):
        apply_disclosure_control(table, "people", "sex", dependents={"rate": ["people"]})
    with pytest.raises(ValueError, match="not two of these"):
        apply_disclosure_control(table, "people", "sex", dependents={"people": ["sex"]})
    three_way = pa.table({"a": ["x", "Total"], "b": ["y", "y"], "c": ["z", "z"], "people": [3, 3]})
    with pytest.raises(ValueError, match="one or two dimensions"):
        apply_disclosure_control(three_way, "people", ["a", "b", "c"])
