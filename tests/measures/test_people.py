"""Person-level resolution, worked by hand on a tiny store, and checked on the synthetic store."""

import duckdb

from triangulate.measures import Bases, Filters, connect
from triangulate.measures.base import age_band


def _people(store, filters=None):
    b = Bases(connect(store), filters or Filters(), cache=False)
    return {r["person_key"]: r for r in b.people.to_pyarrow().to_pylist()}


def test_the_most_frequent_usable_code_wins_and_ties_go_to_the_latest(tiny):
    # P1: A twice, M once -> A. P2: M (later) and A (earlier), one each -> M.
    # P3: only Z and 99 -> not stated. P4: Z twice and N once -> N (Z is not usable).
    tiny.record("police_custody", "P1", ethnicity="A", date="2023-01-01", age=30)
    tiny.record("mental_health", "P1", ethnicity="A", date="2023-02-01", age=31)
    tiny.record("court_appearance", "P1", ethnicity="M", date="2023-03-01", age=31)
    tiny.record("police_custody", "P2", ethnicity="A", date="2023-01-01", sex="2", age=17)
    tiny.record("mental_health", "P2", ethnicity="M", date="2023-07-01", sex="2", age=18)
    tiny.record("police_custody", "P3", ethnicity="Z", sex="X", age=None)
    tiny.record("police_custody", "P3", ethnicity="99")
    tiny.record("police_custody", "P4", ethnicity="Z", religion="NS")
    tiny.record("mental_health", "P4", ethnicity="Z", religion="MU")
    tiny.record("court_appearance", "P4", ethnicity="N", date="2022-01-01", religion="NS", age=92)
    tiny.record("police_custody", None, ethnicity="R")  # unlinked: nobody's record
    people = _people(tiny.close())

    assert set(people) == {"P1", "P2", "P3", "P4"}
    assert people["P1"]["ethnicity_code"] == "A"
    assert people["P1"]["ethnic_group_19"] == "White: English, Welsh, Scottish, Northern Irish or British"
    assert people["P1"]["age_band"] == "30-34"  # age at the first record
    assert people["P2"]["ethnicity_code"] == "M"
    assert people["P2"]["ethnic_group_5"] == "Black, Black British, Black Welsh, Caribbean or African"
    assert people["P2"]["sex"] == "2" and people["P2"]["age_band"] == "15-19"
    assert people["P3"]["ethnic_group_5"] == "Not stated/unknown"
    assert people["P3"]["sex"] == "1"  # X is not usable; the other record says 1
    assert people["P4"]["ethnicity_code"] == "N"
    assert people["P4"]["religion"] == "MU"  # NS is not usable
    assert people["P4"]["age_band"] == "90+"  # first record is the 2022 one, at 92


def test_chinese_is_asian_in_the_ons_convention(tiny):
    tiny.record("police_custody", "P1", ethnicity="R")
    people = _people(tiny.close())
    assert people["P1"]["ethnic_group_5"] == "Asian, Asian British or Asian Welsh"
    assert people["P1"]["ethnic_group_19"] == "Asian: Chinese"


def test_age_bands_follow_esp2013():
    import ibis

    t = ibis.memtable({"age": [0, 4, 5, 17, 89, 90, 104]})
    got = ibis.duckdb.connect().to_pyarrow(t.select(band=age_band(t.age))).column("band").to_pylist()
    assert got == ["0-4", "0-4", "5-9", "15-19", "85-89", "90+", "90+"]


def test_filters_choose_people_by_area_period_and_demographics(tiny):
    tiny.record("police_custody", "P1", area="E09000001", date="2023-01-01", sex="1")
    tiny.record("police_custody", "P2", area="E09000002", date="2023-01-01", sex="2")
    tiny.record("police_custody", "P3", area="E09000001", date="2020-01-01", sex="2")
    tiny.record("police_custody", "P4", area="E09000001", date="2023-05-01", sex="2")
    store = tiny.close()
    assert set(_people(store, Filters.of(area="E09000001"))) == {"P1", "P3", "P4"}
    assert set(_people(store, Filters.of(period="2022-01-01:2023-12-31"))) == {"P1", "P2", "P4"}
    both = Filters.of(area="E09000001", period="2022-01-01:2023-12-31", demographics={"sex": "2"})
    assert set(_people(store, both)) == {"P4"}


def test_ethnic_group_resolution_matches_an_independent_sql_version(synthetic, sql):
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    sql.resolved_ethnic_group(con)
    expected = {r["person_key"]: r["ethnic_group_5"] for r in sql.rows(con, "SELECT * FROM person_group")}
    con.close()
    got = {k: v["ethnic_group_5"] for k, v in _people(synthetic["store"]).items()}
    assert len(got) == 3000
    assert got == expected
