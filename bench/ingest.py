"""Benchmark: validate + pseudonymise + load about a million rows into a fresh store.

    python bench/ingest.py                  # ~1,000,000 rows, synthetic extracts if available
    python bench/ingest.py --rows 200000    # smaller
    python bench/ingest.py --source fixtures

Extracts come from ``triangulate.synth.write_synthetic_extracts`` when that room is installed; with
``--source fixtures`` (or when synth cannot be imported) the good rows of the hand-made ingest
fixtures are replicated with fresh record ids instead. Either way they are written as CSV into a
temporary directory first, outside the timing.

The timed part is one ``ingest()`` call on all files into a fresh store: reading and parsing the
CSVs, checking every row, computing record keys and loading in one transaction, including the
commit. It runs in a child process so that what is reported is the ingest's alone: the peak memory
is that process's RSS high-water mark (``getrusage(RUSAGE_SELF).ru_maxrss``, which includes the
interpreter and libraries, about 120 MiB, and the extracts held in memory); the CPU time is that
process's user + system time over all its threads, start-up included. Other work on the machine
slows the wall-clock figure, so the load average is printed beside it.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "ingest"


def synthetic_extracts(out_dir: Path, rows: int, seed: int) -> tuple[list[Path], dict[str, int]] | None:
    """Write synthetic extracts of about ``rows`` rows: (files, rows per table), or None when the
    synth room is not available."""
    try:
        from triangulate.synth import write_synthetic_extracts
    except ImportError:
        return None
    # Records per person grow with the population (more repeat contacts), so scale from a probe
    # and correct once if the first full write misses the target by more than 5%.
    probe_people = 5_000
    probe = write_synthetic_extracts(out_dir / "probe", people=probe_people, seed=seed, fmt="csv", noise="default")
    people = max(1, round(rows * probe_people / sum(probe.records.values())))
    result = write_synthetic_extracts(out_dir / "synthetic", people=people, seed=seed, fmt="csv", noise="default")
    written = sum(result.records.values())
    if abs(written - rows) > 0.05 * rows:
        people = max(1, round(people * rows / written))
        result = write_synthetic_extracts(out_dir / "synthetic2", people=people, seed=seed, fmt="csv",
                                          noise="default")
    return list(result.files.values()), dict(result.records)


def replicated_fixtures(out_dir: Path, rows: int) -> tuple[list[Path], dict[str, int]]:
    """The fixtures' good rows repeated with fresh record ids until there are about ``rows`` rows:
    (files, rows per table)."""
    bad = {}
    with (FIXTURES / "expected_rejects.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            bad.setdefault(r["file"], set()).add(int(r["row"]))
    tables = {}
    for path in sorted((FIXTURES / "extracts").glob("*.csv")):
        if path.stem == "population":
            continue
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header, *lines = list(csv.reader(fh))
        good = [r for i, r in enumerate(lines, start=1) if i not in bad.get(path.name, set())]
        tables[path.stem] = pa.table({c.strip().lower(): pa.array(list(v), pa.string())
                                      for c, v in zip(header, zip(*good))})
    base = sum(t.num_rows for t in tables.values())
    copies = max(1, round(rows / base))
    out_dir.mkdir(parents=True)
    written, files = {}, []
    for name, table in tables.items():
        n = table.num_rows
        copy_no = pa.array([str(k) for k in range(copies) for _ in range(n)])
        big = pa.concat_tables([table] * copies)
        # A fresh id per copy; needs refer to the copy of their record with the same suffix.
        new_id = pc.binary_join_element_wise(big.column("source_record_id"), copy_no, "-")
        big = big.set_column(big.column_names.index("source_record_id"), "source_record_id", new_id)
        files.append(out_dir / f"{name}.csv")
        pacsv.write_csv(big, files[-1], write_options=pacsv.WriteOptions(quoting_style="needed"))
        written[name] = big.num_rows
    return files, written


def _timed_ingest(extracts: list[str], store: str, key: bytes, queue) -> None:
    from triangulate.ingest import ingest

    start = time.perf_counter()
    report = ingest([Path(p) for p in extracts], Path(store), key)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((seconds, report.rows_in, report.rows_loaded, report.rows_rejected,
               usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024))  # Linux reports KiB


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--source", choices=("auto", "synth", "fixtures"), default="auto")
    parser.add_argument("--seed", type=int, default=20240101)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="triangulate-bench-") as tmp:
        tmp_dir = Path(tmp)
        start = time.perf_counter()
        written = None
        if args.source in ("auto", "synth"):
            written = synthetic_extracts(tmp_dir, args.rows, args.seed)
            if written is None and args.source == "synth":
                sys.exit("triangulate.synth is not available; use --source fixtures")
            source = "triangulate.synth (noise=default)"
        if written is None:
            written = replicated_fixtures(tmp_dir / "extracts", args.rows)
            source = "replicated ingest fixtures"
        extracts, records = written
        print(f"extracts: {sum(records.values()):,} rows from {source} "
              f"({time.perf_counter() - start:.1f} s to write, not timed)")
        for table, n in records.items():
            print(f"  {table}: {n:,}")

        queue = multiprocessing.get_context("spawn").SimpleQueue()
        child = multiprocessing.get_context("spawn").Process(
            target=_timed_ingest,
            args=([str(p) for p in extracts], str(tmp_dir / "bench.duckdb"), secrets.token_bytes(32), queue),
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            sys.exit(f"the ingest failed (exit code {child.exitcode})")
        seconds, rows_in, loaded, rejected, cpu, peak_mib = queue.get()
        print(f"ingest: {rows_in:,} rows in ({loaded:,} loaded, {rejected:,} rejected) "
              f"in {seconds:.2f} s = {rows_in / seconds:,.0f} rows per second on {os.cpu_count()} cores "
              f"(load average {os.getloadavg()[0]:.1f})")
        print(f"cpu time of the ingest process (all threads, start-up included): {cpu:.2f} s")
        print(f"peak memory (RSS high-water mark of the ingest process): {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
