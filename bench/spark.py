"""Benchmark: the Spark path beside DuckDB, stage by stage, and what a cluster would take.

For each size, a synthetic population is synthesised, ingested and (for the measures) linked from its
truth first (not timed). Then, each in a child process pinned to two cores:

- ``link`` on Spark local mode and on DuckDB, with Splink's stages (count blocking, train, score,
  cluster, write) timed by the link itself;
- every registered measure's fine counts (what ``publish --engine spark`` reads from the engine; the
  disclosure control after them is the same code on both engines) on Spark and on DuckDB.

Each Spark child writes Spark's event log, from which the shuffle written and read and the input read
(summed over every task) are printed.

Then a projection for a cluster, written with its assumptions, from two sizes or more: each stage's time
is fitted as a fixed part (session start, per-query scheduling: Spark's cost on small data) plus a part
proportional to the records (a least-squares line through the sizes run), and the proportional part is
divided by the cores of the cluster over the two measured here (perfect scaling of the data-parallel work,
an optimistic bound). Scoring is projected through the pairs scored instead (they grow faster than the
records: a power law through the sizes gives how many pairs the projected size has). The shuffle, which here moved between two local cores, is added as network time:
the bytes shuffled per record (a line through the sizes) at the projected size, over each node's network
(``--network-mb-s``), all nodes at once.

    python bench/spark.py                                  # 100,000 and 1,000,000 records
    python bench/spark.py --records 20000 --records 100000
    python bench/spark.py --nodes 10 --cores-per-node 8 --project 50000000
    python bench/spark.py --save figures.json        # and later: --load figures.json (the projection again)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECORDS_PER_PERSON = 9.05  # agency records per synthetic person at default noise (as bench/link.py)
KEY = b"benchmark key, synthetic data only: 2f9c1e77"

LINK_CHILD = """
import json, sys, time
from triangulate.link import link
t0 = time.perf_counter()
report = link(sys.argv[1], engine=sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - t0, "records": report.records, "steps": report.seconds,
                  "scored": report.comparisons_scored}))
"""

MEASURES_CHILD = """
import json, sys, time
from triangulate.publish.compute import fine_counts
t0 = time.perf_counter()
fine = fine_counts(sys.argv[1], sys.argv[2])
rows = sum(t.num_rows for counts in fine.values() for t in counts.values())
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": rows}))
"""


def _child(code: str, *args: str, events: Path | None = None) -> dict:
    cmd = [sys.executable, "-c", code, *args]
    if (os.cpu_count() or 1) > 2 and sys.platform.startswith("linux"):
        cmd = ["taskset", "-c", "0,1", *cmd]
    env = dict(os.environ)
    if events is not None:
        env["TRIANGULATE_SPARK_EVENT_LOG"] = str(events)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_incl_start"] = time.perf_counter() - t0
    if events is not None:
        result["io"] = _event_bytes(events)
    return result


def _event_bytes(folder: Path) -> dict:
    """Bytes moved by every task in Spark's event logs under ``folder``: shuffle written, shuffle read,
    and input read (what a cluster would move over its network and read from its storage)."""
    totals = {"shuffle_written": 0, "shuffle_read": 0, "input_read": 0, "tasks": 0}
    for path in folder.rglob("events_*"):  # Spark 4 writes eventlog_v2_<app>/events_<n>_<app>
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"SparkListenerTaskEnd"' not in line:
                    continue
                metrics = json.loads(line).get("Task Metrics") or {}
                write = metrics.get("Shuffle Write Metrics") or {}
                read = metrics.get("Shuffle Read Metrics") or {}
                totals["shuffle_written"] += write.get("Shuffle Bytes Written", 0)
                totals["shuffle_read"] += read.get("Remote Bytes Read", 0) + read.get("Local Bytes Read", 0)
                totals["input_read"] += (metrics.get("Input Metrics") or {}).get("Bytes Read", 0)
                totals["tasks"] += 1
    return totals


def run(records: int) -> dict:
    import shutil

    from triangulate.ingest import ingest
    from triangulate.synth import link_from_truth, write_synthetic_extracts

    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp:
        folder = Path(tmp)
        people = max(100, round(records / RECORDS_PER_PERSON))
        result = write_synthetic_extracts(folder / "synthetic", people=people, seed=2026)
        plain = folder / "plain.duckdb"
        ingest([result.out_dir / "extracts", result.files["population"]], plain, KEY)
        out = {"people": people}
        for engine in ("duckdb", "spark"):
            store = folder / f"link-{engine}.duckdb"
            shutil.copy(plain, store)
            out[f"link_{engine}"] = _child(LINK_CHILD, str(store), engine,
                                           events=folder / "events-link" if engine == "spark" else None)
        linked = folder / "linked.duckdb"
        shutil.copy(plain, linked)
        link_from_truth(linked, result.truth_file)
        for engine in ("duckdb", "spark"):
            out[f"measures_{engine}"] = _child(MEASURES_CHILD, str(linked), engine,
                                               events=folder / "events-measures" if engine == "spark" else None)
        out["records"] = out["link_duckdb"]["records"]
        return out


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(fixed, per record) of the least-squares line through the points (fixed at least 0)."""
    slope, intercept = _line(xs, ys)
    return max(0.0, intercept), max(0.0, slope)


def _fit_log(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(k, log a) of the power law y = a * x^k through the points (least squares in logs)."""
    slope, intercept = _line([math.log(x) for x in xs], [math.log(y) for y in ys])
    return slope, intercept


def _line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return slope, my - slope * mx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, action="append", help="records (repeatable; default 100,000 and 1,000,000)")
    ap.add_argument("--nodes", type=int, default=10, help="cluster nodes for the projection (default 10)")
    ap.add_argument("--cores-per-node", type=int, default=8, help="cores per node for the projection (default 8)")
    ap.add_argument("--project", type=int, default=50_000_000, help="records to project to (default 50 million)")
    ap.add_argument("--save", help="write the measured figures to this JSON file")
    ap.add_argument("--load", help="print and project figures saved by --save instead of measuring again")
    ap.add_argument("--network-mb-s", type=int, default=1000,
                    help="each node's network for the shuffle, MB/s (default 1000: 10 Gbit/s at about 80%%)")
    args = ap.parse_args()
    if args.load:
        results = json.loads(Path(args.load).read_text())
    else:
        results = [run(n) for n in sorted(args.records or [100_000, 1_000_000])]
    if args.save:
        Path(args.save).write_text(json.dumps(results, indent=1))
    for r in results:
        ld, ls = r["link_duckdb"], r["link_spark"]
        md, ms = r["measures_duckdb"], r["measures_spark"]
        print(f"{r['records']:>10,} records ({r['people']:,} people), 2 cores:")
        print(f"  link      DuckDB {ld['seconds']:8.1f} s   Spark {ls['seconds']:8.1f} s   (x{ls['seconds'] / ld['seconds']:.1f}; "
              f"{ls['scored']:,} pairs scored on each)")
        print(f"    Spark stages {ls['steps']}")
        print(f"    DuckDB stages {ld['steps']}")
        print(f"  measures  DuckDB {md['seconds']:8.1f} s   Spark {ms['seconds']:8.1f} s   (x{ms['seconds'] / md['seconds']:.1f}; "
              f"{ms['rows']:,} fine-count rows)")
        for name, part in (("link", ls), ("measures", ms)):
            io = part["io"]
            print(f"    Spark {name}: shuffle written {io['shuffle_written'] / 2**20:,.1f} MiB, read "
                  f"{io['shuffle_read'] / 2**20:,.1f} MiB, input {io['input_read'] / 2**20:,.1f} MiB, {io['tasks']:,} tasks",
                  flush=True)
    if len(results) < 2:
        print("projection: needs two sizes or more (--records twice)")
        return
    cores = args.nodes * args.cores_per_node
    xs = [float(r["records"]) for r in results]
    print(f"projection to {args.project:,} records on {args.nodes} nodes x {args.cores_per_node} cores "
          f"(data-parallel work divided by {cores / 2:.0f}, fixed costs kept; an optimistic bound):")
    total = 0.0
    # Pairs scored grow faster than the records (more people share each blocking key), so the scoring
    # and the link's shuffle (the comparison vectors) are projected through the pairs: a power law
    # pairs = a * records^k through the sizes, then a line through (pairs, seconds or bytes).
    pairs = [float(r["link_spark"]["scored"]) for r in results]
    k, log_a = _fit_log(xs, pairs)
    projected_pairs = math.exp(log_a) * args.project ** k
    print(f"  pairs scored grow as records^{k:.2f}: {projected_pairs:,.0f} pairs at {args.project:,} records")
    stages = list(results[0]["link_spark"]["steps"])
    for stage in stages:
        ys = [r["link_spark"]["steps"].get(stage, 0.0) for r in results]
        if stage == "score":
            fixed, per = _fit(pairs, ys)
            projected = fixed + per * projected_pairs * 2 / cores
            print(f"  link {stage:<16} fixed {fixed:7.1f} s + {per * 1e6:8.2f} s per million pairs -> {projected:9.1f} s")
        else:
            fixed, per = _fit(xs, ys)
            projected = fixed + per * args.project * 2 / cores
            print(f"  link {stage:<16} fixed {fixed:7.1f} s + {per * 1e6:8.2f} s per million records -> {projected:9.1f} s")
        total += projected
    fixed, per = _fit(xs, [r["measures_spark"]["seconds"] for r in results])
    projected = fixed + per * args.project * 2 / cores
    total += projected
    print(f"  measures (fine counts)  fixed {fixed:7.1f} s + {per * 1e6:8.2f} s per million records -> {projected:9.1f} s")
    # The shuffle over the network: the bytes shuffled (per pair for the link, per record for the measures;
    # a line through the sizes) at the projected size, spread over the nodes' links; on one machine this
    # moved through memory and local disk.
    for name, sizes, size, unit in (("link", pairs, projected_pairs, "pair"), ("measures", xs, float(args.project), "record")):
        _, per_byte = _fit(sizes, [float(r[f"{name}_spark"]["io"]["shuffle_written"]) for r in results])
        shuffled = per_byte * size
        network = shuffled / (args.nodes * args.network_mb_s * 2**20)
        total += network
        print(f"  {name} shuffle: {per_byte:,.0f} bytes per {unit} -> {shuffled / 2**30:,.1f} GiB, "
              f"{network:,.0f} s over {args.nodes} links of {args.network_mb_s} MB/s")
    print(f"  in all about {total / 60:.0f} minutes, before the disclosure control (engine-independent: "
          "bench/publish.py)")


if __name__ == "__main__":
    main()
