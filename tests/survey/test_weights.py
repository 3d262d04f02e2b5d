"""Raking the survey to the records' margins, against what defines it: weights that are products of one
factor per margin and reproduce every margin; with one margin, post-stratification and Cochran's variance
worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from triangulate.measures.base import ons_groups
from triangulate.survey import load_form
from triangulate.survey.synthetic import TRUTH, synthetic_responses
from triangulate.survey.weights import MIN_RESPONDENTS, calibrated_share, rake, weighted_shares

WHITE, BLACK, ASIAN = "White", "Black, Black British, Black Welsh, Caribbean or African", "Asian, Asian British or Asian Welsh"


def test_raked_weights_reproduce_both_margins_and_are_products_of_margin_factors() -> None:
    names = [("Female", "25-34", WHITE), ("Female", "25-34", BLACK), ("Male", "25-34", WHITE),
             ("Male", "25-34", BLACK), ("Not known", "25-34", WHITE)]
    asked = np.array([10.0, 30.0, 40.0, 20.0, 5.0])
    population = {"sex": {"Female": 500, "Male": 500}, "ethnic_group_5": {WHITE: 700, BLACK: 300},
                  "age_group": {"25-34": 900}}  # one age group: nothing to balance on that margin
    weights, used = rake(names, asked, population)
    assert [m for m, _ in used] == ["sex", "ethnic_group_5"]
    total = weights @ asked
    assert math.isclose(total, asked.sum(), rel_tol=1e-9)  # each step moves weight within its categories only
    # Each margin's known categories in the population's proportions. Sex: the 100 respondents of known
    # sex keep their weighted total between them and split it 50:50 (the one of unknown sex is not raked on sex).
    known_sex = weights[:4] @ asked[:4]
    assert math.isclose(weights[[0, 1]] @ asked[[0, 1]], known_sex / 2, rel_tol=1e-8)
    assert math.isclose((weights[[0, 2, 4]] @ asked[[0, 2, 4]]) / total, 0.7, rel_tol=1e-8)
    # Raking's weights are a product of one factor per margin: the cross-ratio of the four known cells is 1.
    # (an additive or capped adjustment would not keep it).
    assert math.isclose(weights[0] * weights[3] / (weights[1] * weights[2]), 1.0, rel_tol=1e-8)

def test_with_one_margin_raking_is_post_stratification_with_cochrans_variance() -> None:
    # Population 600 White, 300 Black, 100 Asian; asked 50, 40, 10; saying yes 30, 10, 10.
    names = [("Male", "25-34", WHITE), ("Male", "25-34", BLACK), ("Male", "25-34", ASIAN)]
    asked, positive = np.array([50.0, 40.0, 10.0]), np.array([30.0, 10.0, 10.0])
    weights, used = rake(names, asked, {"ethnic_group_5": {WHITE: 600, BLACK: 300, ASIAN: 100}, "sex": {"Male": 9}})
    estimate, se, design_effect = calibrated_share(names, asked, positive, weights, used)
    by_hand = 0.6 * 30 / 50 + 0.3 * 10 / 40 + 0.1 * 10 / 10
    cochran = math.sqrt(0.6 ** 2 * 0.6 * 0.4 / 50 + 0.3 ** 2 * 0.25 * 0.75 / 40 + 0.1 ** 2 * 1.0 * 0.0 / 10)
    assert math.isclose(estimate, by_hand, rel_tol=1e-9) and math.isclose(se, cochran, rel_tol=1e-9)
    # Kish: n sum(w^2) / (sum w)^2 with each group's weight its population share over its sample share.
    w = np.array([0.6 / 0.5, 0.3 / 0.4, 0.1 / 0.1])
    assert math.isclose(design_effect, 100 * (w ** 2 @ asked) / (w @ asked) ** 2, rel_tol=1e-9)


class Publication:
    """The tables the weighting reads, as a publication holds them (withheld counts are None)."""

    manifest = {"dimensions": {"pooled": []}}

    def __init__(self, tables: dict[str, list[dict]]):
        self.tables = tables
        self.names = list(tables)

    def table(self, name: str) -> pa.Table:
        return pa.Table.from_pylist(self.tables[name])


def _need(group, breakdown, people):
    return {"area": "A", "year": "2024/25", "breakdown": breakdown, "group": group, "setting": "prison_custody",
            "need_code": "depression", "people": people}


def _said(asked, positive, setting="prison"):
    return {"area": "A", "year": "2024/25", "breakdown": "all", "group": "All people", "setting": setting,
            "indicator": "told_about_support", "asked": asked, "positive": positive,
            "percent": None if asked is None else 100 * positive / asked}


def _fine(rows: list[tuple]) -> dict[str, pa.Table]:
    """Fine counts as the publication keeps them: (setting, sex, 19-category, asked, positive) per row."""
    def table(which):
        return pa.table({
            "year": ["2024/25"] * len(rows), "area_code": ["A"] * len(rows), "setting": [r[0] for r in rows],
            "indicator": ["told_about_support"] * len(rows), "sex": [r[1] for r in rows],
            "age_group": ["25-34"] * len(rows), "ethnic_group_19": [r[2] for r in rows],
            "religion": ["Not known"] * len(rows), "disability": ["Not known"] * len(rows),
            "first_language": ["English"] * len(rows), "n": [r[3 + which] for r in rows]})
    return {"asked": table(0), "positive": table(1)}


def test_the_weighted_table_publishes_whole_percentages_for_whole_settings_only() -> None:
    published = Publication({
        "need_prevalence": [_need("All people", "all", 1000), _need("Female", "sex", 100), _need("Male", "sex", 900),
                            _need(WHITE, "ethnic_group_5", 600), _need("Black", "ethnic_group_5", None)],
        "survey_experience": [_said(60, 30), _said(20, 10, "community"), _said(40, 12, "secure_hospital")],
    })
    fine = _fine([("prison", "Female", "White: Irish", 30, 20), ("prison", "Male", "White: Irish", 30, 10),
                  ("community", "Male", "White: Irish", 20, 10), ("secure_hospital", "Male", "White: Irish", 40, 12)])
    rows = {r["setting"]: r for r in weighted_shares(published, fine).to_pylist()}
    prison = rows["prison"]
    # One margin with two categories shown (sex; the 5-groups have one shown): 10% women at 2/3, 90% men at 1/3.
    assert prison["weighted_percent"] == round(100 * (0.1 * 20 / 30 + 0.9 * 10 / 30)) == 37
    assert prison["weighted_by"].startswith("sex of the people in prison custody")
    assert prison["lower_95"] < 37 < prison["upper_95"] and prison["design_effect"] > 1
    assert all(float(v).is_integer() for v in (prison["weighted_percent"], prison["lower_95"], prison["upper_95"]))
    assert rows["community"]["weighted_percent"] is None and str(MIN_RESPONDENTS) in rows["community"]["note"]
    assert rows["secure_hospital"]["weighted_percent"] is None and "no population" in rows["secure_hospital"]["note"]
    # Without the fine counts nothing is weighted (the table still says why).
    assert weighted_shares(published).column("weighted_percent").null_count == 3


def test_the_raked_share_recovers_the_rate_of_a_population_with_another_mix() -> None:
    """The synthetic survey interviews the 5-groups in its own proportions (62% White) and an answer's
    chance depends on the 5-group alone (``TRUTH``). Weighted to a prison of another mix (and another sex
    and age profile), the share must be the groups' rates in the prison's proportions."""
    form = load_form().without_licensed()
    responses = synthetic_responses(3000, seed=41, form=form)
    nineteen = {g5: g19 for g19, g5 in zip(ons_groups().column("ethnic_group_19").to_pylist(),
                                           ons_groups().column("ethnic_group_5").to_pylist())}
    cells: dict[tuple, list[int]] = {}
    for r in responses:
        a = r["answers"]
        if a["setting"] != "prison" or a["consent"] != "yes" or not a["info_given"]:
            continue
        sex = {"1": "Male", "2": "Female"}.get(form.code_of("sex", a["sex"]), "Not known")
        group = "Not stated/unknown" if a["ethnic_group"] == "prefer_not" else nineteen[r["ethnic_group_5"]]
        cell = cells.setdefault((sex, form.code_of("age_group", a["age_group"]), group), [0, 0])
        cell[0] += 1
        cell[1] += a["info_given"] == "yes"
    rows = list(cells.items())
    fine = {which: pa.table({
        "year": ["2025/26"] * len(rows), "area_code": ["A"] * len(rows), "setting": ["prison"] * len(rows),
        "indicator": ["told_about_support"] * len(rows), "sex": [k[0] for k, _ in rows],
        "age_group": [k[1] for k, _ in rows], "ethnic_group_19": [k[2] for k, _ in rows],
        "n": [v[i] for _, v in rows]}) for i, which in enumerate(("asked", "positive"))}
    prison = {WHITE: 300, BLACK: 400, ASIAN: 150, "Mixed or Multiple ethnic groups": 100, "Other ethnic group": 50}
    need = [{"area": "A", "year": "2025/26", "setting": "prison_custody", "need_code": "depression",
             "breakdown": b, "group": g, "people": n}
            for b, groups in (("ethnic_group_5", prison), ("sex", {"Male": 950, "Female": 50}),
                              ("age_group", {"15-19": 30, "20-24": 170, "25-34": 400, "35-44": 250, "45-54": 100, "55-64": 40, "65+": 10}))
            for g, n in groups.items()]
    asked, positive = sum(v[0] for _, v in rows), sum(v[1] for _, v in rows)
    said = [{"area": "A", "year": "2025/26", "setting": "prison", "indicator": "told_about_support",
             "breakdown": "all", "group": "All people", "asked": asked, "positive": positive,
             "percent": 100 * positive / asked}]
    row = weighted_shares(Publication({"need_prevalence": need, "survey_experience": said}), fine).to_pylist()[0]
    truth = 100 * sum(n * TRUTH["info_given=yes"][g] for g, n in prison.items()) / sum(prison.values())
    se = (row["upper_95"] - row["lower_95"]) / (2 * 1.959963984540054)
    assert row["weighted_by"].startswith("sex, age group and ethnic group (5 groups)"), row
    assert abs(row["weighted_percent"] - truth) <= 3.1 * se + 1  # 99.8%, and the whole-percent rounding
    # Unweighted, the interviewed mix's share: further from the prison's (here by more than 3 points).
    assert abs(row["unweighted_percent"] - truth) > abs(row["weighted_percent"] - truth) + 3
    assert 1 < row["design_effect"] < 3


def test_a_group_whose_survey_count_is_withheld_is_not_weighted_back_into_sight() -> None:
    """The attack the rule stops: White shown (20 of 40) and Black withheld (the true 3 of 8); weighted
    to a prison of 600 White and 400 Black people, the share would be 0.6 x 20/40 + 0.4 x 3/8 = 45%, and
    a reader knowing the shares and the White rate solves (45 - 30) / 40 for the Black rate, and with
    the Black respondents (48 - 40) the withheld count. So the ethnic group margin is not raked there."""
    need = [{"area": "A", "year": "2024/25", "setting": "prison_custody", "need_code": "depression",
             "breakdown": "ethnic_group_5", "group": g, "people": n} for g, n in ((WHITE, 600), (BLACK, 400))]
    said = [{"area": "A", "year": "2024/25", "setting": "prison", "indicator": "told_about_support",
             "breakdown": b, "group": g, "asked": a, "positive": x, "percent": None}
            for b, g, a, x in (("all", "All people", 48, 23), ("ethnic_group_5", WHITE, 40, 20),
                               ("ethnic_group_5", BLACK, None, None))]
    rows = [("prison", "Male", "White: Irish", 40, 20), ("prison", "Male", "Black: African", 8, 3)]
    fine = _fine(rows)
    published = Publication({"need_prevalence": need, "survey_experience": said})
    row = weighted_shares(published, fine).to_pylist()[0]
    assert row["weighted_percent"] is None and row["note"] == "not weighted: too few groups shown to weight by"
    # With the Black group's counts shown, the same figures are weighted (the rule, not the data, withheld it).
    said[2].update(asked=8, positive=3)
    shown = weighted_shares(Publication({"need_prevalence": need, "survey_experience": said}), fine).to_pylist()[0]
    assert shown["weighted_percent"] == 45
