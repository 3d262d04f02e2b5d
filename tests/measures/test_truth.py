"""Truth tests: on a synthetic population whose rates are built in (``synth/data/calibration.csv``),
each measure recovers the built-in figure within its interval.

The intervals here are 99.8% limits (3.09 standard errors) from the measure's own counts, so that a
test fails when a definition counts something else (the first continuity measure gave 24.8% against
a built-in 30.3%), not by chance.
"""

from __future__ import annotations

import math

from triangulate.synth.calibration import figures as calibration

from .conftest import figures

Z_998 = 3.090


def _interval(x: int, n: int) -> tuple[float, float]:
    """Wilson score interval at 99.8%."""
    p, z2 = x / n, Z_998 ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_998 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def test_continuity_of_care_recovers_the_built_in_share_within_21_days(truth_store):
    """The generator gives a community contact within 21 days after release to 30.3% of prison leavers
    with a mental health need (the published substance misuse figure, used as the mental health analogue)."""
    rows = figures(truth_store["store"], "continuity_of_care", ("window", "breakdown", "group"))
    row = rows[("21 days", "all", "All people")]
    built_in = calibration().value("continuity.contact_within_21_days")
    assert row["releases"] > 1000
    low, high = _interval(row["with_contact"], row["releases"])
    assert low <= built_in <= high, (row["with_contact"], row["releases"], built_in)


GROUPS = {"black": "Black, Black British, Black Welsh, Caribbean or African",
          "mixed": "Mixed or Multiple ethnic groups", "asian": "Asian, Asian British or Asian Welsh",
          "other": "Other ethnic group"}


def test_mental_health_act_detention_rris_recover_the_built_in_rate_ratios(truth_store):
    """The generator detains each ethnic group at a set multiple of the White rate (Black 3.5, from the
    Mental Health Act statistics; Mixed 2.0, Asian 1.2, Other 2.0); the RRI per resident aged 10 and over
    recovers each within its 99.8% limits."""
    rows = figures(truth_store["store"], "disproportionality", ("decision_point", "breakdown", "group"))
    for name, group in GROUPS.items():
        row = rows[("mha_detention", "ethnic_group_5", group)]
        built_in = calibration().value(f"route.ethnic.mha_detention.{name}")
        assert row["lower_998"] <= built_in <= row["upper_998"], (name, row["rri"], built_in)
    white = rows[("mha_detention", "ethnic_group_5", "White")]
    assert white["rri"] is None and white["significance"] == "reference group"
