"""The synthetic multi-agency population: realistic extracts that can be shared because no one is real.

Real extracts from police, courts, prisons, probation, liaison & diversion and mental health
services cannot leave the agencies, yet the embedded default, the tests and the demo need data
on which record linkage and statistics are not trivial. This room simulates people of a few
synthetic areas, their journeys along the Sequential Intercept Model and the records each agency
would hold about them, calibrated to published figures (``data/calibration.csv``, with sources),
with realistic identifier errors (``data/noise.csv``) and with the ground truth kept apart.

The work is done in stages, each a module with plain array inputs and outputs:

``residents``  the resident population, and the cohort of people with any contact drawn from it
``people``     the true people: demographics, identifiers, addresses over time, needs by setting
``journeys``   arrests, hearings, prison stays, supervision, referrals and detentions as records
``recording``  how each agency records identifiers and demographics, with errors
``needs``      needs found at screens, assessments and diagnoses, pointing at their records
``output``     record ids, deliberate rule breaks and the CSV or Parquet files

Only :func:`write_synthetic_extracts` and :class:`SynthResult` are public. Every random draw
comes from generators seeded from ``seed`` and a stage name, so the same arguments give the same
bytes and a change in one stage does not reshuffle the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triangulate.standard import AGENCY_TABLES, ENCODED_FIELDS, codelist, schema
from triangulate.synth.calibration import NOISE_LEVELS, areas, figures, noise_rates
from triangulate.synth.journeys import TableRecords, simulate_journeys
from triangulate.synth.needs import IdentifiedTable, need_rows
from triangulate.synth.output import FORMATS, break_rules, record_ids, source_systems, write_table
from triangulate.synth.people import NEEDS, SETTINGS, People, assign_pnc_ids, make_people
from triangulate.synth.recording import record_identifiers
from triangulate.synth.residents import ROUTES, ResidentPopulation, draw_cohort, resident_population

__all__ = ["SynthResult", "write_synthetic_extracts"]

#: Stage names that seed independent random streams (append new ones at the end).
_STREAMS = ("cohort", "people", "journeys", "pnc", "recording", "record_ids", "needs", "rule_breaks")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SynthResult:
    """What :func:`write_synthetic_extracts` wrote.

    ``records`` and ``files`` have an entry for every agency table, ``need`` and ``population``.
    ``truth_file`` is the ground truth (one row per agency record with its true ``person_id``);
    ``people_file`` the true people; ``invalid_rows_file`` the rows that break a rule on purpose.
    """

    out_dir: Path
    people: int
    seed: int
    fmt: str
    noise: str
    records: dict[str, int]
    files: dict[str, Path]
    truth_file: Path
    people_file: Path
    invalid_rows_file: Path
    seconds: float

    @property
    def agency_records(self) -> int:
        return sum(self.records[t] for t in AGENCY_TABLES)


def _check_arguments(people: int, seed: int, fmt: str, noise: str) -> None:
    if isinstance(people, bool) or not isinstance(people, (int, np.integer)) or people < 1:
        raise ValueError(f"people must be a whole number of at least 1; got {people!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number; got {seed!r}")
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if noise not in NOISE_LEVELS:
        raise ValueError(f"noise must be one of {', '.join(NOISE_LEVELS)}; got {noise!r}")


def _kinds(table: str) -> dict[str, str]:
    return {f.name: f.type for f in schema(table).fields}


def _extract_columns(records: TableRecords, identity: dict[str, np.ndarray], system: np.ndarray, ids: np.ndarray) -> dict[str, np.ndarray]:
    area_codes = np.array([a.code for a in areas()], dtype=object)
    available = dict(records.columns)
    available.update(identity)
    available["source_system"] = system
    available["source_record_id"] = ids
    available["area_code"] = area_codes[records.area]
    # Plain extracts, as most agencies send them: the fields of an encoded one are left out.
    fields = [f for f in schema(records.table).field_names if f not in ENCODED_FIELDS]
    missing = [f for f in fields if f not in available]
    if missing:
        raise RuntimeError(f"{records.table}: the simulation produced no values for {', '.join(missing)}")
    return {f: available[f] for f in fields}


def _population_columns(population: ResidentPopulation) -> dict[str, np.ndarray]:
    counts = population.counts
    a, g, s, b = np.indices(counts.shape).reshape(4, -1)
    area_codes = np.array([x.code for x in areas()], dtype=object)
    bands = np.asarray(codelist("age_band").codes, dtype=object)
    columns = {
        "area_code": area_codes[a],
        "area_name": np.array([x.name for x in areas()], dtype=object)[a],
        "year": np.full(a.size, population.year, dtype=np.int64),
        "ons_ethnic_group": (g + 1).astype(np.int64),
        "sex": (s + 1).astype(str).astype(object),
        "age_band": bands[b],
        "population": counts.ravel().astype(np.int64),
        "source": np.full(a.size, population.source, dtype=object),
    }
    return {f: columns[f] for f in schema("population").field_names}


def _people_columns(people: People) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    start = figures().date("period.start")
    current, _ = people.addresses.index_at(np.arange(len(people)), np.full(len(people), start))
    area_codes = np.array([a.code for a in areas()], dtype=object)
    columns: dict[str, np.ndarray] = {
        "person_id": people.person_id,
        "given_name": people.given_name,
        "family_name": people.family_name,
        "date_of_birth": people.date_of_birth,
        "sex": people.sex.astype(str).astype(object),
        "postcode": people.addresses.postcode[current],
        "area_code": area_codes[people.addresses.area[current]],
        "nhs_number": np.where(people.nhs_number == "", None, people.nhs_number).astype(object),
        "pnc_id": np.where(people.pnc_id == "", None, people.pnc_id).astype(object),
        "pnc_created_date": people.pnc_created,
        "ethnicity_code": people.nhs_ethnicity,
        "ons_ethnic_group": people.ons_group.astype(np.int64),
        "religion": people.religion,
        "first_language": people.first_language,
        "interpreter_needed": people.interpreter_needed,
        "disability": people.disability,
        "gp_registered": people.gp_registered,
        "entry_route": np.asarray(ROUTES, dtype=object)[people.route],
        "needs_setting": np.asarray(SETTINGS, dtype=object)[people.setting],
        "frequent_attender": people.frequent_attender,
        "known_to_mental_health": people.known_to_mental_health,
    }
    for i, code in enumerate(NEEDS):
        columns[f"need_{code}"] = people.needs[:, i]
    kinds = {}
    for name, values in columns.items():
        if values.dtype == bool:
            kinds[name] = "boolean"
        elif np.issubdtype(values.dtype, np.datetime64):
            kinds[name] = "date"
        elif np.issubdtype(values.dtype, np.integer):
            kinds[name] = "integer"
        else:
            kinds[name] = "string"
    return columns, kinds


def write_synthetic_extracts(
    out_dir: Path,
    people: int,
    seed: int,
    fmt: str = "csv",
    noise: str = "default",
    progress: Progress | None = None,
) -> SynthResult:
    """Simulate ``people`` people with agency contact and write their extracts under ``out_dir``.

    Layout: ``extracts/<table>.<fmt>`` for the six agency tables and ``need``;
    ``population.<fmt>`` (residents by area, ONS ethnic group, sex and age band); and, apart from
    them, ``truth/ground_truth.<fmt>`` (every agency record with its true ``person_id``),
    ``truth/people.<fmt>`` (the true people) and ``truth/invalid_rows.<fmt>`` (rows that break a
    validation rule on purpose; none at ``noise="low"``). Same arguments, same bytes.
    """
    _check_arguments(people, seed, fmt, noise)
    began = time.perf_counter()
    out_dir = Path(out_dir)
    rates = noise_rates(noise)
    rng = {name: np.random.default_rng([int(seed), i]) for i, name in enumerate(_STREAMS)}
    total_steps = 3 + len(AGENCY_TABLES) * 2 + 2
    step = 0

    def report(stage: str) -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(f"Synthesising: {stage}", step, total_steps)

    population = resident_population(people)
    cohort = draw_cohort(population, people, rng["cohort"])
    report("Drawing the cohort from the resident population")
    who = make_people(cohort, rng["people"])
    report("Giving people identities, addresses and needs")
    journeys = simulate_journeys(who, rng["journeys"])
    assign_pnc_ids(who, journeys.first_arrest, rng["pnc"])
    report("Simulating journeys along the intercepts")

    ext = fmt
    extracts = out_dir / "extracts"
    truth_dir = out_dir / "truth"
    files: dict[str, Path] = {}
    records: dict[str, int] = {}
    written: dict[str, dict[str, np.ndarray]] = {}
    identified: dict[str, IdentifiedTable] = {}
    truth_parts: dict[str, list[np.ndarray]] = {k: [] for k in ("source_table", "source_system", "source_record_id", "person_id")}
    for table in AGENCY_TABLES:
        rec = journeys.tables[table]
        order = np.lexsort((rng["record_ids"].random(len(rec)), rec.when))
        rec = rec.take(order)
        system = source_systems(table, rec.area)
        ids = record_ids(table, system, rng["record_ids"])
        identity = record_identifiers(rec, who, rates, rng["recording"])
        written[table] = _extract_columns(rec, identity, system, ids)
        identified[table] = IdentifiedTable(table, rec.person, system, ids, rec.columns)
        truth_parts["source_table"].append(np.full(len(rec), table, dtype=object))
        truth_parts["source_system"].append(system)
        truth_parts["source_record_id"].append(ids)
        truth_parts["person_id"].append(who.person_id[rec.person])
        report(f"Recording identifiers in {table}")
    needs = need_rows(identified, who, rng["needs"])
    report("Recording needs where agencies found them")

    invalid: dict[str, list[np.ndarray]] = {k: [] for k in ("source_table", "source_system", "source_record_id", "rule_broken")}
    for table in AGENCY_TABLES:
        columns = written[table]
        broken = break_rules(table, columns, rates["invalid_row"], rng["rule_breaks"])
        rows = np.array([r for r, _ in broken], dtype=np.int64)
        invalid["source_table"].append(np.full(len(rows), table, dtype=object))
        invalid["source_system"].append(columns["source_system"][rows])
        invalid["source_record_id"].append(columns["source_record_id"][rows])
        invalid["rule_broken"].append(np.array([b for _, b in broken], dtype=object))
        files[table] = extracts / f"{table}.{ext}"
        records[table] = write_table(files[table], columns, _kinds(table), fmt)
        report(f"Writing {table}")
    files["need"] = extracts / f"need.{ext}"
    records["need"] = write_table(files["need"], {f: needs[f] for f in schema("need").field_names}, _kinds("need"), fmt)
    files["population"] = out_dir / f"population.{ext}"
    records["population"] = write_table(files["population"], _population_columns(population), _kinds("population"), fmt)

    truth_file = truth_dir / f"ground_truth.{ext}"
    truth = {k: np.concatenate(v) for k, v in truth_parts.items()}
    write_table(truth_file, truth, dict.fromkeys(truth, "string"), fmt)
    people_file = truth_dir / f"people.{ext}"
    people_columns, people_kinds = _people_columns(who)
    write_table(people_file, people_columns, people_kinds, fmt)
    invalid_rows_file = truth_dir / f"invalid_rows.{ext}"
    bad = {k: np.concatenate(v) if v else np.array([], dtype=object) for k, v in invalid.items()}
    write_table(invalid_rows_file, bad, dict.fromkeys(bad, "string"), fmt)
    report("Writing the population, needs and the ground truth")

    return SynthResult(
        out_dir=out_dir,
        people=int(people),
        seed=int(seed),
        fmt=fmt,
        noise=noise,
        records=records,
        files=files,
        truth_file=truth_file,
        people_file=people_file,
        invalid_rows_file=invalid_rows_file,
        seconds=time.perf_counter() - began,
    )


def link_from_truth(store: str | Path, truth: str | Path) -> None:
    """Give every record of an ingested synthetic store its true person as its person key: a perfect
    linkage, for tests and benchmarks of what comes after linkage (the measures, the publication)."""
    import duckdb

    from triangulate.store import parquet

    truth = Path(truth)
    reader = (f"read_parquet('{truth}')" if truth.suffix == ".parquet"
              else f"read_csv('{truth}', all_varchar = true)")
    con = duckdb.connect(str(store))
    try:
        con.execute(f"CREATE TEMP TABLE truth AS SELECT * FROM {reader}")
        for t in AGENCY_TABLES:
            con.execute(f"""UPDATE content.{t} AS c SET person_key = tr.person_id
                FROM identity.{t} AS i JOIN truth AS tr ON tr.source_table = '{t}'
                 AND tr.source_system = i.source_system AND tr.source_record_id = i.source_record_id
                WHERE i.record_key = c.record_key""")
        parquet.refresh(con)
    finally:
        con.close()
