"""Benchmark: screen a 200-person court list against about 1,000,000 linked records.

The store is synthesised, ingested and linked first (not timed; or pass --store to reuse a linked
store). The list is 200 court appearances held out of the store, so most listed people have other
records there, as on a real morning. The screen runs in a child process pinned to two cores, so its
peak resident memory is its own. Printed: wall time (the command end to end, and the screen call
alone), peak memory, and how many listed people were found known to mental health services.

    python bench/screen.py                        # 1,000,000 records
    python bench/screen.py --records 100000
    python bench/screen.py --store STORE --list LIST.csv --date 2024-04-01
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

RECORDS_PER_PERSON = 9.05
LISTED = 200
KEY = b"benchmark key, synthetic data only: 2f9c1e77"
COLUMNS = ("given_name", "family_name", "date_of_birth", "postcode", "pnc_id", "location", "time")

CHILD = """
import json, sys, time
from datetime import date
t0 = time.perf_counter()
from triangulate.link.screen import screen
r = screen(sys.argv[1], sys.argv[2], today=date.fromisoformat(sys.argv[3]))
print(json.dumps({"seconds": time.perf_counter() - t0, "screen_seconds": r.seconds,
                  "records": r.records_searched, "listed": len(r.rows), **r.counts}))
"""


def build(records: int, folder: Path) -> tuple[Path, Path, date]:
    from triangulate.ingest import ingest
    from triangulate.link import link
    from triangulate.standard import AGENCY_TABLES
    from triangulate.synth import write_synthetic_extracts

    people = max(200, round(records / RECORDS_PER_PERSON))
    print(f"building a linked store of about {records:,} records ({people:,} people) ...", flush=True)
    result = write_synthetic_extracts(folder / "synthetic", people=people, seed=2026)
    court_file = result.files["court_appearance"]
    with court_file.open(encoding="utf-8", newline="") as fh:
        court = list(csv.DictReader(fh))
    usable = [r for r in court if r["family_name"] and r["date_of_birth"] and len(r["date_of_birth"]) == 10]
    listed = usable[-LISTED:]
    ids = {r["source_record_id"] for r in listed}
    kept = folder / "court_appearance.csv"
    with kept.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(court[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(r for r in court if r["source_record_id"] not in ids)
    store = folder / "store.duckdb"
    files = [result.files[t] for t in AGENCY_TABLES if t != "court_appearance"] + [kept]
    ingest(files, store, KEY)
    link(store)
    list_file = folder / "list.csv"
    with list_file.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for i, r in enumerate(listed):
            w.writerow([r["given_name"], r["family_name"], r["date_of_birth"], r["postcode"], r["pnc_id"],
                        r["court_code"], f"{9 + i % 8:02d}:{(i * 7) % 60:02d}"])
    try:
        today = max(date.fromisoformat(r["hearing_date"]) for r in listed) + timedelta(days=1)
    except ValueError:
        today = date.today()
    return store, list_file, today


def run_child(store: Path, list_file: Path, today: date) -> dict:
    import json

    cmd = [sys.executable, "-c", CHILD, str(store), str(list_file), today.isoformat()]
    if (os.cpu_count() or 1) > 2 and sys.platform.startswith("linux"):
        cmd = ["taskset", "-c", "0,1", *cmd]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall=wall, peak_rss_mib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000, help="records in the linked store to build")
    ap.add_argument("--store", type=Path, help="reuse this linked store (with --list and --date)")
    ap.add_argument("--list", type=Path, help="the list to screen, with --store")
    ap.add_argument("--date", type=date.fromisoformat, default=date.today(), help="the list's date, with --store")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="screen-bench-") as tmp:
        if args.store:
            store, list_file, today = args.store, args.list, args.date
        else:
            store, list_file, today = build(args.records, Path(tmp))
        r = run_child(store, list_file, today)
    print(f"screened {r['listed']:,} listed people against {r['records']:,} linked records: "
          f"{r['wall']:.1f} s end to end (process start, imports, screen), screen call {r['screen_seconds']:.1f} s, "
          f"peak RSS {r['peak_rss_mib']:,.0f} MiB; known to mental health services: yes {r['yes']}, "
          f"possible {r['possible']}, no {r['no']}")


if __name__ == "__main__":
    main()
