"""Benchmark: import a service directory of 10,000 services (issue 14: under 10 s), again unchanged,
with a tenth changed, and export it; each step's wall time and the process's peak memory.

The directory is the synthetic one (``triangulate.synth.directory``) repeated with numbered names until
it has --services rows, written as the commissioner's template (CSV), so every row goes through the
template reader, the ORUK and HSDS schemas, the taxonomy and the directory rules.

    python bench/provision.py                    # 10,000 services
    python bench/provision.py --services 50000
"""

from __future__ import annotations

import argparse
import csv
import resource
import tempfile
import time
from pathlib import Path


def sheet(path: Path, services: int, change_every: int = 0) -> Path:
    from triangulate.synth.directory import COLUMNS, synthetic_directory

    base = synthetic_directory(people=1_000_000)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for i in range(services):
            row = dict(base[i % len(base)])
            row["service_name"] = f"{row['service_name']} #{i:05d}"
            if change_every and i % change_every == 0:
                row["capacity"] = str(int(row["capacity"]) + 1)
            w.writerow(row)
    return path


def timed(label: str, fn):
    t0 = time.perf_counter()
    result = fn()
    print(f"  {label:<44} {time.perf_counter() - t0:7.2f} s", flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=10_000)
    args = ap.parse_args()
    from triangulate.provision import import_directory, load_services, read_path, validate, write_json, write_package

    with tempfile.TemporaryDirectory(prefix="provision-bench-") as tmp:
        tmp = Path(tmp)
        first = sheet(tmp / "directory.csv", args.services)
        changed = sheet(tmp / "changed.csv", args.services, change_every=10)
        store = tmp / "store.duckdb"
        print(f"directory of {args.services:,} services (template CSV, {first.stat().st_size / 2**20:.1f} MiB):")
        parsed = timed("read the template", lambda: read_path(first))
        problems = timed("validate (schemas, taxonomy, rules)", lambda: validate(parsed.services, parsed.file, parsed.records))
        assert not problems, problems[:3]
        r = timed("import into a new store (the aim: under 10 s)", lambda: import_directory(first, store, by="bench"))
        print(f"    version {r.version}: {r.added:,} added")
        r = timed("import the same file again", lambda: import_directory(first, store, by="bench"))
        print(f"    {r.unchanged:,} unchanged, no new version: {r.version is None}")
        r = timed("import with a tenth of capacities changed", lambda: import_directory(changed, store, by="bench"))
        print(f"    version {r.version}: {r.changed:,} changed, {r.unchanged:,} unchanged")
        services = timed("read the directory back", lambda: load_services(store))
        timed("export ORUK JSON", lambda: write_json(services, tmp / "d.json"))
        timed("export the HSDS tabular package", lambda: write_package(services, tmp / "package"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
