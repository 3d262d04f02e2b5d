"""write_measures: published files, metadata, disclosure, and refusals of bad input."""

import csv
import json

import duckdb
import pytest

from triangulate.disclosure import ONS_SRO
from triangulate.measures import MeasuresError, measures, write_measures


@pytest.fixture(scope="module")
def published(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("published")
    report = write_measures(synthetic["store"], out, area=["E09000032", "E09000022"])
    return report


def _csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_measure_is_written_with_metadata(published):
    names = {m.name for m in measures()}
    assert set(published.files) == names
    meta = json.loads(published.metadata_file.read_text())
    assert {m["name"] for m in meta["measures"]} == names
    assert all(m["definition"] and m["method"] for m in meta["measures"])
    assert meta["unsuppressed"] is False
    assert meta["disclosure_rule"]["name"] == "nhs_england"
    assert meta["filters"]["area"] == ["E09000032", "E09000022"]
    assert meta["coverage"]["population_year_used"] == 2021
    assert meta["coverage"]["tables"]["police_custody"]["linked"] > 0
    for name, path in published.files.items():
        assert len(_csv(path)) == published.rows[name] > 0


def test_no_published_count_is_a_small_number_and_counts_are_rounded(published):
    seen_suppressed = 0
    for m in measures():
        for row in _csv(published.files[m.name]):
            for count in m.disclosure.counts:
                value = row[count]
                if value == "*":
                    seen_suppressed += 1
                    for derived in m.disclosure.dependents.get(count, ()):
                        assert row[derived] in ("*", ""), (m.name, derived)
                    continue
                assert int(value) == 0 or int(value) >= 8, (m.name, count)
                assert int(value) % 5 == 0, (m.name, count)
    assert seen_suppressed > 0


def test_unsuppressed_output_only_on_request_and_recorded(synthetic, tmp_path):
    report = write_measures(synthetic["store"], tmp_path, area="E09000032", unsuppressed=True)
    meta = json.loads(report.metadata_file.read_text())
    assert meta["unsuppressed"] is True and meta["disclosure_rule"] is None
    counts = [int(r["people"]) for r in _csv(report.files["need_prevalence"])]
    assert any(0 < c < 8 for c in counts)  # small counts are there: this output is not for publication


def test_another_rule_is_applied_and_named(synthetic, tmp_path):
    report = write_measures(synthetic["store"], tmp_path, area="E09000032", rule=ONS_SRO)
    meta = json.loads(report.metadata_file.read_text())
    assert meta["disclosure_rule"]["name"] == ONS_SRO.name
    for row in _csv(report.files["coverage"]):
        assert row["records"] == "*" or int(row["records"]) == 0 or int(row["records"]) >= 10


def test_coverage_matches_plain_sql(synthetic, tmp_path):
    report = write_measures(synthetic["store"], tmp_path, unsuppressed=True)
    got = {r["setting"]: r for r in _csv(report.files["coverage"])}
    con = duckdb.connect(str(synthetic["store"]), read_only=True)
    for table in got:
        records, recorded, gp = con.sql(
            f"""SELECT count(*), count(*) FILTER (WHERE ethnicity_code NOT IN ('Z', '99', '')),
                       count(*) FILTER (WHERE gp_registered = 'Y') FROM content.{table}"""
        ).fetchall()[0]
        assert int(got[table]["records"]) == records
        assert int(got[table]["ethnicity_recorded"]) == recorded
        assert int(got[table]["gp_registered"]) == gp
        assert float(got[table]["ethnicity_recorded_percent"]) == pytest.approx(100 * recorded / records, abs=1e-4)
    con.close()


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"area": "E09999999"}, "Unknown area code E09999999"),
        ({"period": "2024-12-31:2024-01-01"}, "ends before it starts"),
        ({"period": "1990-01-01:1990-12-31"}, "No records in the period"),
        ({"period": "2024"}, "not FROM:TO"),
        ({"demographics": {"shoe_size": "9"}}, "Cannot filter on shoe_size"),
        ({"engine": "oracle"}, "Unknown engine"),
    ],
)
def test_bad_input_says_what_is_wrong(synthetic, tmp_path, arguments, message):
    with pytest.raises(MeasuresError, match=message):
        write_measures(synthetic["store"], tmp_path / "out", **arguments)
    assert not (tmp_path / "out").exists()


def test_a_store_not_linked_is_refused(synthetic, tmp_path):
    with pytest.raises(MeasuresError, match="not been linked"):
        write_measures(synthetic["unlinked"], tmp_path)


def test_a_missing_store_is_refused(tmp_path):
    with pytest.raises(MeasuresError, match="No store"):
        write_measures(tmp_path / "nothing.duckdb", tmp_path / "out")


def test_a_population_not_covering_the_area_is_refused(tiny, tmp_path):
    tiny.population(13, 1000, area="E09000001")
    tiny.record("police_custody", "P1", area="E09000001")
    tiny.record("police_custody", "P2", area="E09000002")
    store = tiny.close()
    with pytest.raises(MeasuresError, match="does not cover area E09000002"):
        write_measures(store, tmp_path / "out", area="E09000002")
    with pytest.raises(MeasuresError, match="does not cover area E09000002"):
        write_measures(store, tmp_path / "out")
    report = write_measures(store, tmp_path / "out", area="E09000001", unsuppressed=True)
    assert report.rows["coverage"] == 6
