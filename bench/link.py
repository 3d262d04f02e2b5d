"""Benchmark: link 100,000 and 1,000,000 synthetic records; wall time, peak memory, pairs scored.

Each size is synthesised and ingested first (not timed), then linked in a child process so its
peak resident memory (RSS high-water mark) is the link's alone. The child is pinned to two cores
where the machine has more, since two cores is the target. Link quality against the synthetic
truth is printed too, so speed is never bought with accuracy unseen.

    python bench/link.py                      # both sizes
    python bench/link.py --records 100000     # one size
    python bench/link.py --encoded            # on CLK encodings (link --secret): encoding included
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Agency records per synthetic person at default noise, measured on the synth (18,098 for 2,000).
RECORDS_PER_PERSON = 9.05
KEY = b"benchmark key, synthetic data only: 2f9c1e77"

CHILD = """
import json, sys, time
from triangulate.link import evaluate, link
secret = sys.argv[3].encode() if len(sys.argv) > 3 else None
t0 = time.perf_counter()
report = link(sys.argv[1], secret=secret)
seconds = time.perf_counter() - t0
quality = evaluate(sys.argv[1], sys.argv[2])
print(json.dumps({"seconds": seconds, "records": report.records, "scored": report.comparisons_scored,
                  "people": report.people, "steps": report.seconds, "f1": quality["f1"],
                  "split": quality["people_split"]}))
"""


def prepare(records: int, folder: Path) -> tuple[Path, Path]:
    from triangulate.ingest import ingest
    from triangulate.standard import AGENCY_TABLES
    from triangulate.synth import write_synthetic_extracts

    people = max(100, round(records / RECORDS_PER_PERSON))
    result = write_synthetic_extracts(folder / "synthetic", people=people, seed=2026)
    store = folder / "store.duckdb"
    ingest([result.files[t] for t in AGENCY_TABLES], store, KEY)
    return store, result.truth_file


#: The benchmark's secret for the encodings (synthetic data only).
SECRET = "benchmark secret, synthetic data only: 8d41a0c3e5"


def run(records: int, encoded: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="link-bench-") as tmp:
        store, truth = prepare(records, Path(tmp))
        cmd = [sys.executable, "-c", CHILD, str(store), str(truth), *([SECRET] if encoded else [])]
        if (os.cpu_count() or 1) > 2 and sys.platform.startswith("linux"):
            cmd = ["taskset", "-c", "0,1", *cmd]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        wall = time.perf_counter() - t0
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = json.loads(out.strip().splitlines()[-1])
        # ru_maxrss of children is the largest child so far: valid when sizes run smallest first
        result.update(wall_incl_start=wall, peak_rss_mib=max(peak_kib, before) / 1024)
        return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, action="append",
                    help="records to link (repeatable; default 100,000 and 1,000,000)")
    ap.add_argument("--encoded", action="store_true", help="link on CLK encodings (link --secret)")
    args = ap.parse_args()
    sizes = sorted(args.records or [100_000, 1_000_000])
    results = []
    for n in sizes:
        r = run(n, encoded=args.encoded)
        results.append(r)
        print(f"{r['records']:>10,} records: link {r['seconds']:7.1f} s, peak RSS {r['peak_rss_mib']:7,.0f} MiB, "
              f"{r['scored']:>13,} pairs scored, {r['people']:,} people, F1 {r['f1']:.4f}, "
              f"split {r['split']:.2%}; steps {r['steps']}", flush=True)
    for a, b in zip(results, results[1:]):
        print(f"growth {a['records']:,} -> {b['records']:,} records (x{b['records'] / a['records']:.1f}): "
              f"time x{b['seconds'] / a['seconds']:.1f}, pairs x{b['scored'] / a['scored']:.1f}, "
              f"peak memory x{b['peak_rss_mib'] / a['peak_rss_mib']:.1f}")


if __name__ == "__main__":
    main()
