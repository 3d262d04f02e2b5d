"""Linking the store: train, score, cluster and write person keys, in one transaction.

Splink works in a private in-memory DuckDB so none of its working tables (which hold identifying
values) land in the store file; only the result, a pseudonymous ``person_key`` per content record,
plus the trained model and a run record in ``meta``, is written back.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import tempfile
import weakref
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triangulate.store.engines import scratch_duckdb
from triangulate.standard import AGENCY_TABLES
from triangulate.store import connect, parquet

from . import engines, model
from .cluster import FORCED, cluster
from .review import MIN_MATCHES_FOR_M, read_labels
from .errors import LinkError
from .keys import carry_forward

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

#: Bounds of the threshold chosen from the data (``choose_threshold``): never below even odds, so a
#: pair the model thinks more likely two people than one is never linked; never above 0.999.
THRESHOLD_BOUNDS = (0.5, 0.999)
#: Pairs scored at or above this probability are kept (for clustering, evaluation and review).
KEEP_PAIRS_FROM = 0.3
#: Random pairs drawn to estimate u probabilities; a fixed seed makes training repeatable.
U_SAMPLE_PAIRS = 2_000_000
U_SEED = 20261122
MEMORY_LIMIT = engines.MEMORY_LIMIT
#: Above this many records, expectation maximisation trains on a fixed random sample of this many
#: (``_expectation_maximisation``); measured in docs/linkage.md "Performance".
EM_SAMPLE_RECORDS = 400_000

STEPS = ("prepare", "count blocking", "train", "score", "cluster", "carry keys", "write")


@dataclass
class LinkReport:
    run_id: str
    records: int
    records_per_table: dict[str, int]
    comparisons_scored: int
    pairs_at_threshold: int
    people: int
    threshold: float
    chosen: bool
    keys_kept: int
    keys_new: int
    keys_merged: int
    blocking_counts: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    encoded: bool = False
    #: Merges the clustering refused: a pair above the threshold that would have joined two people with
    #: different dates of birth or NHS numbers through a record that lacks one, or records a reviewer
    #: marked as two people (``cluster``).
    merges_refused: int = 0
    #: Reviewers' marks used (``review.py``): pairs marked one person and two people, and whether the
    #: matches re-estimated the model's m probabilities.
    marks: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"Linked {self.records:,} records into {self.people:,} people{' on their encodings' if self.encoded else ''} "
            f"(match probability >= {self.threshold:.4g}{', chosen from the data' if self.chosen else ''}) "
            f"in {sum(self.seconds.values()):.1f} s",
            f"Pairs scored: {self.comparisons_scored:,}; pairs at or above the threshold: "
            f"{self.pairs_at_threshold:,}; merges refused (dates of birth or NHS numbers in conflict, or "
            f"marked two people): {self.merges_refused:,}",
            f"Person keys kept from the previous run: {self.keys_kept:,}; new: {self.keys_new:,}; "
            f"merged into another: {self.keys_merged:,}",
            *([f"Reviewers' marks used: {self.marks['match']:,} pairs one person (joined"
               f"{'; the model re-estimated from them' if self.marks.get('m_from_labels') else ''}), "
               f"{self.marks['non_match']:,} two people (kept apart)"] if self.marks.get("match")
              or self.marks.get("non_match") else []),
            f"Run {self.run_id}",
        ]


META_DDL = [
    """CREATE TABLE IF NOT EXISTS meta.link_model (
        run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, splink_version VARCHAR, settings_json VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS meta.link_runs (
        run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, engine VARCHAR,
        threshold DOUBLE, records BIGINT, comparisons_scored BIGINT, pairs_at_threshold BIGINT,
        people BIGINT, keys_kept BIGINT, keys_new BIGINT, keys_merged BIGINT,
        blocking_counts_json VARCHAR, seconds_json VARCHAR, triangulate_version VARCHAR,
        merges_refused BIGINT)""",
    # A store linked before the clustering refused merges gains the column (null for its older runs).
    "ALTER TABLE meta.link_runs ADD COLUMN IF NOT EXISTS merges_refused BIGINT",
    """CREATE TABLE IF NOT EXISTS meta.person_key_history (
        run_id VARCHAR, person_key VARCHAR, event VARCHAR, related_key VARCHAR)""",
]


def identity_tables(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Agency tables in the identity zone with their record counts (absent tables left out)."""
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'identity'").fetchall()}
    return {t: con.execute(f"SELECT count(*) FROM identity.{t}").fetchall()[0][0]
            for t in AGENCY_TABLES if t in present}


def has_pnc(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return _has_column(con, table, "pnc_id")


def prepared_input(con: duckdb.DuckDBPyConnection, tables: list[str]) -> pa.Table:
    """The linkage input rebuilt from the identity zone (see ``model.prepare_sql``)."""
    short, full = zip(*model.nicknames())
    con.register("link_nicknames_arrow", pa.table({"nickname": pa.array(short, pa.string()),
                                                   "name": pa.array(full, pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE link_nicknames AS SELECT * FROM link_nicknames_arrow")
    con.unregister("link_nicknames_arrow")
    sql = model.prepare_sql({t: has_pnc(con, t) for t in tables})
    return con.sql(sql).to_arrow_table()


def encoded_records(con: duckdb.DuckDBPyConnection, tables: list[str]) -> pa.Table | None:
    """The records encoded at their agency (``identity_encoding``, ``triangulate encode``) in the columns
    of ``encode.encode_prepared``; None when there are none."""
    from .agency import from_text
    from .encode import CLK_BITS, with_bits

    parts = [f"SELECT record_key AS unique_id, '{t}' AS source_table, source_system, source_record_id, "
             f"identity_encoding FROM identity.{t} WHERE identity_encoding IS NOT NULL"
             for t in tables if _has_column(con, t, "identity_encoding")]
    if not parts:
        return None
    stored = con.sql(" UNION ALL ".join(parts)).to_arrow_table()
    if not stored.num_rows:
        return None
    columns, checks = from_text(stored.column("identity_encoding").to_pylist())
    out = stored.drop_columns(["identity_encoding"])
    out = out.append_column("clk", pa.array(columns.pop("clk"), pa.binary(CLK_BITS // 8)))
    for name, values in columns.items():
        out = out.append_column(name, pa.array(values, pa.string()))
    return with_bits(out).replace_schema_metadata({"checks": ",".join(sorted(checks))})


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'identity' "
        "AND table_name = ? AND column_name = ?", [table, column]).fetchall()[0][0])


def linkage_input(con: duckdb.DuckDBPyConnection, tables: list[str], secret: bytes | None) -> tuple[pa.Table, bool]:
    """(the records to link, whether they are encodings).

    Plain records are linked as they are, or encoded on arrival under ``secret``. Records encoded at
    their agency are read as they were stored; then every record must be an encoding: the plain ones
    need ``secret`` to be encoded, and every encoding must have been made under one secret (``secret``,
    when given)."""
    from .agency import encoding_check
    from .encode import encode_prepared

    stored = encoded_records(con, tables)
    plain = prepared_input(con, tables)
    if stored is None:
        return (encode_prepared(plain, secret), True) if secret is not None else (plain, False)
    checks = stored.schema.metadata[b"checks"].decode().split(",")
    if len(checks) > 1:
        raise LinkError(f"the encoded extracts were made under {len(checks)} different secrets: every agency must "
                        "encode with the project's one linkage secret (triangulate encode --secret FILE)")
    if secret is not None and checks != [encoding_check(secret)]:
        raise LinkError("the encoded extracts were made under another secret than the one given: give the project's "
                        "linkage secret the agencies encoded with")
    plain = plain.filter(pc.invert(pc.is_in(plain.column("unique_id"), stored.column("unique_id"))))
    if plain.num_rows and secret is None:
        raise LinkError(f"{stored.num_rows:,} records arrived encoded and {plain.num_rows:,} with plain identifiers: "
                        "give the linkage secret (--secret FILE) to encode the plain ones on arrival, or have their "
                        "agencies send encoded extracts (triangulate encode)")
    if not plain.num_rows:
        return stored.replace_schema_metadata(None), True
    arrived = encode_prepared(plain, secret)
    return pa.concat_tables([arrived, stored.replace_schema_metadata(None).select(arrived.column_names)]), True


def splink_linker(records: pa.Table, settings):
    """A Splink linker on a private in-memory DuckDB holding the prepared records."""
    from splink import DuckDBAPI, Linker

    # Spilled pages hold identifying values: spill into a private folder (mode 700, made per
    # linker under the system's temporary folder, never the working directory) and remove it
    # when the linker goes.
    spill = tempfile.mkdtemp(prefix="triangulate-link-spill-")
    db_api = DuckDBAPI(scratch_duckdb(memory_limit=MEMORY_LIMIT, temp_directory=spill))
    sdf = db_api.register(records, table_name="link_input")
    # Splink narrates every training step at INFO; our own progress callback says enough.
    linker = Linker(sdf, settings, log_level=logging.WARNING)
    weakref.finalize(linker, shutil.rmtree, spill, True)
    return linker


def check_linkable(counts: dict[str, int]) -> None:
    with_records = {t: n for t, n in counts.items() if n}
    if not with_records:
        raise LinkError("the store holds no agency records to link: ingest extracts first")
    if len(with_records) == 1:
        only = next(iter(with_records))
        raise LinkError(f"the store holds records from one agency table only ({only}): linkage "
                        "joins records across agencies, so ingest at least one other agency's extract")


#: The F-beta a chosen threshold maximises: 1, the expected F1. A wrong merge (two people's histories
#: as one) harms more than a split, but the wrong merges at lower thresholds were namesakes chained
#: through a record with no date of birth or NHS number, which the clustering now refuses
#: (``cluster``); beta 0.5 bought precision there at a cost in recall on data we did not make
#: (docs/linkage.md "Threshold").
BETA = 1.0


def choose_threshold(probabilities, beta: float = BETA) -> float:
    """The match probability that maximises the F-beta the model expects of itself on the scored pairs.

    Taking the model's match probabilities as true, linking the k most probable of the kept pairs
    finds TP(k) = the sum of their probabilities true pairs, out of T = the sum over every kept pair,
    so its expected F-beta is (1 + beta^2) TP(k) / (k + beta^2 T); the threshold is the k-th
    probability at the best k, within ``THRESHOLD_BOUNDS``. Pairs scored below ``KEEP_PAIRS_FROM``
    are left out of T (each is more likely two people than one). Why and what it gives:
    docs/linkage.md.
    """
    import numpy as np

    p = np.sort(np.asarray(probabilities, dtype=float))[::-1]
    low, high = THRESHOLD_BOUNDS
    if not len(p):
        return high
    found = np.cumsum(p)
    b2 = beta * beta
    best = int(np.argmax((1 + b2) * found / (np.arange(1, len(p) + 1) + b2 * found[-1])))
    return float(min(high, max(low, p[best])))


def link(store: str | Path, *, engine: str = "duckdb", threshold: float | None = None,
         progress: Progress | None = None, u_sample_pairs: int = U_SAMPLE_PAIRS,
         secret: bytes | None = None, train_from_marks: bool = False) -> LinkReport:
    """Link every identity-zone record into people and write a ``person_key`` to each content record.

    ``threshold`` is the match probability at which records are one person; ``None`` (the default)
    chooses it from the data (``choose_threshold``). Raises ``LinkError`` for a store that cannot be
    linked (empty, one agency only). If anything
    fails before the final commit, the person keys of the previous run are left as they were.

    With ``secret`` (the project's, ``encode.load_secret``), every record is encoded on arrival
    (``encode.encode_prepared``) and linked on its encodings alone: no name, date of birth or
    postcode reaches the linker. Records encoded at their agency (``triangulate encode``) are linked
    on their encodings too, without the secret if every record came encoded (``linkage_input``).
    Linkage on encodings runs on DuckDB only.

    Reviewers' marks kept in the store (``review.import_marks``) are always used: a pair marked one
    person is joined, one marked two people is kept apart. With ``train_from_marks`` the pairs marked
    one person also re-estimate the m probabilities (Splink's ``estimate_m_from_pairwise_labels``); off
    by default, since the review sample is of borderline pairs, which made the model worse on both
    FEBRL 3 and our high-noise population (docs/linkage.md "Clerical review").
    """
    import splink

    if engine not in engines.ENGINES:
        raise LinkError(f"unknown engine {engine!r}: use one of {', '.join(engines.ENGINES)}")
    if secret is not None and engine != "duckdb":
        raise LinkError("linkage on encodings runs on DuckDB only (it compares encodings bit by bit): "
                        "leave out --engine spark")
    if threshold is not None and not 0 < threshold < 1:
        raise LinkError("the threshold is a match probability strictly between 0 and 1")
    progress = progress or (lambda d, c, t: None)
    seconds: dict[str, float] = {}
    started = datetime.now(timezone.utc)
    run_id = started.strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(4)

    def step(name: str) -> None:
        progress(f"Link: {name}", STEPS.index(name), len(STEPS))

    def timed(name: str, t0: float) -> None:
        seconds[name] = round(time.perf_counter() - t0, 3)

    if not Path(store).is_file():
        raise LinkError(f"no store at {store}: ingest extracts first")
    con = connect(store)
    try:
        t0 = time.perf_counter()
        step("prepare")
        counts = identity_tables(con)
        check_linkable(counts)
        tables = [t for t, n in counts.items() if n]
        records, encoded = linkage_input(con, tables, secret)
        marked = _marked_pairs(read_labels(con), records["unique_id"])
        if encoded and engine != "duckdb":
            raise LinkError("linkage on encodings runs on DuckDB only (it compares encodings bit by bit): "
                            "leave out --engine spark")
        if encoded:
            creator = model.encoded_settings()
            deterministic, em_rules = model.ENCODED_DETERMINISTIC_RULES, model.ENCODED_EM_RULES
        else:
            creator = model.settings()
            deterministic, em_rules = model.DETERMINISTIC_RULES, model.EM_BLOCKING_RULES
        timed("prepare", t0)

        with engines.engine(engine) as eng:
            t0 = time.perf_counter()
            step("count blocking")
            from splink import Linker

            # Splink narrates every training step at INFO; our own progress callback says enough.
            # Each record's position rides along as ``node``, so the pairs come back as numbers for the
            # clustering rather than as two 64-character keys each.
            numbered = records.append_column("node", pa.array(range(records.num_rows), pa.int64()))
            registered = eng.register(numbered, f"link_input_{run_id[-8:]}")
            linker = Linker(registered, creator, log_level=logging.WARNING)
            blocking = [
                {"rule": r["blocking_rule"], "marginal": int(r["marginal_comparison_count"]),
                 "cumulative": int(r["cumulative_comparison_count"])}
                for r in linker.blocking_analysis.count_comparisons_from_blocking_rules(
                    record_sample_proportion=1.0)
            ]
            timed("count blocking", t0)

            t0 = time.perf_counter()
            step("train")
            linker.training.estimate_probability_two_random_records_match(
                deterministic, recall=model.DETERMINISTIC_RECALL)
            linker.training.estimate_u_using_random_sampling(max_pairs=u_sample_pairs, seed=U_SEED)
            if encoded:
                from .encode import set_dice_u

                set_dice_u(linker, records)
            linker = _expectation_maximisation(eng, linker, registered, numbered, em_rules, run_id)
            same_a, same_b = marked["match"]
            m_from_labels = train_from_marks and len(same_a) >= MIN_MATCHES_FOR_M
            if m_from_labels:  # the reviewers' matches: each level's m is then the median with EM's
                ids = records["unique_id"]
                linker.training.estimate_m_from_pairwise_labels(eng.register(
                    pa.table({"unique_id_l": ids.take(same_a), "unique_id_r": ids.take(same_b)}),
                    f"link_labels_{run_id[-8:]}"))
            trained = engines.portable_model(linker.misc.save_model_to_json(), creator)
            settings_json = json.dumps(strip_term_frequencies(trained))
            timed("train", t0)

            t0 = time.perf_counter()
            step("score")
            chosen = threshold is None
            # Kept from KEEP_PAIRS_FROM, or from a given threshold below it.
            keep_from = KEEP_PAIRS_FROM if chosen else min(KEEP_PAIRS_FROM, threshold)
            pairs = linker.inference.predict(threshold_match_probability=keep_from)
            if chosen:
                threshold = choose_threshold(eng.to_arrow(pairs, "match_probability").column(0).to_numpy())
            timed("score", t0)

            t0 = time.perf_counter()
            step("cluster")
            inputs = registered.physical_name
            edges = eng.sql(
                f"SELECT CAST(l.node AS BIGINT) AS a, CAST(r.node AS BIGINT) AS b, p.match_probability AS p "
                f"FROM {pairs.physical_name} p JOIN {inputs} l ON p.unique_id_l = l.unique_id "
                f"JOIN {inputs} r ON p.unique_id_r = r.unique_id WHERE p.match_probability >= {threshold}")
            pairs_at_threshold = edges.num_rows
            # A pair a reviewer marked as one person is joined whatever it scored; one marked as two people
            # is never put in one person, directly or through other records.
            found = cluster(records["unique_id"], np.concatenate([edges["a"].to_numpy(), same_a]),
                            np.concatenate([edges["b"].to_numpy(), same_b]),
                            np.concatenate([edges["p"].to_numpy(), np.full(len(same_a), FORCED)]),
                            *_cannot_link_fields(records, encoded), apart=marked["non_match"], exact=encoded)
            new = found.table
            del edges
            timed("cluster", t0)

        t0 = time.perf_counter()
        step("carry keys")
        old = _previous_keys(con, tables)
        assignment, history, kept, merged = carry_forward(old, new)
        timed("carry keys", t0)

        t0 = time.perf_counter()
        step("write")
        report = LinkReport(
            run_id=run_id, records=records.num_rows, records_per_table=counts,
            comparisons_scored=blocking[-1]["cumulative"] if blocking else 0,
            pairs_at_threshold=pairs_at_threshold, people=len(set(assignment.column("person_key").to_pylist())),
            threshold=threshold, chosen=chosen, keys_kept=kept, keys_new=sum(1 for h in history if h[1] in ("created", "split_from")),
            keys_merged=merged, blocking_counts=blocking, seconds=seconds, encoded=encoded,
            merges_refused=found.refused, marks={"match": len(same_a), "non_match": len(marked["non_match"][0]),
                                                 "m_from_labels": m_from_labels},
        )
        _write(con, tables, assignment, history, report, settings_json, splink.__version__, engine,
               started, progress)
        timed("write", t0)
        con.execute("UPDATE meta.link_runs SET seconds_json = ? WHERE run_id = ?", [json.dumps(seconds), run_id])
        parquet.refresh(con)  # the person keys the store's Parquet zone holds, if it has one
        progress("Link: done", len(STEPS), len(STEPS))
        return report
    finally:
        con.close()


def _expectation_maximisation(eng, linker, registered, numbered: pa.Table, em_rules, run_id: str):
    """Train the m probabilities by expectation maximisation on the EM blocks: on every record up to
    ``EM_SAMPLE_RECORDS``, and above it on a fixed random sample of that many records, since the blocks'
    pairs grow with the square of the records (19 and 15 million at a million records, most of the
    training time) while the m probabilities they estimate do not need them all. Returns the linker
    to score with: the same one, or, after a sample, one on every record with the sample's m and the
    whole input's prior and u probabilities."""
    from splink import Linker

    if numbered.num_rows <= EM_SAMPLE_RECORDS:
        for rule in em_rules:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        return linker
    rows = np.sort(np.random.default_rng(U_SEED).choice(numbered.num_rows, EM_SAMPLE_RECORDS, replace=False))
    before = linker.misc.save_model_to_json()
    trainer = Linker(eng.register(numbered.take(rows), f"link_em_sample_{run_id[-8:]}"), before,
                     log_level=logging.WARNING)
    for rule in em_rules:
        trainer.training.estimate_parameters_using_expectation_maximisation(rule)
    trained = trainer.misc.save_model_to_json()
    trained["probability_two_random_records_match"] = before["probability_two_random_records_match"]
    return Linker(registered, trained, log_level=logging.WARNING)


def _cannot_link_fields(records: pa.Table, encoded: bool) -> tuple:
    """Each record's date of birth and NHS number for the clustering's refusals: the plain values, or on
    encodings their keyed hashes (the NHS number's, and date of birth with the family name's initial,
    ``k_dob_family1``, the one kept key that holds the date; compared for equality only)."""
    if not encoded:
        return records["dob"], records["nhs_number"]
    if not {"k_dob_family1", "nhs_number_hmac"} <= set(records.column_names):
        return None, None
    return records["k_dob_family1"], records["nhs_number_hmac"]


def _marked_pairs(labels: pa.Table | None, ids: pa.ChunkedArray) -> dict:
    """The kept review marks as record numbers of this run's input: ``{"match": (a, b), "non_match": (a, b)}``
    (pairs whose records are no longer in the store are left out)."""
    empty = (np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    out = {"match": empty, "non_match": empty}
    if labels is None:
        return out
    left = pc.index_in(labels["record_key_l"], value_set=ids)
    right = pc.index_in(labels["record_key_r"], value_set=ids)
    for decision in out:
        keep = pc.and_(pc.equal(labels["decision"], decision), pc.and_(pc.is_valid(left), pc.is_valid(right)))
        out[decision] = (pc.filter(left, keep).to_numpy().astype(np.int64),
                         pc.filter(right, keep).to_numpy().astype(np.int64))
    return out


def strip_term_frequencies(settings: dict) -> dict:
    """The model without any embedded term-frequency values (which would be identifying names)."""
    settings = json.loads(json.dumps(settings, default=str))
    for comparison in settings.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            for key in [k for k in level if "tf_" in k and isinstance(level[k], (dict, list))]:
                del level[key]
    return settings


def _previous_keys(con, tables: list[str]) -> pa.Table:
    union = " UNION ALL ".join(
        f"SELECT record_key, person_key FROM content.{t} WHERE person_key IS NOT NULL" for t in tables)
    return con.sql(union).to_arrow_table()


def _write(con, tables, assignment: pa.Table, history, report: LinkReport, settings_json: str,
           splink_version: str, engine: str, started: datetime, progress: Progress) -> None:
    """Everything the run writes, in one transaction: all of it lands, or none of it."""
    from triangulate import __version__

    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS meta")
        for ddl in META_DDL:
            con.execute(ddl)
        con.register("link_assignment_arrow", assignment)
        con.execute("CREATE OR REPLACE TEMP TABLE link_assignment AS SELECT * FROM link_assignment_arrow")
        con.unregister("link_assignment_arrow")
        for i, table in enumerate(tables):
            progress(f"Link: write {table}", i, len(tables))
            con.execute(f"UPDATE content.{table} AS c SET person_key = a.person_key FROM link_assignment a "
                        "WHERE c.record_key = a.record_key")
        now = datetime.now(timezone.utc)
        con.execute("INSERT INTO meta.link_model VALUES (?, ?, ?, ?)",
                    [report.run_id, now, splink_version, settings_json])
        con.execute(
            "INSERT INTO meta.link_runs (run_id, started_at, finished_at, engine, threshold, records, "
            "comparisons_scored, pairs_at_threshold, people, keys_kept, keys_new, keys_merged, "
            "blocking_counts_json, seconds_json, triangulate_version, merges_refused) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [report.run_id, started, now, engine, report.threshold, report.records,
             report.comparisons_scored, report.pairs_at_threshold, report.people, report.keys_kept,
             report.keys_new, report.keys_merged, json.dumps(report.blocking_counts),
             json.dumps(report.seconds), __version__, report.merges_refused])
        if history:  # through Arrow: executemany inserts about 1,700 rows a second (65 s for 110,000 people)
            person, event, related = zip(*history)
            con.register("link_history_arrow", pa.table({
                "run_id": pa.array([report.run_id] * len(history), pa.string()),
                "person_key": pa.array(person, pa.string()), "event": pa.array(event, pa.string()),
                "related_key": pa.array(related, pa.string())}))
            con.execute("INSERT INTO meta.person_key_history SELECT * FROM link_history_arrow")
            con.unregister("link_history_arrow")
        progress("Link: commit", len(tables), len(tables))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def latest_model(con) -> tuple[str, dict]:
    """(run id, Splink settings with m and u) of the latest link run; ``LinkError`` if none."""
    try:
        row = con.execute("SELECT run_id, settings_json FROM meta.link_model ORDER BY created_at DESC "
                          "LIMIT 1").fetchall()
    except duckdb.CatalogException:
        row = []
    if not row:
        raise LinkError("the store has not been linked yet: run `triangulate link` first")
    return row[0][0], json.loads(row[0][1])
