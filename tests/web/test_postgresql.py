"""The dashboard's own tables on PostgreSQL: migrations, users, login, and the append-only audit log.

A private PostgreSQL cluster (Debian's postgresql, installed by `make test`) is started for the
test in a temporary folder, on loopback, and removed afterwards. Django is configured once per
process, so the app runs against it in a child process.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import PASSWORD, short_tempdir

SCRIPT = textwrap.dedent("""
    import sys
    from triangulate.web import server
    server.configure(sys.argv[1], insecure_cookies=True)
    server.migrate()
    from django.db import connection, transaction
    from django.test import Client
    from triangulate.web.models import AuditEvent, record
    assert connection.vendor == "postgresql", connection.vendor
    server.create_user("pg-viewer", "viewer", sys.argv[2], by="tests")
    c = Client()
    assert c.post("/login/", {"username": "pg-viewer", "password": sys.argv[2]}).status_code == 302
    assert c.get("/quality/").status_code == 200
    assert c.get("/admin/audit/").status_code == 403
    event = record("tests", AuditEvent.PAGE, "/x")
    for sql in ("UPDATE triangulate_web_auditevent SET event = 'x'", "DELETE FROM triangulate_web_auditevent",
                "TRUNCATE triangulate_web_auditevent"):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
        except Exception as error:
            assert "append-only" in str(error), error
        else:
            raise AssertionError(sql + " was allowed")
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"login", "page view", "refused", "user change"} <= events, events
    print("postgresql ok", AuditEvent.objects.count())
""")


@pytest.fixture
def postgres():
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries or shutil.which("runuser") is None:
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql (scripts/system-deps.sh)")
    bin_dir = os.path.dirname(binaries[-1])
    # Its own folder under /tmp, owned by the postgres user (pytest's folders are private to root).
    tmp_path = short_tempdir("triangulate-pg-")  # its socket's path must fit in 107 bytes
    data, sockets = tmp_path / "pgdata", tmp_path / "pgsock"
    data.mkdir()
    sockets.mkdir()
    shutil.chown(tmp_path, "postgres")
    for d in (data, sockets):
        shutil.chown(d, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def as_postgres(*cmd):
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True, text=True)

    password_file = tmp_path / "pw"
    password_file.write_text("pg-test-password\n")
    shutil.chown(password_file, "postgres")
    as_postgres(f"{bin_dir}/initdb", "-D", str(data), "-U", "postgres", "-A", "scram-sha-256",
                f"--pwfile={password_file}")
    as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-l", str(tmp_path / "log"), "-o",
                f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1", "start")
    try:
        yield f"postgresql://postgres:pg-test-password@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_the_app_runs_on_postgresql_with_an_append_only_audit_log(site, postgres):
    env = {**os.environ, "TRIANGULATE_DATABASE_URL": postgres}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(site["store"]), PASSWORD], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "postgresql ok" in run.stdout
