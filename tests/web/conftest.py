"""The dashboard over a small real store (synthetic, ingested, linked with Splink), in this process.

Django is configured once per test process, on a store and an app database made for the session.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from triangulate.ingest import ingest
from triangulate.link import link
from triangulate.store.subset import restrict
from triangulate.synth import write_synthetic_extracts

KEY = b"web-test-key-".ljust(64, b"w")
PASSWORD = "correct horse battery staple 42"
ROLES = ("viewer", "analyst", "screener", "admin")
AREAS = ("E09000028", "E09000032")


def short_tempdir(prefix: str) -> Path:
    """A new private folder whose path is short enough for a Unix socket inside it.

    A socket's path may be at most 107 bytes; PostgreSQL and Chromium put theirs in a temporary
    folder, which under a long TMPDIR (a CI runner's, say) is too long. The system's /tmp is used
    when TMPDIR's path is long.
    """
    import os
    import tempfile

    base = tempfile.gettempdir()
    if len(base) > 40 and os.path.isdir("/tmp"):
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


SURVEY = {"n": 240, "seed": 21, "start": dt.date(2024, 4, 1), "days": 300}


def _survey_answers():
    from triangulate.survey import load_form
    from triangulate.survey.synthetic import synthetic_responses

    form = load_form().without_licensed()
    return form, synthetic_responses(SURVEY["n"], seed=SURVEY["seed"], form=form, start=SURVEY["start"],
                                     days=SURVEY["days"])


def _build_site(folder: Path) -> None:
    """The store and its two publications (built once per run; see ``built_once``)."""
    from triangulate.derived import derived_tables
    from triangulate.disclosure import NHS_ENGLAND
    from triangulate.provision import import_directory, published_directory
    from triangulate.publish.publication import write_publication
    from triangulate.report.build import draw_charts
    from triangulate.survey import ingest_responses
    from triangulate.survey.exports import Layout, write_export
    from triangulate.survey.qda import cleared_quotes
    from triangulate.survey.synthetic import code_synthetic_free_text
    from triangulate.synth.directory import write_synthetic_directory

    population = write_synthetic_extracts(folder / "synth", people=800, seed=21)
    store = folder / "store.duckdb"
    ingest([population.out_dir / "extracts", population.files["population"]], store, KEY)
    # Two areas and two financial years (a trend, an area beside another) keep the publication (made twice
    # below) quick enough to protect: 12 s for one year, 40 s for two, 157 s for three years of 6,000 people.
    restrict(store, areas=AREAS, start=dt.date(2023, 4, 1), end=dt.date(2025, 3, 31))
    link(store, u_sample_pairs=200_000)
    import_directory(write_synthetic_directory(folder / "directory.csv", people=800, seed=21), store, by="tests")
    # A small survey in the first area (its free text coded, one answer with each phrase cleared to quote),
    # so the survey page shows figures and quotations as a commissioner would see them.
    form, answers = _survey_answers()
    ingest_responses(write_export(Layout("kobo", form), answers, folder / "survey.csv"), store, KEY, area=AREAS[0],
                     form=form, today=dt.date(2026, 1, 1))
    code_synthetic_free_text(store, folder)
    # The viewers' publication holds its drawn charts (as `triangulate publish` writes it); the
    # analysts' one does not, so the dashboard draws those on demand.
    write_publication(store, rule=NHS_ENGLAND, charts=draw_charts, directory=published_directory,
                      derived=derived_tables, quotes=cleared_quotes)
    write_publication(store, rule=None)


@pytest.fixture(scope="session")
def site(build_once):
    folder = build_once("web", _build_site)
    store = folder / "store.duckdb"
    # The synthetic files and answers again, as the build made them (the same seeds), for the tests to read.
    population = write_synthetic_extracts(folder / "synth", people=800, seed=21)
    _, answers = _survey_answers()
    from triangulate.web import server

    server.configure(store, app_db=folder / "app.sqlite3", insecure_cookies=True)
    server.migrate()
    for role in ROLES:
        server.create_user(f"test-{role}", role, PASSWORD, by="tests")
    return {"store": store, "population": population, "folder": folder, "areas": AREAS, "survey": answers}


@pytest.fixture
def client_for(site):
    from django.test import Client

    def make(role: str | None) -> Client:
        c = Client()
        if role:
            response = c.post("/login/", {"username": f"test-{role}", "password": PASSWORD})
            assert response.status_code == 302, response.content[:300]
        return c

    return make

