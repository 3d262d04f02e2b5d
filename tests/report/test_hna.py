"""The cross-view chapters' own rules, worked by hand (comparisons with a benchmark and funnel limits
are the stats room's, tested against PHEindicatormethods there)."""

from __future__ import annotations

from triangulate.report.hna import change, expected_count, year_heading


def _v(value, lower, upper):
    return {"value": value, "lower": lower, "upper": upper}


def test_a_change_is_called_only_where_the_intervals_do_not_overlap():
    assert change(_v(10, 9, 11), _v(15, 12, 18)) == "higher"
    assert change(_v(10, 9, 11), _v(6, 4, 8)) == "lower"
    assert change(_v(10, 9, 11), _v(12, 10.5, 13)) == "similar"
    assert change(_v(10, None, None), _v(12, 10.5, 13)) is None  # a withheld year says nothing


def test_a_year_the_data_cover_in_part_says_where_they_end():
    manifest = {"data_period": {"first": "2021-04-01", "last": "2025-12-31"}}
    assert year_heading("2025/26", manifest) == "2025/26 (to 31 Dec 2025)"
    assert year_heading("2024/25", manifest) == "2024/25"
    assert year_heading("2025/26", {"data_period": {"first": "2021-04-01", "last": "2026-03-31"}}) == "2025/26"
    assert year_heading("2025/26", {}) == "2025/26"  # a publication made before the period was recorded


def test_the_expected_number_applies_each_sex_its_rate_and_a_range_where_a_sex_is_withheld():
    rates = {"Male": 0.10, "Female": 0.20}
    # 100 men at 10% and 50 women at 20%: 10 + 10.
    assert expected_count({"Male": 100, "Female": 50}, 150, rates) == (20.0, 20.0)
    # Women withheld: the 60 the total leaves are women (one withheld sex), so 10 + 12 exactly.
    assert expected_count({"Male": 100, "Female": None}, 160, rates) == (22.0, 22.0)
    # Both withheld: the 200 people are anywhere between all men (20) and all women (40).
    assert expected_count({"Male": None, "Female": None}, 200, rates) == (20.0, 40.0)
    assert expected_count({"Male": None, "Female": None}, None, rates) is None
    # A group with no rate ("Not known") is neither expected nor taken from the total as a sex with a rate.
    assert expected_count({"Male": 100, "Female": 50, "Not known": 5}, 155, rates) == (20.0, 20.0)


def test_a_chart_names_each_ethnic_group_by_its_first_word():
    from triangulate.report.charts import forest, short_group

    assert [short_group(g) for g in ("Black, Black British, Black Welsh, Caribbean or African",
                                     "Mixed or Multiple ethnic groups", "Other ethnic group", "White")] == \
        ["Black", "Mixed", "Other", "White"]
    spec = forest([{"decision": "Police custody", "group": "Black", "rri": 1.9, "lower": 1.8, "upper": 2.0}])
    assert spec["columns"] == 2  # two panels a row: legible at the width of an A4 page


def test_the_spine_chart_puts_all_areas_at_the_centre_and_the_furthest_area_at_an_end():
    from triangulate.report.charts import spine
    from triangulate.report.hna import AREA_INDICATORS, spine_rows

    def area(**given):
        return {k: given.get(k, _v(None, None, None)) for k in AREA_INDICATORS}

    by_area = {
        "A": area(custody_self_harm=_v(12, 11, 13), rri_black_custody=_v(2.0, 1.5, 2.5)),
        "B": area(custody_self_harm=_v(6, 4, 9), rri_black_custody=_v(1.0, 0.5, 1.5)),
        "C": area(custody_self_harm=_v(10, 8, 12)),
        "D": area(),  # everything withheld: no marks
    }
    # The continuity figure of all areas is withheld: no benchmark, so no line for it.
    whole = area(custody_self_harm=_v(10, 9.5, 10.5), continuity_21=_v(None, None, None))
    rows = spine_rows(by_area, whole)
    harm = {r["area"]: r for r in rows if r["indicator"] == "Self-harm, custody (%)"}
    # Furthest from 10 is B (4 below): the scale is 0.5 per 4 points, so 12 -> 0.75, 6 -> 0, 10 -> 0.5.
    assert {a: r["x"] for a, r in harm.items()} == {"A": 0.75, "B": 0.0, "C": 0.5}
    assert {a: r["verdict"] for a, r in harm.items()} == {"A": "higher", "B": "lower", "C": "similar"}
    # The range 6 to 12, and the middle half 8 to 11 (25th and 75th percentiles of 6, 10, 12).
    assert (harm["A"]["low"], harm["A"]["q1"], harm["A"]["q3"], harm["A"]["high"]) == (0.0, 0.25, 0.625, 0.75)
    rri = {r["area"]: r for r in rows if r["indicator"].startswith("RRI")}
    assert {a: (r["x"], r["verdict"]) for a, r in rri.items()} == {"A": (1.0, "higher"), "B": (0.5, "similar")}
    assert {r["indicator"] for r in rows} == {"Self-harm, custody (%)", "RRI, Black people, police custody"}
    assert [r["area"] for r in rows] == sorted(r["area"] for r in rows)  # areas in the order given
    spec = spine(rows)
    assert spec["facet"]["row"]["sort"] == ["A", "B", "C"]
    assert spine([]) is None


def _tooltip_names(vega: dict) -> list[set[str]]:
    """The names each mark's tooltip gives its figures, from a compiled Vega specification."""
    import json
    import re

    found = []

    def walk(node):
        if isinstance(node, dict):
            tip = (node.get("tooltip") or {}).get("signal") if isinstance(node.get("tooltip"), dict) else None
            if tip:
                found.append(set(re.findall(r'"([^"]+)": ', tip)))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(json.dumps(vega)))
    return found


def test_an_explored_chart_names_its_figures_as_the_table_does_not_by_its_field_names():
    """The tooltip of each mark reads "Relative rate index: 1.9", "Ethnic group: Black", not "rri" and
    "group"; a spine chart's mark gives the area's published figure and the benchmark, not its scaled
    position (which is not a figure)."""
    from triangulate.report.charts import forest, full, interactive, spine

    names = _tooltip_names(interactive(full(forest(
        [{"decision": "Police custody", "group": "Black", "rri": 1.9, "lower": 1.8, "upper": 2.0}]))))
    assert {"Decision point", "Ethnic group", "Relative rate index"} in names
    assert {"Decision point", "Ethnic group", "Lower limit", "Upper limit"} in names
    assert not {"rri", "group", "lower", "upper", "decision"} & set().union(*names)
    rows = [{"area": "A", "indicator": "Self-harm, custody (%)", "x": 0.75, "low": 0.0, "q1": 0.25, "q3": 0.6,
             "high": 0.75, "verdict": "higher", "shown": "12.0", "benchmark": "10.0"}]
    names = _tooltip_names(interactive(full(spine(rows))))
    assert {"Area", "Figure", "Against all areas", "Value", "All areas"} in names
    assert not {"x", "q1", "q3", "low", "high"} & set().union(*names)


def test_the_summary_at_a_glance_names_what_differs_from_all_areas_and_what_has_changed():
    from triangulate.report.hna import Glance, glance_sentences

    def g(label, kind, compared, trend, shown="5.0", interval="4.0 to 6.0"):
        return Glance(label, label, kind, shown, interval, compared, "", (), trend)

    rows = [g("People in prison", "count", "", ""),
            g("Self-harm, people in police custody (%)", "percent", "higher", "no clear change"),
            g("Psychosis, people in prison (%)", "percent", "lower", "lower"),
            g("Reoffending (%)", "percent", "similar", "higher"),
            g("RRI, Black people (against White)", "ratio", "higher", "", "2.10", "1.80 to 2.45")]
    text = glance_sentences(rows, "2024/25")
    assert text[0] == ("Compared with all areas (2024/25): higher than all areas for Self-harm, people in police "
                       "custody, and lower for Psychosis, people in prison. The others are similar to all areas "
                       "(95% intervals that span the figure for all areas).")
    assert text[1].startswith("RRI, Black people: 2.10 (95% CI 1.80 to 2.45), higher than 1")
    assert text[2].startswith("Over the financial years: up for Reoffending, and down for Psychosis, people in prison")
    similar = [g("A (%)", "percent", "similar", "no clear change"), g("B (%)", "percent", "not compared", "")]
    assert glance_sentences(similar, "all years pooled") == [
        "Compared with all areas (all years pooled): every figure that can be compared is similar (its 95% interval "
        "spans the figure for all areas).",
        "Over the financial years, no figure has clearly changed (first against last year shown: their 95% intervals "
        "overlap)."]
    assert glance_sentences([g("C (%)", "percent", "not compared", "")], "2024/25") == []
