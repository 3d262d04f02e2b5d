"""Hand-made pairs scored with the trained model: each tolerated error scores above a non-match."""

from __future__ import annotations

import duckdb
import pytest

from triangulate.link import latest_model
from triangulate.link.model import INPUT_COLUMNS, TF_COLUMNS, nicknames
from triangulate.link.run import identity_tables, prepared_input, splink_linker

BASE = {
    "unique_id": "a", "source_table": "police_custody", "source_system": "X", "source_record_id": "1",
    "given_name": "william", "given_name_canonical": "william", "family_name": "okafor",
    "full_name": "william okafor",
    "dob": "1984-03-07", "sex": "M", "postcode": "SE15 4QS", "nhs_number": None, "pnc_id": None,
}


@pytest.fixture(scope="module")
def score(linked_store):
    con = duckdb.connect(str(linked_store), read_only=True)
    try:
        _, settings = latest_model(con)
        tables = [t for t, n in identity_tables(con).items() if n]
        linker = splink_linker(prepared_input(con, tables), settings)
    finally:
        con.close()
    for column in TF_COLUMNS:
        linker.table_management.compute_tf_table(column)

    def weight(**changes) -> float:
        other = {**BASE, "unique_id": "b", "source_record_id": "2", **changes}
        other["full_name"] = f"{other['given_name_canonical']} {other['family_name']}"
        assert set(other) == set(INPUT_COLUMNS)
        pair = linker.inference.score_pair(BASE, other).as_pandas_dataframe()
        return float(pair["match_weight"].iloc[0])

    return weight


def test_identical_records_score_above_a_different_person(score):
    assert score() > score(given_name="priya", given_name_canonical="priya", family_name="shah",
                           dob="1991-11-23", postcode="M14 5TP") + 10


def test_transposed_day_and_month_scores_above_a_different_date(score):
    transposed, different = score(dob="1984-07-03"), score(dob="1962-11-19")
    assert transposed > different + 3
    assert score() > transposed


def test_swapped_names_score_above_different_names(score):
    swapped = score(given_name="okafor", given_name_canonical="okafor", family_name="william")
    different = score(given_name="tariq", given_name_canonical="tariq", family_name="begum")
    assert swapped > different + 3


def test_a_nickname_scores_above_a_different_given_name(score):
    assert score(given_name="bill", given_name_canonical="william") > score(
        given_name="george", given_name_canonical="george") + 2


def test_postcode_levels_fall_from_unit_to_sector_to_district_to_elsewhere(score):
    unit, sector, district, elsewhere = (score(postcode=p) for p in ("SE15 4QS", "SE15 4AB", "SE15 9ZZ", "LS6 2AA"))
    assert unit > sector > district > elsewhere


def test_shared_identifiers_add_weight_and_missing_ones_are_neutral(score):
    base = score()
    assert score(nhs_number="9434765919") == pytest.approx(base)
    with_pnc = {"pnc_id": "12/345678Z"}
    BASE.update(with_pnc)
    try:
        assert score(**with_pnc) > base + 5
        assert score(pnc_id="99/999999A") < base
    finally:
        BASE["pnc_id"] = None


def test_nickname_list_maps_each_short_form_once():
    short = [a for a, _ in nicknames()]
    assert len(short) == len(set(short)) > 50
    assert all(a.isalpha() and a.islower() and b.isalpha() for a, b in nicknames())
