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
