"""Court-list pre-screening: the liaison & diversion morning routine.

Each morning an L&D practitioner gets the day's custody or court list and wants to know, before the
first hearing, who is already known to mental health services, who keeps coming back, and what
happened the last time the team saw them. ``screen`` scores every listed person against the linked
records with the model the last ``triangulate link`` trained (saved in the store), and reads each
matched person's history from the content zone.

The result names people (it repeats the list's identifiers beside health information), so it is
for the L&D team and the practitioners screening the list, never for publication: docs/screening.md.
Splink works in a private in-memory DuckDB; nothing identifying is written to disk or to the logs.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from triangulate.spreadsheet import neutralise
from triangulate.store.engines import scratch_duckdb
from triangulate.store.private import open_private
from triangulate.store import connect

from . import model
from .run import LinkError, identity_tables, latest_model, prepared_input
from .screen_list import ListedPerson, read_list

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

#: A match at or above this probability is taken as the same person ("yes").
YES = 0.99
#: Below ``YES`` but at or above this, the practitioner should check by hand ("possible").
POSSIBLE = 0.5
#: A person with this many justice contacts in the 12 months before the list date is a repeat attendee.
REPEAT_CONTACTS = 2
#: Justice contacts, by table, and the date that places each in time.
JUSTICE_DATES = {
    "police_custody": "arrival_date",
    "court_appearance": "hearing_date",
    "prison_custody": "reception_date",
    "probation_supervision": "supervision_start_date",
    "liaison_diversion": "identification_date",
}
STEPS = ("read the store", "score", "histories", "sort")
#: Order of the known-to-mental-health answers when sorting (who to see first).
_KNOWN_ORDER = {"yes": 0, "possible": 1, "no": 2}

NOTICE = ("This screening result names people beside their health information. It is for the "
          "liaison & diversion team screening this list and may be seen only by staff authorised for "
          "that purpose; do not forward, publish or keep it longer than the team's retention rule.")


@dataclass(frozen=True)
class ScreenRow:
    priority: int
    list_row: int
    time: str | None
    location: str
    given_name: str | None
    family_name: str
    date_of_birth: str
    known_to_mental_health: str
    match_probability: float | None
    last_mental_health_contact: str | None
    last_mental_health_team_type: str | None
    open_to_mental_health_service: bool
    justice_contacts_12_months: int
    repeat_attendee: bool
    previous_ld_contact: str | None
    previous_ld_outcome: str | None


@dataclass
class ScreenResult:
    rows: list[ScreenRow]
    run_id: str
    list_date: date
    records_searched: int
    seconds: float

    @property
    def counts(self) -> dict[str, int]:
        out = {"yes": 0, "possible": 0, "no": 0}
        for r in self.rows:
            out[r.known_to_mental_health] += 1
        return out

    def csv_text(self) -> str:
        """The result as CSV text; a listed name comes back as given, neutralised so no spreadsheet runs it."""
        buffer = io.StringIO()
        w = csv.writer(buffer, lineterminator="\n")
        w.writerow([f.name for f in fields(ScreenRow)])
        for r in self.rows:
            w.writerow(["" if v is None else ("yes" if v is True else "no" if v is False
                                              else neutralise(v) if isinstance(v, str) else v)
                        for v in asdict(r).values()])
        return buffer.getvalue()

    def write_csv(self, path: str | Path) -> Path:
        """Write the result (identifying: created readable by its owner only)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open_private(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(self.csv_text())
        return path


def _list_table(people: Sequence[ListedPerson]) -> pa.Table:
    """The list in the identity zone's shape, so the linkage preparation applies unchanged."""
    return pa.table({
        "record_key": [f"list-{p.row}" for p in people],
        "source_system": ["screening_list"] * len(people),
        "source_record_id": [str(p.row) for p in people],
        "given_name": [p.given_name for p in people],
        "family_name": [p.family_name for p in people],
        "date_of_birth": pa.array([p.date_of_birth for p in people], pa.date32()),
        "sex": pa.nulls(len(people), pa.string()),
        "postcode": [p.postcode for p in people],
        "nhs_number": pa.nulls(len(people), pa.string()),
        "pnc_id": [p.pnc_id for p in people],
    })


def _prepared_list(people: Sequence[ListedPerson]) -> pa.Table:
    con = scratch_duckdb()
    try:
        con.execute("CREATE SCHEMA identity")
        con.register("list_arrow", _list_table(people))
        con.execute("CREATE TABLE identity.screening_list AS SELECT * FROM list_arrow")
        return prepared_input(con, ["screening_list"])
    finally:
        con.close()


def _score(records: pa.Table, listed: pa.Table, settings: dict) -> pa.Table:
    """(record_key, list row, match probability) for candidate pairs at ``POSSIBLE`` or above."""
    from splink import DuckDBAPI, Linker

    private = scratch_duckdb(memory_limit="3GB")
    try:
        db_api = DuckDBAPI(private)
        existing = db_api.register(records, table_name="linked_records")
        todays = db_api.register(listed, table_name="todays_list")
        linker = Linker(existing, settings, log_level=logging.WARNING)
        # Term frequencies come from the linked records, as they did in training.
        for column in model.TF_COLUMNS:
            linker.table_management.compute_tf_table(column)
        pairs = linker.inference.predict_between(existing, todays, threshold_match_probability=POSSIBLE)
        return pairs.as_duckdbpyrelation().select(
            "unique_id_l AS record_key, CAST(substr(unique_id_r, 6) AS INTEGER) AS list_row, "
            "match_probability").to_arrow_table()
    finally:
        private.close()


def _histories(con, pairs: pa.Table, tables: list[str], today: date) -> dict[int, dict]:
    """Per list row: the best matching person and, for the best person known to mental health
    services, their last contact; from the content zone only (no identifiers)."""
    con.register("screen_pairs", pairs)
    union = " UNION ALL ".join(
        f"SELECT record_key, coalesce(person_key, record_key) AS person, '{t}' AS source_table "
        f"FROM content.{t}" for t in tables)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE screen_candidates AS
        SELECT p.list_row, r.person, max(p.match_probability) AS probability
        FROM screen_pairs p JOIN ({union}) r USING (record_key)
        GROUP BY p.list_row, r.person""")
    con.unregister("screen_pairs")
    persons = "SELECT DISTINCT person FROM screen_candidates"
    one_year_ago = today - timedelta(days=365)
    facts: dict[str, dict] = {}
    if "mental_health" in tables:
        for person, last_date, team, open_now in con.execute(f"""
                SELECT coalesce(person_key, record_key) AS person,
                       max(event_date) AS last_date,
                       arg_max(team_type, event_date) AS team,
                       bool_or(event_date <= ? AND (end_date IS NULL OR end_date >= ?)
                               AND record_type <> 'mha_detention') AS open_now
                FROM content.mental_health
                WHERE coalesce(person_key, record_key) IN ({persons}) AND event_date <= ?
                GROUP BY 1""", [today, today, today]).fetchall():
            facts.setdefault(person, {}).update(mh_last=last_date, mh_team=team, mh_open=bool(open_now))
    justice = [f"SELECT coalesce(person_key, record_key) AS person, {column} AS d FROM content.{t}"
               for t, column in JUSTICE_DATES.items() if t in tables]
    if justice:
        for person, n in con.execute(f"""
                SELECT person, count(*) FROM ({' UNION ALL '.join(justice)})
                WHERE person IN ({persons}) AND d > ? AND d <= ? GROUP BY 1""",
                                     [one_year_ago, today]).fetchall():
            facts.setdefault(person, {})["justice"] = n
    if "liaison_diversion" in tables:
        for person, when, destination, engaged, assessed in con.execute(f"""
                SELECT coalesce(person_key, record_key),
                       max(identification_date),
                       arg_max(referral_destination, identification_date),
                       arg_max(referral_engaged, identification_date),
                       arg_max(assessment_date IS NOT NULL, identification_date)
                FROM content.liaison_diversion
                WHERE coalesce(person_key, record_key) IN ({persons}) AND identification_date <= ?
                GROUP BY 1""", [today]).fetchall():
            facts.setdefault(person, {}).update(
                ld_last=when, ld_outcome=_ld_outcome(destination, engaged, assessed))
    by_row: dict[int, dict] = {}
    for row, person, probability in con.execute(
            "SELECT list_row, person, probability FROM screen_candidates").fetchall():
        f = facts.get(person, {})
        entry = by_row.setdefault(row, {"best": None, "mh": None})
        if entry["best"] is None or probability > entry["best"][1]:
            entry["best"] = (f, probability)
        if "mh_last" in f and (entry["mh"] is None or probability > entry["mh"][1]):
            entry["mh"] = (f, probability)
    return by_row


def _ld_outcome(destination: str | None, engaged: str | None, assessed: bool | None) -> str:
    if destination and destination != "none":
        taken_up = {"Y": "engaged", "N": "did not engage"}.get(engaged or "", "engagement not recorded")
        return f"referred to {destination.replace('_', ' ')} ({taken_up})"
    return "assessed, not referred on" if assessed else "seen, not assessed"


def screen(store: str | Path, listing: str | Path | Sequence[ListedPerson], *, today: date | None = None,
           progress: Progress | None = None) -> ScreenResult:
    """Screen a day's list against the linked store.

    ``listing`` is a list file (checked by ``read_list``, which raises ``ScreenListError``) or people
    already read. ``today`` is the list's date (default: today); contacts after it are ignored.
    Raises ``LinkError`` for a store that is missing or has not been linked.
    """
    started = time.perf_counter()
    today = today or date.today()
    progress = progress or (lambda d, c, t: None)
    people = list(listing) if not isinstance(listing, (str, Path)) else read_list(listing, today=today)
    if not Path(store).is_file():
        raise LinkError(f"no store at {store}: ingest extracts and run `triangulate link` first")
    progress(f"Screen: {STEPS[0]}", 0, len(STEPS))
    con = connect(store, read_only=True)
    try:
        run_id, settings = latest_model(con)
        if model.on_encodings(settings):
            raise LinkError("the latest link ran on encodings (link --secret), whose model cannot score a "
                            "list of names: run `triangulate link` without --secret to screen")
        tables = [t for t, n in identity_tables(con).items() if n]
        records = prepared_input(con, tables)
        progress(f"Screen: {STEPS[1]}", 1, len(STEPS))
        pairs = _score(records, _prepared_list(people), settings)
        progress(f"Screen: {STEPS[2]}", 2, len(STEPS))
        by_row = _histories(con, pairs, tables, today)
    finally:
        con.close()
    progress(f"Screen: {STEPS[3]}", 3, len(STEPS))
    rows = [_row(p, by_row.get(p.row, {})) for p in people]
    rows.sort(key=_priority_key)
    rows = [ScreenRow(**{**asdict(r), "priority": i}) for i, r in enumerate(rows, start=1)]
    result = ScreenResult(rows=rows, run_id=run_id, list_date=today, records_searched=records.num_rows,
                          seconds=time.perf_counter() - started)
    log.info("screened %d listed people against %d records in %.1f s (yes %d, possible %d, no %d)",
             len(rows), records.num_rows, result.seconds, *result.counts.values())
    progress(f"Screen: done", len(STEPS), len(STEPS))
    return result


def _row(p: ListedPerson, found: dict) -> ScreenRow:
    best = found.get("best")
    mh = found.get("mh")
    if mh is not None and mh[1] >= YES:
        known, probability, history = "yes", mh[1], mh[0]
    elif mh is not None:
        known, probability, history = "possible", mh[1], mh[0]
    else:
        known, probability, history = "no", (best[1] if best else None), {}
    # The justice and L&D history belongs to the best match, if it is surely the same person.
    person = best[0] if best is not None and best[1] >= YES else {}
    justice = person.get("justice", 0)
    return ScreenRow(
        priority=0, list_row=p.row, time=p.time, location=p.location, given_name=p.given_name,
        family_name=p.family_name, date_of_birth=p.date_of_birth.isoformat(), known_to_mental_health=known,
        match_probability=None if probability is None else round(float(probability), 4),
        last_mental_health_contact=_iso(history.get("mh_last")),
        last_mental_health_team_type=history.get("mh_team"),
        open_to_mental_health_service=bool(history.get("mh_open", False)) and known == "yes",
        justice_contacts_12_months=justice, repeat_attendee=justice >= REPEAT_CONTACTS,
        previous_ld_contact=_iso(person.get("ld_last")), previous_ld_outcome=person.get("ld_outcome"),
    )


def _iso(d) -> str | None:
    return None if d is None else d.isoformat()


def _priority_key(r: ScreenRow) -> tuple:
    """Who to see first: known and open to a service; known; possibly known (check by hand);
    then the rest. Within each, repeat attendees first, then the list's own order by time."""
    return (
        0 if r.open_to_mental_health_service else 1 + _KNOWN_ORDER[r.known_to_mental_health],
        -r.justice_contacts_12_months,
        r.time or "99:99",
        r.list_row,
    )
