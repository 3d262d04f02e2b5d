"""Publications on disk: versions, the manifest, private unsuppressed files, and bad input."""

from __future__ import annotations

import hashlib
import stat

import pytest

from triangulate.publish.publication import (PublicationError, publications_root, read_publication,
                                             remove_version, versions, write_publication)


def test_the_manifest_says_what_was_published_and_every_file_matches_it(publication):
    store, published = publication
    m = published.manifest
    assert m["rule"]["name"] == "nhs_england" and not m["unsuppressed"]
    assert m["registry_version"] and m["created_at"] and m["store"]["fingerprint"]
    assert m["dimensions"]["areas"][0] == "All areas" and m["dimensions"]["years"] == ["All years", "2024/25"]
    assert {e["measure"] for e in m["measures"]} == set(published.names) and len(published.names) >= 9
    for e in m["measures"]:
        data = (published.folder / e["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e["sha256"]
        assert published.table(e["measure"]).num_rows == e["rows"]
    assert m["protection"]["primary"] > 0


def test_publishing_again_makes_a_new_version_and_keeps_the_old_until_removed(publication, tmp_path):
    store, published = publication
    root = tmp_path / "pubs"
    first = write_publication(store, root, rule=None)
    second = write_publication(store, root, rule=None)
    assert [p.name for p in versions(root)] == ["v0001", "v0002"]
    assert read_publication(first.folder).version == "v0001"
    # Unsuppressed publications are private.
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in second.folder.iterdir())
    assert stat.S_IMODE(second.folder.stat().st_mode) == 0o700 and second.manifest["unsuppressed"]
    remove_version(root, "v0001")
    assert [p.name for p in versions(root)] == ["v0002"]
    with pytest.raises(PublicationError, match="No publication 'v0009'"):
        remove_version(root, "v0009")


def test_an_interrupted_publish_leaves_the_previous_version_as_it_was(publication, tmp_path):
    store, published = publication
    root = tmp_path / "pubs"
    write_publication(store, root, rule=None)
    before = sorted(p.name for p in root.iterdir())

    class Broken:  # a computation whose second table cannot be written
        dimensions = published
        protection = None
        timings = {}
        tables = {"need_prevalence": published.table("need_prevalence"), "coverage": object()}

    with pytest.raises(Exception):
        write_publication(store, root, rule=None, computed=Broken())
    assert sorted(p.name for p in root.iterdir()) == before
    assert read_publication(root / "v0001").table("need_prevalence").num_rows > 0


def test_a_publication_of_another_store_is_refused_with_what_to_do(publication, tmp_path):
    from .conftest import make_store

    _, published = publication
    other = make_store(tmp_path, people=200, seed=3)
    with pytest.raises(PublicationError, match="another store or under another key"):
        read_publication(published.folder, store=other)
    with pytest.raises(PublicationError, match="run `triangulate publish` first"):
        read_publication(tmp_path)
    assert publications_root(other).name == "store.publications"


def test_every_suppressed_count_is_protected_without_raising_every_total_above_it(publication):
    # The last resort (the cell and every total above it rise together) withholds the view's headline
    # totals; the integer programme finds a cheaper certificate for every cell of these stores (the
    # linear relaxation it replaced needed the last resort 11 and 12 times on them).
    _, published = publication
    protection = published.manifest["protection"]
    assert protection["fallbacks"] == 0
    assert protection["secondary"] < protection["primary"]


def test_years_are_pooled_in_threes_back_from_the_latest_without_overlap():
    from triangulate.publish.dimensions import pooled_periods

    years = [f"{2016 + i}/{(17 + i) % 100:02d}" for i in range(8)]
    assert pooled_periods(years[:3]) == ()  # the one period would be the whole period
    assert pooled_periods(years[:4]) == (("2017/18", "2018/19", "2019/20"),)
    assert pooled_periods(years[:5]) == (("2016/17", "2017/18"), ("2018/19", "2019/20", "2020/21"))
    assert pooled_periods(years) == (("2016/17", "2017/18"), ("2018/19", "2019/20", "2020/21"),
                                     ("2021/22", "2022/23", "2023/24"))
    assert pooled_periods(["2016/17", "2017/18", "2019/20", "2020/21", "2021/22"]) == (
        ("2016/17", "2017/18"), ("2019/20", "2020/21", "2021/22"))
    # a gap in the years: no period across it
    assert pooled_periods(["2016/17", "2017/18", "2018/19", "2020/21"]) == ()


def test_a_pooled_period_is_the_sum_of_its_years_in_every_row(pooled_publication):
    from triangulate.publish.compute import compute_publication

    store, published = pooled_publication
    truth = compute_publication(store, rule=None)
    assert truth.dimensions.pooled == ("2022/23 to 2024/25",)
    checked = 0
    for name, table in truth.tables.items():
        m = published.measure(name)
        keys = ["area", "breakdown", "group", *m.keys]
        counts = [c.name for c in m.counts]
        rows = {(r["year"], *(r[k] for k in keys)): r for r in table.to_pylist()}
        for (year, *rest), row in rows.items():
            if year != "2022/23 to 2024/25":
                continue
            assert row["breakdown"] == "all"
            parts = [rows.get((y, *rest)) for y in ("2022/23", "2023/24", "2024/25")]
            for c in counts:
                assert row[c] == sum(p[c] for p in parts if p), (name, c, rest)
                checked += 1
    assert checked > 500


def test_the_whole_periods_number_of_people_in_each_setting_is_shown_where_every_year_is(pooled_publication):
    """The needs table's denominators: where every year's number of people seen in a setting may be shown,
    the whole period's is shown too (a small count of people with one need must not hide it; it was hidden
    when the last certificate's window left out the 19 categories and the two-way cells)."""
    from triangulate.disclosure import ONS_SRO
    from triangulate.publish.compute import compute_publication

    store, published = pooled_publication
    truth = compute_publication(store, rule=None).tables["need_prevalence"].to_pylist()
    shown = published.table("need_prevalence").to_pylist()

    def people(rows, year):
        return {r["setting"]: r["people"] for r in rows if r["breakdown"] == "all" and r["year"] == year
                and r["area"] == "All areas"}

    years = [y for y in published.years if y != "All years" and " to " not in y]
    every_year = {y: people(truth, y) for y in years}
    whole_true, whole_shown = people(truth, "All years"), people(shown, "All years")
    checked = 0
    for setting, n in whole_true.items():
        if all((every_year[y].get(setting) or 0) >= ONS_SRO.suppress_below for y in years):
            assert whole_shown[setting] == n, (setting, n, whole_shown[setting])  # the ONS rule does not round
            checked += 1
    assert checked >= 3  # of the four agencies' settings in this store, three have 10 or more people every year
