"""Benchmark: dashboard page latency for filter changes, 8 concurrent clients on loopback.

Builds (or reuses, --store) a store as bench/publish.py does, publishes it if it has no publication,
starts `triangulate serve` on it in a child process pinned to two cores, logs in 8 clients as viewers,
and has each change filters (area, year, breakdown and group: values from the publication) across the
figure pages. The pages read the publication; no measure runs at request time. Printed separately:

- first: the first request for each set of filters (no set is computed ahead);
- concurrent: 8 clients changing filters at random, p50 and p95, and the server's peak memory.

    python bench/web.py --store /tmp/m1m.duckdb          # the 1,000,000-person store of bench/publish.py
    python bench/web.py --people 20000
"""

from __future__ import annotations

import argparse
import http.cookiejar
import importlib.util
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

CLIENTS = 8
REQUESTS_PER_CLIENT = 40
PAGES = ["/needs/", "/disproportionality/", "/pathway/", "/continuity/", "/funnel/", "/repeat/", "/quality/", "/"]
PASSWORD = "benchmark password, synthetic data only"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(base: str, user: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/login/").read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    body = urllib.parse.urlencode({"username": user, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    # Land on a static file after logging in, so no figures are computed before the timed requests.
    target = f"{base}/login/?next=/static/web/dashboard.css"
    with opener.open(urllib.request.Request(target, data=body, headers={"Referer": f"{base}/login/"})) as r:
        r.read()
        if "/login/" in r.geturl():
            raise RuntimeError(f"{user} could not log in")
    return opener


def timed_get(opener, url: str) -> float:
    t0 = time.perf_counter()
    with opener.open(urllib.request.Request(url, headers={"HX-Request": "true"})) as response:
        response.read()
        if response.status != 200 or "/login/" in response.geturl():
            raise RuntimeError(f"{url}: not served (status {response.status}, ended at {response.geturl()})")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--store", type=Path)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("bench_measures", Path(__file__).with_name("publish.py"))
    bench_measures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_measures)
    with tempfile.TemporaryDirectory(prefix="web-bench-") as tmp:
        store = args.store or Path(tmp) / "store.duckdb"
        if not store.exists():
            print(f"building a store of {args.people:,} people ...", flush=True)
            bench_measures.build(args.people, store)
        from triangulate.disclosure import NHS_ENGLAND
        from triangulate.publish.publication import latest, publications_root, write_publication
        from triangulate.report.build import draw_charts

        published = latest(publications_root(store))
        if published is None:
            t0 = time.perf_counter()
            published = write_publication(store, rule=NHS_ENGLAND, charts=draw_charts)
            print(f"  published {published.version} in {time.perf_counter() - t0:.0f} s", flush=True)
        q = urllib.parse.quote
        filter_sets = ["", "breakdown=sex", "breakdown=ethnic_group_19",
                       f"breakdown={q('sex × ethnic_group_5')}&group={q('Female; White')}"]
        filter_sets += [f"area={a}" for a in published.areas[1:4]] + [f"year={q(y)}" for y in published.years[1:3]]
        filter_sets += [f"area={published.areas[1]}&year={q(published.years[-1])}&breakdown=age_group"]
        app_db = Path(tmp) / "app.sqlite3"
        env = {**os.environ, "TRIANGULATE_INSECURE_COOKIES": "1", "TRIANGULATE_WEB_DB": str(app_db),
               "TRIANGULATE_PASSWORD": PASSWORD}
        for i in range(CLIENTS):
            subprocess.run([sys.executable, "-m", "triangulate", "createuser", f"bench-{i}", "--role", "viewer",
                            "--store", str(store), "--app-db", str(app_db)], env=env, check=True,
                           capture_output=True)
        port = free_port()
        cmd = [sys.executable, "-m", "triangulate", "serve", "--store", str(store), "--port", str(port),
               "--app-db", str(app_db)]
        if (os.cpu_count() or 1) > 2 and sys.platform.startswith("linux"):
            cmd = ["taskset", "-c", "0,1", *cmd]
        server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"{base}/login/").read()
                    break
                except OSError:
                    time.sleep(0.5)
            warm_up = client(base, "bench-0")
            cold = [timed_get(warm_up, f"{base}/needs/")]  # the first page reads the publication into memory
            print(f"  first page after start: {cold[0]:.2f} s", flush=True)
            for f in filter_sets:
                cold.append(timed_get(warm_up, f"{base}/needs/?{f}"))
                print(f"  first request, filters '{f or 'none'}': {cold[-1] * 1000:.0f} ms", flush=True)
            latencies: list[float] = []
            lock = threading.Lock()

            def run(i: int) -> None:
                opener = client(base, f"bench-{i}")
                rng = random.Random(i)
                for _ in range(REQUESTS_PER_CLIENT):
                    url = f"{base}{rng.choice(PAGES)}?{rng.choice(filter_sets)}"
                    t = timed_get(opener, url)
                    with lock:
                        latencies.append(t)

            threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            try:  # the server's peak resident memory (Linux)
                status = Path(f"/proc/{server.pid}/status").read_text()
                peak_mib = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
            except (OSError, AttributeError):
                peak_mib = float("nan")
        finally:
            server.terminate()
            server.wait(timeout=30)
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
        print(f"store {store}: {len(filter_sets)} filter sets; first request per set: "
              f"median {statistics.median(cold[1:]) * 1000:.0f} ms, max {max(cold[1:]) * 1000:.0f} ms")
        print(f"filter changes, {CLIENTS} concurrent clients, {len(latencies)} requests in {wall:.1f} s: "
              f"p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms, max {latencies[-1] * 1000:.0f} ms (aim: p95 under 150 ms); "
              f"server peak RSS {peak_mib:,.0f} MiB (aim: under 1.5 GB)")


if __name__ == "__main__":
    main()
