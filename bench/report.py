"""Benchmark: write the health needs assessment (HTML and PDF) for a store of N synthetic people.

The store is built as in bench/measures.py (synthesised, ingested, person keys from the truth) and
kept at --store for reuse; each report is written in a child process pinned to two cores, printing
wall time, peak memory and the PDF's page count.

    python bench/report.py --people 1000000 --store /tmp/m1m.duckdb   # reuse bench/measures.py's store
    python bench/report.py --people 100000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys
from triangulate.report import write_report
r = write_report(sys.argv[1], sys.argv[2])
print(json.dumps({"seconds": r.seconds, "pages": r.pages, "recommendations": r.recommendations}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--store", type=Path)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("bench_measures", Path(__file__).with_name("measures.py"))
    bench_measures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_measures)
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        store = args.store or Path(tmp) / "store.duckdb"
        if not store.exists():
            print(f"building a store of {args.people:,} people ...", flush=True)
            bench_measures.build(args.people, store)
        for suffix in ("html", "pdf"):
            out = Path(tmp) / f"report.{suffix}"
            cmd = [sys.executable, "-c", CHILD, str(store), str(out)]
            if (os.cpu_count() or 1) > 2 and sys.platform.startswith("linux"):
                cmd = ["taskset", "-c", "0,1", *cmd]
            result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True)
                                .stdout.strip().splitlines()[-1])
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            pages = f", {result['pages']} pages" if result["pages"] else ""
            print(f"{suffix.upper():<4} {result['seconds']:7.1f} s, peak RSS so far {peak:,.0f} MiB{pages}, "
                  f"{result['recommendations']} recommendations, {out.stat().st_size / 1e6:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
