"""Easy-read numbers and pictures, worked by hand."""

from __future__ import annotations

import re

from triangulate.report.easyread import about, in_words, people, times


def test_a_share_is_said_as_the_simplest_k_in_n_within_three_points():
    assert about(0.34) == (1, 3)
    assert about(0.5) == (1, 2) and about(0.52) == (1, 2)
    assert about(0.26) == (1, 4)
    assert about(0.9) == (9, 10)
    assert about(0.655) == (2, 3)
    assert about(0.353) == (1, 3)  # 35.3%: 1 in 3 is 33.3, within three points
    assert about(0.41) == (2, 5)
    assert in_words(0.01) == "almost no" and in_words(0.99) == "almost all"
    assert in_words(0.74) == "about 3 in 4"


def test_the_picture_shows_as_many_people_as_the_words_say():
    svg = people(1, 3, "1 of 3 people filled in")
    assert svg.count("<circle") == 3 and svg.count('fill="#005eb8"') == 2  # 1 person: head and body
    assert 'role="img"' in svg and "<title>1 of 3 people filled in</title>" in svg
    assert len(re.findall("<circle", times(1.9, "One person and 2 people"))) == 3
