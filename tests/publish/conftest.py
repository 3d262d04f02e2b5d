"""Small publications for the publication and audit tests: synthetic stores, linked from their truth,
kept to one area and one financial year so that protecting them takes seconds."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from triangulate.disclosure import NHS_ENGLAND, ONS_SRO
from triangulate.ingest import ingest
from triangulate.publish.publication import latest, publications_root, write_publication
from triangulate.store.subset import restrict
from triangulate.synth import link_from_truth, write_synthetic_extracts

KEY = b"publish-test-key-".ljust(64, b"p")


def make_store(folder, *, people: int, seed: int, start=dt.date(2024, 4, 1), end=dt.date(2025, 3, 31),
               tables=None):
    """A linked synthetic store of one area; ``tables`` ingests those agencies' extracts only."""
    result = write_synthetic_extracts(folder / "synth", people=people, seed=seed)
    store = folder / "store.duckdb"
    extracts = [result.out_dir / "extracts"] if tables is None else [result.files[t] for t in tables]
    ingest([*extracts, result.files["population"]], store, key=KEY)
    link_from_truth(store, result.truth_file)  # a perfect linkage: person keys from the synthetic truth
    con = duckdb.connect(str(store))
    area = con.sql("SELECT area_code FROM content.police_custody GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
                   ).fetchall()[0][0]
    con.close()
    restrict(store, areas=[area], start=start, end=end)
    return store


@pytest.fixture(scope="session", params=[11, 29], ids=["seed-11", "seed-29"])
def publication(request, build_once):
    """(store, the NHS England publication) of a 1,500-person synthetic store, on two seeds."""
    def build(folder):
        write_publication(make_store(folder, people=1500, seed=request.param), rule=NHS_ENGLAND)

    store = build_once(f"publication-{request.param}", build) / "store.duckdb"
    return store, latest(publications_root(store))


@pytest.fixture(scope="session")
def pooled_publication(build_once):
    """(store, the ONS rule's publication: no rounding, so a sum gives back a count exactly) of one area
    over four financial years (2021/22 to 2024/25): the last three pooled, beside the years and the whole."""
    def build(folder):
        # Four agencies, not six: the court's and probation's counts (and the court attendances') were 40%
        # of the 270 s that protecting this publication took, and add no kind of line the others lack.
        store = make_store(folder, people=1200, seed=7, start=dt.date(2021, 4, 1), end=dt.date(2025, 3, 31),
                           tables=["police_custody", "liaison_diversion", "prison_custody", "mental_health", "need"])
        write_publication(store, rule=ONS_SRO)

    store = build_once("publication-pooled", build) / "store.duckdb"
    return store, latest(publications_root(store))
