"""The gap analysis, worked by hand on a tiny directory and a hand-made table of published need counts."""

from __future__ import annotations

import csv

import pyarrow as pa
import pytest

from triangulate.provision import GapParameters, compute_gaps, read_path
from triangulate.provision.gaps import Service, language_coverage, wait_comparison
from triangulate.provision.formats import TEMPLATE_NAMES
from triangulate.provision.sim_map import intercept_map

AREAS = ["All areas", "E09000001", "E09000002"]
YEARS = ["All years", "2024/25"]
SERVICES = [
    {"service_name": "A custody team", "organisation_name": "Trust", "intercepts": "1", "needs": "depression",
     "areas": "E09000001", "sexes_served": "1", "capacity": "10", "capacity_unit": "people_per_year"},
    {"service_name": "B prison in-reach", "organisation_name": "Prison health", "intercepts": "3",
     "needs": "psychosis", "capacity": "5", "capacity_unit": "places"},
    {"service_name": "C shared L&D", "organisation_name": "Trust", "intercepts": "1", "needs": "depression",
     "areas": "E09000001;E09000002", "capacity": "20", "capacity_unit": "people_per_year"},
    {"service_name": "D closed", "organisation_name": "Trust", "intercepts": "2", "needs": "depression",
     "status": "defunct", "capacity": "50", "capacity_unit": "people_per_year"},
]
# (area, year, breakdown, group, setting, need, people with the need as published; None = withheld)
NEED = [
    ("E09000001", "2024/25", "all", "All people", "police_custody", "depression", 25),
    ("E09000002", "2024/25", "all", "All people", "police_custody", "depression", 5),
    ("E09000001", "2024/25", "all", "All people", "prison_custody", "psychosis", None),
    ("E09000001", "2024/25", "all", "All people", "court_appearance", "depression", 3),
    ("E09000002", "2024/25", "all", "All people", "prison_custody", "psychosis", 0),
    ("All areas", "All years", "all", "All people", "police_custody", "depression", 30),
    ("E09000001", "2024/25", "sex", "Female", "police_custody", "depression", 4),
    ("E09000001", "2024/25", "religion", "No religion", "police_custody", "depression", 9),
]


@pytest.fixture
def directory(tmp_path):
    path = tmp_path / "d.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=TEMPLATE_NAMES)
        w.writeheader()
        w.writerows(SERVICES)
    parsed = read_path(path)
    return {"version": 1, "services": parsed.services}


def need_table():
    cols = ("area", "year", "breakdown", "group", "setting", "need_code", "people_with_need")
    return pa.table({c: pa.array([r[i] for r in NEED], pa.int64() if c == "people_with_need" else pa.string())
                     for i, c in enumerate(cols)})


def rows(table):
    return {(r["area"], r["year"], r["group"], r["intercept"], r["need_code"]): r for r in table.to_pylist()}


def test_statuses_worked_by_hand(directory):
    g = rows(compute_gaps(need_table(), directory, AREAS, YEARS))
    # E1 custody depression: A (10 a year) and half of C (20 shared by two areas): 25 / 20 = 1.25
    r = g[("E09000001", "2024/25", "All people", "1", "depression")]
    assert (r["services"], r["capacity_per_year"], r["need_per_capacity"], r["status"]) == (2, 20.0, 1.25, "short of capacity")
    assert r["service_names"] == "A custody team; C shared L&D"
    r = g[("E09000002", "2024/25", "All people", "1", "depression")]  # 5 / (20 / 2) = 0.5
    assert (r["services"], r["capacity_per_year"], r["need_per_capacity"], r["status"]) == (1, 10.0, 0.5, "sufficient")
    # all areas, whole period (one year): A 10 + C 20 = 30 for 30 people: not above 1
    r = g[("All areas", "All years", "All people", "1", "depression")]
    assert (r["capacity_per_year"], r["need_per_capacity"], r["status"]) == (30.0, 1.0, "sufficient")
    # withheld count with a service: not assessed; B's 5 places x 4 a year shared by both areas
    r = g[("E09000001", "2024/25", "All people", "3", "psychosis")]
    assert (r["people_with_need"], r["capacity_per_year"], r["status"]) == (None, 10.0, "not assessed (small numbers)")
    # prison stands for intercept 4 too, where B does not work: a withheld need with no service is absent
    assert g[("E09000001", "2024/25", "All people", "4", "psychosis")]["status"] == "absent"
    # a defunct service does not count: court depression has none
    r = g[("E09000001", "2024/25", "All people", "2", "depression")]
    assert (r["services"], r["status"]) == (0, "absent")
    assert g[("E09000002", "2024/25", "All people", "3", "psychosis")]["status"] == "no need recorded"
    # women: A is for men only, so one service (C) is open to them; capacity is not split by group
    r = g[("E09000001", "2024/25", "Female", "1", "depression")]
    assert (r["services"], r["specific_services"], r["capacity_per_year"], r["status"]) == (1, 0, None, "open to the group")
    # breakdowns a service cannot be limited to are left out
    assert not any(k[2] == "No religion" for k in g)


def test_thresholds_are_parameters(directory, monkeypatch):
    g = rows(compute_gaps(need_table(), directory, AREAS, YEARS, GapParameters(short_above=1.5)))
    assert g[("E09000001", "2024/25", "All people", "1", "depression")]["status"] == "sufficient"
    g = rows(compute_gaps(need_table(), directory, AREAS, YEARS, GapParameters(turnover_per_year=2)))
    assert g[("E09000001", "2024/25", "All people", "3", "psychosis")]["capacity_per_year"] == 5.0
    monkeypatch.setenv("TRIANGULATE_GAP_PARAMETERS", '{"short_above": 2}')
    assert GapParameters.from_environment().short_above == 2.0
    monkeypatch.setenv("TRIANGULATE_GAP_PARAMETERS", '{"shortness": 2}')
    with pytest.raises(ValueError, match="unknown fields"):
        GapParameters.from_environment()


def test_the_map_places_services_and_names_the_gaps(directory):
    g = compute_gaps(need_table(), directory, AREAS, YEARS)
    svg = intercept_map(directory, g, "E09000001", "2024/25", "Services & need <E1>", local_areas=AREAS[1:])
    assert svg.startswith("<svg") and "Services &amp; need &lt;E1&gt;" in svg
    for name in ("A custody team", "C shared L&amp;D", "B prison in-reach"):
        assert name in svg
    assert "D closed" not in svg
    assert "No service for: Depression" in svg  # intercept 2
    assert "(short of capacity)" in svg
    other = intercept_map(directory, g, "E09000002", "2024/25", "E2", local_areas=AREAS[1:])
    assert "A custody team" not in other and "C shared L&amp;D" in other


def test_the_services_table_lists_active_services_flat(directory):
    from triangulate.provision import taxonomy as tx
    from triangulate.provision.gaps import services_table

    first = directory["services"][0]
    first.setdefault("attributes", []).append(tx.attribute(first["id"], tx.term("waiting_time", "stated_wait_days"), 14))
    rows = {r["name"]: r for r in services_table(directory, GapParameters()).to_pylist()}
    assert set(rows) == {"A custody team", "B prison in-reach", "C shared L&D"}  # D is defunct
    assert rows["B prison in-reach"]["capacity_per_year"] == 20.0 and rows["B prison in-reach"]["capacity"] == "5 places"
    assert rows["C shared L&D"]["areas"] == "E09000001;E09000002"
    waits = {r["stated_wait_days"] for r in rows.values()}
    assert 14.0 in waits


def _template_directory(tmp_path, services):
    path = tmp_path / "lang.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=TEMPLATE_NAMES)
        w.writeheader()
        w.writerows(services)
    return [Service.of(d, GapParameters()) for d in read_path(path).services]


def test_languages_people_speak_against_the_services_offering_them(tmp_path):
    services = _template_directory(tmp_path, [
        {"service_name": "Polish counselling", "organisation_name": "Trust", "intercepts": "0", "needs": "depression",
         "areas": "E09000001", "languages": "en;pl"},
        {"service_name": "Custody team", "organisation_name": "Trust", "intercepts": "1", "needs": "depression",
         "interpreter": "Y"},
        {"service_name": "Elsewhere", "organisation_name": "Trust", "intercepts": "0", "needs": "depression",
         "areas": "E09000002", "languages": "so"},
    ])
    cols = ("area", "year", "breakdown", "group", "language", "people")
    data = [("E09000001", "2024/25", "all", "All people", "pl", 12), ("E09000001", "2024/25", "all", "All people", "so", 9),
            ("E09000001", "2024/25", "all", "All people", "ar", None), ("E09000001", "2024/25", "all", "All people", "ta", 0),
            ("E09000001", "2024/25", "all", "All people", "interpreter needed", 15),
            ("E09000001", "2024/25", "sex", "Female", "pl", 6)]
    table = pa.table({c: pa.array([r[i] for r in data], pa.int64() if c == "people" else pa.string())
                      for i, c in enumerate(cols)})
    got = {r["language"]: r for r in language_coverage(table, services).to_pylist()}
    assert set(got) == {"pl", "so", "ar", "ta", "interpreter needed"}  # all people only
    assert (got["pl"]["status"], got["pl"]["services"], got["pl"]["service_names"]) == ("offered", 1, "Polish counselling")
    assert (got["so"]["status"], got["so"]["services"], got["so"]["interpreting_services"]) == ("interpreting only", 0, 1)
    assert got["ar"]["status"] == "not assessed (small numbers)"
    assert got["ta"]["status"] == "no need recorded"
    assert got["interpreter needed"]["status"] == "interpreting only"
    assert got["pl"]["language_label"] == "Polish"


def test_measured_waits_against_the_waits_services_state(tmp_path):
    services = _template_directory(tmp_path, [
        {"service_name": "CMHT", "organisation_name": "Trust", "intercepts": "0", "needs": "depression",
         "stated_wait_days": "14"},
        {"service_name": "Crisis", "organisation_name": "Trust", "intercepts": "0", "needs": "psychosis",
         "stated_wait_days": "0"},
        {"service_name": "Talking", "organisation_name": "Trust", "intercepts": "0", "needs": "anxiety",
         "stated_wait_days": "28", "areas": "E09000001"},
        {"service_name": "Housing", "organisation_name": "Council", "intercepts": "5", "needs": "housing",
         "stated_wait_days": "90"},
    ])
    cols = ("area", "year", "breakdown", "group", "referred", "percent_within_28_days", "median_days",
            "median_lower_95", "median_upper_95")
    nan = float("nan")
    data = [("E09000001", "2024/25", "all", "All people", 60, 30.0, 40.0, 30.0, 50.0),
            ("E09000001", "2024/25", "ethnic_group_5", "White", 40, 50.0, 12.0, 8.0, 16.0),
            ("E09000001", "2024/25", "ethnic_group_5", "Asian, Asian British or Asian Welsh", None, nan, nan, nan, nan),
            ("E09000002", "2024/25", "all", "All people", 20, 60.0, 10.0, 5.0, 20.0),
            ("E09000001", "2024/25", "sex", "Female", 20, 60.0, 10.0, 5.0, 20.0)]
    table = pa.table({c: pa.array([r[i] for r in data], pa.float64() if i >= 4 else pa.string())
                      for i, c in enumerate(cols)})
    got = {(r["area"], r["group"]): r for r in wait_comparison(table, services).to_pylist()}
    assert ("E09000001", "Female") not in got
    here = got[("E09000001", "All people")]
    # Stated waits of the area's mental health services at intercepts 0-2: 0, 14, 28; median 14.
    assert (here["services_stating"], here["stated_median_days"], here["stated_min_days"], here["stated_max_days"]) \
        == (3, 14.0, 0.0, 28.0)
    assert here["status"] == "longer than stated"  # 30 to 50 days, above 14
    assert got[("E09000001", "White")]["status"] == "similar to what services state"  # 8 to 16 holds 14
    assert got[("E09000001", "Asian, Asian British or Asian Welsh")]["status"].startswith("not measured")
    other = got[("E09000002", "All people")]
    assert (other["services_stating"], other["stated_median_days"]) == (2, 7.0)
    assert other["status"] == "similar to what services state"
