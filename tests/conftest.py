"""Fixtures shared by every room's tests."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

MARK = "<!-- drawn when published -->"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``triangulate ARGS`` as a user runs it: its own process, the key only if ``env`` gives it, a terminal
    wide enough that messages are not wrapped (tests read them whatever the width they ran at)."""
    import sys

    base = {k: v for k, v in os.environ.items() if k != "TRIANGULATE_KEY"} | {"COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "triangulate", *args], capture_output=True, text=True,
                          env=base | (env or {}), timeout=timeout)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make ``--dist loadgroup`` keep each ``xdist_group``'s tests on one worker again.

    pytest-xdist 3.8 groups tests by appending ``@group`` to ``item._nodeid``; pytest 9 keeps the node id
    in ``item._id``, so the suffix was lost and the groups were spread over both workers (a Spark module's
    fixture built on each: 90 s twice). Here the suffix is set where pytest 9 reads it; with another
    pytest, or without loadgroup, nothing changes."""
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:  # a pytest whose node ids xdist can still set itself
        return
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid.rsplit("::", 1)[-1]:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that ``build(folder)`` fills once per test run, and this process's own copy of it.

    Under ``pytest -n 2`` each worker process has its own session, so a session fixture is built once
    per worker: twice the minute it takes to link and protect a store. Here the first worker to ask
    builds it under a lock in the folder the workers share (the xdist recipe), the other waits for it,
    and each gets a copy, so neither opens the other's store.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    done = shared / f"{name}.built"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.is_dir():
                scratch = shared / f"{name}.building"
                shutil.rmtree(scratch, ignore_errors=True)
                scratch.mkdir()
                build(scratch)
                scratch.rename(done)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    mine = tmp_path_factory.mktemp(name)
    shutil.copytree(done, mine, dirs_exist_ok=True, symlinks=True)
    return mine


@pytest.fixture(scope="session")
def build_once(tmp_path_factory):
    """``build_once(name, build)`` -> this process's copy of a folder built once per run (``built_once``)."""
    return lambda name, build: built_once(tmp_path_factory, name, build)


@pytest.fixture
def marked_drawings(tmp_path):
    """``copy(published)`` -> (folder, mark): a copy of a publication whose held drawings each end in
    ``mark`` (manifest hash updated), so a test can tell a drawing read from the publication from one
    drawn again."""

    def copy(published):
        folder = tmp_path / published.version
        shutil.copytree(published.folder, folder)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        path = folder / manifest["charts"]["file"]
        t = pq.read_table(path)
        marked = pc.binary_join_element_wise(t.column("svg"), pa.scalar(MARK), "")
        t = t.set_column(t.schema.get_field_index("svg"), "svg", marked)
        buffer = io.BytesIO()
        pq.write_table(t, buffer)
        path.write_bytes(buffer.getvalue())
        manifest["charts"]["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder, MARK

    return copy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


@contextlib.contextmanager
def _standalone_cluster(folder: Path, *, cores: int = 2, memory: str = "2g", timeout: float = 120) -> Iterator[str]:
    """Start a master and a worker; yield the master's URL (``spark://127.0.0.1:PORT``)."""
    folder.mkdir(parents=True, exist_ok=True)
    port, ui = _free_port(), _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(folder), "SPARK_WORKER_DIR": str(folder / "work")}
    spark_class = str(_spark_class())
    started = []
    try:
        master_log = open(folder / "master.log", "w")
        started.append(subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(ui)], env=env, stdout=master_log, stderr=subprocess.STDOUT, start_new_session=True))
        url = f"spark://127.0.0.1:{port}"
        worker_log = open(folder / "worker.log", "w")
        started.append(subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--cores", str(cores), "--memory", memory,
             "--webui-port", str(_free_port()), "--work-dir", str(folder / "work")],
            env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + timeout
        while True:  # the master's status page lists the worker once it has registered
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as page:
                    status = json.load(page)
                if any(w.get("state") == "ALIVE" for w in status.get("workers", [])):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                raise RuntimeError(f"the standalone cluster did not start: see {folder}/master.log and worker.log")
            time.sleep(0.5)
        yield url
    finally:
        for process in reversed(started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def standalone_spark(tmp_path_factory) -> Iterator[str]:
    """A real Spark standalone cluster on this machine (a master and one worker, each its own JVM), for the
    tests that show the Spark path reaching an existing cluster by settings alone: started with the class
    PySpark ships (``bin/spark-class``), as ``sbin/start-master.sh`` and ``start-worker.sh`` start one on an
    operator's nodes; yields the master's URL (``spark://127.0.0.1:PORT``) and is stopped after the module."""
    with _standalone_cluster(tmp_path_factory.mktemp("spark-cluster")) as url:
        yield url
