"""Post-stratification by ethnic group from the publication's own figures, worked by hand."""

from __future__ import annotations

import math

import pyarrow as pa

from triangulate.survey.weights import weighted_shares


class Publication:
    """The two tables the weighting reads, as a publication holds them (withheld counts are None)."""

    def __init__(self, tables: dict[str, list[dict]]):
        self.tables = tables
        self.names = list(tables)

    def table(self, name: str) -> pa.Table:
        return pa.Table.from_pylist(self.tables[name])


def _need(group, breakdown, people, setting="prison_custody"):
    return {"area": "A", "year": "Y", "breakdown": breakdown, "group": group, "setting": setting,
            "need_code": "depression", "people": people}


def _said(group, breakdown, asked, positive, setting="prison", percent=None):
    return {"area": "A", "year": "Y", "breakdown": breakdown, "group": group, "setting": setting,
            "indicator": "told_about_support", "asked": asked, "positive": positive, "percent": percent}


def test_the_weighted_share_and_its_interval_by_hand() -> None:
    published = Publication({
        "need_prevalence": [_need("All people", "all", 1000), _need("White", "ethnic_group_5", 600),
                            _need("Black", "ethnic_group_5", 300), _need("Asian", "ethnic_group_5", None)],
        "survey_experience": [_said("All people", "all", 100, 50, percent=50.0), _said("White", "ethnic_group_5", 50, 30),
                              _said("Black", "ethnic_group_5", 40, 10), _said("Asian", "ethnic_group_5", None, None),
                              _said("All people", "all", 30, 12, setting="secure_hospital", percent=40.0)],
    })
    rows = {r["setting"]: r for r in weighted_shares(published).to_pylist()}
    # Strata: White (600 of 1,000; 30 of 50), Black (300; 10 of 40), and the rest together: Asian (withheld)
    # and anyone not known: 1,000 - 900 = 100 people, 100 - 90 = 10 asked, 50 - 40 = 10 saying yes.
    estimate = 0.6 * 30 / 50 + 0.3 * 10 / 40 + 0.1 * 10 / 10
    se = math.sqrt(0.36 * 0.6 * 0.4 / 50 + 0.09 * 0.25 * 0.75 / 40 + 0.01 * 1.0 * 0.0 / 10)
    prison = rows["prison"]
    assert prison["weighted_percent"] == round(100 * estimate, 1) == 53.5
    assert prison["lower_95"] == round(100 * (estimate - 1.959963984540054 * se), 1)
    assert prison["upper_95"] == round(100 * (estimate + 1.959963984540054 * se), 1)
    assert prison["unweighted_percent"] == 50.0 and "ethnic group" in prison["weighted_by"]
    assert rows["secure_hospital"]["weighted_percent"] is None
    assert "no population" in rows["secure_hospital"]["note"]


def test_no_weighted_share_where_the_rest_cannot_be_formed() -> None:
    published = Publication({
        "need_prevalence": [_need("All people", "all", 1000), _need("White", "ethnic_group_5", 800),
                            _need("Black", "ethnic_group_5", 100)],
        # Rounded counts whose shown groups add to more than the whole: 100 people in the rest of the
        # population, but 20 - 25 = -5 respondents in the rest of the survey.
        "survey_experience": [_said("All people", "all", 20, 10, percent=50.0), _said("White", "ethnic_group_5", 15, 10),
                              _said("Black", "ethnic_group_5", 10, 5)],
    })
    row = weighted_shares(published).to_pylist()[0]
    assert row["weighted_percent"] is None and row["note"].startswith("not weighted")
