"""The ingest run: read and check every file, then load them all in one transaction, or nothing.

The order of work is what makes the ingest safe to trust:

1. Read every file and recognise its table. Any whole-file problem (unreadable, not UTF-8, cut
   off, empty, wrong columns) refuses the whole run here: the load waits until every file has
   been read, so a refusal comes before the store is opened for writing.
2. Check every row of every file (:mod:`triangulate.ingest.validate`), producing the rows as they
   will be stored (typed, normalised, keyed) and the checks each row broke. Row checks never
   refuse a file and never touch the store: each file is checked on a private in-memory database,
   on a worker thread, as soon as it is read, while other files are read and step 3 loads the
   files already checked.
3. In one DuckDB transaction, in pathway order (agency tables, then needs, then population): for
   needs, look up the records they refer to (in the store, which now includes the agency rows just
   loaded); upsert the good rows into the identity and content zones; add a manifest row.
4. Commit once. Rejects files are written beside the store as ``.partial`` while the transaction
   is open and renamed only after the commit, so a rejects file of a load that never happened
   cannot be mistaken for a finished one.

If the process dies anywhere before the commit, DuckDB discards the transaction and the store reads
exactly as before. Nothing here logs or raises a value from a file.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

import triangulate
from triangulate.store.engines import scratch_duckdb
from triangulate.standard import AGENCY_TABLES, STANDARD_VERSION, schema
from triangulate.store import StoreError, connect, ensure_schema, has_tables, store_tables
from triangulate.store import parquet as zone

from .checks import col
from .errors import IngestRefused
from .keys import Pseudonymiser
from .readers import FORMATS, Extract, read_extract
from .recognise import recognise_table
from .report import AccountingError, FileResult, IngestReport
from .validate import CheckedExtract, check_rows, look_up_references, run_sql

log = logging.getLogger("triangulate.ingest")

#: ``progress(description, completed, total)``
Progress = Callable[[str, int, int], None]

#: Agency records first: a need row may only refer to a record already loaded.
LOAD_ORDER: tuple[str, ...] = (*AGENCY_TABLES, "need", "population")

#: Files read and checked at once: two keep two cores busy while one file waits on its disk read
#: or on Python.
_PARALLEL_FILES = 2
_THREADS_PER_FILE = max(1, (os.cpu_count() or 1) // _PARALLEL_FILES)


def ingest(
    paths: str | Path | Iterable[str | Path],
    store: str | Path,
    key: bytes,
    rejects_dir: str | Path | None = None,
    progress: Progress | None = None,
    parquet: str | Path | None = None,
) -> IngestReport:
    """Validate, pseudonymise and load extracts into the store, all or nothing.

    ``paths`` are files or directories (every CSV, Parquet and .xlsx file in a directory). Raises
    :class:`IngestRefused` (nothing loaded) when a file cannot be taken as a whole or the key is
    missing or wrong; otherwise returns the accounting for every file, in the order given.

    ``parquet``: a folder for the store's Parquet zone (``triangulate.store.parquet``), recorded in the
    store and written once the load is committed; a store that has one has it written again after every
    load without naming it.
    """
    pseudonymiser = Pseudonymiser(key)
    store = Path(store)
    rejects_dir = Path(rejects_dir) if rejects_dir is not None else store.parent / f"{store.name}.rejects"
    progress = progress or _no_progress
    today = dt.date.today()
    files = find_extracts(paths)
    if parquet is not None:
        parquet = zone.check_folder(parquet)  # before anything is loaded

    # Opened (and so locked against other writers) only if it exists: a refused run on a new store
    # must not leave an empty store file behind.
    con = connect(store) if store.exists() else None
    pipeline = None
    try:
        loaded_before = _loaded_files(con, pseudonymiser) if con is not None else {}
        pipeline = _FilePipeline(files, set(loaded_before), pseudonymiser, today)
        extracts = pipeline.read_all(progress)
        skipped = _skipped(extracts, loaded_before)
        to_load = {p: e for p, e in enumerate(extracts) if p not in skipped}
        pipeline.report_checks_to(to_load, progress)
        if con is None:
            con = connect(store)
        loaded = _load_all(con, to_load, pipeline, pseudonymiser.key_check, rejects_dir, progress)
        if parquet is not None:
            zone.record(con, parquet)
        folder = zone.recorded(con)
        if folder is not None:
            progress("Writing the Parquet zone", 0, 1)
            try:
                zone.refresh(con)
            except (OSError, duckdb.Error, StoreError) as problem:
                raise zone.ZoneNotWritten(
                    f"The extracts were loaded, but the Parquet zone {folder} could not be written "
                    f"({type(problem).__name__}: {getattr(problem, 'strerror', None) or problem}). Fix the folder or "
                    f"free space, then write it again: triangulate ingest --store {store} --parquet {folder}") from None
            progress("Writing the Parquet zone", 1, 1)
    finally:
        if pipeline is not None:
            pipeline.close()
        if con is not None:
            con.close()
    results = {**skipped, **loaded}
    return IngestReport(store=store, files=[results[i] for i in range(len(files))])


def _no_progress(description: str, completed: int, total: int) -> None:
    pass


def find_extracts(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files to ingest: named files as given, and the extracts inside named directories."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(
                p for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in FORMATS and not p.name.startswith((".", "~$"))
            )
        elif path.exists() and not path.is_file():
            raise IngestRefused(f"{path.name}: is not a file or a directory", reason="not_a_file", file=path.name)
        else:
            files.append(path)
    if not files:
        raise IngestRefused(
            "no CSV, Parquet or Excel .xlsx file found at the paths given; name the extract files or "
            "a directory that holds them",
            reason="no_files",
        )
    return files


def _loaded_files(con: duckdb.DuckDBPyConnection, pseudonymiser: Pseudonymiser) -> dict[str, tuple[str, str]]:
    """sha256 -> (load id, when) of every file already in the manifest; refuses another key."""
    if not has_tables(con, "meta", "load_manifest"):
        return {}
    keys = {row[0] for row in con.sql("SELECT DISTINCT key_check FROM meta.load_manifest").fetchall()}
    if keys and keys != {pseudonymiser.key_check}:
        raise IngestRefused(
            "this store was loaded with a different pseudonymisation key: with another key the same "
            "records would get new record keys. Use the key the store was created with (or a new store)",
            reason="different_key",
        )
    rows = con.sql(
        "SELECT sha256, load_id, strftime(loaded_at, '%Y-%m-%d %H:%M UTC') FROM meta.load_manifest "
        "ORDER BY loaded_at"
    ).fetchall()
    loaded: dict[str, tuple[str, str]] = {}
    for sha, load_id, when in rows:
        loaded.setdefault(sha, (load_id, when))
    return loaded


class _FilePipeline:
    """Read, then check, every file on worker threads, two files at a time.

    Each worker reads a file and, at once, checks its rows, so checking one file overlaps with
    reading the next. Reading is where a file can be refused; :meth:`read_all` waits for every
    read, so a refusal still comes before the store is touched. Checks never refuse a file and
    never touch the store, so the load may start while later files are still being checked.
    """

    def __init__(self, files: list[Path], skip: set[str], pseudonymiser: Pseudonymiser, today: dt.date):
        self.files = files
        self.skip = skip
        self.pseudonymiser = pseudonymiser
        self.today = today
        self.reads: list[Future] = [Future() for _ in files]
        self.pool = ThreadPoolExecutor(_PARALLEL_FILES)
        self.checks: list[Future] = [self.pool.submit(self._read_then_check, i) for i in range(len(files))]

    def _read_then_check(self, position: int) -> CheckedExtract | None:
        read = self.reads[position]
        try:
            extract = read_extract(self.files[position])
            extract.table = recognise_table(extract.file_name, extract.columns)
        except BaseException as exc:
            read.set_exception(exc)
            raise
        read.set_result(extract)
        if extract.sha256 in self.skip:
            return None
        with scratch_duckdb() as private:
            _configure(private)
            # The workers share the cores between them: more threads than cores only adds switching.
            private.execute(f"SET threads = {_THREADS_PER_FILE}")
            checked = check_rows(private, extract, self.pseudonymiser, self.today)
        # The text is not needed once checked: let it go.
        extract.data = extract.data.slice(0, 0)
        return checked

    def read_all(self, progress: Progress) -> list[Extract]:
        """Every file read and recognised, in file order; the first refused file (by position) raises."""
        progress("Reading extracts", 0, len(self.files))
        extracts = []
        for done, read in enumerate(self.reads, start=1):
            extracts.append(read.result())
            progress("Reading extracts", done, len(self.files))
        return extracts

    def report_checks_to(self, extracts: dict[int, Extract], progress: Progress) -> None:
        """Report "Checking rows" for ``extracts`` (the files to load) from now on."""
        self.to_check = extracts
        self.progress = progress
        self.rows_checked = -1
        self._report()

    def checked(self, position: int) -> CheckedExtract:
        """The checked rows of one file, reporting checks that finish while waiting for it."""
        wanted = self.checks[position]
        while not wanted.done():
            running = [self.checks[p] for p in self.to_check if not self.checks[p].done()]
            wait(running, return_when=FIRST_COMPLETED)
            self._report()
        self._report()
        return wanted.result()

    def _report(self) -> None:
        done = sum(e.rows_in for p, e in self.to_check.items() if self.checks[p].done())
        if done != self.rows_checked:
            self.rows_checked = done
            self.progress("Checking rows", done, sum(e.rows_in for e in self.to_check.values()))

    def close(self) -> None:
        """Stop: checks not started are dropped, running ones finish (threads cannot be interrupted)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def _skipped(
    extracts: list[Extract], loaded_before: dict[str, tuple[str, str]]
) -> dict[int, FileResult]:
    """Files already loaded, or identical to an earlier file of this run (file position -> result)."""
    skipped: dict[int, FileResult] = {}
    first_of: dict[str, str] = {}
    for position, extract in enumerate(extracts):
        reason = None
        if extract.sha256 in loaded_before:
            load_id, when = loaded_before[extract.sha256]
            reason = f"already loaded on {when} as load {load_id}"
        elif extract.sha256 in first_of:
            reason = f"identical to {first_of[extract.sha256]} earlier in this run"
        if reason:
            log.info("%s: skipped, %s", extract.file_name, reason)
            skipped[position] = FileResult(file=extract.file_name, table=extract.table, rows_in=0,
                                           rows_loaded=0, rows_rejected=0, skipped_reason=reason)
            continue
        first_of[extract.sha256] = extract.file_name
        log.info("%s: %d rows, a %s extract", extract.file_name, extract.rows_in, extract.table)
    return skipped


def _load_all(
    con: duckdb.DuckDBPyConnection,
    extracts: dict[int, Extract],
    pipeline: _FilePipeline,
    key_check: str,
    rejects_dir: Path,
    progress: Progress,
) -> dict[int, FileResult]:
    """Load every extract in one transaction (file position -> result), each as soon as its
    rows are checked, in pathway order."""
    run = dt.datetime.now(dt.timezone.utc)
    run_id = f"{run:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    order = sorted(extracts, key=lambda p: LOAD_ORDER.index(extracts[p].table))
    total = sum(e.rows_in for e in extracts.values())
    results: dict[int, FileResult] = {}
    partial_files: list[tuple[Path, Path]] = []

    _configure(con)
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_schema(con)
        progress("Loading", 0, total)
        done = 0
        for n, position in enumerate(order, start=1):
            extract = extracts[position]
            load_id = f"{run_id}-{n}"
            rows = look_up_references(con, pipeline.checked(position))
            result = _upsert(con, rows, load_id)
            rejects = rows.rejects()
            if rejects is not None:
                final = rejects_dir / f"{extract.path.stem}.{load_id}.rejects.csv"
                partial = final.with_name(final.name + ".partial")
                _write_rejects(partial, rejects)
                partial_files.append((partial, final))
                result = replace(result, rejects_file=final)
            _add_manifest_row(con, extract, result, run, key_check)
            results[position] = result
            done += extract.rows_in
            progress("Loading", done, total)
            log.info("%s: %d loaded (%d replaced stored records), %d rejected", extract.file_name,
                     result.rows_loaded, result.replaced, result.rows_rejected)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        for partial, _ in partial_files:
            partial.unlink(missing_ok=True)
        raise
    for partial, final in partial_files:
        os.replace(partial, final)
    return results


def _upsert(con: duckdb.DuckDBPyConnection, checked: CheckedExtract, load_id: str) -> FileResult:
    """Replace stored rows that have the same key as a good row, then insert the good rows.

    Rows loaded are counted by the database as it inserts them, so the accounting (rows in =
    loaded + rejected) is checked against what was written, not derived from it.
    """
    table = schema(checked.table)
    if table.kind == "agency_record":
        targets, key = [f"identity.{table.name}", f"content.{table.name}"], ["record_key"]
    elif table.kind == "need":
        targets, key = ["content.need"], ["record_key", "need_code", "identified_by"]
    else:
        targets, key = ["content.population"], list(table.primary_key)
    file_name = checked.extract.file_name
    params = {"load_id": load_id}
    source = f"ingest_checked_{id(checked)}"
    con.register(source, checked.rows)
    try:
        good = f"(SELECT * FROM {source} WHERE _broken = '')"
        same_key = " AND ".join(f"s.{col(k)} = g.{col(k)}" for k in key)
        replaced = run_sql(con, f"SELECT count(*) FROM {targets[-1]} s WHERE EXISTS "
                                f"(SELECT 1 FROM {good} g WHERE {same_key})", params, file_name).fetchall()[0][0]
        inserted = set()
        for target in targets:
            if replaced:
                run_sql(con, f"DELETE FROM {target} s WHERE EXISTS (SELECT 1 FROM {good} g WHERE {same_key})",
                        params, file_name)
            columns = [c.name for c in store_tables()[target]]
            values = [{"person_key": "NULL", "load_id": "$load_id"}.get(c, col(c)) for c in columns]
            inserted.add(run_sql(con, f"INSERT INTO {target} ({', '.join(map(col, columns))}) "
                                      f"SELECT {', '.join(values)} FROM {good}", params, file_name).fetchall()[0][0])
    finally:
        con.unregister(source)
    if len(inserted) != 1:
        raise AccountingError(f"{file_name}: the zones received different numbers of rows")
    return FileResult(file=file_name, table=checked.table, rows_in=checked.extract.rows_in,
                      rows_loaded=inserted.pop(), rows_rejected=checked.rows_rejected, replaced=replaced,
                      load_id=load_id)


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    """Settings for ingest work. Stored rows have no order (every reader sorts or groups), and
    letting DuckDB write them in any order makes inserts markedly cheaper."""
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:  # the transaction may already be aborted
        pass


def _write_rejects(path: Path, rejects: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(rejects, path, write_options=pacsv.WriteOptions(quoting_style="needed"))


def _add_manifest_row(con, extract: Extract, result: FileResult, run: dt.datetime, key_check: str) -> None:
    values = {
        "load_id": result.load_id,
        "file_name": extract.file_name,
        "sha256": extract.sha256,
        "table_name": extract.table,
        "standard_version": STANDARD_VERSION,
        "rows_in": result.rows_in,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "rows_replaced": result.replaced,
        "rejects_file": str(result.rejects_file) if result.rejects_file else None,
        "loaded_at": run.replace(tzinfo=None),
        "triangulate_version": triangulate.__version__,
        "key_check": key_check,
    }
    columns = [c.name for c in store_tables()["meta.load_manifest"]]
    con.execute(
        f"INSERT INTO meta.load_manifest ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [values[c] for c in columns],
    )
