"""Stores for the measures tests: a synthetic one linked from its ground truth, and tiny hand-made ones.

Linkage is built elsewhere; here ``person_key`` is set from the synthetic ground truth (joined
through the identity zone on source system and source record id), which is what a perfect
linkage would write.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

import types
from importlib import resources

from triangulate.ingest import ingest

from triangulate.standard import AGENCY_TABLES, schema
from triangulate.store import connect as store_connect
from triangulate.store import ensure_schema
from triangulate.survey import ingest_responses, load_form
from triangulate.survey.exports import Layout, write_export
from triangulate.survey.synthetic import synthetic_responses
from triangulate.synth import link_from_truth, write_synthetic_extracts

KEY = b"measures-test-key-".ljust(64, b"k")


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> dict:
    """A store of 3,000 synthetic people, ingested and linked from the ground truth."""
    folder = tmp_path_factory.mktemp("synthetic")
    result = write_synthetic_extracts(folder / "synth", people=3000, seed=2024)
    unlinked = folder / "unlinked.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], unlinked, key=KEY)
    linked = folder / "linked.duckdb"
    shutil.copy(unlinked, linked)
    link_from_truth(linked, result.truth_file)
    # And a needs and experience survey of the busiest area, so the survey's measure has answers to count.
    con = duckdb.connect(str(linked), read_only=True)
    area = con.sql("SELECT area_code FROM content.police_custody GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
                   ).fetchall()[0][0]
    con.close()
    form = load_form().without_licensed()
    responses = synthetic_responses(150, seed=2024, form=form, start=dt.date(2024, 4, 1), days=364)
    export = write_export(Layout("odk", form), responses, folder / "survey.csv")
    ingest_responses(export, linked, KEY, area=area, form=form, today=dt.date(2026, 1, 1))
    code_free_text(linked, folder)
    return {"store": linked, "unlinked": unlinked, "truth": result.truth_file, "survey": responses}


def code_free_text(store: Path, folder: Path) -> None:
    """Code the survey's free text as a coder would in a qualitative tool: answers about family under
    "family", then read the themes back (triangulate survey qda-export / qda-import)."""
    import uuid

    from pyrefiqda import RefiProject
    from pyrefiqda.models import project as m

    from triangulate.survey.qda import export_free_text, import_themes

    qdpx = folder / "free-text.qdpx"
    export_free_text(store, qdpx)
    project = RefiProject.load(qdpx, extract_dir=str(folder / "qdpx"))
    family = next(c.guid for c in project.code_book.codes.code if c.name == "family")
    for source in project.sources.text_source:
        if "family" in source.plain_text_content:
            source.coding.append(m.CodingType(guid=str(uuid.uuid4()), code_ref=m.CodeRefType(target_guid=family)))
    RefiProject.save(project, qdpx)
    import_themes(qdpx, store)


@pytest.fixture(scope="session")
def truth_store(tmp_path_factory) -> dict:
    """A store of 30,000 synthetic people linked from the ground truth, large enough that a measure's
    interval is narrow enough to tell its definition from another, for the truth tests."""
    folder = tmp_path_factory.mktemp("truth")
    result = write_synthetic_extracts(folder / "synth", people=30_000, seed=2025)
    store = folder / "store.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], store, key=KEY)
    link_from_truth(store, result.truth_file)
    return {"store": store, "truth": result.truth_file, "people": result.people_file}


# --- tiny hand-made stores ---------------------------------------------------------------------

_COLUMNS = {
    "police_custody": "arrival_date",
    "court_appearance": "hearing_date",
    "liaison_diversion": "identification_date",
    "mental_health": "event_date",
    "prison_custody": "reception_date",
    "probation_supervision": "supervision_start_date",
}


class TinyStore:
    """A store written row by row: every figure in a test using it can be worked by hand."""

    def __init__(self, path: Path):
        self.path = path
        self.con = store_connect(path)
        ensure_schema(self.con)
        self.n = 0

    def record(self, table: str, person: str | None, *, area="E09000001", date="2023-06-01",
               ethnicity="A", sex="1", age=30, **fields) -> str:
        self.n += 1
        key = f"{table}-{self.n:06d}"
        values = {
            "record_key": key, "source_system": "TINY", "area_code": area,
            _COLUMNS[table]: dt.date.fromisoformat(date), "sex": sex, "ethnicity_code": ethnicity,
            "age_at_event": age, "person_key": person, "load_id": "tiny", **fields,
        }
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.con.execute(f"INSERT INTO content.{table} ({cols}) VALUES ({marks})", list(values.values()))
        return key

    def need(self, record_key: str, table: str, need_code: str, date="2023-06-01") -> None:
        self.con.execute(
            "INSERT INTO content.need (record_key, source_table, need_code, identified_by, identified_date, load_id)"
            " VALUES (?, ?, ?, 'screen', ?, 'tiny')",
            [record_key, table, need_code, dt.date.fromisoformat(date)],
        )

    def population(self, ons_group: int, people: int, *, area="E09000001", year=2021, sex="1", age_band="30-34"):
        self.con.execute(
            "INSERT INTO content.population (area_code, year, ons_ethnic_group, sex, age_band, population, source, load_id)"
            " VALUES (?, ?, ?, ?, ?, ?, 'hand-made', 'tiny')",
            [area, year, ons_group, sex, age_band, people],
        )

    def close(self) -> Path:
        self.con.close()
        return self.path


@pytest.fixture
def tiny(tmp_path) -> TinyStore:
    return TinyStore(tmp_path / "tiny.duckdb")


# --- independent figures in plain DuckDB SQL over the same store (not the measures' Ibis code) ---


def records_sql(where: str = "TRUE") -> str:
    parts = [
        f"SELECT record_key, person_key, '{t}' AS setting, area_code, {schema(t).event_date} AS d, "
        f"ethnicity_code, sex FROM content.{t} WHERE person_key IS NOT NULL"
        for t in AGENCY_TABLES
    ]
    return f"SELECT * FROM ({' UNION ALL '.join(parts)}) WHERE {where}"


def crosswalk_path() -> str:
    return str(resources.files("triangulate.standard").joinpath("codelists/ethnicity.csv"))


def resolved_ethnic_group(con: duckdb.DuckDBPyConnection) -> None:
    """Create temp table person_group(person_key, ethnic_group_5) by the documented rule."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE person_group AS
        WITH allr AS ({records_sql()}),
        usable AS (
          SELECT person_key, ethnicity_code, count(*) AS n, max(d) AS latest FROM allr
          WHERE ethnicity_code IS NOT NULL AND ethnicity_code NOT IN ('Z', '99', '')
          GROUP BY person_key, ethnicity_code),
        pick AS (
          SELECT person_key, ethnicity_code FROM usable
          QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY n DESC, latest DESC, ethnicity_code) = 1),
        xw AS (SELECT * FROM read_csv('{crosswalk_path()}', all_varchar = true))
        SELECT p.person_key, coalesce(xw.ons_2021_high_level_group, 'Not stated/unknown') AS ethnic_group_5
        FROM (SELECT DISTINCT person_key FROM allr) p
        LEFT JOIN pick USING (person_key)
        LEFT JOIN xw ON xw.nhs_ethnic_category_code = pick.ethnicity_code AND xw.ons_2021_code IS NOT NULL"""
    )


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    return con.sql(sql).to_arrow_table().to_pylist()


@pytest.fixture(scope="session")
def sql():
    return types.SimpleNamespace(
        records_sql=records_sql, resolved_ethnic_group=resolved_ethnic_group, rows=rows,
        crosswalk_path=crosswalk_path,
    )


# --- the measures' figures, as the unsuppressed publication holds them ---------------------------

_COMPUTED: dict = {}


def tables(store: Path, engine: str = "duckdb") -> dict:
    """Every measure's table in the store's unsuppressed publication (computed once per store and engine)."""
    from triangulate.publish.compute import compute_publication

    cache_key = (str(store), Path(store).stat().st_mtime_ns, engine)
    if cache_key not in _COMPUTED:
        _COMPUTED[cache_key] = compute_publication(store, rule=None, engine=engine).tables
    return _COMPUTED[cache_key]


def figures(store: Path, name: str, keys: tuple[str, ...], *, area: str = "All areas", year: str = "All years",
            engine: str = "duckdb") -> dict[tuple, dict]:
    """The measure's rows in one view of the store's unsuppressed publication, by ``keys``."""
    rows = tables(store, engine)[name].to_pylist()
    return {tuple(r[k] for k in keys): r for r in rows if r["area"] == area and r["year"] == year}
