"""Benchmark: the publication on about a million people (every measure, every view, controlled as one).

The store is synthesised and ingested first (not timed), with ``person_key`` set from the synthetic
ground truth (a perfect link; linkage has its own benchmark), and kept at --store so later runs
reuse it. Then, each in a child process pinned to two cores so peak memory is its own:

1. the fine counts of every measure (the person-level base built once, on DuckDB): wall time;
2. ``write_publication`` under the NHS England rule (fine counts, cubes, disclosure control across
   every view, tables, Parquet and manifest, the service directory and its gap analysis and maps
   ("derived"), every view's charts drawn): wall time by step and peak RSS (aim in issue 12: at
   most 3 minutes and 8 GB, 90 s hoped for; issue 14: the gap analysis under 5 s);
3. three measures' fine counts against the same three written in plain pandas: the ratio of times.

    python bench/publish.py                               # 1,000,000 people
    python bench/publish.py --people 100000 --store /tmp/m100k.duckdb
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

KEY = b"benchmark key, synthetic data only: 6d1a0c93"

FINE = """
import json, sys, time
from triangulate.publish.compute import fine_counts
t0 = time.perf_counter()
fine = fine_counts(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": sum(t.num_rows for c in fine.values()
                                                                   for t in c.values())}))
"""
SUITE = """
import json, sys, time, tempfile
from triangulate.disclosure import NHS_ENGLAND
from triangulate.publish.publication import write_publication
from triangulate.report.build import draw_charts
from triangulate.derived import derived_tables
from triangulate.provision import published_directory
from triangulate.survey.qda import cleared_quotes
t0 = time.perf_counter()
with tempfile.TemporaryDirectory() as out:
    p = write_publication(sys.argv[1], out, rule=NHS_ENGLAND, charts=draw_charts, directory=published_directory,
                          derived=derived_tables, quotes=cleared_quotes)
    m = p.manifest
import resource
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": sum(e["rows"] for e in m["measures"]),
                  "measures": len(m["measures"]), "steps": m["timings_seconds"], "protection": m["protection"],
                  "peak_mib": peak / 1024}))
"""

THREE = """
import json, sys, time
from triangulate.measures import REGISTRY, Base, connect, measures
measures()
t0 = time.perf_counter()
b = Base(connect(sys.argv[1]))
out = {}
for name in ("coverage", "need_prevalence", "ld_funnel"):
    t = time.perf_counter()
    tables = {k: e.to_pyarrow() for k, e in REGISTRY[name].build(b).items()}
    out[name] = time.perf_counter() - t
print(json.dumps({"seconds": time.perf_counter() - t0, **out}))
"""

PANDAS = r"""
import json, sys, time
import duckdb, numpy as np, pandas as pd
AGENCY = ["police_custody", "court_appearance", "liaison_diversion", "mental_health", "prison_custody",
          "probation_supervision"]
t0 = time.perf_counter()
con = duckdb.connect(sys.argv[1], read_only=True)
frames = {t: con.sql(f"SELECT * FROM content.{t}").df() for t in AGENCY}
need = con.sql("SELECT record_key, need_code FROM content.need").df()
con.close()
loaded = time.perf_counter() - t0
out = {}
# coverage: share of records with a usable ethnicity, GP registration, linked, per agency
t = time.perf_counter()
rows = []
for name, f in frames.items():
    code = f["ethnicity_code"].astype("string")
    rows.append({"setting": name, "records": len(f),
                 "ethnicity_recorded": int((code.notna() & ~code.isin(["Z", "99", ""])).sum()),
                 "gp_registered": int((f["gp_registered"] == "Y").sum()),
                 "linked": int(f["person_key"].notna().sum())})
coverage = pd.DataFrame(rows)
out["coverage"] = time.perf_counter() - t
# need prevalence (all people): people seen in each setting with each need
t = time.perf_counter()
keyed = pd.concat([f[["record_key", "person_key"]].assign(setting=n) for n, f in frames.items()])
keyed = keyed[keyed["person_key"].notna()]
seen = keyed[["person_key", "setting"]].drop_duplicates()
person_needs = need.merge(keyed[["record_key", "person_key"]], on="record_key")[["person_key", "need_code"]].drop_duplicates()
denominators = seen.groupby("setting").size()
numerators = seen.merge(person_needs, on="person_key").groupby(["setting", "need_code"]).size()
prevalence = (numerators / denominators.reindex(numerators.index.get_level_values(0)).values).rename("p")
out["need_prevalence"] = time.perf_counter() - t
# L&D funnel: people identified, screened, assessed, referred, engaged per L&D setting
t = time.perf_counter()
ld = frames["liaison_diversion"]
ld = ld[ld["person_key"].notna()]
steps = ld.assign(screened=ld["screening_date"].notna(), assessed=ld["assessment_date"].notna(),
                  referred=ld["referral_date"].notna(), engaged=ld["referral_engaged"] == "Y")
per = steps.groupby(["setting", "person_key"])[["screened", "assessed", "referred", "engaged"]].max()
funnel = per.groupby("setting").sum().assign(identified=per.groupby("setting").size())
out["ld_funnel"] = time.perf_counter() - t
print(json.dumps({"seconds": time.perf_counter() - t0, "load": loaded, **out}))
"""


def build(people: int, store: Path) -> None:
    from triangulate.ingest import ingest
    from triangulate.synth import link_from_truth, write_synthetic_extracts

    with tempfile.TemporaryDirectory(prefix="publish-bench-") as tmp:
        t0 = time.perf_counter()
        result = write_synthetic_extracts(Path(tmp) / "synth", people=people, seed=2026, fmt="parquet")
        print(f"  synthesised {sum(result.records.values()):,} rows in {time.perf_counter() - t0:.0f} s", flush=True)
        t0 = time.perf_counter()
        ingest([result.out_dir / "extracts", result.files["population"]], store, KEY)
        print(f"  ingested in {time.perf_counter() - t0:.0f} s", flush=True)
        link_from_truth(store, result.truth_file)


def child(code: str, store: Path) -> dict:
    cmd = [sys.executable, "-c", code, str(store)]
    if (os.cpu_count() or 1) > 2 and sys.platform.startswith("linux"):
        cmd = ["taskset", "-c", "0,1", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest so far: exact for the first child, a bound after; a child
    # that measures itself (and its own workers) says so.
    result["peak_rss_mib"] = result.get("peak_mib") or (after / 1024 if after > before else None)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--store", type=Path, help="store to build or reuse (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="publish-bench-") as tmp:
        store = args.store or Path(tmp) / "store.duckdb"
        if not store.exists():
            print(f"building a store of {args.people:,} people ...", flush=True)
            # In a process of its own: Linux carries a process's peak memory across exec into every child
            # it starts after, so a store built here made the first run's children report its 10.7 GB peak.
            import multiprocessing

            builder = multiprocessing.get_context("spawn").Process(target=build, args=(args.people, store))
            try:
                builder.start()
                builder.join()
                if builder.exitcode:
                    raise SystemExit(f"building the store failed (exit code {builder.exitcode})")
            except BaseException:
                store.unlink(missing_ok=True)  # never leave a half-built store to be reused
                raise
        import duckdb

        from triangulate.provision import import_directory, load_services
        from triangulate.synth.directory import write_synthetic_directory

        if not load_services(store):  # the gap analysis is part of the publication (issue 14: under 5 s more)
            sheet = write_synthetic_directory(Path(tmp) / "directory.csv", people=args.people)
            t0 = time.perf_counter()
            imported = import_directory(sheet, store, by="bench")
            print(f"  synthetic service directory: {imported.added} services imported in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
        con = duckdb.connect(str(store), read_only=True)
        records = sum(con.sql(f"SELECT count(*) FROM content.{t}").fetchall()[0][0] for t in (
            "police_custody", "court_appearance", "liaison_diversion", "mental_health", "prison_custody",
            "probation_supervision"))
        people = con.sql("SELECT count(DISTINCT person_key) FROM content.mental_health").fetchall()[0][0]
        con.close()
        fine = child(FINE, store)
        print(f"fine counts of every measure ({fine['rows']:,} rows) on {records:,} records of {people:,} people: "
              f"{fine['seconds']:.1f} s, peak RSS {fine['peak_rss_mib'] or float('nan'):,.0f} MiB", flush=True)
        suite = child(SUITE, store)
        print(f"publication ({suite['measures']} measures, {suite['rows']:,} published rows): "
              f"{suite['seconds']:.1f} s (steps {suite['steps']}), peak RSS "
              f"{suite['peak_rss_mib'] or float('nan'):,.0f} MiB (aim: 180 s and 8 GB on 2 cores); "
              f"protection {suite['protection']}", flush=True)
        ours = child(THREE, store)
        plain = child(PANDAS, store)
        for name in ("coverage", "need_prevalence", "ld_funnel"):
            print(f"  {name:<16} ours {ours[name]:6.2f} s   pandas {plain[name]:6.2f} s   "
                  f"pandas/ours {plain[name] / ours[name]:.2f}")
        total_ours = sum(ours[n] for n in ("coverage", "need_prevalence", "ld_funnel"))
        total_pandas = plain["seconds"]
        print(f"  three measures: ours {total_ours:.2f} s; pandas {total_pandas:.2f} s including "
              f"{plain['load']:.2f} s to load the tables into DataFrames (pandas/ours {total_pandas / total_ours:.2f})")
        print(f"  (people with a mental health record: {people:,}; the pandas versions do less than ours: "
              "need prevalence for all people only where ours adds six breakdowns, no intervals, no "
              "disclosure control)")


if __name__ == "__main__":
    main()
